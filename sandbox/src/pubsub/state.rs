//! What one emulator holds: the event log, the schemas, the record of what clients did, and
//! the injected faults, behind one mutex that is never held across an await; plus the watch
//! and broadcast channels that wake open streams.

use std::{
    collections::VecDeque,
    sync::{Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use tokio::sync::{broadcast, watch};

use super::{
    PubSubOptions, RecordedFetch,
    bus::{EventLog, StoredEvent, encode_replay_id},
    error::PubSubError,
    schema::{SchemaError, SchemaRegistry},
};
use crate::salesforce::{PublishedEvent, SalesforceEmulator};

/// How many stream endings may queue up for a stream that is busy sending.
const ENDINGS_CAPACITY: usize = 16;

/// The mutable part.
#[derive(Debug)]
pub(crate) struct State {
    /// The channel's events and positions.
    pub(crate) log: EventLog,
    /// Every schema `GetSchema` serves.
    pub(crate) schemas: SchemaRegistry,
    /// Every `FetchRequest` received, in order.
    pub(crate) fetches: Vec<RecordedFetch>,
    /// Subscribe calls so far, refused ones included: the last stream's number.
    pub(crate) subscribe_calls: usize,
    /// Subscribe calls accepted.
    pub(crate) streams_opened: usize,
    /// Streams open now.
    pub(crate) active_streams: usize,
    /// The highest uncapped outstanding demand any stream had.
    pub(crate) max_outstanding: i64,
    /// Events sent, all streams.
    pub(crate) delivered: usize,
    /// Refusals for the next Subscribe calls, one each.
    pub(crate) rejections: VecDeque<PubSubError>,
    /// How far a test moved the clock on.
    pub(crate) clock_offset: Duration,
}

/// Everything the service, the streams and the handle share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The org whose tokens and ids are checked.
    pub(crate) salesforce: SalesforceEmulator,
    /// Timings and mode.
    pub(crate) options: PubSubOptions,
    started: Instant,
    state: Mutex<State>,
    /// The log's tip: changes whenever a position is added.
    pub(crate) tip: watch::Sender<u64>,
    /// Whether open streams stay silent.
    pub(crate) silent: watch::Sender<bool>,
    /// Ends every stream open at the time of sending.
    pub(crate) endings: broadcast::Sender<PubSubError>,
}

impl Shared {
    /// Fresh state for `salesforce`'s org.
    pub(crate) fn new(
        salesforce: SalesforceEmulator,
        options: PubSubOptions,
    ) -> Result<Self, SchemaError> {
        let schemas = SchemaRegistry::new(salesforce.source())?;
        let log = EventLog::new(options.retention, Duration::ZERO);
        let (tip, _) = watch::channel(log.tip());
        let (silent, _) = watch::channel(false);
        let (endings, _) = broadcast::channel(ENDINGS_CAPACITY);
        Ok(Self {
            salesforce,
            options,
            started: Instant::now(),
            state: Mutex::new(State {
                log,
                schemas,
                fetches: Vec::new(),
                subscribe_calls: 0,
                streams_opened: 0,
                active_streams: 0,
                max_outstanding: 0,
                delivered: 0,
                rejections: VecDeque::new(),
                clock_offset: Duration::ZERO,
            }),
            tip,
            silent,
            endings,
        })
    }

    /// The state; a panic elsewhere while holding it leaves data that is still consistent
    /// enough for a test double, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Emulator time: real time since start plus what tests added.
    pub(crate) fn now(&self, state: &State) -> Duration {
        self.started.elapsed().saturating_add(state.clock_offset)
    }

    /// Wall-clock milliseconds as the emulator sees them (moved on by the test clock).
    pub(crate) fn now_ms(&self, state: &State) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_add(state.clock_offset);
        i64::try_from(wall.as_millis()).unwrap_or(i64::MAX)
    }

    /// Appends `event` to the channel and wakes the streams; returns its replay id.
    pub(crate) fn append(&self, event: StoredEvent) -> Vec<u8> {
        let counter = {
            let mut state = self.lock();
            let now = self.now(&state);
            state.log.append(event, now)
        };
        self.tip.send_replace(counter);
        encode_replay_id(counter)
    }

    /// Appends what the Flow published, encoded with the channel's schema.
    pub(crate) fn append_published(&self, event: &PublishedEvent) {
        let encoded = self.lock().schemas.encode_order(
            event.created_date_ms,
            &event.created_by_id,
            Some(&event.order_id),
        );
        match encoded {
            Ok(payload) => {
                let schema_id = self.lock().schemas.order_schema_id().to_owned();
                self.append(StoredEvent {
                    id: event.event_uuid.clone(),
                    schema_id,
                    payload,
                });
            }
            Err(err) => tracing::error!(error = %err, "Could not encode a published event"),
        }
    }

    /// Moves the tip on as other orgs' traffic does; returns the new position.
    pub(crate) fn tighten(&self) -> u64 {
        let counter = {
            let mut state = self.lock();
            let now = self.now(&state);
            state.log.tighten(now)
        };
        self.tip.send_replace(counter);
        counter
    }
}
