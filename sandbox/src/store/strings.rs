//! String commands: `GET` and `SET` with its options (`NX`/`XX`, `GET`, and one of
//! `EX`/`PX`/`EXAT`/`PXAT`/`KEEPTTL`). Values are raw bytes throughout.

use std::time::{Duration, Instant};

use super::{
    commands::integer_argument,
    error::{CommandError, CommandResult},
    keyspace::{Keyspace, Now},
    resp::Reply,
};

/// `GET key`.
pub(crate) fn get(keyspace: &mut Keyspace, args: &[Vec<u8>], now: Now) -> CommandResult {
    Ok(keyspace
        .string(&args[1], now)?
        .map_or(Reply::Nil, |value| Reply::Bulk(value.to_vec())))
}

/// What `SET` does with the key's time to live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    /// None: the new value never expires.
    Clear,
    /// `KEEPTTL`: the old deadline stays.
    Keep,
    /// A relative amount in milliseconds (`EX`, `PX`).
    In(i64),
    /// An absolute Unix time in milliseconds (`EXAT`, `PXAT`).
    At(i64),
}

/// The parsed options of one `SET`.
#[derive(Debug, Clone, Copy)]
struct SetOptions {
    only_if_missing: bool,
    only_if_present: bool,
    reply_old: bool,
    expiry: Expiry,
}

impl SetOptions {
    fn parse(options: &[Vec<u8>]) -> Result<Self, CommandError> {
        let mut parsed = Self {
            only_if_missing: false,
            only_if_present: false,
            reply_old: false,
            expiry: Expiry::Clear,
        };
        let mut rest = options.iter();
        while let Some(option) = rest.next() {
            let upper = option.to_ascii_uppercase();
            match upper.as_slice() {
                b"NX" if !parsed.only_if_present => parsed.only_if_missing = true,
                b"XX" if !parsed.only_if_missing => parsed.only_if_present = true,
                b"GET" => parsed.reply_old = true,
                b"KEEPTTL" if parsed.expiry == Expiry::Clear => parsed.expiry = Expiry::Keep,
                b"EX" | b"PX" | b"EXAT" | b"PXAT" if parsed.expiry == Expiry::Clear => {
                    let amount = rest.next().ok_or(CommandError::Syntax)?;
                    parsed.expiry = expiry(&upper, integer_argument(amount)?)?;
                }
                _ => return Err(CommandError::Syntax),
            }
        }
        Ok(parsed)
    }
}

/// The expiry an `EX`/`PX`/`EXAT`/`PXAT` amount stands for.
fn expiry(option: &[u8], amount: i64) -> Result<Expiry, CommandError> {
    let invalid = || CommandError::InvalidExpireTime("set".into());
    if amount <= 0 {
        return Err(invalid());
    }
    let seconds = |amount: i64| amount.checked_mul(1000).ok_or_else(invalid);
    Ok(match option {
        b"EX" => Expiry::In(seconds(amount)?),
        b"PX" => Expiry::In(amount),
        b"EXAT" => Expiry::At(seconds(amount)?),
        _ => Expiry::At(amount),
    })
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]`.
pub(crate) fn set(keyspace: &mut Keyspace, args: &[Vec<u8>], now: Now) -> CommandResult {
    let options = SetOptions::parse(&args[3..])?;
    let key = &args[1];
    let unix_ms = i64::try_from(now.unix_ms).unwrap_or(i64::MAX);
    let invalid = || CommandError::InvalidExpireTime("set".into());

    // Relative amounts are checked against the clock's range as Redis stores them.
    let relative = match options.expiry {
        Expiry::In(millis) => Some(unix_ms.checked_add(millis).ok_or_else(invalid)? - unix_ms),
        Expiry::At(at) => Some(at - unix_ms),
        Expiry::Clear | Expiry::Keep => None,
    };
    let old = if options.reply_old {
        keyspace.string(key, now)?.map(<[u8]>::to_vec)
    } else {
        None
    };
    let old_reply = || old.clone().map_or(Reply::Nil, Reply::Bulk);

    let exists = keyspace.exists(key, now);
    if (options.only_if_missing && exists) || (options.only_if_present && !exists) {
        return Ok(if options.reply_old {
            old_reply()
        } else {
            Reply::Nil
        });
    }

    let expires_at = match (options.expiry, relative) {
        (Expiry::Keep, _) => keyspace.deadline(key, now).flatten(),
        (_, Some(millis)) if millis <= 0 => {
            // An absolute time already past: the value is written and gone at once.
            keyspace.remove(key, now);
            return Ok(if options.reply_old {
                old_reply()
            } else {
                Reply::OK
            });
        }
        (_, Some(millis)) => Some(deadline(now, millis).ok_or_else(invalid)?),
        (_, None) => None,
    };
    keyspace.set_string(key, args[2].clone(), expires_at);
    Ok(if options.reply_old {
        old_reply()
    } else {
        Reply::OK
    })
}

/// The instant `millis` (positive) milliseconds after `now`.
fn deadline(now: Now, millis: i64) -> Option<Instant> {
    let millis = u64::try_from(millis).ok()?;
    now.instant.checked_add(Duration::from_millis(millis))
}
