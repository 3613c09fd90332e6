//! The staff directory: listing, counting and reading users within the caller's reach.

use std::sync::OnceLock;

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Statement, Value,
    sea_query::{Alias, Expr, ExprTrait, SelectStatement},
};
use uuid::Uuid;

use crate::{
    auth::principal::Principal,
    authz::Reach,
    domain::Role,
    entity::{membership, user},
    error::AppError,
    scope::RequestScope,
    service::{Page, merged},
    tenancy::{Row, in_scope_dealerships},
};

#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub is_active: Option<bool>,
    /// Honoured at `any` and `group` reach (one of the group's: RLS hides the others); within
    /// a dealership it is always the caller's.
    pub dealership_id: Option<Uuid>,
    /// Matches first name, last name or email, case-insensitively.
    pub q: Option<String>,
}

impl UserFilter {
    pub fn new(
        role: Option<Role>,
        is_active: Option<bool>,
        dealership_id: Option<Uuid>,
        q: Option<String>,
    ) -> Self {
        Self {
            role,
            is_active,
            dealership_id,
            q,
        }
    }
}

/// What the caller can see at `reach`, filtered, as conditions on the membership's own
/// columns (named alike in `memberships` and the `users` view). RLS already confines a tenant
/// transaction; the explicit conditions say the same and let the planner use the index.
fn of_membership(who: &Principal, reach: Reach, filter: &UserFilter) -> Condition {
    let col = |name: &str| Expr::col(Alias::new(name));
    let mut on = Condition::all().add(col("deleted_at").is_null());
    on = match reach {
        Reach::Any => match filter.dealership_id {
            Some(d) => on.add(col("dealership_id").eq(d)),
            None => on,
        },
        Reach::Group => match filter.dealership_id {
            Some(d) => on.add(col("dealership_id").eq(d)),
            None => on.add(in_scope_dealerships("dealership_id")),
        },
        Reach::Dealership => on.add(col("dealership_id").eq(who.dealership_id)),
        Reach::Own => on.add(col("id").eq(who.user_id)),
    };
    if let Some(role) = filter.role {
        on = on.add(col("role").eq(role.as_str()));
    }
    if let Some(active) = filter.is_active {
        on = on.add(col("is_active").eq(active));
    }
    on
}

/// The search term of `filter`, if it has one.
fn searched(filter: &UserFilter) -> Option<&str> {
    filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty())
}

/// Live users the caller can see at `reach`, filtered (the `users` view: a membership with its
/// person's names and sign-in names).
fn visible(who: &Principal, reach: Reach, filter: &UserFilter) -> Select<user::Entity> {
    let mut query = user::Entity::find().filter(of_membership(who, reach, filter));
    if let Some(q) = searched(filter) {
        let pattern = format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        query = query.filter(
            Condition::any()
                .add(Expr::cust_with_values(
                    "first_name ILIKE $1",
                    [pattern.clone()],
                ))
                .add(Expr::cust_with_values(
                    "last_name ILIKE $1",
                    [pattern.clone()],
                ))
                .add(Expr::cust_with_values("email ILIKE $1", [pattern])),
        );
    }
    query
}

