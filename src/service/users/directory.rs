//! The staff directory: listing, counting and reading users within the caller's reach.

use std::sync::OnceLock;

use sea_orm::{
    ColumnTrait, Condition, DbBackend, DbErr, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait, Select, Statement, Value,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    auth::principal::Principal, authz::Reach, domain::Role, entity::user, error::AppError,
    scope::RequestScope, service::Page,
};

#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub is_active: Option<bool>,
    /// Honoured at `any` reach only; within a dealership it is always the caller's.
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

/// Live users the caller can see at `reach`, filtered. RLS already confines a tenant
/// transaction; the explicit conditions say the same and let the planner use the index.
fn visible(who: &Principal, reach: Reach, filter: &UserFilter) -> Select<user::Entity> {
    let mut query = user::Entity::find().filter(user::Column::DeletedAt.is_null());
    query = match reach {
        Reach::Any => match filter.dealership_id {
            Some(d) => query.filter(user::Column::DealershipId.eq(d)),
            None => query,
        },
        Reach::Dealership => query.filter(user::Column::DealershipId.eq(who.dealership_id)),
        Reach::Own => query.filter(user::Column::Id.eq(who.user_id)),
    };
    if let Some(role) = filter.role {
        query = query.filter(user::Column::Role.eq(role));
    }
    if let Some(active) = filter.is_active {
        query = query.filter(user::Column::IsActive.eq(active));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
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
    let matching = visible(who, reach, filter)
        .select_only()
        .expr(Expr::cust("COUNT(*)"))
        .into_query();
    let rows = visible(who, reach, filter)
        .expr_as(Expr::SubQuery(None, Box::new(matching.into())), "total")
        .order_by_desc(user::Column::CreatedAt)
        .order_by_desc(user::Column::Id)
        .limit(page.limit)
        .offset(page.offset)
        .into_model::<Counted>()
        .all(tx)
        .await?;
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

pub async fn count(scope: &RequestScope, filter: &UserFilter) -> Result<u64, AppError> {
    let query = visible(scope.principal(), scope.reach(), filter);
    Ok(query.count(scope.tx()).await?)
}

/// The live user `id` if the caller can see it at `reach`; 404 otherwise, whether it exists
/// elsewhere or not. The directory's hottest read: SeaORM renders its SQL once per reach, not
/// on every request (building the query was ~7 % of the server's CPU, bench/RESULTS.md).
pub async fn get(scope: &RequestScope, id: Uuid) -> Result<user::Model, AppError> {
    static SQL: [OnceLock<String>; 3] = [const { OnceLock::new() }; 3];
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
    };
    let sql = SQL[slot].get_or_init(|| query().sql);
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql.as_str(), values);
    debug_assert_eq!(statement, query());
    user::Model::find_by_statement(statement)
        .one(scope.tx())
        .await?
        .ok_or(AppError::NotFound("user"))
}
