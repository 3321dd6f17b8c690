//! The replay cursor in Redis: `sf:pe:replay:<channel>` holds the raw replay id bytes exactly
//! as Salesforce sent them, and `…:meta` when and under which lease epoch they were written.
//!
//! The write is one script that first checks the caller still holds the lease, so a deposed
//! leader cannot move the cursor. Writes are coalesced by the caller: one per batch of finished
//! events, not one per event.

use std::time::{SystemTime, UNIX_EPOCH};

use redis::{AsyncCommands, Script, aio::ConnectionManager};

use crate::{keys::ChannelKeys, lease::Lease};

/// Writes the cursor only while the lease is the caller's.
pub const CURSOR_WRITE_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[3], 'written_at_ms', ARGV[3], 'epoch', ARGV[4])
return 1
";

/// Why the cursor could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CursorError {
    /// Redis did not answer.
    #[error("Redis is unavailable: {0}")]
    Redis(#[from] redis::RedisError),
    /// The lease is no longer ours.
    #[error("the leader lease is held by another replica; the cursor was not moved")]
    NotLeader,
}

/// The stored cursor and when it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCursor {
    /// The replay id bytes.
    pub replay_id: Vec<u8>,
    /// When it was written, in Unix milliseconds (0 when unknown).
    pub written_at_ms: u64,
}

impl StoredCursor {
    /// The cursor from what Redis holds: the replay id bytes (none, or empty, is no cursor) and
    /// the meta hash's `written_at_ms`, read as 0 when missing or unreadable so that a damaged
    /// timestamp never hides the cursor itself.
    pub fn from_stored(replay_id: Option<Vec<u8>>, written_at_ms: Option<&[u8]>) -> Option<Self> {
        let replay_id = replay_id.filter(|bytes| !bytes.is_empty())?;
        let written_at_ms = written_at_ms
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .and_then(|text| text.parse().ok())
            .unwrap_or(0);
        Some(Self {
            replay_id,
            written_at_ms,
        })
    }
}

/// Reads and writes one channel's cursor.
#[derive(Clone)]
pub struct ReplayCursor {
    redis: ConnectionManager,
    keys: ChannelKeys,
}

impl ReplayCursor {
    /// The cursor of `keys`' channel.
    pub fn new(redis: ConnectionManager, keys: ChannelKeys) -> Self {
        Self { redis, keys }
    }

    /// The stored cursor, if any.
    pub async fn load(&self) -> redis::RedisResult<Option<StoredCursor>> {
        let mut redis = self.redis.clone();
        let replay_id: Option<Vec<u8>> = redis.get(&self.keys.cursor).await?;
        if replay_id.as_ref().is_none_or(Vec::is_empty) {
            return Ok(None);
        }
        // Bytes, not a String: a value that is not UTF-8 must not make the cursor unreadable.
        let written: Option<Vec<u8>> = redis.hget(&self.keys.meta, "written_at_ms").await?;
        Ok(StoredCursor::from_stored(replay_id, written.as_deref()))
    }

    /// Stores `replay_id` if `lease` is still held.
    pub async fn store(&self, lease: &Lease, replay_id: &[u8]) -> Result<(), CursorError> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let mut redis = self.redis.clone();
        let written: i64 = Script::new(CURSOR_WRITE_SCRIPT)
            .key(&self.keys.leader)
            .key(&self.keys.cursor)
            .key(&self.keys.meta)
            .arg(lease.value())
            .arg(replay_id)
            .arg(now_ms.to_string())
            .arg(lease.epoch)
            .invoke_async(&mut redis)
            .await?;
        if written == 1 {
            Ok(())
        } else {
            Err(CursorError::NotLeader)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_keeps_its_bytes_and_reads_its_timestamp() {
        let cursor =
            StoredCursor::from_stored(Some(vec![0, 0, 0x1e, 0x84]), Some(b"1700000000000"));
        assert_eq!(
            cursor,
            Some(StoredCursor {
                replay_id: vec![0, 0, 0x1e, 0x84],
                written_at_ms: 1_700_000_000_000,
            })
        );
        assert_eq!(
            StoredCursor::from_stored(Some(Vec::new()), Some(b"1")),
            None
        );
        assert_eq!(StoredCursor::from_stored(None, Some(b"1")), None);
    }

    /// A `written_at_ms` that is not UTF-8 used to fail the whole read (the value was read as
    /// a String), so a damaged meta hash stopped the subscription from resuming at its cursor.
    #[test]
    fn a_damaged_timestamp_does_not_hide_the_cursor() {
        for meta in [
            &b"\xff\xfe"[..],
            b"soon",
            b"-1",
            b"99999999999999999999",
            b"",
        ] {
            let cursor = StoredCursor::from_stored(Some(vec![7]), Some(meta))
                .expect("the replay id is still there");
            assert_eq!(cursor.replay_id, [7]);
            assert_eq!(cursor.written_at_ms, 0, "{meta:?}");
        }
    }
}
