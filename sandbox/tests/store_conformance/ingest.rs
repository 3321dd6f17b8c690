//! Ingest's store: the leader lease, the fenced replay cursor, and the dead-letter stream.

use std::time::Duration;

use ingest::{
    cursor::{CursorError, ReplayCursor},
    dead_letters::{CAPACITY, DeadLetter, DeadLetters},
    keys::ChannelKeys,
    lease::LeaderLease,
};
use redis::AsyncCommands;

use crate::support::{connect, eventually};

const CHANNEL: &str = "/event/OrderProvisionRequested__e";

fn lease(url: &str, instance: &str, ttl: Duration) -> LeaderLease {
    LeaderLease::new(
        connect(url),
        ChannelKeys::new(CHANNEL),
        instance.into(),
        ttl,
    )
}

pub(crate) async fn the_lease_has_one_holder_and_epochs_grow(url: String) {
    let a = lease(&url, "replica-a", Duration::from_secs(5));
    let b = lease(&url, "replica-b", Duration::from_secs(5));

    let first = a.try_acquire().await.unwrap().expect("free");
    assert_eq!(first.epoch, 1);
    let again = a.try_acquire().await.unwrap().expect("already ours");
    assert_eq!(again, first, "taking it again keeps the epoch");
    assert!(b.try_acquire().await.unwrap().is_none(), "held by a");
    assert!(a.renew(&first).await.unwrap());

    let mut redis = connect(&url);
    let keys = ChannelKeys::new(CHANNEL);
    let stored: String = redis.get(&keys.leader).await.unwrap();
    assert_eq!(stored, "replica-a:1");

    a.release(&first).await.unwrap();
    let second = b.try_acquire().await.unwrap().expect("released");
    assert_eq!(second.epoch, 2);
    assert!(
        !a.renew(&first).await.unwrap(),
        "a deposed holder cannot renew"
    );
    a.release(&first).await.unwrap();
    assert!(
        b.renew(&second).await.unwrap(),
        "a stale release left b alone"
    );

    // An instance name that prefixes another's does not pass for it.
    let prefix = lease(&url, "replica", Duration::from_secs(5));
    assert!(prefix.try_acquire().await.unwrap().is_none());
}

pub(crate) async fn an_expired_lease_passes_to_a_standby(url: String) {
    let a = lease(&url, "replica-a", Duration::from_millis(200));
    let b = lease(&url, "replica-b", Duration::from_millis(200));

    let first = a.try_acquire().await.unwrap().unwrap();
    let second = eventually("the lease's expiry", || async {
        b.try_acquire().await.unwrap()
    })
    .await;
    assert!(second.epoch > first.epoch);
    assert!(!a.renew(&first).await.unwrap());
    assert!(a.try_acquire().await.unwrap().is_none());
}

pub(crate) async fn the_cursor_moves_only_under_the_lease(url: String) {
    let a = lease(&url, "replica-a", Duration::from_secs(5));
    let b = lease(&url, "replica-b", Duration::from_secs(5));
    let cursor = ReplayCursor::new(connect(&url), ChannelKeys::new(CHANNEL));
    assert_eq!(cursor.load().await.unwrap(), None);

    let held = a.try_acquire().await.unwrap().unwrap();
    let replay_id = [0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0xff, 0x00, 0x80, 0xff];
    cursor.store(&held, &replay_id).await.unwrap();
    let stored = cursor.load().await.unwrap().unwrap();
    assert_eq!(stored.replay_id, replay_id);
    assert!(
        stored.written_at_ms > 1_700_000_000_000,
        "{}",
        stored.written_at_ms
    );

    let mut redis = connect(&url);
    let keys = ChannelKeys::new(CHANNEL);
    let epoch: String = redis.hget(&keys.meta, "epoch").await.unwrap();
    assert_eq!(epoch, held.epoch.to_string());

    a.release(&held).await.unwrap();
    let taken = b.try_acquire().await.unwrap().unwrap();
    let refused = cursor.store(&held, b"\x01\x02").await;
    assert!(
        matches!(refused, Err(CursorError::NotLeader)),
        "{refused:?}"
    );
    assert_eq!(cursor.load().await.unwrap().unwrap().replay_id, replay_id);

    cursor.store(&taken, b"\xfe").await.unwrap();
    assert_eq!(cursor.load().await.unwrap().unwrap().replay_id, b"\xfe");
    let epoch: String = redis.hget(&keys.meta, "epoch").await.unwrap();
    assert_eq!(epoch, taken.epoch.to_string());
    let counter: String = redis.hget(&keys.meta, "lease_epoch").await.unwrap();
    assert_eq!(counter, "2", "the epoch counter shares the meta hash");
}

