//! JSON whose object members keep the order they were built in. Salesforce puts `attributes`
//! first and then the selected fields in query order; `serde_json::Map` would sort them.

use serde::{Serialize, Serializer, ser::SerializeMap, ser::SerializeSeq};
use serde_json::Value;

/// A JSON value with ordered objects.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OrderedJson {
    /// Any plain value (strings, numbers, `null`, ...).
    Plain(Value),
    /// An object whose members serialise in this order.
    Object(Vec<(&'static str, OrderedJson)>),
    /// An array.
    List(Vec<OrderedJson>),
}

impl OrderedJson {
    /// `null`.
    pub(crate) const NULL: Self = Self::Plain(Value::Null);
}

impl From<Value> for OrderedJson {
    fn from(value: Value) -> Self {
        Self::Plain(value)
    }
}

impl Serialize for OrderedJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Plain(value) => value.serialize(serializer),
            Self::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (key, value) in members {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
            Self::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_their_order() {
        let json = OrderedJson::Object(vec![
            ("zeta", Value::from(1).into()),
            ("alpha", OrderedJson::List(vec![OrderedJson::NULL])),
        ]);
        assert_eq!(
            serde_json::to_string(&json).expect("serialises"),
            r#"{"zeta":1,"alpha":[null]}"#
        );
    }
}
