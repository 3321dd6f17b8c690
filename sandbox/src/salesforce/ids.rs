//! Minting record ids the way an org does: a three-character key prefix, the org's two-character
//! instance, and a unique body, extended to 18 characters with the case checksum.
//!
//! A few random mixed-case characters sit in every body so that 15-character ids are really
//! case-sensitive and their checksums differ; a counter after them keeps every id unique.

use bridge_runtime::salesforce::SalesforceId;
use rand::{Rng, distr::Alphanumeric};

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Hands out unique ids for one emulated org.
#[derive(Debug)]
pub(crate) struct IdMint {
    instance: String,
    counter: u64,
}

impl IdMint {
    /// A mint for an org on a random instance (`Hp`, `5g`, ...).
    pub(crate) fn new() -> Self {
        let mut rng = rand::rng();
        let instance = format!(
            "{}{}",
            char::from(BASE62[rng.random_range(10..36)]),
            char::from(BASE62[rng.random_range(0..62)])
        );
        Self {
            instance,
            counter: 0,
        }
    }

    /// A fresh 18-character id with `prefix` (e.g. `801`).
    pub(crate) fn next(&mut self, prefix: &str) -> String {
        self.counter += 1;
        let salt: String = rand::rng()
            .sample_iter(Alphanumeric)
            .take(4)
            .map(char::from)
            .collect();
        let mut serial = [b'0'; 6];
        let mut rest = self.counter;
        for slot in serial.iter_mut().rev() {
            *slot = BASE62[(rest % 62) as usize];
            rest /= 62;
        }
        let serial = String::from_utf8_lossy(&serial);
        let fifteen = format!("{prefix}{}{salt}{serial}", self.instance);
        to_eighteen(&fifteen).unwrap_or(fifteen)
    }
}

/// The 18-character form of a 15- or 18-character id, when `text` is a well-formed id.
pub(crate) fn to_eighteen(text: &str) -> Option<String> {
    SalesforceId::parse(text).ok().map(|id| id.to_string())
}

/// The 15-character form (the case-sensitive original).
pub(crate) fn to_fifteen(id: &str) -> &str {
    id.get(..15).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_are_valid_unique_and_prefixed() {
        let mut mint = IdMint::new();
        let first = mint.next("801");
        let second = mint.next("801");
        assert_ne!(first, second);
        for id in [&first, &second] {
            assert_eq!(id.len(), 18);
            assert!(id.starts_with("801"));
            assert_eq!(to_eighteen(to_fifteen(id)).as_deref(), Some(id.as_str()));
        }
    }

    #[test]
    fn the_checksum_follows_the_case_of_the_first_fifteen() {
        assert_eq!(
            to_eighteen("003G000001SUbc4").as_deref(),
            Some("003G000001SUbc4IAD")
        );
        assert_eq!(to_eighteen("801'"), None);
    }
}
