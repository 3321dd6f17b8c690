//! The per-Order lock and the fenced journal against a real Redis: one holder at a time, a
//! holder whose lock expired cannot write after another run took over, and journals expire only
//! once their run ended.

#![allow(
    clippy::unwrap_used,
    reason = "a test's helpers fail loudly on broken set-up"
)]

use std::time::Duration;

use bridge_runtime::{Secret, redis_store};
use bridge_tests::RedisServer;
use fulfillment::store::{
    JournalUpdate, Journals, OrderLocks, RunState, StoreError, WhmcsProgress, journal_key,
};
use redis::AsyncCommands;

const ORDER: &str = "801xx000003GZ0nAAG";

async fn connect(redis: &RedisServer) -> redis::aio::ConnectionManager {
    redis_store::connect(&Secret::new(redis.url())).unwrap()
}

#[tokio::test]
async fn only_one_run_holds_an_order_and_fencing_numbers_grow() {
    let redis = RedisServer::start().unwrap();
    let locks = OrderLocks::new(connect(&redis).await, Duration::from_secs(5));

    let first = locks.acquire(ORDER).await.unwrap().expect("free");
    assert!(locks.acquire(ORDER).await.unwrap().is_none(), "held");
    assert!(
        locks.acquire("801xx000003GZ0oAAG").await.unwrap().is_some(),
        "another Order is free"
    );

    locks.release(&first).await.unwrap();
    let second = locks.acquire(ORDER).await.unwrap().expect("released");
    assert!(second.fence > first.fence);
    assert_ne!(second.owner, first.owner);

    // Releasing with a stale grant leaves the current holder alone.
    locks.release(&first).await.unwrap();
    assert!(locks.acquire(ORDER).await.unwrap().is_none());
}

#[tokio::test]
async fn a_holder_whose_lock_expired_cannot_write_after_a_takeover() {
    let redis = RedisServer::start().unwrap();
    let connection = connect(&redis).await;
    let locks = OrderLocks::new(connection.clone(), Duration::from_millis(300));
    let journals = Journals::new(connection);

    let paused = locks.acquire(ORDER).await.unwrap().unwrap();
    journals
        .write(&paused, JournalUpdate::new().state(RunState::Running))
        .await
        .unwrap();

    // The first holder stops renewing (a paused process); its lock runs out.
    let takeover = loop {
        if let Some(grant) = locks.acquire(ORDER).await.unwrap() {
            break grant;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    journals
        .write(
            &takeover,
            JournalUpdate::new().progress(WhmcsProgress::Creating),
        )
        .await
        .unwrap();

    let late = journals
        .write(
            &paused,
            JournalUpdate::new()
                .progress(WhmcsProgress::Created)
                .whmcs_order("9", &[], None),
        )
        .await;
    assert!(matches!(late, Err(StoreError::Fenced)), "{late:?}");
    let journal = journals.load(ORDER).await.unwrap().unwrap();
    assert_eq!(journal.progress, WhmcsProgress::Creating);
    assert_eq!(journal.whmcs_order_id, None);
    assert!(
        !locks.renew(&paused).await.unwrap(),
        "the paused holder cannot renew either"
    );
}

#[tokio::test]
async fn renewal_keeps_a_lock_past_its_ttl() {
    let redis = RedisServer::start().unwrap();
    let locks = OrderLocks::new(connect(&redis).await, Duration::from_millis(300));

    let grant = locks.acquire(ORDER).await.unwrap().unwrap();
    let renewal = locks.keep_renewed(&grant);
    let until = tokio::time::Instant::now() + Duration::from_millis(1200);
    while tokio::time::Instant::now() < until {
        assert!(
            locks.acquire(ORDER).await.unwrap().is_none(),
            "renewed lock stays held"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!renewal.is_lost());
    renewal.stop();
}

#[tokio::test]
async fn journals_expire_only_after_their_run_ended() {
    let redis = RedisServer::start().unwrap();
    let mut connection = connect(&redis).await;
    let locks = OrderLocks::new(connection.clone(), Duration::from_secs(5));
    let journals = Journals::new(connection.clone());

    let grant = locks.acquire(ORDER).await.unwrap().unwrap();
    let bare: i64 = connection.ttl(journal_key(ORDER)).await.unwrap();
    assert!(
        bare > 0,
        "a journal holding only its fencing number expires"
    );

    journals
        .write(&grant, JournalUpdate::new().state(RunState::Running))
        .await
        .unwrap();
    let running: i64 = connection.ttl(journal_key(ORDER)).await.unwrap();
    assert_eq!(running, -1, "a run in progress never expires");

    journals
        .write(&grant, JournalUpdate::new().state(RunState::Activated))
        .await
        .unwrap();
    let done: i64 = connection.ttl(journal_key(ORDER)).await.unwrap();
    assert!(done > 29 * 24 * 3600, "kept about 30 days, not {done}s");
}

/// A journal value that is not UTF-8 used to fail the whole read as a Redis error, so every
/// Fulfill for the Order answered UNAVAILABLE ("retry later") for ever; now the field is named.
#[tokio::test]
async fn a_journal_value_that_is_not_utf8_is_an_unreadable_field() {
    let redis = RedisServer::start().unwrap();
    let mut connection = connect(&redis).await;
    let journals = Journals::new(connection.clone());
    let key = journal_key(ORDER);
    let _: () = connection
        .hset_multiple(
            &key,
            &[
                ("fence", b"1".as_slice()),
                ("state", b"running\xff".as_slice()),
                ("caller", b"ingest\xfe".as_slice()),
            ],
        )
        .await
        .unwrap();

    match journals.load(ORDER).await {
        Err(StoreError::Format(error)) => assert_eq!(error.field, "state"),
        other => panic!("expected the state field to be named, got {other:?}"),
    }

    // Text fields are read lossily: the journal stays readable.
    let _: () = connection.hset(&key, "state", "failed").await.unwrap();
    let journal = journals.load(ORDER).await.unwrap().expect("a journal");
    assert_eq!(journal.state, RunState::Failed);
    assert!(journal.caller.starts_with("ingest"));
}
