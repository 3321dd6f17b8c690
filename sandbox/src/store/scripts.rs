//! `EVAL`, `EVALSHA` and `SCRIPT` without Lua: the product sends exactly eight scripts (six
//! distinct sources, since the lock and the lease renew and release the same way), and each
//! is implemented here in Rust, recognised by the SHA1 of its exact source text.
//!
//! Each native script makes the same calls, in the same order, as its Lua source, through the
//! same command code clients reach, and runs under the store's lock as a whole: it is as
//! atomic as a Lua script in Redis, and fails the same way where the Lua would (a `WRONGTYPE`
//! key, a bad number), keeping the writes made before the failure as Redis does.
//!
//! The script cache behaves like Redis's: `EVALSHA` answers `NOSCRIPT` until the script was
//! loaded (by `SCRIPT LOAD` or `EVAL`), and `SCRIPT FLUSH` forgets them all, so the `redis`
//! client's reload-and-retry path runs here too.

use std::{
    collections::{HashMap, HashSet},
    fmt::Write as _,
    sync::LazyLock,
};

use sha1::{Digest, Sha1};

use super::{
    commands::{call, integer_argument},
    error::{CommandError, CommandResult, arity},
    keyspace::{Keyspace, Now},
    resp::Reply,
};

/// A script the store runs natively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Native {
    /// `LOCK_ACQUIRE_SCRIPT`.
    LockAcquire,
    /// `LOCK_RENEW_SCRIPT` and `LEASE_RENEW_SCRIPT` (one source).
    RenewIfHeld,
    /// `LOCK_RELEASE_SCRIPT` and `LEASE_RELEASE_SCRIPT` (one source).
    ReleaseIfHeld,
    /// `JOURNAL_WRITE_SCRIPT`.
    JournalWrite,
    /// `LEASE_ACQUIRE_SCRIPT`.
    LeaseAcquire,
    /// `CURSOR_WRITE_SCRIPT`.
    CursorWrite,
}

/// The product's scripts by the SHA1 hex of their source.
static NATIVE_SCRIPTS: LazyLock<HashMap<String, Native>> = LazyLock::new(|| {
    use fulfillment::store::{journal, lock};
    use ingest::{cursor, lease};
    [
        (lock::LOCK_ACQUIRE_SCRIPT, Native::LockAcquire),
        (lock::LOCK_RENEW_SCRIPT, Native::RenewIfHeld),
        (lock::LOCK_RELEASE_SCRIPT, Native::ReleaseIfHeld),
        (journal::JOURNAL_WRITE_SCRIPT, Native::JournalWrite),
        (lease::LEASE_ACQUIRE_SCRIPT, Native::LeaseAcquire),
        (lease::LEASE_RENEW_SCRIPT, Native::RenewIfHeld),
        (lease::LEASE_RELEASE_SCRIPT, Native::ReleaseIfHeld),
        (cursor::CURSOR_WRITE_SCRIPT, Native::CursorWrite),
    ]
    .into_iter()
    .map(|(source, native)| (sha1_hex(source.as_bytes()), native))
    .collect()
});

