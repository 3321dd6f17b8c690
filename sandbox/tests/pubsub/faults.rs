//! Injected faults: every open stream ended with a chosen status, half-open silence, refused
//! subscriptions, and the shutdown.

use std::time::Duration;

use bridge_proto::eventbus::v1::ReplayPreset;
use tonic::Code;

use crate::{error_code, eventually, fetch, start, start_with};

const UNAVAILABLE: &str = "sfdc.platform.eventbus.grpc.service.unavailable";

#[tokio::test]
async fn end_streams_ends_every_open_stream_with_the_status_and_trailer() {
    let bus = start().await;
    let mut one = bus.subscribe_ok(fetch(ReplayPreset::Latest, &[], 5)).await;
    let mut two = bus
        .subscribe_ok(fetch(ReplayPreset::Earliest, &[], 5))
        .await;
    eventually("both are open", || bus.pubsub.active_streams() == 2).await;

    bus.pubsub.end_streams(
        Code::Internal,
        UNAVAILABLE,
        "The service is unavailable. Try again later.",
    );
    for stream in [&mut one, &mut two] {
        crate::assert_salesforce_error(
            &stream.ending().await,
            Code::Internal,
            "The service is unavailable. Try again later.",
            UNAVAILABLE,
        );
    }
    eventually("both are closed", || bus.pubsub.active_streams() == 0).await;

    // Streams opened afterwards are not affected.
    let mut three = bus.subscribe_ok(fetch(ReplayPreset::Latest, &[], 5)).await;
    let id = bus.pubsub.publish_order_event("801000000000001AAA");
    assert_eq!(three.events(1).await[0].replay_id, id);
    assert_eq!(bus.pubsub.streams_opened(), 3);
}

#[tokio::test]
async fn an_empty_error_code_ends_streams_without_the_trailer() {
    let bus = start().await;
    let mut stream = bus.subscribe_ok(fetch(ReplayPreset::Latest, &[], 5)).await;
    eventually("open", || bus.pubsub.active_streams() == 1).await;
    bus.pubsub.end_streams(Code::Unavailable, "", "Gone.");
    let status = stream.ending().await;
    assert_eq!(status.code(), Code::Unavailable);
    assert!(status.message().starts_with("Gone. rpcId: "));
    assert_eq!(error_code(&status), None);
}

#[tokio::test]
async fn a_silent_stream_sends_nothing_and_resumes_when_spoken_to_again() {
    let bus = start_with(|options| {
        options.keepalive_interval = Duration::from_millis(100);
        options.idle_close = Duration::from_millis(200);
    })
    .await;
    let mut stream = bus.subscribe_ok(fetch(ReplayPreset::Latest, &[], 5)).await;
    assert!(stream.next().await.events.is_empty(), "a keepalive first");

    bus.pubsub.go_silent(true);
    // Let a keepalive already in flight land before watching for silence.
    while !stream.stays_quiet(Duration::from_millis(250)).await {}
    let id = bus.pubsub.publish_order_event("801000000000001AAA");
    assert!(
        stream.stays_quiet(Duration::from_millis(500)).await,
        "no events, no keepalives, no idle close"
    );
    assert_eq!(bus.pubsub.delivered(), 0);
    assert_eq!(bus.pubsub.active_streams(), 1, "half-open, not closed");

    bus.pubsub.go_silent(false);
    assert_eq!(stream.events(1).await[0].replay_id, id);
}

#[tokio::test]
async fn rejected_subscribes_fail_at_their_first_request_then_calls_go_through() {
    let bus = start().await;
    bus.pubsub
        .reject_subscribes(2, Code::Unavailable, UNAVAILABLE);
    for _ in 0..2 {
        let status = bus
            .subscribe(fetch(ReplayPreset::Latest, &[], 5))
            .await
            .err()
            .expect("rejected");
        crate::assert_salesforce_error(
            &status,
            Code::Unavailable,
            "The service is unavailable. Try again later.",
            UNAVAILABLE,
        );
    }
    let mut stream = bus.subscribe_ok(fetch(ReplayPreset::Latest, &[], 5)).await;
    let id = bus.pubsub.publish_order_event("801000000000001AAA");
    assert_eq!(stream.events(1).await[0].replay_id, id);

    assert_eq!(bus.pubsub.streams_opened(), 1);
    let streams: Vec<usize> = bus
        .pubsub
        .fetch_requests()
        .iter()
        .map(|fetch| fetch.stream)
        .collect();
    assert_eq!(streams, [1, 2, 3]);
}

#[tokio::test]
async fn shutdown_ends_open_streams_and_stops_serving() {
    let bus = start().await;
    let mut stream = bus.subscribe_ok(fetch(ReplayPreset::Latest, &[], 5)).await;
    eventually("open", || bus.pubsub.active_streams() == 1).await;

    crate::within(bus.pubsub.shutdown()).await;
    let status = stream.ending().await;
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(error_code(&status).as_deref(), Some(UNAVAILABLE));
    let refused =
        tokio::net::TcpStream::connect(bus.pubsub.endpoint().trim_start_matches("http://")).await;
    assert!(refused.is_err(), "the port is closed");
}
