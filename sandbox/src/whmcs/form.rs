//! PHP's reading of a form: bracket keys become arrays, a repeated plain key keeps its last
//! value, and WHMCS then drops every top-level name that is not alphanumeric.
//!
//! The emulator must read requests the way PHP does, not the way a Rust encoder means them:
//! `pid=1&pid=5` is one product to WHMCS, and `pid[]` pushes shift every later index. Only one
//! level of brackets is modelled (`a[x][y]` is stored as `a[x]`), which covers every parameter
//! of the actions the emulator serves.

use std::collections::BTreeMap;

/// One top-level form value as PHP sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FormValue {
    /// A plain `name=value`.
    Scalar(String),
    /// `name[key]=value` entries, in insertion order (PHP arrays keep it).
    Array(Vec<(String, String)>),
}

impl FormValue {
    /// The entry at `key` of an array; for a scalar, PHP's string offset (the character at
    /// that position), which is what `$scalar[$i]` yields.
    pub(crate) fn at(&self, key: &str) -> Option<String> {
        match self {
            Self::Array(entries) => entries
                .iter()
                .find(|(entry_key, _)| entry_key == key)
                .map(|(_, value)| value.clone()),
            Self::Scalar(text) => {
                let offset: usize = key.parse().ok()?;
                text.as_bytes()
                    .get(offset)
                    .map(|byte| char::from(*byte).to_string())
            }
        }
    }
}

/// The request's parameters after the query and the body are merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Params {
    values: Vec<(String, FormValue)>,
}

impl Params {
    /// Parses the query string and (when present) the form body; a body value replaces a query
    /// value of the same top-level name.
    pub(crate) fn from_request(query: Option<&str>, body: Option<&[u8]>) -> Self {
        let mut params = Self::parse(query.unwrap_or_default().as_bytes());
        if let Some(body) = body {
            for (name, value) in Self::parse(body).values {
                params.replace(name, value);
            }
        }
        params
    }

    /// Parses one `application/x-www-form-urlencoded` string with PHP's bracket rules.
    pub(crate) fn parse(input: &[u8]) -> Self {
        let mut params = Self::default();
        for (raw_name, value) in url::form_urlencoded::parse(input) {
            let (name, index) = split_brackets(&raw_name);
            if !is_accepted_name(&name) {
                continue;
            }
            match index {
                None => params.replace(name, FormValue::Scalar(value.into_owned())),
                Some(index) => params.push_entry(name, index, value.into_owned()),
            }
        }
        params
    }

    /// The value of a top-level name.
    pub(crate) fn get(&self, name: &str) -> Option<&FormValue> {
        self.values
            .iter()
            .find(|(existing, _)| existing == name)
            .map(|(_, value)| value)
    }

    /// A scalar parameter; an array counts as absent.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(FormValue::Scalar(text)) => Some(text),
            _ => None,
        }
    }

    /// A scalar parameter, or `""` when absent.
    pub(crate) fn text_or_empty(&self, name: &str) -> &str {
        self.text(name).unwrap_or_default()
    }

    /// PHP truthiness of a parameter: absent, `""` and `"0"` are false, anything else true
    /// (including the string `"false"`).
    pub(crate) fn truthy(&self, name: &str) -> bool {
        match self.get(name) {
            None => false,
            Some(FormValue::Scalar(text)) => !text.is_empty() && text != "0",
            Some(FormValue::Array(entries)) => !entries.is_empty(),
        }
    }

    /// Whether the parameter was sent at all.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The parameters flattened back to form keys (`pid[0]`), for the call log.
    pub(crate) fn flatten(&self) -> BTreeMap<String, String> {
        let mut flat = BTreeMap::new();
        for (name, value) in &self.values {
            match value {
                FormValue::Scalar(text) => {
                    flat.insert(name.clone(), text.clone());
                }
                FormValue::Array(entries) => {
                    for (key, text) in entries {
                        flat.insert(format!("{name}[{key}]"), text.clone());
                    }
                }
            }
        }
        flat
    }

    fn replace(&mut self, name: String, value: FormValue) {
        match self
            .values
            .iter_mut()
            .find(|(existing, _)| *existing == name)
        {
            Some(slot) => slot.1 = value,
            None => self.values.push((name, value)),
        }
    }

    fn push_entry(&mut self, name: String, index: String, value: String) {
        let position = match self
            .values
            .iter()
            .position(|(existing, _)| *existing == name)
        {
            Some(position) => position,
            None => {
                self.values.push((name, FormValue::Array(Vec::new())));
                self.values.len() - 1
            }
        };
        let slot = &mut self.values[position].1;
        // A bracket key after a plain one turns the name into an array, as in PHP.
        if matches!(slot, FormValue::Scalar(_)) {
            *slot = FormValue::Array(Vec::new());
        }
        let FormValue::Array(entries) = slot else {
            return;
        };
        let key = if index.is_empty() {
            next_push_index(entries).to_string()
        } else {
            index
        };
        match entries.iter_mut().find(|(existing, _)| *existing == key) {
            Some(entry) => entry.1 = value,
            None => entries.push((key, value)),
        }
    }
}

