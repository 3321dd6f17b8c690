//! Malformed projects, one file at a time: each is refused with an error that names the file,
//! the object and field, and what is wrong.

use super::super::{
    Problem, SOURCE_ENV, SalesforceSource, SourceError,
    testing::{Project, text_field},
};

#[test]
fn a_field_without_a_type_is_refused_naming_file_and_field() {
    let project = Project::new();
    let file = project.field("Order", "Code__c", "<label>Code</label><length>5</length>");
    let error = project.refused(&file, &["Order.Code__c", "<type>"]);
    assert!(matches!(error.problem(), Some(Problem::Missing("type"))));
}

#[test]
fn an_unknown_type_is_refused() {
    let project = Project::new();
    let file = project.field(
        "Order",
        "Geo__c",
        "<label>Geo</label><type>Location</type><scale>3</scale>",
    );
    let error = project.refused(&file, &["Order.Geo__c", "\"Location\""]);
    assert!(matches!(error.problem(), Some(Problem::UnknownType(t)) if t == "Location"));
}

#[test]
fn bad_lengths_and_digits_are_refused() {
    for (body, element) in [
        (text_field("Code", "0"), "length"),
        (text_field("Code", "256"), "length"),
        (text_field("Code", "twelve"), "length"),
        ("<label>Code</label><type>Text</type>".to_owned(), "length"),
        (
            "<label>N</label><precision>19</precision><scale>0</scale><type>Number</type>"
                .to_owned(),
            "precision",
        ),
        (
            "<label>N</label><precision>4</precision><scale>5</scale><type>Number</type>"
                .to_owned(),
            "scale",
        ),
        (
            "<label>L</label><length>200000</length><type>LongTextArea</type>".to_owned(),
            "length",
        ),
    ] {
        let project = Project::new();
        let file = project.field("Product2", "Code__c", &body);
        let error = project.refused(&file, &["Product2.Code__c", element]);
        assert!(
            matches!(
                error.problem(),
                Some(Problem::BadValue { element: e, .. } | Problem::Missing(e)) if *e == element
            ),
            "{body}: {error}"
        );
    }
}

#[test]
fn a_picklist_needs_values_of_its_own() {
    for body in [
        "<label>P</label><type>Picklist</type>",
        "<label>P</label><type>Picklist</type><valueSet><restricted>true</restricted>\
         <valueSetDefinition><sorted>false</sorted></valueSetDefinition></valueSet>",
        "<label>P</label><type>Picklist</type><valueSet><valueSetDefinition><value>\
         <fullName>Old</fullName><isActive>false</isActive></value></valueSetDefinition>\
         </valueSet>",
    ] {
        let project = Project::new();
        let file = project.field("Product2", "Cycle__c", body);
        let error = project.refused(&file, &["Product2.Cycle__c", "picklist without values"]);
        assert!(matches!(error.problem(), Some(Problem::NoPicklistValues)));
    }

    let project = Project::new();
    let file = project.field(
        "Product2",
        "Cycle__c",
        "<label>P</label><type>Picklist</type><valueSet><valueSetName>Cycles</valueSetName>\
         </valueSet>",
    );
    let error = project.refused(&file, &["Product2.Cycle__c", "Cycles"]);
    assert!(matches!(error.problem(), Some(Problem::GlobalValueSet(_))));
}

#[test]
fn unparsable_xml_and_wrong_roots_are_refused() {
    let project = Project::new();
    let file = project.write(
        "force-app/main/default/objects/Order/fields/Code__c.field-meta.xml",
        "<CustomField><label>Code</label><type>Text</CustomField>",
    );
    let error = project.refused(&file, &["Order.Code__c", "not well-formed XML"]);
    assert!(matches!(error.problem(), Some(Problem::Xml(_))));

    let project = Project::new();
    let file = project.write(
        "force-app/main/default/objects/Order/fields/Code__c.field-meta.xml",
        "<CustomObject><label>Code</label></CustomObject>",
    );
    let error = project.refused(&file, &["Order.Code__c", "<CustomObject>"]);
    assert!(matches!(error.problem(), Some(Problem::Root { .. })));

    let project = Project::new();
    let file = project.field("Order", "Code__c", "<fullName>Other__c</fullName>");
    let error = project.refused(&file, &["Order.Code__c", "Other__c"]);
    assert!(matches!(error.problem(), Some(Problem::NameMismatch(_))));

    let project = Project::new();
    let file = project.field(
        "Order",
        "Code__c",
        &format!("{}<required>yes</required>", text_field("Code", "5")),
    );
    project.refused(&file, &["Order.Code__c", "required", "\"yes\""]);
}

#[test]
fn a_platform_event_needs_its_own_file_saying_how_it_publishes() {
    let project = Project::new();
    project.field("Ping__e", "OrderId__c", &text_field("Order", "18"));
    let expected = project.objects().join("Ping__e/Ping__e.object-meta.xml");
    let error = project.refused(&expected, &["Ping__e"]);
    assert!(matches!(error.problem(), Some(Problem::MissingFile)));

    let file = project.object(
        "Ping__e",
        "<label>Ping</label><eventType>HighVolume</eventType>",
    );
    let error = project.refused(&file, &["Ping__e", "publishBehavior"]);
    assert!(matches!(
        error.problem(),
        Some(Problem::Missing("publishBehavior"))
    ));

    project.object(
        "Ping__e",
        "<label>Ping</label><eventType>HighVolume</eventType>\
         <publishBehavior>PublishImmediately</publishBehavior>",
    );
    let source = project.load().expect("loads");
    assert!(source.object("Ping__e").expect("Ping").is_platform_event());
}

