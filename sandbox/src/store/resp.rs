//! RESP2 on the wire: reading requests (multibulk arrays of bulk strings, or inline lines) out
//! of a connection's buffer, and writing replies.
//!
//! The parser never trusts a length it reads: it checks each against Redis's own limits before
//! using it, allocates only for bytes that have actually arrived, and reports a typed
//! [`ProtocolError`] for anything malformed, after which the connection answers the error and
//! closes, as Redis does.

use std::fmt::Write as _;

/// The most arguments one request may carry (Redis's `INT_MAX` is far beyond any real client).
const MAX_ARGUMENTS: i64 = 1024 * 1024;
/// The longest bulk string Redis accepts by default (`proto-max-bulk-len`, 512 MiB).
const MAX_BULK_LEN: i64 = 512 * 1024 * 1024;
/// The longest header or inline line before the request is refused (Redis's 64 KiB).
const MAX_LINE: usize = 64 * 1024;

/// Why a request could not be read. The text is what Redis answers after `ERR `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ProtocolError {
    /// `*` followed by something that is not a count in range.
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// `$` followed by something that is not a length in range.
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// An element of a multibulk request that is not a bulk string.
    #[error("Protocol error: expected '$', got '{0}'")]
    ExpectedBulk(char),
    /// A bulk string not followed by CRLF.
    #[error("Protocol error: expected CRLF after a bulk string")]
    MissingCrlf,
    /// A header line that never ends.
    #[error("Protocol error: too big count string")]
    LineTooLong,
    /// An inline request line that never ends.
    #[error("Protocol error: too big inline request")]
    InlineTooLong,
}

/// One parsed request: its arguments, and how many bytes of the buffer it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    /// The command name and its arguments; empty for an empty line or `*0`, which Redis ignores.
    pub(crate) args: Vec<Vec<u8>>,
    /// How many bytes to drop from the front of the buffer.
    pub(crate) consumed: usize,
}

/// Reads the first complete request in `buf`. `Ok(None)` means more bytes are needed.
pub(crate) fn parse_request(buf: &[u8]) -> Result<Option<Request>, ProtocolError> {
    match buf.first() {
        None => Ok(None),
        Some(b'*') => parse_multibulk(buf),
        Some(_) => parse_inline(buf),
    }
}

fn parse_multibulk(buf: &[u8]) -> Result<Option<Request>, ProtocolError> {
    let Some((header, mut at)) = line(buf, 0, ProtocolError::LineTooLong)? else {
        return Ok(None);
    };
    let count = parse_count(&header[1..]).ok_or(ProtocolError::InvalidMultibulkLength)?;
    if count > MAX_ARGUMENTS {
        return Err(ProtocolError::InvalidMultibulkLength);
    }
    if count <= 0 {
        return Ok(Some(Request {
            args: Vec::new(),
            consumed: at,
        }));
    }

    // Grows with the arguments that have arrived, not with the count the client claimed.
    let mut args = Vec::new();
    for _ in 0..count {
        let Some((header, next)) = line(buf, at, ProtocolError::LineTooLong)? else {
            return Ok(None);
        };
        match header.first() {
            Some(b'$') => {}
            Some(&other) => return Err(ProtocolError::ExpectedBulk(char::from(other))),
            None => return Err(ProtocolError::ExpectedBulk(' ')),
        }
        let len = parse_count(&header[1..]).ok_or(ProtocolError::InvalidBulkLength)?;
        if !(0..=MAX_BULK_LEN).contains(&len) {
            return Err(ProtocolError::InvalidBulkLength);
        }
        let len = usize::try_from(len).map_err(|_| ProtocolError::InvalidBulkLength)?;
        let end = next.saturating_add(len);
        let Some(tail) = buf.get(end..end.saturating_add(2)) else {
            return Ok(None);
        };
        if tail != b"\r\n" {
            return Err(ProtocolError::MissingCrlf);
        }
        args.push(buf[next..end].to_vec());
        at = end + 2;
    }
    Ok(Some(Request { args, consumed: at }))
}

