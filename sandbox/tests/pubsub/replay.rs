//! Where a subscription starts: LATEST, EARLIEST and CUSTOM, the replay id's wire form, the
//! refusals for empty, corrupted and expired ids, and events the org's Flow publishes.

use std::time::Duration;

use apache_avro::types::Value;
use bridge_proto::eventbus::v1::{ConsumerEvent, ReplayPreset};
use sandbox::salesforce::{NewItem, NewOrder};
use tonic::Code;

use crate::{assert_salesforce_error, counter, fetch, order_id_of, start};

const CORRUPTED: &str = "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted";
const VALIDATION_FAILED: &str =
    "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed";

fn order_ids(schema: &apache_avro::Schema, events: &[ConsumerEvent]) -> Vec<String> {
    events
        .iter()
        .map(|event| order_id_of(schema, event).expect("an order id"))
        .collect()
}

#[tokio::test]
async fn latest_sees_only_new_events_and_earliest_sees_all() {
    let bus = start().await;
    let schema = bus.order_schema().await;
    let first = bus.pubsub.publish_order_event("801000000000001AAA");
    assert_eq!(first.len(), 10);
    assert_eq!(&first[8..], [0, 0]);
    assert_eq!(bus.pubsub.latest_replay_id(), first);

    let mut latest = bus.subscribe_ok(fetch(ReplayPreset::Latest, &[], 10)).await;
    let mut earliest = bus
        .subscribe_ok(fetch(ReplayPreset::Earliest, &[], 10))
        .await;
    let second = bus.pubsub.publish_order_event("801000000000002AAA");
    assert!(counter(&second) > counter(&first));

    let seen = latest.events(1).await;
    assert_eq!(order_ids(&schema, &seen), ["801000000000002AAA"]);
    assert_eq!(seen[0].replay_id, second);

    let all = earliest.events(2).await;
    assert_eq!(
        order_ids(&schema, &all),
        ["801000000000001AAA", "801000000000002AAA"]
    );
    assert_eq!(all[0].replay_id, first);
    assert_eq!(all[1].replay_id, second);
    let event = all[0].event.as_ref().expect("an event");
    assert_eq!(event.schema_id, bus.pubsub.order_schema_id());
    assert!(uuid::Uuid::parse_str(&event.id).is_ok(), "{}", event.id);
    assert!(event.headers.is_empty());
}

#[tokio::test]
async fn custom_resumes_after_the_given_id_in_ten_or_eight_bytes() {
    let bus = start().await;
    let schema = bus.order_schema().await;
    let ids: Vec<Vec<u8>> = [
        "801000000000001AAA",
        "801000000000002AAA",
        "801000000000003AAA",
    ]
    .iter()
    .map(|order| bus.pubsub.publish_order_event(order))
    .collect();

    let mut ten = bus
        .subscribe_ok(fetch(ReplayPreset::Custom, &ids[0], 10))
        .await;
    let events = ten.events(2).await;
    assert_eq!(
        order_ids(&schema, &events),
        ["801000000000002AAA", "801000000000003AAA"]
    );

    let mut eight = bus
        .subscribe_ok(fetch(ReplayPreset::Custom, &ids[1][..8], 10))
        .await;
    let events = eight.events(1).await;
    assert_eq!(order_ids(&schema, &events), ["801000000000003AAA"]);
    assert_eq!(events[0].replay_id, ids[2], "delivered ids stay 10 bytes");

    let mut at_tip = bus
        .subscribe_ok(fetch(ReplayPreset::Custom, &ids[2], 10))
        .await;
    let fourth = bus.pubsub.publish_order_event("801000000000004AAA");
    let events = at_tip.events(1).await;
    assert_eq!(events[0].replay_id, fourth);
}

#[tokio::test]
async fn an_empty_custom_id_fails_validation_and_bad_ids_are_corrupted() {
    let bus = start().await;
    let real = bus.pubsub.publish_order_event("801000000000001AAA");

    let status = bus
        .subscribe(fetch(ReplayPreset::Custom, &[], 5))
        .await
        .err()
        .expect("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        crate::error_code(&status).as_deref(),
        Some(VALIDATION_FAILED)
    );
    assert!(status.message().contains(" rpcId: "));

    let mut unknown = real.clone();
    unknown[7] = unknown[7].wrapping_add(1);
    let mut bad_tail = real.clone();
    bad_tail[9] = 1;
    let decimal = counter(&real).to_string().into_bytes();
    for (case, id) in [
        ("a position never reported", unknown),
        ("a non-zero tail", bad_tail),
        ("the counter as decimal text", decimal),
        ("three bytes", vec![1, 2, 3]),
    ] {
        let status = bus
            .subscribe(fetch(ReplayPreset::Custom, &id, 5))
            .await
            .err()
            .unwrap_or_else(|| panic!("{case} was accepted"));
        assert_eq!(status.code(), Code::InvalidArgument, "{case}");
        assert_eq!(
            crate::error_code(&status).as_deref(),
            Some(CORRUPTED),
            "{case}"
        );
    }
    assert_eq!(bus.pubsub.streams_opened(), 0);
}

