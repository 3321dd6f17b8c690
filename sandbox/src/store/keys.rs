//! Commands on keys of any type: `DEL`, `EXISTS`, and time to live (`EXPIRE`, `PEXPIRE`,
//! `PERSIST`, `TTL`, `PTTL`).
//!
//! Deadlines are kept as monotonic instants; the checks on the amount follow Redis (it must fit
//! in milliseconds since the epoch, and a deadline already past deletes the key).

use std::time::Duration;

use super::{
    commands::{count, integer_argument},
    error::{CommandError, CommandResult},
    keyspace::{Keyspace, Now},
    resp::Reply,
};

/// `DEL key [key ...]`: how many existed.
pub(crate) fn del(keyspace: &mut Keyspace, args: &[Vec<u8>], now: Now) -> CommandResult {
    let removed = args[1..]
        .iter()
        .filter(|key| keyspace.remove(key, now))
        .count();
    Ok(Reply::Integer(count(removed)))
}

/// `EXISTS key [key ...]`: how many of the keys exist, a repeated key counted each time.
pub(crate) fn exists(keyspace: &mut Keyspace, args: &[Vec<u8>], now: Now) -> CommandResult {
    let present = args[1..]
        .iter()
        .filter(|key| keyspace.exists(key, now))
        .count();
    Ok(Reply::Integer(count(present)))
}

/// The unit of an expiry command's amount.
#[derive(Debug, Clone, Copy)]
enum Unit {
    Seconds,
    Millis,
}

/// `EXPIRE key seconds [NX|XX|GT|LT]`.
pub(crate) fn expire(keyspace: &mut Keyspace, args: &[Vec<u8>], now: Now) -> CommandResult {
    set_expiry(keyspace, args, now, Unit::Seconds, "expire")
}

/// `PEXPIRE key milliseconds [NX|XX|GT|LT]`.
pub(crate) fn pexpire(keyspace: &mut Keyspace, args: &[Vec<u8>], now: Now) -> CommandResult {
    set_expiry(keyspace, args, now, Unit::Millis, "pexpire")
}

/// Which existing deadlines an expiry command may replace.
#[derive(Debug, Clone, Copy, Default)]
struct Condition {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl Condition {
    fn parse(options: &[Vec<u8>]) -> Result<Self, CommandError> {
        let mut condition = Self::default();
        for option in options {
            match option.to_ascii_uppercase().as_slice() {
                b"NX" => condition.nx = true,
                b"XX" => condition.xx = true,
                b"GT" => condition.gt = true,
                b"LT" => condition.lt = true,
                _ => {
                    return Err(CommandError::Other(format!(
                        "Unsupported option {}",
                        String::from_utf8_lossy(option)
                    )));
                }
            }
        }
        if condition.nx && (condition.xx || condition.gt || condition.lt) {
            return Err(CommandError::Other(
                "NX and XX, GT or LT options at the same time are not compatible".into(),
            ));
        }
        if condition.gt && condition.lt {
            return Err(CommandError::Other(
                "GT and LT options at the same time are not compatible".into(),
            ));
        }
        Ok(condition)
    }

    /// Whether a key whose deadline is `current` (milliseconds from now; `None`: never) may
    /// get one `proposed` milliseconds from now. No deadline counts as an infinite one.
    fn allows(self, current: Option<i128>, proposed: i128) -> bool {
        match current {
            None => !(self.xx || self.gt),
            Some(current) => {
                let refused =
                    self.nx || (self.gt && proposed <= current) || (self.lt && proposed >= current);
                !refused
            }
        }
    }
}

fn set_expiry(
    keyspace: &mut Keyspace,
    args: &[Vec<u8>],
    now: Now,
    unit: Unit,
    name: &str,
) -> CommandResult {
    let amount = integer_argument(&args[2])?;
    let condition = Condition::parse(&args[3..])?;
    let invalid = || CommandError::InvalidExpireTime(name.to_owned());
    let millis = match unit {
        Unit::Seconds => amount.checked_mul(1000).ok_or_else(invalid)?,
        Unit::Millis => amount,
    };
    // Redis stores the deadline as Unix milliseconds in a signed 64-bit integer.
    let unix_ms = i64::try_from(now.unix_ms).unwrap_or(i64::MAX);
    unix_ms.checked_add(millis).ok_or_else(invalid)?;

    let key = &args[1];
    let Some(current) = keyspace.deadline(key, now) else {
        return Ok(Reply::Integer(0));
    };
    let current = current.map(|at| remaining_ms(at, now));
    if !condition.allows(current, i128::from(millis)) {
        return Ok(Reply::Integer(0));
    }
    if millis <= 0 {
        keyspace.remove(key, now);
        return Ok(Reply::Integer(1));
    }
    let wait = Duration::from_millis(u64::try_from(millis).map_err(|_| invalid())?);
    let at = now.instant.checked_add(wait).ok_or_else(invalid)?;
    keyspace.set_deadline(key, now, Some(at));
    Ok(Reply::Integer(1))
}

/// `PERSIST key`: whether a deadline was removed.
pub(crate) fn persist(keyspace: &mut Keyspace, args: &[Vec<u8>], now: Now) -> CommandResult {
    let had_deadline = matches!(keyspace.deadline(&args[1], now), Some(Some(_)));
    if had_deadline {
        keyspace.set_deadline(&args[1], now, None);
    }
    Ok(Reply::Integer(i64::from(had_deadline)))
}

/// `TTL key`: seconds left (rounded to the nearest), -1 without a deadline, -2 when missing.
pub(crate) fn ttl(keyspace: &mut Keyspace, args: &[Vec<u8>], now: Now) -> CommandResult {
    Ok(Reply::Integer(match keyspace.deadline(&args[1], now) {
        None => -2,
        Some(None) => -1,
        Some(Some(at)) => i64::try_from((remaining_ms(at, now) + 500) / 1000).unwrap_or(i64::MAX),
    }))
}

/// `PTTL key`: milliseconds left, -1 without a deadline, -2 when missing.
pub(crate) fn pttl(keyspace: &mut Keyspace, args: &[Vec<u8>], now: Now) -> CommandResult {
    Ok(Reply::Integer(match keyspace.deadline(&args[1], now) {
        None => -2,
        Some(None) => -1,
        Some(Some(at)) => i64::try_from(remaining_ms(at, now)).unwrap_or(i64::MAX),
    }))
}

fn remaining_ms(at: std::time::Instant, now: Now) -> i128 {
    i128::try_from(at.saturating_duration_since(now.instant).as_millis()).unwrap_or(i128::MAX)
}
