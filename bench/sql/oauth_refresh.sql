-- POST /oauth2/token grant_type=refresh_token, first-party client (ES256), as a person of dealership 0:
-- the statements dealergate sent PostgreSQL for one request, captured from the wire by
-- bench/oidc and rewritten on every run. Its single-use values are SQL of :n, a
-- per-client counter (-D k=0, base as bench/oidc sets it), so every transaction spends
-- a code (rotates a family) that bench/oidc made for it and nobody used: code hash,
-- family, person (u, a different one per client at any moment) and sign-in; any other id the request made fresh
-- (0 here: audit rows and the like) is gen_random_uuid(). To run it by hand, make
-- the inputs first (bench/oidc's make_pg_inputs) and:
--   pgbench -n -M prepared -c16 -j2 -T10 -f bench/sql/oauth_refresh.sql -D k=0 -D base=0 dealergate_bench_oidc
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
BEGIN READ ONLY;
SELECT set_config('role', 'dealergate_app', true), set_config('app.dealership_id', '', true), set_config('app.group_id', '', true);
SELECT set_config('app.dealership_ids', CASE WHEN current_setting('app.group_id') <> '' THEN public.group_dealerships(current_setting('app.group_id')::uuid)::text WHEN current_setting('app.dealership_id') <> '' THEN '{' || current_setting('app.dealership_id') || '}' ELSE '' END, true);
\endpipeline
SELECT * FROM auth_refresh_lookup(format('0b0b0009-%s-4000-8000-%s', lpad(to_hex((7)::bigint), 4, '0'), lpad(to_hex(((:n)::bigint)::bigint), 12, '0'))::uuid);
ROLLBACK;
\startpipeline
BEGIN;
SELECT set_config('role', 'dealergate_app', true), set_config('app.dealership_id', '0b0b0000-0000-4000-8000-000000000000', true), set_config('app.group_id', '', true);
SELECT set_config('app.dealership_ids', CASE WHEN current_setting('app.group_id') <> '' THEN public.group_dealerships(current_setting('app.group_id')::uuid)::text WHEN current_setting('app.dealership_id') <> '' THEN '{' || current_setting('app.dealership_id') || '}' ELSE '' END, true);
\endpipeline
UPDATE sessions SET previous_token_hash = refresh_token_hash, refresh_token_hash = '\x73971b0d1433b65de91ae6f323287dcbe30dfff1e6245a81b3a951527c76cbb0', rotated_at = now(), rotation_count = rotation_count + 1, last_used_at = now(), expires_at = least(now() + make_interval(secs => '604800.0'), absolute_expires_at) WHERE id = format('0b0b0009-%s-4000-8000-%s', lpad(to_hex((7)::bigint), 4, '0'), lpad(to_hex(((:n)::bigint)::bigint), 12, '0'))::uuid AND refresh_token_hash = sha256(sha256(convert_to('bench-refresh:' || (format('0b0b0009-%s-4000-8000-%s', lpad(to_hex((7)::bigint), 4, '0'), lpad(to_hex(((:n)::bigint)::bigint), 12, '0'))::uuid)::text, 'UTF8'))) AND revoked_at IS NULL AND expires_at > now() AND absolute_expires_at > now() AND rotation_count < '4096';
SELECT "users"."id", "users"."dealership_id", "users"."person_id", "users"."email", "users"."password_hash", "users"."first_name", "users"."last_name", "users"."phone", "users"."role", "users"."custom_role_id", "users"."is_active", "users"."token_version", "users"."last_login", "users"."email_verified_at", "users"."created_at", "users"."updated_at", "users"."deleted_at", "users"."added_by", "users"."dealership_name", "users"."group_id" FROM "users" WHERE "users"."id" = format('0b0b0001-%s-4000-8000-%s', lpad(to_hex((0)::bigint), 4, '0'), lpad(to_hex(((:u)::bigint)::bigint), 12, '0'))::uuid AND "users"."deleted_at" IS NULL AND "users"."is_active" = 't' LIMIT '1';
SELECT "dealerships"."id", "dealerships"."name", "dealerships"."address", "dealerships"."contact_email", "dealerships"."contact_phone", "dealerships"."is_active", "dealerships"."created_at", "dealerships"."updated_at", "dealerships"."deleted_at", "dealerships"."mfa_required", "dealerships"."group_id" FROM "dealerships" WHERE "dealerships"."id" = '0b0b0000-0000-4000-8000-000000000000'::uuid AND "dealerships"."deleted_at" IS NULL AND "dealerships"."is_active" = 't' LIMIT '1';
SELECT coalesce(s.authenticated_at, s.created_at) AS created_at, s.mfa_at, EXISTS (SELECT 1 FROM mfa_factors f WHERE f.person_id = format('0b0b0001-%s-4000-8000-%s', lpad(to_hex((0)::bigint), 4, '0'), lpad(to_hex(((:u)::bigint)::bigint), 12, '0'))::uuid AND f.confirmed_at IS NOT NULL) AS enrolled, (coalesce((SELECT d.mfa_required FROM dealerships d WHERE d.id = s.dealership_id), false) OR (NULL::uuid IS NOT NULL AND EXISTS (SELECT 1 FROM dealerships g WHERE g.group_id = NULL::uuid AND g.mfa_required AND g.is_active AND g.deleted_at IS NULL))) AS dealership_requires FROM sessions s WHERE s.id = format('0b0b0009-%s-4000-8000-%s', lpad(to_hex((7)::bigint), 4, '0'), lpad(to_hex(((:n)::bigint)::bigint), 12, '0'))::uuid AND s.user_id = format('0b0b0001-%s-4000-8000-%s', lpad(to_hex((0)::bigint), 4, '0'), lpad(to_hex(((:u)::bigint)::bigint), 12, '0'))::uuid;
SELECT * FROM person_memberships(format('0b0b0001-%s-4000-8000-%s', lpad(to_hex((0)::bigint), 4, '0'), lpad(to_hex(((:u)::bigint)::bigint), 12, '0'))::uuid);
SELECT pg_current_xact_id_if_assigned()::text AS xid, pg_backend_pid() AS backend_pid;
COMMIT;
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', 'dealergate_app', true), set_config('app.dealership_id', '0b0b0000-0000-4000-8000-000000000000', true), set_config('app.group_id', '', true);
SELECT set_config('app.dealership_ids', CASE WHEN current_setting('app.group_id') <> '' THEN public.group_dealerships(current_setting('app.group_id')::uuid)::text WHEN current_setting('app.dealership_id') <> '' THEN '{' || current_setting('app.dealership_id') || '}' ELSE '' END, true);
\endpipeline
SELECT "sessions"."id", "sessions"."dealership_id", "sessions"."user_id", "sessions"."refresh_token_hash", "sessions"."previous_token_hash", "sessions"."rotated_at", "sessions"."rotation_count", "sessions"."user_agent", "sessions"."ip", "sessions"."created_at", "sessions"."last_used_at", "sessions"."expires_at", "sessions"."absolute_expires_at", "sessions"."revoked_at", "sessions"."revoked_reason", "sessions"."mfa_at", "sessions"."sign_in_id", "sessions"."group_id", "sessions"."client_id", "sessions"."authenticated_at", "sessions"."client_scopes" FROM "sessions" WHERE "sessions"."id" = format('0b0b0009-%s-4000-8000-%s', lpad(to_hex((7)::bigint), 4, '0'), lpad(to_hex(((:n)::bigint)::bigint), 12, '0'))::uuid LIMIT '1';
ROLLBACK;
