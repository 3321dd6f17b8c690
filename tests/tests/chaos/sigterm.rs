//! SIGTERM to both services in the middle of a burst, as a rollout does, while a few runs wait
//! on WHMCS (AddOrder and AcceptOrder held longer than the grace), so the grace must cut them
//! short.
//!
//! Both must exit by themselves within `SHUTDOWN_GRACE` (plus the admin port's one-second close
//! and a little slack: a correctness bound on shutdown, not a benchmark) with status 0. ingest's
//! drain must leave the cursor exactly on the watermark of finished work: at or after it
//! nothing unfinished, and the very next event not finished (or the watermark would have passed
//! it). The runs the grace cut short leave their journals `running` (and maybe their locks, until
//! the TTL); those Orders must complete once both services are back, resuming from the stored
//! cursor without redoing anything the cursor covers, and still with one WHMCS order each.

use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};

use sandbox::whmcs::{Fault, RecordedCall, Times};

use crate::{
    cluster::{Cluster, GRACE, Service, WAIT},
    knobs::{self, Rng, SeedReport},
    verdict::{
        self, activated, assert_cursor_sound, at_or_before, full_ledger, hex, poll_until, status,
    },
    workload::Workload,
};

const ORDERS: usize = 120;
const EVENTS: usize = 400;

/// Beyond the grace: the admin port's close (1 s) and the process's own teardown.
const SLACK: Duration = Duration::from_secs(3);

/// The bound on the recovery after the restart.
const RECOVERY: Duration = Duration::from_secs(120);

/// `FetchRequest.replay_preset` for CUSTOM.
const CUSTOM: i32 = 2;

/// How many calls of each WHMCS action are held past the grace.
const HELD_CALLS: usize = 2;

/// How long they are held: past the grace, and short of the window (the AddOrder deadline plus
/// `WHMCS_ORDER_SETTLE`) in which no other run may search for an order an AddOrder may still be
/// creating, so even a WHMCS that finished the held AddOrder after its caller died would have
/// its order found, not doubled.
const HOLD: Duration = Duration::from_secs(2 * GRACE.as_secs());

/// Holds the next AddOrder and AcceptOrder calls longer than the grace, waits until they are in
/// flight, and returns the Orders they are for.
fn hold_whmcs_calls(cluster: &Cluster) -> BTreeSet<String> {
    let whmcs = &cluster.world.whmcs;
    let hold = Fault::Delay(HOLD);
    let before = whmcs.calls().len();
    for action in ["AddOrder", "AcceptOrder"] {
        whmcs.inject(action, hold.clone(), Times::Times(HELD_CALLS));
    }
    let mut held = BTreeSet::new();
    let in_flight = poll_until(Instant::now() + WAIT, || {
        let calls = whmcs.calls();
        let waiting: Vec<_> = calls[before..]
            .iter()
            .filter(|call| call.status == 0)
            .collect();
        let count = |action: &str| waiting.iter().filter(|call| call.action == action).count();
        held = waiting
            .iter()
            .filter_map(|call| held_order(cluster, call))
            .collect();
        count("addorder") == HELD_CALLS && count("acceptorder") == HELD_CALLS
    });
    assert!(in_flight, "the held WHMCS calls are in flight: {held:?}");
    held
}

/// The Order a held WHMCS call works for: AddOrder names it in the notes; AcceptOrder names
/// the WHMCS order, whose notes name it.
fn held_order(cluster: &Cluster, call: &RecordedCall) -> Option<String> {
    let notes = match call.action.as_str() {
        "addorder" => call.params.get("notes")?.clone(),
        _ => {
            let id = call.params.get("orderid")?.parse().ok()?;
            cluster.world.whmcs.order(id)?.notes
        }
    };
    notes
        .split_whitespace()
        .last()
        .map(str::to_owned)
        .filter(|id| id.starts_with("801"))
}

