//! Redis stopped for 30 s in the middle of a burst, then started again with its data.
//!
//! Redis runs with AOF and `appendfsync always` (no RDB snapshots), as production must: every
//! write a service was told succeeded survives the kill, so the test can require that the
//! cursor, locks and journals come back as they were. (An RDB-only Redis would come back with
//! an older cursor, which is safe, and older journals, which the marker search covers; losing
//! data is another scenario.)
//!
//! While Redis is away both services must say so (readiness NOT_SERVING, liveness SERVING,
//! `/health` 503 with `integrations.redis.status` `down`), and recover once it is back. The
//! stored cursor cannot be read while Redis is down; it is sampled before the outage, the moment
//! Redis is back (it must not have moved backwards, nor past unfinished work), and throughout
//! the recovery.

use std::{
    thread,
    time::{Duration, Instant},
};

use tonic_health::pb::health_check_response::ServingStatus;

use crate::{
    cluster::{Cluster, Service, WAIT},
    knobs::{self, Rng, SeedReport},
    verdict::{self, activated, assert_cursor_sound, at_or_before, hex, poll_until},
    workload::Workload,
};

const ORDERS: usize = 120;
const EVENTS: usize = 400;

/// How long Redis stays away.
const OUTAGE: Duration = Duration::from_secs(30);

/// How long the services may take to notice the outage, or its end: readiness re-checks every
/// 2 s and a Redis call gives up after 2 s.
const NOTICE: Duration = Duration::from_secs(15);

/// The bound on the recovery, from Redis's return to the last check.
const RECOVERY: Duration = Duration::from_secs(120);

const BOTH: [Service; 2] = [Service::Fulfillment, Service::Ingest];

fn redis_status(cluster: &Cluster, service: Service) -> Option<(u16, String)> {
    let (code, body) = cluster.http_health(service)?;
    let status = body["integrations"]["redis"]["status"].as_str()?.to_owned();
    Some((code, status))
}

#[test]
fn a_redis_outage_during_a_burst_holds_the_cursor_and_loses_nothing() {
    let seed = knobs::seed();
    let _report = SeedReport {
        scenario: "Redis outage",
        seed,
    };
    let mut rng = Rng::new(seed);
    let mut cluster = Cluster::start();
    let mut workload = Workload::create(&cluster.world, ORDERS, EVENTS, &mut rng);

    // The first half of the burst; the outage begins once part of it is done.
    workload.publish(&cluster.world, EVENTS / 2);
    assert!(
        poll_until(Instant::now() + WAIT, || activated(&cluster, &workload)
            >= ORDERS / 8),
        "the burst gets going"
    );
    let before = cluster.cursor().expect("Redis answers");
    if let Some(cursor) = &before {
        assert_cursor_sound(&cluster, &workload, cursor, "before the outage");
    }
    let activated_before = activated(&cluster, &workload);

    let streams_before = cluster.world.pubsub.streams_opened();
    let delivered_before = cluster.world.pubsub.delivered();
    cluster.redis.kill();
    let outage = Instant::now();
    // The rest of the burst arrives while Redis is away.
    workload.publish_rest(&cluster.world);

    for service in BOTH {
        let readiness = service.readiness();
        assert!(
            poll_until(outage + NOTICE, || cluster.grpc_health(service, readiness)
                == Some(ServingStatus::NotServing)),
            "{service:?} readiness goes NOT_SERVING while Redis is down"
        );
        let mut seen = None;
        poll_until(outage + NOTICE, || {
            seen = redis_status(&cluster, service);
            seen.as_ref().is_some_and(|(_, status)| status == "down")
        });
        assert_eq!(
            seen,
            Some((503, "down".to_owned())),
            "{service:?} /health reports Redis down with 503"
        );
        assert_eq!(
            cluster.grpc_health(service, ""),
            Some(ServingStatus::Serving),
            "{service:?} liveness stays SERVING: restarting it would not bring Redis back"
        );
    }
    thread::sleep(OUTAGE.saturating_sub(outage.elapsed()));
    for service in BOTH {
        assert_eq!(
            cluster.grpc_health(service, service.readiness()),
            Some(ServingStatus::NotServing),
            "{service:?} is still not ready at the end of the outage"
        );
    }
    // Re-approvals published during the outage set Orders back to Activating, so this may be
    // lower than before.
    let activated_at_end = activated(&cluster, &workload);

    // Subscribing needs the lease and the stored cursor, both in Redis.
    assert_eq!(
        cluster.world.pubsub.streams_opened(),
        streams_before,
        "no stream was opened while Redis was down"
    );
    let delivered_during = cluster.world.pubsub.delivered() - delivered_before;

    cluster.redis.restart().expect("Redis starts again");
    let back = Instant::now();
    let after = cluster.cursor().expect("Redis answers again");
    if let Some(before) = &before {
        let after = after.as_deref().unwrap_or_default();
        assert!(
            at_or_before(before, after),
            "the cursor survived the outage: {} before, {} after",
            hex(before),
            hex(after)
        );
    }
    if let Some(cursor) = &after {
        assert_cursor_sound(&cluster, &workload, cursor, "the moment Redis was back");
    }

    for service in BOTH {
        assert!(
            poll_until(back + NOTICE, || cluster
                .grpc_health(service, service.readiness())
                == Some(ServingStatus::Serving)),
            "{service:?} readiness is SERVING again once Redis is back"
        );
        assert_eq!(
            redis_status(&cluster, service),
            Some((200, "connected".to_owned())),
            "{service:?} /health reports Redis connected again"
        );
    }

    // Every sample of the cursor while the backlog drains sits on finished work.
    let deadline = back + RECOVERY;
    let mut samples = 0;
    poll_until(deadline, || {
        if let Ok(Some(cursor)) = cluster.cursor() {
            assert_cursor_sound(&cluster, &workload, &cursor, "while recovering");
            samples += 1;
        }
        activated(&cluster, &workload) == ORDERS
    });
    verdict::assert_settled(&cluster, &workload, deadline, seed);
    eprintln!(
        "Redis outage: seed {seed}; {activated_before} of {ORDERS} Orders Activated before the \
         {}s outage, {activated_at_end} at its end; {delivered_during} events delivered during it; settled {:.1}s after Redis returned; {samples} \
         cursor samples during the recovery",
        OUTAGE.as_secs(),
        back.elapsed().as_secs_f64()
    );
}
