//! ingest's memory: resident size once subscribed and idle, and its peak with 50 events in
//! flight (`INGEST_CONCURRENCY=50` against an instant server that holds every call for
//! [`HOLD`], so every work slot stays busy while events wait in the credit buffer).

use std::time::Duration;

use crate::{
    binaries::Binaries,
    fulfillment_run::{IDLE_LIMIT, LOADED_LIMIT},
    ingest_throughput::CURSOR_KEY,
    instant::InstantServer,
    procfs::{self, RssSampler, mb},
    redis_info,
    service::Service,
    settings::Settings,
    stack::{Ground, WAIT, order_id, poll},
    summary::Section,
};

/// How long the instant server holds each call.
const HOLD: Duration = Duration::from_millis(100);

/// Events in flight at once.
const IN_FLIGHT: usize = 50;

/// Events published for the loaded measurement.
const EVENTS: usize = 1_000;

/// How long ingest sits subscribed and idle before its memory is read.
const IDLE_SETTLE: Duration = Duration::from_secs(1);

/// Runs the section.
pub(crate) async fn run(binaries: &Binaries, _settings: &Settings) -> Section {
    let ground = Ground::start(Duration::ZERO).await;
    let mut instant = InstantServer::start(HOLD).await;
    let env = ground.ingest_env(
        &instant.address,
        &[("INGEST_CONCURRENCY", IN_FLIGHT.to_string())],
    );
    let ingest = Service::start("ingest", &binaries.ingest, &env).await;
    let pid = ingest.id();
    let pubsub = ground.world.pubsub.clone();
    poll("ingest to subscribe", WAIT, || {
        let open = pubsub.active_streams() > 0;
        async move { open.then_some(()) }
    })
    .await;
    tokio::time::sleep(IDLE_SETTLE).await;
    let idle = procfs::memory(pid);

    let sampler = RssSampler::start(pid, Duration::from_millis(20));
    let mut last_replay_id = Vec::new();
    for n in 0..EVENTS {
        last_replay_id = pubsub.publish_order_event(&order_id("ld", n));
    }
    poll(
        "the cursor to reach the last event",
        Duration::from_secs(120),
        || {
            let stored = redis_info::value(&ground.redis, CURSOR_KEY);
            let done = stored.as_deref() == Some(last_replay_id.as_slice());
            async move { done.then_some(()) }
        },
    )
    .await;
    let stats = instant.stats().await;
    let loaded = procfs::memory(pid);
    let peak_rss = sampler.peak();
    ingest.stop().await;
    ground.stop().await;

    let mut section = Section::new("4. ingest memory");
    section.at_most("VmRSS at idle", mb(idle.rss), mb(IDLE_LIMIT), "MB");
    section.at_most(
        "VmHWM with events in flight",
        mb(loaded.hwm),
        mb(LOADED_LIMIT),
        "MB",
    );
    section.at_least(
        "Fulfill calls in flight at once",
        stats.max_in_flight as f64,
        IN_FLIGHT as f64,
        "calls",
        1.0,
    );
    section.detail(format!(
        "idle: subscribed for {} s with nothing to do; VmRSS {:.1} MB, VmHWM {:.1} MB",
        IDLE_SETTLE.as_secs(),
        mb(idle.rss),
        mb(idle.hwm)
    ));
    section.detail(format!(
        "loaded: {EVENTS} events, INGEST_CONCURRENCY={IN_FLIGHT}, each call held {} ms; highest VmRSS sampled {:.1} MB",
        HOLD.as_millis(),
        mb(peak_rss)
    ));
    section
}
