//! argon2id with the OWASP parameters, computed by a fixed set of hashing workers.
//!
//! Each worker is a thread that owns one argon2 memory block (19 MiB) and reuses it for every
//! hash, so hashing memory stays at workers × 19 MiB. (Blocks allocated anew on the blocking
//! pool stayed in each thread's allocator arena: 26 MB idle became 445–559 MB after a login
//! burst.) A job runs to completion on its worker whatever its caller does, so aborted requests
//! cannot run more hashes at once than there are workers; when `queue` jobs already wait, a new
//! one is refused at once with [`AppError::Overloaded`] (503 with `Retry-After`).

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Arc, Mutex, OnceLock, PoisonError,
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
};

use anyhow::{Context, anyhow};
use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::{
        phc::{Output, ParamsString, PasswordHash, Salt},
        try_generate_salt,
    },
};
use tokio::sync::oneshot;

use crate::{config::HashingSettings, error::AppError, metrics::metrics};

/// OWASP: m = 19 MiB, t = 2, p = 1 (~20 ms per hash on this class of machine).
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;
/// The argon2 crate's default output length, so hashes look as they always did.
const OUTPUT_LEN: usize = 32;
/// A full default queue (64 hashes of ~20 ms) drains within about a second on two workers.
const RETRY_AFTER_SECS: u64 = 1;

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
        if needed > ours {
            // a stored hash made with more memory than ours: a one-off block for it
            let mut once = vec![Block::new(); needed];
            return argon2.hash_password_into_with_memory(password, salt, out, &mut once[..]);
        }
        if self.0.len() < ours {
            self.0 = vec![Block::new(); ours];
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut self.0[..needed])
    }
}

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// The hashing workers and their queue.
struct Pool {
    jobs: mpsc::Sender<Job>,
    /// Jobs admitted and not yet finished: at most `workers + queue`.
    admitted: Arc<AtomicUsize>,
    workers: usize,
    queue: usize,
}

impl Pool {
    fn start(workers: usize, queue: usize) -> anyhow::Result<Self> {
        let workers = workers.max(1);
        let (jobs, inbox) = mpsc::channel::<Job>();
        let inbox = Arc::new(Mutex::new(inbox));
        for n in 0..workers {
            let inbox = inbox.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || work(&inbox))
                .context("starting a hashing worker")?;
        }
        Ok(Self {
            jobs,
            admitted: Arc::new(AtomicUsize::new(0)),
            workers,
            queue,
        })
    }

    /// Runs `task` on a worker, or refuses at once when every worker is busy and the queue full.
    async fn run<T: Send + 'static>(
        &self,
        task: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let mut slot = self.admit()?;
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            // its caller went away while it waited: nobody will read the answer
            if reply.is_closed() {
                return;
            }
            slot.start();
            let result = task(memory);
            // free the place before answering, so the caller's next job finds it free
            drop(slot);
            let _ = reply.send(result);
        });
        self.jobs
            .send(job)
            .map_err(|_| AppError::internal(anyhow!("the hashing workers are gone")))?;
        answer
            .await
            .map_err(|_| AppError::internal(anyhow!("a hashing job failed")))
    }

    fn admit(&self) -> Result<Slot, AppError> {
        let capacity = self.workers + self.queue;
        self.admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < capacity).then_some(n + 1)
            })
            .map_err(|_| AppError::Overloaded {
                retry_after_secs: RETRY_AFTER_SECS,
            })?;
        metrics().password_hashes_queued.inc();
        Ok(Slot {
            admitted: self.admitted.clone(),
            running: false,
        })
    }
}

/// One admitted job's place: counted as queued, then in flight, until it is dropped (finished,
/// skipped, or unwound by a panic).
struct Slot {
    admitted: Arc<AtomicUsize>,
    running: bool,
}

