//! Salesforce record ids: validated, and normalised to their 18-character form.
//!
//! A 15-character id is case-sensitive; the 18-character form appends three checksum
//! characters that encode the case of the first fifteen, so it can be compared and used as a
//! key safely. Only ids that passed [`SalesforceId::parse`] are ever put into SOQL.

use std::fmt;

/// A well-formed Salesforce id in its 18-character form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SalesforceId(String);

/// Why a text is not a Salesforce id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not 15 or 18 characters.
    #[error("a Salesforce id has 15 or 18 characters, not {0}")]
    Length(usize),
    /// A character other than `A-Z`, `a-z`, `0-9`.
    #[error("a Salesforce id holds only letters and digits")]
    Character,
    /// The last three characters of an 18-character id do not match the first fifteen.
    #[error("the checksum of the 18-character id does not match (expected suffix {expected})")]
    Checksum {
        /// The suffix the first fifteen characters call for.
        expected: String,
    },
    /// The id names another kind of record.
    #[error("the id's key prefix is {found}, not {expected}")]
    Prefix {
        /// The prefix required.
        expected: &'static str,
        /// The prefix given.
        found: String,
    },
}

impl SalesforceId {
    /// Validates a 15- or 18-character id and returns its 18-character form.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let length = text.chars().count();
        if length != 15 && length != 18 {
            return Err(IdError::Length(length));
        }
        if !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(IdError::Character);
        }
        if length == 15 {
            return Ok(Self(format!("{text}{}", checksum(text))));
        }
        // An 18-character id is case-insensitive: its suffix records the case of the first
        // fifteen characters, so an id that went through a lower-casing system is restored.
        let restored = restore_case(&text[..15], &text[15..]).ok_or_else(|| IdError::Checksum {
            expected: checksum(&text[..15]),
        })?;
        let suffix = checksum(&restored);
        if !text[15..].eq_ignore_ascii_case(&suffix) {
            return Err(IdError::Checksum { expected: suffix });
        }
        Ok(Self(format!("{restored}{suffix}")))
    }

    /// Like [`SalesforceId::parse`], and the id must start with `prefix` (e.g. `801` for an
    /// Order).
    pub fn parse_with_prefix(text: &str, prefix: &'static str) -> Result<Self, IdError> {
        let id = Self::parse(text)?;
        if id.key_prefix() != prefix {
            return Err(IdError::Prefix {
                expected: prefix,
                found: id.key_prefix().to_owned(),
            });
        }
        Ok(id)
    }

    /// The three-character key prefix that names the object type.
    pub fn key_prefix(&self) -> &str {
        &self.0[..3]
    }

    /// The 18-character form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SalesforceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The three checksum characters for a 15-character id: for each block of five characters, a
/// five-bit number whose bit `k` says whether character `k` is an upper-case letter, written
/// as `A`–`Z` for 0–25 and `0`–`5` for 26–31.
fn checksum(id15: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    id15.as_bytes()
        .chunks(5)
        .map(|block| {
            let bits = block
                .iter()
                .enumerate()
                .filter(|(_, byte)| byte.is_ascii_uppercase())
                .fold(0usize, |bits, (position, _)| bits | (1 << position));
            char::from(ALPHABET[bits])
        })
        .collect()
}

/// The first fifteen characters with the case the `suffix` records; `None` when the suffix is
/// not made of checksum characters or marks a digit as upper case.
fn restore_case(id15: &str, suffix: &str) -> Option<String> {
    let mut restored = String::with_capacity(15);
    for (block, mark) in id15.as_bytes().chunks(5).zip(suffix.bytes()) {
        let bits = match mark.to_ascii_uppercase() {
            letter @ b'A'..=b'Z' => usize::from(letter - b'A'),
            digit @ b'0'..=b'5' => usize::from(digit - b'0') + 26,
            _ => return None,
        };
        for (position, byte) in block.iter().enumerate() {
            let upper = bits & (1 << position) != 0;
            match (byte.is_ascii_alphabetic(), upper) {
                (true, true) => restored.push(char::from(byte.to_ascii_uppercase())),
                (true, false) => restored.push(char::from(byte.to_ascii_lowercase())),
                (false, false) => restored.push(char::from(*byte)),
                (false, true) => return None,
            }
        }
    }
    Some(restored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifteen_characters_gain_the_published_checksums() {
        for (short, long) in [
            ("70130000001tcyI", "70130000001tcyIAAQ"),
            ("003G000001SUbc4", "003G000001SUbc4IAD"),
            ("00558000001N0Ke", "00558000001N0KeAAK"),
        ] {
            assert_eq!(SalesforceId::parse(short).expect(short).as_str(), long);
            assert_eq!(SalesforceId::parse(long).expect(long).as_str(), long);
        }
    }

    #[test]
    fn eighteen_characters_in_any_case_give_the_same_id() {
        let id = SalesforceId::parse("801xx000003GZ0nAAG").unwrap();
        assert_eq!(SalesforceId::parse("801XX000003GZ0NAAG").unwrap(), id);
        assert_eq!(SalesforceId::parse("801xx000003gz0naag").unwrap(), id);
        assert!(
            SalesforceId::parse("801xx000003GZ0n5AG").is_err(),
            "a digit marked upper case"
        );
    }

    #[test]
    fn malformed_ids_are_refused() {
        assert_eq!(SalesforceId::parse("801"), Err(IdError::Length(3)));
        assert_eq!(
            SalesforceId::parse("801' OR Name != '"),
            Err(IdError::Length(17))
        );
        assert_eq!(
            SalesforceId::parse("801xx000003GZ0'"),
            Err(IdError::Character)
        );
        assert_eq!(
            SalesforceId::parse("801xx000003GZ0né"),
            Err(IdError::Length(16))
        );
        assert!(matches!(
            SalesforceId::parse("70130000001tcyIAA9"),
            Err(IdError::Checksum { .. })
        ));
    }

    #[test]
    fn the_prefix_is_checked() {
        assert!(SalesforceId::parse_with_prefix("801xx000003GZ0nAAG", "801").is_ok());
        assert_eq!(
            SalesforceId::parse_with_prefix("001xx000003DGb2AAG", "801"),
            Err(IdError::Prefix {
                expected: "801",
                found: "001".into()
            })
        );
    }
}