#[test]
fn a_missing_project_or_package_directory_is_named() {
    let missing = std::env::temp_dir().join("no-such-dx-project-here");
    let error = SalesforceSource::load(&missing).expect_err("no project");
    assert!(matches!(error, SourceError::NoProject { .. }));
    let message = error.to_string();
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
    assert!(message.contains(SOURCE_ENV), "{message}");

    let project = Project::new();
    let file = project.write(
        "sfdx-project.json",
        r#"{"packageDirectories": [{"path": "gone"}]}"#,
    );
    project.refused(&file, &["\"gone\""]);
    let file = project.write("sfdx-project.json", "{");
    project.refused(&file, &["not valid JSON"]);
}

#[test]
fn a_picklist_value_listed_twice_is_refused_in_any_casing() {
    for second in ["Gold", "GOLD"] {
        let project = Project::new();
        let file = project.field(
            "Product2",
            "Tier__c",
            &format!(
                "<label>Tier</label><type>Picklist</type><valueSet><valueSetDefinition>\
                 <value><fullName>Gold</fullName></value>\
                 <value><fullName>{second}</fullName><isActive>false</isActive></value>\
                 </valueSetDefinition></valueSet>"
            ),
        );
        let error = project.refused(&file, &["Product2.Tier__c", second, "twice"]);
        assert!(matches!(error.problem(), Some(Problem::DuplicateValue(v)) if v == second));
    }
}

#[test]
fn a_platform_event_field_must_be_custom_and_of_a_type_events_have() {
    let event = |project: &Project| {
        project.object(
            "Ping__e",
            "<label>Ping</label><eventType>HighVolume</eventType>\
             <publishBehavior>PublishAfterCommit</publishBehavior>",
        );
    };
    for (name, body, expected) in [
        (
            "Tier__c",
            "<label>Tier</label><type>Picklist</type><valueSet><valueSetDefinition>\
             <value><fullName>Gold</fullName></value></valueSetDefinition></valueSet>",
            "Picklist",
        ),
        (
            "Notes__c",
            "<label>Notes</label><type>TextArea</type>",
            "TextArea",
        ),
        ("Mail__c", "<label>Mail</label><type>Email</type>", "Email"),
        (
            "Price__c",
            "<label>Price</label><precision>5</precision><scale>2</scale><type>Currency</type>",
            "Currency",
        ),
    ] {
        let project = Project::new();
        event(&project);
        let file = project.field("Ping__e", name, body);
        let error = project.refused(&file, &[&format!("Ping__e.{name}"), expected]);
        assert!(
            matches!(error.problem(), Some(Problem::NotForEvents(t)) if *t == expected),
            "{error}"
        );
    }

    let project = Project::new();
    event(&project);
    let file = project.field(
        "Ping__e",
        "CreatedDate",
        "<label>Created</label><type>DateTime</type>",
    );
    let error = project.refused(&file, &["Ping__e.CreatedDate", "only custom fields"]);
    assert!(matches!(error.problem(), Some(Problem::NotCustom)));

    // Every type an event may have loads; the same Picklist on an ordinary object does too.
    let project = Project::new();
    event(&project);
    for (name, body) in [
        ("Code__c", text_field("Code", "18")),
        (
            "Story__c",
            "<label>S</label><length>1000</length><type>LongTextArea</type>".into(),
        ),
        (
            "Count__c",
            "<label>C</label><precision>3</precision><scale>0</scale><type>Number</type>".into(),
        ),
        ("Rush__c", "<label>R</label><type>Checkbox</type>".into()),
        ("Due__c", "<label>D</label><type>Date</type>".into()),
        ("At__c", "<label>A</label><type>DateTime</type>".into()),
    ] {
        project.field("Ping__e", name, &body);
    }
    project.field(
        "Order",
        "Tier__c",
        "<label>Tier</label><type>Picklist</type><valueSet><valueSetDefinition>\
         <value><fullName>Gold</fullName></value></valueSetDefinition></valueSet>",
    );
    let source = project.load().expect("loads");
    assert_eq!(source.object("Ping__e").expect("the event").fields.len(), 6);
}

#[test]
fn an_element_read_once_that_appears_twice_is_refused() {
    let project = Project::new();
    let file = project.field(
        "Order",
        "Code__c",
        "<label>Code</label><length>5</length><type>Text</type><type>Checkbox</type>",
    );
    let error = project.refused(&file, &["Order.Code__c", "<type> appears more than once"]);
    assert!(matches!(error.problem(), Some(Problem::Repeated("type"))));

    let project = Project::new();
    let file = project.field(
        "Order",
        "Tier__c",
        "<label>T</label><type>Picklist</type><valueSet><restricted>true</restricted>\
         <restricted>false</restricted><valueSetDefinition><value><fullName>A</fullName>\
         </value></valueSetDefinition></valueSet>",
    );
    project.refused(&file, &["Order.Tier__c", "<restricted>"]);
}

#[test]
fn package_directories_that_overlap_are_refused() {
    for (first, second) in [
        ("force-app", "force-app"),
        ("force-app", "./force-app/main"),
        (".", "force-app"),
    ] {
        let project = Project::new();
        let file = project.write(
            "sfdx-project.json",
            &serde_json::json!({"packageDirectories": [{"path": first}, {"path": second}]})
                .to_string(),
        );
        project.refused(&file, &["overlap", first, second]);
    }
}
