//! The services' speed and memory, measured with the real release binaries against the
//! emulators and a private Redis: ingest throughput and latency, fulfillment throughput and
//! CPU time, resident memory, and the time to SERVING. `BENCHMARKS.md` at the repository root
//! says what each figure means, its target, and the figures of the last run.
//!
//! Run it with `cargo bench -p bridge-tests --bench services` after
//! `cargo build --release -p ingest -p fulfillment` in the same target directory: it refuses
//! binaries older than their sources. Every figure is printed beside the limit it is compared
//! with, measured in the same run, because these machines are shared and noisy.
//!
//! The same executable also plays the helper processes the measurements need (an instant
//! `Fulfill` server, a bare Pub/Sub subscriber, a plain `Fulfill` loop): started with
//! `BENCH_ROLE` set, it becomes that process instead.
//!
//! Scale with `BENCH_EVENTS`, `BENCH_ROUNDS`, `BENCH_LATENCY_EVENTS`, `BENCH_LATENCY_RATE`,
//! `BENCH_ORDERS`, `BENCH_ORDER_CONCURRENCY`, `BENCH_UPSTREAM_LATENCY_MS`, `BENCH_STARTS`, and
//! choose sections with `BENCH_ONLY` (`throughput,latency,fulfillment,memory,startup`). For
//! profiling: `BENCH_LOG_DIR` keeps the services' logs, `BENCH_SERVICE_ENV` sets variables on
//! every service (`NAME=value;NAME=value`), `BENCH_REDIS_AOF=0` turns Redis persistence off,
//! and `BENCH_ALLOW_STALE` measures binaries older than their sources.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark reports on stdout and fails loudly on broken set-up"
)]

mod bare_subscriber;
mod binaries;
mod child;
mod fulfill_loop;
mod fulfillment_floor;
mod fulfillment_round;
mod fulfillment_run;
mod ingest_latency;
mod ingest_load;
mod ingest_throughput;
mod instant;
mod procfs;
mod redis_info;
mod service;
mod settings;
mod stack;
mod startup;
mod summary;

use settings::Settings;

fn main() {
    bridge_runtime::http_client::install_crypto_provider();
    if let Some(role) = child::role() {
        child::run_role(&role);
        return;
    }

    // `cargo test --all-targets` runs this too, without `--bench`: a test run is no place for
    // minutes of load on the machine.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("the services benchmark runs only under `cargo bench`");
        return;
    }
    let settings = Settings::from_env();
    let binaries = binaries::Binaries::locate().unwrap_or_else(|problem| {
        eprintln!("{problem}");
        std::process::exit(2);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");

    summary::print_machine(&binaries);
    runtime.block_on(async {
        if settings.wants("throughput") {
            ingest_throughput::run(&binaries, &settings).await.print();
        }
        if settings.wants("latency") {
            ingest_latency::run(&binaries, &settings).await.print();
        }
        if settings.wants("fulfillment") {
            fulfillment_run::run(&binaries, &settings).await.print();
        }
        if settings.wants("memory") {
            ingest_load::run(&binaries, &settings).await.print();
        }
        if settings.wants("startup") {
            startup::run(&binaries, &settings).await.print();
        }
    });
}
