//! What must hold after any amount of chaos, checked against the emulators' own records rather
//! than against what the product says about itself:
//!
//! - every Order is `Activated` in Salesforce, with the id of its one WHMCS order;
//! - WHMCS holds exactly one order per Salesforce Order (its notes marker), created by exactly
//!   one `AddOrder` that WHMCS answered, and Active (accepted); an AddOrder whose caller died
//!   before WHMCS ran it created nothing and is not counted;
//! - every event on the Pub/Sub ledger reached fulfillment and came back with a final answer to
//!   some ingest, nothing was dead-lettered, and the cursor ends on the last event;
//! - no Order lock is left, and every journal says `activated` with nothing owed to Salesforce.
//!
//! And, at any moment, the cursor sits on no unfinished work ([`assert_cursor_sound`]).

use std::{
    collections::{HashMap, HashSet},
    thread,
    time::{Duration, Instant},
};

use sandbox::pubsub::LedgerEntry;
use serde_json::Value;

use crate::{cluster::Cluster, workload::Workload};

/// How long log lines may take to be captured after the process wrote them.
const CAPTURE_LAG: Duration = Duration::from_secs(10);

/// How often conditions are polled.
const POLL: Duration = Duration::from_millis(200);

/// At most this many problems are listed in a failure message.
const LISTED: usize = 20;

/// Hex of a replay id, as the services log it.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Whether `replay_id` comes at or before `cursor` on the channel. Replay ids are opaque to the
/// product; the test knows the emulator's: fixed-width big-endian counters, so byte order is
/// replay order.
pub(crate) fn at_or_before(replay_id: &[u8], cursor: &[u8]) -> bool {
    replay_id <= cursor
}

/// Polls `probe` until it returns `true` or `deadline` passes; returns the last answer.
pub(crate) fn poll_until(deadline: Instant, mut probe: impl FnMut() -> bool) -> bool {
    loop {
        if probe() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(POLL);
    }
}

/// The ledger once it holds every event the workload published (the Flow's events reach the
/// channel a moment after the approval).
pub(crate) fn full_ledger(cluster: &Cluster, workload: &Workload) -> Vec<LedgerEntry> {
    let mut ledger = Vec::new();
    let complete = poll_until(Instant::now() + CAPTURE_LAG, || {
        ledger = cluster.world.pubsub.ledger();
        ledger.len() == workload.published()
    });
    assert!(
        complete,
        "the channel holds {} events, {} were published",
        ledger.len(),
        workload.published()
    );
    ledger
}

