//! Decoding an `OrderProvisionRequested__e` payload: a bare Avro datum read with the writer
//! schema the event names, then `OrderId__c` picked out by name (fields the decoder does not
//! know are ignored, and field order never matters).
//!
//! apache-avro can return a value for truncated input, so every decoded value is validated
//! against its schema before use, and allocations are capped process-wide, so a datum that
//! claims a huge string fails instead of exhausting memory.

use std::{collections::HashMap, sync::Once};

use apache_avro::{
    Schema,
    schema::{DecimalSchema, FixedSchema, InnerDecimalSchema, UuidSchema},
    types::Value,
};
use bridge_runtime::salesforce::SalesforceId;

/// The most bytes one decoded value may allocate: events are at most 1 MB.
pub const MAX_ALLOCATION: usize = 2 * 1024 * 1024;

/// Why a payload is not a usable event. Each is a reason to dead-letter it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoisonReason {
    /// The bytes are not a datum of the schema.
    #[error("the payload is not a valid Avro datum of schema {schema_id}: {detail}")]
    Undecodable {
        /// The schema the event named.
        schema_id: String,
        /// What went wrong.
        detail: String,
    },
    /// Salesforce does not know the schema the event names.
    #[error("the schema id {schema_id:?} is unknown to Salesforce ({detail})")]
    UnknownSchema {
        /// The schema id.
        schema_id: String,
        /// What GetSchema answered.
        detail: String,
    },
    /// The schema JSON could not be parsed.
    #[error("the schema {schema_id} cannot be parsed: {detail}")]
    BadSchema {
        /// The schema id.
        schema_id: String,
        /// The parser's complaint.
        detail: String,
    },
    /// The record has no `OrderId__c`, or it is null.
    #[error("the event has no OrderId__c")]
    MissingOrderId,
    /// `OrderId__c` is not an Order id.
    #[error("OrderId__c {value:?} is not an Order id: {detail}")]
    MalformedOrderId {
        /// The value, cut short.
        value: String,
        /// Why.
        detail: String,
    },
    /// The event has no replay id, so it cannot be placed in the stream.
    #[error("the event has no replay id")]
    NoReplayId,
}

/// Sets the process-wide Avro allocation cap. The first call in a process wins.
pub fn cap_allocations() {
    static CAP: Once = Once::new();
    CAP.call_once(|| {
        apache_avro::util::max_allocation_bytes(MAX_ALLOCATION);
    });
}

/// Reads the Order id out of `payload`, a bare datum of `schema`.
pub fn decode_order_id(
    schema: &Schema,
    schema_id: &str,
    payload: &[u8],
) -> Result<SalesforceId, PoisonReason> {
    cap_allocations();
    let undecodable = |detail: String| PoisonReason::Undecodable {
        schema_id: schema_id.to_owned(),
        detail,
    };
    let reader = apache_avro::reader::datum::GenericDatumReader::builder(schema)
        .build()
        .map_err(|err| undecodable(err.to_string()))?;
    let mut input = payload;
    let value = reader
        .read_value(&mut input)
        .map_err(|err| undecodable(err.to_string()))?;
    if !value.validate(schema) {
        return Err(undecodable(
            "the datum does not match the schema (truncated?)".to_owned(),
        ));
    }
    if !input.is_empty() {
        return Err(undecodable(format!(
            "{} bytes follow the datum",
            input.len()
        )));
    }

    let Value::Record(fields) = value else {
        return Err(undecodable("the datum is not a record".to_owned()));
    };
    let order_id = fields
        .into_iter()
        .find(|(name, _)| name == crate::fields_used::ORDER_ID_FIELD)
        .map(|(_, value)| value)
        .ok_or(PoisonReason::MissingOrderId)?;
    let text = match order_id {
        Value::String(text) => text,
        Value::Union(_, inner) => match *inner {
            Value::String(text) => text,
            Value::Null => return Err(PoisonReason::MissingOrderId),
            other => return Err(malformed(&format!("{other:?}"), "not a string")),
        },
        Value::Null => return Err(PoisonReason::MissingOrderId),
        other => return Err(malformed(&format!("{other:?}"), "not a string")),
    };
    SalesforceId::parse_with_prefix(text.trim(), "801")
        .map_err(|err| malformed(&text, &err.to_string()))
}

fn malformed(value: &str, detail: &str) -> PoisonReason {
    PoisonReason::MalformedOrderId {
        value: value.chars().take(40).collect(),
        detail: detail.to_owned(),
    }
}

