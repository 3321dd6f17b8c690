//! Streams that end, go silent or lose their session are resumed from the stored cursor, never
//! from LATEST; and two replicas share one channel through the lease.

use std::{sync::Arc, time::Duration};

use bridge_runtime::{Secret, redis_store, salesforce::JwtBearer};
use ingest::{
    config::{ReplayFallback, ReplayStart},
    cursor::{CursorError, ReplayCursor},
    dead_letters::DeadLetters,
    dispatch::Dispatcher,
    keys::ChannelKeys,
    lease::{LeaderLease, Lease},
    pubsub::PubSub,
    schemas::SchemaCache,
    state::{IngestState, Role},
    subscriber::{Context, Subscriber, SubscriberSettings},
};
use sandbox::pubsub::PubSubOptions;
use tokio_util::sync::CancellationToken;

use crate::harness::{CHANNEL, World, eventually, order_id};

const CUSTOM: i32 = 2;

/// Publishes one event and waits until it is dispatched and the cursor covers it.
async fn flow_one(world: &World, n: u64) -> Vec<u8> {
    let order = order_id(n);
    let replay_id = world.pubsub.publish_order_event(&order);
    world.wait_dispatched(&[order]).await;
    eventually("the cursor to move", Duration::from_secs(20), || async {
        world
            .stored_cursor()
            .filter(|cursor| !cursor.is_empty())
            .map(|_| ())
    })
    .await;
    replay_id
}

/// The first request of stream `n`.
fn opening(world: &World, n: usize) -> sandbox::pubsub::RecordedFetch {
    world
        .pubsub
        .fetch_requests()
        .into_iter()
        .find(|fetch| fetch.stream == n)
        .expect("a first request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_unauthenticated_and_silent_streams_resume_from_the_stored_cursor() {
    let world = World::start(PubSubOptions {
        keepalive_interval: Duration::from_millis(200),
        ..PubSubOptions::default()
    })
    .await;
    let ingest = world.ingest(&[("INGEST_SILENCE_TIMEOUT", "1s")]).await;
    world.wait_for_stream(1).await;
    flow_one(&world, 1).await;

    // The service drops the stream.
    let stored = world.stored_cursor().expect("a cursor");
    world.pubsub.end_streams(
        tonic::Code::Unavailable,
        "sfdc.platform.eventbus.grpc.service.unavailable",
        "The service is unavailable. Try again later",
    );
    world.wait_for_stream(2).await;
    let resumed = opening(&world, 2);
    assert_eq!(resumed.replay_preset, CUSTOM);
    // Keepalives may move an idle cursor on meanwhile (emulated ids are big-endian counters).
    assert!(
        resumed.replay_id >= stored,
        "resumed from the stored cursor, not before it"
    );
    flow_one(&world, 2).await;

    // The session dies: one new token, then the same resume.
    let tokens = world.salesforce.tokens_issued();
    let stored = world.stored_cursor().expect("a cursor");
    world.salesforce.expire_sessions();
    world.pubsub.end_streams(
        tonic::Code::Unauthenticated,
        "sfdc.platform.eventbus.grpc.service.auth.error",
        "An authentication exception occurred.",
    );
    eventually("a resumed stream", Duration::from_secs(20), || async {
        world
            .pubsub
            .fetch_requests()
            .into_iter()
            .rev()
            .find(|fetch| {
                fetch.replay_preset == CUSTOM && fetch.replay_id >= stored && fetch.stream > 2
            })
            .map(|_| ())
    })
    .await;
    assert!(
        world.salesforce.tokens_issued() > tokens,
        "authenticated again"
    );
    flow_one(&world, 3).await;

    // The stream goes silent (half-open): the watchdog tears it down and resumes.
    let streams = world.streams_seen();
    let stored = world.stored_cursor().expect("a cursor");
    world.pubsub.go_silent(true);
    eventually("the watchdog", Duration::from_secs(20), || async {
        (world.streams_seen() > streams).then_some(())
    })
    .await;
    world.pubsub.go_silent(false);
    let last = world
        .pubsub
        .fetch_requests()
        .into_iter()
        .rev()
        .find(|fetch| fetch.replay_preset == CUSTOM)
        .expect("CUSTOM");
    assert!(last.replay_id >= stored);
    flow_one(&world, 4).await;

    let latest_starts = world
        .pubsub
        .fetch_requests()
        .iter()
        .filter(|fetch| {
            fetch.stream > 1 && !fetch.topic_name.is_empty() && fetch.replay_preset == 0
        })
        .count();
    assert_eq!(latest_starts, 0, "no resumed stream starts from LATEST");
    ingest.stop().await;
}

/// A subscriber built by hand, so the test can kill it (abort its task) without a drain.
async fn replica(
    world: &World,
    instance: &str,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let config = ingest::config::IngestConfig::from_env(&world.env(&[])).expect("valid");
    let subscription = config.subscription.clone().expect("events enabled");
    let redis = redis_store::connect(&Secret::new(world.redis.url())).expect("Redis");
    let keys = ChannelKeys::new(CHANNEL);
    let auth = Arc::new(JwtBearer::new(subscription.salesforce.clone()).expect("auth"));
    let context = Arc::new(Context {
        pubsub: PubSub::new(&subscription.pubsub_endpoint, None, auth).expect("pubsub"),
        schemas: SchemaCache::new(),
        dispatcher: Dispatcher::new(
            &subscription.fulfillment_url,
            None,
            None,
            Duration::from_secs(10),
        )
        .expect("dispatcher"),
        dead_letters: DeadLetters::new(redis.clone(), &keys),
    });
    let subscriber = Subscriber::new(
        context,
        ReplayCursor::new(redis.clone(), keys.clone()),
        LeaderLease::new(redis, keys, instance.to_owned(), Duration::from_secs(2)),
        Arc::new(IngestState::new(Role::Standby)),
        SubscriberSettings {
            channel: CHANNEL.to_owned(),
            replay: ReplayStart::Latest,
            fallback: ReplayFallback::Earliest,
            concurrency: 4,
            silence_timeout: Duration::from_secs(30),
            drain: Duration::from_secs(2),
        },
    );
    tokio::spawn(subscriber.run(shutdown))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_one_subscription_and_the_deposed_cannot_move_the_cursor() {
    let world = World::start(PubSubOptions::default()).await;
    let stop = CancellationToken::new();
    let first = replica(&world, "replica-a", stop.clone()).await;
    world.wait_for_stream(1).await;
    let second = replica(&world, "replica-b", stop.clone()).await;

    flow_one(&world, 1).await;
    assert_eq!(
        world.pubsub.streams_opened(),
        1,
        "only the leader subscribes"
    );
    assert_eq!(world.pubsub.active_streams(), 1);

    // The leader dies without releasing anything.
    first.abort();
    let _ = first.await;
    world.wait_for_stream(2).await;
    assert_eq!(
        opening(&world, 2).replay_preset,
        CUSTOM,
        "the new leader resumes from the cursor"
    );
    flow_one(&world, 2).await;

    let redis = redis_store::connect(&Secret::new(world.redis.url())).expect("Redis");
    let cursor = ReplayCursor::new(redis, ChannelKeys::new(CHANNEL));
    let before = world.stored_cursor();
    let deposed = Lease {
        instance: "replica-a".to_owned(),
        epoch: 1,
    };
    let refused = cursor.store(&deposed, b"late write").await;
    assert!(
        matches!(refused, Err(CursorError::NotLeader)),
        "{refused:?}"
    );
    assert_eq!(world.stored_cursor(), before);

    stop.cancel();
    let _ = second.await;
}