/// An Order's `Activation_Status__c`.
pub(crate) fn status(cluster: &Cluster, order_id: &str) -> String {
    cluster
        .world
        .salesforce
        .order(order_id)
        .and_then(|fields| fields.get("Activation_Status__c").cloned())
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// How many Orders are `Activated` now.
pub(crate) fn activated(cluster: &Cluster, workload: &Workload) -> usize {
    workload
        .orders
        .iter()
        .filter(|order| status(cluster, order) == "Activated")
        .count()
}

/// Checks that `cursor` sits on no unfinished work: every event at or before it got a final
/// answer (some ingest logged it dispatched), and every Order whose events all lie at or before
/// it is `Activated`. `when` names the moment for the failure message.
pub(crate) fn assert_cursor_sound(
    cluster: &Cluster,
    workload: &Workload,
    cursor: &[u8],
    when: &str,
) {
    let ledger = full_ledger(cluster, workload);
    let covered: Vec<&LedgerEntry> = ledger
        .iter()
        .filter(|entry| at_or_before(&entry.replay_id, cursor))
        .collect();

    // The dispatch line is written before the event counts as done, but reaches the captured
    // output a moment later.
    let mut missing: Vec<&LedgerEntry> = Vec::new();
    poll_until(Instant::now() + CAPTURE_LAG, || {
        let dispatched = cluster.dispatched();
        missing = covered
            .iter()
            .copied()
            .filter(|entry| !dispatched.contains(&entry.event_uuid))
            .collect();
        missing.is_empty()
    });
    assert!(
        missing.is_empty(),
        "{when}: the cursor {} passed {} event(s) no ingest finished, e.g. {}",
        hex(cursor),
        missing.len(),
        describe(workload, &missing)
    );

    let mut last_event: HashMap<&str, &[u8]> = HashMap::new();
    for entry in &ledger {
        if let Some(order) = workload.order_of(entry) {
            last_event.insert(order, &entry.replay_id);
        }
    }
    let unfinished: Vec<String> = last_event
        .iter()
        .filter(|(_, last)| at_or_before(last, cursor))
        .filter_map(|(order, _)| {
            let status = status(cluster, order);
            (status != "Activated").then(|| format!("{order} is {status:?}"))
        })
        .collect();
    assert!(
        unfinished.is_empty(),
        "{when}: the cursor {} passed every event of Orders that are not Activated: {}",
        hex(cursor),
        unfinished.join(", ")
    );
}

fn describe(workload: &Workload, entries: &[&LedgerEntry]) -> String {
    entries
        .iter()
        .take(LISTED)
        .map(|entry| {
            format!(
                "{} ({}, Order {})",
                entry.event_uuid,
                hex(&entry.replay_id),
                workload.order_of(entry).unwrap_or("?")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Waits (until `deadline`) for the run to settle, then checks every promise. `seed` goes into
/// the failure messages.
pub(crate) fn assert_settled(cluster: &Cluster, workload: &Workload, deadline: Instant, seed: u64) {
    let ledger = full_ledger(cluster, workload);
    assert_eq!(workload.remaining(), 0, "the whole plan was published");

    let mut waiting: Vec<&String> = Vec::new();
    poll_until(deadline, || {
        waiting = workload
            .orders
            .iter()
            .filter(|order| status(cluster, order) != "Activated")
            .collect();
        waiting.is_empty()
    });
    if !waiting.is_empty() {
        let listed: Vec<String> = waiting
            .iter()
            .take(LISTED)
            .map(|order| {
                let journal = cluster.journal(order).unwrap_or_default();
                format!(
                    "{order}: {:?}, journal state {:?} progress {:?}",
                    status(cluster, order),
                    journal.get("state"),
                    journal.get("progress")
                )
            })
            .collect();
        panic!(
            "seed {seed}: {} of {} Orders are not Activated by the deadline: {}",
            waiting.len(),
            workload.orders.len(),
            listed.join("; ")
        );
    }

    let mut missing: Vec<&LedgerEntry> = Vec::new();
    poll_until(deadline, || {
        let dispatched = cluster.dispatched();
        missing = ledger
            .iter()
            .filter(|entry| !dispatched.contains(&entry.event_uuid))
            .collect();
        missing.is_empty()
    });
    assert!(
        missing.is_empty(),
        "seed {seed}: {} of {} published events never got a final answer: {}",
        missing.len(),
        ledger.len(),
        describe(workload, &missing)
    );
    let seen = cluster.runs_seen();
    let unseen: Vec<&LedgerEntry> = ledger
        .iter()
        .filter(|entry| !seen.contains(&entry.event_uuid))
        .collect();
    assert!(
        unseen.is_empty(),
        "seed {seed}: fulfillment never ran for {} event(s): {}",
        unseen.len(),
        describe(workload, &unseen)
    );

    let last = ledger.last().map(|entry| entry.replay_id.clone());
    let mut stored = None;
    poll_until(deadline, || {
        stored = cluster.cursor().ok().flatten();
        stored == last
    });
    assert_eq!(
        stored.as_deref().map(hex),
        last.as_deref().map(hex),
        "seed {seed}: the cursor ends on the last event"
    );

    let mut locks = Vec::new();
    poll_until(deadline, || {
        locks = cluster.lock_keys().unwrap_or_default();
        locks.is_empty()
    });
    assert!(locks.is_empty(), "seed {seed}: Order locks left: {locks:?}");

    assert_exactly_once(cluster, workload, seed);
    assert_journals_settled(cluster, workload, seed);
    assert_eq!(
        cluster.dead_letters().expect("Redis answers"),
        0,
        "seed {seed}: nothing is dead-lettered"
    );
    cluster.assert_no_secrets();
}

/// One WHMCS order per Salesforce Order, created by one answered AddOrder, accepted, and named
/// on the Order.
fn assert_exactly_once(cluster: &Cluster, workload: &Workload, seed: u64) {
    let whmcs = &cluster.world.whmcs;
    let orders = whmcs.orders();
    let calls = whmcs.calls();
    let mut problems = Vec::new();
    let mut markers = HashSet::new();
    for order_id in &workload.orders {
        let marker = format!("Salesforce Order {order_id}");
        markers.insert(marker.clone());
        let created: Vec<_> = orders
            .iter()
            .filter(|order| order.notes.contains(&marker))
            .collect();
        let add_orders = calls
            .iter()
            .filter(|call| call.action == "addorder" && call.status != 0)
            .filter(|call| {
                call.params
                    .get("notes")
                    .is_some_and(|notes| notes.contains(&marker))
            })
            .count();
        if created.len() != 1 || add_orders != 1 {
            problems.push(format!(
                "{order_id}: {} WHMCS orders, {add_orders} answered AddOrder calls",
                created.len()
            ));
            continue;
        }
        let order = created[0];
        if order.status != "Active" {
            problems.push(format!(
                "{order_id}: WHMCS order {} is {}",
                order.id, order.status
            ));
        }
        let named = cluster
            .world
            .salesforce
            .order(order_id)
            .and_then(|fields| fields.get("WHMCS_Order_ID__c").cloned())
            .unwrap_or(Value::Null);
        if named != Value::String(order.id.to_string()) {
            problems.push(format!(
                "{order_id}: WHMCS_Order_ID__c is {named}, the order is {}",
                order.id
            ));
        }
    }
    let strays = orders
        .iter()
        .filter(|order| !markers.iter().any(|marker| order.notes.contains(marker)))
        .count();
    if strays > 0 {
        problems.push(format!("{strays} WHMCS orders carry no Order's marker"));
    }
    assert!(
        problems.is_empty(),
        "seed {seed}: {} Orders were not provisioned exactly once: {}",
        problems.len(),
        problems
            .iter()
            .take(LISTED)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ")
    );
}

/// Every journal ended `activated` with no write owed to Salesforce.
fn assert_journals_settled(cluster: &Cluster, workload: &Workload, seed: u64) {
    let mut problems = Vec::new();
    for order_id in &workload.orders {
        let journal = cluster.journal(order_id).expect("Redis answers");
        let state = journal.get("state").map(String::as_str).unwrap_or_default();
        let owed = journal
            .get("pending_write")
            .map(String::as_str)
            .unwrap_or_default();
        if state != "activated" || !owed.is_empty() {
            problems.push(format!(
                "{order_id}: state {state:?}, pending_write {owed:?}"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "seed {seed}: {} journals did not settle: {}",
        problems.len(),
        problems
            .iter()
            .take(LISTED)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ")
    );
}
