//! The subscriber: leadership, then one Pub/Sub stream after another, each resumed from the
//! stored cursor.
//!
//! A replica first takes the channel's lease ([`crate::lease`]); standbys wait for it. The
//! leader subscribes from the stored cursor (`CUSTOM`, exactly the stored bytes), or, when none
//! is stored, from `SF_EVENTS_REPLAY`. When a stream fails it reconnects with capped, jittered
//! backoff, always from the stored cursor, never jumping to `LATEST`. A stored replay id that
//! Salesforce calls corrupted or expired leads to the configured fallback once (logged at error
//! level and counted), never a loop. On shutdown the leader drains, writes the cursor and
//! releases the lease, so a rollout does not wait out the lease.

mod process;
mod stream;

use std::{sync::Arc, time::Duration};

use tokio_util::sync::CancellationToken;

use crate::{
    backoff::Backoff,
    config::{ReplayFallback, ReplayStart},
    cursor::ReplayCursor,
    dead_letters::DeadLetters,
    dispatch::Dispatcher,
    lease::{LeaderLease, Lease},
    pubsub::PubSub,
    schemas::SchemaCache,
    state::{IngestState, Role, StreamState},
};

pub use process::hex;
use stream::{Start, StreamEnd};

/// The first wait before reconnecting.
const RECONNECT_INITIAL: Duration = Duration::from_millis(250);
/// The longest wait between reconnections.
const RECONNECT_CAP: Duration = Duration::from_secs(30);

/// The subscription's settings.
#[derive(Debug, Clone)]
pub struct SubscriberSettings {
    /// The channel.
    pub channel: String,
    /// Where to start without a stored cursor.
    pub replay: ReplayStart,
    /// Where to go when the stored cursor is refused.
    pub fallback: ReplayFallback,
    /// Events dispatched at once.
    pub concurrency: usize,
    /// A stream silent this long is torn down and resumed.
    pub silence_timeout: Duration,
    /// How long the drain on shutdown may take.
    pub drain: Duration,
}

/// Everything an event's processing needs.
pub struct Context {
    /// The Pub/Sub API.
    pub pubsub: PubSub,
    /// Writer schemas.
    pub schemas: SchemaCache,
    /// Fulfill calls.
    pub dispatcher: Dispatcher,
    /// The dead-letter stream.
    pub dead_letters: DeadLetters,
}

/// The subscriber of one channel.
pub struct Subscriber {
    context: Arc<Context>,
    cursor: ReplayCursor,
    lease: LeaderLease,
    state: Arc<IngestState>,
    settings: SubscriberSettings,
}

impl Subscriber {
    /// A subscriber over its parts.
    pub fn new(
        context: Arc<Context>,
        cursor: ReplayCursor,
        lease: LeaderLease,
        state: Arc<IngestState>,
        settings: SubscriberSettings,
    ) -> Self {
        Self {
            context,
            cursor,
            lease,
            state,
            settings,
        }
    }

