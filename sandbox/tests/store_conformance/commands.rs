//! The raw commands behind the product's store code, with the replies and errors the services
//! would see: strings, time to live and expiry, hashes, and type errors.

use std::{collections::HashMap, time::Duration};

use bridge_runtime::redis_store::RedisProbe;
use redis::{AsyncCommands, Value, aio::ConnectionManager};

use crate::support::{connect, detail, error_code, eventually, query, raw};

/// `SET key v EX|PX amount`, the form the product uses (never `SETEX`).
async fn set_with_ttl(redis: &mut ConnectionManager, key: &str, unit: &[u8], amount: &[u8]) {
    let reply = raw(redis, &[b"SET", key.as_bytes(), b"v", unit, amount]).await;
    assert_eq!(reply.unwrap(), Value::Okay);
}

pub(crate) async fn the_probe_pings(url: String) {
    let probe = RedisProbe::new(connect(&url));
    let round_trip = probe.ping().await.unwrap();
    assert!(round_trip < Duration::from_secs(2));
    let mut redis = connect(&url);
    let echoed: Vec<u8> = query(&mut redis, &[b"PING", b"\x00hi"]).await;
    assert_eq!(echoed, b"\x00hi");
}

pub(crate) async fn strings_keep_bytes_and_honour_set_options(url: String) {
    let mut redis = connect(&url);
    let binary = b"\x00\xff\r\n$3\r\n".to_vec();
    let _: () = redis.set("k", &binary).await.unwrap();
    let read: Vec<u8> = redis.get("k").await.unwrap();
    assert_eq!(read, binary);
    let missing: Option<Vec<u8>> = redis.get("missing").await.unwrap();
    assert_eq!(missing, None);

    assert_eq!(
        raw(&mut redis, &[b"SET", b"k", b"v", b"NX"]).await.unwrap(),
        Value::Nil
    );
    assert_eq!(
        raw(&mut redis, &[b"SET", b"new", b"v", b"NX"])
            .await
            .unwrap(),
        Value::Okay
    );
    assert_eq!(
        raw(&mut redis, &[b"SET", b"absent", b"v", b"XX"])
            .await
            .unwrap(),
        Value::Nil
    );
    assert_eq!(
        raw(&mut redis, &[b"SET", b"k", b"v2", b"XX"])
            .await
            .unwrap(),
        Value::Okay
    );
    let old: Vec<u8> = query(&mut redis, &[b"SET", b"k", b"v3", b"GET"]).await;
    assert_eq!(old, b"v2");
    let now: String = redis.get("k").await.unwrap();
    assert_eq!(now, "v3");

    assert_eq!(
        error_code(&mut redis, &[b"SET", b"k", b"v", b"EX", b"0"]).await,
        "ERR"
    );
    let invalid = detail(&mut redis, &[b"SET", b"k", b"v", b"PX", b"-5"]).await;
    assert!(invalid.contains("invalid expire time"), "{invalid}");
    let syntax = detail(&mut redis, &[b"SET", b"k", b"v", b"NX", b"XX"]).await;
    assert!(syntax.contains("syntax error"), "{syntax}");
    let not_a_number = detail(&mut redis, &[b"SET", b"k", b"v", b"EX", b"ten"]).await;
    assert!(not_a_number.contains("not an integer"), "{not_a_number}");

    let present: i64 = query(&mut redis, &[b"EXISTS", b"k", b"k", b"new", b"missing"]).await;
    assert_eq!(present, 3, "a repeated key counts each time");
    let deleted: i64 = query(&mut redis, &[b"DEL", b"k", b"k", b"missing"]).await;
    assert_eq!(deleted, 1);
}

