//! A row of a tenant read, from whichever pool ran it, read by column index: the statement
//! names its columns in order, so nothing looks a name up per value.

use sea_orm::{DbErr, QueryResult, TryGetable};
use tokio_postgres::types::FromSql;

/// One row: from a read in one round trip, or from a transaction of the main pool.
pub enum Row {
    Pipelined(tokio_postgres::Row),
    Pooled(QueryResult),
}

/// A column type both drivers decode (uuids, text, integers, booleans, times, their options).
pub trait Column: TryGetable + for<'a> FromSql<'a> {}

impl<T> Column for T where T: TryGetable + for<'a> FromSql<'a> {}

impl Row {
    /// Column `index` (from 0) as a `T`.
    pub fn get<T: Column>(&self, index: usize) -> Result<T, DbErr> {
        match self {
            Row::Pipelined(row) => row
                .try_get(index)
                .map_err(|err| DbErr::Type(format!("column {index}: {err}"))),
            Row::Pooled(row) => row.try_get_by_index(index),
        }
    }
}
