-- GET /api/v1/users?limit=50 as the principal of dealership 0:
-- the statements dealergate sent PostgreSQL for one request
-- (session state cached), captured from the wire by bench/run and rewritten on every
-- run; the parameters are pgbench variables. To run it by hand:
--   pgbench -n -M prepared -c16 -j2 -T5 -f bench/sql/list.sql -D role=dealergate_app -D dealership=0b0b0000-0000-4000-8000-000000000000 -D p3=50 -D p4=0 dealergate_bench
-- variables: {"role": "dealergate_app", "dealership": "0b0b0000-0000-4000-8000-000000000000", "p3": "50", "p4": "0"}
\startpipeline
BEGIN READ ONLY;
SELECT set_config('role', :role, true), set_config('app.dealership_id', :dealership, true), set_config('app.group_id', '', true);
SELECT set_config('app.dealership_ids', CASE WHEN current_setting('app.group_id') <> '' THEN public.group_dealerships(current_setting('app.group_id')::uuid)::text WHEN current_setting('app.dealership_id') <> '' THEN '{' || current_setting('app.dealership_id') || '}' ELSE '' END, true);
SELECT "users"."id", "users"."dealership_id", "users"."group_id", "users"."person_id", "users"."email", "users"."first_name", "users"."last_name", "users"."phone", "users"."role", "users"."custom_role_id", "users"."is_active", "users"."last_login", "users"."email_verified_at", "users"."created_at", "users"."updated_at", "users"."dealership_name", (SELECT COUNT(*) FROM "memberships" WHERE "deleted_at" IS NULL AND "dealership_id" = :dealership) AS "total" FROM "users" WHERE "deleted_at" IS NULL AND "dealership_id" = :dealership ORDER BY "users"."created_at" DESC, "users"."id" DESC LIMIT :p3 OFFSET :p4;
ROLLBACK;
\endpipeline
