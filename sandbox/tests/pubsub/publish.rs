//! `Publish`: results in request order with replay ids and correlation keys, per-event errors
//! that leave the rest of the batch alone, the 4 MB reset, and delivery to subscribers; and
//! broken events put on the channel directly.

use bridge_proto::eventbus::v1::{
    ErrorCode, ProducerEvent, PublishRequest, ReplayPreset, TopicRequest,
};
use tonic::Code;

use crate::{ORDER_CHANNEL, counter, fetch, order_id_of, start};

fn event(id: &str, schema_id: &str, payload: Vec<u8>) -> ProducerEvent {
    ProducerEvent {
        id: id.to_owned(),
        schema_id: schema_id.to_owned(),
        payload,
        headers: Vec::new(),
    }
}

#[tokio::test]
async fn a_batch_gets_one_result_per_event_in_order_and_bad_events_fail_alone() {
    let bus = start().await;
    let schema_id = bus.pubsub.order_schema_id();
    let mut stream = bus.subscribe_ok(fetch(ReplayPreset::Latest, &[], 10)).await;
    let good = bus.pubsub.encode_order_event(Some("801000000000001AAA"));
    let request = PublishRequest {
        topic_name: ORDER_CHANNEL.to_owned(),
        events: vec![
            event("key-1", &schema_id, good.clone()),
            event("", &schema_id, good[..good.len() - 3].to_vec()),
            event("key-3", &schema_id, vec![0; 1024 * 1024 + 1]),
            event("key-4", "no-such-schema-id", good.clone()),
            event("", &schema_id, bus.pubsub.encode_order_event(None)),
        ],
        auth_refresh: String::new(),
    };
    let response = bus
        .client
        .clone()
        .publish(bus.authed(request))
        .await
        .expect("published")
        .into_inner();
    assert_eq!(response.schema_id, schema_id);
    assert!(!response.rpc_id.is_empty());
    let results = response.results;
    assert_eq!(results.len(), 5);

    assert_eq!(results[0].correlation_key, "key-1");
    assert_eq!(results[0].replay_id.len(), 10);
    assert!(results[0].error.is_none());
    for (index, result) in results.iter().enumerate().skip(1).take(3) {
        let error = result
            .error
            .as_ref()
            .unwrap_or_else(|| panic!("event {index} should fail"));
        assert_eq!(error.code, i32::from(ErrorCode::Publish), "{index}");
        assert!(!error.msg.is_empty());
        assert!(result.replay_id.is_empty());
    }
    assert!(uuid::Uuid::parse_str(&results[1].correlation_key).is_ok());
    assert_eq!(results[3].correlation_key, "key-4");
    assert!(results[4].error.is_none());
    assert!(counter(&results[4].replay_id) > counter(&results[0].replay_id));

    let schema = bus.order_schema().await;
    let events = stream.events(2).await;
    assert_eq!(events[0].replay_id, results[0].replay_id);
    assert_eq!(events[0].event.as_ref().expect("event").id, "key-1");
    assert_eq!(
        order_id_of(&schema, &events[0]).as_deref(),
        Some("801000000000001AAA")
    );
    assert_eq!(
        events[1].event.as_ref().expect("event").id,
        results[4].correlation_key
    );
    assert_eq!(order_id_of(&schema, &events[1]), None);
}

#[tokio::test]
async fn requests_over_4_mb_are_reset_and_unknown_topics_refused() {
    let bus = start().await;
    let schema_id = bus.pubsub.order_schema_id();
    let events = (0..5)
        .map(|n| event(&format!("big-{n}"), &schema_id, vec![0; 1000 * 1000]))
        .collect();
    let status = bus
        .client
        .clone()
        .publish(bus.authed(PublishRequest {
            topic_name: ORDER_CHANNEL.to_owned(),
            events,
            auth_refresh: String::new(),
        }))
        .await
        .expect_err("too large");
    assert_eq!(status.code(), Code::Unavailable);
    assert!(status.message().starts_with("upstream connect error"));

    let status = bus
        .client
        .clone()
        .publish(bus.authed(PublishRequest {
            topic_name: "/event/Nope__e".to_owned(),
            events: vec![event("", &schema_id, bus.pubsub.encode_order_event(None))],
            auth_refresh: String::new(),
        }))
        .await
        .expect_err("unknown topic");
    assert_eq!(status.code(), Code::NotFound);

    let before = bus.pubsub.latest_replay_id();
    let status = bus
        .client
        .clone()
        .publish(bus.authed(PublishRequest {
            topic_name: ORDER_CHANNEL.to_owned(),
            events: Vec::new(),
            auth_refresh: String::new(),
        }))
        .await
        .expect_err("no events");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        bus.pubsub.latest_replay_id(),
        before,
        "nothing was appended"
    );
}

#[tokio::test]
async fn raw_events_are_delivered_exactly_as_given() {
    let bus = start().await;
    let mut stream = bus.subscribe_ok(fetch(ReplayPreset::Latest, &[], 3)).await;
    let id = bus.pubsub.publish_raw(
        "AAAAAAAAAAAAAAAAAAAAAA",
        vec![0xff, 0x00, 0x13],
        "not-a-uuid",
    );
    let empty_schema = bus.pubsub.publish_raw("", Vec::new(), "");
    let events = stream.events(2).await;
    let raw = events[0].event.as_ref().expect("event");
    assert_eq!(events[0].replay_id, id);
    assert_eq!(raw.schema_id, "AAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(raw.payload, [0xff, 0x00, 0x13]);
    assert_eq!(raw.id, "not-a-uuid");
    assert_eq!(events[1].replay_id, empty_schema);
    assert_eq!(events[1].event.as_ref().expect("event").schema_id, "");
}

#[tokio::test]
async fn publish_stream_and_managed_subscribe_are_not_offered() {
    let bus = start().await;
    let (_keep, outbound) = tokio::sync::mpsc::unbounded_channel::<PublishRequest>();
    let status = bus
        .client
        .clone()
        .publish_stream(
            bus.authed(tokio_stream::wrappers::UnboundedReceiverStream::new(
                outbound,
            )),
        )
        .await
        .expect_err("unimplemented");
    assert_eq!(status.code(), Code::Unimplemented);

    // The unary RPCs still answer on the same connection.
    bus.client
        .clone()
        .get_topic(bus.authed(TopicRequest {
            topic_name: ORDER_CHANNEL.to_owned(),
        }))
        .await
        .expect("the topic");
}