pub(crate) async fn every_byte_of_a_cursor_round_trips(url: String) {
    let a = lease(&url, "replica-a", Duration::from_secs(5));
    let cursor = ReplayCursor::new(connect(&url), ChannelKeys::new(CHANNEL));
    let held = a.try_acquire().await.unwrap().unwrap();

    let every_byte: Vec<u8> = (0..=255).rev().collect();
    cursor.store(&held, &every_byte).await.unwrap();
    assert_eq!(cursor.load().await.unwrap().unwrap().replay_id, every_byte);

    // CRLF inside a value must not end it.
    cursor.store(&held, b"\r\n\r\n$-1\r\n").await.unwrap();
    assert_eq!(
        cursor.load().await.unwrap().unwrap().replay_id,
        b"\r\n\r\n$-1\r\n"
    );
}

fn letter(n: u8) -> DeadLetter {
    DeadLetter {
        replay_id: vec![0x00, n, 0xff],
        schema_id: format!("schema-{n}"),
        event_uuid: format!("uuid-{n}"),
        payload: vec![0xff, 0x00, n, b'\r', b'\n'],
        order_id: format!("801xx00000000{n:02}AAG"),
        reason: format!("cannot decode event {n}"),
        ..DeadLetter::default()
    }
}

pub(crate) async fn dead_letters_page_get_and_remove(url: String) {
    let letters = DeadLetters::new(connect(&url), &ChannelKeys::new(CHANNEL));
    assert_eq!(letters.count().await.unwrap(), 0);
    assert!(letters.page(None, 10).await.unwrap().is_empty());

    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(letters.add(&letter(n)).await.unwrap());
    }
    let mut sorted = ids.clone();
    sorted.sort_by_key(|id| {
        let (ms, seq) = id.split_once('-').unwrap();
        (ms.parse::<u64>().unwrap(), seq.parse::<u64>().unwrap())
    });
    assert_eq!(sorted, ids, "ids grow");
    assert_eq!(letters.count().await.unwrap(), 5);

    let first = letters.page(None, 2).await.unwrap();
    assert_eq!(
        first.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
        &ids[..2]
    );
    let next = letters.page(Some(&ids[1]), 2).await.unwrap();
    assert_eq!(
        next.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
        &ids[2..4]
    );
    assert!(letters.page(Some(&ids[4]), 10).await.unwrap().is_empty());

    let got = letters.get(&ids[3]).await.unwrap().expect("stored");
    let expected = letter(3);
    assert_eq!(got.id, ids[3]);
    assert_eq!(got.replay_id, expected.replay_id);
    assert_eq!(got.payload, expected.payload);
    assert_eq!(got.schema_id, expected.schema_id);
    assert_eq!(got.event_uuid, expected.event_uuid);
    assert_eq!(got.order_id, expected.order_id);
    assert_eq!(got.reason, expected.reason);
    assert!(got.at_ms > 1_700_000_000_000);
    assert_eq!(letters.get("1-1").await.unwrap(), None);

    assert!(letters.remove(&ids[3]).await.unwrap());
    assert!(!letters.remove(&ids[3]).await.unwrap(), "already gone");
    assert_eq!(letters.count().await.unwrap(), 4);
    assert_eq!(letters.get(&ids[3]).await.unwrap(), None);
    let rest = letters.page(Some(&ids[2]), 10).await.unwrap();
    assert_eq!(
        rest.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
        [ids[4].as_str()]
    );
    assert!(
        letters.remove("not-an-id").await.is_err(),
        "a malformed id is refused"
    );
}

pub(crate) async fn dead_letters_are_capped(url: String) {
    let letters = DeadLetters::new(connect(&url), &ChannelKeys::new(CHANNEL));
    let extra = 150;
    let small = DeadLetter {
        reason: "flood".into(),
        ..DeadLetter::default()
    };
    let first = letters.add(&small).await.unwrap();
    for _ in 1..CAPACITY + extra {
        letters.add(&small).await.unwrap();
    }

    // Redis trims `~` in whole nodes of up to 100 entries; either way at least CAPACITY stay.
    let count = usize::try_from(letters.count().await.unwrap()).unwrap();
    assert!(
        (CAPACITY..CAPACITY + 100).contains(&count),
        "{count} entries"
    );
    let oldest = letters.page(None, 1).await.unwrap();
    assert_ne!(oldest[0].id, first, "the oldest entries were trimmed");
    assert_eq!(letters.get(&first).await.unwrap(), None);
}
