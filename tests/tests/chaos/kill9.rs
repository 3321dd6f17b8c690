//! kill -9 at random moments: 1,000 platform events for 300 Orders (some approved or published
//! more than once on purpose) flow through the emulated Pub/Sub API while ingest, fulfillment or
//! both are killed outright and started again on the same Redis, round after round. Nothing may
//! be lost (every event on the channel gets a final answer, the cursor ends on the last one)
//! and nothing provisioned twice (one answered AddOrder, one WHMCS order per Order).

use std::{
    thread,
    time::{Duration, Instant},
};

use sandbox::whmcs::{Fault, Times};

use crate::{
    cluster::{Cluster, Service},
    knobs::{self, Rng, SeedReport},
    verdict::{self, assert_cursor_sound},
    workload::Workload,
};

const ORDERS: usize = 300;
const EVENTS: usize = 1000;

/// How long WHMCS takes over AddOrder and AcceptOrder.
const WHMCS_DELAY: Duration = Duration::from_millis(200);

/// The whole run's bound, from the first event to the last check, for the default rounds.
const DEADLINE: Duration = Duration::from_secs(180);

/// What each round beyond the default adds to the bound.
const PER_EXTRA_ROUND: Duration = Duration::from_secs(6);

#[test]
fn kill_9_at_random_moments_loses_nothing_and_provisions_nothing_twice() {
    let seed = knobs::seed();
    let _report = SeedReport {
        scenario: "kill -9",
        seed,
    };
    let rounds = knobs::rounds();
    let mut rng = Rng::new(seed);
    let mut cluster = Cluster::start();
    let mut workload = Workload::create(&cluster.world, ORDERS, EVENTS, &mut rng);
    // WHMCS takes a moment to create and accept an order, as the real one does, so that kills
    // land inside those calls too: the windows where an AddOrder may or may not have happened.
    for action in ["AddOrder", "AcceptOrder"] {
        cluster
            .world
            .whmcs
            .inject(action, Fault::Delay(WHMCS_DELAY), Times::Always);
    }

    let started = Instant::now();
    let extra = u32::try_from(rounds - knobs::DEFAULT_ROUNDS).unwrap_or(u32::MAX);
    let deadline = started + DEADLINE + PER_EXTRA_ROUND.saturating_mul(extra);
    let per_round = EVENTS.div_ceil(rounds);
    let mut kills = [0usize; 2];
    for round in 0..rounds {
        workload.publish(&cluster.world, per_round);
        // A random moment while that batch (and whatever is left of earlier ones) flows, so
        // never while a restarted ingest still waits out the lease of the one killed before.
        cluster.wait_subscribed();
        thread::sleep(rng.millis(50, 1200));
        let victims: &[Service] = match rng.below(3) {
            0 => &[Service::Ingest],
            1 => &[Service::Fulfillment],
            // fulfillment first when both go, so ingest comes back to a server to call.
            _ => &[Service::Fulfillment, Service::Ingest],
        };
        for victim in victims {
            cluster.kill_9(*victim);
            kills[usize::from(*victim == Service::Ingest)] += 1;
        }
        if let Ok(Some(cursor)) = cluster.cursor() {
            let when = format!("seed {seed}, round {round} after killing {victims:?}");
            assert_cursor_sound(&cluster, &workload, &cursor, &when);
        }
        thread::sleep(rng.millis(0, 500));
        for victim in victims {
            cluster.start_service(*victim);
        }
    }
    workload.publish_rest(&cluster.world);
    let chaos_over = started.elapsed();
    let finished_in_chaos = cluster.dispatched().len();

    verdict::assert_settled(&cluster, &workload, deadline, seed);
    let enqueued = cluster
        .logged(Service::Ingest, "Platform Event enqueued for provisioning")
        .len();
    let adopted = cluster
        .logged(
            Service::Fulfillment,
            "Adopted the WHMCS order an earlier attempt created",
        )
        .len();
    let resumed = cluster
        .logged(
            Service::Fulfillment,
            "Step skipped: done by an earlier attempt",
        )
        .len();
    eprintln!(
        "kill -9: seed {seed}, {rounds} rounds, fulfillment killed {} times, ingest {} times; \
         chaos {:.1}s ({finished_in_chaos} events finished by then), settled after {:.1}s; \
         {EVENTS} events delivered {enqueued} times over {} streams; {} AddOrder, {} AcceptOrder \
         calls; {adopted} WHMCS orders adopted by a later run, {resumed} steps skipped as done",
        kills[0],
        kills[1],
        chaos_over.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        cluster.world.pubsub.streams_opened(),
        cluster.world.whmcs.count("AddOrder"),
        cluster.world.whmcs.count("AcceptOrder"),
    );
}