/// One page, newest first, and the total matching, in one statement: the count is an
/// uncorrelated subquery that PostgreSQL computes once, so a page costs one round trip (with
/// the transaction's opening and end, [`crate::tenancy::TenantTx::rows`]). Only a page past
/// the end (no row to carry the total) counts again.
pub async fn list(
    scope: &RequestScope,
    filter: &UserFilter,
    page: Page,
) -> Result<(Vec<user::Profile>, u64), AppError> {
    let (who, reach) = (scope.principal(), scope.reach());
    let matching = counting(who, reach, filter);
    let statement = if reach == Reach::Group {
        // each dealership's own scan: the set's condition repeated in it would be estimated
        // as independent of `dealership_id = rooftop.id` (100× too few rows: a bitmap scan of
        // every membership and a sort, bench/RESULTS.md "Issue 23"); RLS says it anyway
        let newest_first = shown(visible(who, Reach::Any, filter))
            .order_by_desc(user::Column::CreatedAt)
            .order_by_desc(user::Column::Id)
            .into_query();
        let merged = merged::per_dealership(
            newest_first,
            "users.dealership_id",
            ["created_at", "id"],
            page,
            Some(matching),
        );
        DbBackend::Postgres.build(&merged)
    } else {
        shown(visible(who, reach, filter))
            .expr_as(Expr::SubQuery(None, Box::new(matching.into())), "total")
            .order_by_desc(user::Column::CreatedAt)
            .order_by_desc(user::Column::Id)
            .limit(page.limit)
            .offset(page.offset)
            .build(DbBackend::Postgres)
    };
    let rows = scope.tx().rows(statement).await?;
    let total = match rows.first() {
        Some(first) => u64::try_from(first.get::<i64>(TOTAL)?).unwrap_or_default(),
        None if page.offset == 0 => 0,
        None => count(scope, filter).await?,
    };
    let users = rows.iter().map(listed).collect::<Result<_, _>>()?;
    Ok((users, total))
}

/// What the directory shows of a user, in the order its reads select it: the view's columns
/// without the password hash (and without what no answer shows), read back by index.
const SHOWN: [user::Column; 16] = [
    user::Column::Id,
    user::Column::DealershipId,
    user::Column::GroupId,
    user::Column::PersonId,
    user::Column::Email,
    user::Column::FirstName,
    user::Column::LastName,
    user::Column::Phone,
    user::Column::Role,
    user::Column::CustomRoleId,
    user::Column::IsActive,
    user::Column::LastLogin,
    user::Column::EmailVerifiedAt,
    user::Column::CreatedAt,
    user::Column::UpdatedAt,
    user::Column::DealershipName,
];

/// The column of a listed row that holds the total: after [`SHOWN`].
const TOTAL: usize = SHOWN.len();

fn shown(query: Select<user::Entity>) -> Select<user::Entity> {
    query.select_only().columns(SHOWN)
}

/// A user as the directory shows one, from a row of [`SHOWN`].
fn listed(row: &Row) -> Result<user::Profile, DbErr> {
    let role: String = row.get(8)?;
    let role = role
        .parse()
        .map_err(|_| DbErr::Type(format!("role {role:?}")))?;
    let membership = membership::Summary {
        user_id: row.get(0)?,
        dealership_id: row.get(1)?,
        group_id: row.get(2)?,
        role,
        custom_role_id: row.get(9)?,
        last_login: row.get(11)?,
        dealership_name: row.get(15)?,
        // the group's name is in the person's own list (`person_memberships`) only
        group_name: None,
    };
    Ok(user::Profile {
        id: membership.user_id,
        dealership_id: membership.dealership_id,
        group_id: membership.group_id,
        person_id: row.get(3)?,
        email: row.get(4)?,
        first_name: row.get(5)?,
        last_name: row.get(6)?,
        phone: row.get(7)?,
        role,
        custom_role_id: membership.custom_role_id,
        is_active: row.get(10)?,
        last_login: membership.last_login,
        email_verified_at: row.get(12)?,
        created_at: row.get(13)?,
        updated_at: row.get(14)?,
        memberships: vec![membership],
    })
}

/// `SELECT COUNT(*)` of what [`visible`] selects. Without a search it counts `memberships`
/// alone: through the view every matching row would be joined to its person and that person's
/// RLS check run, a page read per row (the 1,000,000-user list went from 183 buffers to 76,547,
/// bench/RESULTS.md "Issue 22"); the membership's index answers it.
fn counting(who: &Principal, reach: Reach, filter: &UserFilter) -> SelectStatement {
    let count = Expr::cust("COUNT(*)");
    match searched(filter) {
        Some(_) => visible(who, reach, filter)
            .select_only()
            .expr(count)
            .into_query(),
        None => membership::Entity::find()
            .filter(of_membership(who, reach, filter))
            .select_only()
            .expr(count)
            .into_query(),
    }
}

