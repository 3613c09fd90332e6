-- GET /api/v1/auth/me as the principal of dealership 0:
-- the statements dealergate sent PostgreSQL for one request
-- (session state cached), captured from the wire by bench/run and rewritten on every
-- run; the parameters are pgbench variables. To run it by hand:
--   pgbench -n -M prepared -c16 -j2 -T5 -f bench/sql/me.sql -D role=dealergate_app -D dealership=0b0b0000-0000-4000-8000-000000000000 -D caller=0b0b0001-0000-4000-8000-000000000000 -D p4=t -D p5=1 dealergate_bench
-- variables: {"role": "dealergate_app", "dealership": "0b0b0000-0000-4000-8000-000000000000", "caller": "0b0b0001-0000-4000-8000-000000000000", "p4": "t", "p5": "1"}
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', :dealership, true), set_config('app.group_id', '', true);
SELECT set_config('app.dealership_ids', CASE WHEN current_setting('app.group_id') <> '' THEN public.group_dealerships(current_setting('app.group_id')::uuid)::text WHEN current_setting('app.dealership_id') <> '' THEN '{' || current_setting('app.dealership_id') || '}' ELSE '' END, true);
\endpipeline
SELECT "users"."id", "users"."dealership_id", "users"."person_id", "users"."email", "users"."password_hash", "users"."first_name", "users"."last_name", "users"."phone", "users"."role", "users"."custom_role_id", "users"."is_active", "users"."token_version", "users"."last_login", "users"."email_verified_at", "users"."created_at", "users"."updated_at", "users"."deleted_at", "users"."added_by", "users"."dealership_name", "users"."group_id" FROM "users" WHERE "users"."id" = :caller AND "users"."deleted_at" IS NULL AND "users"."is_active" = :p4 LIMIT :p5;
SELECT "dealerships"."id", "dealerships"."name", "dealerships"."address", "dealerships"."contact_email", "dealerships"."contact_phone", "dealerships"."is_active", "dealerships"."created_at", "dealerships"."updated_at", "dealerships"."deleted_at", "dealerships"."mfa_required", "dealerships"."group_id" FROM "dealerships" WHERE "dealerships"."id" = :dealership AND "dealerships"."deleted_at" IS NULL AND "dealerships"."is_active" = :p4 LIMIT :p5;
SELECT * FROM person_memberships(:caller);
ROLLBACK;
