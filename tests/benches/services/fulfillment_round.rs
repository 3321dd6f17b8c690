//! One round of the fulfillment run: a batch of approved Orders through the running
//! `fulfillment` process, `concurrency` `Fulfill` calls in flight, then the upstream floor
//! (see `fulfillment_floor`) right after, so both see the machine as it is loaded now.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use bridge_proto::fulfillment::v1::{
    FulfillRequest, Outcome, Trigger, fulfillment_service_client::FulfillmentServiceClient,
};
use bridge_tests::RedisServer;
use sandbox::demo::world::World;
use tonic::{
    Request,
    metadata::{Ascii, MetadataValue},
    transport::Channel,
};

use crate::{fulfillment_floor, procfs, redis_info::CommandStats, summary::Spread};

/// What a round needs.
pub(crate) struct Target<'a> {
    /// The emulators.
    pub(crate) world: &'a World,
    /// fulfillment's Redis.
    pub(crate) redis: &'a RedisServer,
    /// A client of the running process.
    pub(crate) client: FulfillmentServiceClient<Channel>,
    /// The caller's bearer token.
    pub(crate) token: MetadataValue<Ascii>,
    /// The process id.
    pub(crate) pid: u32,
    /// Calls in flight at once.
    pub(crate) concurrency: usize,
    /// The latency added to every upstream answer.
    pub(crate) latency: Duration,
    /// The WHMCS client the floor asks about.
    pub(crate) floor_client: u64,
}

/// One round's figures.
pub(crate) struct Round {
    /// Orders answered.
    pub(crate) count: usize,
    /// Orders answered `OUTCOME_ACTIVATED`.
    pub(crate) activated: usize,
    /// Orders per second.
    pub(crate) rate: f64,
    /// `concurrency / (calls per Order × latency)`.
    pub(crate) limit: f64,
    /// The floor's Orders per second.
    pub(crate) floor: f64,
    /// Upstream calls per Order.
    pub(crate) calls_per_order: f64,
    /// Upstream calls by kind, per Order.
    pub(crate) by_kind: BTreeMap<String, f64>,
    /// How long one Order's `Fulfill` call took.
    pub(crate) spread: Spread,
    /// CPU ms per Order.
    pub(crate) cpu_ms: f64,
    /// Redis commands executed.
    pub(crate) commands: CommandStats,
}

impl Round {
    /// Orders per second over the target's limit.
    pub(crate) fn ratio(&self) -> f64 {
        self.rate / self.limit
    }
}

/// Fulfils `orders` and measures the floor after.
pub(crate) async fn run(target: &Target<'_>, orders: &[String]) -> Round {
    let world = target.world;
    let salesforce_before = world.salesforce.requests().len();
    let whmcs_before = world.whmcs.calls().len();
    let redis_before = CommandStats::read(target.redis);
    let cpu_before = procfs::cpu_time(target.pid);
    let started = Instant::now();
    let measured = Arc::new(orders.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..target.concurrency {
        let (client, token) = (target.client.clone(), target.token.clone());
        let (measured, next) = (measured.clone(), next.clone());
        workers.spawn(async move {
            let mut results = Vec::new();
            while let Some(order_id) = measured.get(next.fetch_add(1, Ordering::Relaxed)) {
                results.push(fulfill(&client, &token, order_id).await);
            }
            results
        });
    }
    let mut results = Vec::new();
    while let Some(done) = workers.join_next().await {
        results.extend(done.expect("a worker"));
    }
    let elapsed = started.elapsed();
    let cpu = procfs::cpu_time(target.pid).saturating_sub(cpu_before);
    let commands = redis_before.since(&CommandStats::read(target.redis));

    let count = orders.len();
    let mut by_kind = BTreeMap::new();
    let salesforce = world.salesforce.requests().split_off(salesforce_before);
    for request in &salesforce {
        let kind = if request.path.contains("/query") {
            "sf query"
        } else if request.path.contains("/oauth2/") {
            "sf token"
        } else {
            "sf other"
        };
        *by_kind
            .entry(format!("{kind} {}", request.method))
            .or_insert(0.0) += 1.0 / count as f64;
    }
    for call in world.whmcs.calls().split_off(whmcs_before) {
        *by_kind
            .entry(format!("whmcs {}", call.action))
            .or_insert(0.0) += 1.0 / count as f64;
    }
    let calls_per_order: f64 = by_kind.values().sum();

    let floor = fulfillment_floor::measure(
        world,
        target.floor_client,
        count,
        calls_per_order.round() as usize,
        target.concurrency,
    )
    .await;

    Round {
        count,
        activated: results
            .iter()
            .filter(|(outcome, _)| *outcome == Some(Outcome::Activated))
            .count(),
        rate: count as f64 / elapsed.as_secs_f64(),
        limit: target.concurrency as f64 / (calls_per_order * target.latency.as_secs_f64()),
        floor,
        calls_per_order,
        by_kind,
        spread: Spread::of(results.iter().map(|(_, took)| *took).collect()),
        cpu_ms: cpu.as_secs_f64() * 1000.0 / count as f64,
        commands,
    }
}

/// One `Fulfill` for an approved Order, as ingest calls it: its outcome (`None` for an error)
/// and how long the call took.
pub(crate) async fn fulfill(
    client: &FulfillmentServiceClient<Channel>,
    token: &MetadataValue<Ascii>,
    order_id: &str,
) -> (Option<Outcome>, Duration) {
    let mut request = Request::new(FulfillRequest {
        order_id: order_id.to_owned(),
        trigger: Trigger::PlatformEvent.into(),
        event_uuid: String::new(),
        replay_id: Vec::new(),
        correlation_id: String::new(),
    });
    request.set_timeout(Duration::from_secs(120));
    request
        .metadata_mut()
        .insert("authorization", token.clone());
    let started = Instant::now();
    let answer = client.clone().fulfill(request).await;
    let took = started.elapsed();
    match answer {
        Ok(response) => (Some(response.into_inner().outcome()), took),
        Err(status) => {
            eprintln!("Fulfill {order_id}: {status}");
            (None, took)
        }
    }
}
