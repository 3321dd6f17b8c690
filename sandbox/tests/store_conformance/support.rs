//! Starting each store and connecting to it the way the services do.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use bridge_runtime::{Secret, redis_store};
use bridge_tests::RedisServer;
use redis::aio::ConnectionManager;
use sandbox::store::EmbeddedStore;

/// How long a scenario waits for something time-driven (an expiry) before failing.
pub(crate) const DEADLINE: Duration = Duration::from_secs(5);

/// Runs `scenario` against a fresh embedded store, then shuts it down.
pub(crate) async fn on_embedded<F, Fut>(scenario: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let store = EmbeddedStore::start().await.expect("embedded store starts");
    scenario(store.url()).await;
    store.shutdown().await;
}

/// Runs `scenario` against a fresh private `redis-server`, stopped when it ends.
pub(crate) async fn on_redis<F, Fut>(scenario: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let server = RedisServer::start().expect("redis-server starts; scripts/test installs it");
    scenario(server.url()).await;
    drop(server);
}

/// The services' own connection to `url`.
pub(crate) fn connect(url: &str) -> ConnectionManager {
    redis_store::connect(&Secret::new(url.to_owned())).unwrap()
}

/// Polls `probe` until it yields a value, failing the test after [`DEADLINE`].
pub(crate) async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "{what} did not happen within {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends one raw command and returns the reply, error or not.
pub(crate) async fn raw(
    redis: &mut ConnectionManager,
    args: &[&[u8]],
) -> redis::RedisResult<redis::Value> {
    let mut command = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command.query_async(redis).await
}

/// The error code (`ERR`, `WRONGTYPE`, …) a raw command failed with; panics if it succeeded.
pub(crate) async fn error_code(redis: &mut ConnectionManager, args: &[&[u8]]) -> String {
    match raw(redis, args).await {
        Ok(value) => panic!(
            "{:?} succeeded with {value:?}",
            String::from_utf8_lossy(args[0])
        ),
        Err(error) => error.code().unwrap_or("none").to_owned(),
    }
}

/// Sends one raw command and converts its reply.
pub(crate) async fn query<T: redis::FromRedisValue>(
    redis: &mut ConnectionManager,
    args: &[&[u8]],
) -> T {
    let value = raw(redis, args).await.unwrap();
    redis::from_redis_value(value).unwrap()
}

/// The message (after the code) a raw command failed with; panics if it succeeded.
pub(crate) async fn detail(redis: &mut ConnectionManager, args: &[&[u8]]) -> String {
    let error = raw(redis, args).await.unwrap_err();
    error.detail().unwrap_or_default().to_owned()
}
