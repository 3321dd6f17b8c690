//! Avro decoding of one `OrderProvisionRequested__e` event on one core: events per second
//! for what ingest runs today ([`ingest::event::decode_order_id`], apache-avro's generic
//! reader built per event, the value validated, `OrderId__c` parsed as an Order id) against
//! faster ways to the same answer: apache-avro's reader built once with serde
//! deserialisation, and `serde_avro_fast`. Each way ends with the same validated Order id;
//! the id check alone is measured too, so the decoders' own share can be told apart.
//!
//! Two payloads: the channel's own schema as the Pub/Sub emulator serves it (the two system
//! fields and `OrderId__c`, 45 bytes), and the richer nine-field schema of the Pub/Sub fact
//! sheet with its 93-byte datum. Run with `cargo bench -p ingest --bench decode`.

#![allow(
    clippy::unwrap_used,
    missing_docs,
    reason = "a benchmark fails loudly on broken set-up; criterion's macros make items"
)]

use std::hint::black_box;

use apache_avro::{Schema, reader::datum::GenericDatumReader, types::Value};
use bridge_runtime::salesforce::SalesforceId;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ingest::event::{decode_order_id, parse_schema};
use serde::Deserialize;

/// The channel's schema, as served with its `uuid` attribute.
const CHANNEL_SCHEMA: &str = r#"{"type":"record","name":"OrderProvisionRequested__e","namespace":"com.sforce.eventbus","fields":[{"name":"CreatedDate","type":"long","doc":"CreatedDate:DateTime"},{"name":"CreatedById","type":"string","doc":"CreatedBy:EntityId"},{"name":"OrderId__c","type":["null","string"],"doc":"Data:Text:00N5e00000Q1aAA","default":null}],"uuid":"bench"}"#;

/// The nine-field schema of the fact sheet.
const REFERENCE_SCHEMA: &str = r#"{"type":"record","name":"OrderProvisionRequested__e","namespace":"com.sforce.eventbus","fields":[
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

/// Its 93-byte datum.
const REFERENCE_DATUM: &str = "80a0abfef9622430303578783030303030315838557a41414b02243830317878303030303033475a306e4141470224303031787830303030303344476232414147021046494245522d31470200000000000000400280a0abfef9620001";

/// The Order both payloads name.
const ORDER_ID: &str = "801xx000003GZ0nAAG";

/// The one field ingest reads; serde skips the others.
#[derive(Deserialize)]
#[serde(rename = "OrderProvisionRequested__e")]
struct OrderEvent {
    #[serde(rename = "OrderId__c")]
    order_id: Option<String>,
}

/// The same, borrowing the id from the payload (serde_avro_fast can).
#[derive(Deserialize)]
#[serde(rename = "OrderProvisionRequested__e")]
struct BorrowedOrderEvent<'a> {
    #[serde(rename = "OrderId__c", borrow)]
    order_id: Option<&'a str>,
}

fn order(id: Option<&str>) -> Option<SalesforceId> {
    SalesforceId::parse_with_prefix(id?.trim(), "801").ok()
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// A datum of the channel's schema, as the emulator encodes one.
fn channel_datum(schema: &Schema) -> Vec<u8> {
    let record = Value::Record(vec![
        ("CreatedDate".to_owned(), Value::Long(1_700_000_000_000)),
        (
            "CreatedById".to_owned(),
            Value::String("005xx000001X8UzAAK".to_owned()),
        ),
        (
            "OrderId__c".to_owned(),
            Value::Union(1, Box::new(Value::String(ORDER_ID.to_owned()))),
        ),
    ]);
    apache_avro::writer::datum::GenericDatumWriter::builder(schema)
        .build()
        .and_then(|writer| writer.write_value_to_vec(record))
        .unwrap()
}

fn decoding(c: &mut Criterion) {
    ingest::event::cap_allocations();
    let channel = parse_schema("channel", CHANNEL_SCHEMA).unwrap();
    let channel_payload = channel_datum(&channel);
    let reference = parse_schema("reference", REFERENCE_SCHEMA).unwrap();
    let cases = [
        ("channel", CHANNEL_SCHEMA, channel, channel_payload),
        (
            "reference",
            REFERENCE_SCHEMA,
            reference,
            hex(REFERENCE_DATUM),
        ),
    ];

    for (name, json, schema, payload) in cases {
        let reader = GenericDatumReader::builder(&schema).build().unwrap();
        let fast: serde_avro_fast::Schema = json.parse().unwrap();

        // Every way gives the same Order before anything is timed.
        let expected = decode_order_id(&schema, name, &payload).unwrap();
        assert_eq!(expected.as_str(), ORDER_ID);
        let event: OrderEvent = reader.read_deser(&mut payload.as_slice()).unwrap();
        assert_eq!(order(event.order_id.as_deref()).as_ref(), Some(&expected));
        let event: BorrowedOrderEvent<'_> =
            serde_avro_fast::from_datum_slice(&payload, &fast).unwrap();
        assert_eq!(order(event.order_id).as_ref(), Some(&expected));

        let mut group = c.benchmark_group(format!("decode/{name} ({} bytes)", payload.len()));
        group.throughput(Throughput::Elements(1));
        group.bench_function("apache-avro: ingest decode_order_id", |b| {
            b.iter(|| decode_order_id(black_box(&schema), name, black_box(&payload)).unwrap())
        });
        group.bench_function("apache-avro: reader built once, read_deser", |b| {
            b.iter(|| {
                let mut input = black_box(payload.as_slice());
                let event: OrderEvent = reader.read_deser(&mut input).unwrap();
                order(event.order_id.as_deref()).unwrap()
            })
        });
        group.bench_function("serde_avro_fast: from_datum_slice", |b| {
            b.iter(|| {
                let event: BorrowedOrderEvent<'_> =
                    serde_avro_fast::from_datum_slice(black_box(&payload), &fast).unwrap();
                order(event.order_id).unwrap()
            })
        });
        // What every way above shares: the Order id check and its 18-character form.
        group.bench_function("SalesforceId::parse_with_prefix alone", |b| {
            b.iter(|| order(Some(black_box(ORDER_ID))).unwrap())
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    // Short runs: the differences measured are large, and the machine is shared.
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = decoding
}
criterion_main!(benches);
