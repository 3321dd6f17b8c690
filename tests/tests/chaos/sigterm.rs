//! SIGTERM to both services in the middle of a burst, as a rollout does.
//!
//! Both must exit by themselves within `SHUTDOWN_GRACE` (plus the admin port's one-second close
//! and a little slack: a correctness bound on shutdown, not a benchmark) with status 0. ingest's
//! drain must leave the cursor exactly on the watermark of finished work: at or after it
//! nothing unfinished, and the very next event not finished (or the watermark would have passed
//! it). A run the grace cut short may leave its lock and a journal `running`; such Orders must
//! complete once both services are back, resuming from the stored cursor without redoing
//! anything the cursor covers.

use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};

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

#[test]
fn sigterm_during_a_burst_drains_flushes_the_cursor_and_leaves_no_run_behind() {
    let seed = knobs::seed();
    let _report = SeedReport {
        scenario: "SIGTERM",
        seed,
    };
    let mut rng = Rng::new(seed);
    let mut cluster = Cluster::start();
    let mut workload = Workload::create(&cluster.world, ORDERS, EVENTS, &mut rng);

    workload.publish_rest(&cluster.world);
    assert!(
        poll_until(Instant::now() + WAIT, || activated(&cluster, &workload)
            >= ORDERS / 4),
        "the burst gets going"
    );
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
    for order in locked.iter().chain(&running) {
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
         Orders Activated at the stop; {} locks and {} running journals left, all completed \
         after the restart",
        exit_times.join(", "),
        locked.len(),
        running.len()
    );
}
