-- POST /api/v1/auth/refresh of a loaded session: the statements dealergate sent
-- PostgreSQL for one refresh, captured from the wire by bench/run and rewritten on every
-- run. Each transaction rotates a session of its own: client c's k-th takes session
-- g = c × 25,000 + k of people 1,000–4,999 of every dealership (dealership :d = g % 100,
-- person :n), whose id, person, dealership and presented token hash are SQL of :d and
-- :n, as bench/sql/load.sql made them; ids the request made fresh (0 here) are gen_random_uuid().
-- bench/run counts the sessions rotated after each run and resets them. By hand:
--   pgbench -n -M prepared -c16 -j2 -T5 -f bench/sql/refresh.sql -D k=0 dealergate_bench
-- variables: {"k": "0"}
\set k :k + 1
\set g :client_id * 25000 + :k
\set d :g % 100
\set n 1000 + :g / 100
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', 'dealergate_app', true), set_config('app.dealership_id', '', true), set_config('app.group_id', '', true);
SELECT set_config('app.dealership_ids', CASE WHEN current_setting('app.group_id') <> '' THEN public.group_dealerships(current_setting('app.group_id')::uuid)::text WHEN current_setting('app.dealership_id') <> '' THEN '{' || current_setting('app.dealership_id') || '}' ELSE '' END, true);
\endpipeline
SELECT * FROM auth_refresh_lookup(format('0b0b0002-%s-4000-8000-%s', lpad(to_hex((:d)::bigint), 4, '0'), lpad(to_hex((:n)::bigint), 12, '0'))::uuid);
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', 'dealergate_app', true), set_config('app.dealership_id', (format('0b0b0000-%s-4000-8000-%s', lpad(to_hex((:d)::bigint), 4, '0'), lpad(to_hex((0)::bigint), 12, '0'))::uuid)::text, true), set_config('app.group_id', '', true);
SELECT set_config('app.dealership_ids', CASE WHEN current_setting('app.group_id') <> '' THEN public.group_dealerships(current_setting('app.group_id')::uuid)::text WHEN current_setting('app.dealership_id') <> '' THEN '{' || current_setting('app.dealership_id') || '}' ELSE '' END, true);
\endpipeline
WITH rotated AS ( UPDATE sessions SET previous_token_hash = refresh_token_hash, refresh_token_hash = '\x124f84598a30a7961ad7b5c68872dec348c48429df7a89c0ae730a4eea2c8089', rotated_at = now(), rotation_count = rotation_count + 1, last_used_at = now(), expires_at = least(now() + make_interval(secs => '604800.0'), absolute_expires_at) WHERE id = format('0b0b0002-%s-4000-8000-%s', lpad(to_hex((:d)::bigint), 4, '0'), lpad(to_hex((:n)::bigint), 12, '0'))::uuid AND refresh_token_hash = sha256(sha256(convert_to('bench-refresh:' || (format('0b0b0002-%s-4000-8000-%s', lpad(to_hex((:d)::bigint), 4, '0'), lpad(to_hex((:n)::bigint), 12, '0'))::uuid)::text, 'UTF8'))) AND revoked_at IS NULL AND expires_at > now() AND absolute_expires_at > now() AND rotation_count < '4096' RETURNING user_id) , active AS ( UPDATE memberships m SET last_active_at = now(), dormant_notice_at = NULL, dormant_kept_at = NULL FROM rotated r WHERE m.id = r.user_id AND m.last_active_at < now() - interval '1 day') SELECT count(*) AS n FROM rotated;
SELECT "users"."id", "users"."dealership_id", "users"."person_id", "users"."email", "users"."password_hash", "users"."first_name", "users"."last_name", "users"."phone", "users"."role", "users"."custom_role_id", "users"."is_active", "users"."token_version", "users"."last_login", "users"."email_verified_at", "users"."created_at", "users"."updated_at", "users"."deleted_at", "users"."added_by", "users"."dealership_name", "users"."group_id" FROM "users" WHERE "users"."id" = format('0b0b0001-%s-4000-8000-%s', lpad(to_hex((:d)::bigint), 4, '0'), lpad(to_hex((:n)::bigint), 12, '0'))::uuid AND "users"."deleted_at" IS NULL AND "users"."is_active" = 't' LIMIT '1';
SELECT "dealerships"."id", "dealerships"."name", "dealerships"."address", "dealerships"."contact_email", "dealerships"."contact_phone", "dealerships"."is_active", "dealerships"."created_at", "dealerships"."updated_at", "dealerships"."deleted_at", "dealerships"."mfa_required", "dealerships"."group_id" FROM "dealerships" WHERE "dealerships"."id" = format('0b0b0000-%s-4000-8000-%s', lpad(to_hex((:d)::bigint), 4, '0'), lpad(to_hex((0)::bigint), 12, '0'))::uuid AND "dealerships"."deleted_at" IS NULL AND "dealerships"."is_active" = 't' LIMIT '1';
SELECT coalesce(s.authenticated_at, s.created_at) AS created_at, s.mfa_at, EXISTS (SELECT 1 FROM mfa_factors f WHERE f.person_id = format('0b0b0001-%s-4000-8000-%s', lpad(to_hex((:d)::bigint), 4, '0'), lpad(to_hex((:n)::bigint), 12, '0'))::uuid AND f.confirmed_at IS NOT NULL) AS enrolled, (coalesce((SELECT d.mfa_required FROM dealerships d WHERE d.id = s.dealership_id), false) OR (NULL::uuid IS NOT NULL AND EXISTS (SELECT 1 FROM dealerships g WHERE g.group_id = NULL::uuid AND g.mfa_required AND g.is_active AND g.deleted_at IS NULL))) AS dealership_requires FROM sessions s WHERE s.id = format('0b0b0002-%s-4000-8000-%s', lpad(to_hex((:d)::bigint), 4, '0'), lpad(to_hex((:n)::bigint), 12, '0'))::uuid AND s.user_id = format('0b0b0001-%s-4000-8000-%s', lpad(to_hex((:d)::bigint), 4, '0'), lpad(to_hex((:n)::bigint), 12, '0'))::uuid;
SELECT * FROM person_memberships(format('0b0b0001-%s-4000-8000-%s', lpad(to_hex((:d)::bigint), 4, '0'), lpad(to_hex((:n)::bigint), 12, '0'))::uuid);
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
