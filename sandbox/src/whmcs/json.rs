//! The answer tree and its JSON text the way WHMCS 8 writes it.
//!
//! An own tree rather than `serde_json::Value`: key order must be the server's (`result` first,
//! which clients that skip a PHP warning look for), an empty PHP array prints `[]` whether it
//! was meant as a list or a map, and strings need PHP's `JSON_HEX_*` escaping (`<` as `\u003C`,
//! non-ASCII as `\u00e9`), which serde_json does not produce.

use std::fmt::Write as _;

use super::NumberStyle;

/// A PHP value on its way to the client.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A native integer.
    Int(i64),
    /// A string (money and echoed request values are always strings).
    Str(String),
    /// A list.
    List(Vec<Json>),
    /// A map in insertion order.
    Map(Vec<(String, Json)>),
}

impl Json {
    /// A string value.
    pub(crate) fn str(text: impl Into<String>) -> Self {
        Self::Str(text.into())
    }

    /// An id or a count from the database: a numeric string or a native integer, by style.
    pub(crate) fn id(style: NumberStyle, value: u64) -> Self {
        match style {
            NumberStyle::LegacyStrings => Self::Str(value.to_string()),
            NumberStyle::NativeInts => Self::Int(i64::try_from(value).unwrap_or(i64::MAX)),
        }
    }

    /// A native integer whatever the style (PHP computed it, it never came from a column).
    pub(crate) fn int(value: u64) -> Self {
        Self::Int(i64::try_from(value).unwrap_or(i64::MAX))
    }

    /// The map's value under `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Self::Map(entries) => entries
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value),
            _ => None,
        }
    }

    /// Adds or replaces `key` in a map (no effect on other values).
    pub(crate) fn set(&mut self, key: &str, value: Json) {
        if let Self::Map(entries) = self {
            match entries.iter_mut().find(|(name, _)| name == key) {
                Some(entry) => entry.1 = value,
                None => entries.push((key.to_owned(), value)),
            }
        }
    }

    /// The JSON text, with `JSON_HEX_TAG | JSON_HEX_APOS | JSON_HEX_AMP | JSON_HEX_QUOT |
    /// JSON_UNESCAPED_SLASHES` escaping.
    pub(crate) fn to_text(&self) -> String {
        let mut out = String::new();
        write_value(self, &mut out);
        out
    }
}

/// Builds a map from `(key, value)` pairs.
pub(crate) fn map<const N: usize>(entries: [(&str, Json); N]) -> Json {
    Json::Map(
        entries
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
    )
}

fn write_value(value: &Json, out: &mut String) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Json::Int(number) => {
            let _ = write!(out, "{number}");
        }
        Json::Str(text) => write_string(text, out),
        Json::List(items) => {
            out.push('[');
            for (position, item) in items.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        // PHP has one array type: an empty map prints as an empty list.
        Json::Map(entries) if entries.is_empty() => out.push_str("[]"),
        Json::Map(entries) => {
            out.push('{');
            for (position, (key, item)) in entries.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_value(item, out);
            }
            out.push('}');
        }
    }
}

fn write_string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\u0022"),
            '&' => out.push_str("\\u0026"),
            '\'' => out.push_str("\\u0027"),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                // Control characters and everything outside ASCII, as UTF-16 units.
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_like_php_with_hex_flags() {
        let text = Json::str("<a href=\"x\">Tom's & é/€😀</a>").to_text();
        assert_eq!(
            text,
            r#""\u003Ca href=\u0022x\u0022\u003ETom\u0027s \u0026 \u00e9/\u20ac\ud83d\ude00\u003C/a\u003E""#
        );
        let parsed: String = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(parsed, "<a href=\"x\">Tom's & é/€😀</a>");
    }

    #[test]
    fn maps_keep_order_and_empty_ones_print_as_lists() {
        let value = map([
            ("result", Json::str("success")),
            ("b", Json::Int(2)),
            ("a", Json::Map(Vec::new())),
            ("n", Json::Null),
        ]);
        assert_eq!(
            value.to_text(),
            r#"{"result":"success","b":2,"a":[],"n":null}"#
        );
    }

    #[test]
    fn ids_follow_the_number_style() {
        assert_eq!(Json::id(NumberStyle::LegacyStrings, 17), Json::str("17"));
        assert_eq!(Json::id(NumberStyle::NativeInts, 17), Json::Int(17));
    }
}
