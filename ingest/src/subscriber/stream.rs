//! One Pub/Sub stream: flow control, dispatch, and the cursor.
//!
//! Credit follows free work slots: events received and not yet done (running or waiting for a
//! slot) plus the credit outstanding never exceed a window of the concurrency plus a reserve
//! (at most 100), and credit is topped up before it runs out, so some is outstanding whenever a
//! slot is free (with none outstanding the server closes the stream after 60 s). Nothing is ever
//! dropped: an event waits in a buffer bounded by the window.
//!
//! Finished events move the [`Watermark`]; the cursor is written at most every
//! [`FLUSH_EVERY`], so Redis sees one write per batch of events, not one per event. A keepalive's
//! `latest_replay_id` is stored only when nothing is in flight, so quiet channels never fall out
//! of the 72-hour retention.

use std::{
    collections::{HashMap, VecDeque},
    fmt,
    sync::Arc,
    time::Duration,
};

use bridge_proto::eventbus::v1::{ConsumerEvent, FetchRequest, ReplayPreset};
use tokio::{sync::mpsc, task::JoinSet, time::Instant};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use super::{
    Context, SubscriberSettings,
    process::{hex, process},
};
use crate::{
    cursor::{CursorError, ReplayCursor},
    lease::Lease,
    pubsub::{ERROR_CODE_TRAILER, PubSubError},
    state::{CursorReset, IngestState, StreamState},
    watermark::{Sequence, Watermark},
};

/// How often finished work is written to the cursor.
pub(super) const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// Credit kept beyond the work slots, so credit stays outstanding while every slot is busy.
const RESERVE: usize = 16;

/// The Pub/Sub API's cap on outstanding events per stream.
const MAX_OUTSTANDING: usize = 100;

/// The most received events that wait for a work slot; when it is full, no credit is asked for.
const BUFFER_CAP: usize = 100;

/// A stream that lived this long counts as healthy even if it carried no event, so the
/// reconnect backoff starts afresh after it.
const HEALTHY_STREAM: Duration = Duration::from_secs(30);

/// Where a stream starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Start {
    /// New events only.
    Latest,
    /// Every retained event.
    Earliest,
    /// Just after these replay id bytes.
    Custom(Vec<u8>),
    /// Just after replay id bytes an operator gave (`ResetCursor`); they become the stored
    /// cursor only once Salesforce accepted them.
    Reset(Vec<u8>),
}

/// Why a stream ended.
pub(super) enum StreamEnd {
    /// Shutdown or loss of the lease; stop subscribing.
    Stopped,
    /// An operator moved the cursor; subscribe again at once from here.
    Resubscribe(Option<Start>),
    /// The stream failed; reconnect after a wait.
    Failed {
        /// What went wrong.
        error: StreamError,
        /// Whether the stream delivered anything before failing (resets the backoff).
        delivered: bool,
    },
}

/// What ended a stream.
#[derive(Debug)]
pub(super) enum StreamError {
    /// The session, topic or subscribe call failed.
    PubSub(PubSubError),
    /// The stream ended with a status.
    Status(tonic::Status),
    /// The server closed the stream without a status.
    Closed,
    /// Nothing arrived for the silence timeout.
    Silent(Duration),
    /// The integration user may not subscribe to the channel.
    CannotSubscribe,
}

impl StreamError {
    fn status(&self) -> Option<&tonic::Status> {
        match self {
            Self::Status(status) | Self::PubSub(PubSubError::Status(status)) => Some(status),
            _ => None,
        }
    }

    /// Whether Salesforce refused the replay id as corrupted, expired or invalid.
    pub(super) fn is_refused_replay_id(&self) -> bool {
        let Some(status) = self.status() else {
            return false;
        };
        let trailer = status
            .metadata()
            .get(ERROR_CODE_TRAILER)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        status.code() == tonic::Code::InvalidArgument
            && (trailer.contains("replayid.corrupted")
                || trailer.contains("replayid.validation.failed"))
    }

    /// Whether Salesforce refused the session.
    pub(super) fn is_unauthenticated(&self) -> bool {
        self.status()
            .is_some_and(|status| status.code() == tonic::Code::Unauthenticated)
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PubSub(err) => write!(f, "{err}"),
            Self::Status(status) => write!(
                f,
                "the stream ended with {:?}: {}",
                status.code(),
                status.message()
            ),
            Self::Closed => f.write_str("the server closed the stream"),
            Self::Silent(after) => write!(
                f,
                "nothing arrived for {}s; the stream is presumed dead",
                after.as_secs()
            ),
            Self::CannotSubscribe => {
                f.write_str("the integration user may not subscribe to the channel")
            }
        }
    }
}

/// Whether a stream did well enough that the reconnect backoff should start afresh.
fn healthy(carried_events: bool, opened: Instant) -> bool {
    carried_events || opened.elapsed() >= HEALTHY_STREAM
}

/// One stream's run.
pub(super) struct StreamSession<'a> {
    pub(super) context: &'a Arc<Context>,
    pub(super) cursor: &'a ReplayCursor,
    pub(super) lease: &'a Lease,
    pub(super) state: &'a IngestState,
    pub(super) settings: &'a SubscriberSettings,
    pub(super) stop: &'a CancellationToken,
}

