//! Reply for reply: the same raw commands sent to the embedded store and to `redis-server`
//! must get the same answers (type and value, or error code and message), so the services'
//! conversions of replies cannot tell the two apart. Commands whose answers depend on the clock
//! (`*` ids, remaining time) are covered by the scenarios instead.

use bridge_tests::RedisServer;
use redis::aio::ConnectionManager;
use sandbox::store::EmbeddedStore;

use crate::support::{connect, raw};

/// Each line is one command, arguments separated by spaces (`\x00`-free, space-free values).
const SESSION: &str = "
PING
PING hello
PING a b
SET k v
GET k
GET missing
SET k v2 GET
SET k v3 NX
SET fresh v NX
SET absent v XX
SET k v PX 100000 KEEPTTL
SET k v EX 0
SET k v PX -1
SET k v EX ten
SET k v EX
SET k v NX XX
SET k v BOGUS
SET k v EX 10 PX 10
SET gone v PXAT 1
EXISTS gone
SET k v KEEPTTL
EXISTS k k missing fresh
DEL missing
DEL k k fresh
EXPIRE missing 10
SET k v
EXPIRE k 100 NX
EXPIRE k 100 NX
EXPIRE k 200 XX GT
EXPIRE k 50 GT
EXPIRE k 10 LT
EXPIRE k 20 LT
EXPIRE k 100 NX XX
EXPIRE k 100 GT LT
EXPIRE k 100 BOGUS
EXPIRE k 99999999999999999
PEXPIRE k 9223372036854775807
EXPIRE k abc
PERSIST k
PERSIST k
PERSIST missing
TTL missing
PTTL missing
TTL k
PTTL k
PEXPIRE k 0
EXISTS k
HSET h a 1 b 2 c 3
HSET h b 20 d 4
HSET h odd
HGET h b
HGET h zz
HGET missing a
HGETALL h
HGETALL missing
HEXISTS h a
HEXISTS h zz
HEXISTS missing a
HINCRBY h n 5
HINCRBY h n -7
HINCRBY h a 01
HINCRBY h a 1.5
HINCRBY h big 9223372036854775807
HINCRBY h big 1
HSET h word abc
HINCRBY h word 1
HINCRBY h big -9223372036854775807
HINCRBY h big -9223372036854775807
HGETALL h
XADD s 1-1 a 1
XADD s 1-* b 2
XADD s 1-* c 3
XADD s 5 d 4
XADD s 5 e 5
XADD s 4-9 e 5
XADD s 0-0 e 5
XADD s 0-* e 5
XADD s bad e 5
XADD s 6-1 odd
XADD s 6-1
XADD s MAXLEN 10 7-0 f 6
XADD s MAXLEN = 10 8-0 f 7
XADD s MAXLEN ~ 10 9-0 f 8
XADD s MAXLEN ~ 10 LIMIT 5 10-0 f 9
XADD s MAXLEN 10 LIMIT 5 11-0 f 10
XADD s MAXLEN -1 11-0 f 10
XADD s MAXLEN x 11-0 f 10
XADD s MAXLEN 1 MINID 1 11-0 f 10
XADD s NOMKSTREAM 11-0 f 10
XADD nostream NOMKSTREAM 1-1 f v
EXISTS nostream
XLEN s
XLEN missing
XRANGE s - +
XRANGE s - + COUNT 2
XRANGE s - + COUNT 0
XRANGE s - + COUNT -3
XRANGE missing - + COUNT 0
XRANGE s 1 1
XRANGE s (1-1 +
XRANGE s (1 +
XRANGE s - (5
XRANGE s - (5-0
XRANGE s 9 3
XRANGE s (- +
XRANGE s - (+
XRANGE s (18446744073709551615-18446744073709551615 +
XRANGE s - (0-0
XRANGE s x +
XRANGE s - + COUNT
XRANGE s - + LIMIT 1
XRANGE s - + COUNT x
XRANGE missing - +
XDEL s 1-2 1-2 99-0
XDEL s bad
XDEL s 1-1 bad
XDEL missing 1-1
XADD t 1-1 a 1
XADD t 2-1 a 1
XADD t 3-1 a 1
XADD t MINID 3 4-1 a 1
XRANGE t - +
XADD t MAXLEN 0 5-1 a 1
XLEN t
XADD t 5-1 a 1
GET h
GET s
HGET k f
HSET s f v
HGETALL s
HINCRBY s f 1
HEXISTS s f
XADD h 1-1 f v
XLEN h
XRANGE h - +
XDEL h 1-1
SET h string
GET h
SELECT 0
SELECT x
CLIENT SETNAME name
CLIENT SETNAME
CLIENT NOPE
SCRIPT
SCRIPT NOPE
SCRIPT EXISTS 0000000000000000000000000000000000000000
SCRIPT EXISTS
SCRIPT FLUSH
SCRIPT FLUSH ASYNC
SCRIPT FLUSH NOPE
SCRIPT LOAD
EVALSHA 0000000000000000000000000000000000000000 0
EVALSHA short x
EVAL anything x
EVAL anything -1
EVAL anything 2 k
EVAL
GET
DEL
HSET h f
XRANGE s -
NOSUCHCOMMAND a b
";

async fn replies(mut redis: ConnectionManager) -> Vec<(String, String)> {
    let mut answers = Vec::new();
    for line in SESSION.lines().filter(|line| !line.is_empty()) {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        let answer = match raw(&mut redis, &args).await {
            Ok(value) => format!("{value:?}"),
            Err(error) => format!("error {:?}: {:?}", error.code(), error.detail()),
        };
        answers.push((line.to_owned(), answer));
    }
    answers
}

#[tokio::test]
async fn raw_replies_match_redis() {
    let server = RedisServer::start().expect("redis-server starts; scripts/test installs it");
    let store = EmbeddedStore::start().await.unwrap();

    let expected = replies(connect(&server.url())).await;
    let actual = replies(connect(&store.url())).await;
    let differences: Vec<String> = expected
        .iter()
        .zip(&actual)
        .filter(|(redis, embedded)| redis != embedded)
        .map(|((line, redis), (_, embedded))| {
            format!("{line}\n  redis:    {redis}\n  embedded: {embedded}")
        })
        .collect();
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    store.shutdown().await;
}

/// One `EVAL` of a product script.
fn eval(source: &str, keys: &[&str], args: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut command = vec![
        b"EVAL".to_vec(),
        source.as_bytes().to_vec(),
        keys.len().to_string().into_bytes(),
    ];
    command.extend(keys.iter().map(|key| key.as_bytes().to_vec()));
    command.extend(args.iter().map(|arg| arg.to_vec()));
    command
}

fn command(line: &str) -> Vec<Vec<u8>> {
    line.split(' ')
        .map(|word| word.as_bytes().to_vec())
        .collect()
}

/// The product's scripts on both stores, success and failure. A failure inside a script is
/// compared by its code only: Redis appends the script's SHA1 and line to the message.
fn script_session() -> Vec<Vec<Vec<u8>>> {
    use fulfillment::store::{journal::JOURNAL_WRITE_SCRIPT, lock};
    use ingest::{cursor::CURSOR_WRITE_SCRIPT, lease};
    let (acquire, renew, release) = (
        lock::LOCK_ACQUIRE_SCRIPT,
        lock::LOCK_RENEW_SCRIPT,
        lock::LOCK_RELEASE_SCRIPT,
    );
    let lock_keys = ["lock", "journal"];
    vec![
        eval(acquire, &lock_keys, &[b"owner", b"100000", b"60"]),
        eval(acquire, &lock_keys, &[b"owner", b"100000", b"60"]),
        command("GET lock"),
        command("HGETALL journal"),
        command("TTL journal"),
        eval(renew, &["lock"], &[b"owner:1", b"100000"]),
        eval(renew, &["lock"], &[b"owner:2", b"100000"]),
        eval(renew, &["lock"], &[b"owner:1", b"soon"]),
        eval(renew, &[], &[b"owner:1", b"100000"]),
        eval(
            JOURNAL_WRITE_SCRIPT,
            &lock_keys,
            &[b"owner:1", b"1", b"0", b"state", b"running"],
        ),
        command("TTL journal"),
        eval(
            JOURNAL_WRITE_SCRIPT,
            &lock_keys,
            &[b"owner:1", b"2", b"0", b"state", b"x"],
        ),
        eval(
            JOURNAL_WRITE_SCRIPT,
            &lock_keys,
            &[b"owner:9", b"1", b"0", b"state", b"x"],
        ),
        eval(JOURNAL_WRITE_SCRIPT, &lock_keys, &[b"owner:1", b"1", b"0"]),
        eval(
            JOURNAL_WRITE_SCRIPT,
            &lock_keys,
            &[b"owner:1", b"1", b"0", b"odd"],
        ),
        eval(
            JOURNAL_WRITE_SCRIPT,
            &lock_keys,
            &[b"owner:1", b"1", b"ever", b"a", b"b"],
        ),
        eval(
            JOURNAL_WRITE_SCRIPT,
            &lock_keys,
            &[b"owner:1", b"1", b"100", b"state", b"failed"],
        ),
        command("TTL journal"),
        command("HGETALL journal"),
        eval(release, &["lock"], &[b"owner:2"]),
        eval(release, &["lock"], &[b"owner:1"]),
        command("EXISTS lock"),
        eval(acquire, &lock_keys, &[b"owner", b"100000", b"60"]),
        command("TTL journal"),
        eval(acquire, &lock_keys, &[b"next", b"-5", b"60"]),
        command("SET lock taken"),
        eval(
            JOURNAL_WRITE_SCRIPT,
            &lock_keys,
            &[b"taken", b"2", b"0", b"a", b"b"],
        ),
        command("SET strjournal x"),
        eval(
            JOURNAL_WRITE_SCRIPT,
            &["lock", "strjournal"],
            &[b"taken", b"2", b"0", b"a", b"b"],
        ),
        eval(
            acquire,
            &["freelock", "strjournal"],
            &[b"o", b"100000", b"60"],
        ),
        eval(
            lease::LEASE_ACQUIRE_SCRIPT,
            &["leader", "meta"],
            &[b"inst", b"100000"],
        ),
        eval(
            lease::LEASE_ACQUIRE_SCRIPT,
            &["leader", "meta"],
            &[b"inst", b"100000"],
        ),
        eval(
            lease::LEASE_ACQUIRE_SCRIPT,
            &["leader", "meta"],
            &[b"other", b"100000"],
        ),
        eval(
            lease::LEASE_ACQUIRE_SCRIPT,
            &["leader", "meta"],
            &[b"ins", b"100000"],
        ),
        eval(
            lease::LEASE_ACQUIRE_SCRIPT,
            &["fresh", "meta"],
            &[b"inst", b"never"],
        ),
        command("HGETALL meta"),
        command("SET odd inst:abc"),
        eval(
            lease::LEASE_ACQUIRE_SCRIPT,
            &["odd", "meta"],
            &[b"inst", b"100000"],
        ),
        command("SET odd inst:7.9"),
        eval(
            lease::LEASE_ACQUIRE_SCRIPT,
            &["odd", "meta"],
            &[b"inst", b"100000"],
        ),
        command("SET odd inst:0x10"),
        eval(
            lease::LEASE_ACQUIRE_SCRIPT,
            &["odd", "meta"],
            &[b"inst", b"100000"],
        ),
        command("SET odd inst:"),
        eval(
            lease::LEASE_ACQUIRE_SCRIPT,
            &["odd", "meta"],
            &[b"inst", b"100000"],
        ),
        eval(
            lease::LEASE_RENEW_SCRIPT,
            &["leader"],
            &[b"inst:1", b"100000"],
        ),
        eval(
            CURSOR_WRITE_SCRIPT,
            &["leader", "cursor", "meta"],
            &[b"inst:1", b"\x00\xff\r\n", b"123", b"1"],
        ),
        eval(
            CURSOR_WRITE_SCRIPT,
            &["leader", "cursor", "meta"],
            &[b"inst:2", b"x", b"456", b"2"],
        ),
        command("GET cursor"),
        command("HGETALL meta"),
        eval(lease::LEASE_RELEASE_SCRIPT, &["leader"], &[b"inst:1"]),
        command("EXISTS leader"),
        command("SCRIPT FLUSH"),
    ]
}

async fn script_replies(mut redis: ConnectionManager) -> Vec<String> {
    let mut answers = Vec::new();
    for args in script_session() {
        let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        answers.push(match raw(&mut redis, &args).await {
            Ok(value) => format!("{value:?}"),
            Err(error) => format!("error {:?}", error.code()),
        });
    }
    answers
}

#[tokio::test]
async fn script_replies_match_redis() {
    let server = RedisServer::start().expect("redis-server starts; scripts/test installs it");
    let store = EmbeddedStore::start().await.unwrap();

    let expected = script_replies(connect(&server.url())).await;
    let actual = script_replies(connect(&store.url())).await;
    let differences: Vec<String> = expected
        .iter()
        .zip(&actual)
        .enumerate()
        .filter(|(_, (redis, embedded))| redis != embedded)
        .map(|(step, (redis, embedded))| {
            format!("step {step}\n  redis:    {redis}\n  embedded: {embedded}")
        })
        .collect();
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    store.shutdown().await;
}
