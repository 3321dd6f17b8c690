//! The bare subscriber: one of the two limits ingest's throughput is measured against. A
//! process of its own that subscribes to the emulator with ingest's own Pub/Sub client and
//! ingest's credit window (the concurrency plus the reserve, topped up once half is used),
//! decodes every payload with ingest's own decoder, and counts; nothing else. What it reaches
//! is what the stream and the decoding allow, with no dispatch and no cursor.
//!
//! It reads ingest's environment (`SF_*`, `SF_PUBSUB_ENDPOINT`, the channel) plus
//! `BENCH_EXPECT`, subscribes at EARLIEST, and prints `done <events> <µs from the first
//! event's arrival to the last one decoded> <µs of CPU it used>`.

use std::{collections::HashMap, sync::Arc, time::Duration};

use bridge_proto::eventbus::v1::{FetchRequest, ReplayPreset};
use bridge_runtime::{config::ProcessEnv, http_client::build_client, salesforce::JwtBearer};
use ingest::{
    config::IngestConfig,
    event::decode_order_id,
    pubsub::PubSub,
    schemas::{SchemaCache, SchemaLookup},
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::{child::RoleProcess, procfs::own_cpu_time};

/// The `BENCH_ROLE` of the bare subscriber.
pub(crate) const ROLE: &str = "bare-subscriber";

/// ingest's credit beyond its work slots (`RESERVE` in its stream module).
const RESERVE: usize = 16;

/// The helper's side.
pub(crate) async fn run() -> Result<(), String> {
    let expect: usize = std::env::var("BENCH_EXPECT")
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or("BENCH_EXPECT is not set")?;
    let config = IngestConfig::from_env(&ProcessEnv).map_err(|err| err.to_string())?;
    let subscription = config
        .subscription
        .as_ref()
        .ok_or("the subscription is disabled")?;
    let http = build_client(subscription.salesforce.http_timeout).map_err(|e| e.to_string())?;
    let auth = Arc::new(JwtBearer::with_http(subscription.salesforce.clone(), http));
    let pubsub =
        PubSub::new(&subscription.pubsub_endpoint, None, auth).map_err(|e| e.to_string())?;
    let schemas = SchemaCache::new();
    let session = pubsub.session().await.map_err(|e| e.to_string())?;

    let window = (usize::try_from(config.concurrency).unwrap_or(16) + RESERVE).min(100);
    let (requests, receiver) = mpsc::channel::<FetchRequest>(64);
    requests
        .send(FetchRequest {
            topic_name: config.channel.clone(),
            replay_preset: ReplayPreset::Earliest.into(),
            num_requested: i32::try_from(window).unwrap_or(32),
            ..FetchRequest::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut responses = pubsub
        .subscribe(&session, ReceiverStream::new(receiver))
        .await
        .map_err(|e| e.to_string())?;

    let mut outstanding = window;
    let mut decoded = 0usize;
    let mut first = None;
    while decoded < expect {
        let Some(response) = responses.message().await.map_err(|e| e.to_string())? else {
            return Err("the stream ended".to_owned());
        };
        if !response.events.is_empty() && first.is_none() {
            first = Some(std::time::Instant::now());
        }
        outstanding = outstanding.saturating_sub(response.events.len());
        for event in response.events {
            let producer = event.event.unwrap_or_default();
            let schema = match schemas.get(&pubsub, &producer.schema_id).await {
                SchemaLookup::Found(schema) => schema,
                _ => return Err(format!("no schema {}", producer.schema_id)),
            };
            decode_order_id(&schema, &producer.schema_id, &producer.payload)
                .map_err(|e| e.to_string())?;
            decoded += 1;
        }
        // ingest's rule: ask again once half the window is used.
        let more = window - outstanding;
        if more * 2 >= window {
            outstanding += more;
            let request = FetchRequest {
                num_requested: i32::try_from(more).unwrap_or(1),
                ..FetchRequest::default()
            };
            requests.send(request).await.map_err(|e| e.to_string())?;
        }
    }
    let elapsed = first.map(|at| at.elapsed()).unwrap_or_default();
    println!(
        "done {decoded} {} {}",
        elapsed.as_micros(),
        own_cpu_time().as_micros()
    );
    Ok(())
}

/// Runs a bare subscriber over `expect` events with `env` (ingest's); returns events per
/// second and the CPU time it used.
pub(crate) async fn measure(env: &HashMap<String, String>, expect: usize) -> (f64, Duration) {
    let mut env = env.clone();
    env.insert("BENCH_EXPECT".to_owned(), expect.to_string());
    let mut process = RoleProcess::start(ROLE, &env);
    let parts = process.answer("done", Duration::from_secs(300)).await;
    let events: f64 = parts.first().and_then(|n| n.parse().ok()).unwrap_or(0.0);
    let micros: f64 = parts.get(1).and_then(|n| n.parse().ok()).unwrap_or(0.0);
    let cpu = parts.get(2).and_then(|n| n.parse().ok()).unwrap_or(0);
    (events / (micros.max(1.0) / 1e6), Duration::from_micros(cpu))
}
