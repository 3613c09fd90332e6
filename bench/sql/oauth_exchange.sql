-- POST /oauth2/token grant_type=authorization_code, first-party client (ES256), as a person of dealership 0:
-- the statements dealergate sent PostgreSQL for one request, captured from the wire by
-- bench/oidc and rewritten on every run. Its single-use values are SQL of :n, a
-- per-client counter (-D k=0, base as bench/oidc sets it), so every transaction spends
-- a code (rotates a family) that bench/oidc made for it and nobody used: code hash,
-- family, person (u, a different one per client at any moment) and sign-in; any other id the request made fresh
-- (2 here: audit rows and the like) is gen_random_uuid(). To run it by hand, make
-- the inputs first (bench/oidc's make_pg_inputs) and:
--   pgbench -n -M prepared -c16 -j2 -T10 -f bench/sql/oauth_exchange.sql -D k=0 -D base=0 dealergate_bench_oidc
\set k :k + 1
\set n :base + :client_id * 1000000 + :k
\set u (:client_id * 311 + :k) % 10000
\startpipeline
BEGIN;
SELECT set_config('role', 'dealergate_app', true), set_config('app.dealership_id', '', true), set_config('app.group_id', '', true);
SELECT set_config('app.dealership_ids', CASE WHEN current_setting('app.group_id') <> '' THEN public.group_dealerships(current_setting('app.group_id')::uuid)::text WHEN current_setting('app.dealership_id') <> '' THEN '{' || current_setting('app.dealership_id') || '}' ELSE '' END, true);
\endpipeline
SELECT retry_after_secs FROM auth_throttle_locked(E'{"client-secret\x3aclient\x3a0b0b0008-0000-4000-8000-000000000000","client-secret\x3aip\x3a127.0.0.1"}');
SELECT * FROM oauth_client('0b0b0008-0000-4000-8000-000000000000');
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN;
SELECT set_config('role', 'dealergate_app', true), set_config('app.dealership_id', '', true), set_config('app.group_id', '', true);
SELECT set_config('app.dealership_ids', CASE WHEN current_setting('app.group_id') <> '' THEN public.group_dealerships(current_setting('app.group_id')::uuid)::text WHEN current_setting('app.dealership_id') <> '' THEN '{' || current_setting('app.dealership_id') || '}' ELSE '' END, true);
\endpipeline
SELECT * FROM oauth_code_redeem(sha256(convert_to('bench-pg-code-' || :n, 'UTF8')), format('0b0b000a-%s-4000-8000-%s', lpad(to_hex((0)::bigint), 4, '0'), lpad(to_hex(((:n)::bigint)::bigint), 12, '0'))::uuid);
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN;
SELECT set_config('role', 'dealergate_app', true), set_config('app.dealership_id', '0b0b0000-0000-4000-8000-000000000000', true), set_config('app.group_id', '', true);
SELECT set_config('app.dealership_ids', CASE WHEN current_setting('app.group_id') <> '' THEN public.group_dealerships(current_setting('app.group_id')::uuid)::text WHEN current_setting('app.dealership_id') <> '' THEN '{' || current_setting('app.dealership_id') || '}' ELSE '' END, true);
\endpipeline
SELECT "users"."id", "users"."dealership_id", "users"."person_id", "users"."email", "users"."password_hash", "users"."first_name", "users"."last_name", "users"."phone", "users"."role", "users"."custom_role_id", "users"."is_active", "users"."token_version", "users"."last_login", "users"."email_verified_at", "users"."created_at", "users"."updated_at", "users"."deleted_at", "users"."added_by", "users"."dealership_name", "users"."group_id" FROM "users" WHERE "users"."id" = format('0b0b0001-%s-4000-8000-%s', lpad(to_hex((0)::bigint), 4, '0'), lpad(to_hex(((:u)::bigint)::bigint), 12, '0'))::uuid AND "users"."deleted_at" IS NULL AND "users"."is_active" = 't' LIMIT '1';
SELECT "dealerships"."id", "dealerships"."name", "dealerships"."address", "dealerships"."contact_email", "dealerships"."contact_phone", "dealerships"."is_active", "dealerships"."created_at", "dealerships"."updated_at", "dealerships"."deleted_at", "dealerships"."mfa_required", "dealerships"."group_id" FROM "dealerships" WHERE "dealerships"."id" = '0b0b0000-0000-4000-8000-000000000000'::uuid AND "dealerships"."deleted_at" IS NULL AND "dealerships"."is_active" = 't' LIMIT '1';
INSERT INTO "sessions" ("id", "dealership_id", "user_id", "refresh_token_hash", "user_agent", "ip", "expires_at", "absolute_expires_at", "mfa_at", "sign_in_id", "client_id", "authenticated_at", "client_scopes") VALUES (format('0b0b000a-%s-4000-8000-%s', lpad(to_hex((0)::bigint), 4, '0'), lpad(to_hex(((:n)::bigint)::bigint), 12, '0'))::uuid, '0b0b0000-0000-4000-8000-000000000000'::uuid, format('0b0b0001-%s-4000-8000-%s', lpad(to_hex((0)::bigint), 4, '0'), lpad(to_hex(((:u)::bigint)::bigint), 12, '0'))::uuid, '\x55ccd96551899a5f809f1b30c87f2086707bc214ec2f8007e3579e1777453bc3', NULL, '127.0.0.1', E'2026-12-13T13\x3a38\x3a08.302256+00\x3a00', E'2027-01-05T13\x3a38\x3a08.302256+00\x3a00', NULL, format('0b0b0002-%s-4000-8000-%s', lpad(to_hex((0)::bigint), 4, '0'), lpad(to_hex(((:u)::bigint)::bigint), 12, '0'))::uuid, '0b0b0008-0000-4000-8000-000000000000', E'2026-12-06T13\x3a38\x3a07.846271+00\x3a00', '{"openid","profile","email","offline_access","dealership"}') RETURNING "id", "dealership_id", "user_id", "refresh_token_hash", "previous_token_hash", "rotated_at", "rotation_count", "user_agent", "ip", "created_at", "last_used_at", "expires_at", "absolute_expires_at", "revoked_at", "revoked_reason", "mfa_at", "sign_in_id", "group_id", "client_id", "authenticated_at", "client_scopes";
UPDATE "memberships" SET "last_login" = now() WHERE "memberships"."id" = format('0b0b0001-%s-4000-8000-%s', lpad(to_hex((0)::bigint), 4, '0'), lpad(to_hex(((:u)::bigint)::bigint), 12, '0'))::uuid;
SELECT "users"."id", "users"."dealership_id", "users"."person_id", "users"."email", "users"."password_hash", "users"."first_name", "users"."last_name", "users"."phone", "users"."role", "users"."custom_role_id", "users"."is_active", "users"."token_version", "users"."last_login", "users"."email_verified_at", "users"."created_at", "users"."updated_at", "users"."deleted_at", "users"."added_by", "users"."dealership_name", "users"."group_id" FROM "users" WHERE "users"."id" = format('0b0b0001-%s-4000-8000-%s', lpad(to_hex((0)::bigint), 4, '0'), lpad(to_hex(((:u)::bigint)::bigint), 12, '0'))::uuid LIMIT '1';
INSERT INTO "audit_events" ("id", "dealership_id", "actor_id", "action", "target_type", "target_id", "request_id", "ip", "changes") VALUES (gen_random_uuid(), '0b0b0000-0000-4000-8000-000000000000'::uuid, format('0b0b0001-%s-4000-8000-%s', lpad(to_hex((0)::bigint), 4, '0'), lpad(to_hex(((:u)::bigint)::bigint), 12, '0'))::uuid, 'oauth.token_issued', 'session', format('0b0b000a-%s-4000-8000-%s', lpad(to_hex((0)::bigint), 4, '0'), lpad(to_hex(((:n)::bigint)::bigint), 12, '0'))::uuid, gen_random_uuid(), '127.0.0.1', E'{"client"\x3a"Bench first-party, ES256","client_id"\x3a"0b0b0008-0000-4000-8000-000000000000","grant_type"\x3a"authorization_code","scopes"\x3a["openid","profile","email","offline_access","dealership"]}') RETURNING "id", "at", "dealership_id", "actor_id", "action", "target_type", "target_id", "request_id", "ip", "changes", "group_id";
SELECT coalesce(s.authenticated_at, s.created_at) AS created_at, s.mfa_at, EXISTS (SELECT 1 FROM mfa_factors f WHERE f.person_id = format('0b0b0001-%s-4000-8000-%s', lpad(to_hex((0)::bigint), 4, '0'), lpad(to_hex(((:u)::bigint)::bigint), 12, '0'))::uuid AND f.confirmed_at IS NOT NULL) AS enrolled, (coalesce((SELECT d.mfa_required FROM dealerships d WHERE d.id = s.dealership_id), false) OR (NULL::uuid IS NOT NULL AND EXISTS (SELECT 1 FROM dealerships g WHERE g.group_id = NULL::uuid AND g.mfa_required AND g.is_active AND g.deleted_at IS NULL))) AS dealership_requires FROM sessions s WHERE s.id = format('0b0b000a-%s-4000-8000-%s', lpad(to_hex((0)::bigint), 4, '0'), lpad(to_hex(((:n)::bigint)::bigint), 12, '0'))::uuid AND s.user_id = format('0b0b0001-%s-4000-8000-%s', lpad(to_hex((0)::bigint), 4, '0'), lpad(to_hex(((:u)::bigint)::bigint), 12, '0'))::uuid;
SELECT * FROM person_memberships(format('0b0b0001-%s-4000-8000-%s', lpad(to_hex((0)::bigint), 4, '0'), lpad(to_hex(((:u)::bigint)::bigint), 12, '0'))::uuid);
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