/// Parses a writer schema from `GetSchema`'s JSON. A recursive schema (a record that contains
/// itself) is refused: Salesforce never sends one, and decoding a deeply nested datum of it
/// would exhaust the stack. So is a schema whose datums could take memory out of all proportion
/// to the payload (see [`unbounded_decoding`]); Salesforce never sends one either.
pub fn parse_schema(schema_id: &str, json: &str) -> Result<Schema, PoisonReason> {
    let bad = |detail: String| PoisonReason::BadSchema {
        schema_id: schema_id.to_owned(),
        detail,
    };
    let schema = Schema::parse_str(json).map_err(|err| bad(err.to_string()))?;
    if is_recursive(&schema, &mut Vec::new()) {
        return Err(bad("the schema refers to itself".to_owned()));
    }
    if let Some(problem) = unbounded_decoding(&schema) {
        return Err(bad(problem));
    }
    Ok(schema)
}

/// What in `schema` would let a small payload take unbounded memory, which the allocation cap
/// does not prevent: apache-avro allocates a `fixed` of the declared size before reading it,
/// and caps each array on its own, so an array of arrays of items that take no bytes (`null`,
/// a record without fields, a zero-size `fixed`) turns a few kilobytes into gigabytes.
fn unbounded_decoding(schema: &Schema) -> Option<String> {
    let mut named = HashMap::new();
    collect_named(schema, &mut named);
    find_unbounded(schema, &named)
}

/// The fixed part of a schema that is, or is carried by, a `fixed`.
fn fixed_of(schema: &Schema) -> Option<&FixedSchema> {
    match schema {
        Schema::Fixed(fixed)
        | Schema::Duration(fixed)
        | Schema::Uuid(UuidSchema::Fixed(fixed))
        | Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Fixed(fixed),
            ..
        }) => Some(fixed),
        _ => None,
    }
}

/// Every named type in `schema` by full name, so that references can be followed.
fn collect_named<'a>(schema: &'a Schema, named: &mut HashMap<String, &'a Schema>) {
    match schema {
        Schema::Record(record) => {
            named.insert(record.name.fullname(None), schema);
            for field in &record.fields {
                collect_named(&field.schema, named);
            }
        }
        Schema::Enum(enumeration) => {
            named.insert(enumeration.name.fullname(None), schema);
        }
        Schema::Union(union) => {
            for variant in union.variants() {
                collect_named(variant, named);
            }
        }
        Schema::Array(array) => collect_named(&array.items, named),
        Schema::Map(map) => collect_named(&map.types, named),
        _ => {
            if let Some(fixed) = fixed_of(schema) {
                named.insert(fixed.name.fullname(None), schema);
            }
        }
    }
}

fn find_unbounded(schema: &Schema, named: &HashMap<String, &Schema>) -> Option<String> {
    if let Some(fixed) = fixed_of(schema)
        && fixed.size > MAX_ALLOCATION
    {
        return Some(format!(
            "a fixed of {} bytes is larger than any event",
            fixed.size
        ));
    }
    match schema {
        Schema::Record(record) => record
            .fields
            .iter()
            .find_map(|field| find_unbounded(&field.schema, named)),
        Schema::Union(union) => union
            .variants()
            .iter()
            .find_map(|variant| find_unbounded(variant, named)),
        Schema::Array(array) if takes_no_bytes(&array.items, named, 0) => {
            Some("an array's items take no bytes, so a few bytes could hold millions".to_owned())
        }
        Schema::Array(array) => find_unbounded(&array.items, named),
        Schema::Map(map) => find_unbounded(&map.types, named),
        _ => None,
    }
}

/// Whether a datum of `schema` can be encoded in zero bytes. References deeper than any real
/// schema nests are taken to be (the schema is then refused, never decoded).
fn takes_no_bytes(schema: &Schema, named: &HashMap<String, &Schema>, depth: usize) -> bool {
    if depth > 64 {
        return true;
    }
    match schema {
        Schema::Null => true,
        Schema::Record(record) => record
            .fields
            .iter()
            .all(|field| takes_no_bytes(&field.schema, named, depth + 1)),
        Schema::Ref { name } => named
            .get(&name.fullname(None))
            .is_none_or(|target| takes_no_bytes(target, named, depth + 1)),
        _ => fixed_of(schema).is_some_and(|fixed| fixed.size == 0),
    }
}

