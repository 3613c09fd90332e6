//! How is a password hashed and checked? argon2id with the OWASP parameters, computed by a
//! fixed set of hashing workers (`workers`).

mod workers;

use std::sync::{Mutex, OnceLock, PoisonError};

use anyhow::{Context, anyhow};
use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::{
        phc::{Output, ParamsString, PasswordHash, Salt},
        try_generate_salt,
    },
};

use self::workers::Pool;
use crate::{config::HashingSettings, error::AppError, metrics::metrics};

/// OWASP: m = 19 MiB, t = 2, p = 1 (~20 ms per hash on this class of machine).
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;
/// The argon2 crate's default output length, so hashes look as they always did.
const OUTPUT_LEN: usize = 32;

fn params() -> Params {
    // the constants above are valid parameters; Params::new only rejects out-of-range values
    Params::new(MEMORY_KIB, ITERATIONS, LANES, None).expect("valid argon2 parameters")
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) for `password`.
pub async fn hash(password: String) -> Result<String, AppError> {
    pool()?
        .run(move |memory| hash_into(memory, password.as_bytes()))
        .await?
        .map_err(AppError::internal)
}

/// Whether `password` matches `phc`. A malformed stored hash counts as no match.
pub async fn verify(password: String, phc: String) -> Result<bool, AppError> {
    pool()?
        .run(move |memory| verify_into(memory, password.as_bytes(), &phc))
        .await
}

/// Starts this process's hashing workers (once: a later call with other settings keeps the
/// running workers and says so). Hashing before any call starts them with the defaults.
pub fn configure(settings: &HashingSettings) -> anyhow::Result<()> {
    let pool = start(settings)?;
    let wanted = (settings.worker_count(), settings.queue);
    if (pool.workers, pool.queue) != wanted {
        tracing::warn!(
            running_workers = pool.workers,
            running_queue = pool.queue,
            wanted_workers = wanted.0,
            wanted_queue = wanted.1,
            "the hashing workers of this process were started already; keeping them"
        );
    }
    Ok(())
}

fn pool() -> Result<&'static Pool, AppError> {
    start(&HashingSettings::default()).map_err(AppError::internal)
}

fn start(settings: &HashingSettings) -> anyhow::Result<&'static Pool> {
    static POOL: OnceLock<Pool> = OnceLock::new();
    static STARTING: Mutex<()> = Mutex::new(());
    if let Some(pool) = POOL.get() {
        return Ok(pool);
    }
    let _starting = STARTING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(pool) = POOL.get() {
        return Ok(pool);
    }
    let pool = Pool::start(settings.worker_count(), settings.queue)?;
    Ok(POOL.get_or_init(|| pool))
}

fn hash_into(memory: &mut Memory, password: &[u8]) -> anyhow::Result<String> {
    let salt = try_generate_salt().map_err(|e| anyhow!("generating a salt: {e}"))?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
    let mut out = [0u8; OUTPUT_LEN];
    memory
        .hash(&argon2, password, &salt, &mut out)
        .map_err(|e| anyhow!("{e}"))
        .context("hashing a password")?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params()).map_err(|e| anyhow!("{e}"))?,
        salt: Some(Salt::new(&salt).map_err(|e| anyhow!("{e}"))?),
        hash: Some(Output::new(&out).map_err(|e| anyhow!("{e}"))?),
    };
    Ok(phc.to_string())
}

/// A PHC string with our parameters, a random salt and a random output: verifying any password
/// against it costs a full hash and never matches, which is what an unknown email must cost.
/// Made without hashing, so a replica does no argon2 work (and holds no argon2 memory) before
/// its first sign-in.
pub fn dummy_hash() -> anyhow::Result<String> {
    let salt: [u8; 16] = rand::random();
    let output: [u8; OUTPUT_LEN] = rand::random();
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params()).map_err(|e| anyhow!("{e}"))?,
        salt: Some(Salt::new(&salt).map_err(|e| anyhow!("{e}"))?),
        hash: Some(Output::new(&output).map_err(|e| anyhow!("{e}"))?),
    };
    Ok(phc.to_string())
}

