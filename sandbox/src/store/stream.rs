//! A stream value: entries ordered by id (`ms-seq`), each a list of field/value pairs, and
//! the last id ever added, which only grows (deleting entries never lets an id be reused).

use std::{collections::BTreeMap, fmt, ops::Bound};

/// An entry id: milliseconds and a sequence number within them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct StreamId {
    /// The milliseconds part.
    pub(crate) ms: u64,
    /// The sequence part.
    pub(crate) seq: u64,
}

impl StreamId {
    /// The smallest id, `0-0`.
    pub(crate) const MIN: Self = Self { ms: 0, seq: 0 };
    /// The largest id.
    pub(crate) const MAX: Self = Self {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    /// Reads `ms` or `ms-seq`; a missing sequence becomes `missing_seq`.
    pub(crate) fn parse(text: &[u8], missing_seq: u64) -> Option<Self> {
        let text = std::str::from_utf8(text).ok()?;
        let (ms, seq) = match text.split_once('-') {
            Some((ms, seq)) => (ms, Some(seq)),
            None => (text, None),
        };
        let ms = parse_u64(ms)?;
        let seq = match seq {
            Some(seq) => parse_u64(seq)?,
            None => missing_seq,
        };
        Some(Self { ms, seq })
    }

    /// The next id, if there is one.
    pub(crate) fn successor(self) -> Option<Self> {
        match self.seq.checked_add(1) {
            Some(seq) => Some(Self { seq, ..self }),
            None => Some(Self {
                ms: self.ms.checked_add(1)?,
                seq: 0,
            }),
        }
    }

    /// The previous id, if there is one.
    pub(crate) fn predecessor(self) -> Option<Self> {
        match self.seq.checked_sub(1) {
            Some(seq) => Some(Self { seq, ..self }),
            None => Some(Self {
                ms: self.ms.checked_sub(1)?,
                seq: u64::MAX,
            }),
        }
    }
}

/// Digits only, as Redis's `string2ull` accepts them for ids.
fn parse_u64(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl fmt::Display for StreamId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}-{}", self.ms, self.seq)
    }
}

/// One entry's fields, in the order they were given.
pub(crate) type Fields = Vec<(Vec<u8>, Vec<u8>)>;

/// A stream's entries.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stream {
    entries: BTreeMap<StreamId, Fields>,
    last_id: StreamId,
}

impl Stream {
    /// How many entries there are.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The largest id ever added.
    pub(crate) fn last_id(&self) -> StreamId {
        self.last_id
    }

    /// The id `*` stands for at `unix_ms`: the clock, or just after the last id when the clock
    /// is behind it. `None` when the id space is used up.
    pub(crate) fn next_auto_id(&self, unix_ms: u64) -> Option<StreamId> {
        if unix_ms > self.last_id.ms {
            Some(StreamId {
                ms: unix_ms,
                seq: 0,
            })
        } else {
            self.last_id.successor()
        }
    }

    /// Adds an entry; the caller checked that `id` is above [`Stream::last_id`].
    pub(crate) fn append(&mut self, id: StreamId, fields: Fields) {
        self.entries.insert(id, fields);
        self.last_id = self.last_id.max(id);
    }

    /// Removes the oldest entries until at most `max_len` are left; how many went.
    pub(crate) fn trim_to_len(&mut self, max_len: usize) -> usize {
        let mut removed = 0;
        while self.entries.len() > max_len {
            if self.entries.pop_first().is_none() {
                break;
            }
            removed += 1;
        }
        removed
    }

    /// Removes the entries with ids below `min_id`; how many went.
    pub(crate) fn trim_below(&mut self, min_id: StreamId) -> usize {
        let kept = self.entries.split_off(&min_id);
        let removed = self.entries.len();
        self.entries = kept;
        removed
    }

    /// Removes the entry `id`; whether it was there.
    pub(crate) fn remove(&mut self, id: StreamId) -> bool {
        self.entries.remove(&id).is_some()
    }

    /// The entries from `start` to `end` (both inclusive), at most `count` of them.
    pub(crate) fn range(
        &self,
        start: StreamId,
        end: StreamId,
        count: Option<usize>,
    ) -> Vec<(StreamId, &Fields)> {
        if start > end {
            return Vec::new();
        }
        self.entries
            .range((Bound::Included(start), Bound::Included(end)))
            .take(count.unwrap_or(usize::MAX))
            .map(|(id, fields)| (*id, fields))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    #[test]
    fn ids_parse_with_and_without_a_sequence() {
        assert_eq!(StreamId::parse(b"5-3", 0), Some(id(5, 3)));
        assert_eq!(StreamId::parse(b"5", 0), Some(id(5, 0)));
        assert_eq!(StreamId::parse(b"5", u64::MAX), Some(id(5, u64::MAX)));
        for bad in [
            &b""[..],
            b"-",
            b"5-",
            b"-5",
            b"a-1",
            b"1-2-3",
            b"+1",
            b"18446744073709551616",
        ] {
            assert_eq!(StreamId::parse(bad, 0), None, "{bad:?}");
        }
        assert_eq!(id(5, 3).to_string(), "5-3");
    }

    #[test]
    fn successors_and_predecessors_roll_over_and_stop_at_the_ends() {
        assert_eq!(id(1, u64::MAX).successor(), Some(id(2, 0)));
        assert_eq!(StreamId::MAX.successor(), None);
        assert_eq!(id(2, 0).predecessor(), Some(id(1, u64::MAX)));
        assert_eq!(StreamId::MIN.predecessor(), None);
    }

    #[test]
    fn auto_ids_follow_the_clock_but_never_go_back() {
        let mut stream = Stream::default();
        assert_eq!(stream.next_auto_id(100), Some(id(100, 0)));
        stream.append(id(100, 0), Vec::new());
        assert_eq!(stream.next_auto_id(100), Some(id(100, 1)));
        assert_eq!(
            stream.next_auto_id(50),
            Some(id(100, 1)),
            "a clock that stepped back"
        );
        stream.remove(id(100, 0));
        assert_eq!(
            stream.next_auto_id(100),
            Some(id(100, 1)),
            "deletion frees no id"
        );
    }

    #[test]
    fn trimming_removes_the_oldest_entries() {
        let mut stream = Stream::default();
        for ms in 1..=10 {
            stream.append(id(ms, 0), Vec::new());
        }
        assert_eq!(stream.trim_to_len(7), 3);
        assert_eq!(
            stream.range(StreamId::MIN, StreamId::MAX, Some(1))[0].0,
            id(4, 0)
        );
        assert_eq!(stream.trim_below(id(6, 0)), 2);
        assert_eq!(stream.len(), 5);
        assert_eq!(stream.range(id(9, 0), id(3, 0), None).len(), 0);
        assert_eq!(stream.last_id(), id(10, 0));
    }
}
