//! The loader against the repository's project and against small projects written here;
//! [`refusals`] holds the malformed ones, [`untrusted`] the ones that reach outside the
//! project or hold what is not metadata.

mod refusals;
mod untrusted;

use super::{
    testing::{Project, text_field},
    *,
};

#[test]
fn the_repository_project_loads_with_its_event_and_fields() {
    let source = SalesforceSource::load(&dir_from(None)).expect("the repository's project loads");
    let names: Vec<&str> = source.objects().iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        ["Account", "Order", "OrderProvisionRequested__e", "Product2"]
    );

    let event = source
        .object("orderprovisionrequested__e")
        .expect("the event");
    assert_eq!(
        event.kind,
        ObjectKind::PlatformEvent {
            publish_behavior: "PublishAfterCommit".into(),
            event_type: "HighVolume".into(),
        }
    );
    assert_eq!(event.label.as_deref(), Some("Order Provision Requested"));
    let order_id = event.field("OrderId__c").expect("OrderId__c");
    assert_eq!(order_id.field_type, FieldType::Text { length: 18 });
    assert_eq!(order_id.label, "Order ID");
    assert!(order_id.required);

    let order = source.object("Order").expect("Order");
    assert_eq!(order.kind, ObjectKind::StandardObject);
    let fields: Vec<&str> = order.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        fields,
        [
            "Activation_Error_Code__c",
            "Activation_Error_Message__c",
            "Activation_Status__c",
            "WHMCS_Order_ID__c"
        ]
    );
    let status = &order.fields[2];
    assert_eq!(
        status.field_type,
        FieldType::Picklist {
            values: vec![
                "Not Started".into(),
                "Activating".into(),
                "Activated".into(),
                "Failed".into()
            ],
            restricted: true,
        }
    );
    assert!(status.accepts_text("Failed") && !status.accepts_text("failed"));

    let cycle = source
        .field("Product2", "Billing_Cycle__c")
        .expect("the cycle");
    assert!(cycle.field_type.is_restricted_picklist());
    assert_eq!(cycle.field_type.picklist_values().map(<[_]>::len), Some(8));
    let client = source.field("Account", "WH_Client_ID__c").expect("client");
    assert_eq!(client.field_type.text_length(), Some(32));
    assert!(
        client
            .file
            .ends_with("Account/fields/WH_Client_ID__c.field-meta.xml")
    );
}

