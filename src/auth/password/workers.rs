//! Where do hashes run? On a fixed set of worker threads, each reusing its own argon2 memory.
//!
//! Each worker is a thread that owns one argon2 memory block (19 MiB) and reuses it for every
//! hash while hashes keep coming, so hashing memory stays at workers × 19 MiB; a worker idle for
//! a second gives its block back. Workers run at a lower priority than request threads. (Blocks allocated anew on the blocking
//! pool stayed in each thread's allocator arena: 26 MB idle became 445–559 MB after a login
//! burst.) A job runs to completion on its worker whatever its caller does, so aborted requests
//! cannot run more hashes at once than there are workers; when `queue` jobs already wait, a new
//! one is refused at once with [`AppError::Overloaded`] (503 with `Retry-After`).

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use anyhow::{Context, anyhow};
use tokio::sync::oneshot;

use super::Memory;
use crate::{error::AppError, metrics::metrics};

/// A full default queue (64 hashes of ~20 ms) drains within about a second on two workers.
const RETRY_AFTER_SECS: u64 = 1;

/// How long an idle worker keeps its argon2 memory: a busy one reuses it for every hash, an
/// idle replica gives it back.
const KEEP_MEMORY: Duration = Duration::from_secs(1);

/// The hashing workers' nice value (0 is a request thread's; 19 the lowest priority). At 10 a
/// worker gets about a tenth of a core that requests also want, and every idle cycle.
const WORKER_NICENESS: i32 = 10;

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// The hashing workers and their queue.
pub(super) struct Pool {
    jobs: crossbeam_channel::Sender<Job>,
    /// Jobs admitted and not yet finished: at most `workers + queue`.
    admitted: Arc<AtomicUsize>,
    pub(super) workers: usize,
    pub(super) queue: usize,
}

impl Pool {
    pub(super) fn start(workers: usize, queue: usize) -> anyhow::Result<Self> {
        let workers = workers.max(1);
        let (jobs, inbox) = crossbeam_channel::unbounded::<Job>();
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
    pub(super) async fn run<T: Send + 'static>(
        &self,
        task: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let (reply, answer) = oneshot::channel();
        let mut pending = Pending {
            slot: self.admit()?,
            reply,
        };
        let job: Job = Box::new(move |memory| {
            // its caller went away while it waited: nobody will read the answer
            if pending.reply.is_closed() {
                return;
            }
            pending.slot.start();
            let result = task(memory);
            metrics().password_hashes.inc();
            let Pending { slot, reply } = pending;
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

/// An admitted job's place and its caller's answer. Fields drop in declaration order, so a
/// job that panics frees its place before its caller hears of the failure (and may retry).
struct Pending<T> {
    slot: Slot,
    reply: oneshot::Sender<T>,
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

/// A worker: takes jobs one at a time until the pool is dropped. Its memory is kept while jobs
/// keep coming and given back after [`KEEP_MEMORY`] without one.
fn work(inbox: &crossbeam_channel::Receiver<Job>) {
    yield_to_requests();
    let mut memory: Option<Memory> = None;
    loop {
        // every worker waits on the queue itself (crossbeam's receiver is shared, no lock), so
        // each one's wait ends after KEEP_MEMORY on its own
        let next = inbox.recv_timeout(KEEP_MEMORY);
        let job = match next {
            Ok(job) => job,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                memory = None;
                continue;
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
        };
        let held = memory.get_or_insert_with(Memory::default);
        if catch_unwind(AssertUnwindSafe(|| job(held))).is_err() {
            tracing::error!("a password hashing job panicked; the worker goes on");
            memory = None;
        }
    }
}

/// Lowers this worker thread's priority to [`WORKER_NICENESS`] (Linux keeps a nice value per
/// thread), so a flood of sign-ins takes the CPU only when requests leave it idle: a hash
/// waits a little longer, every other request does not. Failure leaves it as it was.
fn yield_to_requests() {
    let me = rustix::thread::gettid();
    if let Err(err) = rustix::process::setpriority_process(Some(me), WORKER_NICENESS) {
        tracing::warn!(%err, "cannot lower the hashing worker's priority");
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use std::sync::mpsc;

    use super::*;
    use crate::auth::password::hash_into;

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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_idle_worker_gives_its_memory_back() {
        let pool = Arc::new(Pool::start(2, 4).unwrap());
        // two slow hashes at once: both workers hold a block
        let hashes: Vec<_> = (0..2)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    pool.run(|memory: &mut Memory| {
                        hash_into(memory, b"pw").unwrap();
                        std::thread::sleep(Duration::from_millis(200));
                        memory.0.len()
                    })
                    .await
                })
            })
            .collect();
        for hash in hashes {
            assert!(hash.await.unwrap().unwrap() > 0);
        }
        std::thread::sleep(KEEP_MEMORY * 3);
        for _ in 0..6 {
            let len = pool.run(|memory| memory.0.len()).await.unwrap();
            assert_eq!(len, 0, "every worker starts fresh after idling");
        }
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