/// The SHA1 of `source` in lowercase hex, as Redis names scripts.
pub(crate) fn sha1_hex(source: &[u8]) -> String {
    Sha1::digest(source)
        .iter()
        .fold(String::with_capacity(40), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// The SHA1s of the scripts loaded so far.
#[derive(Debug, Default)]
pub(crate) struct ScriptCache {
    loaded: HashSet<String>,
}

impl ScriptCache {
    /// Loads `source` if it is one of the product's scripts; its SHA1 and what runs it.
    fn load(&mut self, source: &[u8]) -> Result<(String, Native), CommandError> {
        let sha1 = sha1_hex(source);
        let native = *NATIVE_SCRIPTS
            .get(&sha1)
            .ok_or_else(|| CommandError::UnsupportedScript { sha1: sha1.clone() })?;
        self.loaded.insert(sha1.clone());
        Ok((sha1, native))
    }
}

/// `EVAL script numkeys [key ...] [arg ...]`.
pub(crate) fn eval(
    keyspace: &mut Keyspace,
    cache: &mut ScriptCache,
    args: &[Vec<u8>],
    now: Now,
) -> CommandResult {
    let (keys, argv) = split_keys(args)?;
    let (_, native) = cache.load(&args[1])?;
    run(native, keyspace, keys, argv, now)
}

/// `EVALSHA sha1 numkeys [key ...] [arg ...]`.
pub(crate) fn evalsha(
    keyspace: &mut Keyspace,
    cache: &ScriptCache,
    args: &[Vec<u8>],
    now: Now,
) -> CommandResult {
    let sha1 = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    if !cache.loaded.contains(&sha1) {
        return Err(CommandError::NoScript);
    }
    let native = *NATIVE_SCRIPTS.get(&sha1).ok_or(CommandError::NoScript)?;
    let (keys, argv) = split_keys(args)?;
    run(native, keyspace, keys, argv, now)
}

/// A script's `KEYS` and `ARGV`.
type KeysAndArgs<'a> = (&'a [Vec<u8>], &'a [Vec<u8>]);

/// Splits the arguments after `numkeys` into keys and script arguments.
fn split_keys(args: &[Vec<u8>]) -> Result<KeysAndArgs<'_>, CommandError> {
    let numkeys = integer_argument(&args[2])?;
    let rest = &args[3..];
    let numkeys = usize::try_from(numkeys)
        .map_err(|_| CommandError::Other("Number of keys can't be negative".into()))?;
    if numkeys > rest.len() {
        return Err(CommandError::Other(
            "Number of keys can't be greater than number of args".into(),
        ));
    }
    Ok(rest.split_at(numkeys))
}

/// `SCRIPT LOAD|EXISTS|FLUSH ...`.
pub(crate) fn script(cache: &mut ScriptCache, args: &[Vec<u8>]) -> CommandResult {
    let subcommand = args[1].to_ascii_uppercase();
    match subcommand.as_slice() {
        b"LOAD" if args.len() == 3 => Ok(Reply::Bulk(cache.load(&args[2])?.0.into_bytes())),
        b"LOAD" => Err(arity("script|load")),
        b"EXISTS" if args.len() >= 3 => Ok(Reply::Array(
            args[2..]
                .iter()
                .map(|sha1| {
                    let sha1 = String::from_utf8_lossy(sha1).to_ascii_lowercase();
                    Reply::Integer(i64::from(cache.loaded.contains(&sha1)))
                })
                .collect(),
        )),
        b"EXISTS" => Err(arity("script|exists")),
        b"FLUSH" => match args.get(2).map(|mode| mode.to_ascii_uppercase()) {
            None if args.len() == 2 => flush(cache),
            Some(mode) if args.len() == 3 && (mode == b"SYNC" || mode == b"ASYNC") => flush(cache),
            _ => Err(CommandError::Other(
                "SCRIPT FLUSH only support SYNC|ASYNC option".into(),
            )),
        },
        _ => Err(CommandError::UnknownSubcommand {
            command: "SCRIPT",
            subcommand: String::from_utf8_lossy(&args[1]).into_owned(),
        }),
    }
}

fn flush(cache: &mut ScriptCache) -> CommandResult {
    cache.loaded.clear();
    Ok(Reply::OK)
}

/// The error Lua raises when a script passes a missing `KEYS` or `ARGV` element to a call.
fn missing_argument() -> CommandError {
    CommandError::Other("Lua redis lib command arguments must be strings or integers".into())
}

/// The script argument list as Lua sees it (1-based `KEYS[n]` is `nth(keys, n)`).
fn nth(list: &[Vec<u8>], n: usize) -> Result<&[u8], CommandError> {
    n.checked_sub(1)
        .and_then(|index| list.get(index))
        .map(Vec::as_slice)
        .ok_or_else(missing_argument)
}

/// One `redis.call` from a script.
fn redis_call(keyspace: &mut Keyspace, now: Now, args: &[&[u8]]) -> CommandResult {
    let args: Vec<Vec<u8>> = args.iter().map(|arg| arg.to_vec()).collect();
    call(keyspace, &args, now)
}

/// The integer a call answered (the calls made here answer only integers where this is used).
fn integer(reply: Reply) -> Result<i64, CommandError> {
    match reply {
        Reply::Integer(value) => Ok(value),
        other => Err(CommandError::Other(format!(
            "a script expected an integer and got {other:?}"
        ))),
    }
}

/// Whether a `GET` reply equals `expected`, as Lua compares `redis.call('GET', …) == ARGV[n]`
/// (a missing key is `false`, which equals no string).
fn holds(reply: &Reply, expected: &[u8]) -> bool {
    matches!(reply, Reply::Bulk(value) if value == expected)
}

fn run(
    native: Native,
    keyspace: &mut Keyspace,
    keys: &[Vec<u8>],
    argv: &[Vec<u8>],
    now: Now,
) -> CommandResult {
    let ks = keyspace;
    match native {
        Native::LockAcquire => {
            let (lock, journal) = (nth(keys, 1)?, nth(keys, 2)?);
            if integer(redis_call(ks, now, &[b"EXISTS", lock])?)? == 1 {
                return Ok(Reply::Integer(0));
            }
            let fence = integer(redis_call(ks, now, &[b"HINCRBY", journal, b"fence", b"1"])?)?;
            if integer(redis_call(ks, now, &[b"HEXISTS", journal, b"state"])?)? == 0 {
                redis_call(ks, now, &[b"EXPIRE", journal, nth(argv, 3)?])?;
            }
            let value = [nth(argv, 1)?, b":", fence.to_string().as_bytes()].concat();
            redis_call(ks, now, &[b"SET", lock, &value, b"PX", nth(argv, 2)?])?;
            Ok(Reply::Integer(fence))
        }
        Native::RenewIfHeld => {
            let key = nth(keys, 1)?;
            if holds(&redis_call(ks, now, &[b"GET", key])?, nth(argv, 1)?) {
                return redis_call(ks, now, &[b"PEXPIRE", key, nth(argv, 2)?]);
            }
            Ok(Reply::Integer(0))
        }
        Native::ReleaseIfHeld => {
            let key = nth(keys, 1)?;
            if holds(&redis_call(ks, now, &[b"GET", key])?, nth(argv, 1)?) {
                return redis_call(ks, now, &[b"DEL", key]);
            }
            Ok(Reply::Integer(0))
        }
        Native::JournalWrite => journal_write(ks, keys, argv, now),
        Native::LeaseAcquire => lease_acquire(ks, keys, argv, now),
        Native::CursorWrite => {
            let (leader, cursor, meta) = (nth(keys, 1)?, nth(keys, 2)?, nth(keys, 3)?);
            if !holds(&redis_call(ks, now, &[b"GET", leader])?, nth(argv, 1)?) {
                return Ok(Reply::Integer(0));
            }
            redis_call(ks, now, &[b"SET", cursor, nth(argv, 2)?])?;
            let (written_at, epoch) = (nth(argv, 3)?, nth(argv, 4)?);
            redis_call(
                ks,
                now,
                &[b"HSET", meta, b"written_at_ms", written_at, b"epoch", epoch],
            )?;
            Ok(Reply::Integer(1))
        }
    }
}

fn journal_write(ks: &mut Keyspace, keys: &[Vec<u8>], argv: &[Vec<u8>], now: Now) -> CommandResult {
    let (lock, journal) = (nth(keys, 1)?, nth(keys, 2)?);
    if !holds(&redis_call(ks, now, &[b"GET", lock])?, nth(argv, 1)?) {
        return Ok(Reply::Integer(0));
    }
    if !holds(
        &redis_call(ks, now, &[b"HGET", journal, b"fence"])?,
        nth(argv, 2)?,
    ) {
        return Ok(Reply::Integer(0));
    }
    // `unpack(ARGV, 4)`: every argument from the fourth on, however many there are.
    let mut hset: Vec<&[u8]> = vec![b"HSET", journal];
    hset.extend(argv.iter().skip(3).map(Vec::as_slice));
    redis_call(ks, now, &hset)?;
    let retention = nth(argv, 3)?;
    if retention != b"0" {
        redis_call(ks, now, &[b"EXPIRE", journal, retention])?;
    } else {
        redis_call(ks, now, &[b"PERSIST", journal])?;
    }
    Ok(Reply::Integer(1))
}

fn lease_acquire(ks: &mut Keyspace, keys: &[Vec<u8>], argv: &[Vec<u8>], now: Now) -> CommandResult {
    let (leader, meta) = (nth(keys, 1)?, nth(keys, 2)?);
    let (instance, ttl_ms) = (nth(argv, 1)?, nth(argv, 2)?);
    let Reply::Bulk(current) = redis_call(ks, now, &[b"GET", leader])? else {
        let epoch = integer(redis_call(
            ks,
            now,
            &[b"HINCRBY", meta, b"lease_epoch", b"1"],
        )?)?;
        let value = [instance, b":", epoch.to_string().as_bytes()].concat();
        redis_call(ks, now, &[b"SET", leader, &value, b"PX", ttl_ms])?;
        return Ok(Reply::Integer(epoch));
    };
    let prefix = [instance, b":"].concat();
    let Some(rest) = current.strip_prefix(prefix.as_slice()) else {
        return Ok(Reply::Integer(0));
    };
    redis_call(ks, now, &[b"PEXPIRE", leader, ttl_ms])?;
    Ok(lua_tonumber(rest).map_or(Reply::Nil, Reply::Integer))
}

/// Lua 5.1's `tonumber` on a string, converted to a reply as Redis converts a Lua number: a
/// double, truncated to an integer; `nil` (a nil reply) when the text is not a number.
fn lua_tonumber(text: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(text).ok()?.trim();
    let number = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok()? as f64,
        None => {
            // Rust also reads words like `inf` and `NaN`; Lua's reader on Redis's build does
            // not produce them from the epochs written here, so they count as not a number.
            if text
                .bytes()
                .any(|byte| byte.is_ascii_alphabetic() && byte != b'e' && byte != b'E')
            {
                return None;
            }
            text.parse::<f64>().ok()?
        }
    };
    number.is_finite().then_some(number as i64)
}

