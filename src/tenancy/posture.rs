//! Is isolation real? The start-up and `/readyz` checks that RLS is enabled and forced on every
//! table, that the runtime roles cannot bypass it, and (in `prod`) that the login role has no way
//! around the tenant transaction.

use migration::MigratorTrait;
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};

use super::{Database, PLATFORM_ROLE, RUNTIME_ROLE, Scope};
use crate::{config::Profile, error::AppError};

/// What the checks found. `problems` make the server refuse to start (and `/readyz` fail);
/// `warnings` are logged.
#[derive(Debug, Default)]
pub struct Posture {
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
}

impl Posture {
    pub fn is_secure(&self) -> bool {
        self.problems.is_empty()
    }
}

#[derive(Debug, FromQueryResult)]
struct TableRls {
    name: String,
    enabled: bool,
    forced: bool,
}

#[derive(Debug, FromQueryResult)]
struct RoleRights {
    name: String,
    superuser: bool,
    bypass_rls: bool,
    /// can become a superuser or BYPASSRLS role
    privileged_member: bool,
    /// owns, or can become the owner of, a table in the schema
    owner: bool,
    /// reads a tenant table without switching role (login role only)
    direct_access: bool,
    can_switch_runtime: bool,
    can_switch_platform: bool,
    /// may UPDATE `dealerships.is_active` or `deleted_at` (suspend or delete a tenant)
    suspends_dealerships: bool,
}

// every table but sea-orm-migration's bookkeeping holds tenant data and must be isolated
const TABLES: &str = r#"
SELECT c.relname::text AS name, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> 'seaql_migrations'
ORDER BY 1
"#;

const ROLES: &str = r#"
SELECT r.rolname::text AS name,
       r.rolsuper AS superuser,
       r.rolbypassrls AS bypass_rls,
       EXISTS (SELECT 1 FROM pg_roles p
               WHERE p.oid <> r.oid AND (p.rolsuper OR p.rolbypassrls)
                 AND pg_has_role(r.oid, p.oid, 'MEMBER')) AS privileged_member,
       EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                 AND pg_has_role(r.oid, c.relowner, 'MEMBER')) AS owner,
       EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                 AND c.relname <> 'seaql_migrations'
                 AND has_table_privilege(r.oid, c.oid, 'SELECT')) AS direct_access,
       pg_has_role(r.oid, $1, 'MEMBER') AS can_switch_runtime,
       pg_has_role(r.oid, $2, 'MEMBER') AS can_switch_platform,
       CASE WHEN to_regclass('public.dealerships') IS NULL THEN false
            ELSE has_column_privilege(r.oid, 'public.dealerships', 'is_active', 'UPDATE')
              OR has_column_privilege(r.oid, 'public.dealerships', 'deleted_at', 'UPDATE')
       END AS suspends_dealerships
FROM pg_roles r
WHERE r.rolname = ANY (ARRAY[$1, $2, session_user::text])
"#;

/// Views that would read their tables as their owner (past RLS: a view is `security_invoker`
/// or it is a hole), and tables of a person that the runtime role reads other than through a
/// live membership of the caller's dealership (migration 000018).
const SHARED_READS: &str = r#"
SELECT 'view ' || c.relname || ' does not read as its caller (security_invoker)' AS problem
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'v'
  AND NOT coalesce(c.reloptions && ARRAY['security_invoker=true', 'security_invoker=on'], false)
UNION ALL
SELECT 'table ' || t || ' is read by ' || $1 || ' other than through a live membership'
FROM unnest(ARRAY['people', 'mfa_factors', 'mfa_recovery_codes']) AS t
WHERE to_regclass('public.people') IS NOT NULL AND EXISTS (
    SELECT 1 FROM pg_policies p
    WHERE p.schemaname = 'public' AND p.tablename = t AND $1::name = ANY (p.roles)
      AND p.cmd <> 'INSERT' AND position('memberships' IN coalesce(p.qual, '')) = 0)
ORDER BY 1
"#;

async fn shared_reads(conn: &impl ConnectionTrait) -> Result<Vec<String>, AppError> {
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            SHARED_READS,
            [RUNTIME_ROLE.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String>("", "problem")?))
        .collect()
}

/// Whether `demo_seed` is marked (false where the schema predates the mark).
async fn demo_seeded(conn: &impl ConnectionTrait) -> Result<bool, AppError> {
    let ask = |sql: &str| Statement::from_string(DbBackend::Postgres, sql.to_owned());
    let flag = |row: Option<sea_orm::QueryResult>| -> Result<bool, AppError> {
        Ok(row
            .map(|r| r.try_get::<bool>("", "yes"))
            .transpose()?
            .unwrap_or(false))
    };
    let marked = "SELECT to_regprocedure('public.demo_seeded()') IS NOT NULL AS yes";
    if !flag(conn.query_one_raw(ask(marked)).await?)? {
        return Ok(false);
    }
    flag(
        conn.query_one_raw(ask("SELECT public.demo_seeded() AS yes"))
            .await?,
    )
}

