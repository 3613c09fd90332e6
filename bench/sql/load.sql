-- The bench data set, loaded by bench/run as the superuser into a freshly migrated database:
-- :dealerships dealerships × :users people each, every person with a membership in their
-- dealership and every tenth one (n % 10 = 1) with a second, as a manager of the next
-- dealership; one live session per person (of the first membership); every person with the
-- same password hash (:'hash', made once by `dealergate admin create-user`).
-- Dealer groups (issue 23), when :group_size > 0 (left out: 0, no groups): dealership d is in
-- group d / :group_size (10 groups of 10 for 100 dealerships), and every group has one group
-- principal: a person of its own with one membership, in the group and no dealership
-- (role group_principal, active), and one live session of it, like every other person's.
--
--   psql -v ON_ERROR_STOP=1 -v dealerships=100 -v users=10000 -v group_size=10 \
--        -v hash='$argon2id$…' -f load.sql
--
-- Rows go in in creation order with the dealerships interleaved (person n of every dealership,
-- then person n + 1, ...), as years of sign-ups leave them: one dealership's rows are spread
-- over the whole table, not packed into its own pages, so a query's cost shows the table's
-- size where it depends on it. Ids are derived from (kind, dealership, n), so bench/run knows
-- them without asking: kind 0 = dealership, 1 = person and their first membership (the same
-- id, as migration 000018 leaves a user), 2 = session, 3 = the second membership of person
-- (dealership, n), which is in dealership (dealership + 1) % :dealerships; and, with groups,
-- 4 = dealer group g, 5 = its group principal (person and group membership, one id), 6 = the
-- group principal's session (the second field is then the group, n = 0).
--   0b0b<kind:4 hex>-<dealership or group:4 hex>-4000-8000-<n:12 hex>
-- The group principal of group g signs in as principal@g<g>.bench.example, with the same
-- password as everyone; the group is named 'Bench Group <g, 2 digits>'.
-- Person n = 0 of each dealership is its principal, 1–99 are managers, the rest agents; the
-- email is u<n>@d<dealership>.bench.example. A second membership is made 0.5 s after the
-- first, so a dealership's directory holds its :users people and :users / 10 from the
-- dealership before it, interleaved (none when there is one dealership: it would be the same
-- one). Session (d, n) belongs to membership (d, n), kind 1, and is its own sign-in
-- (`sign_in_id` = its id); its refresh token is <session id, 32 hex>.<base64url of secret>,
-- where secret = sha256('bench-refresh:' || session id) and the stored hash is sha256(secret),
-- as src/auth/refresh_token.rs computes it.
-- `users` is a view whose INSTEAD OF trigger would write people and memberships; triggers are
-- off below, so the rows go into `people` and `memberships` directly.
-- `0 * n` below makes the inner series depend on n: without it the planner may swap the loops and
-- pack each dealership's rows together.

CREATE FUNCTION pg_temp.bench_id(kind int, d int, n bigint) RETURNS uuid
LANGUAGE sql IMMUTABLE
AS $$
    SELECT format('0b0b%s-%s-4000-8000-%s',
                  lpad(to_hex(kind), 4, '0'), lpad(to_hex(d), 4, '0'), lpad(to_hex(n), 12, '0'))::uuid
$$;

-- no groups unless asked for (bench/run always says)
\if :{?group_size}
\else
    \set group_size 0
\endif
SELECT :group_size > 0 AS grouped \gset

-- every row is consistent by construction: skip the foreign-key triggers while loading
SET session_replication_role = replica;
SET synchronous_commit = off;
SET maintenance_work_mem = '256MB';

BEGIN;

INSERT INTO dealerships (id, name, contact_email, created_at, updated_at)
SELECT pg_temp.bench_id(0, d, 0), format('Bench Dealership %s', lpad(d::text, 3, '0')),
       format('office@d%s.bench.example', d), now() - interval '400 days', now() - interval '400 days'
FROM generate_series(0, :dealerships - 1) AS d;

INSERT INTO people (id, email, password_hash, first_name, last_name, created_at, updated_at)
SELECT pg_temp.bench_id(1, d, n), format('u%s@d%s.bench.example', n, d), :'hash', 'Bench',
       format('User %s-%s', d, n),
       now() - interval '365 days' + make_interval(secs => n),
       now() - interval '365 days' + make_interval(secs => n)
FROM generate_series(0, :users - 1) AS n
CROSS JOIN LATERAL generate_series(0 * n, :dealerships - 1) AS d;

