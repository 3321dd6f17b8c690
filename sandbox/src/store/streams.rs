//! Stream commands: `XADD` (with `NOMKSTREAM`, `MAXLEN`/`MINID` trimming and `*`, `ms-*` or
//! explicit ids), `XLEN`, `XRANGE` (with `-`, `+`, exclusive `(` bounds and `COUNT`) and
//! `XDEL`.
//!
//! Approximate trimming (`~`) trims exactly: Redis promises only that at least the asked number
//! of entries stays, and exact trimming keeps that promise.

use super::{
    commands::{count, integer_argument},
    error::{CommandError, CommandResult, arity},
    keyspace::{Keyspace, Now},
    resp::Reply,
    stream::{Fields, Stream, StreamId},
};

/// How `XADD` trims the stream after adding.
#[derive(Debug, Clone, Copy)]
enum Trim {
    MaxLen(usize),
    MinId(StreamId),
}

/// The id `XADD` was given.
#[derive(Debug, Clone, Copy)]
enum NewId {
    /// `*`: from the clock.
    Auto,
    /// `ms-*`: the next sequence within `ms`.
    AutoSeq(u64),
    /// A complete id.
    Exact(StreamId),
}

fn parse_new_id(arg: &[u8]) -> Result<NewId, CommandError> {
    if arg == b"*" {
        return Ok(NewId::Auto);
    }
    if let Some(ms) = arg.strip_suffix(b"-*") {
        let id = StreamId::parse(ms, 0).ok_or(CommandError::InvalidStreamId)?;
        if ms.contains(&b'-') {
            return Err(CommandError::InvalidStreamId);
        }
        return Ok(NewId::AutoSeq(id.ms));
    }
    let id = StreamId::parse(arg, 0).ok_or(CommandError::InvalidStreamId)?;
    if id == StreamId::MIN {
        return Err(CommandError::Other(
            "The ID specified in XADD must be greater than 0-0".into(),
        ));
    }
    Ok(NewId::Exact(id))
}

/// `XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] id field value ...`.
pub(crate) fn xadd(keyspace: &mut Keyspace, args: &[Vec<u8>], now: Now) -> CommandResult {
    let mut make_stream = true;
    let mut trim = None;
    let mut approximate = false;
    let mut limited = false;
    let mut at = 2;
    let new_id = loop {
        let Some(option) = args.get(at) else {
            return Err(arity("xadd"));
        };
        let more = args.len() - at - 1;
        match option.to_ascii_uppercase().as_slice() {
            b"NOMKSTREAM" => make_stream = false,
            upper @ (b"MAXLEN" | b"MINID") if more >= 1 => {
                if trim.is_some() {
                    return Err(CommandError::Other(
                        "syntax error, MAXLEN and MINID options at the same time are not compatible"
                            .into(),
                    ));
                }
                let mut threshold = &args[at + 1];
                if (threshold == b"~" || threshold == b"=") && more >= 2 {
                    approximate = threshold == b"~";
                    at += 1;
                    threshold = &args[at + 1];
                }
                trim = Some(if upper == b"MAXLEN" {
                    let max_len = integer_argument(threshold)?;
                    let max_len = usize::try_from(max_len).map_err(|_| {
                        CommandError::Other("The MAXLEN argument must be >= 0.".into())
                    })?;
                    Trim::MaxLen(max_len)
                } else {
                    Trim::MinId(StreamId::parse(threshold, 0).ok_or(CommandError::InvalidStreamId)?)
                });
                at += 1;
            }
            b"LIMIT" if more >= 1 => {
                if integer_argument(&args[at + 1])? < 0 {
                    return Err(CommandError::Other(
                        "The LIMIT argument must be >= 0.".into(),
                    ));
                }
                limited = true;
                at += 1;
            }
            _ => break parse_new_id(option)?,
        }
        at += 1;
    };
    if limited && !approximate {
        return Err(CommandError::Other(
            "syntax error, LIMIT cannot be used without the special ~ option".into(),
        ));
    }
    let values = &args[at + 1..];
    if values.is_empty() || !values.len().is_multiple_of(2) {
        return Err(arity("xadd"));
    }
    let fields: Fields = values
        .chunks_exact(2)
        .map(|pair| (pair[0].clone(), pair[1].clone()))
        .collect();

    let key = &args[1];
    let mut created = None;
    let stream = match keyspace.stream_mut(key, now)? {
        Some(stream) => stream,
        None if !make_stream => return Ok(Reply::Nil),
        None => created.insert(Stream::default()),
    };
    let id = assign_id(stream, new_id, now)?;
    stream.append(id, fields);
    match trim {
        Some(Trim::MaxLen(max_len)) => stream.trim_to_len(max_len),
        Some(Trim::MinId(min_id)) => stream.trim_below(min_id),
        None => 0,
    };
    if let Some(stream) = created {
        keyspace.insert_stream(key, stream);
    }
    Ok(Reply::Bulk(id.to_string().into_bytes()))
}

