//! The script cache the `redis` client relies on (EVALSHA, NOSCRIPT, reload), EVAL, and the
//! refusals of commands that do not exist.

use std::time::Duration;

use fulfillment::store::{OrderLocks, journal::JOURNAL_WRITE_SCRIPT, lock};
use ingest::lease::{LEASE_ACQUIRE_SCRIPT, LEASE_RENEW_SCRIPT};
use redis::{Script, Value};

use crate::support::{connect, detail, error_code, query, raw};

pub(crate) async fn scripts_reload_after_a_flush(url: String) {
    let mut redis = connect(&url);
    let locks = OrderLocks::new(redis.clone(), Duration::from_secs(5));
    let acquire = Script::new(lock::LOCK_ACQUIRE_SCRIPT).get_hash().to_owned();
    let journal = Script::new(JOURNAL_WRITE_SCRIPT).get_hash().to_owned();

    locks.acquire("801xx000003GZ0nAAG").await.unwrap().unwrap();
    let exists: Vec<i64> = query(
        &mut redis,
        &[b"SCRIPT", b"EXISTS", acquire.as_bytes(), journal.as_bytes()],
    )
    .await;
    assert_eq!(exists, [1, 0]);

    assert_eq!(
        raw(&mut redis, &[b"SCRIPT", b"FLUSH"]).await.unwrap(),
        Value::Okay
    );
    let exists: Vec<i64> = query(&mut redis, &[b"SCRIPT", b"EXISTS", acquire.as_bytes()]).await;
    assert_eq!(exists, [0]);
    let evalsha: [&[u8]; 8] = [
        b"EVALSHA",
        acquire.as_bytes(),
        b"2",
        b"lock",
        b"journal",
        b"owner",
        b"1000",
        b"60",
    ];
    assert_eq!(error_code(&mut redis, &evalsha).await, "NOSCRIPT");

    // The client answers NOSCRIPT by loading the script and trying again.
    locks.acquire("801xx000003GZ0oAAG").await.unwrap().unwrap();
    let exists: Vec<i64> = query(&mut redis, &[b"SCRIPT", b"EXISTS", acquire.as_bytes()]).await;
    assert_eq!(exists, [1]);

    let loaded: String = query(
        &mut redis,
        &[b"SCRIPT", b"LOAD", lock::LOCK_RENEW_SCRIPT.as_bytes()],
    )
    .await;
    assert_eq!(
        loaded,
        Script::new(LEASE_RENEW_SCRIPT).get_hash(),
        "one source, one SHA1"
    );

    // EVAL runs a source directly and loads it too.
    let eval: [&[u8]; 7] = [
        b"EVAL",
        LEASE_ACQUIRE_SCRIPT.as_bytes(),
        b"2",
        b"leader",
        b"meta",
        b"me",
        b"1000",
    ];
    let epoch: i64 = query(&mut redis, &eval).await;
    assert_eq!(epoch, 1);
    let same: i64 = query(&mut redis, &eval).await;
    assert_eq!(same, 1, "already ours");
    let lease = Script::new(LEASE_ACQUIRE_SCRIPT).get_hash().to_owned();
    let exists: Vec<i64> = query(&mut redis, &[b"SCRIPT", b"EXISTS", lease.as_bytes()]).await;
    assert_eq!(exists, [1]);
    let too_many = detail(
        &mut redis,
        &[b"EVAL", LEASE_ACQUIRE_SCRIPT.as_bytes(), b"3", b"k"],
    )
    .await;
    assert!(
        too_many.contains("greater than number of args"),
        "{too_many}"
    );
}

pub(crate) async fn unknown_commands_are_errors(url: String) {
    let mut redis = connect(&url);
    let unknown = detail(&mut redis, &[b"NOSUCHCOMMAND", b"x", b"y z"]).await;
    assert!(
        unknown.starts_with("unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' 'y z'"),
        "{unknown}"
    );
    assert_eq!(error_code(&mut redis, &[b"NOSUCHCOMMAND"]).await, "ERR");
    let arity = detail(&mut redis, &[b"get"]).await;
    assert_eq!(arity, "wrong number of arguments for 'get' command");
    let subcommand = detail(&mut redis, &[b"SCRIPT", b"NOPE"]).await;
    assert!(
        subcommand.starts_with("unknown subcommand 'NOPE'"),
        "{subcommand}"
    );

    // The connection carries on after refusals.
    let pong: String = query(&mut redis, &[b"PING"]).await;
    assert_eq!(pong, "PONG");
}
