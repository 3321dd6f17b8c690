//! The channel's Avro schema, derived from the platform event's definition in the DX project
//! the way Salesforce generates it (`reference/pubsub-api.md` §5.3–5.5): a record named after
//! the event in namespace `com.sforce.eventbus`; `CreatedDate` (`long`, epoch milliseconds)
//! and `CreatedById` (`string`) first; then each custom field.
//!
//! Salesforce lists custom fields in the order they were created. A DX project does not
//! record that order, and a deploy of the project creates them in alphabetical order of API
//! name, which is the order the loader lists them in, so that is the order here.
//!
//! Each custom field is a nullable union with a `null` default and a doc
//! `Data:<Kind>:<field id>`: Text, TextArea, LongTextArea and Picklist are `string`
//! (`Data:Text`), Number is `double` (`Data:Double`), DateTime is `long` epoch milliseconds
//! (`Data:DateTime`); a Checkbox is a plain `boolean` with its default (`Data:Boolean`). The
//! field id is a 15-character `00N…` id derived from the event's and the field's names, so
//! the served JSON is the same on every run (the schema id does not depend on docs anyway).
//! Date and the types a platform event cannot have are refused: how Salesforce types a Date
//! field in an event schema is not known well enough to emulate.

use md5::{Digest, Md5};
use serde_json::{Value, json};

use super::schema::SchemaError;
use crate::salesforce_source::{FieldType, SourceObject};

/// The namespace of every platform event schema.
const NAMESPACE: &str = "com.sforce.eventbus";

/// Characters of a Salesforce id.
const ID_ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// How a custom field is written in a datum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// `["null","string"]`.
    Text,
    /// `["null","double"]`.
    Double,
    /// `["null","long"]`, epoch milliseconds.
    DateTime,
    /// `boolean`, never null.
    Boolean {
        /// The checkbox's default.
        default: bool,
    },
}

/// One custom field of the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventField {
    /// The API name.
    pub(crate) name: String,
    /// How it is written.
    pub(crate) slot: Slot,
}

/// The schema of `event`: its JSON (without the `uuid` attribute) and its custom fields in
/// schema order.
pub(crate) fn derive(event: &SourceObject) -> Result<(Value, Vec<EventField>), SchemaError> {
    let mut fields = vec![
        json!({"name": "CreatedDate", "type": "long", "doc": "CreatedDate:DateTime"}),
        json!({"name": "CreatedById", "type": "string", "doc": "CreatedBy:EntityId"}),
    ];
    let mut custom = Vec::new();
    for field in &event.fields {
        let (slot, kind) = match &field.field_type {
            FieldType::Text { .. }
            | FieldType::TextArea
            | FieldType::LongTextArea { .. }
            | FieldType::Picklist { .. } => (Slot::Text, "Text"),
            FieldType::Number { .. } => (Slot::Double, "Double"),
            FieldType::DateTime => (Slot::DateTime, "DateTime"),
            FieldType::Checkbox { default } => (Slot::Boolean { default: *default }, "Boolean"),
            other => {
                return Err(SchemaError::UnsupportedField {
                    path: field.file.clone(),
                    event: event.name.clone(),
                    field: field.name.clone(),
                    field_type: other.metadata_name(),
                });
            }
        };
        let doc = format!("Data:{kind}:{}", field_id(&event.name, &field.name));
        fields.push(match slot {
            Slot::Text => nullable(&field.name, "string", &doc),
            Slot::Double => nullable(&field.name, "double", &doc),
            Slot::DateTime => nullable(&field.name, "long", &doc),
            Slot::Boolean { default } => {
                json!({"name": field.name, "type": "boolean", "doc": doc, "default": default})
            }
        });
        custom.push(EventField {
            name: field.name.clone(),
            slot,
        });
    }
    let schema = json!({
        "type": "record",
        "name": event.name,
        "namespace": NAMESPACE,
        "fields": fields,
    });
    Ok((schema, custom))
}

fn nullable(name: &str, avro_type: &str, doc: &str) -> Value {
    json!({"name": name, "type": ["null", avro_type], "doc": doc, "default": null})
}

/// A 15-character custom field id (`00N…`) that depends only on the object and field names.
pub(crate) fn field_id(object: &str, field: &str) -> String {
    let digest = Md5::digest(format!("{object}.{field}").as_bytes());
    let mut id = String::from("00N");
    for byte in digest.iter().take(12) {
        let index = usize::from(*byte) % ID_ALPHABET.len();
        id.push(char::from(ID_ALPHABET[index]));
    }
    id
}