INSERT INTO memberships (id, person_id, dealership_id, role, created_at, updated_at)
SELECT m.id, pg_temp.bench_id(1, d, n), pg_temp.bench_id(0, m.dealership, 0), m.role,
       now() - interval '365 days' + make_interval(secs => n + m.later),
       now() - interval '365 days' + make_interval(secs => n + m.later)
FROM generate_series(0, :users - 1) AS n
CROSS JOIN LATERAL generate_series(0 * n, :dealerships - 1) AS d
CROSS JOIN LATERAL (
    SELECT pg_temp.bench_id(1, d, n) AS id, d AS dealership,
           CASE WHEN n = 0 THEN 'principal' WHEN n < 100 THEN 'manager' ELSE 'agent' END AS role,
           0.0 AS later
    UNION ALL
    SELECT pg_temp.bench_id(3, d, n), (d + 1) % :dealerships, 'manager', 0.5
    WHERE n % 10 = 1 AND :dealerships > 1
) AS m;

INSERT INTO sessions (id, dealership_id, user_id, sign_in_id, refresh_token_hash, user_agent,
                      ip, created_at, last_used_at, expires_at, absolute_expires_at)
SELECT s.id, pg_temp.bench_id(0, d, 0), pg_temp.bench_id(1, d, n), s.id,
       sha256(sha256(convert_to('bench-refresh:' || s.id::text, 'UTF8'))),
       'bench/run', '127.0.0.1', now(), now(), now() + interval '7 days', now() + interval '30 days'
FROM generate_series(0, :users - 1) AS n
CROSS JOIN LATERAL generate_series(0 * n, :dealerships - 1) AS d
CROSS JOIN LATERAL (SELECT pg_temp.bench_id(2, d, n) AS id) AS s;

\if :grouped
INSERT INTO dealer_groups (id, name, created_at, updated_at)
SELECT pg_temp.bench_id(4, g, 0), format('Bench Group %s', lpad(g::text, 2, '0')),
       now() - interval '400 days', now() - interval '400 days'
FROM generate_series(0, (:dealerships - 1) / :group_size) AS g;

UPDATE dealerships SET group_id = pg_temp.bench_id(4, d.n / :group_size, 0)
FROM generate_series(0, :dealerships - 1) AS d(n)
WHERE dealerships.id = pg_temp.bench_id(0, d.n, 0);

-- each group's principal: a person whose only membership is the group one
INSERT INTO people (id, email, password_hash, first_name, last_name, created_at, updated_at)
SELECT pg_temp.bench_id(5, g, 0), format('principal@g%s.bench.example', g), :'hash', 'Bench',
       format('Group Principal %s', g), now() - interval '400 days', now() - interval '400 days'
FROM generate_series(0, (:dealerships - 1) / :group_size) AS g;

INSERT INTO memberships (id, person_id, dealership_id, group_id, role, is_active, created_at,
                         updated_at)
SELECT pg_temp.bench_id(5, g, 0), pg_temp.bench_id(5, g, 0), NULL, pg_temp.bench_id(4, g, 0),
       'group_principal', true, now() - interval '400 days', now() - interval '400 days'
FROM generate_series(0, (:dealerships - 1) / :group_size) AS g;

-- a group membership's session has no dealership and names the group (as the server stamps it)
INSERT INTO sessions (id, dealership_id, group_id, user_id, sign_in_id, refresh_token_hash,
                      user_agent, ip, created_at, last_used_at, expires_at, absolute_expires_at)
SELECT s.id, NULL, pg_temp.bench_id(4, g, 0), pg_temp.bench_id(5, g, 0), s.id,
       sha256(sha256(convert_to('bench-refresh:' || s.id::text, 'UTF8'))),
       'bench/run', '127.0.0.1', now(), now(), now() + interval '7 days', now() + interval '30 days'
FROM generate_series(0, (:dealerships - 1) / :group_size) AS g
CROSS JOIN LATERAL (SELECT pg_temp.bench_id(6, g, 0) AS id) AS s;
\endif

COMMIT;

-- visibility map and statistics, as a long-running database would have them. The load committed
-- asynchronously, and a row whose commit is not yet flushed cannot be marked all-visible: the
-- VACUUM would leave the visibility map empty and every index-only scan would read the heap.
-- A synchronous commit with a transaction id flushes the WAL up to it, the load's commit included.
RESET synchronous_commit;
SELECT pg_current_xact_id() IS NOT NULL AS flushed;
VACUUM (ANALYZE) dealer_groups, dealerships, people, memberships, sessions;