/// Recomputes the hash with the stored algorithm, version, parameters and salt, and compares
/// in constant time (`phc::Output`'s equality).
fn verify_into(memory: &mut Memory, password: &[u8], phc: &str) -> bool {
    let Ok(stored) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(stored.algorithm.as_str()),
        stored
            .version
            .map_or(Ok(Version::default()), Version::try_from),
        Params::try_from(&stored),
    ) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = [0u8; Output::MAX_LENGTH];
    let Some(out) = out.get_mut(..expected.len()) else {
        return false;
    };
    memory.hash(&argon2, password, salt, out).is_ok()
        && Output::new(out).is_ok_and(|computed| computed == *expected)
}

/// A worker's argon2 memory, allocated on its first hash and reused for every later one.
/// (argon2 writes every block before reading it, so what the last hash left does not matter.)
#[derive(Default)]
struct Memory(Vec<Block>);

impl Memory {
    fn hash(
        &mut self,
        argon2: &Argon2,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> argon2::Result<()> {
        let needed = argon2.params().block_count();
        let ours = params().block_count();
        let result = if needed > ours {
            // a stored hash made with more memory than ours: a one-off block for it
            let mut once = vec![Block::new(); needed];
            argon2.hash_password_into_with_memory(password, salt, out, &mut once[..])
        } else {
            if self.0.len() < ours {
                self.0 = vec![Block::new(); ours];
            }
            argon2.hash_password_into_with_memory(password, salt, out, &mut self.0[..needed])
        };
        // every argon2 run, wherever it runs: what a flood of sign-ins really cost
        metrics().password_hashes.inc();
        result
    }
}

#[cfg(test)]
mod tests {
    use argon2::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[tokio::test]
    async fn the_dummy_hash_has_our_parameters_and_matches_nothing() {
        let dummy = dummy_hash().unwrap();
        let real = hash("anything".into()).await.unwrap();
        let params = |phc: &str| phc.rsplitn(3, '$').nth(2).unwrap().to_owned();
        assert_eq!(
            params(&dummy),
            params(&real),
            "same algorithm, version and cost"
        );
        assert_ne!(
            dummy,
            dummy_hash().unwrap(),
            "a random salt and output every time"
        );
        assert!(!verify("anything".into(), dummy).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_are_salted_argon2id_and_verify() {
        let a = hash("correct horse".into()).await.unwrap();
        let b = hash("correct horse".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify("correct horse".into(), a.clone()).await.unwrap());
        assert!(!verify("wrong horse".into(), a).await.unwrap());
        assert!(!verify("x".into(), "not a phc string".into()).await.unwrap());
        assert!(
            !verify("x".into(), "$argon2id$v=19$m=19456,t=2,p=1".into())
                .await
                .unwrap(),
            "no salt, no hash: no match"
        );
    }

    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crate_both_ways() {
        let crate_made = Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
            .hash_password(b"stored before the workers")
            .unwrap()
            .to_string();
        assert!(
            verify("stored before the workers".into(), crate_made)
                .await
                .unwrap(),
            "hashes stored by the old code still verify"
        );
        let ours = hash("made by a worker".into()).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"made by a worker", &parsed)
                .is_ok()
        );
        assert_eq!(ours.len(), crate_made_len(), "same shape as before");
    }

    fn crate_made_len() -> usize {
        Argon2::default()
            .hash_password(b"x")
            .unwrap()
            .to_string()
            .len()
    }

    #[tokio::test]
    async fn other_stored_parameters_verify_too() {
        // a smaller and a larger memory cost than ours, and argon2i
        for (algorithm, m) in [
            (Algorithm::Argon2id, 4096),
            (Algorithm::Argon2id, 24 * 1024),
            (Algorithm::Argon2i, MEMORY_KIB),
        ] {
            let params = Params::new(m, 1, 1, None).unwrap();
            let stored = Argon2::new(algorithm, Version::V0x13, params)
                .hash_password(b"pw")
                .unwrap()
                .to_string();
            assert!(
                verify("pw".into(), stored.clone()).await.unwrap(),
                "{stored}"
            );
            assert!(
                !verify("px".into(), stored.clone()).await.unwrap(),
                "{stored}"
            );
        }
    }
}