#[cfg(test)]
mod tests {
    use apache_avro::{Schema, types::Value as Datum};

    use super::*;
    use crate::{
        pubsub::schema::{SchemaRegistry, schema_id},
        salesforce_source::{SalesforceSource, testing::Project},
    };

    const EVENT: &str = "OrderProvisionRequested__e";

    /// A project whose event has the custom fields of `reference/pubsub-api.md` §5.5.
    fn reference_project() -> Project {
        let project = Project::new();
        project.object(
            EVENT,
            "<label>Order Provision Requested</label><eventType>HighVolume</eventType>\
             <publishBehavior>PublishAfterCommit</publishBehavior>",
        );
        for (name, body) in [
            ("OrderId__c", "<type>Text</type><length>18</length>"),
            ("AccountId__c", "<type>Text</type><length>18</length>"),
            ("ProductCode__c", "<type>Text</type><length>255</length>"),
            (
                "Quantity__c",
                "<type>Number</type><precision>18</precision><scale>2</scale>",
            ),
            ("RequestedAt__c", "<type>DateTime</type>"),
            (
                "Notes__c",
                "<type>LongTextArea</type><length>32768</length>",
            ),
            (
                "IsRush__c",
                "<type>Checkbox</type><defaultValue>false</defaultValue>",
            ),
        ] {
            project.field(EVENT, name, &format!("<label>{name}</label>{body}"));
        }
        project
    }

    fn event(project: &Project) -> SalesforceSource {
        SalesforceSource::load(project.root()).expect("loads")
    }

    /// §5.5's fields by hand, in the order a deploy creates them, with the derived ids.
    fn hand_written() -> String {
        let doc = |kind: &str, field: &str| format!("Data:{kind}:{}", field_id(EVENT, field));
        let nullable = |field: &str, avro: &str, kind: &str| {
            format!(
                r#"{{"name":"{field}","type":["null","{avro}"],"doc":"{}","default":null}}"#,
                doc(kind, field)
            )
        };
        let fields = [
            r#"{"name":"CreatedDate","type":"long","doc":"CreatedDate:DateTime"}"#.to_owned(),
            r#"{"name":"CreatedById","type":"string","doc":"CreatedBy:EntityId"}"#.to_owned(),
            nullable("AccountId__c", "string", "Text"),
            format!(
                r#"{{"name":"IsRush__c","type":"boolean","doc":"{}","default":false}}"#,
                doc("Boolean", "IsRush__c")
            ),
            nullable("Notes__c", "string", "Text"),
            nullable("OrderId__c", "string", "Text"),
            nullable("ProductCode__c", "string", "Text"),
            nullable("Quantity__c", "double", "Double"),
            nullable("RequestedAt__c", "long", "DateTime"),
        ];
        format!(
            r#"{{"type":"record","name":"{EVENT}","namespace":"com.sforce.eventbus","fields":[{}]}}"#,
            fields.join(",")
        )
    }

