//! ingest latency at a steady publishing rate (`BENCH_LATENCY_RATE`, 100 events per second):
//! how long after an event reaches ingest its `Fulfill` call reaches the instant server.
//!
//! Three clocks, all wall-clock microseconds on one machine, so they compare across
//! processes: the benchmark notes the time right before it hands an event to the emulator
//! (which runs in this process and sends it at once: ingest's credit is outstanding);
//! ingest's own JSON log line `Platform Event enqueued for provisioning` carries the time it
//! had the event decoded; the instant server notes the call's arrival. Publish → call is the
//! figure held against the target: an upper bound on arrival → call, since it also holds the
//! emulator's send and the loopback transfer. Enqueued → call is ingest's dispatch alone.

use std::{collections::HashMap, time::Duration};

use tokio::time::MissedTickBehavior;

use crate::{
    binaries::Binaries,
    fulfill_loop,
    instant::{InstantServer, wall_us},
    procfs,
    service::Service,
    settings::Settings,
    stack::{Ground, WAIT, order_id, poll},
    summary::{Section, Spread, ms},
};

/// The log line ingest writes once an event is decoded, right before dispatching it.
const ENQUEUED: &str = "Platform Event enqueued for provisioning";

/// Runs the section.
pub(crate) async fn run(binaries: &Binaries, settings: &Settings) -> Section {
    let ground = Ground::start(Duration::ZERO).await;
    let mut instant = InstantServer::start(Duration::ZERO).await;
    let env = ground.ingest_env(
        &instant.address,
        &[(
            "INGEST_CONCURRENCY",
            settings.ingest_concurrency.to_string(),
        )],
    );
    let ingest = Service::start("ingest", &binaries.ingest, &env).await;
    let pubsub = ground.world.pubsub.clone();
    poll("ingest to subscribe", WAIT, || {
        let open = pubsub.active_streams() > 0;
        async move { open.then_some(()) }
    })
    .await;

    // One event first, so the connection to the instant server and the schema are in place.
    pubsub.publish_order_event(&order_id("wu", 0));
    wait_for_calls(&mut instant, 1).await;
    instant.arrivals().await;

    let count = settings.latency_events;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(
        1.0 / f64::from(settings.latency_rate),
    ));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let cpu_before = procfs::cpu_time(ingest.id());
    let started = std::time::Instant::now();
    let mut published = HashMap::new();
    for n in 0..count {
        ticker.tick().await;
        let id = order_id("lt", n);
        published.insert(id.clone(), wall_us());
        pubsub.publish_order_event(&id);
    }
    wait_for_calls(&mut instant, count as u64 + 1).await;
    let busy = procfs::cpu_time(ingest.id()).saturating_sub(cpu_before);
    let wall = started.elapsed();
    let arrivals = instant.arrivals().await;
    let enqueued = enqueue_times(&ingest);
    ingest.stop().await;

    // The floor: one gRPC hop from a bare client, at the same rate, to the same server.
    let floor_sent =
        fulfill_loop::paced_send_times(&instant.address, count, settings.latency_rate).await;
    let floor_arrivals = instant.arrivals().await;
    ground.stop().await;
    let floor = Spread::of(
        floor_sent
            .iter()
            .filter_map(|(id, sent)| {
                let arrived = floor_arrivals.get(&id.chars().take(15).collect::<String>())?;
                Some(Duration::from_micros(arrived.saturating_sub(*sent)))
            })
            .collect(),
    );

    let mut publish_to_call = Vec::new();
    let mut enqueue_to_call = Vec::new();
    let mut publish_to_enqueue = Vec::new();
    for (id, sent) in &published {
        let (Some(arrived), Some(decoded)) = (arrivals.get(id), enqueued.get(id)) else {
            continue;
        };
        let span = |from: u64, to: u64| Duration::from_micros(to.saturating_sub(from));
        publish_to_call.push(span(*sent, *arrived));
        enqueue_to_call.push(span(*decoded, *arrived));
        publish_to_enqueue.push(span(*sent, *decoded));
    }
    assert!(
        !publish_to_call.is_empty(),
        "no event could be matched across the three clocks"
    );
    let whole = Spread::of(publish_to_call);
    let dispatch = Spread::of(enqueue_to_call);
    let receive = Spread::of(publish_to_enqueue);

    let mut section = Section::new("2. ingest latency");
    section.at_most("p99 publish → Fulfill call", ms(whole.p99), 1.0, "ms");
    section.at_most(
        "p99 enqueued (decoded) → Fulfill call",
        ms(dispatch.p99),
        1.0,
        "ms",
    );
    section.at_most(
        "p99 floor: a bare client's call → arrival",
        ms(floor.p99),
        1.0,
        "ms",
    );
    section.detail(format!(
        "{count} events at {} per second; {} matched in all three clocks",
        settings.latency_rate, whole.count
    ));
    section.detail(format!("publish → Fulfill call: {}", whole.describe()));
    section.detail(format!("enqueued → Fulfill call: {}", dispatch.describe()));
    section.detail(format!("publish → enqueued: {}", receive.describe()));
    section.detail(format!(
        "floor, a bare client's unary call → arrival, same rate and server: {}",
        floor.describe()
    ));
    section.detail(format!(
        "ingest CPU while publishing: {:.1} % of one core",
        busy.as_secs_f64() * 100.0 / wall.as_secs_f64().max(1e-6)
    ));
    section
}

/// Waits until the instant server has answered `calls` calls.
async fn wait_for_calls(instant: &mut InstantServer, calls: u64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while instant.stats().await.calls < calls {
        assert!(
            tokio::time::Instant::now() < deadline,
            "ingest dispatched fewer than {calls} events"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// When ingest logged each event as enqueued, by the first 15 characters of its Order id.
fn enqueue_times(ingest: &Service) -> HashMap<String, u64> {
    ingest
        .logs()
        .iter()
        .filter(|line| line["message"] == ENQUEUED)
        .filter_map(|line| {
            let id: String = line["order_id"].as_str()?.chars().take(15).collect();
            let at = rfc3339_micros(line["timestamp"].as_str()?)?;
            Some((id, at))
        })
        .collect()
}

/// `2026-12-04T17:54:56.123456Z` as microseconds since the Unix epoch (UTC only, as the
/// services log).
fn rfc3339_micros(text: &str) -> Option<u64> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let mut date_parts = date.splitn(3, '-').map(|part| part.parse::<i64>().ok());
    let (year, month, day) = (
        date_parts.next()??,
        date_parts.next()??,
        date_parts.next()??,
    );
    let (clock, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut clock_parts = clock.splitn(3, ':').map(|part| part.parse::<i64>().ok());
    let (hour, minute, second) = (
        clock_parts.next()??,
        clock_parts.next()??,
        clock_parts.next()??,
    );
    let digits: String = fraction.chars().chain("000000".chars()).take(6).collect();
    let micros: i64 = digits.parse().ok()?;

    // Days from 1970-01-01 to the civil date (the proleptic Gregorian calendar).
    let shifted_year = if month <= 2 { year - 1 } else { year };
    let era = shifted_year.div_euclid(400);
    let year_of_era = shifted_year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;

    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second;
    u64::try_from(seconds * 1_000_000 + micros).ok()
}
