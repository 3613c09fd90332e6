-- GET /api/v1/auth/me: the statements dealergate sent PostgreSQL for one request
-- (session state cached), captured from the wire by bench/run and rewritten on every
-- run; the parameters are pgbench variables. To run it by hand:
--   pgbench -n -M prepared -c16 -j2 -T2 -f bench/sql/me.sql -D caller=0b0b0001-0000-4000-8000-000000000000 -D p2=t -D p3=1 -D dealership=0b0b0000-0000-4000-8000-000000000000 dealergate_bench
-- variables: {"caller": "0b0b0001-0000-4000-8000-000000000000", "p2": "t", "p3": "1", "dealership": "0b0b0000-0000-4000-8000-000000000000"}
BEGIN; SELECT set_config('role', 'dealergate_app', true), set_config('app.dealership_id', '0b0b0000-0000-4000-8000-000000000000', true);
SELECT "users"."id", "users"."dealership_id", "users"."email", "users"."password_hash", "users"."first_name", "users"."last_name", "users"."phone", "users"."role", "users"."is_active", "users"."token_version", "users"."last_login", "users"."created_at", "users"."updated_at", "users"."deleted_at" FROM "users" WHERE "users"."id" = :caller AND "users"."deleted_at" IS NULL AND "users"."is_active" = :p2 LIMIT :p3;
SELECT "dealerships"."id", "dealerships"."name", "dealerships"."address", "dealerships"."contact_email", "dealerships"."contact_phone", "dealerships"."is_active", "dealerships"."created_at", "dealerships"."updated_at", "dealerships"."deleted_at" FROM "dealerships" WHERE "dealerships"."id" = :dealership AND "dealerships"."deleted_at" IS NULL AND "dealerships"."is_active" = :p2 LIMIT :p3;
COMMIT;
