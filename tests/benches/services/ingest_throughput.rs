//! ingest throughput: events decoded, dispatched to the instant `Fulfill` server and
//! checkpointed per second by the real `ingest` binary, reading a Pub/Sub emulator preloaded
//! with `BENCH_EVENTS` events from EARLIEST.
//!
//! The clock starts when the first `Fulfill` call reaches the instant server and stops when
//! the cursor in Redis holds the last event's replay id (watched every millisecond), so the
//! figure includes the last coalesced cursor write. Its limit is the lower of two rates
//! measured just before, against the same emulator and instant server: the bare subscriber
//! (stream and decoding only) and the plain `Fulfill` loop (dispatch only, at ingest's
//! concurrency). The three run `BENCH_ROUNDS` times in turn, so load from elsewhere on the
//! machine falls on all of them alike; the round with the median ratio is the figure. Redis
//! commands are counted from `INFO commandstats` over ingest's whole life.

use std::time::Duration;

use crate::{
    bare_subscriber,
    binaries::Binaries,
    fulfill_loop,
    instant::{InstantServer, wall_us},
    procfs, redis_info,
    redis_info::CommandStats,
    service::Service,
    settings::Settings,
    stack::{Ground, order_id, poll},
    summary::Section,
};

/// The cursor key of the default channel.
pub(crate) const CURSOR_KEY: &str = "sf:pe:replay:/event/OrderProvisionRequested__e";

/// One round's figures.
struct Round {
    ingest: f64,
    bare: f64,
    looped: f64,
    seconds: f64,
    checkpoint_lag_ms: f64,
    /// CPU µs per event: bare subscriber, emulator; loop, instant server; ingest, instant
    /// server, emulator.
    cpu: [f64; 7],
    commands: CommandStats,
    hwm: u64,
}

impl Round {
    fn ratio(&self) -> f64 {
        self.ingest / self.bare.min(self.looped)
    }
}

/// Runs the section.
pub(crate) async fn run(binaries: &Binaries, settings: &Settings) -> Section {
    let events = settings.events;
    let ground = Ground::start(Duration::ZERO).await;
    let mut last_replay_id = Vec::new();
    for n in 0..events {
        last_replay_id = ground.world.pubsub.publish_order_event(&order_id("tp", n));
    }
    let mut instant = InstantServer::start(Duration::ZERO).await;
    let env = ground.ingest_env(
        &instant.address,
        &[
            ("SF_EVENTS_REPLAY", "ALL".to_owned()),
            (
                "INGEST_CONCURRENCY",
                settings.ingest_concurrency.to_string(),
            ),
        ],
    );

    let mut rounds = Vec::new();
    for _ in 0..settings.rounds {
        let round = one_round(
            binaries,
            settings,
            &ground,
            &mut instant,
            &env,
            &last_replay_id,
        )
        .await;
        rounds.push(round);
    }
    ground.stop().await;
    rounds.sort_by(|a, b| a.ratio().total_cmp(&b.ratio()));
    let median = &rounds[rounds.len() / 2];

    let mut section = Section::new("1. ingest throughput");
    section.at_least(
        "events/s, ingest (decode, Fulfill, cursor)",
        median.ingest,
        median.bare.min(median.looped),
        "ev/s",
        0.8,
    );
    section.at_most(
        "Redis commands per event",
        median.commands.total() as f64 / events as f64,
        1.0,
        "cmd/ev",
    );
    section.detail(format!(
        "{events} events preloaded; {} rounds of bare subscriber, plain Fulfill loop, ingest (INGEST_CONCURRENCY={}); ratios {}; the median round below",
        rounds.len(),
        settings.ingest_concurrency,
        rounds
            .iter()
            .map(|round| format!("{:.3}", round.ratio()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    section.detail(format!(
        "ingest made every Fulfill call and the cursor write in {:.3} s; the cursor held the last event {:.1} ms after its call (writes are coalesced every 200 ms)",
        median.seconds, median.checkpoint_lag_ms
    ));
    section.detail(format!(
        "limit = min(bare subscriber {:.0} ev/s, plain Fulfill loop {:.0} calls/s)",
        median.bare, median.looped
    ));
    let cpu = median.cpu;
    section.detail(format!(
        "CPU µs per event, by process (start-up included): bare subscriber {:.1} + emulator {:.1}; \
         loop {:.1} + instant server {:.1}; ingest {:.1} + instant server {:.1} + emulator {:.1}",
        cpu[0], cpu[1], cpu[2], cpu[3], cpu[4], cpu[5], cpu[6]
    ));
    section.detail(format!(
        "Redis over ingest's whole life: {} commands ({}); scripts count their inner commands too",
        median.commands.total(),
        median.commands.describe()
    ));
    section.detail(format!("ingest VmHWM {:.1} MB", procfs::mb(median.hwm)));
    section
}

/// The bare subscriber, the loop and ingest, once each.
async fn one_round(
    binaries: &Binaries,
    settings: &Settings,
    ground: &Ground,
    instant: &mut InstantServer,
    env: &std::collections::HashMap<String, String>,
    last_replay_id: &[u8],
) -> Round {
    let events = settings.events;
    let per_event = |cpu: Duration| cpu.as_secs_f64() * 1e6 / events as f64;

    let own_before = procfs::own_cpu_time();
    let (bare, bare_cpu) = bare_subscriber::measure(env, events).await;
    let bare_emulator = procfs::own_cpu_time().saturating_sub(own_before);

    let instant_before = instant.stats().await.cpu;
    let (looped, loop_cpu) =
        fulfill_loop::measure(&instant.address, events, settings.ingest_concurrency).await;
    let loop_instant = instant.stats().await.cpu.saturating_sub(instant_before);
    instant.reset().await;

    // Each round's ingest starts with no cursor, so it reads every event from EARLIEST.
    ground
        .redis
        .command(&["DEL", CURSOR_KEY])
        .expect("redis answers");
    let before = CommandStats::read(&ground.redis);
    let instant_before = instant.stats().await.cpu;
    let own_before = procfs::own_cpu_time();
    let ingest = Service::start("ingest", &binaries.ingest, env).await;
    // Watching the cursor every millisecond costs this process CPU the services could use:
    // wait for the last call first, cheaply, then watch closely.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    while instant.stats().await.calls < events as u64 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "ingest did not dispatch every event"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let end_us = poll(
        "the cursor to reach the last event",
        Duration::from_secs(300),
        || {
            let stored = redis_info::value(&ground.redis, CURSOR_KEY);
            let done = stored.as_deref() == Some(last_replay_id);
            async move { done.then(wall_us) }
        },
    )
    .await;
    let own = procfs::own_cpu_time().saturating_sub(own_before);
    let stats = instant.stats().await;
    let ingest_instant = stats.cpu.saturating_sub(instant_before);
    let commands = before.since(&CommandStats::read(&ground.redis));
    let cpu = procfs::cpu_time(ingest.id());
    let hwm = procfs::memory(ingest.id()).hwm;
    ingest.stop().await;
    instant.reset().await;

    let seconds = end_us.saturating_sub(stats.first_us) as f64 / 1e6;
    Round {
        ingest: events as f64 / seconds.max(1e-6),
        bare,
        looped,
        seconds,
        checkpoint_lag_ms: end_us.saturating_sub(stats.last_us) as f64 / 1e3,
        cpu: [
            per_event(bare_cpu),
            per_event(bare_emulator),
            per_event(loop_cpu),
            per_event(loop_instant),
            per_event(cpu),
            per_event(ingest_instant),
            per_event(own),
        ],
        commands,
        hwm,
    }
}
