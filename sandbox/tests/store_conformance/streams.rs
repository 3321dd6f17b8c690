//! Streams as the dead letters use them: ids (explicit, `ms-*`, `*`), ranges with inclusive,
//! exclusive and open bounds, `COUNT`, deletion, and trimming.

use redis::{AsyncCommands, Value};

use crate::support::{connect, detail, query, raw};

type Entries = Vec<(String, Vec<String>)>;

fn ids(entries: &Entries) -> Vec<&str> {
    entries.iter().map(|(id, _)| id.as_str()).collect()
}

pub(crate) async fn streams_add_range_and_delete(url: String) {
    let mut redis = connect(&url);
    let adder = redis.clone();
    let add = move |id: &'static [u8], field: &'static [u8]| {
        let mut redis = adder.clone();
        async move { raw(&mut redis, &[b"XADD", b"s", id, field, b"v"]).await }
    };
    let id = |value: redis::RedisResult<Value>| -> String {
        redis::from_redis_value(value.unwrap()).unwrap()
    };
    assert_eq!(id(add(b"1-1", b"a").await), "1-1");
    assert_eq!(id(add(b"1-*", b"b").await), "1-2");
    assert_eq!(id(add(b"5", b"c").await), "5-0");
    let smaller = add(b"1-5", b"d").await.unwrap_err();
    assert!(
        smaller.detail().unwrap().contains("equal or smaller"),
        "{smaller}"
    );
    let zero = add(b"0-0", b"d").await.unwrap_err();
    assert!(
        zero.detail().unwrap().contains("greater than 0-0"),
        "{zero}"
    );
    let auto = id(add(b"*", b"d").await);
    let (ms, _) = auto.split_once('-').unwrap();
    assert!(ms.parse::<u64>().unwrap() > 1_700_000_000_000, "{auto}");
    let len: i64 = redis.xlen("s").await.unwrap();
    assert_eq!(len, 4);

    let all: Entries = query(&mut redis, &[b"XRANGE", b"s", b"-", b"+"]).await;
    assert_eq!(ids(&all), ["1-1", "1-2", "5-0", auto.as_str()]);
    assert_eq!(all[0].1, ["a", "v"]);
    let one_ms: Entries = query(&mut redis, &[b"XRANGE", b"s", b"1", b"1"]).await;
    assert_eq!(
        ids(&one_ms),
        ["1-1", "1-2"],
        "a bare ms covers the whole millisecond"
    );
    let after: Entries = query(
        &mut redis,
        &[b"XRANGE", b"s", b"(1-1", b"+", b"COUNT", b"2"],
    )
    .await;
    assert_eq!(ids(&after), ["1-2", "5-0"]);
    let before: Entries = query(&mut redis, &[b"XRANGE", b"s", b"-", b"(5-0"]).await;
    assert_eq!(ids(&before), ["1-1", "1-2"]);
    let backwards: Entries = query(&mut redis, &[b"XRANGE", b"s", b"5", b"1"]).await;
    assert!(backwards.is_empty());
    let missing: Entries = query(&mut redis, &[b"XRANGE", b"nothing", b"-", b"+"]).await;
    assert!(missing.is_empty());
    let none = raw(&mut redis, &[b"XRANGE", b"s", b"-", b"+", b"COUNT", b"0"]).await;
    assert_eq!(none.unwrap(), Value::Nil);
    for bad in [&b"x"[..], b"(-", b"1-"] {
        let error = detail(&mut redis, &[b"XRANGE", b"s", bad, b"+"]).await;
        assert!(error.contains("Invalid stream ID"), "{error}");
    }
    let option = detail(&mut redis, &[b"XRANGE", b"s", b"-", b"+", b"LIMIT", b"1"]).await;
    assert_eq!(option, "syntax error");

    let deleted: i64 = query(&mut redis, &[b"XDEL", b"s", b"1-2", b"1-2", b"9-9"]).await;
    assert_eq!(deleted, 1);
    let deleted: i64 = query(&mut redis, &[b"XDEL", b"nothing", b"1-1"]).await;
    assert_eq!(deleted, 0);
    let all_ids = [b"1-1".as_slice(), b"5-0", auto.as_bytes()];
    let mut xdel: Vec<&[u8]> = vec![b"XDEL", b"s"];
    xdel.extend(all_ids);
    let deleted: i64 = query(&mut redis, &xdel).await;
    assert_eq!(deleted, 3);
    let len: i64 = redis.xlen("s").await.unwrap();
    assert_eq!(len, 0);
    let exists: bool = redis.exists("s").await.unwrap();
    assert!(exists, "an emptied stream stays");
    assert!(
        add(b"5-1", b"e").await.is_err(),
        "deleted ids are not reused"
    );

    for _ in 0..5 {
        let _: String = query(
            &mut redis,
            &[
                b"XADD", b"t", b"MAXLEN", b"=", b"2", b"*", b"z", b"1", b"a", b"2",
            ],
        )
        .await;
    }
    let capped: Entries = query(&mut redis, &[b"XRANGE", b"t", b"-", b"+"]).await;
    assert_eq!(capped.len(), 2);
    assert_eq!(capped[0].1, ["z", "1", "a", "2"], "fields keep their order");
    let skipped = raw(
        &mut redis,
        &[b"XADD", b"u", b"NOMKSTREAM", b"*", b"f", b"v"],
    )
    .await;
    assert_eq!(skipped.unwrap(), Value::Nil);
    let exists: bool = redis.exists("u").await.unwrap();
    assert!(!exists);
}
