//! One active subscriber per channel across replicas: the leader lease.
//!
//! The lease is `sf:pe:leader:<channel>` holding `instance:epoch` with a time to live. Each new
//! holder draws a larger epoch from the channel's meta hash. The cursor write checks the lease
//! in the same script ([`crate::cursor`]), so a replica that lost the lease (paused, partitioned)
//! cannot move the cursor even if it still believes it leads.

use std::time::Duration;

use redis::{Script, aio::ConnectionManager};

use crate::keys::ChannelKeys;

/// Takes the lease when free (drawing a new epoch), or extends it when it is already ours.
pub const LEASE_ACQUIRE_SCRIPT: &str = r"
local current = redis.call('GET', KEYS[1])
if current == false then
  local epoch = redis.call('HINCRBY', KEYS[2], 'lease_epoch', 1)
  redis.call('SET', KEYS[1], ARGV[1] .. ':' .. epoch, 'PX', ARGV[2])
  return epoch
end
local prefix = ARGV[1] .. ':'
if string.sub(current, 1, string.len(prefix)) == prefix then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(string.sub(current, string.len(prefix) + 1))
end
return 0
";

/// Extends the lease only while it is ours with this epoch.
pub const LEASE_RENEW_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

/// Deletes the lease only while it is ours with this epoch.
pub const LEASE_RELEASE_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// A held lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// This replica's instance name.
    pub instance: String,
    /// The fencing epoch drawn when the lease was taken.
    pub epoch: u64,
}

impl Lease {
    /// The value stored under the lease key.
    pub fn value(&self) -> String {
        format!("{}:{}", self.instance, self.epoch)
    }
}

/// Takes, renews and releases the channel's lease.
#[derive(Clone)]
pub struct LeaderLease {
    redis: ConnectionManager,
    keys: ChannelKeys,
    instance: String,
    ttl: Duration,
}

impl LeaderLease {
    /// The lease of `keys`' channel for this `instance`, living `ttl` unless renewed.
    pub fn new(
        redis: ConnectionManager,
        keys: ChannelKeys,
        instance: String,
        ttl: Duration,
    ) -> Self {
        Self {
            redis,
            keys,
            instance,
            ttl,
        }
    }

    /// The time to live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The lease, when it is free or already ours; `None` when another replica holds it.
    pub async fn try_acquire(&self) -> redis::RedisResult<Option<Lease>> {
        let mut redis = self.redis.clone();
        let epoch: u64 = Script::new(LEASE_ACQUIRE_SCRIPT)
            .key(&self.keys.leader)
            .key(&self.keys.meta)
            .arg(&self.instance)
            .arg(millis(self.ttl))
            .invoke_async(&mut redis)
            .await?;
        Ok((epoch > 0).then(|| Lease {
            instance: self.instance.clone(),
            epoch,
        }))
    }

    /// Extends `lease`; `false` when it is no longer ours.
    pub async fn renew(&self, lease: &Lease) -> redis::RedisResult<bool> {
        let mut redis = self.redis.clone();
        let renewed: i64 = Script::new(LEASE_RENEW_SCRIPT)
            .key(&self.keys.leader)
            .arg(lease.value())
            .arg(millis(self.ttl))
            .invoke_async(&mut redis)
            .await?;
        Ok(renewed == 1)
    }

    /// Gives the lease up, so a standby takes over without waiting for the TTL; `false` when
    /// it was no longer ours.
    pub async fn release(&self, lease: &Lease) -> redis::RedisResult<bool> {
        let mut redis = self.redis.clone();
        let released: i64 = Script::new(LEASE_RELEASE_SCRIPT)
            .key(&self.keys.leader)
            .arg(lease.value())
            .invoke_async(&mut redis)
            .await?;
        Ok(released == 1)
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}
