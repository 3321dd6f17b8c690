//! The admin service and the switches operators use: GetStatus, dead letters redriven once the
//! cause is fixed, a cursor reset, and `SF_EVENTS_ENABLED=false`.

use std::time::Duration;

use bridge_proto::ingest::v1::{
    GetStatusRequest, ListDeadLettersRequest, RedriveDeadLetterRequest, ResetCursorRequest,
    ResetTarget, Role, ingest_service_client::IngestServiceClient,
};
use sandbox::pubsub::PubSubOptions;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::harness::{World, eventually, order_id};

async fn admin(addr: std::net::SocketAddr) -> IngestServiceClient<Channel> {
    IngestServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("the admin port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_is_redriven_once_fulfillment_accepts_it() {
    let world = World::start(PubSubOptions::default()).await;
    let ingest = world.ingest(&[]).await;
    world.wait_for_stream(1).await;
    let refused = order_id(7);
    world.fulfillment.refuse(&refused, true);
    let last = world.pubsub.publish_order_event(&refused);
    world.wait_cursor(&last).await;
    let mut client = admin(ingest.grpc_addr).await;

    let status = client
        .get_status(GetStatusRequest {})
        .await
        .expect("GetStatus")
        .into_inner();
    assert_eq!(status.role(), Role::Leader);
    assert_eq!(status.stored_cursor, last);
    assert_eq!(status.dead_lettered, 1);
    assert_eq!(status.channel, crate::harness::CHANNEL);
    assert!(status.events_seen >= 1);
    let letters = client
        .list_dead_letters(ListDeadLettersRequest::default())
        .await
        .expect("ListDeadLetters")
        .into_inner()
        .dead_letters;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].order_id, refused);
    assert!(
        letters[0].reason.contains("refused"),
        "{}",
        letters[0].reason
    );

    // Still refused: the letter stays, with the reason.
    let stays = client
        .redrive_dead_letter(RedriveDeadLetterRequest {
            id: letters[0].id.clone(),
        })
        .await
        .expect("Redrive")
        .into_inner();
    assert!(!stays.removed);
    assert!(stays.reason.contains("InvalidArgument"), "{}", stays.reason);

    world.fulfillment.refuse(&refused, false);
    let redriven = client
        .redrive_dead_letter(RedriveDeadLetterRequest {
            id: letters[0].id.clone(),
        })
        .await
        .expect("Redrive")
        .into_inner();
    assert!(redriven.removed);
    assert_eq!(
        redriven.fulfillment.expect("fulfillment's answer").order_id,
        refused
    );
    let after = client
        .get_status(GetStatusRequest {})
        .await
        .expect("GetStatus")
        .into_inner();
    assert_eq!(after.dead_lettered, 0);

    let missing = client
        .redrive_dead_letter(RedriveDeadLetterRequest {
            id: "1-0".to_owned(),
        })
        .await
        .expect_err("no such letter");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_cursor_resubscribes_from_the_given_replay_id() {
    let world = World::start(PubSubOptions::default()).await;
    let ingest = world.ingest(&[]).await;
    world.wait_for_stream(1).await;
    let orders: Vec<String> = (0..3).map(order_id).collect();
    let ids: Vec<Vec<u8>> = orders
        .iter()
        .map(|order| world.pubsub.publish_order_event(order))
        .collect();
    world.wait_dispatched(&orders).await;
    world.wait_cursor(&ids[2]).await;
    let calls_before = world.fulfillment.calls().len();

    let mut client = admin(ingest.grpc_addr).await;
    let answer = client
        .reset_cursor(ResetCursorRequest {
            target: ResetTarget::ReplayId.into(),
            replay_id: ids[0].clone(),
        })
        .await
        .expect("ResetCursor")
        .into_inner();
    assert_eq!(answer.previous_cursor, ids[2]);

    // Events after the new cursor are delivered again; fulfillment absorbs the duplicates.
    eventually("the replay", Duration::from_secs(20), || async {
        (world.fulfillment.calls().len() >= calls_before + 2).then_some(())
    })
    .await;
    let opening = world
        .pubsub
        .fetch_requests()
        .into_iter()
        .find(|fetch| fetch.stream == 2)
        .expect("a new stream");
    assert_eq!(
        (opening.replay_preset, opening.replay_id),
        (2, ids[0].clone())
    );
    world.wait_cursor(&ids[2]).await;

    let bad = client
        .reset_cursor(ResetCursorRequest {
            target: ResetTarget::ReplayId.into(),
            replay_id: Vec::new(),
        })
        .await
        .expect_err("no replay id");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    ingest.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_events_disabled_ingest_serves_but_subscribes_to_nothing() {
    let world = World::start(PubSubOptions::default()).await;
    let ingest = world.ingest(&[("SF_EVENTS_ENABLED", "false")]).await;

    let (status, body) =
        bridge_tests::http_get(&ingest.http_addr.to_string(), "/health").expect("the admin port");
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(health["integrations"]["salesforce"]["status"], "disabled");
    assert_eq!(health["integrations"]["redis"]["status"], "connected");

    let mut client = admin(ingest.grpc_addr).await;
    let status = client
        .get_status(GetStatusRequest {})
        .await
        .expect("GetStatus")
        .into_inner();
    assert_eq!(status.role(), Role::Disabled);
    let refused = client
        .reset_cursor(ResetCursorRequest {
            target: ResetTarget::Earliest.into(),
            replay_id: Vec::new(),
        })
        .await
        .expect_err("not the leader");
    assert_eq!(
        refused.get_details_error_info().expect("ErrorInfo").reason,
        "NOT_LEADER"
    );

    world.pubsub.publish_order_event(&order_id(1));
    assert_eq!(world.pubsub.streams_opened(), 0, "no subscription");
    assert!(
        !world
            .logs
            .lines_with(&["SF_EVENTS_ENABLED=false"])
            .is_empty()
    );
    ingest.stop().await;
}