/// The stream's work in progress.
struct Work {
    outstanding: usize,
    watermark: Watermark,
    buffered: VecDeque<(String, ConsumerEvent)>,
    running: JoinSet<String>,
    /// Arrivals per EventUuid in flight: a copy delivered again while the first is in flight
    /// joins it and finishes with it.
    joined: HashMap<String, Vec<Sequence>>,
    pending_cursor: Option<Vec<u8>>,
}

impl Work {
    fn in_flight(&self) -> usize {
        self.buffered.len() + self.running.len()
    }

    /// The credit to request now, if any. The credit wanted is the free work slots plus a
    /// reserve, less what already waits in the buffer, but at least one while the buffer has
    /// room, so credit stays outstanding even while every slot is busy with a long run; never
    /// more than the buffer can still hold, nor the API's 100.
    fn top_up(&mut self, concurrency: usize) -> Option<usize> {
        let free_slots = concurrency.saturating_sub(self.running.len());
        let room = BUFFER_CAP.saturating_sub(self.buffered.len());
        let wanted = (free_slots + RESERVE)
            .saturating_sub(self.buffered.len())
            .max(1)
            .min(room)
            .min(MAX_OUTSTANDING);
        let more = wanted.saturating_sub(self.outstanding);
        if more > 0 && (self.outstanding == 0 || more * 2 >= wanted) {
            self.outstanding += more;
            Some(more)
        } else {
            None
        }
    }

    fn finished(&mut self, key: &str) {
        for sequence in self.joined.remove(key).unwrap_or_default() {
            if let Some(cursor) = self
                .watermark
                .complete(sequence)
                .filter(|id| !id.is_empty())
            {
                self.pending_cursor = Some(cursor);
            }
        }
    }
}

