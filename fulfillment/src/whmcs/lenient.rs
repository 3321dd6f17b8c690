//! Tolerant readers for WHMCS's JSON, whose types drift between versions and PHP drivers:
//! ids and counts arrive as numbers or numeric strings, empty lists arrive as a missing key,
//! `""`, `[]` or `{"inner": []}`, and id lists arrive as comma-separated strings.

use serde_json::Value;

/// The first float a `u64` cannot hold: 2^64.
const U64_END: f64 = 18_446_744_073_709_551_616.0;

/// A whole number given as a JSON number or a numeric string; `""` and `null` are `None`, and
/// so is a number a `u64` cannot hold (a cast would silently give `u64::MAX`).
pub(super) fn as_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64().or_else(|| {
            number
                .as_f64()
                .filter(|f| f.fract() == 0.0 && (0.0..U64_END).contains(f))
                .map(|f| f as u64)
        }),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// Text given as a string or a number; `null` is `None`.
pub(super) fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// The items of a list that WHMCS may give as a missing key, `""`, `[]`, `{inner: [..]}`,
/// `{inner: {..}}` (one item), or a bare array.
pub(super) fn list<'a>(container: Option<&'a Value>, inner: &str) -> Vec<&'a Value> {
    match container {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(_)) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Object(map)) => match map.get(inner) {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(item @ Value::Object(_)) => vec![item],
            _ => Vec::new(),
        },
        Some(_) => Vec::new(),
    }
}

/// Ids from a comma-separated string such as `"881,882"`, a number, or a JSON array of either.
/// Every id is non-empty and holds no comma, so it survives the journal's comma-joined field.
pub(super) fn id_list(value: Option<&Value>) -> Vec<String> {
    let split = |text: &str| -> Vec<String> {
        text.split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .collect()
    };
    match value {
        Some(Value::String(text)) => split(text),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(as_text)
            .flat_map(|text| split(&text))
            .collect(),
        Some(Value::Number(number)) => vec![number.to_string()],
        _ => Vec::new(),
    }
}

/// Decodes the HTML entities WHMCS applies to stored text (`&amp;`, `&lt;`, `&gt;`, `&quot;`,
/// `&#039;`), so stored notes can be compared with what was sent.
pub(super) fn decode_entities(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#039;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn numbers_arrive_in_several_forms() {
        assert_eq!(as_u64(&json!(1042)), Some(1042));
        assert_eq!(as_u64(&json!("1042")), Some(1042));
        assert_eq!(as_u64(&json!(1042.0)), Some(1042));
        assert_eq!(as_u64(&json!("")), None);
        assert_eq!(as_u64(&json!(null)), None);
        assert_eq!(as_u64(&json!("-1")), None);
        assert_eq!(as_u64(&json!(18_446_744_073_709_551_616.0)), None);
        assert_eq!(as_u64(&json!(1e300)), None);
    }

    #[test]
    fn empty_lists_arrive_in_four_shapes() {
        let shapes = json!({"a": "", "b": [], "c": {"order": []}, "d": {"order": {"id": 1}}});
        assert!(list(shapes.get("missing"), "order").is_empty());
        assert!(list(shapes.get("a"), "order").is_empty());
        assert!(list(shapes.get("b"), "order").is_empty());
        assert!(list(shapes.get("c"), "order").is_empty());
        assert_eq!(list(shapes.get("d"), "order").len(), 1);
    }

    #[test]
    fn id_lists_are_comma_separated() {
        assert_eq!(id_list(Some(&json!("881,882"))), ["881", "882"]);
        assert!(id_list(Some(&json!(""))).is_empty());
        assert_eq!(id_list(Some(&json!([5, "6"]))), ["5", "6"]);
        assert_eq!(id_list(Some(&json!(["", " 7 ", "8,9"]))), ["7", "8", "9"]);
    }

    #[test]
    fn stored_text_is_entity_decoded() {
        assert_eq!(
            decode_entities("a &amp; b &lt;c&gt; &quot;d&quot;"),
            "a & b <c> \"d\""
        );
    }
}
