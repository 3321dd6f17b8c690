//! Hash commands: `HSET`, `HGET`, `HGETALL`, `HINCRBY`, `HEXISTS`, and the hash value itself.
//!
//! Fields keep the order they were first set in, as Redis keeps the small hashes the product
//! writes, so `HGETALL` lists them the same way.

use super::{
    commands::{count, integer_argument},
    error::{CommandError, CommandResult, arity},
    keyspace::{Keyspace, Now},
    resp::{Reply, parse_strict_i64},
};

/// A hash's fields, in the order they were first set.
#[derive(Debug, Clone, Default)]
pub(crate) struct HashFields(Vec<(Vec<u8>, Vec<u8>)>);

impl HashFields {
    /// The value of `field`.
    pub(crate) fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| value.as_slice())
    }

    /// Sets `field`; whether it is new.
    pub(crate) fn insert(&mut self, field: &[u8], value: Vec<u8>) -> bool {
        match self.0.iter_mut().find(|(name, _)| name == field) {
            Some((_, existing)) => {
                *existing = value;
                false
            }
            None => {
                self.0.push((field.to_vec(), value));
                true
            }
        }
    }

    /// The fields and values, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &(Vec<u8>, Vec<u8>)> {
        self.0.iter()
    }
}

/// `HSET key field value [field value ...]`: how many fields are new.
pub(crate) fn hset(keyspace: &mut Keyspace, args: &[Vec<u8>], now: Now) -> CommandResult {
    if !args.len().is_multiple_of(2) {
        return Err(arity("hset"));
    }
    let fields = keyspace.hash_or_create(&args[1], now)?;
    let added = args[2..]
        .chunks_exact(2)
        .filter(|pair| fields.insert(&pair[0], pair[1].clone()))
        .count();
    Ok(Reply::Integer(count(added)))
}

/// `HGET key field`.
pub(crate) fn hget(keyspace: &mut Keyspace, args: &[Vec<u8>], now: Now) -> CommandResult {
    let value = keyspace
        .hash(&args[1], now)?
        .and_then(|fields| fields.get(&args[2]));
    Ok(value.map_or(Reply::Nil, |value| Reply::Bulk(value.to_vec())))
}

/// `HGETALL key`: fields and values alternating.
pub(crate) fn hgetall(keyspace: &mut Keyspace, args: &[Vec<u8>], now: Now) -> CommandResult {
    let Some(fields) = keyspace.hash(&args[1], now)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let items = fields
        .iter()
        .flat_map(|(field, value)| [Reply::Bulk(field.clone()), Reply::Bulk(value.clone())])
        .collect();
    Ok(Reply::Array(items))
}

/// `HEXISTS key field`.
pub(crate) fn hexists(keyspace: &mut Keyspace, args: &[Vec<u8>], now: Now) -> CommandResult {
    let exists = keyspace
        .hash(&args[1], now)?
        .is_some_and(|fields| fields.get(&args[2]).is_some());
    Ok(Reply::Integer(i64::from(exists)))
}

/// `HINCRBY key field increment`: the new value.
pub(crate) fn hincrby(keyspace: &mut Keyspace, args: &[Vec<u8>], now: Now) -> CommandResult {
    // The increment is checked before the key, as Redis does.
    let increment = integer_argument(&args[3])?;
    let fields = keyspace.hash_or_create(&args[1], now)?;
    let current = match fields.get(&args[2]) {
        None => 0,
        Some(value) => std::str::from_utf8(value)
            .ok()
            .and_then(parse_strict_i64)
            .ok_or(CommandError::HashValueNotAnInteger)?,
    };
    let updated = current
        .checked_add(increment)
        .ok_or(CommandError::Overflow)?;
    fields.insert(&args[2], updated.to_string().into_bytes());
    Ok(Reply::Integer(updated))
}
