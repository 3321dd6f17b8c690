//! fulfillment under load: the real `fulfillment` binary with every Salesforce and WHMCS
//! answer delayed by `BENCH_UPSTREAM_LATENCY_MS` (20 ms), `BENCH_ORDERS` approved Orders
//! (each its own customer, one monthly VPS) fulfilled with `BENCH_ORDER_CONCURRENCY` (50)
//! `Fulfill` calls in flight at once, as ingest would send them.
//!
//! The upstream calls per Order are counted from what the emulators received, not assumed;
//! the limit is what 50 Orders in flight allow when each Order's calls run one after another:
//! `concurrency / (calls per Order × latency)`. CPU time is the process's `utime + stime`
//! across the measured Orders; memory is `VmRSS` sampled every 20 ms and `VmHWM` at the end.
//! An empirical floor (see `fulfillment_floor`) follows, to tell fulfillment's own overhead
//! from the emulators' and the machine's.

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
use tonic::{Request, metadata::MetadataValue, transport::Channel};

use crate::{
    binaries::Binaries,
    fulfillment_floor,
    procfs::{self, RssSampler, mb},
    redis_info::CommandStats,
    service::Service,
    settings::Settings,
    stack::Ground,
    summary::{Section, Spread},
};

/// Resident memory allowed at idle and with 50 Orders in flight, in bytes (MB, not MiB).
pub(crate) const IDLE_LIMIT: u64 = 30_000_000;
/// See [`IDLE_LIMIT`].
pub(crate) const LOADED_LIMIT: u64 = 60_000_000;