    #[test]
    fn the_reference_event_derives_the_reference_shape_in_alphabetical_order() {
        let source = event(&reference_project());
        let (json, fields) = derive(source.object(EVENT).expect("the event")).expect("derives");

        assert_eq!(json["type"], "record");
        assert_eq!(json["name"], EVENT);
        assert_eq!(json["namespace"], "com.sforce.eventbus");
        let listed: Vec<(&str, String, &str)> = json["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|field| {
                (
                    field["name"].as_str().unwrap_or_default(),
                    field["type"].to_string(),
                    field["doc"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        let id = |field| field_id(EVENT, field);
        assert_eq!(
            listed,
            [
                ("CreatedDate", r#""long""#.into(), "CreatedDate:DateTime"),
                ("CreatedById", r#""string""#.into(), "CreatedBy:EntityId"),
                (
                    "AccountId__c",
                    r#"["null","string"]"#.into(),
                    format!("Data:Text:{}", id("AccountId__c")).as_str()
                ),
                (
                    "IsRush__c",
                    r#""boolean""#.into(),
                    format!("Data:Boolean:{}", id("IsRush__c")).as_str()
                ),
                (
                    "Notes__c",
                    r#"["null","string"]"#.into(),
                    format!("Data:Text:{}", id("Notes__c")).as_str()
                ),
                (
                    "OrderId__c",
                    r#"["null","string"]"#.into(),
                    format!("Data:Text:{}", id("OrderId__c")).as_str()
                ),
                (
                    "ProductCode__c",
                    r#"["null","string"]"#.into(),
                    format!("Data:Text:{}", id("ProductCode__c")).as_str()
                ),
                (
                    "Quantity__c",
                    r#"["null","double"]"#.into(),
                    format!("Data:Double:{}", id("Quantity__c")).as_str()
                ),
                (
                    "RequestedAt__c",
                    r#"["null","long"]"#.into(),
                    format!("Data:DateTime:{}", id("RequestedAt__c")).as_str()
                ),
            ]
        );
        let all = json["fields"].as_array().expect("fields");
        assert!(all[..2].iter().all(|field| field.get("default").is_none()));
        assert_eq!(all[3]["default"], false);
        assert!(
            all[2..]
                .iter()
                .filter(|f| f["name"] != "IsRush__c")
                .all(|f| f["default"].is_null())
        );
        assert_eq!(
            fields.iter().map(|f| f.slot).collect::<Vec<_>>(),
            [
                Slot::Text,
                Slot::Boolean { default: false },
                Slot::Text,
                Slot::Text,
                Slot::Text,
                Slot::Double,
                Slot::DateTime
            ]
        );

        let derived = Schema::parse(&json).expect("Avro");
        let by_hand = Schema::parse_str(&hand_written()).expect("Avro");
        assert_eq!(derived.canonical_form(), by_hand.canonical_form());
        assert_eq!(schema_id(&derived), schema_id(&by_hand));
        // §5.5 lists the same fields in another order; the order is part of the id.
        assert_ne!(schema_id(&derived), "T81xDFrCD7RmXBKAiSlc4Q");
    }

    #[test]
    fn encoding_fills_the_order_id_by_name_and_leaves_the_rest_empty() {
        let source = event(&reference_project());
        let registry = SchemaRegistry::new(&source).expect("registry");
        let id = registry.order_schema_id().to_owned();
        let datum = registry
            .encode_order(
                1_700_000_000_000,
                "005xx000001X8UzAAK",
                Some("801xx000003GZ0nAAG"),
            )
            .expect("encodes");
        registry
            .check_datum(&id, &datum)
            .expect("a datum of the schema");

        let served = registry.json(&id).expect("served");
        let schema = Schema::parse_str(served).expect("parses");
        let reader = apache_avro::reader::datum::GenericDatumReader::builder(&schema)
            .build()
            .expect("reader");
        let Datum::Record(members) = reader.read_value(&mut &datum[..]).expect("decodes") else {
            panic!("a record");
        };
        let value = |name: &str| {
            members
                .iter()
                .find(|(field, _)| field == name)
                .map(|(_, value)| value.clone())
                .expect(name)
        };
        assert_eq!(value("CreatedDate"), Datum::Long(1_700_000_000_000));
        assert_eq!(
            value("OrderId__c"),
            Datum::Union(1, Box::new(Datum::String("801xx000003GZ0nAAG".into())))
        );
        assert_eq!(value("IsRush__c"), Datum::Boolean(false));
        assert_eq!(value("Quantity__c"), Datum::Union(0, Box::new(Datum::Null)));
    }

    #[test]
    fn an_event_without_its_order_field_or_with_an_uncarried_type_is_refused() {
        let project = reference_project();
        let order_file = project
            .objects()
            .join(format!("{EVENT}/fields/OrderId__c.field-meta.xml"));
        std::fs::remove_file(&order_file).expect("removed");
        let error = SchemaRegistry::new(&event(&project)).expect_err("refused");
        let message = error.to_string();
        assert!(
            message.contains(&order_file.display().to_string()),
            "{message}"
        );
        assert!(message.contains("OrderId__c"), "{message}");

        let project = reference_project();
        let due = project.field(EVENT, "Due__c", "<label>Due</label><type>Date</type>");
        let error = SchemaRegistry::new(&event(&project)).expect_err("refused");
        let message = error.to_string();
        assert!(message.contains(&due.display().to_string()), "{message}");
        assert!(
            message.contains("Due__c") && message.contains("Date"),
            "{message}"
        );

        let project = Project::new();
        let error = SchemaRegistry::new(&event(&project)).expect_err("no event");
        assert!(error.to_string().contains(EVENT));
    }

    #[test]
    fn field_ids_are_stable_fifteen_character_custom_field_ids() {
        let id = field_id(EVENT, "OrderId__c");
        assert_eq!(id, field_id(EVENT, "OrderId__c"));
        assert_eq!(id.len(), 15);
        assert!(id.starts_with("00N"));
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(id, field_id(EVENT, "AccountId__c"));
        assert_ne!(id, field_id("Other__e", "OrderId__c"));
    }
}