/// The id a new entry gets, checked against the stream's last one.
fn assign_id(stream: &Stream, new_id: NewId, now: Now) -> Result<StreamId, CommandError> {
    let top = stream.last_id();
    let too_small = || {
        CommandError::Other(
            "The ID specified in XADD is equal or smaller than the target stream top item".into(),
        )
    };
    match new_id {
        NewId::Auto => stream.next_auto_id(now.unix_ms).ok_or_else(|| {
            CommandError::Other(
                "The stream has exhausted the last possible ID, unable to add more items".into(),
            )
        }),
        NewId::AutoSeq(ms) if ms == top.ms => {
            let seq = top.seq.checked_add(1).ok_or_else(too_small)?;
            Ok(StreamId { ms, seq })
        }
        NewId::AutoSeq(ms) if ms > top.ms => Ok(StreamId { ms, seq: 0 }),
        NewId::AutoSeq(_) => Err(too_small()),
        NewId::Exact(id) if id > top => Ok(id),
        NewId::Exact(_) => Err(too_small()),
    }
}

/// `XLEN key`.
pub(crate) fn xlen(keyspace: &mut Keyspace, args: &[Vec<u8>], now: Now) -> CommandResult {
    let len = keyspace.stream(&args[1], now)?.map_or(0, Stream::len);
    Ok(Reply::Integer(count(len)))
}

/// Which end of an `XRANGE` interval a bound is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Start,
    Finish,
}

/// Reads a range bound: `-`, `+`, an id (`ms` alone covers the whole millisecond), or `(id`.
fn parse_bound(arg: &[u8], end: End) -> Result<StreamId, CommandError> {
    match arg {
        b"-" => return Ok(StreamId::MIN),
        b"+" => return Ok(StreamId::MAX),
        _ => {}
    }
    let missing_seq = if end == End::Start { 0 } else { u64::MAX };
    let Some(exclusive) = arg.strip_prefix(b"(") else {
        return StreamId::parse(arg, missing_seq).ok_or(CommandError::InvalidStreamId);
    };
    let id = StreamId::parse(exclusive, missing_seq).ok_or(CommandError::InvalidStreamId)?;
    match end {
        End::Start => id
            .successor()
            .ok_or_else(|| CommandError::Other("invalid start ID for the interval".into())),
        End::Finish => id
            .predecessor()
            .ok_or_else(|| CommandError::Other("invalid end ID for the interval".into())),
    }
}

/// `XRANGE key start end [COUNT count]`: entries as `[id, [field, value, ...]]`.
pub(crate) fn xrange(keyspace: &mut Keyspace, args: &[Vec<u8>], now: Now) -> CommandResult {
    let start = parse_bound(&args[2], End::Start)?;
    let finish = parse_bound(&args[3], End::Finish)?;
    let mut limit = None;
    let mut options = args[4..].iter();
    while let Some(option) = options.next() {
        match (option.eq_ignore_ascii_case(b"COUNT"), options.next()) {
            (true, Some(amount)) => {
                limit = Some(usize::try_from(integer_argument(amount)?).unwrap_or(0))
            }
            _ => return Err(CommandError::Syntax),
        }
    }

    let Some(stream) = keyspace.stream(&args[1], now)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    if limit == Some(0) {
        return Ok(Reply::NilArray);
    }
    let entries = stream
        .range(start, finish, limit)
        .into_iter()
        .map(|(id, fields)| {
            let flat = fields
                .iter()
                .flat_map(|(field, value)| [Reply::Bulk(field.clone()), Reply::Bulk(value.clone())])
                .collect();
            Reply::Array(vec![
                Reply::Bulk(id.to_string().into_bytes()),
                Reply::Array(flat),
            ])
        })
        .collect();
    Ok(Reply::Array(entries))
}

/// `XDEL key id [id ...]`: how many entries were removed. Every id is checked before any is
/// removed, so a bad one leaves the stream untouched.
pub(crate) fn xdel(keyspace: &mut Keyspace, args: &[Vec<u8>], now: Now) -> CommandResult {
    let ids = args[2..]
        .iter()
        .map(|arg| StreamId::parse(arg, 0).ok_or(CommandError::InvalidStreamId))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(stream) = keyspace.stream_mut(&args[1], now)? else {
        return Ok(Reply::Integer(0));
    };
    let removed = ids.into_iter().filter(|id| stream.remove(*id)).count();
    Ok(Reply::Integer(count(removed)))
}
