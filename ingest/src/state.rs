//! What this replica is doing, shared by the subscriber (which updates it) and `GetStatus` and
//! `/health` (which report it).

use std::sync::{
    Mutex, PoisonError,
    atomic::{AtomicU64, Ordering},
};

use serde_json::{Value, json};
use tokio::sync::Notify;

/// This replica's part in the subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// Waiting for the lease.
    #[default]
    Standby,
    /// Holding the lease and subscribing.
    Leader,
    /// `SF_EVENTS_ENABLED=false`.
    Disabled,
}

/// The Pub/Sub stream's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamState {
    /// Not subscribed (standby, disabled, or between streams).
    #[default]
    Stopped,
    /// Opening a stream.
    Connecting,
    /// Receiving.
    Subscribed,
    /// Waiting before the next attempt.
    BackingOff,
}

/// A point-in-time view.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The role.
    pub role: Role,
    /// The stream.
    pub stream: StreamState,
    /// The lease epoch held, 0 when none.
    pub lease_epoch: u64,
    /// The newest replay id Salesforce reported.
    pub latest_replay_id: Vec<u8>,
    /// The last error met, empty when none.
    pub last_error: String,
    /// Events being dispatched or waiting for a slot.
    pub in_flight: u32,
}

/// Where an operator moved the cursor (`ResetCursor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorReset {
    /// Resubscribe from the oldest retained event; the stored cursor moves once those events
    /// are done, so a crash before that resumes where it was.
    Earliest,
    /// Store these bytes and resubscribe just after them.
    ReplayId(Vec<u8>),
}

/// Shared, updated state.
#[derive(Debug, Default)]
pub struct IngestState {
    snapshot: Mutex<Snapshot>,
    events_seen: AtomicU64,
    pending_reset: Mutex<Option<CursorReset>>,
    /// Woken when a reset is pending, so the leader's stream applies it.
    pub reset_requested: Notify,
}

impl IngestState {
    /// A fresh state with `role`.
    pub fn new(role: Role) -> Self {
        let state = Self::default();
        state.update(|snapshot| snapshot.role = role);
        state
    }

    /// Changes the snapshot.
    pub fn update(&self, change: impl FnOnce(&mut Snapshot)) {
        let mut snapshot = self.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
        change(&mut snapshot);
    }

    /// A copy of the snapshot.
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Asks the leader to move the cursor and resubscribe.
    pub fn request_reset(&self, reset: CursorReset) {
        *self
            .pending_reset
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(reset);
        self.reset_requested.notify_one();
    }

    /// The pending reset, taken.
    pub fn take_reset(&self) -> Option<CursorReset> {
        self.pending_reset
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Counts one received event.
    pub fn event_seen(&self) {
        self.events_seen.fetch_add(1, Ordering::Relaxed);
    }

    /// Events received since start.
    pub fn events_seen(&self) -> u64 {
        self.events_seen.load(Ordering::Relaxed)
    }

    /// `integrations.salesforce` of `/health`.
    pub fn health(&self, channel: &str) -> Value {
        let snapshot = self.snapshot();
        let role = match snapshot.role {
            Role::Leader => "leader",
            Role::Standby => "standby",
            Role::Disabled => "disabled",
        };
        let stream = match snapshot.stream {
            StreamState::Stopped => "stopped",
            StreamState::Connecting => "connecting",
            StreamState::Subscribed => "subscribed",
            StreamState::BackingOff => "backing_off",
        };
        let status = match (snapshot.role, snapshot.stream) {
            (Role::Disabled, _) => "disabled",
            (Role::Standby, _) => "standby",
            (Role::Leader, StreamState::Subscribed) => "subscribed",
            (Role::Leader, _) => "reconnecting",
        };
        json!({
            "status": status,
            "channel": channel,
            "role": role,
            "stream": stream,
            "events_seen": self.events_seen(),
            "in_flight": snapshot.in_flight,
            "last_error": snapshot.last_error,
        })
    }
}
