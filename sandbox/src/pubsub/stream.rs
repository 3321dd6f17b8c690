//! One Subscribe stream after its first request was accepted: credit, delivery, keepalives,
//! the idle close, and the faults that end or silence it.
//!
//! Credit follows the Pub/Sub API: each `FetchRequest` adds `num_requested`, the total owed is
//! capped at 100, and every delivered event uses one. Events go out as soon as they exist and
//! credit allows, several per response. While credit is left and nothing is to be sent, an
//! empty response carries the newest position every keepalive interval; once the credit is
//! used up the client has the idle-close interval to ask for more, or the stream is reset.

use std::sync::Arc;

use bridge_proto::eventbus::v1::{ConsumerEvent, FetchRequest, FetchResponse, ProducerEvent};
use tokio::{
    sync::{broadcast::error::RecvError, mpsc},
    time::{Instant, sleep_until},
};
use tonic::{Status, Streaming};

use super::{
    RecordedFetch,
    bus::encode_replay_id,
    error::PubSubError,
    state::{Shared, State},
};

/// The most events a stream may be owed at once.
pub(crate) const MAX_PENDING: i64 = 100;

/// Where the sender half of a stream's responses goes.
pub(crate) type Responses = mpsc::Sender<Result<FetchResponse, Status>>;

/// Counts the stream as open for as long as it lives.
#[derive(Debug)]
struct OpenStream {
    shared: Arc<Shared>,
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.active_streams = state.active_streams.saturating_sub(1);
    }
}

/// An accepted subscription.
#[derive(Debug)]
pub(crate) struct Subscription {
    /// The topic of the first request.
    topic: String,
    /// Events after this counter are the next to deliver.
    cursor: u64,
    /// Events still owed, capped.
    pending: i64,
    /// Everything asked for minus everything delivered, uncapped.
    asked: i64,
    _open: OpenStream,
}

/// The 1-based number the next Subscribe call gets.
pub(crate) fn number_call(shared: &Shared) -> usize {
    let mut state = shared.lock();
    state.subscribe_calls += 1;
    state.subscribe_calls
}

/// Keeps `request` in the record of what clients sent.
pub(crate) fn record(state: &mut State, stream: usize, request: &FetchRequest) {
    state.fetches.push(RecordedFetch {
        stream,
        topic_name: request.topic_name.clone(),
        replay_preset: request.replay_preset,
        replay_id: request.replay_id.clone(),
        num_requested: request.num_requested,
    });
}

/// Opens a stream whose first request was accepted, delivering after `cursor`.
pub(crate) fn open(shared: &Arc<Shared>, first: &FetchRequest, cursor: u64) -> Subscription {
    let asked = i64::from(first.num_requested.max(0));
    let mut state = shared.lock();
    state.streams_opened += 1;
    state.active_streams += 1;
    state.max_outstanding = state.max_outstanding.max(asked);
    drop(state);
    Subscription {
        topic: first.topic_name.clone(),
        cursor,
        pending: asked.min(MAX_PENDING),
        asked,
        _open: OpenStream {
            shared: shared.clone(),
        },
    }
}