impl Slot {
    fn start(&mut self) {
        let m = metrics();
        m.password_hashes_queued.dec();
        m.password_hashes_in_flight.inc();
        self.running = true;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let m = metrics();
        if self.running {
            m.password_hashes_in_flight.dec();
        } else {
            m.password_hashes_queued.dec();
        }
        self.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A worker: takes jobs one at a time until the pool is dropped.
fn work(inbox: &Mutex<mpsc::Receiver<Job>>) {
    let mut memory = Memory::default();
    loop {
        // the guard is a temporary: the lock is held only while waiting for the next job
        let next = inbox.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = next else {
            return;
        };
        if catch_unwind(AssertUnwindSafe(|| job(&mut memory))).is_err() {
            tracing::error!("a password hashing job panicked; the worker goes on");
            memory = Memory::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use argon2::{PasswordHasher, PasswordVerifier};

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

    #[tokio::test]
    async fn a_worker_hashes_into_the_same_memory_every_time() {
        let pool = Pool::start(1, 4).unwrap();
        let block = |memory: &mut Memory| {
            hash_into(memory, b"pw").unwrap();
            memory.0.as_ptr() as usize
        };
        let first = pool.run(block).await.unwrap();
        let second = pool.run(block).await.unwrap();
        assert_eq!(first, second);
    }

    /// A job that reports when it starts and then waits to be released.
    fn held(started: oneshot::Sender<()>, release: mpsc::Receiver<()>) -> impl FnOnce(&mut Memory) {
        move |_| {
            let _ = started.send(());
            let _ = release.recv_timeout(Duration::from_secs(10));
        }
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once() {
        let pool = Arc::new(Pool::start(1, 1).unwrap());
        let (started, has_started) = oneshot::channel();
        let (release, released) = mpsc::channel();
        let running = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(held(started, released)).await }
        });
        tokio::time::timeout(Duration::from_secs(10), has_started)
            .await
            .unwrap()
            .unwrap();
        let waiting = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(|_| 7).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let refused = pool.run(|_| 8).await;
        assert!(
            matches!(
                refused,
                Err(AppError::Overloaded {
                    retry_after_secs: 1
                })
            ),
            "{refused:?}"
        );
        release.send(()).unwrap();
        running.await.unwrap().unwrap();
        assert_eq!(waiting.await.unwrap().unwrap(), 7);
        assert_eq!(pool.run(|_| 9).await.unwrap(), 9, "room again once drained");
    }

    #[tokio::test]
    async fn a_job_whose_caller_went_away_still_holds_its_worker_until_it_ends() {
        let pool = Arc::new(Pool::start(1, 4).unwrap());
        let (started, has_started) = oneshot::channel();
        let (release, released) = mpsc::channel();
        let abandoned = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(held(started, released)).await }
        });
        tokio::time::timeout(Duration::from_secs(10), has_started)
            .await
            .unwrap()
            .unwrap();
        abandoned.abort();
        let _ = abandoned.await;

        let next = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(|_| "ran").await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !next.is_finished(),
            "the abandoned job still has the worker"
        );
        release.send(()).unwrap();
        assert_eq!(next.await.unwrap().unwrap(), "ran");
    }

    #[tokio::test]
    async fn a_queued_job_whose_caller_went_away_is_skipped() {
        let pool = Arc::new(Pool::start(1, 4).unwrap());
        let (started, has_started) = oneshot::channel();
        let (release, released) = mpsc::channel();
        let running = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(held(started, released)).await }
        });
        tokio::time::timeout(Duration::from_secs(10), has_started)
            .await
            .unwrap()
            .unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let gone = tokio::spawn({
            let (pool, ran) = (pool.clone(), ran.clone());
            async move { pool.run(move |_| ran.fetch_add(1, Ordering::SeqCst)).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        gone.abort();
        let _ = gone.await;
        release.send(()).unwrap();
        running.await.unwrap().unwrap();
        assert_eq!(pool.run(|_| 1).await.unwrap(), 1);
        assert_eq!(ran.load(Ordering::SeqCst), 0, "nobody wanted its answer");
        assert_eq!(pool.admitted.load(Ordering::SeqCst), 0, "every place freed");
    }

    #[tokio::test]
    async fn a_panicking_job_frees_its_place_and_the_worker_goes_on() {
        let pool = Pool::start(1, 0).unwrap();
        let failed = pool.run(|_| -> u8 { panic!("boom") }).await;
        assert!(matches!(failed, Err(AppError::Internal(_))), "{failed:?}");
        assert_eq!(pool.run(|_| 2).await.unwrap(), 2);
    }
}
