//! The channel's event log: positions on the shared bus, replay ids, and retention.
//!
//! The real bus is shared by many orgs, so the counter behind replay ids moves on between our
//! events and while nothing of ours happens; keepalives report such positions ("replay
//! tightening"). The log keeps every position it ever reported, with the time it was reached,
//! so a client may resume after any of them until retention forgets it. Ids are 10 bytes on
//! the wire (big-endian counter, then two zero bytes); 8-byte ids are accepted as well.

use std::{collections::VecDeque, time::Duration};

/// Where the counter starts: a real org's counters are in the millions.
const FIRST_COUNTER: u64 = 2_000_000;

/// How far the counter moves for one of our events: other orgs publish in between, so ids are
/// not contiguous and a client must never compute a neighbour.
const EVENT_STRIDE: u64 = 3;

/// How far the counter moves between two keepalives with no event of ours.
const TIGHTENING_STRIDE: u64 = 5;

/// Responses stay below this many payload bytes, unless a single event is bigger.
const BATCH_BYTES: usize = 3 * 1024 * 1024;

/// One event as it is stored and delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredEvent {
    /// The `EventUuid`.
    pub(crate) id: String,
    /// The writer schema's id.
    pub(crate) schema_id: String,
    /// The bare Avro datum (or any bytes, for broken events).
    pub(crate) payload: Vec<u8>,
}

/// A position the server reached: one of our events, or a point the counter passed.
#[derive(Debug)]
struct Position {
    counter: u64,
    /// Emulator time when the position was reached.
    at: Duration,
    event: Option<StoredEvent>,
}

/// Why a `CUSTOM` replay id is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ReplayIdError {
    /// Neither 8 bytes nor 10 bytes ending in two zeros.
    #[error("the replay id is malformed")]
    Malformed,
    /// A well-formed id this bus never reported, or forgot after retention.
    #[error("the replay id is unknown or past retention")]
    Unknown,
}

/// The ordered positions of the channel.
#[derive(Debug)]
pub(crate) struct EventLog {
    positions: VecDeque<Position>,
    tip: u64,
    retention: Duration,
}

impl EventLog {
    /// An empty channel whose first position is reached at `now`.
    pub(crate) fn new(retention: Duration, now: Duration) -> Self {
        let mut positions = VecDeque::new();
        positions.push_back(Position {
            counter: FIRST_COUNTER,
            at: now,
            event: None,
        });
        Self {
            positions,
            tip: FIRST_COUNTER,
            retention,
        }
    }

    /// The newest position.
    pub(crate) fn tip(&self) -> u64 {
        self.tip
    }

    /// Appends `event` at `now`; returns its counter.
    pub(crate) fn append(&mut self, event: StoredEvent, now: Duration) -> u64 {
        self.advance(EVENT_STRIDE, Some(event), now)
    }

    /// Moves the tip on as other orgs' traffic would; returns the new tip.
    pub(crate) fn tighten(&mut self, now: Duration) -> u64 {
        self.advance(TIGHTENING_STRIDE, None, now)
    }

    fn advance(&mut self, stride: u64, event: Option<StoredEvent>, now: Duration) -> u64 {
        self.tip = self.tip.saturating_add(stride);
        self.positions.push_back(Position {
            counter: self.tip,
            at: now,
            event,
        });
        self.prune(now);
        self.tip
    }

    /// Forgets positions older than retention.
    pub(crate) fn prune(&mut self, now: Duration) {
        while let Some(front) = self.positions.front() {
            if !self.expired(front.at, now) {
                break;
            }
            self.positions.pop_front();
        }
    }

    fn expired(&self, at: Duration, now: Duration) -> bool {
        now.saturating_sub(at) > self.retention
    }

    /// The counter a `CUSTOM` subscription resumes after.
    pub(crate) fn resolve(&self, replay_id: &[u8], now: Duration) -> Result<u64, ReplayIdError> {
        let counter = decode_replay_id(replay_id).ok_or(ReplayIdError::Malformed)?;
        let index = self
            .positions
            .binary_search_by_key(&counter, |position| position.counter)
            .map_err(|_| ReplayIdError::Unknown)?;
        match self.positions.get(index) {
            Some(position) if !self.expired(position.at, now) => Ok(counter),
            _ => Err(ReplayIdError::Unknown),
        }
    }

    /// Up to `max` retained events after `cursor`, oldest first, within one response's size.
    pub(crate) fn after(&self, cursor: u64, max: usize, now: Duration) -> Vec<(u64, StoredEvent)> {
        let start = self
            .positions
            .partition_point(|position| position.counter <= cursor);
        let mut batch = Vec::new();
        let mut bytes = 0usize;
        for position in self.positions.range(start..) {
            if batch.len() >= max {
                break;
            }
            let Some(event) = &position.event else {
                continue;
            };
            if self.expired(position.at, now) {
                continue;
            }
            if !batch.is_empty() && bytes.saturating_add(event.payload.len()) > BATCH_BYTES {
                break;
            }
            bytes = bytes.saturating_add(event.payload.len());
            batch.push((position.counter, event.clone()));
        }
        batch
    }

