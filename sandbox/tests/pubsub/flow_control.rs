//! Credit on a stream: added per request, capped at 100, never exceeded, reported in
//! `pending_num_requested`; refusals of non-positive amounts and of another topic;
//! keepalives while credit is left; the idle close when it is not.

use std::time::{Duration, Instant};

use bridge_proto::eventbus::v1::{FetchRequest, ReplayPreset};
use tonic::Code;

use crate::{counter, eventually, fetch, more, start, start_with};

const REQUESTED_INVALID: &str =
    "sfdc.platform.eventbus.grpc.subscription.fetch.requested.events.invalid";
const REQUESTED_INVALID_TEXT: &str =
    "The requested number of events in a fetch request must be greater than zero";

#[tokio::test]
async fn credit_is_capped_at_100_and_never_exceeded() {
    let bus = start().await;
    for n in 0..130 {
        bus.pubsub
            .publish_order_event(&format!("801000000000{n:03}AAA"));
    }
    let mut stream = bus
        .subscribe_ok(fetch(ReplayPreset::Earliest, &[], 150))
        .await;

    let mut received = 0;
    let mut responses = 0;
    while received < 100 {
        let response = stream.next().await;
        received += response.events.len();
        responses += 1;
        assert_eq!(
            response.pending_num_requested,
            i32::try_from(100 - received).expect("small"),
            "after {received} events"
        );
        let last = response.events.last().expect("not a keepalive");
        assert_eq!(response.latest_replay_id, last.replay_id);
        assert!(!response.rpc_id.is_empty());
    }
    assert_eq!(received, 100, "the cap of 100 outstanding holds");
    assert!(responses < 100, "several events go in one response");
    assert!(stream.stays_quiet(Duration::from_millis(300)).await);
    assert_eq!(bus.pubsub.delivered(), 100);
    assert_eq!(bus.pubsub.max_outstanding_requested(), 150);

    stream.request(more(20));
    let events = stream.events(20).await;
    assert_eq!(events.len(), 20);
    assert!(counter(&events[0].replay_id) < counter(&events[19].replay_id));
    assert_eq!(bus.pubsub.delivered(), 120);
    // 150 − 100 + 20: what the client asked for and has not had, uncapped.
    assert_eq!(bus.pubsub.max_outstanding_requested(), 150);
}

#[tokio::test]
async fn credit_adds_up_across_requests_and_every_request_is_recorded() {
    let bus = start().await;
    let mut stream = bus.subscribe_ok(fetch(ReplayPreset::Latest, &[], 2)).await;
    stream.request(more(3));
    eventually("both requests are in", || {
        bus.pubsub.fetch_requests().len() == 2
    })
    .await;
    for n in 0..6 {
        bus.pubsub
            .publish_order_event(&format!("80100000000000{n}AAA"));
    }
    let events = stream.events(5).await;
    assert_eq!(events.len(), 5);
    assert!(stream.stays_quiet(Duration::from_millis(300)).await);

    let fetches = bus.pubsub.fetch_requests();
    assert_eq!(fetches[0].stream, 1);
    assert_eq!(fetches[0].topic_name, crate::ORDER_CHANNEL);
    assert_eq!(fetches[0].num_requested, 2);
    assert_eq!(fetches[1].stream, 1);
    assert_eq!(fetches[1].topic_name, "");
    assert_eq!(fetches[1].num_requested, 3);
    assert_eq!(bus.pubsub.max_outstanding_requested(), 5);
    assert_eq!(bus.pubsub.streams_opened(), 1);
    assert_eq!(bus.pubsub.active_streams(), 1);
}

#[tokio::test]
async fn zero_or_negative_num_requested_is_refused_first_or_later() {
    let bus = start().await;
    for n in [0, -5] {
        let status = bus
            .subscribe(fetch(ReplayPreset::Latest, &[], n))
            .await
            .err()
            .expect("refused");
        crate::assert_salesforce_error(
            &status,
            Code::InvalidArgument,
            REQUESTED_INVALID_TEXT,
            REQUESTED_INVALID,
        );
    }
    assert_eq!(bus.pubsub.streams_opened(), 0);

    let mut stream = bus.subscribe_ok(fetch(ReplayPreset::Latest, &[], 1)).await;
    stream.request(more(0));
    let status = stream.ending().await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        crate::error_code(&status).as_deref(),
        Some(REQUESTED_INVALID)
    );
    eventually("the stream closes", || bus.pubsub.active_streams() == 0).await;
}

