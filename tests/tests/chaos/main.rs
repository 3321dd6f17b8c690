//! Chaos with the real binaries: `kill -9` of ingest and fulfillment at random moments, Redis
//! stopped for 30 s during a burst, and SIGTERM to both during a burst. After each, the two
//! promises are checked against the emulators' records: no approved Order is lost, none is
//! provisioned twice.
//!
//! Randomness is seeded; a failing run prints its seed, and `CHAOS_SEED=<seed>` replays it.
//! `CHAOS_ROUNDS=<n>` (at least 20) makes the kill -9 run longer. The three scenarios take
//! about two minutes together on two cores.

#![allow(
    clippy::unwrap_used,
    reason = "a test's helpers fail loudly on broken set-up"
)]
#![allow(
    clippy::print_stderr,
    reason = "each scenario reports its seed and what it measured"
)]

mod cluster;
mod kill9;
mod knobs;
mod redis_outage;
mod sigterm;
mod verdict;
mod workload;