/// Whether `schema` refers back to a named type that encloses it.
fn is_recursive(schema: &Schema, enclosing: &mut Vec<String>) -> bool {
    match schema {
        Schema::Ref { name } => enclosing.contains(&name.fullname(None)),
        Schema::Record(record) => {
            enclosing.push(record.name.fullname(None));
            let found = record
                .fields
                .iter()
                .any(|field| is_recursive(&field.schema, enclosing));
            enclosing.pop();
            found
        }
        Schema::Union(union) => union
            .variants()
            .iter()
            .any(|variant| is_recursive(variant, enclosing)),
        Schema::Array(array) => is_recursive(&array.items, enclosing),
        Schema::Map(map) => is_recursive(&map.types, enclosing),
        _ => false,
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    /// The richer example schema and its 93-byte datum from the Pub/Sub fact sheet.
    const RICH_SCHEMA: &str = r#"{"type":"record","name":"OrderProvisionRequested__e","namespace":"com.sforce.eventbus","fields":[
 {"name":"CreatedDate","type":"long","doc":"CreatedDate:DateTime"},
 {"name":"CreatedById","type":"string","doc":"CreatedBy:EntityId"},
 {"name":"OrderId__c","type":["null","string"],"doc":"Data:Text:00N5e00000Q1aAA","default":null},
 {"name":"AccountId__c","type":["null","string"],"doc":"Data:Text:00N5e00000Q1aAB","default":null},
 {"name":"ProductCode__c","type":["null","string"],"doc":"Data:Text:00N5e00000Q1aAC","default":null},
 {"name":"Quantity__c","type":["null","double"],"doc":"Data:Double:00N5e00000Q1aAD","default":null},
 {"name":"RequestedAt__c","type":["null","long"],"doc":"Data:DateTime:00N5e00000Q1aAE","default":null},
 {"name":"Notes__c","type":["null","string"],"doc":"Data:Text:00N5e00000Q1aAF","default":null},
 {"name":"IsRush__c","type":"boolean","doc":"Data:Boolean:00N5e00000Q1aAG","default":false}
]}"#;
    const RICH_DATUM: &str = "80a0abfef9622430303578783030303030315838557a41414b02243830317878303030303033475a306e4141470224303031787830303030303344476232414147021046494245522d31470200000000000000400280a0abfef9620001";

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn schema_id(schema: &Schema) -> String {
        use base64::Engine;
        use md5::{Digest, Md5};
        let digest = Md5::digest(schema.canonical_form().as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    }

    #[test]
    fn the_reference_datum_decodes_to_its_order_id() {
        let schema = parse_schema("T81xDFrCD7RmXBKAiSlc4Q", RICH_SCHEMA).unwrap();
        assert_eq!(schema_id(&schema), "T81xDFrCD7RmXBKAiSlc4Q");
        let datum = hex(RICH_DATUM);
        assert_eq!(datum.len(), 93);

        let order_id = decode_order_id(&schema, "T81xDFrCD7RmXBKAiSlc4Q", &datum).unwrap();

        assert_eq!(order_id.as_str(), "801xx000003GZ0nAAG");
    }

    #[test]
    fn truncated_garbage_and_trailing_bytes_are_poison() {
        let schema = parse_schema("x", RICH_SCHEMA).unwrap();
        let datum = hex(RICH_DATUM);
        for bad in [
            &datum[..30],
            &datum[..92],
            b"garbage!".as_slice(),
            &[0xff; 12],
        ] {
            assert!(
                matches!(
                    decode_order_id(&schema, "x", bad),
                    Err(PoisonReason::Undecodable { .. })
                ),
                "{bad:?}"
            );
        }
        let mut longer = datum.clone();
        longer.push(0);
        assert!(matches!(
            decode_order_id(&schema, "x", &longer),
            Err(PoisonReason::Undecodable { .. })
        ));
    }

    #[test]
    fn a_datum_claiming_a_huge_string_fails_instead_of_allocating() {
        let schema = parse_schema("x", RICH_SCHEMA).unwrap();
        // CreatedDate, then CreatedById claiming 200 MB.
        let mut datum = vec![0x02];
        let mut length: u64 = 200_000_000 << 1;
        while length >= 0x80 {
            datum.push((length as u8) | 0x80);
            length >>= 7;
        }
        datum.push(length as u8);
        assert!(decode_order_id(&schema, "x", &datum).is_err());
    }

    #[test]
    fn recursive_schemas_are_refused() {
        let recursive = r#"{"type":"record","name":"N","fields":[{"name":"next","type":["null","N"]},{"name":"OrderId__c","type":["null","string"]}]}"#;
        assert!(matches!(
            parse_schema("r", recursive),
            Err(PoisonReason::BadSchema { .. })
        ));
        let nested = r#"{"type":"record","name":"A","fields":[{"name":"b","type":{"type":"record","name":"B","fields":[{"name":"x","type":"int"}]}},{"name":"c","type":"B"}]}"#;
        assert!(
            parse_schema("n", nested).is_ok(),
            "a second use of a sibling type is not recursion"
        );
    }

    /// Found by the `avro_event` fuzz target: a schema declaring a `fixed` of
    /// 6,600,000,099,775,530 bytes made apache-avro allocate that much before reading the datum,
    /// and the process aborted (the allocation cap does not cover `fixed`).
    #[test]
    fn a_fixed_larger_than_any_event_is_refused() {
        let reproducer = b"\x03{\"type\":\"record\",\"name\":\"A\",\"pamespace\":\"x\",\"fields\":[{\"name\":\"b\",\"type\":{\"type\":\"record\",\"name\":\"B\",\"fields\":[\"P\",\"Q\"]}},{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":6600000099775530}},{\"name\":\"edOrrId__c\",\"type\":\"string\"}]}";
        let json = std::str::from_utf8(&reproducer[1..]).unwrap();
        assert!(matches!(
            parse_schema("f", json),
            Err(PoisonReason::BadSchema { .. })
        ));
        let decimal = r#"{"type":"record","name":"D","fields":[{"name":"d","type":{"type":"fixed","name":"G","size":3000000,"logicalType":"decimal","precision":4}}]}"#;
        assert!(parse_schema("d", decimal).is_err());
        let small = r#"{"type":"record","name":"S","fields":[{"name":"f","type":{"type":"fixed","name":"F","size":16}}]}"#;
        assert!(parse_schema("s", small).is_ok());
    }

    /// An array of arrays of `null`: apache-avro caps each array on its own, so 3.6 KB of
    /// payload (900 inner arrays claiming 30,000 nulls each) took 1.5 GB and 2.4 s to decode,
    /// and a 1 MB event would take hundreds of gigabytes. Schemas whose arrays hold items that
    /// take no bytes are refused.
    #[test]
    fn arrays_of_items_that_take_no_bytes_are_refused() {
        for items in [
            r#""null""#,
            r#"{"type":"record","name":"Empty","fields":[]}"#,
            r#"{"type":"fixed","name":"Z","size":0}"#,
            r#"{"type":"array","items":"null"}"#,
        ] {
            let json = format!(
                r#"{{"type":"record","name":"E","fields":[{{"name":"a","type":{{"type":"array","items":{items}}}}},{{"name":"OrderId__c","type":"string"}}]}}"#
            );
            assert!(
                matches!(
                    parse_schema("a", &json),
                    Err(PoisonReason::BadSchema { .. })
                ),
                "{items}"
            );
        }
        // Through a reference to a named empty record, and inside a map.
        let referenced = r#"{"type":"record","name":"E","fields":[{"name":"x","type":{"type":"record","name":"Empty","fields":[]}},{"name":"a","type":{"type":"map","values":{"type":"array","items":"Empty"}}}]}"#;
        assert!(parse_schema("r", referenced).is_err());
        // Arrays of things that take at least a byte each stay.
        let fine = r#"{"type":"record","name":"E","fields":[{"name":"a","type":{"type":"array","items":{"type":"array","items":["null","string"]}}},{"name":"m","type":{"type":"map","values":"null"}}]}"#;
        assert!(parse_schema("f", fine).is_ok());
    }

    #[test]
    fn missing_null_and_malformed_order_ids_are_named() {
        let schema = parse_schema(
            "s",
            r#"{"type":"record","name":"E","fields":[{"name":"OrderId__c","type":["null","string"],"default":null}]}"#,
        )
        .unwrap();
        assert_eq!(
            decode_order_id(&schema, "s", &[0x00]),
            Err(PoisonReason::MissingOrderId)
        );
        let mut wrong = vec![0x02, 0x06];
        wrong.extend_from_slice(b"001");
        assert!(matches!(
            decode_order_id(&schema, "s", &wrong),
            Err(PoisonReason::MalformedOrderId { .. })
        ));

        let other = parse_schema(
            "o",
            r#"{"type":"record","name":"E","fields":[{"name":"Other","type":"string"}]}"#,
        )
        .unwrap();
        assert_eq!(
            decode_order_id(&other, "o", &[0x02, b'a']),
            Err(PoisonReason::MissingOrderId)
        );
    }
}
