//! The keyspace: every key's value (string, hash or stream) and its optional deadline.
//!
//! Expiry follows Redis: a key past its deadline is gone for every reader at once (checked on
//! each access), and a periodic [`Keyspace::sweep`] frees the memory of keys nobody reads
//! again. Time is passed in as [`Now`], so one command sees one instant throughout.

use std::{
    collections::{HashMap, hash_map},
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use super::{error::CommandError, hashes::HashFields, stream::Stream};

/// The moment a command runs at: a monotonic instant for deadlines, and the wall clock in Unix
/// milliseconds for stream ids.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    /// For deadlines and time to live.
    pub(crate) instant: Instant,
    /// For stream entry ids.
    pub(crate) unix_ms: u64,
}

impl Now {
    /// The current moment.
    pub(crate) fn current() -> Self {
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or_default();
        Self {
            instant: Instant::now(),
            unix_ms,
        }
    }
}

/// A stored value.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// A binary-safe string.
    String(Vec<u8>),
    /// A hash of binary-safe fields.
    Hash(HashFields),
    /// A stream of entries.
    Stream(Stream),
}

#[derive(Debug)]
struct Entry {
    value: Value,
    expires_at: Option<Instant>,
}

/// All keys of the one database.
#[derive(Debug, Default)]
pub(crate) struct Keyspace {
    entries: HashMap<Vec<u8>, Entry>,
}

impl Keyspace {
    /// Removes `key` if its deadline has passed; whether it is (still) there afterwards.
    fn live(&mut self, key: &[u8], now: Now) -> bool {
        match self.entries.get(key) {
            None => false,
            Some(entry) if entry.expires_at.is_some_and(|at| at <= now.instant) => {
                self.entries.remove(key);
                false
            }
            Some(_) => true,
        }
    }

    fn entry_mut(&mut self, key: &[u8], now: Now) -> Option<&mut Entry> {
        if self.live(key, now) {
            self.entries.get_mut(key)
        } else {
            None
        }
    }

    /// Whether `key` exists.
    pub(crate) fn exists(&mut self, key: &[u8], now: Now) -> bool {
        self.live(key, now)
    }

    /// The value of `key`, if any.
    pub(crate) fn value(&mut self, key: &[u8], now: Now) -> Option<&Value> {
        self.entry_mut(key, now).map(|entry| &entry.value)
    }

    /// The string at `key`; `WRONGTYPE` when it holds something else.
    pub(crate) fn string(&mut self, key: &[u8], now: Now) -> Result<Option<&[u8]>, CommandError> {
        match self.value(key, now) {
            None => Ok(None),
            Some(Value::String(bytes)) => Ok(Some(bytes)),
            Some(_) => Err(CommandError::WrongType),
        }
    }

    /// The hash at `key`; `WRONGTYPE` when it holds something else.
    pub(crate) fn hash(
        &mut self,
        key: &[u8],
        now: Now,
    ) -> Result<Option<&HashFields>, CommandError> {
        match self.value(key, now) {
            None => Ok(None),
            Some(Value::Hash(fields)) => Ok(Some(fields)),
            Some(_) => Err(CommandError::WrongType),
        }
    }

    /// The hash at `key`, created empty (without a deadline) when missing.
    pub(crate) fn hash_or_create(
        &mut self,
        key: &[u8],
        now: Now,
    ) -> Result<&mut HashFields, CommandError> {
        match self.slot(key, now, || Value::Hash(HashFields::default())) {
            Value::Hash(fields) => Ok(fields),
            _ => Err(CommandError::WrongType),
        }
    }

    /// The stream at `key`; `WRONGTYPE` when it holds something else.
    pub(crate) fn stream(&mut self, key: &[u8], now: Now) -> Result<Option<&Stream>, CommandError> {
        match self.value(key, now) {
            None => Ok(None),
            Some(Value::Stream(stream)) => Ok(Some(stream)),
            Some(_) => Err(CommandError::WrongType),
        }
    }

    /// The stream at `key`, for changing; `WRONGTYPE` when it holds something else.
    pub(crate) fn stream_mut(
        &mut self,
        key: &[u8],
        now: Now,
    ) -> Result<Option<&mut Stream>, CommandError> {
        match self.entry_mut(key, now).map(|entry| &mut entry.value) {
            None => Ok(None),
            Some(Value::Stream(stream)) => Ok(Some(stream)),
            Some(_) => Err(CommandError::WrongType),
        }
    }

