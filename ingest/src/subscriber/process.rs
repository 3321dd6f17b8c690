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

    if replay_id.is_empty() {
        dead_letter(
            context,
            &replay_id,
            &producer.schema_id,
            &event_uuid,
            &producer.payload,
            "",
            &PoisonReason::NoReplayId,
        )
        .await;
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
                dead_letter(
                    context,
                    &replay_id,
                    &producer.schema_id,
                    &event_uuid,
                    &producer.payload,
                    "",
                    &reason,
                )
                .await;
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
                dead_letter(
                    context,
                    &replay_id,
                    &producer.schema_id,
                    &event_uuid,
                    &producer.payload,
                    "",
                    &reason,
                )
                .await;
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
                dead_letter_text(
                    context,
                    &replay_id,
                    &producer.schema_id,
                    &event_uuid,
                    &producer.payload,
                    order_id.as_str(),
                    &reason,
                )
                .await;
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

async fn dead_letter(
    context: &Context,
    replay_id: &[u8],
    schema_id: &str,
    event_uuid: &str,
    payload: &[u8],
    order_id: &str,
    reason: &PoisonReason,
) {
    dead_letter_text(
        context,
        replay_id,
        schema_id,
        event_uuid,
        payload,
        order_id,
        &reason.to_string(),
    )
    .await;
}

/// Stores a dead letter, retrying while Redis is away: an event is done only once it is kept.
async fn dead_letter_text(
    context: &Context,
    replay_id: &[u8],
    schema_id: &str,
    event_uuid: &str,
    payload: &[u8],
    order_id: &str,
    reason: &str,
) {
    let letter = DeadLetter {
        replay_id: replay_id.to_vec(),
        schema_id: schema_id.to_owned(),
        event_uuid: event_uuid.to_owned(),
        payload: payload.to_vec(),
        order_id: order_id.to_owned(),
        reason: reason.to_owned(),
        ..DeadLetter::default()
    };
    let mut backoff = Backoff::new(RETRY_INITIAL, RETRY_CAP);
    loop {
        match context.dead_letters.add(&letter).await {
            Ok(id) => {
                metrics::counter!("ingest_events_dead_lettered_total").increment(1);
                tracing::warn!(dead_letter_id = %id, event_uuid, replay_id = %hex(replay_id), reason, "Event dead-lettered");
                return;
            }
            Err(err) => {
                tracing::warn!(error = %err, "Cannot store a dead letter yet; the cursor waits");
                tokio::time::sleep(backoff.next_wait()).await;
            }
        }
    }
}
