//! argon2id with the OWASP parameters, computed on the blocking pool behind a semaphore sized to
//! the cores, so a storm of logins cannot starve the async workers.

use std::sync::OnceLock;

use anyhow::Context;
use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};
use tokio::sync::Semaphore;

use crate::error::AppError;

/// OWASP: m = 19 MiB, t = 2, p = 1 (~20 ms per hash on this class of machine).
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

fn argon2() -> Argon2<'static> {
    // the constants above are valid parameters; Params::new only rejects out-of-range values
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS
        .get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
}

/// Runs `work` on the blocking pool once a hashing permit is free.
async fn on_blocking_pool<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let _permit = permits()
        .acquire()
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("hashing semaphore closed: {e}")))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(AppError::internal)
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) for `password`.
pub async fn hash(password: String) -> Result<String, AppError> {
    on_blocking_pool(move || {
        argon2()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .context("hashing a password")
    })
    .await?
    .map_err(AppError::internal)
}

/// Whether `password` matches `phc`. A malformed stored hash counts as no match.
pub async fn verify(password: String, phc: String) -> Result<bool, AppError> {
    on_blocking_pool(move || {
        PasswordHash::new(&phc).is_ok_and(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_salted_argon2id_and_verify() {
        let a = hash("correct horse".into()).await.unwrap();
        let b = hash("correct horse".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify("correct horse".into(), a.clone()).await.unwrap());
        assert!(!verify("wrong horse".into(), a).await.unwrap());
        assert!(!verify("x".into(), "not a phc string".into()).await.unwrap());
    }
}
