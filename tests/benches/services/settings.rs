//! The benchmark's scale, read from `BENCH_*` variables so a run can be made shorter or
//! longer without editing code. The defaults keep a full run within about three minutes on
//! two cores.

use std::time::Duration;

/// What to run and how much of it.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Events preloaded for the throughput run (`BENCH_EVENTS`).
    pub(crate) events: usize,
    /// Events published for the latency run (`BENCH_LATENCY_EVENTS`).
    pub(crate) latency_events: usize,
    /// Events published per second in the latency run (`BENCH_LATENCY_RATE`).
    pub(crate) latency_rate: u32,
    /// Orders fulfilled in each round of the fulfillment run (`BENCH_ORDERS`); at most 4,000
    /// over all rounds, since the emulated org allows 15,000 API calls a day and an Order
    /// makes three.
    pub(crate) orders: usize,
    /// Rounds of the throughput runs, each beside its own limits (`BENCH_ROUNDS`); the
    /// median round is reported.
    pub(crate) rounds: usize,
    /// Orders in flight at once (`BENCH_ORDER_CONCURRENCY`).
    pub(crate) order_concurrency: usize,
    /// Latency added to every Salesforce and WHMCS answer (`BENCH_UPSTREAM_LATENCY_MS`).
    pub(crate) upstream_latency: Duration,
    /// Starts per service for the time to SERVING (`BENCH_STARTS`).
    pub(crate) starts: usize,
    /// ingest's `INGEST_CONCURRENCY` in the throughput and latency runs (its default, 16).
    pub(crate) ingest_concurrency: usize,
    /// The sections to run (`BENCH_ONLY`, comma-separated); empty means all.
    only: Vec<String>,
}

impl Settings {
    /// Reads the variables, with defaults for those unset or unreadable.
    pub(crate) fn from_env() -> Self {
        let rounds = number("BENCH_ROUNDS", 3).clamp(1, 9);
        Self {
            events: number("BENCH_EVENTS", 100_000).max(100),
            latency_events: number("BENCH_LATENCY_EVENTS", 1_000).max(10),
            latency_rate: u32::try_from(number("BENCH_LATENCY_RATE", 100))
                .unwrap_or(100)
                .clamp(1, 10_000),
            orders: number("BENCH_ORDERS", 1_000).clamp(50, 4_000 / rounds),
            rounds,
            order_concurrency: number("BENCH_ORDER_CONCURRENCY", 50).clamp(1, 100),
            upstream_latency: Duration::from_millis(
                u64::try_from(number("BENCH_UPSTREAM_LATENCY_MS", 20)).unwrap_or(20),
            ),
            starts: number("BENCH_STARTS", 7).clamp(1, 50),
            ingest_concurrency: 16,
            only: std::env::var("BENCH_ONLY")
                .unwrap_or_default()
                .split(',')
                .map(|part| part.trim().to_ascii_lowercase())
                .filter(|part| !part.is_empty())
                .collect(),
        }
    }

    /// Whether the section `name` is to run.
    pub(crate) fn wants(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|only| only == name)
    }
}

fn number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(default)
}