/// Runs every check. An error means the database could not be asked at all.
pub async fn inspect(db: &Database, profile: Profile) -> Result<Posture, AppError> {
    // a transaction, so that a transaction pooler keeps its statements on one connection
    let catalog = db.catalog().await?;
    let conn = &catalog;
    let mut posture = Posture::default();

    let tables = TableRls::find_by_statement(Statement::from_string(DbBackend::Postgres, TABLES))
        .all(conn)
        .await?;
    if tables.is_empty() {
        posture
            .problems
            .push("no tables: the schema is not migrated (run `dealergate migrate up`)".into());
    }
    for t in tables.iter().filter(|t| !(t.enabled && t.forced)) {
        posture.problems.push(format!(
            "table {} does not have row-level security enabled and forced",
            t.name
        ));
    }

    posture.problems.extend(shared_reads(conn).await?);

    // the demo admin's TOTP secret is published in the README: no production data behind it
    if profile == Profile::Prod && demo_seeded(conn).await? {
        posture.problems.push(
            "the demo seed wrote this database (demo passwords, a published TOTP secret): \
             prod serves only a database of its own"
                .into(),
        );
    }

    let login = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT session_user::text AS name",
        ))
        .await?
        .map(|row| row.try_get::<String>("", "name"))
        .transpose()?
        .unwrap_or_default();
    let roles = RoleRights::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        ROLES,
        [RUNTIME_ROLE.into(), PLATFORM_ROLE.into()],
    ))
    .all(conn)
    .await?;

    for runtime in [RUNTIME_ROLE, PLATFORM_ROLE] {
        match roles.iter().find(|r| r.name == runtime) {
            None => posture
                .problems
                .push(format!("runtime role {runtime} does not exist")),
            Some(r) => posture.problems.extend(runtime_role_problems(r)),
        }
    }
    // only the platform suspends or deletes dealerships: the tenant role must not be able to
    if roles
        .iter()
        .any(|r| r.name == RUNTIME_ROLE && r.suspends_dealerships)
    {
        posture.problems.push(format!(
            "runtime role {RUNTIME_ROLE} may update dealerships.is_active or deleted_at \
             (only {PLATFORM_ROLE} may suspend or delete a dealership)"
        ));
    }
    if let Some(r) = roles.iter().find(|r| r.name == login) {
        let (problems, warnings) = login_role_findings(r);
        posture.problems.extend(problems);
        match profile {
            Profile::Prod => posture.problems.extend(warnings),
            // the two-command start connects as the local superuser: allowed, but said
            Profile::Dev => posture.warnings.extend(warnings),
        }
    }
    Ok(posture)
}

fn runtime_role_problems(r: &RoleRights) -> Vec<String> {
    let mut problems = Vec::new();
    if r.superuser || r.bypass_rls || r.privileged_member {
        problems.push(format!(
            "runtime role {} can bypass row-level security",
            r.name
        ));
    }
    if r.owner {
        problems.push(format!(
            "runtime role {} owns a table, so RLS would not bind it",
            r.name
        ));
    }
    problems
}

/// `(always problems, problems in prod / warnings in dev)` for the role the pool logs in as.
fn login_role_findings(r: &RoleRights) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut risky = Vec::new();
    if !r.can_switch_runtime || !r.can_switch_platform {
        problems.push(format!(
            "login role {} is not a member of {RUNTIME_ROLE} and {PLATFORM_ROLE}",
            r.name
        ));
    }
    if r.superuser || r.bypass_rls || r.privileged_member {
        risky.push(format!(
            "login role {} is a superuser or can bypass row-level security",
            r.name
        ));
    }
    if r.owner {
        risky.push(format!(
            "login role {} owns the tables (connect as a separate login role)",
            r.name
        ));
    }
    if r.direct_access {
        risky.push(format!(
            "login role {} reads tenant tables without the tenant transaction (make it NOINHERIT)",
            r.name
        ));
    }
    (problems, risky)
}

/// Migrations the binary knows that the database has not applied (and vice versa).
pub async fn migration_drift(db: &Database) -> Result<Vec<String>, AppError> {
    let tx = db.begin(Scope::Anonymous).await?;
    let applied: Vec<String> = tx
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT version FROM seaql_migrations ORDER BY version",
        ))
        .await?
        .iter()
        .map(|row| row.try_get::<String>("", "version"))
        .collect::<Result<_, _>>()?;
    tx.commit().await?;
    let known: Vec<String> = migration::Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let mut drift: Vec<String> = known
        .iter()
        .filter(|m| !applied.contains(m))
        .map(|m| format!("pending: {m}"))
        .collect();
    drift.extend(
        applied
            .iter()
            .filter(|m| !known.contains(m))
            .map(|m| format!("unknown to this binary: {m}")),
    );
    Ok(drift)
}