    /// Every retained event with its counter, oldest first; positions the counter only passed
    /// are left out.
    pub(crate) fn events(&self) -> impl Iterator<Item = (u64, &StoredEvent)> {
        self.positions
            .iter()
            .filter_map(|position| Some((position.counter, position.event.as_ref()?)))
    }
}

/// The 10-byte wire form: the counter big-endian, then two zero bytes.
pub(crate) fn encode_replay_id(counter: u64) -> Vec<u8> {
    let mut bytes = counter.to_be_bytes().to_vec();
    bytes.extend_from_slice(&[0, 0]);
    bytes
}

/// The counter in a 10-byte id, or in the 8-byte form some clients send back.
pub(crate) fn decode_replay_id(bytes: &[u8]) -> Option<u64> {
    let head: [u8; 8] = match bytes.len() {
        8 => bytes.try_into().ok()?,
        10 if bytes[8..] == [0, 0] => bytes[..8].try_into().ok()?,
        _ => return None,
    };
    Some(u64::from_be_bytes(head))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn event(name: &str) -> StoredEvent {
        StoredEvent {
            id: name.to_owned(),
            schema_id: "s".to_owned(),
            payload: name.as_bytes().to_vec(),
        }
    }

    fn ids(batch: &[(u64, StoredEvent)]) -> Vec<&str> {
        batch.iter().map(|(_, event)| event.id.as_str()).collect()
    }

    #[test]
    fn replay_ids_are_ten_bytes_and_eight_are_accepted() {
        let id = encode_replay_id(1_104_717);
        assert_eq!(id, [0, 0, 0, 0, 0, 16, 219, 77, 0, 0]);
        assert_eq!(decode_replay_id(&id), Some(1_104_717));
        assert_eq!(decode_replay_id(&id[..8]), Some(1_104_717));
        assert_eq!(decode_replay_id(&[0, 0, 0, 0, 0, 16, 219, 77, 0, 1]), None);
        assert_eq!(decode_replay_id(b"12907414"), Some(0x3132_3930_3734_3134));
        assert_eq!(decode_replay_id(&[1, 2, 3]), None);
    }

    #[test]
    fn events_after_a_cursor_skip_tightened_positions_and_respect_max() {
        let mut log = EventLog::new(HOUR, Duration::ZERO);
        let base = log.tip();
        let a = log.append(event("a"), Duration::ZERO);
        let gap = log.tighten(Duration::ZERO);
        let b = log.append(event("b"), Duration::ZERO);
        assert!(base < a && a < gap && gap < b);
        assert_eq!(ids(&log.after(base, 10, Duration::ZERO)), ["a", "b"]);
        assert_eq!(ids(&log.after(base, 1, Duration::ZERO)), ["a"]);
        assert_eq!(ids(&log.after(a, 10, Duration::ZERO)), ["b"]);
        assert_eq!(ids(&log.after(gap, 10, Duration::ZERO)), ["b"]);
        assert!(log.after(b, 10, Duration::ZERO).is_empty());
        let listed: Vec<(u64, &str)> = log
            .events()
            .map(|(counter, event)| (counter, event.id.as_str()))
            .collect();
        assert_eq!(
            listed,
            [(a, "a"), (b, "b")],
            "the ledger skips passed positions"
        );
    }

    #[test]
    fn only_reported_positions_within_retention_resolve() {
        let mut log = EventLog::new(HOUR, Duration::ZERO);
        let a = log.append(event("a"), Duration::ZERO);
        let gap = log.tighten(Duration::from_secs(60));
        assert_eq!(log.resolve(&encode_replay_id(a), Duration::ZERO), Ok(a));
        assert_eq!(
            log.resolve(&encode_replay_id(gap)[..8], Duration::ZERO),
            Ok(gap)
        );
        assert_eq!(
            log.resolve(&encode_replay_id(a + 1), Duration::ZERO),
            Err(ReplayIdError::Unknown)
        );
        assert_eq!(
            log.resolve(b"123", Duration::ZERO),
            Err(ReplayIdError::Malformed)
        );

        let later = HOUR + Duration::from_secs(30);
        assert_eq!(
            log.resolve(&encode_replay_id(a), later),
            Err(ReplayIdError::Unknown)
        );
        assert_eq!(log.resolve(&encode_replay_id(gap), later), Ok(gap));
        assert!(log.after(0, 10, later).is_empty());
        log.prune(later);
        assert_eq!(
            log.resolve(&encode_replay_id(a), Duration::ZERO),
            Err(ReplayIdError::Unknown)
        );
    }
}
