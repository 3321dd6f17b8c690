//! The channel's schema follows the platform event in the org's DX project: fields added to a
//! copy of `salesforce/` appear in `GetSchema` in alphabetical order, change the schema id,
//! and the Flow's events are encoded with them.

use std::{fs, io, path::Path};

use apache_avro::types::Value;
use bridge_proto::eventbus::v1::ReplayPreset;
use bridge_runtime::http_client::install_crypto_provider;
use bridge_tests::TestKeys;
use sandbox::salesforce::{NewOrder, SalesforceEmulator, SalesforceOptions};

use crate::{CLIENT_ID, USERNAME, attach, fetch, order_id_of, quiet_options, start};

const EVENT_FIELDS: &str = "force-app/main/default/objects/OrderProvisionRequested__e/fields";

fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        // Tooling folders hold no metadata.
        if name.to_string_lossy().starts_with('.') || name == "node_modules" {
            continue;
        }
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &to.join(&name))?;
        } else {
            fs::copy(entry.path(), to.join(&name))?;
        }
    }
    Ok(())
}

#[tokio::test]
async fn fields_added_to_the_event_are_served_and_encoded() {
    let project = tempfile::tempdir().expect("a temporary directory");
    copy_dir(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../salesforce")),
        project.path(),
    )
    .expect("the project copies");
    let fields = project.path().join(EVENT_FIELDS);
    fs::write(
        fields.join("IsRush__c.field-meta.xml"),
        "<CustomField><label>Rush</label><type>Checkbox</type>\
         <defaultValue>false</defaultValue></CustomField>",
    )
    .expect("written");
    fs::write(
        fields.join("Attempt__c.field-meta.xml"),
        "<CustomField><label>Attempt</label><type>Number</type><precision>3</precision>\
         <scale>0</scale></CustomField>",
    )
    .expect("written");

    install_crypto_provider();
    let mut options = SalesforceOptions::new(CLIENT_ID, USERNAME, &TestKeys::primary().public_pem);
    options.source_dir = Some(project.path().to_owned());
    let sf = SalesforceEmulator::start(options)
        .await
        .expect("the org starts");
    let bus = attach(sf.clone(), quiet_options()).await;
    let default_bus = start().await;
    assert_ne!(
        bus.pubsub.order_schema_id(),
        default_bus.pubsub.order_schema_id()
    );

    let schema = bus.order_schema().await;
    let json: serde_json::Value = serde_json::from_str(&schema.canonical_form()).expect("JSON");
    let names: Vec<&str> = json["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|field| field["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "CreatedDate",
            "CreatedById",
            "Attempt__c",
            "IsRush__c",
            "OrderId__c"
        ]
    );

    let mut stream = bus
        .subscribe_ok(fetch(ReplayPreset::Earliest, &[], 10))
        .await;
    let order = sf.add_order(NewOrder {
        account_id: String::new(),
        pricebook_id: String::new(),
        items: vec![],
    });
    sf.approve_order(&order).expect("approved");
    let events = stream.events(1).await;
    assert_eq!(
        order_id_of(&schema, &events[0]).as_deref(),
        Some(order.as_str())
    );

    let payload = &events[0].event.as_ref().expect("an event").payload;
    let reader = apache_avro::reader::datum::GenericDatumReader::builder(&schema)
        .build()
        .expect("a reader");
    let Value::Record(members) = reader.read_value(&mut payload.as_slice()).expect("a datum")
    else {
        panic!("not a record");
    };
    assert_eq!(
        members[2],
        (
            "Attempt__c".to_owned(),
            Value::Union(0, Box::new(Value::Null))
        )
    );
    assert_eq!(members[3], ("IsRush__c".to_owned(), Value::Boolean(false)));
}
