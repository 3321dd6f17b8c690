//! What the fuzz targets share: how one fuzz input is cut into the parts a parser takes (a
//! selector byte, an HTTP status, a body), and the shape checks several targets assert.
//!
//! Every input layout is plain bytes so that seeds can be written by hand (see
//! `seeds/README.md`): a selector byte picks what is parsed, a big-endian `u16` is an HTTP
//! status, and a NUL byte separates two texts.

/// The first byte (which parser or variant to use) and the rest; `None` for an empty input.
pub fn selector(data: &[u8]) -> Option<(u8, &[u8])> {
    data.split_first().map(|(first, rest)| (*first, rest))
}

/// An HTTP status from the first two bytes (big-endian) and the body after them. Short inputs
/// give status 200 and what there is as the body, so every input is used.
pub fn status_and_body(data: &[u8]) -> (u16, &[u8]) {
    match data {
        [high, low, body @ ..] => (u16::from_be_bytes([*high, *low]), body),
        _ => (200, data),
    }
}

/// The bytes before the first NUL and, when there is one, the bytes after it.
pub fn split_at_nul(data: &[u8]) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|byte| *byte == 0) {
        Some(at) => (&data[..at], Some(&data[at + 1..])),
        None => (data, None),
    }
}

/// Whether `text` has the shape of a normalised Salesforce id: 18 ASCII letters and digits.
pub fn is_id18(text: &str) -> bool {
    text.len() == 18 && text.bytes().all(|byte| byte.is_ascii_alphanumeric())
}

/// Whether `text` is a 15- or 18-character Salesforce id as the identity URL carries them.
pub fn is_id15_or_18(text: &str) -> bool {
    matches!(text.len(), 15 | 18) && text.bytes().all(|byte| byte.is_ascii_alphanumeric())
}

/// Whether `text` is a WHMCS id as the journal stores it: decimal digits that fit a `u64`.
pub fn is_decimal_u64(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().all(|byte| byte.is_ascii_digit())
        && text.parse::<u64>().is_ok()
}

/// Whether an id survives being stored comma-joined in the journal and split again: not empty,
/// no comma.
pub fn survives_comma_join(id: &str) -> bool {
    !id.is_empty() && !id.contains(',')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_cut_as_documented() {
        assert_eq!(selector(b""), None);
        assert_eq!(selector(b"\x02ab"), Some((2, b"ab".as_slice())));
        assert_eq!(status_and_body(b"\x01\xf4{}"), (500, b"{}".as_slice()));
        assert_eq!(status_and_body(b"x"), (200, b"x".as_slice()));
        assert_eq!(
            split_at_nul(b"a\0b\0c"),
            (b"a".as_slice(), Some(b"b\0c".as_slice()))
        );
        assert_eq!(split_at_nul(b"abc"), (b"abc".as_slice(), None));
    }

    #[test]
    fn shapes_are_checked() {
        assert!(is_id18("801xx000003GZ0nAAG"));
        assert!(!is_id18("801xx000003GZ0n"));
        assert!(is_id15_or_18("801xx000003GZ0n"));
        assert!(is_decimal_u64("1042"));
        assert!(!is_decimal_u64("+1042"));
        assert!(!is_decimal_u64("18446744073709551616"));
        assert!(survives_comma_join("881"));
        assert!(!survives_comma_join("881,882"));
        assert!(!survives_comma_join(""));
    }
}