    /// Runs until `shutdown`: waits for the lease, leads while it holds it, and starts over
    /// when it loses it.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let Some(lease) = self.wait_for_lease(&shutdown).await else {
                return;
            };
            tracing::info!(channel = %self.settings.channel, epoch = lease.epoch, "Took the leader lease");
            self.state.update(|s| {
                s.role = Role::Leader;
                s.lease_epoch = lease.epoch;
            });

            let deposed = CancellationToken::new();
            let renewal = AbortOnDrop(tokio::spawn(keep_lease(
                self.lease.clone(),
                lease.clone(),
                deposed.clone(),
            )));
            self.lead(&lease, &shutdown, &deposed).await;
            drop(renewal);

            self.state.update(|s| {
                s.role = Role::Standby;
                s.lease_epoch = 0;
                s.stream = StreamState::Stopped;
            });
            if shutdown.is_cancelled() {
                match self.lease.release(&lease).await {
                    Ok(true) => {
                        tracing::info!(channel = %self.settings.channel, "Released the leader lease")
                    }
                    Ok(false) => {
                        tracing::info!(channel = %self.settings.channel, "The leader lease had already passed on")
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "Could not release the leader lease; it expires on its own")
                    }
                }
                return;
            }
            tracing::info!(channel = %self.settings.channel, "Lost the leader lease; standing by");
        }
    }

    async fn wait_for_lease(&self, shutdown: &CancellationToken) -> Option<Lease> {
        let mut announced = false;
        loop {
            match self.lease.try_acquire().await {
                Ok(Some(lease)) => return Some(lease),
                Ok(None) if !announced => {
                    tracing::info!(channel = %self.settings.channel, "Another replica leads this channel; standing by");
                    announced = true;
                }
                Ok(None) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "Cannot reach Redis for the leader lease");
                    self.state
                        .update(|s| s.last_error = format!("Redis: {err}"));
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return None,
                () = tokio::time::sleep(self.lease.ttl() / 3) => {}
            }
        }
    }

    /// Subscribes, stream after stream, while the lease holds.
    async fn lead(&self, lease: &Lease, shutdown: &CancellationToken, deposed: &CancellationToken) {
        let stop = CancellationToken::new();
        let _stopper = {
            let (stop, shutdown, deposed) = (stop.clone(), shutdown.clone(), deposed.clone());
            AbortOnDrop(tokio::spawn(async move {
                tokio::select! {
                    () = shutdown.cancelled() => {}
                    () = deposed.cancelled() => {}
                }
                stop.cancel();
            }))
        };
        let mut backoff = Backoff::new(RECONNECT_INITIAL, RECONNECT_CAP);
        // The stored replay id Salesforce refused, so the next stream uses the fallback instead.
        let mut refused_cursor: Option<Vec<u8>> = None;
        // A start chosen by an operator's reset, for the next stream only.
        let mut override_start: Option<Start> = None;
        // After the first stream, a missing cursor means events may have arrived that are not
        // done yet: later streams start at EARLIEST then, never at LATEST, which would skip them.
        let mut first_stream = true;

        while !stop.is_cancelled() {
            let chosen = match override_start.take() {
                Some(start) => Ok(start),
                None => {
                    self.start_position(refused_cursor.as_deref(), first_stream)
                        .await
                }
            };
            let start = match chosen {
                Ok(start) => start,
                Err(err) => {
                    tracing::warn!(error = %err, "Cannot read the stored cursor; waiting for Redis");
                    self.state
                        .update(|s| s.last_error = format!("Redis: {err}"));
                    self.pause(&mut backoff, &stop).await;
                    continue;
                }
            };
            let session = stream::StreamSession {
                context: &self.context,
                cursor: &self.cursor,
                lease,
                state: &self.state,
                settings: &self.settings,
                stop: &stop,
            };
            first_stream = false;
            match session.run(&start).await {
                StreamEnd::Stopped => break,
                StreamEnd::Resubscribe(next) => {
                    backoff.reset();
                    refused_cursor = None;
                    override_start = next;
                }
                StreamEnd::Failed { error, delivered } => {
                    if delivered {
                        backoff.reset();
                    }
                    metrics::counter!("ingest_reconnects_total").increment(1);
                    self.state.update(|s| s.last_error = error.to_string());
                    if let Start::Reset(bytes) = &start
                        && error.is_refused_replay_id()
                    {
                        // An operator's replay id that Salesforce does not know: nothing was
                        // stored, so the stored cursor stands; no fallback.
                        tracing::error!(
                            replay_id = %hex(bytes),
                            error = %error,
                            "Salesforce refused the replay id given to ResetCursor; staying at the stored cursor"
                        );
                        continue;
                    }
                    if let Start::Custom(bytes) = &start
                        && error.is_refused_replay_id()
                    {
                        metrics::counter!("ingest_replay_fallbacks_total").increment(1);
                        tracing::error!(
                            replay_id = %hex(bytes),
                            fallback = ?self.settings.fallback,
                            error = %error,
                            "Salesforce refused the stored replay id; subscribing once from the fallback"
                        );
                        refused_cursor = Some(bytes.clone());
                        continue;
                    }
                    if error.is_unauthenticated() {
                        tracing::warn!(error = %error, "Pub/Sub refused the session; authenticating again");
                        if let Ok(session) = self.context.pubsub.session().await
                            && let Err(err) =
                                self.context.pubsub.auth().reauthenticate(&session).await
                        {
                            tracing::error!(error = %err, "Salesforce authentication failed");
                        }
                    } else {
                        tracing::warn!(error = %error, "The Pub/Sub stream ended; resuming from the stored cursor");
                    }
                    self.pause(&mut backoff, &stop).await;
                }
            }
        }
    }

    async fn pause(&self, backoff: &mut Backoff, stop: &CancellationToken) {
        self.state.update(|s| s.stream = StreamState::BackingOff);
        let wait = backoff.next_wait();
        tokio::select! {
            () = stop.cancelled() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }

    /// Where the next stream starts: the stored cursor, unless it is the one Salesforce just
    /// refused; then the fallback; with no cursor, `SF_EVENTS_REPLAY` for the process's first
    /// stream and EARLIEST afterwards.
    async fn start_position(
        &self,
        refused: Option<&[u8]>,
        first_stream: bool,
    ) -> redis::RedisResult<Start> {
        let stored = self.cursor.load().await?;
        if stored.is_none() && !first_stream {
            tracing::warn!(
                "No cursor stored yet; resuming from EARLIEST so nothing that arrived meanwhile is missed"
            );
            return Ok(Start::Earliest);
        }
        Ok(match stored {
            Some(cursor) if Some(cursor.replay_id.as_slice()) != refused => {
                Start::Custom(cursor.replay_id)
            }
            Some(_) => match self.settings.fallback {
                ReplayFallback::Earliest => Start::Earliest,
                ReplayFallback::Latest => Start::Latest,
            },
            None => match self.settings.replay {
                ReplayStart::All => Start::Earliest,
                ReplayStart::Latest => Start::Latest,
            },
        })
    }
}

/// A task that ends when its handle is dropped, so helper tasks never outlive the subscriber
/// that started them (a dropped subscriber must not keep renewing its lease).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Renews `lease` every third of its TTL until aborted (when leading ends, after any drain);
/// cancels `deposed` when the lease is lost, or when no renewal has succeeded for a whole TTL
/// (Redis unreachable): by then a standby may have taken over, so this replica stands down
/// rather than run a second subscription.
async fn keep_lease(lease_store: LeaderLease, lease: Lease, deposed: CancellationToken) {
    let mut last_renewed = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(lease_store.ttl() / 3).await;
        match lease_store.renew(&lease).await {
            Ok(true) => last_renewed = tokio::time::Instant::now(),
            Ok(false) => {
                deposed.cancel();
                return;
            }
            Err(err) => {
                tracing::warn!(error = %err, "Could not renew the leader lease");
                if last_renewed.elapsed() >= lease_store.ttl() {
                    tracing::warn!("No lease renewal for a whole TTL; standing down");
                    deposed.cancel();
                    return;
                }
            }
        }
    }
}
