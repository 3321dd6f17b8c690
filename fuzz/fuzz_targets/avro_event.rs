//! Fuzzes ingest's event decoding: `OrderProvisionRequested__e` payloads read with the channel's
//! real schemas, and schema JSON as `GetSchema` may return it.
//!
//! Input: one selector byte, then
//! - `0`: a payload for the channel's schema as the emulator serves it (three fields);
//! - `1`: a payload for the richer schema of the Pub/Sub fact sheet (nine fields);
//! - `2`: schema JSON, a NUL byte, then a payload for that schema;
//! - `3`: schema JSON alone.
//!
//! Besides "no panic, no hang, no memory blow-up" (libFuzzer's `-timeout` and `-rss_limit_mb`,
//! and the product's own Avro allocation cap), every decoded Order id must be an 18-character
//! `801` id that `SalesforceId::parse` gives back unchanged and whose first fifteen characters
//! stand in the payload, and every poison reason must be one this path can give.

#![no_main]

use std::sync::LazyLock;

use apache_avro::Schema;
use bridge_fuzz::{is_id18, selector, split_at_nul};
use bridge_runtime::salesforce::SalesforceId;
use ingest::event::{PoisonReason, cap_allocations, decode_order_id, parse_schema};
use libfuzzer_sys::fuzz_target;

/// The channel's schema for the `salesforce/` project: the fields, types and order the emulated
/// `GetSchema` serves (so the same schema id; only the made-up field id in a `doc` differs), with
/// a `uuid` attribute as some real answers carry.
const CHANNEL_SCHEMA: &str = r#"{"type":"record","name":"OrderProvisionRequested__e","namespace":"com.sforce.eventbus","fields":[{"name":"CreatedDate","type":"long","doc":"CreatedDate:DateTime"},{"name":"CreatedById","type":"string","doc":"CreatedBy:EntityId"},{"name":"OrderId__c","type":["null","string"],"doc":"Data:Text:00N5e00000Q1aAA","default":null}],"uuid":"fuzz"}"#;

/// The richer example schema of the Pub/Sub fact sheet (§5.5), id `T81xDFrCD7RmXBKAiSlc4Q`.
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

static CHANNEL: LazyLock<Schema> =
    LazyLock::new(|| parse_schema("channel", CHANNEL_SCHEMA).expect("the channel schema parses"));
static RICH: LazyLock<Schema> =
    LazyLock::new(|| parse_schema("rich", RICH_SCHEMA).expect("the rich schema parses"));

fuzz_target!(|data: &[u8]| {
    // The product sets the cap before any decoding; so does every run here.
    cap_allocations();
    let Some((which, rest)) = selector(data) else {
        return;
    };
    match which % 4 {
        0 => check_decode(&CHANNEL, rest),
        1 => check_decode(&RICH, rest),
        2 => {
            let (json, payload) = split_at_nul(rest);
            if let Some(schema) = check_schema(json) {
                check_decode(&schema, payload.unwrap_or_default());
            }
        }
        _ => {
            if let Some(schema) = check_schema(rest) {
                // A schema that parses must also be usable for the smallest datums.
                for payload in [&[][..], &[0][..], &[2, 0][..]] {
                    check_decode(&schema, payload);
                }
            }
        }
    }
});

/// Parses schema JSON the way ingest does with `GetSchema`'s answer.
fn check_schema(json: &[u8]) -> Option<Schema> {
    let text = std::str::from_utf8(json).ok()?;
    match parse_schema("fuzz", text) {
        Ok(schema) => Some(schema),
        Err(PoisonReason::BadSchema { schema_id, .. }) => {
            assert_eq!(schema_id, "fuzz");
            None
        }
        Err(other) => panic!("parse_schema gave a reason it never should: {other:?}"),
    }
}

fn check_decode(schema: &Schema, payload: &[u8]) {
    match decode_order_id(schema, "fuzz", payload) {
        Ok(id) => {
            let text = id.as_str();
            assert!(
                is_id18(text),
                "decoded id {text:?} is not 18 letters and digits"
            );
            assert!(
                text.starts_with("801"),
                "decoded id {text:?} is not an Order id"
            );
            assert_eq!(
                SalesforceId::parse(text).as_ref(),
                Ok(&id),
                "not normalised"
            );
            // The id came out of the payload: its first fifteen characters are there, in some
            // case (an 18-character id is case-insensitive).
            let head = &text.as_bytes()[..15];
            assert!(
                payload
                    .windows(15)
                    .any(|window| window.eq_ignore_ascii_case(head)),
                "decoded id {text:?} does not occur in the payload"
            );
        }
        Err(reason) => {
            // Display must work for every reason: it is logged and dead-lettered.
            let _ = reason.to_string();
            match reason {
                PoisonReason::Undecodable { schema_id, .. } => assert_eq!(schema_id, "fuzz"),
                PoisonReason::MissingOrderId => {}
                PoisonReason::MalformedOrderId { value, .. } => {
                    assert!(value.chars().count() <= 40, "the value is not cut short");
                }
                other => panic!("decode_order_id gave a reason it never should: {other:?}"),
            }
        }
    }
}
