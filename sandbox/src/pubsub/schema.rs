//! Avro schemas as the Pub/Sub API serves them: the channel's `OrderProvisionRequested__e`
//! schema (derived from the DX project by [`event_schema`](super::event_schema)), schema ids
//! derived the way Salesforce derives them, the registry `GetSchema` answers from, and the
//! encoder that turns an order id into a bare Avro datum of the channel's schema.
//!
//! A schema id is base64url without padding of the MD5 digest of the schema's Parsing
//! Canonical Form, so `doc`, `default` and unknown attributes such as `uuid` never change it,
//! while renaming, retyping or reordering a field always does.

use std::{collections::HashMap, path::PathBuf};

use apache_avro::{Schema, types::Value, writer::datum::GenericDatumWriter};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use md5::{Digest, Md5};

use super::event_schema::{self, EventField, Slot};
use crate::salesforce_source::SalesforceSource;

/// The platform event the Flow publishes on the order channel.
pub(crate) const EVENT_NAME: &str = "OrderProvisionRequested__e";

/// The event's field that carries the Order's id.
const ORDER_FIELD: &str = "OrderId__c";

/// Why the channel's schema cannot be built, or a payload made or read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SchemaError {
    /// The DX project defines no such platform event.
    #[error("{}: no platform event {event} in the Salesforce DX project", dir.display())]
    NoEvent {
        /// The project's directory.
        dir: PathBuf,
        /// The event's API name.
        event: &'static str,
    },
    /// The event has no text field for the Order's id.
    #[error("{}: the platform event {event} needs a text field {field}", path.display())]
    NoOrderField {
        /// Where the field's file should be.
        path: PathBuf,
        /// The event's API name.
        event: String,
        /// The field's API name.
        field: &'static str,
    },
    /// A field of a type the event schema cannot carry.
    #[error(
        "{}: field {event}.{field}: a platform event's schema cannot carry a {field_type} field \
         here (Text, TextArea, LongTextArea, Picklist, Number, DateTime and Checkbox can)",
        path.display()
    )]
    UnsupportedField {
        /// The field's file.
        path: PathBuf,
        /// The event's API name.
        event: String,
        /// The field's API name.
        field: String,
        /// The field's metadata type.
        field_type: &'static str,
    },
    /// The schema JSON does not parse as Avro.
    #[error("the schema does not parse: {0}")]
    Parse(#[source] Box<apache_avro::Error>),
    /// Avro refused to encode the record with the schema.
    #[error("the record does not fit the schema: {0}")]
    Encode(#[source] Box<apache_avro::Error>),
    /// The bytes are not a datum of the schema.
    #[error("the payload is not a datum of schema {schema_id}: {reason}")]
    Decode {
        /// The writer schema's id.
        schema_id: String,
        /// What went wrong.
        reason: String,
    },
}

/// The id Salesforce gives `schema`: base64url-no-pad of MD5 of its canonical form.
pub(crate) fn schema_id(schema: &Schema) -> String {
    URL_SAFE_NO_PAD.encode(Md5::digest(schema.canonical_form().as_bytes()))
}

/// One schema `GetSchema` can serve.
#[derive(Debug, Clone)]
struct Registered {
    json: String,
    /// `None` for JSON that does not parse: it is still served, as a broken schema would be.
    parsed: Option<Schema>,
}

/// Every schema the org has, by id, and which one the order channel uses now.
#[derive(Debug)]
pub(crate) struct SchemaRegistry {
    schemas: HashMap<String, Registered>,
    order_schema_id: String,
    /// The channel schema's custom fields, in schema order.
    order_fields: Vec<EventField>,
}

impl SchemaRegistry {
    /// A registry holding the channel's schema, derived from the platform event in `source`.
    /// Fails when the project has no such event, the event has no text field `OrderId__c`,
    /// or a field's type cannot be carried.
    pub(crate) fn new(source: &SalesforceSource) -> Result<Self, SchemaError> {
        let event = source
            .object(EVENT_NAME)
            .ok_or_else(|| SchemaError::NoEvent {
                dir: source.project_dir().to_owned(),
                event: EVENT_NAME,
            })?;
        let (mut json, order_fields) = event_schema::derive(event)?;
        let carries_order = order_fields
            .iter()
            .any(|field| field.name == ORDER_FIELD && field.slot == Slot::Text);
        if !carries_order {
            return Err(SchemaError::NoOrderField {
                path: event.field_file(ORDER_FIELD),
                event: event.name.clone(),
                field: ORDER_FIELD,
            });
        }
        let parsed = Schema::parse(&json).map_err(|err| SchemaError::Parse(Box::new(err)))?;
        let id = schema_id(&parsed);
        // Some real schema JSON repeats its id in a top-level `uuid`; consumers must ignore it.
        if let Some(members) = json.as_object_mut() {
            members.insert("uuid".to_owned(), serde_json::Value::from(id.clone()));
        }
        let served = json.to_string();
        let mut schemas = HashMap::new();
        schemas.insert(
            id.clone(),
            Registered {
                json: served,
                parsed: Some(parsed),
            },
        );
        Ok(Self {
            schemas,
            order_schema_id: id,
            order_fields,
        })
    }

    /// The order channel's current schema id.
    pub(crate) fn order_schema_id(&self) -> &str {
        &self.order_schema_id
    }

    /// Adds `json`; returns its id. JSON that is not an Avro schema is kept too, under the
    /// digest of its raw text, so tests can make `GetSchema` serve something unparsable.
    pub(crate) fn register(&mut self, json: &str) -> String {
        let parsed = Schema::parse_str(json).ok();
        let id = match &parsed {
            Some(schema) => schema_id(schema),
            None => URL_SAFE_NO_PAD.encode(Md5::digest(json.as_bytes())),
        };
        self.schemas.entry(id.clone()).or_insert(Registered {
            json: json.to_owned(),
            parsed,
        });
        id
    }

    /// The JSON served for `id`.
    pub(crate) fn json(&self, id: &str) -> Option<&str> {
        self.schemas.get(id).map(|known| known.json.as_str())
    }

    /// Whether `payload` is exactly one datum of schema `id`, every byte consumed.
    pub(crate) fn check_datum(&self, id: &str, payload: &[u8]) -> Result<(), SchemaError> {
        let decode_error = |reason: String| SchemaError::Decode {
            schema_id: id.to_owned(),
            reason,
        };
        let schema = self
            .schemas
            .get(id)
            .and_then(|known| known.parsed.as_ref())
            .ok_or_else(|| decode_error("no such schema".to_owned()))?;
        let reader = apache_avro::reader::datum::GenericDatumReader::builder(schema)
            .build()
            .map_err(|err| decode_error(err.to_string()))?;
        let mut rest = payload;
        let value = reader
            .read_value(&mut rest)
            .map_err(|err| decode_error(err.to_string()))?;
        // A cut-off datum can decode "successfully" with nulls in it; validation catches that.
        if !value.validate(schema) {
            return Err(decode_error("the decoded record does not fit".to_owned()));
        }
        if !rest.is_empty() {
            return Err(decode_error(format!("{} bytes left over", rest.len())));
        }
        Ok(())
    }

    /// A datum of the channel's schema: `OrderId__c` as given (`None` writes null), every
    /// other custom field empty (null, or a checkbox's default).
    pub(crate) fn encode_order(
        &self,
        created_date_ms: i64,
        created_by_id: &str,
        order_id: Option<&str>,
    ) -> Result<Vec<u8>, SchemaError> {
        let schema = self
            .schemas
            .get(&self.order_schema_id)
            .and_then(|known| known.parsed.as_ref())
            .ok_or_else(|| SchemaError::Decode {
                schema_id: self.order_schema_id.clone(),
                reason: "the channel's schema is missing".to_owned(),
            })?;
        let null = || Value::Union(0, Box::new(Value::Null));
        let mut members = vec![
            ("CreatedDate".to_owned(), Value::Long(created_date_ms)),
            (
                "CreatedById".to_owned(),
                Value::String(created_by_id.to_owned()),
            ),
        ];
        for field in &self.order_fields {
            let value = match (field.slot, order_id) {
                (Slot::Text, Some(id)) if field.name == ORDER_FIELD => {
                    Value::Union(1, Box::new(Value::String(id.to_owned())))
                }
                (Slot::Boolean { default }, _) => Value::Boolean(default),
                _ => null(),
            };
            members.push((field.name.clone(), value));
        }
        encode(schema, Value::Record(members))
    }
}

/// `value` as a bare Avro datum of `schema`: no container header, no fingerprint prefix.
pub(crate) fn encode(schema: &Schema, value: Value) -> Result<Vec<u8>, SchemaError> {
    GenericDatumWriter::builder(schema)
        .build()
        .and_then(|writer| writer.write_value_to_vec(value))
        .map_err(|err| SchemaError::Encode(Box::new(err)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The richer schema of `reference/pubsub-api.md` §5.5: the decoder's test vector.
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

    const RICH_DATUM_HEX: &str = "80a0abfef9622430303578783030303030315838557a41414b02243830317878303030303033475a306e4141470224303031787830303030303344476232414147021046494245522d31470200000000000000400280a0abfef9620001";

    fn repository() -> SalesforceSource {
        SalesforceSource::from_repository().expect("the repository's project")
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn some_string(text: &str) -> Value {
        Value::Union(1, Box::new(Value::String(text.to_owned())))
    }

    #[test]
    fn the_reference_schema_gets_the_reference_id_and_datum() {
        let schema = Schema::parse_str(RICH_SCHEMA).expect("parses");
        assert_eq!(schema_id(&schema), "T81xDFrCD7RmXBKAiSlc4Q");

        let record = Value::Record(vec![
            ("CreatedDate".into(), Value::Long(1_700_000_000_000)),
            (
                "CreatedById".into(),
                Value::String("005xx000001X8UzAAK".into()),
            ),
            ("OrderId__c".into(), some_string("801xx000003GZ0nAAG")),
            ("AccountId__c".into(), some_string("001xx000003DGb2AAG")),
            ("ProductCode__c".into(), some_string("FIBER-1G")),
            (
                "Quantity__c".into(),
                Value::Union(1, Box::new(Value::Double(2.0))),
            ),
            (
                "RequestedAt__c".into(),
                Value::Union(1, Box::new(Value::Long(1_700_000_000_000))),
            ),
            ("Notes__c".into(), Value::Union(0, Box::new(Value::Null))),
            ("IsRush__c".into(), Value::Boolean(true)),
        ]);
        let datum = encode(&schema, record).expect("encodes");
        assert_eq!(datum.len(), 93);
        assert_eq!(hex(&datum), RICH_DATUM_HEX);

        let mut registry = SchemaRegistry::new(&repository()).expect("registry");
        let id = registry.register(RICH_SCHEMA);
        assert_eq!(id, "T81xDFrCD7RmXBKAiSlc4Q");
        registry.check_datum(&id, &datum).expect("a whole datum");
        assert!(registry.check_datum(&id, &datum[..30]).is_err());
        let mut longer = datum.clone();
        longer.push(0);
        assert!(registry.check_datum(&id, &longer).is_err());
    }

    #[test]
    fn the_channel_schema_has_the_design_field_order_and_a_uuid_that_does_not_count() {
        let registry = SchemaRegistry::new(&repository()).expect("registry");
        let id = registry.order_schema_id().to_owned();
        assert_eq!(id.len(), 22);
        let served = registry.json(&id).expect("served");
        let json: serde_json::Value = serde_json::from_str(served).expect("JSON");
        assert_eq!(json["uuid"], id.as_str());
        assert_eq!(json["name"], "OrderProvisionRequested__e");
        assert_eq!(json["namespace"], "com.sforce.eventbus");
        let names: Vec<&str> = json["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .filter_map(|field| field["name"].as_str())
            .collect();
        assert_eq!(names, ["CreatedDate", "CreatedById", "OrderId__c"]);
        let reparsed = Schema::parse_str(served).expect("parses with uuid");
        assert_eq!(schema_id(&reparsed), id);
    }

    #[test]
    fn order_payloads_round_trip_and_null_is_branch_zero() {
        let registry = SchemaRegistry::new(&repository()).expect("registry");
        let id = registry.order_schema_id().to_owned();
        let with = registry
            .encode_order(
                1_700_000_000_000,
                "005xx000001X8UzAAK",
                Some("801xx000003GZ0nAAG"),
            )
            .expect("encodes");
        registry.check_datum(&id, &with).expect("valid");
        // long, then length-prefixed user id, then union branch 1 and the order id.
        assert_eq!(hex(&with[..6]), "80a0abfef962");
        assert_eq!(with[6], 36);
        assert_eq!(with[25], 2);
        assert_eq!(&with[27..], b"801xx000003GZ0nAAG");

        let without = registry
            .encode_order(1, "005xx000001X8UzAAK", None)
            .expect("encodes");
        assert_eq!(without.last(), Some(&0));
        registry.check_datum(&id, &without).expect("valid");
    }

    #[test]
    fn unparsable_json_is_still_served_under_its_own_id() {
        let mut registry = SchemaRegistry::new(&repository()).expect("registry");
        let id = registry.register("{not avro");
        assert_eq!(id.len(), 22);
        assert_eq!(registry.json(&id), Some("{not avro"));
        assert!(registry.check_datum(&id, &[0]).is_err());
    }
}
