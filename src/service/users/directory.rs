//! The staff directory: listing, counting and reading users within the caller's reach.

use std::sync::OnceLock;

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait, Select, Statement, Value,
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
    tenancy::in_scope_dealerships,
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
/// uncorrelated subquery that PostgreSQL computes once, so a page costs one round trip. Only a
/// page past the end (no row to carry the total) counts again.
pub async fn list(
    scope: &RequestScope,
    filter: &UserFilter,
    page: Page,
) -> Result<(Vec<user::Model>, u64), AppError> {
    let (who, reach, tx) = (scope.principal(), scope.reach(), scope.tx());
    let matching = counting(who, reach, filter);
    let rows = if reach == Reach::Group {
        // each dealership's own scan: the set's condition repeated in it would be estimated
        // as independent of `dealership_id = rooftop.id` (100× too few rows: a bitmap scan of
        // every membership and a sort, bench/RESULTS.md "Issue 23"); RLS says it anyway
        let newest_first = visible(who, Reach::Any, filter)
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
        let statement = DbBackend::Postgres.build(&merged);
        Counted::find_by_statement(statement).all(tx).await?
    } else {
        visible(who, reach, filter)
            .expr_as(Expr::SubQuery(None, Box::new(matching.into())), "total")
            .order_by_desc(user::Column::CreatedAt)
            .order_by_desc(user::Column::Id)
            .limit(page.limit)
            .offset(page.offset)
            .into_model::<Counted>()
            .all(tx)
            .await?
    };
    let total = match rows.first() {
        Some(first) => u64::try_from(first.total).unwrap_or_default(),
        None if page.offset == 0 => 0,
        None => count(scope, filter).await?,
    };
    Ok((rows.into_iter().map(|row| row.user).collect(), total))
}

/// A listed user and the total the page belongs to.
struct Counted {
    user: user::Model,
    total: i64,
}

impl FromQueryResult for Counted {
    fn from_query_result(row: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        Ok(Self {
            user: user::Model::from_query_result(row, pre)?,
            total: row.try_get(pre, "total")?,
        })
    }
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
/// elsewhere or not. The directory's hottest read: SeaORM renders its SQL once per reach, not
/// on every request (building the query was ~7 % of the server's CPU, bench/RESULTS.md).
pub async fn get(scope: &RequestScope, id: Uuid) -> Result<user::Model, AppError> {
    static SQL: [OnceLock<String>; 4] = [const { OnceLock::new() }; 4];
    let (who, reach) = (scope.principal(), scope.reach());
    let query = || {
        visible(who, reach, &UserFilter::default())
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
    let sql = SQL[slot].get_or_init(|| query().sql);
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql.as_str(), values);
    debug_assert_eq!(statement, query());
    user::Model::find_by_statement(statement)
        .one(scope.tx())
        .await?
        .ok_or(AppError::NotFound("user"))
}
