//! The command table: which commands the store serves, their arity (Redis's convention: `n`
//! exactly, `-n` at least), and the connection chatter a client sends on connecting.
//!
//! Anything else is answered with Redis's `ERR unknown command` line, never a panic.

use super::{
    error::{CommandError, CommandResult, arity},
    hashes, keys,
    keyspace::{Keyspace, Now},
    resp::{Reply, parse_strict_i64},
    scripts::{self, ScriptCache},
    streams, strings,
};

/// Everything the store holds: the keys and the loaded scripts.
#[derive(Debug, Default)]
pub(crate) struct Store {
    /// The one database.
    pub(crate) keyspace: Keyspace,
    /// The scripts loaded so far.
    pub(crate) scripts: ScriptCache,
}

/// A command on keys, which scripts may call too.
type DataCommand = fn(&mut Keyspace, &[Vec<u8>], Now) -> CommandResult;

/// What runs a command.
#[derive(Clone, Copy)]
enum Handler {
    /// Reads or writes keys.
    Data(DataCommand),
    /// Runs or manages scripts.
    Script,
    /// Needs no data: greetings and connection settings.
    Connection(fn(&[Vec<u8>]) -> CommandResult),
}

/// The commands the store serves, with their arity.
const COMMANDS: &[(&str, i32, Handler)] = &[
    ("GET", 2, Handler::Data(strings::get)),
    ("SET", -3, Handler::Data(strings::set)),
    ("DEL", -2, Handler::Data(keys::del)),
    ("EXISTS", -2, Handler::Data(keys::exists)),
    ("EXPIRE", -3, Handler::Data(keys::expire)),
    ("PEXPIRE", -3, Handler::Data(keys::pexpire)),
    ("PERSIST", 2, Handler::Data(keys::persist)),
    ("TTL", 2, Handler::Data(keys::ttl)),
    ("PTTL", 2, Handler::Data(keys::pttl)),
    ("HSET", -4, Handler::Data(hashes::hset)),
    ("HGET", 3, Handler::Data(hashes::hget)),
    ("HGETALL", 2, Handler::Data(hashes::hgetall)),
    ("HINCRBY", 4, Handler::Data(hashes::hincrby)),
    ("HEXISTS", 3, Handler::Data(hashes::hexists)),
    ("XADD", -5, Handler::Data(streams::xadd)),
    ("XLEN", 2, Handler::Data(streams::xlen)),
    ("XRANGE", -4, Handler::Data(streams::xrange)),
    ("XDEL", -3, Handler::Data(streams::xdel)),
    ("EVAL", -3, Handler::Script),
    ("EVALSHA", -3, Handler::Script),
    ("SCRIPT", -2, Handler::Script),
    ("PING", -1, Handler::Connection(ping)),
    ("QUIT", -1, Handler::Connection(ok)),
    ("SELECT", 2, Handler::Connection(select)),
    ("CLIENT", -2, Handler::Connection(client)),
    ("HELLO", -1, Handler::Connection(hello)),
    ("AUTH", -2, Handler::Connection(auth)),
];

/// Finds `args[0]` in the table and checks the argument count.
fn lookup(args: &[Vec<u8>]) -> Result<(&'static str, Handler), CommandError> {
    let name = args.first().map(Vec::as_slice).unwrap_or_default();
    let Some(&(command, expected, handler)) = COMMANDS
        .iter()
        .find(|(command, _, _)| name.eq_ignore_ascii_case(command.as_bytes()))
    else {
        return Err(unknown_command(args));
    };
    let given = i32::try_from(args.len()).unwrap_or(i32::MAX);
    let fits = if expected >= 0 {
        given == expected
    } else {
        given >= -expected
    };
    if !fits {
        return Err(arity(command));
    }
    Ok((command, handler))
}

/// Runs one request against the store.
pub(crate) fn execute(store: &mut Store, args: &[Vec<u8>], now: Now) -> Reply {
    let result = lookup(args).and_then(|(command, handler)| match handler {
        Handler::Data(run) => run(&mut store.keyspace, args, now),
        Handler::Connection(run) => run(args),
        Handler::Script => match command {
            "EVAL" => scripts::eval(&mut store.keyspace, &mut store.scripts, args, now),
            "EVALSHA" => scripts::evalsha(&mut store.keyspace, &store.scripts, args, now),
            _ => scripts::script(&mut store.scripts, args),
        },
    });
    result.unwrap_or_else(Reply::from)
}

/// Runs a data command on behalf of a script, as `redis.call` does.
pub(crate) fn call(keyspace: &mut Keyspace, args: &[Vec<u8>], now: Now) -> CommandResult {
    match lookup(args)? {
        (_, Handler::Data(run)) => run(keyspace, args, now),
        _ => Err(CommandError::Other(
            "This Redis command is not allowed from script".into(),
        )),
    }
}

/// Redis's answer to a command it does not have: the name and the first arguments, quoted.
fn unknown_command(args: &[Vec<u8>]) -> CommandError {
    let quoted = |arg: &Vec<u8>| {
        let shown = &arg[..arg.len().min(128)];
        String::from_utf8_lossy(shown).into_owned()
    };
    CommandError::UnknownCommand {
        name: args.first().map(quoted).unwrap_or_default(),
        args: args[1.min(args.len())..]
            .iter()
            .take(16)
            .map(|arg| format!("'{}' ", quoted(arg)))
            .collect(),
    }
}

/// An argument that must be an integer in Redis's canonical form.
pub(crate) fn integer_argument(arg: &[u8]) -> Result<i64, CommandError> {
    std::str::from_utf8(arg)
        .ok()
        .and_then(parse_strict_i64)
        .ok_or(CommandError::NotAnInteger)
}