#[tokio::test]
async fn ids_older_than_retention_are_corrupted_and_their_events_gone() {
    let bus = start_retention(Duration::from_secs(3600)).await;
    let old = bus.pubsub.publish_order_event("801000000000001AAA");

    bus.pubsub.advance_clock(Duration::from_secs(1800));
    let recent = bus.pubsub.publish_order_event("801000000000002AAA");
    bus.subscribe_ok(fetch(ReplayPreset::Custom, &old, 1))
        .await
        .events(1)
        .await;

    bus.pubsub.advance_clock(Duration::from_secs(1801));
    let status = bus
        .subscribe(fetch(ReplayPreset::Custom, &old, 1))
        .await
        .err()
        .expect("expired");
    assert_salesforce_error(
        &status,
        Code::InvalidArgument,
        "The Replay ID validation failed. Ensure that the Replay ID is valid and within the retention window.",
        CORRUPTED,
    );

    let schema = bus.order_schema().await;
    let mut earliest = bus
        .subscribe_ok(fetch(ReplayPreset::Earliest, &[], 10))
        .await;
    let events = earliest.events(1).await;
    assert_eq!(events[0].replay_id, recent);
    assert_eq!(order_ids(&schema, &events), ["801000000000002AAA"]);
}

async fn start_retention(retention: Duration) -> crate::Bus {
    crate::start_with(|options| options.retention = retention).await
}

#[tokio::test]
async fn orders_approved_in_the_org_arrive_decodable_with_their_order_id() {
    let sf = crate::start_org().await;
    let account = sf.add_account("Acme Ltd", Some("1042"));
    let product = sf.add_product("VPS Small", Some("7"), Some("Monthly"));
    let new_order = || NewOrder {
        account_id: account.clone(),
        pricebook_id: sf.standard_pricebook_id(),
        items: vec![NewItem {
            product_id: product.clone(),
            quantity: 1.0,
            unit_price: 40.0,
        }],
    };
    // Approved before the bus starts: still on the channel, as it would be on the real bus.
    let before = sf.add_order(new_order());
    let early = sf.approve_order(&before).expect("approved");
    let bus = crate::attach(sf.clone(), crate::quiet_options()).await;

    let mut stream = bus
        .subscribe_ok(fetch(ReplayPreset::Earliest, &[], 10))
        .await;
    let order = sf.add_order(new_order());
    let published = sf.approve_order(&order).expect("approved");
    let third = sf.add_order(new_order());
    sf.approve_order(&third).expect("approved");

    let schema = bus.order_schema().await;
    let events = stream.events(3).await;
    assert_eq!(
        order_ids(&schema, &events),
        [before.clone(), order.clone(), third.clone()]
    );
    let ids: Vec<&str> = events
        .iter()
        .map(|event| event.event.as_ref().expect("an event").id.as_str())
        .collect();
    assert_eq!(
        ids[..2],
        [early.event_uuid.as_str(), published.event_uuid.as_str()]
    );

    let payload = &events[1].event.as_ref().expect("an event").payload;
    let value = apache_avro::reader::datum::GenericDatumReader::builder(&schema)
        .build()
        .expect("a reader")
        .read_value(&mut payload.as_slice())
        .expect("a datum");
    let Value::Record(fields) = value else {
        panic!("not a record");
    };
    assert_eq!(
        fields[0],
        (
            "CreatedDate".to_owned(),
            Value::Long(published.created_date_ms)
        )
    );
    assert_eq!(
        fields[1],
        (
            "CreatedById".to_owned(),
            Value::String(published.created_by_id.clone())
        )
    );
    assert_eq!(bus.pubsub.delivered(), 3);
}

#[tokio::test]
async fn the_ledger_lists_every_event_with_the_replay_id_it_is_delivered_with() {
    let bus = start().await;
    let first = bus.pubsub.publish_order_event("801000000000001AAA");
    let schema_id = bus.pubsub.order_schema_id();
    let second = bus
        .pubsub
        .publish_raw(&schema_id, vec![1, 2, 3], "a-broken-event");

    let ledger = bus.pubsub.ledger();
    let replay_ids: Vec<&[u8]> = ledger.iter().map(|e| e.replay_id.as_slice()).collect();
    assert_eq!(replay_ids, [first.as_slice(), second.as_slice()]);
    assert_eq!(ledger[1].event_uuid, "a-broken-event");

    let mut stream = bus
        .subscribe_ok(fetch(ReplayPreset::Earliest, &[], 10))
        .await;
    let delivered = stream.events(2).await;
    for (entry, event) in ledger.iter().zip(&delivered) {
        assert_eq!(entry.replay_id, event.replay_id);
        assert_eq!(entry.event_uuid, event.event.as_ref().expect("an event").id);
    }
}
