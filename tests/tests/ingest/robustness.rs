//! The ways known subscribers lose or repeat events, each tried against ingest: a reconnect
//! before any cursor exists, a mistyped ResetCursor, a session that dies between schemas, a long
//! run holding every slot, and a drain longer than the lease.

use std::time::Duration;

use bridge_proto::ingest::v1::{
    ResetCursorRequest, ResetTarget, ingest_service_client::IngestServiceClient,
};
use sandbox::pubsub::PubSubOptions;

use crate::harness::{World, eventually, order_id};

const EARLIEST: i32 = 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_before_any_cursor_exists_does_not_skip_the_event_in_flight() {
    let world = World::start(PubSubOptions::default()).await;
    world.fulfillment.set_unavailable(true);
    let ingest = world.ingest(&[]).await;
    world.wait_for_stream(1).await;
    let waiting = order_id(1);
    world.pubsub.publish_order_event(&waiting);
    eventually("the first delivery", Duration::from_secs(20), || async {
        world.fulfillment.calls().contains(&waiting).then_some(())
    })
    .await;
    assert_eq!(world.stored_cursor(), None);

    world.pubsub.end_streams(
        tonic::Code::Unavailable,
        "sfdc.platform.eventbus.grpc.service.unavailable",
        "gone",
    );
    world.wait_for_stream(2).await;
    let reopened = world
        .pubsub
        .fetch_requests()
        .into_iter()
        .find(|fetch| fetch.stream == 2)
        .expect("stream 2");
    assert_eq!(
        reopened.replay_preset, EARLIEST,
        "never LATEST after the first stream"
    );

    world.fulfillment.set_unavailable(false);
    world.wait_dispatched(&[waiting]).await;
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mistyped_reset_keeps_the_stored_cursor() {
    let world = World::start(PubSubOptions::default()).await;
    let ingest = world
        .ingest(&[("SF_EVENTS_REPLAY_FALLBACK", "LATEST")])
        .await;
    world.wait_for_stream(1).await;
    let first = world.pubsub.publish_order_event(&order_id(1));
    world.wait_dispatched(&[order_id(1)]).await;
    world.wait_cursor(&first).await;

    let mut admin = IngestServiceClient::connect(format!("http://{}", ingest.grpc_addr))
        .await
        .expect("admin");
    admin
        .reset_cursor(ResetCursorRequest {
            target: ResetTarget::ReplayId.into(),
            replay_id: b"0000000001".to_vec(),
        })
        .await
        .expect("ResetCursor");

    // The refused id never reaches Redis, and the stream goes back to the stored cursor.
    eventually(
        "a stream back on the stored cursor",
        Duration::from_secs(20),
        || async {
            world
                .pubsub
                .fetch_requests()
                .into_iter()
                .any(|fetch| fetch.stream >= 3 && fetch.replay_id == first)
                .then_some(())
        },
    )
    .await;
    assert_eq!(world.stored_cursor(), Some(first));
    let second = order_id(2);
    world.pubsub.publish_order_event(&second);
    world.wait_dispatched(&[second]).await;
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_died_is_renewed_for_a_new_schema() {
    let world = World::start(PubSubOptions::default()).await;
    let ingest = world.ingest(&[]).await;
    world.wait_for_stream(1).await;
    world.pubsub.publish_order_event(&order_id(1));
    world.wait_dispatched(&[order_id(1)]).await;
    let tokens = world.salesforce.tokens_issued();

    world.salesforce.expire_sessions();
    let schema = r#"{"type":"record","name":"OrderProvisionRequested__e","namespace":"com.sforce.eventbus","fields":[{"name":"CreatedDate","type":"long"},{"name":"CreatedById","type":"string"},{"name":"OrderId__c","type":["null","string"],"default":null},{"name":"Priority__c","type":["null","string"],"default":null}]}"#;
    let schema_id = world.pubsub.register_schema(schema);
    let order = order_id(2);
    // CreatedDate 0, CreatedById "005", OrderId__c, Priority__c null.
    let mut payload = vec![0x00, 0x06, b'0', b'0', b'5', 0x02, 0x24];
    payload.extend_from_slice(order.as_bytes());
    payload.push(0x00);
    world
        .pubsub
        .publish_raw(&schema_id, payload, "uuid-new-schema");

    world.wait_dispatched(&[order]).await;
    assert!(
        world.salesforce.tokens_issued() > tokens,
        "authenticated again for GetSchema"
    );
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credit_stays_outstanding_while_a_long_run_holds_every_slot() {
    let world = World::start(PubSubOptions {
        idle_close: Duration::from_millis(800),
        ..PubSubOptions::default()
    })
    .await;
    let orders: Vec<String> = (0..6).map(order_id).collect();
    world
        .fulfillment
        .slow_down(&orders[0], Duration::from_secs(3));
    let ingest = world.ingest(&[("INGEST_CONCURRENCY", "1")]).await;
    world.wait_for_stream(1).await;
    for order in &orders {
        world.pubsub.publish_order_event(order);
    }

    world.wait_dispatched(&orders).await;
    assert_eq!(
        world.streams_seen(),
        1,
        "the server never closed the stream for lack of credit"
    );
    assert!(world.pubsub.max_outstanding_requested() <= 100);
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_longer_than_the_lease_still_writes_the_cursor() {
    let world = World::start(PubSubOptions::default()).await;
    let orders: Vec<String> = (0..3).map(order_id).collect();
    world
        .fulfillment
        .slow_down(&orders[2], Duration::from_secs(3));
    let ingest = world
        .ingest(&[("INGEST_LEASE_TTL", "1500ms"), ("SHUTDOWN_GRACE", "8s")])
        .await;
    world.wait_for_stream(1).await;
    let mut last = Vec::new();
    for order in &orders {
        last = world.pubsub.publish_order_event(order);
    }
    eventually(
        "the slow call to start",
        Duration::from_secs(20),
        || async { world.fulfillment.calls().contains(&orders[2]).then_some(()) },
    )
    .await;

    ingest.stop().await;

    assert!(
        world.fulfillment.finished().contains(&orders[2]),
        "the drain let it finish"
    );
    assert_eq!(
        world.stored_cursor(),
        Some(last),
        "and the cursor covers it"
    );
    let released = world.logs.lines_with(&["Released the leader lease"]);
    assert!(!released.is_empty(), "the lease was still ours to release");
}
