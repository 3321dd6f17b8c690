//! What a test reads from outside the processes, never from their memory: their captured logs
//! (every incarnation's), their health answers over HTTP and gRPC, and the keys they keep in
//! Redis, read over a fresh connection each time so a stopped Redis fails the read at once.

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use bridge_tests::find_secrets;
use redis::Commands;
use serde_json::Value;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use super::{CURSOR_KEY, Cluster, DEAD_LETTER_KEY, Service, WAIT};

impl Cluster {
    /// Every line every incarnation of `service` printed, oldest incarnation first.
    pub(crate) fn lines(&self, service: Service) -> Vec<String> {
        let mut lines: Vec<String> = self
            .retired
            .iter()
            .filter(|(which, _)| *which == service)
            .flat_map(|(_, process)| process.lines())
            .collect();
        let current = match service {
            Service::Fulfillment => self.fulfillment.as_ref(),
            Service::Ingest => self.ingest.as_ref(),
        };
        if let Some(running) = current {
            lines.extend(running.process.lines());
        }
        lines
    }

    /// The JSON lines of every incarnation of `service` whose message is `message`.
    pub(crate) fn logged(&self, service: Service, message: &str) -> Vec<Value> {
        self.lines(service)
            .iter()
            .filter(|line| line.contains(message))
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line["message"] == message)
            .collect()
    }

    /// The JSON lines of the running incarnation of `service` whose message is `message`.
    pub(crate) fn logged_now(&self, service: Service, message: &str) -> Vec<Value> {
        self.running(service)
            .process
            .lines()
            .iter()
            .filter(|line| line.contains(message))
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line["message"] == message)
            .collect()
    }

    /// Waits until the running ingest holds the lease and has a stream open (a restarted one
    /// waits out the lease of the one that was killed first).
    pub(crate) fn wait_subscribed(&self) {
        let ingest = &self.running(Service::Ingest).process;
        let subscribed = crate::verdict::poll_until(Instant::now() + WAIT, || {
            ingest
                .lines()
                .iter()
                .any(|line| line.contains("\"message\":\"Subscribed: "))
        });
        assert!(subscribed, "ingest subscribed within {WAIT:?}");
    }

    /// The EventUuids of every event some ingest logged as dispatched (a final answer).
    pub(crate) fn dispatched(&self) -> HashSet<String> {
        self.logged(Service::Ingest, "Event dispatched")
            .iter()
            .filter_map(|line| line["event_uuid"].as_str().map(str::to_owned))
            .collect()
    }

    /// The EventUuids fulfillment started a run for.
    pub(crate) fn runs_seen(&self) -> HashSet<String> {
        self.logged(Service::Fulfillment, "Starting fulfillment orchestration")
            .iter()
            .filter_map(|line| line["span"]["event_uuid"].as_str().map(str::to_owned))
            .collect()
    }

    /// `GET /health` of the running `service`; `None` when the port does not answer.
    pub(crate) fn http_health(&self, service: Service) -> Option<(u16, Value)> {
        let (status, body) = bridge_tests::http_get(&self.running(service).http, "/health").ok()?;
        Some((status, serde_json::from_str(&body).ok()?))
    }

    /// The gRPC health of `name` (`""` is liveness) on the running `service`; `None` when the
    /// call fails.
    pub(crate) fn grpc_health(&self, service: Service, name: &str) -> Option<ServingStatus> {
        let address = format!("http://{}", self.running(service).grpc);
        self.runtime.block_on(async {
            let channel = tonic::transport::Channel::from_shared(address)
                .ok()?
                .connect_timeout(Duration::from_secs(2))
                .timeout(Duration::from_secs(5))
                .connect()
                .await
                .ok()?;
            let answer = HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: name.to_owned(),
                })
                .await
                .ok()?;
            Some(answer.into_inner().status())
        })
    }

    /// A fresh connection to the private Redis, with timeouts so a stopped one fails fast.
    fn redis_connection(&self) -> redis::RedisResult<redis::Connection> {
        let client = redis::Client::open(self.redis.url())?;
        let connection = client.get_connection_with_timeout(Duration::from_secs(2))?;
        connection.set_read_timeout(Some(Duration::from_secs(2)))?;
        Ok(connection)
    }

    /// The stored replay cursor, as raw bytes.
    pub(crate) fn cursor(&self) -> redis::RedisResult<Option<Vec<u8>>> {
        self.redis_connection()?.get(CURSOR_KEY)
    }

    /// Every Order lock key in Redis.
    pub(crate) fn lock_keys(&self) -> redis::RedisResult<Vec<String>> {
        self.redis_connection()?.keys("fulfillment:lock:*")
    }

    /// An Order's journal hash (empty when there is none).
    pub(crate) fn journal(&self, order_id: &str) -> redis::RedisResult<HashMap<String, String>> {
        self.redis_connection()?
            .hgetall(format!("fulfillment:order:{order_id}"))
    }

    /// How many dead letters the channel holds.
    pub(crate) fn dead_letters(&self) -> redis::RedisResult<usize> {
        self.redis_connection()?.xlen(DEAD_LETTER_KEY)
    }

    /// Fails when any output of any incarnation holds a configured secret, an issued token or
    /// a PEM marker.
    pub(crate) fn assert_no_secrets(&self) {
        let tokens = std::fs::read_to_string(&self.world.tokens_path).expect("the tokens file");
        let mut secrets: Vec<String> = tokens
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once(':').map(|(_, token)| token.to_owned()))
            .collect();
        secrets.push(self.world.whmcs.secret());
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        for service in [Service::Fulfillment, Service::Ingest] {
            let found = find_secrets(&self.lines(service).join("\n"), &secrets);
            assert!(
                found.is_empty(),
                "{service:?} printed {} secret(s)",
                found.len()
            );
        }
    }
}
