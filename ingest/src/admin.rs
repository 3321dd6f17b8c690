//! `ingest.v1.IngestService`: what the subscriber is doing, its dead letters, and its cursor,
//! for operators with grpcurl.

use std::{sync::Arc, time::UNIX_EPOCH};

use bridge_proto::ingest::v1::{self as pb, ingest_service_server::IngestService};
use bridge_runtime::caller_auth::Caller;
use tonic::{Request, Response, Status};

use crate::{
    cursor::ReplayCursor,
    dead_letters::{DeadLetter, DeadLetters},
    dispatch::Answer,
    event::decode_order_id,
    schemas::SchemaLookup,
    state::{CursorReset, IngestState, Role, StreamState},
    status,
    subscriber::{Context, hex},
};

/// The longest replay id accepted by `ResetCursor` (real ones are 10 bytes).
const MAX_REPLAY_ID: usize = 64;

/// The admin service of one replica.
#[derive(Clone)]
pub struct IngestAdmin {
    channel: String,
    state: Arc<IngestState>,
    cursor: ReplayCursor,
    dead_letters: DeadLetters,
    /// What redriving needs; `None` when events are disabled.
    context: Option<Arc<Context>>,
}

impl IngestAdmin {
    /// The admin service over the subscriber's parts.
    pub fn new(
        channel: String,
        state: Arc<IngestState>,
        cursor: ReplayCursor,
        dead_letters: DeadLetters,
        context: Option<Arc<Context>>,
    ) -> Self {
        Self {
            channel,
            state,
            cursor,
            dead_letters,
            context,
        }
    }
}

fn timestamp(ms: u64) -> Option<prost_types::Timestamp> {
    (ms > 0)
        .then(|| prost_types::Timestamp::from(UNIX_EPOCH + std::time::Duration::from_millis(ms)))
}

fn letter(letter: DeadLetter) -> pb::DeadLetter {
    pb::DeadLetter {
        dead_lettered_at: timestamp(letter.at_ms),
        id: letter.id,
        replay_id: letter.replay_id,
        schema_id: letter.schema_id,
        event_uuid: letter.event_uuid,
        payload: letter.payload,
        order_id: letter.order_id,
        reason: letter.reason,
    }
}

#[tonic::async_trait]
impl IngestService for IngestAdmin {
    async fn get_status(
        &self,
        _: Request<pb::GetStatusRequest>,
    ) -> Result<Response<pb::GetStatusResponse>, Status> {
        let snapshot = self.state.snapshot();
        // With Redis away, what this replica knows in memory is still worth showing.
        let mut last_error = snapshot.last_error.clone();
        let stored = self.cursor.load().await.unwrap_or_else(|err| {
            last_error = format!("Redis is unavailable: {err}");
            None
        });
        let dead_lettered = self.dead_letters.count().await.unwrap_or_default();
        let role = match snapshot.role {
            Role::Leader => pb::Role::Leader,
            Role::Standby => pb::Role::Standby,
            Role::Disabled => pb::Role::Disabled,
        };
        let subscription_state = match snapshot.stream {
            StreamState::Stopped => pb::SubscriptionState::Stopped,
            StreamState::Connecting => pb::SubscriptionState::Connecting,
            StreamState::Subscribed => pb::SubscriptionState::Subscribed,
            StreamState::BackingOff => pb::SubscriptionState::BackingOff,
        };
        Ok(Response::new(pb::GetStatusResponse {
            channel: self.channel.clone(),
            role: role.into(),
            subscription_state: subscription_state.into(),
            cursor_written_at: stored
                .as_ref()
                .and_then(|cursor| timestamp(cursor.written_at_ms)),
            stored_cursor: stored.map(|cursor| cursor.replay_id).unwrap_or_default(),
            latest_replay_id: snapshot.latest_replay_id,
            events_seen: self.state.events_seen(),
            in_flight: snapshot.in_flight,
            dead_lettered,
            last_error,
            lease_epoch: snapshot.lease_epoch,
        }))
    }

