//! Tolerant readers for WHMCS's JSON, whose types drift between versions and PHP drivers:
//! ids and counts arrive as numbers or numeric strings, empty lists arrive as a missing key,
//! `""`, `[]` or `{"inner": []}`, and id lists arrive as comma-separated strings.

use serde_json::Value;

/// A whole number given as a JSON number or a numeric string; `""` and `null` are `None`.
pub(super) fn as_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64().or_else(|| {
            number
                .as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
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

/// Ids from a comma-separated string such as `"881,882"` (or a JSON array of ids).
pub(super) fn id_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(text)) => text
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::Array(items)) => items.iter().filter_map(as_text).collect(),
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
    }

    #[test]
    fn stored_text_is_entity_decoded() {
        assert_eq!(
            decode_entities("a &amp; b &lt;c&gt; &quot;d&quot;"),
            "a & b <c> \"d\""
        );
    }
}