pub async fn count(scope: &RequestScope, filter: &UserFilter) -> Result<u64, AppError> {
    let query = counting(scope.principal(), scope.reach(), filter);
    let row = scope
        .tx()
        .query_one(&query)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("COUNT(*) without a row")))?;
    Ok(u64::try_from(row.try_get_by_index::<i64>(0)?).unwrap_or_default())
}

/// The live user `id` if the caller can see it at `reach`; 404 otherwise, whether it exists
/// elsewhere or not: the whole row, for a change to be made to it in the scope's transaction.
pub async fn get(scope: &RequestScope, id: Uuid) -> Result<user::Model, AppError> {
    user::Model::find_by_statement(by_id(scope, id, Columns::All))
        .one(scope.tx())
        .await?
        .ok_or(AppError::NotFound("user"))
}

/// [`get`] as the directory shows the user: the directory's hottest read, in one round trip
/// when it is the scope's first statement.
pub async fn read(scope: &RequestScope, id: Uuid) -> Result<user::Profile, AppError> {
    let rows = scope.tx().rows(by_id(scope, id, Columns::Shown)).await?;
    match rows.first() {
        Some(row) => Ok(listed(row)?),
        None => Err(AppError::NotFound("user")),
    }
}

#[derive(Clone, Copy)]
enum Columns {
    All = 0,
    Shown = 1,
}

/// The statement that reads user `id` at the scope's reach. SeaORM renders its SQL once per
/// reach and column set, not on every request (building the query was ~7 % of the server's
/// CPU, bench/RESULTS.md).
fn by_id(scope: &RequestScope, id: Uuid, columns: Columns) -> Statement {
    static SQL: [[OnceLock<String>; 4]; 2] = [const { [const { OnceLock::new() }; 4] }; 2];
    let (who, reach) = (scope.principal(), scope.reach());
    let query = || {
        let all = visible(who, reach, &UserFilter::default());
        match columns {
            Columns::All => all,
            Columns::Shown => shown(all),
        }
        .filter(user::Column::Id.eq(id))
        .limit(1)
        .build(DbBackend::Postgres)
    };
    // the values in the order `visible` binds them (a debug build checks against SeaORM's)
    let (slot, values): (_, Vec<Value>) = match reach {
        Reach::Own => (0, vec![who.user_id.into(), id.into(), 1u64.into()]),
        Reach::Dealership => (1, vec![who.dealership_id.into(), id.into(), 1u64.into()]),
        Reach::Any => (2, vec![id.into(), 1u64.into()]),
        Reach::Group => (3, vec![id.into(), 1u64.into()]),
    };
    let sql = SQL[columns as usize][slot].get_or_init(|| query().sql);
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql.as_str(), values);
    debug_assert_eq!(statement, query());
    statement
}

#[cfg(test)]
mod tests {
    use sea_orm::{Iden, Iterable};

    use super::*;

    #[test]
    fn the_directory_shows_no_password_hash_and_counts_its_columns() {
        assert!(SHOWN.iter().all(|c| c.to_string() != "password_hash"));
        // every other column of the view is either shown or deliberately left out
        let left_out = ["password_hash", "token_version", "deleted_at", "added_by"];
        let all: Vec<String> = user::Column::iter().map(|c| c.to_string()).collect();
        let shown: Vec<String> = SHOWN.iter().map(|c| c.to_string()).collect();
        for column in &all {
            assert!(
                shown.contains(column) ^ left_out.contains(&column.as_str()),
                "{column}"
            );
        }
        let sql = shown_sql();
        assert!(!sql.contains("password"), "{sql}");
        assert!(
            sql.starts_with(
                "SELECT \"users\".\"id\", \"users\".\"dealership_id\", \"users\".\"group_id\""
            ),
            "{sql}"
        );
    }

    fn shown_sql() -> String {
        shown(user::Entity::find()).build(DbBackend::Postgres).sql
    }
}