fn parse_inline(buf: &[u8]) -> Result<Option<Request>, ProtocolError> {
    let Some(newline) = buf.iter().position(|&byte| byte == b'\n') else {
        return if buf.len() > MAX_LINE {
            Err(ProtocolError::InlineTooLong)
        } else {
            Ok(None)
        };
    };
    if newline > MAX_LINE {
        return Err(ProtocolError::InlineTooLong);
    }
    let args = buf[..newline]
        .split(|byte| byte.is_ascii_whitespace())
        .filter(|word| !word.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    Ok(Some(Request {
        args,
        consumed: newline + 1,
    }))
}

/// The line starting at `from` without its CRLF, and where the next one starts.
fn line(
    buf: &[u8],
    from: usize,
    too_long: ProtocolError,
) -> Result<Option<(&[u8], usize)>, ProtocolError> {
    let rest = buf.get(from..).unwrap_or_default();
    // Looks no further than a line may be long, so a stream of bytes without CRLF costs no
    // more than the limit on every read.
    let window = &rest[..rest.len().min(MAX_LINE + 2)];
    match window.windows(2).position(|pair| pair == b"\r\n") {
        Some(end) if end > MAX_LINE => Err(too_long),
        Some(end) => Ok(Some((&rest[..end], from + end + 2))),
        None if rest.len() > MAX_LINE => Err(too_long),
        None => Ok(None),
    }
}

/// A decimal count as Redis reads one: optional `-`, digits, nothing else.
fn parse_count(text: &[u8]) -> Option<i64> {
    std::str::from_utf8(text).ok().and_then(parse_strict_i64)
}

/// Parses an integer exactly as Redis does: no sign other than a leading `-`, no spaces, no
/// leading zeros, no `-0`, within `i64`.
pub(crate) fn parse_strict_i64(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|byte| byte.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && text != "-0";
    if canonical { text.parse().ok() } else { None }
}

/// A reply, in RESP2 terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// `+OK`-style status text.
    Status(&'static str),
    /// `-` followed by the error code and message.
    Error(String),
    /// `:` integer.
    Integer(i64),
    /// `$` bulk string.
    Bulk(Vec<u8>),
    /// `$-1`, the missing value.
    Nil,
    /// `*` array.
    Array(Vec<Reply>),
    /// `*-1`, the missing array.
    NilArray,
}

impl Reply {
    /// `+OK`.
    pub(crate) const OK: Self = Self::Status("OK");

    /// Appends the wire form of the reply to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Status(text) => push_line(out, '+', text),
            Self::Error(text) => {
                // A CR or LF inside an error would end the line early and desynchronise the
                // client, so they become spaces.
                let text: String = text
                    .chars()
                    .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
                    .collect();
                push_line(out, '-', &text);
            }
            Self::Integer(value) => push_line(out, ':', &value.to_string()),
            Self::Bulk(bytes) => {
                push_line(out, '$', &bytes.len().to_string());
                out.extend_from_slice(bytes);
                out.extend_from_slice(b"\r\n");
            }
            Self::Nil => out.extend_from_slice(b"$-1\r\n"),
            Self::Array(items) => {
                push_line(out, '*', &items.len().to_string());
                for item in items {
                    item.encode(out);
                }
            }
            Self::NilArray => out.extend_from_slice(b"*-1\r\n"),
        }
    }
}

