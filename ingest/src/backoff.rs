//! Capped exponential backoff with full jitter, for reconnecting to Salesforce and for
//! delivering an event again while fulfillment cannot take it.
//!
//! Full jitter (a random wait between zero and the current ceiling) spreads the retries of many
//! replicas or events, so a recovering service is not hit by all of them at once.

use std::time::Duration;

/// Waits that grow from `initial` by doubling up to `cap`.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    /// A backoff starting at `initial` and never above `cap`.
    pub fn new(initial: Duration, cap: Duration) -> Self {
        Self {
            initial,
            cap: cap.max(initial),
            attempt: 0,
        }
    }

    /// The ceiling of the next wait, before jitter.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(20)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.cap)
    }

    /// The next wait: uniformly random in `[ceiling / 2, ceiling]`, so it never collapses to
    /// nothing; then the ceiling doubles.
    pub fn next_wait(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let half = ceiling / 2;
        let spread = u64::try_from((ceiling - half).as_millis()).unwrap_or(u64::MAX);
        let jitter = if spread == 0 {
            0
        } else {
            rand::random_range(0..=spread)
        };
        half + Duration::from_millis(jitter)
    }

    /// Starts again from `initial`, after a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_stay_within_the_ceiling_which_doubles_up_to_the_cap() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let mut previous_ceiling = Duration::ZERO;
        for _ in 0..40 {
            let ceiling = backoff.ceiling();
            assert!(ceiling >= previous_ceiling && ceiling <= Duration::from_secs(2));
            let wait = backoff.next_wait();
            assert!(
                wait >= ceiling / 2 && wait <= ceiling,
                "{wait:?} outside {ceiling:?}"
            );
            previous_ceiling = ceiling;
        }
        assert_eq!(backoff.ceiling(), Duration::from_secs(2));
        backoff.reset();
        assert_eq!(backoff.ceiling(), Duration::from_millis(100));
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        for _ in 0..10_000 {
            backoff.next_wait();
        }
        assert_eq!(backoff.ceiling(), Duration::from_secs(30));
    }
}