pub(crate) async fn time_to_live_is_set_read_and_cleared(url: String) {
    let mut redis = connect(&url);
    let reader = redis.clone();
    let ttl = move |key: &'static str| {
        let mut redis = reader.clone();
        async move { redis.ttl::<_, i64>(key).await.unwrap() }
    };
    assert_eq!(ttl("missing").await, -2);
    let pttl: i64 = redis.pttl("missing").await.unwrap();
    assert_eq!(pttl, -2);

    let _: () = redis.set("k", "v").await.unwrap();
    assert_eq!(ttl("k").await, -1);
    let set: i64 = query(&mut redis, &[b"EXPIRE", b"k", b"100"]).await;
    assert_eq!(set, 1);
    assert_eq!(ttl("k").await, 100);
    let pttl: i64 = redis.pttl("k").await.unwrap();
    assert!((99_000..=100_000).contains(&pttl), "{pttl}");

    let nx: i64 = query(&mut redis, &[b"PEXPIRE", b"k", b"5000", b"NX"]).await;
    assert_eq!(nx, 0, "NX leaves an existing deadline");
    let gt: i64 = query(&mut redis, &[b"EXPIRE", b"k", b"50", b"GT"]).await;
    assert_eq!(gt, 0);
    let gt: i64 = query(&mut redis, &[b"EXPIRE", b"k", b"200", b"GT"]).await;
    assert_eq!(gt, 1);
    assert_eq!(ttl("k").await, 200);

    let persisted: i64 = query(&mut redis, &[b"PERSIST", b"k"]).await;
    assert_eq!(persisted, 1);
    assert_eq!(ttl("k").await, -1);
    let again: i64 = query(&mut redis, &[b"PERSIST", b"k"]).await;
    assert_eq!(again, 0);
    let absent: i64 = query(&mut redis, &[b"PERSIST", b"missing"]).await;
    assert_eq!(absent, 0);
    let absent: i64 = query(&mut redis, &[b"EXPIRE", b"missing", b"10"]).await;
    assert_eq!(absent, 0);

    // SET clears a deadline unless told to keep it; changing a hash keeps it.
    set_with_ttl(&mut redis, "k", b"EX", b"100").await;
    let _: () = redis.set("k", "v2").await.unwrap();
    assert_eq!(ttl("k").await, -1);
    set_with_ttl(&mut redis, "k", b"EX", b"100").await;
    assert_eq!(
        raw(&mut redis, &[b"SET", b"k", b"v3", b"KEEPTTL"])
            .await
            .unwrap(),
        Value::Okay
    );
    assert_eq!(ttl("k").await, 100);
    let _: () = redis.hset("h", "f", "v").await.unwrap();
    let _: () = redis.expire("h", 100).await.unwrap();
    let _: () = redis.hset("h", "g", "v").await.unwrap();
    assert_eq!(ttl("h").await, 100);

    // A deadline already past deletes the key at once.
    let past: i64 = query(&mut redis, &[b"PEXPIRE", b"k", b"0"]).await;
    assert_eq!(past, 1);
    let past: i64 = query(&mut redis, &[b"EXPIRE", b"h", b"-5"]).await;
    assert_eq!(past, 1);
    let left: i64 = query(&mut redis, &[b"EXISTS", b"k", b"h"]).await;
    assert_eq!(left, 0);

    let _: () = redis.set("k", "v").await.unwrap();
    let bad = detail(&mut redis, &[b"EXPIRE", b"k", b"soon"]).await;
    assert!(bad.contains("not an integer"), "{bad}");
    let huge = detail(&mut redis, &[b"EXPIRE", b"k", b"99999999999999999"]).await;
    assert!(
        huge.contains("invalid expire time in 'expire' command"),
        "{huge}"
    );
}

pub(crate) async fn keys_expire_in_real_time(url: String) {
    let mut redis = connect(&url);
    set_with_ttl(&mut redis, "string", b"PX", b"100").await;
    let _: () = redis.hset("hash", "f", "v").await.unwrap();
    let _: () = redis.pexpire("hash", 100).await.unwrap();
    let _: String = redis.xadd("stream", "*", &[("f", "v")]).await.unwrap();
    let _: () = redis.pexpire("stream", 100).await.unwrap();
    let _: () = redis.set("kept", "v").await.unwrap();

    eventually("the keys' expiry", || {
        let mut redis = redis.clone();
        async move {
            let left: i64 = query(&mut redis, &[b"EXISTS", b"string", b"hash", b"stream"]).await;
            (left == 0).then_some(())
        }
    })
    .await;
    let value: Option<String> = redis.get("string").await.unwrap();
    assert_eq!(value, None);
    let len: i64 = redis.xlen("stream").await.unwrap();
    assert_eq!(len, 0);
    let kept: String = redis.get("kept").await.unwrap();
    assert_eq!(kept, "v");
}