#[test]
fn every_modelled_type_is_read_with_its_limits() {
    let project = Project::new();
    project.object(
        "Shipment__c",
        "<label>Shipment</label><deploymentStatus>Deployed</deploymentStatus>",
    );
    for (name, body) in [
        ("Code__c", text_field("Code", "12")),
        (
            "Notes__c",
            "<label>Notes</label><type>TextArea</type>".into(),
        ),
        (
            "Story__c",
            "<label>Story</label><length>32768</length><type>LongTextArea</type>\
             <visibleLines>3</visibleLines>"
                .into(),
        ),
        (
            "Weight__c",
            "<label>Weight</label><precision>10</precision><scale>2</scale><type>Number</type>"
                .into(),
        ),
        (
            "Price__c",
            "<label>Price</label><precision>18</precision><scale>0</scale><type>Currency</type>"
                .into(),
        ),
        (
            "Share__c",
            "<label>Share</label><precision>5</precision><scale>5</scale><type>Percent</type>"
                .into(),
        ),
        (
            "Rush__c",
            "<label>Rush</label><defaultValue>true</defaultValue><type>Checkbox</type>".into(),
        ),
        ("Due__c", "<label>Due</label><type>Date</type>".into()),
        ("At__c", "<label>At</label><type>DateTime</type>".into()),
        ("Mail__c", "<label>Mail</label><type>Email</type>".into()),
        ("Tel__c", "<label>Tel</label><type>Phone</type>".into()),
        ("Site__c", "<label>Site</label><type>Url</type>".into()),
        (
            "Tier__c",
            "<label>Tier</label><required>true</required><type>Picklist</type><valueSet>\
             <valueSetDefinition><value><fullName>Gold</fullName><label>Gold</label></value>\
             <value><fullName>Lead</fullName><isActive>false</isActive></value>\
             </valueSetDefinition></valueSet>"
                .into(),
        ),
    ] {
        project.field("Shipment__c", name, &body);
    }

    let source = project.load().expect("loads");
    let shipment = source.object("Shipment__c").expect("the object");
    assert_eq!(shipment.kind, ObjectKind::CustomObject);
    assert_eq!(shipment.label.as_deref(), Some("Shipment"));
    let names: Vec<&str> = shipment.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "At__c",
            "Code__c",
            "Due__c",
            "Mail__c",
            "Notes__c",
            "Price__c",
            "Rush__c",
            "Share__c",
            "Site__c",
            "Story__c",
            "Tel__c",
            "Tier__c",
            "Weight__c"
        ]
    );
    let type_of = |name: &str| shipment.field(name).expect(name).field_type.clone();
    assert_eq!(type_of("Code__c"), FieldType::Text { length: 12 });
    assert_eq!(type_of("Notes__c").text_length(), Some(TEXT_AREA_LENGTH));
    assert_eq!(
        type_of("Story__c"),
        FieldType::LongTextArea { length: 32768 }
    );
    assert_eq!(
        type_of("Weight__c"),
        FieldType::Number {
            precision: 10,
            scale: 2
        }
    );
    assert_eq!(
        type_of("Price__c"),
        FieldType::Currency {
            precision: 18,
            scale: 0
        }
    );
    assert_eq!(
        type_of("Share__c"),
        FieldType::Percent {
            precision: 5,
            scale: 5
        }
    );
    assert_eq!(type_of("Rush__c"), FieldType::Checkbox { default: true });
    assert_eq!(type_of("Due__c"), FieldType::Date);
    assert_eq!(type_of("At__c"), FieldType::DateTime);
    assert_eq!(type_of("Mail__c").text_length(), Some(EMAIL_LENGTH));
    assert_eq!(type_of("Tel__c").text_length(), Some(PHONE_LENGTH));
    assert_eq!(type_of("Site__c").text_length(), Some(URL_LENGTH));
    assert_eq!(
        type_of("Tier__c"),
        FieldType::Picklist {
            values: vec!["Gold".into()],
            restricted: false
        }
    );
    let tier = shipment.field("tier__C").expect("any casing");
    assert!(tier.required && tier.accepts_text("Platinum"));
    assert!(
        !shipment
            .field("Rush__c")
            .expect("Rush")
            .accepts_text("true")
    );
    assert!(
        !shipment
            .field("Code__c")
            .expect("Code")
            .accepts_text("1234567890123")
    );
}

#[test]
fn an_object_split_over_two_package_directories_is_one_object() {
    let project = Project::new();
    project.write(
        "sfdx-project.json",
        r#"{"packageDirectories": [{"path": "force-app"}, {"path": "extra"}]}"#,
    );
    project.field("Account", "B__c", &text_field("B", "5"));
    project.write(
        "extra/objects/Account/fields/A__c.field-meta.xml",
        &format!("<CustomField>{}</CustomField>", text_field("A", "7")),
    );
    // Files that are not field definitions and folders of other metadata are left alone.
    project.write("force-app/main/default/objects/Account/fields/README", "x");
    project.write(
        "force-app/main/default/flows/Broken.flow-meta.xml",
        "<not xml",
    );

    let source = project.load().expect("loads");
    let account = source.object("Account").expect("Account");
    let names: Vec<&str> = account.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["A__c", "B__c"]);

    let again = project.write(
        "extra/objects/Account/fields/B__c.field-meta.xml",
        &format!("<CustomField>{}</CustomField>", text_field("B", "7")),
    );
    let error = project.refused(&again, &["Account.B__c", "force-app"]);
    assert!(matches!(error.problem(), Some(Problem::Duplicate(_))));
}

#[test]
fn the_directory_comes_from_the_environment_when_set() {
    assert_eq!(
        dir_from(Some(OsString::from("/tmp/org"))),
        PathBuf::from("/tmp/org")
    );
    let default = dir_from(Some(OsString::new()));
    assert_eq!(default, dir_from(None));
    assert!(default.ends_with("salesforce"));
    assert!(default.join("sfdx-project.json").is_file());
}
