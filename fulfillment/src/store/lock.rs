//! The per-Order lock: one run at a time for each Salesforce Order, across processes.
//!
//! The lock is the key `fulfillment:lock:<orderId>` holding `owner:fencing`, with a time to live
//! so that a crashed holder cannot block the Order for ever. Each acquisition draws a new
//! fencing number from the Order's journal (field `fence`), and every journal write checks both
//! the lock value and that number ([`super::journal`]): a holder that was paused past its TTL
//! and resumed after another run took over can no longer change anything.
//!
//! While a run lives, [`LockRenewal`] extends the TTL every third of it; when an extension finds
//! the lock gone or taken, the run is told through [`LockRenewal::is_lost`].

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use redis::{Script, aio::ConnectionManager};
use tokio_util::sync::CancellationToken;

use super::{JOURNAL_RETENTION, StoreError, journal_key};

/// Takes the lock when it is free and draws the next fencing number.
/// A journal that holds nothing but the fencing number (a run that was refused or found the
/// Order already activated) expires like a finished one.
pub const LOCK_ACQUIRE_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local fence = redis.call('HINCRBY', KEYS[2], 'fence', 1)
if redis.call('HEXISTS', KEYS[2], 'state') == 0 then
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. fence, 'PX', ARGV[2])
return fence
";

/// Extends the lock only while it is still ours.
pub const LOCK_RENEW_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

/// Deletes the lock only while it is still ours.
pub const LOCK_RELEASE_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// The Redis key of an Order's lock.
pub fn lock_key(order_id: &str) -> String {
    format!("fulfillment:lock:{order_id}")
}

/// A held lock: who holds it and with which fencing number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockGrant {
    /// The Order the lock is for (18 characters).
    pub order_id: String,
    /// The random owner token of this run.
    pub owner: String,
    /// The fencing number drawn for this run; journal writes carry it.
    pub fence: u64,
}

impl LockGrant {
    /// The value stored under the lock key: `owner:fencing`.
    pub fn value(&self) -> String {
        format!("{}:{}", self.owner, self.fence)
    }
}

/// Takes, renews and releases Order locks.
#[derive(Clone)]
pub struct OrderLocks {
    redis: ConnectionManager,
    ttl: Duration,
}

impl OrderLocks {
    /// Locks in `redis` that live `ttl` unless renewed.
    pub fn new(redis: ConnectionManager, ttl: Duration) -> Self {
        Self { redis, ttl }
    }

    /// The time to live of a lock.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Takes the lock of `order_id`, or `None` when another run holds it.
    pub async fn acquire(&self, order_id: &str) -> Result<Option<LockGrant>, StoreError> {
        let owner = uuid::Uuid::new_v4().simple().to_string();
        let mut redis = self.redis.clone();
        let fence: u64 = Script::new(LOCK_ACQUIRE_SCRIPT)
            .key(lock_key(order_id))
            .key(journal_key(order_id))
            .arg(&owner)
            .arg(ttl_millis(self.ttl))
            .arg(JOURNAL_RETENTION.as_secs())
            .invoke_async(&mut redis)
            .await?;
        Ok((fence > 0).then(|| LockGrant {
            order_id: order_id.to_owned(),
            owner,
            fence,
        }))
    }

    /// Whether `grant` still holds the lock, asked of Redis (not of the renewal's last result).
    pub async fn still_holds(&self, grant: &LockGrant) -> Result<bool, StoreError> {
        let mut redis = self.redis.clone();
        let value: Option<String> =
            redis::AsyncCommands::get(&mut redis, lock_key(&grant.order_id)).await?;
        Ok(value.as_deref() == Some(grant.value().as_str()))
    }

    /// Extends the lock; `false` when it is no longer ours.
    pub async fn renew(&self, grant: &LockGrant) -> Result<bool, StoreError> {
        let mut redis = self.redis.clone();
        let renewed: i64 = Script::new(LOCK_RENEW_SCRIPT)
            .key(lock_key(&grant.order_id))
            .arg(grant.value())
            .arg(ttl_millis(self.ttl))
            .invoke_async(&mut redis)
            .await?;
        Ok(renewed == 1)
    }

    /// Releases the lock if it is still ours.
    pub async fn release(&self, grant: &LockGrant) -> Result<(), StoreError> {
        let mut redis = self.redis.clone();
        let _: i64 = Script::new(LOCK_RELEASE_SCRIPT)
            .key(lock_key(&grant.order_id))
            .arg(grant.value())
            .invoke_async(&mut redis)
            .await?;
        Ok(())
    }

    /// Starts renewing `grant` every third of the TTL until the returned handle is stopped.
    pub fn keep_renewed(&self, grant: &LockGrant) -> LockRenewal {
        let lost = Arc::new(AtomicBool::new(false));
        let stop = CancellationToken::new();
        let locks = self.clone();
        let grant = grant.clone();
        let flag = lost.clone();
        let stopped = stop.clone();
        tokio::spawn(async move {
            let period = locks.ttl / 3;
            loop {
                tokio::select! {
                    () = stopped.cancelled() => return,
                    () = tokio::time::sleep(period) => {}
                }
                match locks.renew(&grant).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(order_id = %grant.order_id, "Lost the Order's lock; this run stops at its next step");
                        flag.store(true, Ordering::SeqCst);
                        return;
                    }
                    // A failed renewal is retried at the next period; the TTL leaves room for
                    // two misses. Journal writes are fenced, so nothing unsafe happens meanwhile.
                    Err(err) => {
                        tracing::warn!(order_id = %grant.order_id, error = %err, "Could not renew the Order's lock")
                    }
                }
            }
        });
        LockRenewal { lost, stop }
    }
}

/// Renews a lock in the background while a run lives.
#[derive(Debug)]
pub struct LockRenewal {
    lost: Arc<AtomicBool>,
    stop: CancellationToken,
}

impl LockRenewal {
    /// Whether a renewal found the lock gone or held by another run.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Stops renewing. Dropping the handle does the same.
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for LockRenewal {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}
