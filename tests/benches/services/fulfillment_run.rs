//! fulfillment under load: the real `fulfillment` binary with every Salesforce and WHMCS
//! answer delayed by `BENCH_UPSTREAM_LATENCY_MS` (20 ms), `BENCH_ORDERS` approved Orders
//! (each its own customer, one monthly VPS) fulfilled with `BENCH_ORDER_CONCURRENCY` (50)
//! `Fulfill` calls in flight at once, as ingest would send them, in `BENCH_ROUNDS` rounds.
//!
//! The upstream calls per Order are counted from what the emulators received, not assumed;
//! the limit is what 50 Orders in flight allow when each Order's calls run one after another:
//! `concurrency / (calls per Order × latency)`. CPU time is the process's `utime + stime`
//! across a round's Orders; memory is `VmRSS` sampled every 20 ms and `VmHWM` at the end.
//! Each round is followed by an empirical floor (see `fulfillment_floor`), to tell
//! fulfillment's own overhead from the emulators' and the machine's. The round with the
//! median ratio is reported.

use std::time::Duration;

use bridge_proto::fulfillment::v1::{
    Outcome, fulfillment_service_client::FulfillmentServiceClient,
};
use tonic::{metadata::MetadataValue, transport::Channel};

use crate::{
    binaries::Binaries,
    fulfillment_round::{self, Round, Target},
    procfs::{self, RssSampler, mb},
    service::Service,
    settings::Settings,
    stack::Ground,
    summary::Section,
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
    let orders: Vec<String> = (0..=settings.orders * settings.rounds)
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
    let target = Target {
        world,
        redis: &ground.redis,
        client: FulfillmentServiceClient::new(channel),
        token: MetadataValue::try_from(format!("Bearer {}", world.portal_token))
            .expect("a header value"),
        pid,
        concurrency: settings.order_concurrency,
        latency: settings.upstream_latency,
        floor_client: world.customer("Floor", true).whmcs_client_id,
    };

    // The first Order mints the Salesforce token and opens connections; it is not measured.
    let (warm_up, _) = fulfillment_round::fulfill(&target.client, &target.token, &orders[0]).await;
    assert_eq!(warm_up, Some(Outcome::Activated), "the warm-up Order");

    let sampler = RssSampler::start(pid, Duration::from_millis(20));
    let mut rounds = Vec::new();
    for batch in orders[1..].chunks(settings.orders) {
        rounds.push(fulfillment_round::run(&target, batch).await);
    }
    let peak_rss = sampler.peak();
    let memory = procfs::memory(pid);
    drop(target);
    service.stop().await;
    ground.stop().await;

    rounds.sort_by(|a, b| a.ratio().total_cmp(&b.ratio()));
    report(settings, &rounds, idle, memory, peak_rss)
}

fn report(
    settings: &Settings,
    rounds: &[Round],
    idle: procfs::Memory,
    memory: procfs::Memory,
    peak_rss: u64,
) -> Section {
    let median = &rounds[rounds.len() / 2];
    let activated: usize = rounds.iter().map(|round| round.activated).sum();
    let count: usize = rounds.iter().map(|round| round.count).sum();
    let latency_ms = settings.upstream_latency.as_secs_f64() * 1000.0;

    let mut section = Section::new("3. fulfillment throughput, CPU and memory");
    section.at_least(
        "Orders activated",
        activated as f64,
        count as f64,
        "Orders",
        1.0,
    );
    section.at_least("Orders/s", median.rate, median.limit, "Orders/s", 0.9);
    section.at_least(
        "Orders/s against the upstream floor measured after it",
        median.rate,
        median.floor,
        "Orders/s",
        0.9,
    );
    section.at_most("CPU per Order", median.cpu_ms, 0.5, "ms");
    section.at_most("VmRSS at idle", mb(idle.rss), mb(IDLE_LIMIT), "MB");
    section.at_most(
        "VmHWM with Orders in flight",
        mb(memory.hwm),
        mb(LOADED_LIMIT),
        "MB",
    );
    section.detail(format!(
        "{} rounds of {} Orders, {} in flight, {latency_ms:.0} ms added to every upstream answer; ratios to the limit {}; the median round below",
        rounds.len(),
        settings.orders,
        settings.order_concurrency,
        rounds
            .iter()
            .map(|round| format!("{:.3}", round.ratio()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    section.detail(format!(
        "upstream calls per Order: {:.2}: {}",
        median.calls_per_order,
        median
            .by_kind
            .iter()
            .map(|(kind, n)| format!("{kind} {n:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    section.detail(format!(
        "limit = {} / ({:.2} × {latency_ms:.0} ms); one Order's Fulfill call: {} (its upstream calls alone take {:.0} ms)",
        settings.order_concurrency,
        median.calls_per_order,
        median.spread.describe(),
        median.calls_per_order * latency_ms
    ));
    section.detail(format!(
        "Redis commands per Order: {:.2} ({}); scripts count their inner commands too",
        median.commands.total() as f64 / median.count as f64,
        median.commands.describe()
    ));
    section.detail(format!(
        "CPU per Order by round: {} ms ({} ticks a second); VmRSS at idle {:.1} MB (VmHWM {:.1} MB), highest sampled under load {:.1} MB",
        rounds
            .iter()
            .map(|round| format!("{:.3}", round.cpu_ms))
            .collect::<Vec<_>>()
            .join(", "),
        procfs::clock_ticks_per_second(),
        mb(idle.rss),
        mb(idle.hwm),
        mb(peak_rss)
    ));
    section
}
