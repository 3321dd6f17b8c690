//! The plain `Fulfill` loop: the other limit ingest's throughput is measured against. A
//! process of its own that makes unary `Fulfill` calls to the instant server, as many at once
//! as ingest dispatches, over one channel as ingest does, with the same request (trigger,
//! EventUuid, replay id, deadline, bearer token), and nothing else.
//!
//! Reads `BENCH_TARGET` (`host:port`), `BENCH_CALLS` and `BENCH_CONCURRENCY`; prints
//! `done <calls> <µs from the first call to the last answer> <µs of CPU it used>`.
//!
//! Paced (`BENCH_RATE` calls a second, one at a time), it is the latency run's floor: it
//! prints `sent <order id> <µs since the epoch>` for each call, noted right before the call,
//! where ingest notes its enqueue line, so its send → arrival is one gRPC hop on this machine
//! as it is loaded now.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use bridge_proto::fulfillment::v1::{
    FulfillRequest, Trigger, fulfillment_service_client::FulfillmentServiceClient,
};
use tonic::{
    Request,
    metadata::{Ascii, MetadataValue},
    transport::{Channel, Endpoint},
};

use crate::{child::RoleProcess, instant::wall_us, procfs::own_cpu_time, stack::order_id};

/// The `BENCH_ROLE` of the loop.
pub(crate) const ROLE: &str = "fulfill-loop";

fn variable(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

/// The helper's side.
pub(crate) async fn run() -> Result<(), String> {
    let target = variable("BENCH_TARGET")?;
    let calls: usize = variable("BENCH_CALLS")?
        .parse()
        .map_err(|_| "BENCH_CALLS")?;
    let concurrency: usize = variable("BENCH_CONCURRENCY")?
        .parse()
        .map_err(|_| "BENCH_CONCURRENCY")?;
    let channel = Endpoint::from_shared(format!("http://{target}"))
        .map_err(|err| err.to_string())?
        .connect_timeout(Duration::from_secs(5))
        .connect_lazy();
    let client = FulfillmentServiceClient::new(channel);
    let token = MetadataValue::try_from("Bearer bench-token").map_err(|e| e.to_string())?;
    if let Ok(rate) = variable("BENCH_RATE") {
        let rate: f64 = rate.parse().map_err(|_| "BENCH_RATE")?;
        return paced(client, token, calls, rate).await;
    }

    let next = Arc::new(AtomicUsize::new(0));
    let started = std::time::Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, next, token) = (client.clone(), next.clone(), token.clone());
        workers.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= calls {
                    return Ok::<(), String>(());
                }
                client
                    .clone()
                    .fulfill(request(n, "lp", &token))
                    .await
                    .map_err(|status| status.to_string())?;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.map_err(|err| err.to_string())??;
    }
    println!(
        "done {calls} {} {}",
        started.elapsed().as_micros(),
        own_cpu_time().as_micros()
    );
    Ok(())
}

fn request(n: usize, prefix: &str, token: &MetadataValue<Ascii>) -> Request<FulfillRequest> {
    let mut request = Request::new(FulfillRequest {
        order_id: order_id(prefix, n),
        trigger: Trigger::PlatformEvent.into(),
        event_uuid: format!("bench-loop-{n}"),
        replay_id: (n as u64).to_be_bytes().to_vec(),
        correlation_id: String::new(),
    });
    request.set_timeout(Duration::from_secs(120));
    request
        .metadata_mut()
        .insert("authorization", token.clone());
    request
}

/// One call at a time, `rate` a second, each send time printed.
async fn paced(
    client: FulfillmentServiceClient<Channel>,
    token: MetadataValue<Ascii>,
    calls: usize,
    rate: f64,
) -> Result<(), String> {
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(0.1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = std::time::Instant::now();
    // The first call opens the connection, as ingest's warm-up event does.
    let warm_up = request(calls, "fl", &token);
    client
        .clone()
        .fulfill(warm_up)
        .await
        .map_err(|s| s.to_string())?;
    for n in 0..calls {
        ticker.tick().await;
        let sent = wall_us();
        let call = request(n, "fl", &token);
        client
            .clone()
            .fulfill(call)
            .await
            .map_err(|s| s.to_string())?;
        println!("sent {} {sent}", order_id("fl", n));
    }
    println!("done {calls} {}", started.elapsed().as_micros());
    Ok(())
}

/// Runs the paced loop against `target`; returns when each call was sent (µs since the
/// epoch), by Order id.
pub(crate) async fn paced_send_times(
    target: &str,
    calls: usize,
    rate: u32,
) -> HashMap<String, u64> {
    let env = HashMap::from([
        ("BENCH_TARGET".to_owned(), target.to_owned()),
        ("BENCH_CALLS".to_owned(), calls.to_string()),
        ("BENCH_CONCURRENCY".to_owned(), "1".to_owned()),
        ("BENCH_RATE".to_owned(), rate.to_string()),
    ]);
    let mut process = RoleProcess::start(ROLE, &env);
    let mut sent = HashMap::new();
    loop {
        let line = process.line(Duration::from_secs(300)).await;
        let mut parts = line.split_whitespace();
        match (parts.next(), parts.next(), parts.next()) {
            (Some("sent"), Some(id), Some(at)) => {
                sent.insert(id.to_owned(), at.parse().unwrap_or(0));
            }
            (Some("done"), ..) => return sent,
            _ => panic!("the paced loop printed {line:?}"),
        }
    }
}

/// Runs the loop against `target`; returns calls per second and the CPU time it used.
pub(crate) async fn measure(target: &str, calls: usize, concurrency: usize) -> (f64, Duration) {
    let env = HashMap::from([
        ("BENCH_TARGET".to_owned(), target.to_owned()),
        ("BENCH_CALLS".to_owned(), calls.to_string()),
        ("BENCH_CONCURRENCY".to_owned(), concurrency.to_string()),
    ]);
    let mut process = RoleProcess::start(ROLE, &env);
    let parts = process.answer("done", Duration::from_secs(300)).await;
    let calls: f64 = parts.first().and_then(|n| n.parse().ok()).unwrap_or(0.0);
    let micros: f64 = parts.get(1).and_then(|n| n.parse().ok()).unwrap_or(0.0);
    let cpu = parts.get(2).and_then(|n| n.parse().ok()).unwrap_or(0);
    (calls / (micros.max(1.0) / 1e6), Duration::from_micros(cpu))
}
