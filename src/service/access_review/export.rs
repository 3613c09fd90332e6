//! The access review as a file: CSV (RFC 4180 quoting by the `csv` crate, every cell a
//! spreadsheet could read as a formula neutralised) and the SHA-256 a completion records.

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

use super::Entry;
use crate::error::AppError;

pub const COLUMNS: [&str; 22] = [
    "kind",
    "id",
    "email",
    "first_name",
    "last_name",
    "dealership_id",
    "dealership",
    "group_id",
    "role",
    "custom_role",
    "permissions",
    "status",
    "second_factor",
    "last_sign_in",
    "last_active_at",
    "dormant_at",
    "created_at",
    "created_by",
    "created_by_id",
    "last_role_change_at",
    "last_role_change_by",
    "last_role_change_by_id",
];

/// A cell a spreadsheet would run as a formula (OWASP CSV injection: `=`, `+`, `-`, `@`, tab,
/// carriage return) gets a leading `'`, so it shows as the text it is.
pub fn neutralise(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

fn time(at: Option<DateTime<Utc>>) -> String {
    at.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn text(value: Option<impl ToString>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn cells(e: &Entry) -> [String; 22] {
    [
        e.kind.to_owned(),
        e.id.to_string(),
        e.email.clone(),
        e.first_name.clone(),
        e.last_name.clone(),
        text(e.dealership_id),
        text(e.dealership.as_ref()),
        text(e.group_id),
        e.role.clone(),
        text(e.custom_role.as_ref()),
        e.permissions.join(" "),
        if e.is_active { "active" } else { "inactive" }.to_owned(),
        if e.second_factor { "yes" } else { "no" }.to_owned(),
        time(e.last_sign_in),
        time(Some(e.last_active_at)),
        time(e.dormant_at),
        time(Some(e.created_at)),
        text(e.created_by.as_ref()),
        text(e.created_by_id),
        time(e.role_changed_at),
        text(e.role_changed_by.as_ref()),
        text(e.role_changed_by_id),
    ]
}

/// The entries as CSV, a header row first.
pub fn csv(entries: &[Entry]) -> Result<Vec<u8>, AppError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(COLUMNS).map_err(AppError::internal)?;
    for entry in entries {
        out.write_record(cells(entry).iter().map(|c| neutralise(c)))
            .map_err(AppError::internal)?;
    }
    out.into_inner().map_err(AppError::internal)
}

/// The lowercase hex SHA-256 of an export's bytes: what `X-Export-SHA256` says and what a
/// completion records.
pub fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_plain_ones_kept() {
        for cell in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(cell), format!("'{cell}"));
        }
        for cell in ["Alice", "o'Brien", "", "1=1", " =x"] {
            assert_eq!(neutralise(cell), cell);
        }
    }

    #[test]
    fn the_hash_is_lowercase_hex_sha256() {
        assert_eq!(
            sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
