//! What every run starts: the emulated world and a private Redis, and the services'
//! environment, configured the way `sandbox serve` prints it.

use std::{collections::HashMap, time::Duration};

use bridge_tests::{Persistence, RedisServer};
use sandbox::demo::{services, world::World};

/// How long a process may take to log a line a run waits for.
pub(crate) const WAIT: Duration = Duration::from_secs(60);

/// The world and Redis a run uses.
pub(crate) struct Ground {
    /// The emulators.
    pub(crate) world: World,
    /// Redis with AOF and `appendfsync always`, as production runs.
    pub(crate) redis: RedisServer,
}

impl Ground {
    /// Starts the emulators (with `latency` added to every Salesforce and WHMCS answer) and
    /// Redis.
    pub(crate) async fn start(latency: Duration) -> Self {
        let world = World::start_with_latency(latency)
            .await
            .expect("the emulators start");
        // `BENCH_REDIS_AOF=0` runs Redis without persistence, to see what fsyncs cost.
        let persistence = match std::env::var("BENCH_REDIS_AOF").as_deref() {
            Ok("0") => Persistence::None,
            _ => Persistence::AppendOnly,
        };
        let redis = RedisServer::start_with(persistence).expect("a private redis-server");
        Self { world, redis }
    }

    /// Stops the emulators (Redis stops when dropped).
    pub(crate) async fn stop(self) {
        self.world.shutdown().await;
    }

    /// ingest's environment, dispatching to `fulfillment` (`host:port`), with `extra` on top.
    pub(crate) fn ingest_env(
        &self,
        fulfillment: &str,
        extra: &[(&str, String)],
    ) -> HashMap<String, String> {
        let mut env = services::common_env(&self.world, &self.redis.url());
        env.extend(services::ingest_env(&self.world, fulfillment));
        finish(env, extra)
    }

    /// fulfillment's environment, with `extra` on top.
    pub(crate) fn fulfillment_env(&self, extra: &[(&str, String)]) -> HashMap<String, String> {
        let mut env = services::common_env(&self.world, &self.redis.url());
        env.extend(services::fulfillment_env(&self.world));
        finish(env, extra)
    }
}

fn finish(parts: Vec<(&'static str, String)>, extra: &[(&str, String)]) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = parts
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    for (name, value) in [
        ("GRPC_ADDR", "127.0.0.1:0"),
        ("HTTP_ADDR", "127.0.0.1:0"),
        ("LOG_FORMAT", "json"),
        ("SHUTDOWN_GRACE", "5s"),
    ] {
        env.insert(name.to_owned(), value.to_owned());
    }
    for (name, value) in extra {
        env.insert((*name).to_owned(), value.clone());
    }
    // `BENCH_SERVICE_ENV='RUST_LOG=warn,bridge_runtime=info;TOKIO_WORKER_THREADS=1'` tries
    // settings on every service process, to see what they change.
    for pair in std::env::var("BENCH_SERVICE_ENV")
        .unwrap_or_default()
        .split(';')
    {
        if let Some((name, value)) = pair.split_once('=') {
            env.insert(name.trim().to_owned(), value.trim().to_owned());
        }
    }
    env
}

/// Polls `probe` every millisecond until it returns `Some`, or panics after `limit`.
pub(crate) async fn poll<T, F, Fut>(what: &str, limit: Duration, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    bridge_tests::poll_until(what, limit, Duration::from_millis(1), probe).await
}

/// A well-formed 15-character Order id, unique per `prefix` and `n` (`prefix` is 2 letters).
pub(crate) fn order_id(prefix: &str, n: usize) -> String {
    format!("801{prefix}{n:010}")
}