/// Serves an open stream until the client goes, an error ends it, or a fault does.
pub(crate) async fn run(
    shared: Arc<Shared>,
    stream: usize,
    mut subscription: Subscription,
    mut inbound: Streaming<FetchRequest>,
    responses: Responses,
) {
    let mut tip = shared.tip.subscribe();
    let mut silent = shared.silent.subscribe();
    let mut endings = shared.endings.subscribe();
    let keepalive_interval = shared.options.keepalive_interval;
    let idle_close = shared.options.idle_close;
    let mut inbound_open = true;
    let mut last_sent = Instant::now();
    let mut drained_at = Instant::now();

    loop {
        tip.borrow_and_update();
        let is_silent = *silent.borrow_and_update();
        if !is_silent
            && subscription.pending > 0
            && let Some(batch) = next_batch(&shared, &mut subscription)
        {
            if responses.send(Ok(batch)).await.is_err() {
                return;
            }
            last_sent = Instant::now();
            if subscription.pending == 0 {
                drained_at = last_sent;
            }
            continue;
        }

        let keepalive_due = !is_silent && subscription.pending > 0;
        let idle_due = !is_silent && subscription.pending == 0;
        tokio::select! {
            biased;
            ending = endings.recv() => match ending {
                Ok(error) => {
                    let _ = responses.send(Err(error.into_status())).await;
                    return;
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
            () = responses.closed() => return,
            message = inbound.message(), if inbound_open => match message {
                Ok(Some(request)) => {
                    if let Err(error) = take_request(&shared, stream, &mut subscription, &request) {
                        let _ = responses.send(Err(error.into_status())).await;
                        return;
                    }
                }
                // The client may stop sending and still read what it is owed.
                Ok(None) => inbound_open = false,
                Err(_) => return,
            },
            changed = tip.changed() => if changed.is_err() { return },
            changed = silent.changed() => {
                if changed.is_err() {
                    return;
                }
                // Timers restart when a silent stream speaks again, as after a network hiccup.
                last_sent = Instant::now();
                drained_at = last_sent;
            },
            () = sleep_until(last_sent + keepalive_interval), if keepalive_due => {
                if responses.send(Ok(keepalive(&shared, &subscription))).await.is_err() {
                    return;
                }
                last_sent = Instant::now();
            },
            () = sleep_until(drained_at + idle_close), if idle_due => {
                let _ = responses.send(Err(PubSubError::IdleClosed.into_status())).await;
                return;
            },
        }
    }
}

/// Applies a later `FetchRequest`: same topic (or none), positive amount, more credit.
fn take_request(
    shared: &Shared,
    stream: usize,
    subscription: &mut Subscription,
    request: &FetchRequest,
) -> Result<(), PubSubError> {
    let mut state = shared.lock();
    record(&mut state, stream, request);
    if !request.topic_name.is_empty() && request.topic_name != subscription.topic {
        return Err(PubSubError::TopicMismatch {
            subscribed: subscription.topic.clone(),
            requested: request.topic_name.clone(),
        });
    }
    if request.num_requested <= 0 {
        return Err(PubSubError::RequestedEventsInvalid);
    }
    let added = i64::from(request.num_requested);
    subscription.pending = (subscription.pending + added).min(MAX_PENDING);
    subscription.asked = subscription.asked.saturating_add(added);
    state.max_outstanding = state.max_outstanding.max(subscription.asked);
    Ok(())
}

/// The events owed that exist now, as one response; `None` when there are none.
fn next_batch(shared: &Shared, subscription: &mut Subscription) -> Option<FetchResponse> {
    let mut state = shared.lock();
    let now = shared.now(&state);
    let max = usize::try_from(subscription.pending).unwrap_or(0);
    let batch = state.log.after(subscription.cursor, max, now);
    let (last, _) = batch.last()?;
    subscription.cursor = *last;
    let count = i64::try_from(batch.len()).unwrap_or(i64::MAX);
    subscription.pending -= count;
    subscription.asked -= count;
    state.delivered += batch.len();
    drop(state);

    let events = batch
        .into_iter()
        .map(|(counter, event)| ConsumerEvent {
            event: Some(ProducerEvent {
                id: event.id,
                schema_id: event.schema_id,
                payload: event.payload,
                headers: Vec::new(),
            }),
            replay_id: encode_replay_id(counter),
        })
        .collect();
    Some(FetchResponse {
        events,
        latest_replay_id: encode_replay_id(subscription.cursor),
        rpc_id: uuid::Uuid::new_v4().to_string(),
        pending_num_requested: pending_i32(subscription.pending),
    })
}

/// An empty response at the newest position, which other orgs' traffic has moved on.
fn keepalive(shared: &Shared, subscription: &Subscription) -> FetchResponse {
    let tip = shared.tighten();
    FetchResponse {
        events: Vec::new(),
        latest_replay_id: encode_replay_id(tip),
        rpc_id: uuid::Uuid::new_v4().to_string(),
        pending_num_requested: pending_i32(subscription.pending),
    }
}

fn pending_i32(pending: i64) -> i32 {
    i32::try_from(pending).unwrap_or(i32::MAX)
}
