//! Logs: readable text in `dev`, JSON lines in `prod`, on standard error.
//!
//! Lines are handed to a thread of their own (tracing-appender's non-blocking writer), so a
//! request never waits on the `write(2)`; the queue blocks rather than drops when full. JSON
//! comes from json-subscriber, which keeps a span's fields serialised and re-serialises them
//! only when one is recorded, where tracing-subscriber's JSON format parsed and re-serialised
//! the request span on every `record` and again for the access line (bench/RESULTS.md,
//! "Profile"). The line is the same either way.

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::{EnvFilter, fmt};

use crate::config::{LogFormat, Settings};

/// Statement logging stays off: SQL text can carry values.
const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn,sea_orm_migration=info";

/// Installs the subscriber; the guard flushes what is queued when dropped (keep it until the
/// process ends). `None` if a subscriber was installed already (tests keep the first).
pub fn init(settings: &Settings) -> Option<WorkerGuard> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(settings.log.level.as_deref().unwrap_or(DEFAULT_FILTER)))
        .unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // the queue's slots are allocated up front (32 bytes each): the default 128,000 lines
    // kept 4 MB resident from the start; 8,192 lines is seconds of a busy replica's log
    let (writer, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(8_192)
        .lossy(false)
        .thread_name("dealergate-log")
        .finish(std::io::stderr());
    let installed = match settings.log.format_for(settings.profile) {
        LogFormat::Json => json_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(writer)
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => fmt().with_env_filter(filter).with_writer(writer).try_init(),
    };
    installed.is_ok().then_some(guard)
}
