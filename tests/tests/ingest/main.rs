//! Ingest end to end, in process: the Pub/Sub emulator as Salesforce, a private Redis, and a
//! recording fulfillment service. Each test asserts on what the emulator saw the client send.

#![allow(
    clippy::unwrap_used,
    reason = "a test's helpers fail loudly on broken set-up"
)]

mod admin;
mod harness;
mod resilience;
mod robustness;

use std::time::Duration;

use bridge_proto::ingest::v1::{
    ListDeadLettersRequest, ingest_service_client::IngestServiceClient,
};
use harness::{World, eventually, order_id};
use sandbox::pubsub::PubSubOptions;

const CUSTOM: i32 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_events_in_bursts_are_each_dispatched_with_at_most_100_outstanding() {
    let world = World::start(PubSubOptions::default()).await;
    let ingest = world.ingest(&[]).await;
    world.wait_for_stream(1).await;

    let orders: Vec<String> = (0..1000).map(order_id).collect();
    let mut last = Vec::new();
    for burst in orders.chunks(100) {
        for order in burst {
            last = world.pubsub.publish_order_event(order);
        }
        tokio::task::yield_now().await;
    }

    world.wait_dispatched(&orders).await;
    world.wait_cursor(&last).await;
    assert!(
        world.pubsub.max_outstanding_requested() <= 100,
        "the client asked for {} outstanding",
        world.pubsub.max_outstanding_requested()
    );
    assert!(
        world
            .pubsub
            .fetch_requests()
            .iter()
            .all(|fetch| fetch.num_requested > 0)
    );
    assert_eq!(
        world.pubsub.streams_opened(),
        1,
        "one stream carried everything"
    );
    let enqueued = world
        .logs
        .lines_with(&["Platform Event enqueued for provisioning", &orders[999]]);
    assert!(!enqueued.is_empty(), "the runbook's enqueue line is logged");
    assert!(enqueued[0].contains("event_uuid") && enqueued[0].contains("replay_id"));

    let (status, body) =
        bridge_tests::http_get(&ingest.http_addr.to_string(), "/health").expect("the admin port");
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(health["integrations"]["redis"]["status"], "connected");
    assert_eq!(health["integrations"]["salesforce"]["status"], "subscribed");
    assert_eq!(health["integrations"]["salesforce"]["role"], "leader");
    let (status, metrics) =
        bridge_tests::http_get(&ingest.http_addr.to_string(), "/metrics").expect("the admin port");
    assert_eq!(status, 200);
    for name in [
        "ingest_events_received_total",
        "ingest_events_dispatched_total",
        "ingest_cursor_written_timestamp_seconds",
    ] {
        assert!(metrics.contains(name), "/metrics lacks {name}");
    }
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_with_custom_and_exactly_the_stored_bytes() {
    let world = World::start(PubSubOptions::default()).await;
    let first = world.ingest(&[]).await;
    world.wait_for_stream(1).await;
    let before: Vec<String> = (0..5).map(order_id).collect();
    let mut last = Vec::new();
    for order in &before {
        last = world.pubsub.publish_order_event(order);
    }
    world.wait_dispatched(&before).await;
    world.wait_cursor(&last).await;
    first.stop().await;

    let during: Vec<String> = (5..10).map(order_id).collect();
    for order in &during {
        last = world.pubsub.publish_order_event(order);
    }
    let stored = world.stored_cursor().expect("a cursor");
    let second = world.ingest(&[]).await;
    world.wait_for_stream(2).await;

    let resumed = world
        .pubsub
        .fetch_requests()
        .into_iter()
        .find(|fetch| fetch.stream == 2)
        .expect("a request");
    assert_eq!(resumed.replay_preset, CUSTOM);
    assert_eq!(resumed.replay_id, stored, "exactly the stored bytes");
    world.wait_dispatched(&during).await;
    world.wait_cursor(&last).await;
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_fulfillment_is_unavailable_nothing_is_skipped_and_the_cursor_waits() {
    let world = World::start(PubSubOptions::default()).await;
    world.fulfillment.set_unavailable(true);
    let ingest = world.ingest(&[]).await;
    world.wait_for_stream(1).await;
    let orders: Vec<String> = (0..3).map(order_id).collect();
    let mut last = Vec::new();
    for order in &orders {
        last = world.pubsub.publish_order_event(order);
    }

    eventually(
        "deliveries to be repeated",
        Duration::from_secs(20),
        || async {
            let calls = world.fulfillment.calls();
            (calls.iter().filter(|call| **call == orders[0]).count() >= 3).then_some(())
        },
    )
    .await;
    assert_eq!(
        world.stored_cursor(),
        None,
        "the cursor never passes a waiting event"
    );

    world.fulfillment.set_unavailable(false);
    world.wait_dispatched(&orders).await;
    world.wait_cursor(&last).await;
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_event_holds_the_cursor_while_later_events_finish() {
    let world = World::start(PubSubOptions::default()).await;
    let orders: Vec<String> = (0..5).map(order_id).collect();
    world
        .fulfillment
        .slow_down(&orders[0], Duration::from_secs(3));
    let ingest = world.ingest(&[]).await;
    world.wait_for_stream(1).await;
    let mut last = Vec::new();
    for order in &orders {
        last = world.pubsub.publish_order_event(order);
    }

    world.wait_dispatched(&orders[1..]).await;
    assert!(
        !world.fulfillment.finished().contains(&orders[0]),
        "the slow one is still running"
    );
    assert_eq!(
        world.stored_cursor(),
        None,
        "later events finishing first do not move the cursor"
    );

    world.wait_dispatched(&orders).await;
    world.wait_cursor(&last).await;
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_events_are_dead_lettered_with_their_bytes_and_good_ones_flow_around_them() {
    let world = World::start(PubSubOptions::default()).await;
    let ingest = world.ingest(&[]).await;
    world.wait_for_stream(1).await;
    let schema = world.pubsub.order_schema_id();
    let good = [order_id(1), order_id(2)];

    world.pubsub.publish_order_event(&good[0]);
    let garbage = b"\xff\xfe not an avro datum".to_vec();
    world
        .pubsub
        .publish_raw(&schema, garbage.clone(), "uuid-garbage");
    let unknown_payload = world.pubsub.encode_order_event(Some(&order_id(3)));
    world.pubsub.publish_raw(
        "AAAAAAAAAAAAAAAAAAAAAA",
        unknown_payload.clone(),
        "uuid-unknown-schema",
    );
    world.pubsub.publish_raw(
        &schema,
        world.pubsub.encode_order_event(None),
        "uuid-no-order",
    );
    let last = world.pubsub.publish_order_event(&good[1]);

    world.wait_dispatched(&good).await;
    world.wait_cursor(&last).await;

    let mut admin = IngestServiceClient::connect(format!("http://{}", ingest.grpc_addr))
        .await
        .expect("admin");
    let letters = admin
        .list_dead_letters(ListDeadLettersRequest {
            page_size: 10,
            page_token: String::new(),
        })
        .await
        .expect("ListDeadLetters")
        .into_inner()
        .dead_letters;
    assert_eq!(letters.len(), 3, "{letters:?}");
    let by_uuid = |uuid: &str| {
        letters
            .iter()
            .find(|letter| letter.event_uuid == uuid)
            .expect(uuid)
            .clone()
    };
    let garbled = by_uuid("uuid-garbage");
    assert_eq!(garbled.payload, garbage);
    assert!(
        garbled.reason.contains("not a valid Avro datum"),
        "{}",
        garbled.reason
    );
    assert!(!garbled.replay_id.is_empty());
    let unknown = by_uuid("uuid-unknown-schema");
    assert_eq!(unknown.payload, unknown_payload);
    assert_eq!(unknown.schema_id, "AAAAAAAAAAAAAAAAAAAAAA");
    assert!(unknown.reason.contains("unknown"), "{}", unknown.reason);
    assert!(by_uuid("uuid-no-order").reason.contains("OrderId__c"));
    assert_eq!(
        world.fulfillment.calls().len(),
        2,
        "poison never reached fulfillment"
    );
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_stored_replay_id_leads_to_exactly_one_fallback() {
    let world = World::start(PubSubOptions::default()).await;
    world
        .redis
        .command(&["SET", harness::CURSOR_KEY, "garbage-replay-id"])
        .expect("SET");
    let before = order_id(1);
    world.pubsub.publish_order_event(&before);
    let ingest = world.ingest(&[]).await;

    world.wait_for_stream(2).await;
    let fetches = world.pubsub.fetch_requests();
    let first = fetches
        .iter()
        .find(|fetch| fetch.stream == 1)
        .expect("stream 1");
    assert_eq!(
        (first.replay_preset, first.replay_id.as_slice()),
        (CUSTOM, b"garbage-replay-id".as_slice())
    );
    let second = fetches
        .iter()
        .find(|fetch| fetch.stream == 2)
        .expect("stream 2");
    assert_eq!(second.replay_preset, 1, "EARLIEST, the default fallback");

    // The fallback stream works: the retained event and a new one are both dispatched.
    let after = order_id(2);
    let last = world.pubsub.publish_order_event(&after);
    world.wait_dispatched(&[before, after]).await;
    world.wait_cursor(&last).await;
    assert_eq!(world.streams_seen(), 2, "no resubscribe loop");
    let fallbacks = world.logs.lines_with(&["refused the stored replay id"]);
    assert!(fallbacks.iter().all(|line| line.contains("ERROR")) && !fallbacks.is_empty());
    ingest.stop().await;
}