pub(crate) async fn hashes_count_new_fields_and_increment(url: String) {
    let mut redis = connect(&url);
    let added: i64 = query(&mut redis, &[b"HSET", b"h", b"a", b"1", b"b", b"2"]).await;
    assert_eq!(added, 2);
    let added: i64 = query(&mut redis, &[b"HSET", b"h", b"a", b"3", b"\x00f", b"\xff"]).await;
    assert_eq!(added, 1, "only the new field counts");

    let a: String = redis.hget("h", "a").await.unwrap();
    assert_eq!(a, "3");
    let none: Option<String> = redis.hget("h", "zz").await.unwrap();
    assert_eq!(none, None);
    let all: HashMap<Vec<u8>, Vec<u8>> = redis.hgetall("h").await.unwrap();
    let expected: HashMap<Vec<u8>, Vec<u8>> = [
        (b"a".to_vec(), b"3".to_vec()),
        (b"b".to_vec(), b"2".to_vec()),
        (b"\x00f".to_vec(), b"\xff".to_vec()),
    ]
    .into();
    assert_eq!(all, expected);
    let empty: HashMap<String, String> = redis.hgetall("missing").await.unwrap();
    assert!(empty.is_empty());

    let exists: bool = redis.hexists("h", "a").await.unwrap();
    assert!(exists);
    let exists: bool = redis.hexists("h", "zz").await.unwrap();
    assert!(!exists);
    let exists: bool = redis.hexists("missing", "a").await.unwrap();
    assert!(!exists);

    let n: i64 = redis.hincr("h", "n", 5).await.unwrap();
    assert_eq!(n, 5);
    let n: i64 = redis.hincr("h", "n", -7).await.unwrap();
    assert_eq!(n, -2);
    let fresh: i64 = redis.hincr("fresh", "count", 1).await.unwrap();
    assert_eq!(fresh, 1);
}

pub(crate) async fn wrong_types_and_bad_numbers_are_refused_alike(url: String) {
    let mut redis = connect(&url);
    let _: () = redis.set("s", "v").await.unwrap();
    let _: () = redis.hset("h", "f", "v").await.unwrap();
    let _: String = redis.xadd("x", "*", &[("f", "v")]).await.unwrap();

    let wrong: [&[&[u8]]; 11] = [
        &[b"GET", b"h"],
        &[b"GET", b"x"],
        &[b"HGET", b"s", b"f"],
        &[b"HSET", b"s", b"f", b"v"],
        &[b"HINCRBY", b"x", b"f", b"1"],
        &[b"HGETALL", b"s"],
        &[b"HEXISTS", b"s", b"f"],
        &[b"XADD", b"s", b"*", b"f", b"v"],
        &[b"XLEN", b"h"],
        &[b"XRANGE", b"s", b"-", b"+"],
        &[b"XDEL", b"h", b"1-1"],
    ];
    for args in wrong {
        assert_eq!(error_code(&mut redis, args).await, "WRONGTYPE", "{args:?}");
    }

    let not_integer = detail(&mut redis, &[b"HINCRBY", b"h", b"f", b"1"]).await;
    assert_eq!(not_integer, "hash value is not an integer");
    let bad_increment = detail(&mut redis, &[b"HINCRBY", b"h", b"n", b"1.5"]).await;
    assert_eq!(bad_increment, "value is not an integer or out of range");
    let _: () = redis.hset("h", "big", i64::MAX).await.unwrap();
    let overflow = detail(&mut redis, &[b"HINCRBY", b"h", b"big", b"1"]).await;
    assert_eq!(overflow, "increment or decrement would overflow");
    let odd = detail(&mut redis, &[b"HSET", b"h", b"a", b"1", b"b"]).await;
    assert_eq!(odd, "wrong number of arguments for 'hset' command");

    // Commands on keys of any type work on all of them, and SET replaces any type.
    let present: i64 = query(&mut redis, &[b"EXISTS", b"s", b"h", b"x"]).await;
    assert_eq!(present, 3);
    let _: () = redis.set("h", "now a string").await.unwrap();
    let value: String = redis.get("h").await.unwrap();
    assert_eq!(value, "now a string");
}