/// PHP's next index for `a[]`: one past the largest integer key, or 0.
fn next_push_index(entries: &[(String, String)]) -> u64 {
    entries
        .iter()
        .filter_map(|(key, _)| key.parse::<u64>().ok())
        .max()
        .map_or(0, |largest| largest + 1)
}

/// Splits `name[index]` into the top-level name and the first bracket's content. PHP turns
/// spaces and dots of the top-level name into underscores, and a `[` without a closing `]`
/// into an underscore too.
fn split_brackets(raw: &str) -> (String, Option<String>) {
    let raw = raw.trim_start_matches(' ');
    if let Some(open) = raw.find('[')
        && let Some(close_offset) = raw[open + 1..].find(']')
        && open > 0
    {
        let name = php_name(&raw[..open]);
        let index = raw[open + 1..open + 1 + close_offset].to_owned();
        return (name, Some(index));
    }
    (php_name(raw).replace('[', "_"), None)
}

fn php_name(name: &str) -> String {
    name.chars()
        .map(|c| if c == ' ' || c == '.' { '_' } else { c })
        .collect()
}

/// WHMCS's filter on top-level names: after removing `_`, `-`, `.` and spaces, what is left
/// must be non-empty ASCII letters and digits.
fn is_accepted_name(name: &str) -> bool {
    let kept: Vec<char> = name
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .collect();
    !kept.is_empty() && kept.iter().all(char::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(text: &str) -> FormValue {
        FormValue::Scalar(text.to_owned())
    }

    #[test]
    fn a_repeated_plain_key_keeps_the_last_value() {
        let params = Params::parse(b"pid=1&pid=5");
        assert_eq!(params.get("pid"), Some(&scalar("5")));
    }

    #[test]
    fn indexed_and_pushed_keys_become_arrays() {
        let params =
            Params::parse(b"pid%5B0%5D=1&pid[1]=5&cycle[]=a&cycle[]=b&cycle[7]=c&cycle[]=d");
        assert_eq!(params.get("pid").and_then(|v| v.at("1")), Some("5".into()));
        let flat = params.flatten();
        assert_eq!(flat.get("cycle[1]").map(String::as_str), Some("b"));
        assert_eq!(flat.get("cycle[8]").map(String::as_str), Some("d"));
    }

    #[test]
    fn names_that_are_not_alphanumeric_are_dropped() {
        let params = Params::parse(b"$addonsqty=1&client_id=3&a.b=4&=5");
        assert!(!params.has("$addonsqty"));
        assert_eq!(params.get("client_id"), Some(&scalar("3")));
        assert_eq!(params.get("a_b"), Some(&scalar("4")));
    }

    #[test]
    fn the_body_wins_over_the_query() {
        let params = Params::from_request(Some("action=GetOrders&x=1"), Some(b"action=AddOrder"));
        assert_eq!(params.text("action"), Some("AddOrder"));
        assert_eq!(params.text("x"), Some("1"));
    }

    #[test]
    fn a_scalar_indexed_like_an_array_yields_one_character() {
        assert_eq!(scalar("monthly").at("1"), Some("o".into()));
        assert_eq!(scalar("monthly").at("x"), None);
    }

    #[test]
    fn php_truthiness() {
        let params = Params::parse(b"a=0&b=false&c=&d=1");
        assert!(!params.truthy("a"));
        assert!(params.truthy("b"));
        assert!(!params.truthy("c"));
        assert!(params.truthy("d"));
        assert!(!params.truthy("missing"));
    }
}