/// A count as a reply integer.
pub(crate) fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `PING [message]`.
fn ping(args: &[Vec<u8>]) -> CommandResult {
    match args {
        [_] => Ok(Reply::Status("PONG")),
        [_, message] => Ok(Reply::Bulk(message.clone())),
        _ => Err(arity("ping")),
    }
}

fn ok(_: &[Vec<u8>]) -> CommandResult {
    Ok(Reply::OK)
}

/// `SELECT index`: only database 0 exists here; another index is refused rather than silently
/// sharing one keyspace.
fn select(args: &[Vec<u8>]) -> CommandResult {
    match integer_argument(&args[1])? {
        0 => Ok(Reply::OK),
        _ => Err(CommandError::Other("DB index is out of range".into())),
    }
}

/// `CLIENT SETINFO` and `CLIENT SETNAME`, which clients send on connecting. Accepted and
/// forgotten: nothing here reads them back.
fn client(args: &[Vec<u8>]) -> CommandResult {
    let subcommand = args[1].to_ascii_uppercase();
    match subcommand.as_slice() {
        b"SETINFO" if args.len() == 4 => {
            let attribute = args[2].to_ascii_uppercase();
            if attribute == b"LIB-NAME" || attribute == b"LIB-VER" {
                Ok(Reply::OK)
            } else {
                Err(CommandError::Other(format!(
                    "Unrecognized option '{}'",
                    String::from_utf8_lossy(&args[2])
                )))
            }
        }
        b"SETINFO" => Err(arity("client|setinfo")),
        b"SETNAME" if args.len() == 3 => {
            if args[2].iter().any(|byte| !(b'!'..=b'~').contains(byte)) {
                Err(CommandError::Other(
                    "Client names cannot contain spaces, newlines or special characters.".into(),
                ))
            } else {
                Ok(Reply::OK)
            }
        }
        b"SETNAME" => Err(arity("client|setname")),
        _ => Err(CommandError::UnknownSubcommand {
            command: "CLIENT",
            subcommand: String::from_utf8_lossy(&args[1]).into_owned(),
        }),
    }
}

/// `HELLO`: refused, so a client stays on RESP2, the only protocol spoken here.
fn hello(_: &[Vec<u8>]) -> CommandResult {
    Err(CommandError::NoProto)
}

/// `AUTH`: there is no password, as on a Redis without one.
fn auth(args: &[Vec<u8>]) -> CommandResult {
    match args {
        [_, _] => Err(CommandError::Other(
            "AUTH <password> called without any password configured for the default user. \
             Are you sure your configuration is correct?"
                .into(),
        )),
        [_, user, _] if user == b"default" => Ok(Reply::OK),
        [_, _, _] => Err(CommandError::WrongPass),
        _ => Err(CommandError::Syntax),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(store: &mut Store, args: &[&[u8]]) -> Reply {
        let args: Vec<Vec<u8>> = args.iter().map(|arg| arg.to_vec()).collect();
        execute(store, &args, Now::current())
    }

    #[test]
    fn arity_follows_the_table_and_names_the_command_in_lowercase() {
        let mut store = Store::default();
        assert_eq!(
            run(&mut store, &[b"gEt"]),
            Reply::Error("ERR wrong number of arguments for 'get' command".into())
        );
        assert_eq!(run(&mut store, &[b"ping"]), Reply::Status("PONG"));
        assert_eq!(
            run(&mut store, &[b"FLUSHALL", b"a"]),
            Reply::Error("ERR unknown command 'FLUSHALL', with args beginning with: 'a' ".into())
        );
    }

    #[test]
    fn no_combination_of_arguments_panics() {
        // Every command with up to seven arguments drawn from values that hit edge cases,
        // against keys of each type: every answer is a reply, whatever it says.
        let values: [&[u8]; 22] = [
            b"",
            b"0",
            b"-1",
            b"1",
            b"2",
            b"*",
            b"-",
            b"+",
            b"(1",
            b"(-",
            b"1-*",
            b"k",
            b"h",
            b"s",
            b"NX",
            b"PX",
            b"~",
            b"MAXLEN",
            b"COUNT",
            b"LIMIT",
            b"99999999999999999999",
            b"\xff\x00",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % u64::try_from(bound).unwrap()).unwrap()
        };
        for (name, _, _) in COMMANDS {
            let mut store = Store::default();
            run(&mut store, &[b"SET", b"k", b"v"]);
            run(&mut store, &[b"HSET", b"h", b"f", b"1"]);
            run(&mut store, &[b"XADD", b"s", b"*", b"f", b"v"]);
            for _ in 0..3_000 {
                let mut args = vec![name.as_bytes().to_vec()];
                for _ in 0..next(8) {
                    args.push(values[next(values.len())].to_vec());
                }
                let _ = execute(&mut store, &args, Now::current());
            }
        }

        // The native scripts, with too few, too many and odd keys and arguments.
        let sources = [
            fulfillment::store::lock::LOCK_ACQUIRE_SCRIPT,
            fulfillment::store::lock::LOCK_RELEASE_SCRIPT,
            fulfillment::store::journal::JOURNAL_WRITE_SCRIPT,
            ingest::lease::LEASE_ACQUIRE_SCRIPT,
            ingest::lease::LEASE_RENEW_SCRIPT,
            ingest::cursor::CURSOR_WRITE_SCRIPT,
        ];
        let mut store = Store::default();
        for _ in 0..20_000 {
            let extra = next(7);
            let mut args = vec![
                b"EVAL".to_vec(),
                sources[next(sources.len())].as_bytes().to_vec(),
                next(extra + 1).to_string().into_bytes(),
            ];
            for _ in 0..extra {
                args.push(values[next(values.len())].to_vec());
            }
            let _ = execute(&mut store, &args, Now::current());
        }
    }
}