    async fn list_dead_letters(
        &self,
        request: Request<pb::ListDeadLettersRequest>,
    ) -> Result<Response<pb::ListDeadLettersResponse>, Status> {
        let request = request.into_inner();
        let size = match request.page_size {
            size if size <= 0 => 50,
            size => usize::try_from(size).unwrap_or(500).min(500),
        };
        let after = Some(request.page_token.as_str()).filter(|token| !token.is_empty());
        if after.is_some_and(|token| !is_stream_id(token)) {
            return Err(status::invalid_request(
                "page_token is not a token this service gave",
            ));
        }
        let mut page = self
            .dead_letters
            .page(after, size + 1)
            .await
            .map_err(|err| status::store_unavailable(&err))?;
        let more = page.len() > size;
        page.truncate(size);
        let next_page_token = if more {
            page.last()
                .map(|letter| letter.id.clone())
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListDeadLettersResponse {
            dead_letters: page.into_iter().map(letter).collect(),
            next_page_token,
        }))
    }

    async fn redrive_dead_letter(
        &self,
        request: Request<pb::RedriveDeadLetterRequest>,
    ) -> Result<Response<pb::RedriveDeadLetterResponse>, Status> {
        let caller = Caller::of(&request);
        let id = request.into_inner().id;
        if !is_stream_id(&id) {
            return Err(status::invalid_request(
                "id is not a dead letter id such as 1700000000000-0",
            ));
        }
        let context = self.context.as_ref().ok_or_else(status::events_disabled)?;
        let dead = self
            .dead_letters
            .get(&id)
            .await
            .map_err(|err| status::store_unavailable(&err))?
            .ok_or_else(|| status::dead_letter_not_found(&id))?;
        tracing::info!(dead_letter_id = %id, caller = %caller, "Redriving a dead letter");

        let stays = |reason: String| pb::RedriveDeadLetterResponse {
            id: id.clone(),
            removed: false,
            fulfillment: None,
            reason,
        };
        let schema = match context.schemas.get(&context.pubsub, &dead.schema_id).await {
            SchemaLookup::Found(schema) => schema,
            SchemaLookup::Poison(reason) => return Ok(Response::new(stays(reason.to_string()))),
            SchemaLookup::Unavailable(err) => {
                return Ok(Response::new(stays(format!(
                    "the schema cannot be fetched now: {err}"
                ))));
            }
        };
        let order_id = match decode_order_id(&schema, &dead.schema_id, &dead.payload) {
            Ok(order_id) => order_id,
            Err(reason) => return Ok(Response::new(stays(reason.to_string()))),
        };
        match context
            .dispatcher
            .call(&order_id, &dead.event_uuid, &dead.replay_id)
            .await
        {
            Ok(response) => {
                let removed = self
                    .dead_letters
                    .remove(&id)
                    .await
                    .map_err(|err| status::store_unavailable(&err))?;
                Ok(Response::new(pb::RedriveDeadLetterResponse {
                    id,
                    removed,
                    fulfillment: Some(response),
                    reason: String::new(),
                }))
            }
            Err(answer) => match crate::dispatch::classify(&answer) {
                Answer::Done(how) => {
                    let removed = self
                        .dead_letters
                        .remove(&id)
                        .await
                        .map_err(|err| status::store_unavailable(&err))?;
                    Ok(Response::new(pb::RedriveDeadLetterResponse {
                        id,
                        removed,
                        fulfillment: None,
                        reason: how,
                    }))
                }
                Answer::DeadLetter(why) | Answer::Retry { detail: why, .. } => {
                    Ok(Response::new(stays(why)))
                }
            },
        }
    }

    async fn reset_cursor(
        &self,
        request: Request<pb::ResetCursorRequest>,
    ) -> Result<Response<pb::ResetCursorResponse>, Status> {
        let caller = Caller::of(&request);
        let request = request.into_inner();
        let reset = match pb::ResetTarget::try_from(request.target) {
            Ok(pb::ResetTarget::Earliest) => CursorReset::Earliest,
            Ok(pb::ResetTarget::ReplayId)
                if !request.replay_id.is_empty() && request.replay_id.len() <= MAX_REPLAY_ID =>
            {
                CursorReset::ReplayId(request.replay_id.clone())
            }
            Ok(pb::ResetTarget::ReplayId) => {
                return Err(status::invalid_request("replay_id must hold 1 to 64 bytes"));
            }
            _ => {
                return Err(status::invalid_request(
                    "target must be RESET_TARGET_EARLIEST or RESET_TARGET_REPLAY_ID",
                ));
            }
        };
        if self.state.snapshot().role != Role::Leader {
            return Err(status::not_leader());
        }
        let previous = self
            .cursor
            .load()
            .await
            .map_err(|err| status::store_unavailable(&err))?;
        let previous = previous.map(|cursor| cursor.replay_id).unwrap_or_default();
        tracing::warn!(
            caller = %caller,
            previous = %hex(&previous),
            target = ?reset,
            "Cursor reset requested; resubscribing"
        );
        self.state.request_reset(reset);
        Ok(Response::new(pb::ResetCursorResponse {
            previous_cursor: previous,
            target: request.target,
        }))
    }
}

/// Whether `text` is a Redis stream entry id (`<ms>-<seq>`, both fitting in 64 bits).
fn is_stream_id(text: &str) -> bool {
    let digits = |part: &str| {
        !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) && part.parse::<u64>().is_ok()
    };
    matches!(text.split_once('-'), Some((ms, seq)) if digits(ms) && digits(seq))
}