/// Runs the section.
pub(crate) async fn run(binaries: &Binaries, settings: &Settings) -> Section {
    let ground = Ground::start(settings.upstream_latency).await;
    let world = &ground.world;
    let service = Service::start(
        "fulfillment",
        &binaries.fulfillment,
        &ground.fulfillment_env(&[]),
    )
    .await;
    let pid = service.id();

    let vps = world.offering("VPS Small", "Monthly");
    let orders: Vec<String> = (0..=settings.orders)
        .map(|n| {
            let customer = world.customer(&format!("Bench{n}"), true);
            let order_id = world.order(&customer.account_id, &[(&vps.product_id, 1.0)]);
            world
                .salesforce
                .approve_order(&order_id)
                .expect("the Flow approves");
            order_id
        })
        .collect();
    // Seeding took a while; the process has been idle since it started.
    let idle = procfs::memory(pid);

    let channel = Channel::from_shared(format!("http://{}", service.grpc))
        .expect("an address")
        .connect()
        .await
        .expect("fulfillment answers");
    let client = FulfillmentServiceClient::new(channel);
    let token =
        MetadataValue::try_from(format!("Bearer {}", world.portal_token)).expect("a header value");

    // The first Order mints the Salesforce token and opens connections; it is not measured.
    let (warm_up, _) = fulfill(&client, &token, &orders[0]).await;
    assert_eq!(warm_up, Some(Outcome::Activated), "the warm-up Order");

    let salesforce_before = world.salesforce.requests().len();
    let whmcs_before = world.whmcs.calls().len();
    let redis_before = CommandStats::read(&ground.redis);
    let cpu_before = procfs::cpu_time(pid);
    let sampler = RssSampler::start(pid, Duration::from_millis(20));
    let started = Instant::now();
    let measured = Arc::new(orders[1..].to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..settings.order_concurrency {
        let (client, token, measured, next) = (
            client.clone(),
            token.clone(),
            measured.clone(),
            next.clone(),
        );
        workers.spawn(async move {
            let mut results = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(order_id) = measured.get(index) else {
                    return results;
                };
                results.push(fulfill(&client, &token, order_id).await);
            }
        });
    }
    let mut results = Vec::new();
    while let Some(done) = workers.join_next().await {
        results.extend(done.expect("a worker"));
    }
    let elapsed = started.elapsed();
    let cpu = procfs::cpu_time(pid).saturating_sub(cpu_before);
    let peak_rss = sampler.peak();
    let memory = procfs::memory(pid);
    let commands = redis_before.since(&CommandStats::read(&ground.redis));

    let salesforce = world.salesforce.requests().split_off(salesforce_before);
    let whmcs = world.whmcs.calls().split_off(whmcs_before);
    service.stop().await;

    let count = measured.len();
    let calls_per_order = (salesforce.len() + whmcs.len()) as f64 / count as f64;
    let probe = world.customer("Floor", true);
    let floor = fulfillment_floor::measure(
        world,
        probe.whmcs_client_id,
        count,
        calls_per_order.round() as usize,
        settings.order_concurrency,
    )
    .await;

    let activated = results
        .iter()
        .filter(|(outcome, _)| *outcome == Some(Outcome::Activated))
        .count();
    let spread = Spread::of(results.iter().map(|(_, took)| *took).collect());
    let latency = settings.upstream_latency.as_secs_f64();
    let limit = settings.order_concurrency as f64 / (calls_per_order * latency);
    let rate = count as f64 / elapsed.as_secs_f64();
    let cpu_per_order = cpu.as_secs_f64() * 1000.0 / count as f64;

    let mut by_kind = BTreeMap::new();
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
            .or_insert(0usize) += 1;
    }
    for call in &whmcs {
        *by_kind.entry(format!("whmcs {}", call.action)).or_insert(0) += 1;
    }

    let mut section = Section::new("3. fulfillment throughput, CPU and memory");
    section.at_least(
        "Orders activated",
        activated as f64,
        count as f64,
        "Orders",
        1.0,
    );
    section.at_least("Orders/s", rate, limit, "Orders/s", 0.9);
    section.at_least(
        "Orders/s against the upstream floor measured after it",
        rate,
        floor,
        "Orders/s",
        0.9,
    );
    section.at_most("CPU per Order", cpu_per_order, 0.5, "ms");
    section.at_most("VmRSS at idle", mb(idle.rss), mb(IDLE_LIMIT), "MB");
    section.at_most(
        "VmHWM with Orders in flight",
        mb(memory.hwm),
        mb(LOADED_LIMIT),
        "MB",
    );
    section.detail(format!(
        "{count} Orders, {} in flight, {} ms added to every upstream answer, in {:.3} s",
        settings.order_concurrency,
        settings.upstream_latency.as_millis(),
        elapsed.as_secs_f64()
    ));
    section.detail(format!(
        "upstream calls per Order: {calls_per_order:.2} (Salesforce {}, WHMCS {}): {}",
        salesforce.len(),
        whmcs.len(),
        by_kind
            .iter()
            .map(|(kind, n)| format!("{kind} {:.2}", *n as f64 / count as f64))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    section.detail(format!(
        "limit = {} / ({calls_per_order:.2} × {:.0} ms); one Order's Fulfill call: {} (its calls alone take {:.0} ms)",
        settings.order_concurrency,
        latency * 1000.0,
        spread.describe(),
        calls_per_order * latency * 1000.0
    ));
    section.detail(format!(
        "Redis commands per Order: {:.2} ({}); scripts count their inner commands too",
        commands.total() as f64 / count as f64,
        commands.describe()
    ));
    section.detail(format!(
        "CPU {:.3} s over the run ({} ticks a second); VmRSS at idle {:.1} MB (VmHWM {:.1} MB), highest sampled under load {:.1} MB",
        cpu.as_secs_f64(),
        procfs::clock_ticks_per_second(),
        mb(idle.rss),
        mb(idle.hwm),
        mb(peak_rss)
    ));
    section
}

/// One `Fulfill` for an approved Order, as ingest calls it: its outcome (`None` for an error)
/// and how long the call took.
async fn fulfill(
    client: &FulfillmentServiceClient<Channel>,
    token: &MetadataValue<tonic::metadata::Ascii>,
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