fn push_line(out: &mut Vec<u8>, kind: char, text: &str) {
    let mut line = String::with_capacity(text.len() + 3);
    line.push(kind);
    let _ = write!(line, "{text}\r\n");
    out.extend_from_slice(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(input: &[u8]) -> Vec<Vec<u8>> {
        parse_request(input).unwrap().unwrap().args
    }

    #[test]
    fn a_multibulk_request_reads_binary_arguments_and_reports_its_length() {
        let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\n\x00\r\n\xff\r\n*1\r\n$4\r\nPING\r\n";
        let request = parse_request(input).unwrap().unwrap();
        assert_eq!(
            request.args,
            [b"SET".to_vec(), b"k".to_vec(), b"\x00\r\n\xff".to_vec()]
        );
        assert_eq!(&input[request.consumed..], b"*1\r\n$4\r\nPING\r\n");
    }

    #[test]
    fn every_truncation_of_a_valid_request_asks_for_more() {
        let input = b"*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n";
        for end in 0..input.len() {
            assert_eq!(
                parse_request(&input[..end]),
                Ok(None),
                "prefix of {end} bytes"
            );
        }
        assert_eq!(parsed(input), [b"GET".to_vec(), b"hello".to_vec()]);
    }

    #[test]
    fn inline_requests_split_on_whitespace_and_empty_ones_are_empty() {
        assert_eq!(parsed(b"PING  hi\r\n"), [b"PING".to_vec(), b"hi".to_vec()]);
        assert_eq!(parsed(b"\r\n"), Vec::<Vec<u8>>::new());
        assert_eq!(parsed(b"*0\r\n"), Vec::<Vec<u8>>::new());
        assert_eq!(parsed(b"*-1\r\n"), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn malformed_requests_are_errors_never_panics() {
        let cases: [(&[u8], ProtocolError); 10] = [
            (b"*x\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*01\r\n", ProtocolError::InvalidMultibulkLength),
            (
                b"*99999999999999999999\r\n",
                ProtocolError::InvalidMultibulkLength,
            ),
            (b"*2000000\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*1\r\n:1\r\n", ProtocolError::ExpectedBulk(':')),
            (b"*1\r\n\r\n", ProtocolError::ExpectedBulk(' ')),
            (b"*1\r\n$-1\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$999999999999\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$2\r\nabcd\r\n", ProtocolError::MissingCrlf),
        ];
        for (input, expected) in cases {
            assert_eq!(
                parse_request(input),
                Err(expected),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn endless_lines_are_refused_once_past_the_limit() {
        let mut header = b"*1".to_vec();
        header.resize(MAX_LINE + 10, b'1');
        assert_eq!(parse_request(&header), Err(ProtocolError::LineTooLong));

        let inline = vec![b'a'; MAX_LINE + 10];
        assert_eq!(parse_request(&inline), Err(ProtocolError::InlineTooLong));
    }

    #[test]
    fn a_huge_claimed_count_allocates_nothing_until_data_arrives() {
        // A million arguments claimed, none sent: the parser waits rather than reserving memory.
        assert_eq!(parse_request(b"*1000000\r\n"), Ok(None));
        assert_eq!(parse_request(b"*1\r\n$536870912\r\nab"), Ok(None));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A fixed pseudo-random walk over byte strings rich in protocol characters.
        let alphabet = b"*$:+-\r\n0123456789abc\x00\xff ";
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut input = Vec::new();
            let len = (state % 40) as usize;
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                input.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            if let Ok(Some(request)) = parse_request(&input) {
                assert!(request.consumed <= input.len());
            }
            state = state.wrapping_add(1);
        }
    }

    #[test]
    fn integers_parse_only_in_redis_canonical_form() {
        assert_eq!(parse_strict_i64("0"), Some(0));
        assert_eq!(parse_strict_i64("-15"), Some(-15));
        assert_eq!(parse_strict_i64("9223372036854775807"), Some(i64::MAX));
        for bad in [
            "",
            "-",
            "+1",
            " 1",
            "1 ",
            "01",
            "-0",
            "1.0",
            "9223372036854775808",
        ] {
            assert_eq!(parse_strict_i64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn replies_encode_as_resp2() {
        let mut out = Vec::new();
        Reply::Array(vec![
            Reply::OK,
            Reply::Error("ERR bad\r\nthing".into()),
            Reply::Integer(-2),
            Reply::Bulk(b"a\x00".to_vec()),
            Reply::Nil,
            Reply::NilArray,
        ])
        .encode(&mut out);
        assert_eq!(
            out,
            b"*6\r\n+OK\r\n-ERR bad  thing\r\n:-2\r\n$2\r\na\x00\r\n$-1\r\n*-1\r\n".to_vec()
        );
    }
}