/// How many of the product's scripts the store knows by SHA1 (distinct sources).
#[cfg(test)]
fn known() -> usize {
    NATIVE_SCRIPTS.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eight_scripts_are_six_sources_and_load_by_their_sha1() {
        assert_eq!(known(), 6);
        let mut cache = ScriptCache::default();
        let reply = script(
            &mut cache,
            &[
                b"SCRIPT".to_vec(),
                b"LOAD".to_vec(),
                ingest::cursor::CURSOR_WRITE_SCRIPT.into(),
            ],
        )
        .unwrap();
        let Reply::Bulk(sha1) = reply else {
            panic!("{reply:?}")
        };
        assert_eq!(sha1.len(), 40);
        assert!(cache.loaded.contains(&String::from_utf8(sha1).unwrap()));
    }

    #[test]
    fn sha1_matches_the_known_digest() {
        // The digest Redis answers to `SCRIPT LOAD return`.
        assert_eq!(
            sha1_hex(b"return"),
            "63143b6f8007b98c53ca2149822777b3566f9241"
        );
    }

    #[test]
    fn other_sources_are_unsupported_by_name() {
        let mut cache = ScriptCache::default();
        let error = cache.load(b"return 1").unwrap_err();
        assert!(error.to_string().contains("unsupported script"), "{error}");
        assert!(
            error.to_string().contains(&sha1_hex(b"return 1")),
            "{error}"
        );
    }

    #[test]
    fn tonumber_reads_what_lua_reads() {
        assert_eq!(lua_tonumber(b"12"), Some(12));
        assert_eq!(lua_tonumber(b" 007 "), Some(7));
        assert_eq!(lua_tonumber(b"1.9"), Some(1));
        assert_eq!(lua_tonumber(b"0x10"), Some(16));
        assert_eq!(lua_tonumber(b"1e3"), Some(1000));
        for bad in [&b""[..], b"abc", b"1:2", b"inf", b"nan"] {
            assert_eq!(lua_tonumber(bad), None, "{bad:?}");
        }
    }
}
