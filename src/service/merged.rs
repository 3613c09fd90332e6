//! Group-wide lists in their index's order. `dealership_id = ANY (the group's set)` alone
//! loses the order of an index that leads with the dealership: PostgreSQL reads every row of
//! the group and sorts them (design.md, "People, memberships and dealer groups": 22 ms for a
//! page of 50 from 10,000 rows, against 0.13 ms with one dealership). A group has few
//! dealerships, so each one gives its newest `offset + limit` rows by one ordered index scan,
//! and those are merged: a page reads at most (dealerships × (offset + limit)) index entries.

use sea_orm::sea_query::{
    Alias, Asterisk, Condition, Expr, JoinType, Order, Query, SelectStatement, SubQueryStatement,
};

use super::Page;
use crate::{entity::dealership, tenancy::in_scope_dealerships};

/// A page of `newest_first` (a filtered query, newest first by `order`, its table naming its
/// dealership in `dealership_column`) over every dealership of the transaction's group; with
/// `total` (a `COUNT(*)` of the same matches), that count as the column `total` of every row.
pub fn per_dealership(
    mut newest_first: SelectStatement,
    dealership_column: &str,
    order: [&str; 2],
    page: Page,
    total: Option<SelectStatement>,
) -> SelectStatement {
    let (rooftop, newest) = (Alias::new("rooftop"), Alias::new("newest"));
    newest_first
        .and_where(Expr::cust(format!("{dealership_column} = rooftop.id")))
        .limit(page.offset + page.limit);
    let mut merged = Query::select();
    merged.column((newest.clone(), Asterisk));
    if let Some(total) = total {
        merged.expr_as(
            Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(total))),
            Alias::new("total"),
        );
    }
    merged
        .from_as(dealership::Entity, rooftop)
        .join_lateral(
            JoinType::InnerJoin,
            newest_first,
            newest.clone(),
            Condition::all().add(Expr::cust("true")),
        )
        .and_where(in_scope_dealerships("rooftop.id"));
    for column in order {
        merged.order_by((newest.clone(), Alias::new(column)), Order::Desc);
    }
    merged.limit(page.limit).offset(page.offset).to_owned()
}