#[test]
fn sigterm_during_a_burst_drains_flushes_the_cursor_and_leaves_no_run_behind() {
    let seed = knobs::seed();
    let _report = SeedReport {
        scenario: "SIGTERM",
        seed,
    };
    let mut rng = Rng::new(seed);
    // AddOrder and AcceptOrder may take longer than the grace here, so a run can be cut short
    // while it waits on them.
    let order_timeout = format!("{}s", HOLD.as_secs());
    let mut cluster = Cluster::start_with(&[("WHMCS_ORDER_TIMEOUT", &order_timeout)]);
    let mut workload = Workload::create(&cluster.world, ORDERS, EVENTS, &mut rng);

    workload.publish_rest(&cluster.world);
    assert!(
        poll_until(Instant::now() + WAIT, || activated(&cluster, &workload)
            >= ORDERS / 4),
        "the burst gets going"
    );
    let held = hold_whmcs_calls(&cluster);
    let exits = cluster.terminate_all(GRACE + SLACK);
    for exit in &exits {
        assert!(
            exit.by_itself,
            "{:?} did not exit within SHUTDOWN_GRACE ({GRACE:?}) + {SLACK:?}",
            exit.service
        );
        assert!(
            exit.status.success(),
            "{:?} exited with {}",
            exit.service,
            exit.status
        );
    }
    for service in [Service::Fulfillment, Service::Ingest] {
        assert!(
            !cluster.logged(service, "Stopped").is_empty(),
            "{service:?} logged its orderly stop"
        );
    }
    assert!(
        !cluster
            .logged(Service::Ingest, "Released the leader lease")
            .is_empty(),
        "ingest gave its lease up"
    );
    assert!(
        !cluster
            .logged(
                Service::Fulfillment,
                "In-flight work did not finish within the grace period"
            )
            .is_empty(),
        "the held runs outlived the grace"
    );
    let activated_at_stop = activated(&cluster, &workload);

    // The cursor is the watermark of finished work, flushed.
    let cursor = cluster
        .cursor()
        .expect("Redis answers")
        .expect("ingest wrote a cursor");
    assert_cursor_sound(&cluster, &workload, &cursor, "after SIGTERM");
    let ledger = full_ledger(&cluster, &workload);
    let dispatched = cluster.dispatched();
    if let Some(next) = ledger
        .iter()
        .find(|entry| !at_or_before(&entry.replay_id, &cursor))
    {
        assert!(
            !dispatched.contains(&next.event_uuid),
            "the event after the cursor ({}) was finished, so the cursor {} was not flushed to \
             the watermark",
            hex(&next.replay_id),
            hex(&cursor)
        );
    }

    // Runs the shutdown cut short: locks left behind and journals still running.
    let locked: BTreeSet<String> = cluster
        .lock_keys()
        .expect("Redis answers")
        .into_iter()
        .filter_map(|key| key.strip_prefix("fulfillment:lock:").map(str::to_owned))
        .collect();
    let running: BTreeSet<String> = workload
        .orders
        .iter()
        .filter(|order| {
            cluster
                .journal(order)
                .expect("Redis answers")
                .get("state")
                .is_some_and(|state| state == "running")
        })
        .cloned()
        .collect();

    for order in &held {
        assert!(
            running.contains(order),
            "{order}, cut short in a WHMCS call, is left running in its journal"
        );
    }

    let streams_before = cluster
        .world
        .pubsub
        .fetch_requests()
        .last()
        .map_or(0, |fetch| fetch.stream);
    let restarted = Instant::now();
    cluster.start_service(Service::Fulfillment);
    cluster.start_service(Service::Ingest);
    let mut first = None;
    poll_until(restarted + WAIT, || {
        first = cluster
            .world
            .pubsub
            .fetch_requests()
            .into_iter()
            .find(|fetch| fetch.stream > streams_before);
        first.is_some()
    });
    let first = first.expect("the restarted ingest subscribes");
    assert_eq!(
        (first.replay_preset, hex(&first.replay_id)),
        (CUSTOM, hex(&cursor)),
        "the restarted ingest resumes from exactly the stored cursor"
    );

    verdict::assert_settled(&cluster, &workload, restarted + RECOVERY, seed);
    for order in locked.iter().chain(&running).chain(&held) {
        assert_eq!(
            status(&cluster, order),
            "Activated",
            "{order}, cut short by the shutdown, completed after the restart"
        );
    }
    let cursor_hex = hex(&cursor);
    let redone: Vec<String> = cluster
        .logged_now(Service::Ingest, "Platform Event enqueued for provisioning")
        .iter()
        .filter_map(|line| line["replay_id"].as_str().map(str::to_owned))
        .filter(|replay_id| replay_id.len() == cursor_hex.len() && *replay_id <= cursor_hex)
        .collect();
    assert!(
        redone.is_empty(),
        "the restarted ingest redid events the cursor covers: {redone:?}"
    );
    let exit_times: Vec<String> = exits
        .iter()
        .map(|exit| format!("{:?} {:.2}s", exit.service, exit.after.as_secs_f64()))
        .collect();
    eprintln!(
        "SIGTERM: seed {seed}; exits after {} (grace {GRACE:?}); {activated_at_stop} of {ORDERS} \
         Orders Activated at the stop; {} runs held in WHMCS; {} locks and {} running journals \
         left, all completed after the restart",
        exit_times.join(", "),
        held.len(),
        locked.len(),
        running.len()
    );
}
