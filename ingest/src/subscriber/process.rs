//! One event, from payload to a final answer: decode it with its writer schema, log that it is
//! enqueued, and deliver it to fulfillment until the answer is final. A poison event goes to the
//! dead-letter stream. Only a final answer (or a dead letter) finishes the event; until then the
//! cursor waits for it.

use std::time::Duration;

use bridge_proto::eventbus::v1::ConsumerEvent;

use super::Context;
use crate::{
    backoff::Backoff,
    dead_letters::DeadLetter,
    dispatch::Answer,
    event::{PoisonReason, decode_order_id},
    schemas::SchemaLookup,
};

/// The first wait before delivering an event again.
const RETRY_INITIAL: Duration = Duration::from_millis(200);
/// The longest wait between deliveries of one event.
const RETRY_CAP: Duration = Duration::from_secs(30);

/// Hex of a replay id, for logs.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Runs one event to a final answer. Returns when it is done; cancelled only by dropping.
pub(super) async fn process(context: &Context, event: ConsumerEvent) {
    let replay_id = event.replay_id;
    let producer = event.event.unwrap_or_default();
    let event_uuid = producer.id;
    let mut backoff = Backoff::new(RETRY_INITIAL, RETRY_CAP);
    let letter = |order_id: &str, reason: String| DeadLetter {
        replay_id: replay_id.clone(),
        schema_id: producer.schema_id.clone(),
        event_uuid: event_uuid.clone(),
        payload: producer.payload.clone(),
        order_id: order_id.to_owned(),
        reason,
        ..DeadLetter::default()
    };

    if replay_id.is_empty() {
        keep(context, letter("", PoisonReason::NoReplayId.to_string())).await;
        return;
    }

    let order_id = loop {
        let schema = match context
            .schemas
            .get(&context.pubsub, &producer.schema_id)
            .await
        {
            SchemaLookup::Found(schema) => schema,
            SchemaLookup::Poison(reason) => {
                keep(context, letter("", reason.to_string())).await;
                return;
            }
            SchemaLookup::Unavailable(err) => {
                tracing::warn!(event_uuid = %event_uuid, error = %err, "Cannot fetch the event's schema yet");
                tokio::time::sleep(backoff.next_wait()).await;
                continue;
            }
        };
        match decode_order_id(&schema, &producer.schema_id, &producer.payload) {
            Ok(order_id) => break order_id,
            Err(reason) => {
                keep(context, letter("", reason.to_string())).await;
                return;
            }
        }
    };

    tracing::info!(
        order_id = %order_id,
        event_uuid = %event_uuid,
        replay_id = %hex(&replay_id),
        "Platform Event enqueued for provisioning"
    );
    backoff.reset();
    loop {
        match context
            .dispatcher
            .deliver(&order_id, &event_uuid, &replay_id)
            .await
        {
            Answer::Done(how) => {
                metrics::counter!("ingest_events_dispatched_total").increment(1);
                tracing::info!(order_id = %order_id, event_uuid = %event_uuid, result = %how, "Event dispatched");
                return;
            }
            Answer::DeadLetter(why) => {
                let reason = format!("fulfillment refused the request: {why}");
                keep(context, letter(order_id.as_str(), reason)).await;
                return;
            }
            Answer::Retry { detail, alarming } => {
                let wait = backoff.next_wait();
                if alarming {
                    tracing::error!(order_id = %order_id, answer = %detail, "Fulfillment refused ingest's credentials; delivering again later");
                } else {
                    tracing::warn!(order_id = %order_id, answer = %detail, wait_ms = wait.as_millis() as u64, "Fulfillment cannot take the event now; delivering again later");
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// Stores a dead letter, retrying while Redis is away: an event is done only once it is kept.
async fn keep(context: &Context, letter: DeadLetter) {
    let mut backoff = Backoff::new(RETRY_INITIAL, RETRY_CAP);
    loop {
        match context.dead_letters.add(&letter).await {
            Ok(id) => {
                metrics::counter!("ingest_events_dead_lettered_total").increment(1);
                tracing::warn!(
                    dead_letter_id = %id,
                    event_uuid = %letter.event_uuid,
                    replay_id = %hex(&letter.replay_id),
                    reason = %letter.reason,
                    "Event dead-lettered"
                );
                return;
            }
            Err(err) => {
                tracing::warn!(error = %err, "Cannot store a dead letter yet; the cursor waits");
                tokio::time::sleep(backoff.next_wait()).await;
            }
        }
    }
}
