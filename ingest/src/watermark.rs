//! The cursor's rule: it only ever advances to the replay id of the newest event that is done
//! together with every event that arrived before it on the stream.
//!
//! Events are numbered in arrival order (replay ids are opaque bytes and never compared); each
//! finishes in its own time, and the watermark moves only over an unbroken run of finished
//! events. A crash therefore re-delivers unfinished work and never skips it.

use std::collections::VecDeque;

/// An event's place in arrival order on the current stream.
pub type Sequence = u64;

#[derive(Debug)]
struct Slot {
    replay_id: Vec<u8>,
    done: bool,
}

/// Tracks which events of a stream are done and where the cursor may go.
#[derive(Debug, Default)]
pub struct Watermark {
    /// The sequence number of the front slot.
    base: Sequence,
    slots: VecDeque<Slot>,
}

impl Watermark {
    /// An empty watermark.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an event's arrival; returns its sequence number.
    pub fn arrive(&mut self, replay_id: Vec<u8>) -> Sequence {
        self.slots.push_back(Slot {
            replay_id,
            done: false,
        });
        self.base + self.slots.len() as u64 - 1
    }

    /// Marks `sequence` done. Returns the new cursor when the unbroken run of finished events
    /// from the front grew, `None` otherwise. Unknown or repeated sequence numbers are ignored.
    pub fn complete(&mut self, sequence: Sequence) -> Option<Vec<u8>> {
        let index = usize::try_from(sequence.checked_sub(self.base)?).ok()?;
        self.slots.get_mut(index)?.done = true;
        let mut cursor = None;
        while self.slots.front().is_some_and(|slot| slot.done) {
            if let Some(slot) = self.slots.pop_front() {
                cursor = Some(slot.replay_id);
                self.base += 1;
            }
        }
        cursor
    }

    /// Events that arrived and are not yet passed by the watermark.
    pub fn pending(&self) -> usize {
        self.slots.len()
    }

    /// Whether every event that arrived is done.
    pub fn is_idle(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_waits_for_a_slow_event_and_jumps_when_it_finishes() {
        let mut watermark = Watermark::new();
        let first = watermark.arrive(vec![1]);
        let second = watermark.arrive(vec![2]);
        let third = watermark.arrive(vec![3]);

        assert_eq!(
            watermark.complete(third),
            None,
            "later events finishing first move nothing"
        );
        assert_eq!(watermark.complete(second), None);
        assert_eq!(
            watermark.complete(first),
            Some(vec![3]),
            "then the whole run at once"
        );
        assert!(watermark.is_idle());
    }

    #[test]
    fn completions_in_order_advance_one_by_one_and_repeats_are_ignored() {
        let mut watermark = Watermark::new();
        let first = watermark.arrive(vec![1]);
        let second = watermark.arrive(vec![2]);
        assert_eq!(watermark.complete(first), Some(vec![1]));
        assert_eq!(watermark.complete(first), None);
        assert_eq!(watermark.pending(), 1);
        assert_eq!(watermark.complete(second), Some(vec![2]));
        assert_eq!(watermark.complete(99), None);
    }
}