    /// Stores `stream` as a new key (the caller checked that `key` is missing).
    pub(crate) fn insert_stream(&mut self, key: &[u8], stream: Stream) {
        self.entries.insert(
            key.to_vec(),
            Entry {
                value: Value::Stream(stream),
                expires_at: None,
            },
        );
    }

    fn slot(&mut self, key: &[u8], now: Now, empty: impl FnOnce() -> Value) -> &mut Value {
        // Drops an expired value first, so the new one starts without its old deadline.
        self.live(key, now);
        let entry = match self.entries.entry(key.to_vec()) {
            hash_map::Entry::Occupied(occupied) => occupied.into_mut(),
            hash_map::Entry::Vacant(vacant) => vacant.insert(Entry {
                value: empty(),
                expires_at: None,
            }),
        };
        &mut entry.value
    }

    /// Replaces whatever `key` held with the string `value`, with the given deadline.
    pub(crate) fn set_string(&mut self, key: &[u8], value: Vec<u8>, expires_at: Option<Instant>) {
        self.entries.insert(
            key.to_vec(),
            Entry {
                value: Value::String(value),
                expires_at,
            },
        );
    }

    /// Deletes `key`; whether it existed.
    pub(crate) fn remove(&mut self, key: &[u8], now: Now) -> bool {
        self.live(key, now) && self.entries.remove(key).is_some()
    }

    /// The deadline of `key`: `None` when the key is missing, `Some(None)` when it has none.
    pub(crate) fn deadline(&mut self, key: &[u8], now: Now) -> Option<Option<Instant>> {
        self.entry_mut(key, now).map(|entry| entry.expires_at)
    }

    /// Sets or clears the deadline of an existing `key`; whether the key exists.
    pub(crate) fn set_deadline(&mut self, key: &[u8], now: Now, at: Option<Instant>) -> bool {
        match self.entry_mut(key, now) {
            Some(entry) => {
                entry.expires_at = at;
                true
            }
            None => false,
        }
    }

    /// Frees every key past its deadline; how many there were.
    pub(crate) fn sweep(&mut self, now: Now) -> usize {
        let before = self.entries.len();
        self.entries
            .retain(|_, entry| entry.expires_at.is_none_or(|at| at > now.instant));
        before - self.entries.len()
    }

    /// How many keys are stored, expired or not.
    #[cfg(test)]
    pub(crate) fn stored(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn an_expired_key_is_gone_on_access_and_freed_by_the_sweep() {
        let mut keyspace = Keyspace::default();
        let start = Now::current();
        let later = Now {
            instant: start.instant + Duration::from_millis(20),
            ..start
        };
        keyspace.set_string(
            b"a",
            b"1".to_vec(),
            Some(start.instant + Duration::from_millis(10)),
        );
        keyspace.set_string(
            b"b",
            b"2".to_vec(),
            Some(start.instant + Duration::from_millis(10)),
        );
        keyspace.set_string(b"c", b"3".to_vec(), None);

        assert_eq!(keyspace.string(b"a", start).unwrap(), Some(&b"1"[..]));
        assert_eq!(keyspace.string(b"a", later).unwrap(), None);
        assert_eq!(
            keyspace.stored(),
            2,
            "read once past its deadline, `a` is gone"
        );
        assert_eq!(keyspace.sweep(later), 1, "`b` was never read again");
        assert!(keyspace.exists(b"c", later));
    }

    #[test]
    fn a_key_of_another_type_is_wrongtype_and_an_expired_one_is_replaced() {
        let mut keyspace = Keyspace::default();
        let now = Now::current();
        keyspace.set_string(b"k", b"v".to_vec(), None);
        assert!(matches!(
            keyspace.hash_or_create(b"k", now),
            Err(CommandError::WrongType)
        ));
        assert!(matches!(
            keyspace.stream(b"k", now),
            Err(CommandError::WrongType)
        ));

        keyspace.set_string(b"gone", b"v".to_vec(), Some(now.instant));
        let fields = keyspace.hash_or_create(b"gone", now).unwrap();
        assert!(fields.iter().next().is_none());
        assert_eq!(keyspace.deadline(b"gone", now), Some(None));
    }
}
