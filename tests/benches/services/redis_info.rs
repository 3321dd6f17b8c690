//! Commands Redis executed, by name, from `INFO commandstats`: before and after a run, less
//! the benchmark's own commands, gives what a service sent. Commands run inside a script
//! count too (Redis counts them like any other), so the total is an upper bound on round
//! trips: a script is one round trip however many commands it runs.

use std::collections::BTreeMap;

use bridge_tests::RedisServer;

/// The commands the benchmark itself sends, never a service: `INFO`, and `GETRANGE`, with
/// which it watches the cursor.
const OWN: &[&str] = &["info", "getrange"];

/// Calls per command name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CommandStats(BTreeMap<String, u64>);

impl CommandStats {
    /// The counts now.
    pub(crate) fn read(redis: &RedisServer) -> Self {
        let reply = redis
            .command(&["INFO", "commandstats"])
            .expect("redis answers INFO");
        let text = String::from_utf8_lossy(&reply);
        let mut calls = BTreeMap::new();
        for line in text.lines() {
            let Some((name, rest)) = line
                .strip_prefix("cmdstat_")
                .and_then(|line| line.split_once(':'))
            else {
                continue;
            };
            let count = rest
                .split(',')
                .find_map(|field| field.strip_prefix("calls="))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            calls.insert(name.to_owned(), count);
        }
        Self(calls)
    }

    /// What was executed between `self` (before) and `after`, the benchmark's own left out.
    pub(crate) fn since(&self, after: &Self) -> Self {
        let mut delta = BTreeMap::new();
        for (name, count) in &after.0 {
            if OWN.contains(&name.as_str()) {
                continue;
            }
            let before = self.0.get(name).copied().unwrap_or(0);
            if *count > before {
                delta.insert(name.clone(), count - before);
            }
        }
        Self(delta)
    }

    /// All calls.
    pub(crate) fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// `name=count` pairs, for reports.
    pub(crate) fn describe(&self) -> String {
        self.0
            .iter()
            .map(|(name, count)| format!("{name}={count}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The raw value at `key`, or `None` when unset (with `GETRANGE`, which no service uses).
pub(crate) fn value(redis: &RedisServer, key: &str) -> Option<Vec<u8>> {
    let reply = redis.command(&["GETRANGE", key, "0", "-1"]).ok()?;
    // A bulk string: `$<len>\r\n<bytes>\r\n`; an unset key reads as the empty string.
    let header_end = reply.windows(2).position(|pair| pair == b"\r\n")?;
    let length: usize = std::str::from_utf8(reply.get(1..header_end)?)
        .ok()?
        .parse()
        .ok()?;
    let body = reply.get(header_end + 2..header_end + 2 + length)?;
    (!body.is_empty()).then(|| body.to_vec())
}
