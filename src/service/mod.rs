//! What happens: business rules over a tenant transaction; no HTTP types here.

pub mod access_review;
pub mod account;
pub mod account_tokens;
pub mod audit;
pub mod audit_export;
pub mod dealer_groups;
pub mod dealerships;
pub mod dormant;
pub mod email_change;
pub mod email_verification;
pub mod invitations;
pub mod maintenance;
pub mod merged;
pub mod mfa;
pub mod oauth;
pub mod open_signup;
pub mod password_reset;
pub mod policies;
pub mod roles;
pub mod seed;
pub mod service_accounts;
pub mod sessions;
pub mod sign_in;
pub mod taken;
pub mod user_mail;
pub mod users;
pub mod webhooks;

use crate::error::{AppError, FieldError};
pub use crate::scope::RequestMeta;

/// A page of a list: `limit` 1..=100 (default 50), `offset` from 0; lists are newest first.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: u64,
    pub offset: u64,
}

impl Page {
    pub fn parse(limit: Option<i64>, offset: Option<i64>) -> Result<Self, AppError> {
        let mut errors = Vec::new();
        let limit = limit.unwrap_or(50);
        if !(1..=100).contains(&limit) {
            errors.push(FieldError::new("limit", "must be between 1 and 100"));
        }
        let offset = offset.unwrap_or(0);
        if !(0..=1_000_000).contains(&offset) {
            errors.push(FieldError::new("offset", "must be between 0 and 1000000"));
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(Self {
            limit: limit as u64,
            offset: offset as u64,
        })
    }
}