impl StreamSession<'_> {
    pub(super) async fn run(&self, start: &Start) -> StreamEnd {
        let failed = |error| StreamEnd::Failed {
            error,
            delivered: false,
        };
        self.state.update(|s| s.stream = StreamState::Connecting);
        let pubsub = &self.context.pubsub;
        let session = match pubsub.session().await {
            Ok(session) => session,
            Err(err) => return failed(StreamError::PubSub(err)),
        };
        let topic = match pubsub.topic(&session, &self.settings.channel).await {
            Ok(topic) => topic,
            Err(err) => return failed(StreamError::PubSub(err)),
        };
        if !topic.can_subscribe {
            return failed(StreamError::CannotSubscribe);
        }

        let window = (self.settings.concurrency + RESERVE).min(MAX_OUTSTANDING);
        let opened = Instant::now();
        let (preset, replay_id) = match start {
            Start::Latest => (ReplayPreset::Latest, Vec::new()),
            Start::Earliest => (ReplayPreset::Earliest, Vec::new()),
            Start::Custom(bytes) | Start::Reset(bytes) => (ReplayPreset::Custom, bytes.clone()),
        };
        let (requests, receiver) = mpsc::channel::<FetchRequest>(64);
        let first = FetchRequest {
            topic_name: self.settings.channel.clone(),
            replay_preset: preset.into(),
            replay_id,
            num_requested: window as i32,
            auth_refresh: String::new(),
        };
        if requests.try_send(first).is_err() {
            return failed(StreamError::Closed);
        }
        let mut responses = match pubsub
            .subscribe(&session, ReceiverStream::new(receiver))
            .await
        {
            Ok(responses) => responses,
            Err(err) => return failed(StreamError::PubSub(err)),
        };
        match start {
            Start::Custom(bytes) | Start::Reset(bytes) => {
                tracing::info!(channel = %self.settings.channel, replay_id = %hex(bytes), "Subscribed: resuming from the stored cursor")
            }
            other => {
                tracing::info!(channel = %self.settings.channel, start = ?other, "Subscribed: starting from a replay preset")
            }
        }
        self.state.update(|s| s.stream = StreamState::Subscribed);

        let mut work = Work {
            outstanding: window,
            watermark: Watermark::new(),
            buffered: VecDeque::new(),
            running: JoinSet::new(),
            joined: HashMap::new(),
            pending_cursor: None,
        };
        let mut carried_events = false;
        let mut accepted_reset = match start {
            Start::Reset(bytes) => Some(bytes.clone()),
            _ => None,
        };
        let mut flush = tokio::time::interval(FLUSH_EVERY);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let silence = tokio::time::sleep(self.settings.silence_timeout);
        tokio::pin!(silence);

        let end = loop {
            tokio::select! {
                () = self.stop.cancelled() => break StreamEnd::Stopped,
                () = self.state.reset_requested.notified() => {
                    break StreamEnd::Resubscribe(self.apply_reset());
                }
                message = responses.message() => {
                    let response = match message {
                        Ok(Some(response)) => response,
                        Ok(None) => break StreamEnd::Failed { error: StreamError::Closed, delivered: healthy(carried_events, opened) },
                        Err(status) => break StreamEnd::Failed { error: StreamError::Status(status), delivered: healthy(carried_events, opened) },
                    };
                    silence.as_mut().reset(Instant::now() + self.settings.silence_timeout);
                    if let Some(bytes) = accepted_reset.take() {
                        // Salesforce accepted the operator's replay id: it is the cursor now.
                        work.pending_cursor = Some(bytes);
                    }
                    let keepalive = response.events.is_empty();
                    carried_events |= !keepalive;
                    for event in response.events {
                        self.arrive(&mut work, event);
                    }
                    if keepalive && work.watermark.is_idle() && !response.latest_replay_id.is_empty() {
                        work.pending_cursor = Some(response.latest_replay_id.clone());
                    }
                    self.state.update(|s| s.latest_replay_id = response.latest_replay_id);
                }
                Some(done) = work.running.join_next() => {
                    if let Ok(key) = done {
                        work.finished(&key);
                    }
                }
                _ = flush.tick() => {
                    if let Err(end) = self.flush(&mut work).await {
                        break end;
                    }
                }
                () = &mut silence => {
                    break StreamEnd::Failed { error: StreamError::Silent(self.settings.silence_timeout), delivered: healthy(carried_events, opened) };
                }
            }
            self.start_work(&mut work);
            if let Some(credit) = work.top_up(self.settings.concurrency) {
                let request = FetchRequest {
                    num_requested: credit as i32,
                    ..FetchRequest::default()
                };
                if requests.try_send(request).is_err() {
                    work.outstanding = work.outstanding.saturating_sub(credit);
                }
            }
            let in_flight = u32::try_from(work.in_flight()).unwrap_or(u32::MAX);
            self.state.update(|s| s.in_flight = in_flight);
        };

        if matches!(end, StreamEnd::Stopped) {
            self.drain(&mut work).await;
        }
        if !matches!(end, StreamEnd::Resubscribe(_)) {
            let _ = self.flush(&mut work).await;
        }
        work.running.abort_all();
        self.state.update(|s| {
            s.in_flight = 0;
            s.stream = StreamState::Stopped;
        });
        end
    }

    fn arrive(&self, work: &mut Work, event: ConsumerEvent) {
        self.state.event_seen();
        metrics::counter!("ingest_events_received_total").increment(1);
        work.outstanding = work.outstanding.saturating_sub(1);
        let sequence = work.watermark.arrive(event.replay_id.clone());
        let uuid = event
            .event
            .as_ref()
            .map(|e| e.id.clone())
            .unwrap_or_default();
        let key = if uuid.is_empty() {
            format!("#{sequence}")
        } else {
            uuid
        };
        if let Some(waiting) = work.joined.get_mut(&key) {
            tracing::info!(event_uuid = %key, "Event delivered again while its first copy is in flight; it joins that copy");
            waiting.push(sequence);
            return;
        }
        work.joined.insert(key.clone(), vec![sequence]);
        work.buffered.push_back((key, event));
    }

    fn start_work(&self, work: &mut Work) {
        while work.running.len() < self.settings.concurrency {
            let Some((key, event)) = work.buffered.pop_front() else {
                return;
            };
            let context = self.context.clone();
            work.running.spawn(async move {
                process(&context, event).await;
                key
            });
        }
    }

    /// Writes the pending cursor. Ends the stream when the lease is gone.
    async fn flush(&self, work: &mut Work) -> Result<(), StreamEnd> {
        let Some(replay_id) = work.pending_cursor.take() else {
            return Ok(());
        };
        match self.cursor.store(self.lease, &replay_id).await {
            Ok(()) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or_default();
                metrics::gauge!("ingest_cursor_written_timestamp_seconds").set(now);
                Ok(())
            }
            Err(CursorError::NotLeader) => {
                tracing::warn!(
                    "The cursor write was refused: this replica no longer holds the lease"
                );
                Err(StreamEnd::Stopped)
            }
            Err(CursorError::Redis(err)) => {
                tracing::warn!(error = %err, "Cannot write the cursor yet; the finished work is kept and written later");
                self.state
                    .update(|s| s.last_error = format!("Redis: {err}"));
                work.pending_cursor = Some(replay_id);
                Ok(())
            }
        }
    }

    /// Lets running events finish within the drain period, so the cursor covers them.
    async fn drain(&self, work: &mut Work) {
        let deadline = Instant::now() + self.settings.drain;
        while !work.running.is_empty() {
            match tokio::time::timeout_at(deadline, work.running.join_next()).await {
                Ok(Some(Ok(key))) => work.finished(&key),
                Ok(Some(Err(_))) => {}
                Ok(None) | Err(_) => break,
            }
        }
        if !work.running.is_empty() {
            tracing::warn!(
                unfinished = work.running.len(),
                "Shutting down with events unfinished; they are delivered again after restart"
            );
        }
    }

    /// Takes an operator's cursor reset; returns where to subscribe next. A replay id is not
    /// stored here: it becomes the cursor once Salesforce accepts it.
    fn apply_reset(&self) -> Option<Start> {
        match self.state.take_reset()? {
            CursorReset::Earliest => Some(Start::Earliest),
            CursorReset::ReplayId(bytes) => Some(Start::Reset(bytes)),
        }
    }
}
