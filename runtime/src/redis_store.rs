//! The Redis connection both services use, and the probe behind health and readiness.
//!
//! The connection is lazy and reconnects by itself, so a service starts (and reports Redis as
//! down) even while Redis is away. Connect and response timeouts make a Redis that stops
//! answering fail calls instead of hanging them. Blocking reads (`XREAD BLOCK`) must not use
//! this connection: they would stall every command queued behind them.

use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::Secret;

/// How long to wait for a connection to Redis.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long to wait for any one reply.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Opens the shared, self-healing connection. Fails only for a URL that cannot be used.
pub fn connect(url: &Secret<String>) -> redis::RedisResult<ConnectionManager> {
    let client = redis::Client::open(url.expose().as_str())?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500));
    ConnectionManager::new_lazy_with_config(client, config)
}

/// Answers whether Redis responds, and how fast.
#[derive(Clone)]
pub struct RedisProbe {
    connection: ConnectionManager,
}

impl RedisProbe {
    /// A probe over the shared connection.
    pub fn new(connection: ConnectionManager) -> Self {
        Self { connection }
    }

    /// Sends `PING`; the round trip on success.
    pub async fn ping(&self) -> Result<Duration, redis::RedisError> {
        let mut connection = self.connection.clone();
        let started = Instant::now();
        let reply: String = redis::cmd("PING").query_async(&mut connection).await?;
        if reply == "PONG" {
            Ok(started.elapsed())
        } else {
            Err(redis::RedisError::from((
                redis::ErrorKind::UnexpectedReturnType,
                "unexpected PING reply",
                reply,
            )))
        }
    }
}
