//! The upstream fault matrix with the real binaries: every outbound call `fulfillment` makes
//! (the Salesforce token, both SOQL queries, the Activating, Activated and Failed PATCHes, and
//! WHMCS GetClientsDetails, GetProducts, GetPayMethods, GetOrders, AddOrder and AcceptOrder)
//! meets every fault (HTTP 503, 429, no answer within the deadline, a closed connection, a 502
//! proxy page, HTML with 200, cut-off JSON). Each case checks the code the runbook's error table
//! gives, that nothing was retried and nothing created twice in WHMCS, and that once the fault
//! is gone the runbook's next step (a delivery again, or "Provision / Retry") ends `Activated`
//! with exactly one WHMCS order. `redelivery` shows ingest delivering again by itself, and
//! `refused` covers a refused connection, which needs a process pointed at a closed port.
//!
//! One `fulfillment` process serves all matrix cases. Faults are scoped to one case's Order,
//! WHMCS client or product, so the cases whose failure is written on the Order run
//! concurrently; the ones whose failure only `/health` shows (the token, the guard's read, the
//! Failed write) run one after another. The binary takes about 30 s on two cores once built.

#![allow(
    clippy::unwrap_used,
    reason = "a test's helpers fail loudly on broken set-up"
)]
#![allow(
    clippy::print_stderr,
    reason = "the matrix prints the code each case observed"
)]

mod inject;
mod matrix;
mod redelivery;
mod refused;
mod runner;
mod stack;

use std::sync::Arc;

use matrix::Case;
use stack::Stack;
use tokio::{sync::Semaphore, task::JoinSet};

/// Cases in flight at once: enough to overlap the hangs, few enough that a loaded two-core
/// machine answers every other call well within the upstream deadline.
const CONCURRENT_CASES: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_upstream_call_meets_every_fault() {
    let started = std::time::Instant::now();
    let stack = Arc::new(Stack::start(false).await);
    let table = matrix::table();
    let (alone, together): (Vec<_>, Vec<_>) = table
        .iter()
        .copied()
        .enumerate()
        .partition(|(_, case)| case.call.is_process_wide());

    let mut results: Vec<(usize, Case, Result<String, String>)> = Vec::new();
    let permits = Arc::new(Semaphore::new(CONCURRENT_CASES));
    let mut running = JoinSet::new();
    for (index, case) in together {
        let stack = stack.clone();
        let permits = permits.clone();
        running.spawn(async move {
            let _permit = permits.acquire_owned().await.unwrap();
            (index, case, runner::run(&stack, index, case).await)
        });
    }
    while let Some(joined) = running.join_next().await {
        match joined {
            Ok(result) => results.push(result),
            Err(err) => panic!("a case panicked: {err}"),
        }
    }
    for (index, case) in alone {
        let result = runner::run(&stack, index, case).await;
        results.push((index, case, result));
    }
    results.sort_by_key(|(index, ..)| *index);

    let observed: Vec<(Case, String)> = results
        .iter()
        .map(|(_, case, result)| {
            let cell = match result {
                Ok(code) => code.clone(),
                Err(_) => "FAILED".to_owned(),
            };
            (*case, cell)
        })
        .collect();
    eprintln!(
        "{} cases in {:.1} s\n{}",
        results.len(),
        started.elapsed().as_secs_f64(),
        matrix::render(&observed)
    );
    let failures: Vec<String> = results
        .iter()
        .filter_map(|(_, case, result)| {
            result
                .as_ref()
                .err()
                .map(|why| format!("{case} (expected {}): {why}", expectation(*case)))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        results.len(),
        failures.join("\n")
    );
    stack.assert_no_secrets();
    stack.world.shutdown().await;
}

/// What a case expects, for failure messages.
fn expectation(case: Case) -> String {
    match case.call.reach() {
        matrix::Reach::Order(step) => format!("Failed at {step} with {}", case.fault.code()),
        matrix::Reach::Unavailable(reason) => {
            format!("UNAVAILABLE {reason}, /health {}", case.fault.code())
        }
        matrix::Reach::Unwritten => {
            format!("409 not written, /health {}", case.fault.code())
        }
    }
}
