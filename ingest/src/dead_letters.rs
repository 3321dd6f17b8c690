//! The dead-letter stream `sf:pe:dlq:<channel>`: events that cannot be processed, kept with
//! their raw bytes, schema id, replay id, EventUuid and the reason, so nothing is silently
//! dropped. The stream is capped; operators read and redrive it through `IngestService`.

use std::time::{SystemTime, UNIX_EPOCH};

use redis::{AsyncCommands, aio::ConnectionManager, streams::StreamMaxlen};

use crate::keys::ChannelKeys;

/// The most entries the stream keeps; older ones are trimmed.
pub const CAPACITY: usize = 10_000;

/// One dead letter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeadLetter {
    /// The stream entry id (empty before it is stored).
    pub id: String,
    /// The event's replay id.
    pub replay_id: Vec<u8>,
    /// The schema id the event named.
    pub schema_id: String,
    /// The EventUuid.
    pub event_uuid: String,
    /// The raw payload.
    pub payload: Vec<u8>,
    /// The Order id, when it could be read.
    pub order_id: String,
    /// Why it is here.
    pub reason: String,
    /// When it was stored, in Unix milliseconds.
    pub at_ms: u64,
}

/// Appends to and reads the dead-letter stream.
#[derive(Clone)]
pub struct DeadLetters {
    redis: ConnectionManager,
    key: String,
}

impl DeadLetters {
    /// The dead letters of `keys`' channel.
    pub fn new(redis: ConnectionManager, keys: &ChannelKeys) -> Self {
        Self {
            redis,
            key: keys.dead_letters.clone(),
        }
    }

    /// Stores `letter`; returns its entry id.
    pub async fn add(&self, letter: &DeadLetter) -> redis::RedisResult<String> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let mut redis = self.redis.clone();
        let fields: [(&str, Vec<u8>); 7] = [
            ("replay_id", letter.replay_id.clone()),
            ("schema_id", letter.schema_id.clone().into_bytes()),
            ("event_uuid", letter.event_uuid.clone().into_bytes()),
            ("payload", letter.payload.clone()),
            ("order_id", letter.order_id.clone().into_bytes()),
            ("reason", letter.reason.clone().into_bytes()),
            ("at_ms", now_ms.to_string().into_bytes()),
        ];
        redis
            .xadd_maxlen(&self.key, StreamMaxlen::Approx(CAPACITY), "*", &fields)
            .await
    }

    /// How many dead letters there are.
    pub async fn count(&self) -> redis::RedisResult<u64> {
        let mut redis = self.redis.clone();
        redis.xlen(&self.key).await
    }

    /// Up to `count` dead letters after `after` (exclusive; `None` from the start), oldest first.
    pub async fn page(
        &self,
        after: Option<&str>,
        count: usize,
    ) -> redis::RedisResult<Vec<DeadLetter>> {
        let mut redis = self.redis.clone();
        let start = after.map_or_else(|| "-".to_owned(), |id| format!("({id}"));
        let reply: redis::streams::StreamRangeReply =
            redis.xrange_count(&self.key, start, "+", count).await?;
        Ok(reply.ids.into_iter().map(letter_from_entry).collect())
    }

    /// The dead letter with entry id `id`.
    pub async fn get(&self, id: &str) -> redis::RedisResult<Option<DeadLetter>> {
        let mut redis = self.redis.clone();
        let reply: redis::streams::StreamRangeReply =
            redis.xrange_count(&self.key, id, id, 1).await?;
        Ok(reply.ids.into_iter().next().map(letter_from_entry))
    }

    /// Removes the dead letter `id`; whether it was there.
    pub async fn remove(&self, id: &str) -> redis::RedisResult<bool> {
        let mut redis = self.redis.clone();
        let removed: u64 = redis.xdel(&self.key, &[id]).await?;
        Ok(removed > 0)
    }
}

fn letter_from_entry(entry: redis::streams::StreamId) -> DeadLetter {
    let bytes = |name: &str| -> Vec<u8> {
        entry
            .map
            .get(name)
            .and_then(|value| redis::from_redis_value(value.clone()).ok())
            .unwrap_or_default()
    };
    let text = |name: &str| String::from_utf8_lossy(&bytes(name)).into_owned();
    DeadLetter {
        id: entry.id.clone(),
        replay_id: bytes("replay_id"),
        schema_id: text("schema_id"),
        event_uuid: text("event_uuid"),
        payload: bytes("payload"),
        order_id: text("order_id"),
        reason: text("reason"),
        at_ms: text("at_ms").parse().unwrap_or(0),
    }
}
