//! Fulfillment's store: one run per Order, fencing after expiry and takeover, and the journal's
//! retention rules.

use std::time::Duration;

use fulfillment::store::{
    JournalUpdate, Journals, OrderLocks, PendingWrite, RecordedError, RecordedStep, RunState,
    StoreError, WhmcsProgress, journal_key, lock_key,
};
use redis::AsyncCommands;

use crate::support::{connect, eventually};

const ORDER: &str = "801xx000003GZ0nAAG";
const OTHER_ORDER: &str = "801xx000003GZ0oAAG";

pub(crate) async fn one_run_holds_an_order_and_fences_grow(url: String) {
    let mut redis = connect(&url);
    let locks = OrderLocks::new(redis.clone(), Duration::from_secs(5));

    let first = locks.acquire(ORDER).await.unwrap().expect("free");
    assert_eq!(first.fence, 1);
    assert!(locks.acquire(ORDER).await.unwrap().is_none(), "held");
    assert!(
        locks.acquire(OTHER_ORDER).await.unwrap().is_some(),
        "another Order is free"
    );

    let stored: String = redis.get(lock_key(ORDER)).await.unwrap();
    assert_eq!(stored, first.value());
    let left: i64 = redis.pttl(lock_key(ORDER)).await.unwrap();
    assert!((4_000..=5_000).contains(&left), "lock PTTL {left}");

    locks.release(&first).await.unwrap();
    let second = locks.acquire(ORDER).await.unwrap().expect("released");
    assert_eq!(second.fence, 2, "a refused acquisition draws no number");
    assert_ne!(second.owner, first.owner);

    // Releasing with a stale grant leaves the current holder alone.
    locks.release(&first).await.unwrap();
    assert!(locks.acquire(ORDER).await.unwrap().is_none());
    assert!(locks.renew(&second).await.unwrap());
    assert!(!locks.renew(&first).await.unwrap());
}

pub(crate) async fn an_expired_holder_is_fenced_after_a_takeover(url: String) {
    let connection = connect(&url);
    let locks = OrderLocks::new(connection.clone(), Duration::from_millis(300));
    let journals = Journals::new(connection);

    let paused = locks.acquire(ORDER).await.unwrap().unwrap();
    journals
        .write(&paused, JournalUpdate::new().state(RunState::Running))
        .await
        .unwrap();

    // The first holder stops renewing (a paused process); its lock runs out.
    let takeover = eventually("the lock's expiry", || async {
        locks.acquire(ORDER).await.unwrap()
    })
    .await;
    assert!(takeover.fence > paused.fence);
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
    assert_eq!(journal.fence, takeover.fence);
    assert!(
        !locks.renew(&paused).await.unwrap(),
        "the paused holder cannot renew either"
    );

    // A holder with the right lock value but a stale fencing number is refused too.
    let mut forged = takeover.clone();
    forged.fence = paused.fence;
    let forged_write = journals
        .write(&forged, JournalUpdate::new().state(RunState::Failed))
        .await;
    assert!(
        matches!(forged_write, Err(StoreError::Fenced)),
        "{forged_write:?}"
    );
}

pub(crate) async fn renewal_keeps_a_lock_past_its_ttl(url: String) {
    let locks = OrderLocks::new(connect(&url), Duration::from_millis(300));

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

    // Taken by someone else behind its back, the renewal notices.
    let mut redis = connect(&url);
    let _: () = redis.set(lock_key(ORDER), "intruder:99").await.unwrap();
    eventually("the renewal noticing the loss", || async {
        renewal.is_lost().then_some(())
    })
    .await;
    renewal.stop();
}

pub(crate) async fn journals_expire_only_after_their_run_ended(url: String) {
    let mut connection = connect(&url);
    let locks = OrderLocks::new(connection.clone(), Duration::from_secs(5));
    let journals = Journals::new(connection.clone());

    let grant = locks.acquire(ORDER).await.unwrap().unwrap();
    let bare: i64 = connection.ttl(journal_key(ORDER)).await.unwrap();
    assert!(
        bare > 29 * 24 * 3600,
        "a journal holding only its fencing number expires: {bare}"
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

    // A new run of a finished Order leaves the journal's expiry alone at acquisition.
    locks.release(&grant).await.unwrap();
    let again = locks.acquire(ORDER).await.unwrap().unwrap();
    assert_eq!(again.fence, 2);
    let after: i64 = connection.ttl(journal_key(ORDER)).await.unwrap();
    assert!(after > 29 * 24 * 3600, "{after}");
}

pub(crate) async fn a_journal_reads_back_what_was_written(url: String) {
    let connection = connect(&url);
    let locks = OrderLocks::new(connection.clone(), Duration::from_secs(5));
    let journals = Journals::new(connection);
    assert_eq!(journals.load(ORDER).await.unwrap(), None);

    let grant = locks.acquire(ORDER).await.unwrap().unwrap();
    let error = RecordedError {
        code: "503".into(),
        message: "WHMCS AcceptOrder answered HTTP 503 — ünïcödé".into(),
        step: "whmcs_accept".into(),
    };
    let steps = [RecordedStep {
        name: "validation".into(),
        status: "succeeded".into(),
        duration_ms: 3,
    }];
    journals
        .write(
            &grant,
            JournalUpdate::new()
                .run_started(2, "ingest", "corr-1")
                .creating(17, 1_700_000_000_000),
        )
        .await
        .unwrap();
    journals
        .write(
            &grant,
            JournalUpdate::new()
                .state(RunState::Failed)
                .progress(WhmcsProgress::Created)
                .whmcs_order("1042", &["881".into(), "882".into()], Some("77"))
                .add_order_answered()
                .error(Some(&error))
                .pending_write(Some(PendingWrite::Failed), "event-1")
                .steps(&steps),
        )
        .await
        .unwrap();

    let journal = journals.load(ORDER).await.unwrap().unwrap();
    assert_eq!(journal.fence, grant.fence);
    assert_eq!(journal.state, RunState::Failed);
    assert_eq!(journal.progress, WhmcsProgress::Created);
    assert_eq!(journal.whmcs_client_id, Some(17));
    assert_eq!(journal.whmcs_order_id.as_deref(), Some("1042"));
    assert_eq!(journal.whmcs_service_ids, ["881", "882"]);
    assert_eq!(journal.whmcs_invoice_id.as_deref(), Some("77"));
    assert_eq!(journal.last_error, Some(error));
    assert_eq!(journal.pending_write, Some(PendingWrite::Failed));
    assert_eq!(journal.pending_event, "event-1");
    assert_eq!(journal.creating_until_ms, 0);
    assert_eq!(journal.attempts, 2);
    assert_eq!(journal.caller, "ingest");
    assert_eq!(journal.correlation_id, "corr-1");
    assert_eq!(journal.steps, steps);
    assert!(journal.updated_at_ms > 1_700_000_000_000);
}

pub(crate) async fn a_journal_of_the_wrong_type_fails_the_acquisition(url: String) {
    let mut redis = connect(&url);
    let locks = OrderLocks::new(redis.clone(), Duration::from_secs(5));
    let _: () = redis.set(journal_key(ORDER), "not a hash").await.unwrap();

    let refused = locks.acquire(ORDER).await;
    let Err(StoreError::Redis(error)) = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(error.code(), Some("WRONGTYPE"), "{error}");
    let lock: Option<String> = redis.get(lock_key(ORDER)).await.unwrap();
    assert_eq!(lock, None, "nothing after the failing call ran");
}
