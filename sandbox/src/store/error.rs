//! The errors a command answers with. Each one's text is the exact RESP error line Redis sends
//! (code first), so the `redis` client classifies it the same way (`WRONGTYPE`, `NOSCRIPT`, …).

use super::resp::Reply;

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CommandError {
    /// The key holds a value of another type.
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    /// Too few or too many arguments; holds the command's lowercase name.
    #[error("ERR wrong number of arguments for '{0}' command")]
    Arity(String),
    /// An argument that should be an integer is not one.
    #[error("ERR value is not an integer or out of range")]
    NotAnInteger,
    /// Options that do not fit together or are not known.
    #[error("ERR syntax error")]
    Syntax,
    /// A time to live out of range; holds the command's lowercase name.
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpireTime(String),
    /// A hash field that `HINCRBY` cannot treat as an integer.
    #[error("ERR hash value is not an integer")]
    HashValueNotAnInteger,
    /// `HINCRBY` past the range of a 64-bit integer.
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    /// A stream id that cannot be read.
    #[error("ERR Invalid stream ID specified as stream command argument")]
    InvalidStreamId,
    /// A command Redis does not have (or the store does not serve), with its first arguments.
    #[error("ERR unknown command '{name}', with args beginning with: {args}")]
    UnknownCommand {
        /// The command as sent.
        name: String,
        /// Its first arguments, each quoted and followed by a space, as Redis lists them.
        args: String,
    },
    /// A subcommand the command does not have.
    #[error("ERR unknown subcommand '{subcommand}'. Try {command} HELP.")]
    UnknownSubcommand {
        /// The command, uppercase.
        command: &'static str,
        /// The subcommand as sent.
        subcommand: String,
    },
    /// `EVALSHA` of a script that was never loaded (or was flushed).
    #[error("NOSCRIPT No matching script. Please use EVAL.")]
    NoScript,
    /// A script source that is not one of the product's scripts.
    #[error(
        "ERR unsupported script {sha1}: the embedded store runs only the product's own scripts"
    )]
    UnsupportedScript {
        /// The SHA1 of the source that was sent.
        sha1: String,
    },
    /// `HELLO`: only RESP2 is spoken.
    #[error("NOPROTO this store speaks RESP2 only")]
    NoProto,
    /// `AUTH` with a user and password that do not match.
    #[error("WRONGPASS invalid username-password pair or user is disabled.")]
    WrongPass,
    /// Any other refusal; the text follows `ERR `.
    #[error("ERR {0}")]
    Other(String),
}

impl From<CommandError> for Reply {
    fn from(error: CommandError) -> Self {
        Reply::Error(error.to_string())
    }
}

/// What a command answers: a reply, or an error that becomes one.
pub(crate) type CommandResult = Result<Reply, CommandError>;

/// The arity error for `name`.
pub(crate) fn arity(name: &str) -> CommandError {
    CommandError::Arity(name.to_ascii_lowercase())
}
