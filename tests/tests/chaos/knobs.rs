//! What a chaos run may be told from outside, and the seeded randomness that makes a failing run
//! repeatable: `CHAOS_SEED` replays a run, `CHAOS_ROUNDS` makes the kill -9 run longer.
//!
//! The generator is SplitMix64: a few lines, good enough to pick moments and victims, and the
//! same sequence for the same seed on every machine. A seed fixes the schedule (which events,
//! which victims, how long each pause); the processes' own timing still varies from run to run,
//! so a replay repeats the schedule, not every interleaving.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Kill rounds of the kill -9 scenario when `CHAOS_ROUNDS` is not set.
pub(crate) const DEFAULT_ROUNDS: usize = 20;

/// The seed of this run: `CHAOS_SEED` when set, else drawn from the clock.
pub(crate) fn seed() -> u64 {
    std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|elapsed| elapsed.as_nanos() as u64)
                .unwrap_or(0x5eed)
        })
}

/// Kill rounds: `CHAOS_ROUNDS` when set (at least the default), else [`DEFAULT_ROUNDS`].
pub(crate) fn rounds() -> usize {
    std::env::var("CHAOS_ROUNDS")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .map_or(DEFAULT_ROUNDS, |rounds: usize| rounds.max(DEFAULT_ROUNDS))
}

/// Prints how to replay the run when the test fails, whatever assertion failed.
pub(crate) struct SeedReport {
    pub(crate) scenario: &'static str,
    pub(crate) seed: u64,
}

impl Drop for SeedReport {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "chaos scenario {:?} failed with seed {}: replay it with CHAOS_SEED={}",
                self.scenario, self.seed, self.seed
            );
        }
    }
}

/// A small seeded generator.
pub(crate) struct Rng(u64);

impl Rng {
    /// The generator for `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`0` when `bound` is 0).
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            return 0;
        }
        (self.next_u64() % bound as u64) as usize
    }

    /// A duration between `low_ms` and `high_ms` milliseconds.
    pub(crate) fn millis(&mut self, low_ms: u64, high_ms: u64) -> Duration {
        let span = high_ms.saturating_sub(low_ms) + 1;
        Duration::from_millis(low_ms + self.next_u64() % span)
    }
}

#[test]
fn the_same_seed_gives_the_same_sequence() {
    let draw = |seed| {
        let mut rng = Rng::new(seed);
        (0..8).map(|_| rng.below(1000)).collect::<Vec<_>>()
    };
    assert_eq!(draw(7), draw(7));
    assert_ne!(draw(7), draw(8));
    let mut rng = Rng::new(1);
    assert!((0..100).all(|_| rng.below(3) < 3));
    assert!((0..100).all(|_| {
        let wait = rng.millis(100, 200);
        wait >= Duration::from_millis(100) && wait <= Duration::from_millis(200)
    }));
}
