-- GET /api/v1/auth/me: the statements dealergate sent PostgreSQL for one request
-- (session state cached), captured from the wire by bench/run and rewritten on every
-- run; the parameters are pgbench variables. To run it by hand:
--   pgbench -n -M prepared -c16 -j2 -T10 -f bench/sql/me.sql -D role=dealergate_platform -D p2=20 -D p3=60.0 dealergate_bench
-- variables: {"role": "dealergate_platform", "p2": "20", "p3": "60.0"}
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
ROLLBACK;
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
WITH due AS ( SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now() ORDER BY due_at LIMIT :p2 FOR UPDATE SKIP LOCKED) UPDATE mail_outbox m SET due_at = now() + make_interval(secs => :p3), attempts = m.attempts + 1 FROM due WHERE m.id = due.id RETURNING m.id, m.kind, m.recipient, m.subject, m.text_body, m.html_body, m.link, m.attempts;
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs, greatest(extract(epoch FROM min(due_at) - now()), 0)::float8 AS next_due_secs FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', :role, true), set_config('app.dealership_id', '', true);
\endpipeline
