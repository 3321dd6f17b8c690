//! What fulfillment keeps in Redis: the per-Order lock ([`lock`]) and the per-Order journal
//! ([`journal`]). Both live under the `fulfillment:` prefix documented for operators.

pub mod journal;
pub mod lock;

use std::time::Duration;

pub use journal::{
    JournalFormatError, JournalUpdate, Journals, OrderJournal, PendingWrite, RecordedError,
    RecordedStep, RunState, WhmcsProgress,
};
pub use lock::{LockGrant, LockRenewal, OrderLocks, lock_key};

/// Now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

/// How long a journal is kept after its Order reached a terminal state (30 days).
pub const JOURNAL_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// The Redis key of an Order's journal.
pub fn journal_key(order_id: &str) -> String {
    format!("fulfillment:order:{order_id}")
}

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Redis did not answer, or refused the command.
    #[error("Redis is unavailable: {0}")]
    Redis(#[from] redis::RedisError),
    /// The run no longer holds the Order's lock; another run has taken over.
    #[error("the Order's lock is held by another run; this run's write was refused")]
    Fenced,
    /// A journal could not be read back.
    #[error(transparent)]
    Format(#[from] JournalFormatError),
}