#[tokio::test]
async fn another_topic_later_on_the_stream_is_refused_and_the_same_one_is_fine() {
    let bus = start().await;
    let mut stream = bus.subscribe_ok(fetch(ReplayPreset::Latest, &[], 1)).await;
    stream.request(fetch(ReplayPreset::Earliest, &[], 1));
    stream.request(FetchRequest {
        topic_name: "/event/Other__e".to_owned(),
        num_requested: 1,
        ..FetchRequest::default()
    });
    let status = stream.ending().await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        crate::error_code(&status).as_deref(),
        Some("sfdc.platform.eventbus.grpc.subscription.fetch.topic.mismatch")
    );
    assert_eq!(bus.pubsub.fetch_requests().len(), 3);
}

#[tokio::test]
async fn keepalives_carry_the_newest_position_which_can_be_resumed_from() {
    let bus = start_with(|options| options.keepalive_interval = Duration::from_millis(150)).await;
    let last_event = bus.pubsub.publish_order_event("801000000000001AAA");
    let mut stream = bus.subscribe_ok(fetch(ReplayPreset::Latest, &[], 7)).await;

    let started = Instant::now();
    let first = stream.next().await;
    let second = stream.next().await;
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "one interval apart"
    );
    for keepalive in [&first, &second] {
        assert!(keepalive.events.is_empty());
        assert_eq!(keepalive.pending_num_requested, 7);
        assert_eq!(keepalive.latest_replay_id.len(), 10);
        assert!(!keepalive.rpc_id.is_empty());
    }
    // Other orgs' traffic moves the shared bus on between keepalives.
    assert!(counter(&first.latest_replay_id) > counter(&last_event));
    assert!(counter(&second.latest_replay_id) > counter(&first.latest_replay_id));
    assert_eq!(bus.pubsub.latest_replay_id(), second.latest_replay_id);

    // A keepalive's position is a valid place to resume from.
    let next = bus.pubsub.publish_order_event("801000000000002AAA");
    let mut resumed = bus
        .subscribe_ok(fetch(ReplayPreset::Custom, &first.latest_replay_id, 5))
        .await;
    let events = resumed.events(1).await;
    assert_eq!(events[0].replay_id, next);
}

#[tokio::test]
async fn a_stream_with_no_credit_left_is_reset_after_the_idle_close() {
    let idle = Duration::from_millis(400);
    let bus = start_with(|options| {
        options.idle_close = idle;
        options.keepalive_interval = Duration::from_millis(100);
    })
    .await;
    let mut stream = bus.subscribe_ok(fetch(ReplayPreset::Latest, &[], 1)).await;
    bus.pubsub.publish_order_event("801000000000001AAA");
    let drained = Instant::now();
    stream.events(1).await;

    let status = stream.ending().await;
    assert!(drained.elapsed() >= idle, "not before the idle close");
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(
        status.message(),
        "RST_STREAM closed stream. HTTP/2 error code: NO_ERROR"
    );
    eventually("the stream closes", || bus.pubsub.active_streams() == 0).await;
}

#[tokio::test]
async fn asking_again_in_time_keeps_the_stream_open_past_the_idle_close() {
    let idle = Duration::from_millis(400);
    let bus = start_with(|options| options.idle_close = idle).await;
    let mut stream = bus.subscribe_ok(fetch(ReplayPreset::Latest, &[], 1)).await;
    bus.pubsub.publish_order_event("801000000000001AAA");
    stream.events(1).await;
    stream.request(more(1));
    // No credit was left only briefly; with credit outstanding the stream stays open.
    assert!(stream.stays_quiet(idle * 2).await);
    assert_eq!(bus.pubsub.active_streams(), 1);
    bus.pubsub.publish_order_event("801000000000002AAA");
    assert_eq!(stream.events(1).await.len(), 1);
}

#[tokio::test]
async fn a_client_that_goes_away_closes_its_stream() {
    let bus = start().await;
    let stream = bus.subscribe_ok(fetch(ReplayPreset::Latest, &[], 5)).await;
    eventually("open", || bus.pubsub.active_streams() == 1).await;
    drop(stream);
    eventually("closed", || bus.pubsub.active_streams() == 0).await;
    assert_eq!(bus.pubsub.streams_opened(), 1);
}

#[tokio::test]
async fn a_call_that_never_sends_its_first_request_is_reset() {
    let bus = start_with(|options| options.idle_close = Duration::from_millis(300)).await;
    let (_requests, outbound) = tokio::sync::mpsc::unbounded_channel::<FetchRequest>();
    let status = crate::within(bus.client.clone().subscribe(bus.authed(
        tokio_stream::wrappers::UnboundedReceiverStream::new(outbound),
    )))
    .await
    .expect_err("reset");
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(bus.pubsub.streams_opened(), 0);
    assert!(bus.pubsub.fetch_requests().is_empty());
}
