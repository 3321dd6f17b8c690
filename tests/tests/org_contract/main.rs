//! The org contract: every Salesforce field the two services read or write exists in the
//! repository's `salesforce/` project with a type that allows what the services do with it.
//!
//! The services declare their fields (`fulfillment::orchestrator::fields_used`,
//! `ingest::fields_used`), each checked there against its own code; this test holds those
//! declarations against the deployable source, so the org an admin deploys and the code that
//! runs against it cannot drift apart unnoticed.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on broken set-up")]

use std::path::{Path, PathBuf};

use bridge_runtime::salesforce::fields::FieldUse;
use sandbox::salesforce_source::SalesforceSource;

/// Every field either service uses.
fn fields_used() -> Vec<FieldUse> {
    fulfillment::orchestrator::fields_used::FIELDS_USED
        .iter()
        .chain(ingest::fields_used::FIELDS_USED)
        .copied()
        .collect()
}

/// Every way `source` breaks the services' use of its fields, one sentence each.
fn contract_problems(source: &SalesforceSource, uses: &[FieldUse]) -> Vec<String> {
    uses.iter()
        .filter_map(|usage| source.check_use(usage).err())
        .map(|mismatch| format!("{mismatch} ({})", source.project_dir().display()))
        .collect()
}

/// A copy of the repository's `salesforce/` project that a test may change.
fn project_copy() -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let target = temp.path().join("salesforce");
    copy_tree(&SalesforceSource::repository_dir(), &target);
    (temp, target)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn field_file(project: &Path, usage: &FieldUse) -> PathBuf {
    project
        .join("force-app/main/default/objects")
        .join(usage.object)
        .join("fields")
        .join(format!("{}.field-meta.xml", usage.field))
}

#[test]
fn every_field_the_services_use_exists_in_the_source_with_a_compatible_type() {
    let source = SalesforceSource::from_repository().unwrap_or_else(|err| panic!("{err}"));
    let uses = fields_used();
    assert!(uses.len() >= 8, "both services declare their fields");
    let problems = contract_problems(&source, &uses);
    assert!(
        problems.is_empty(),
        "the Salesforce source does not fit the services:\n{}",
        problems.join("\n")
    );
}

#[test]
fn removing_any_field_the_services_use_fails_naming_that_field() {
    for usage in fields_used() {
        let (_temp, project) = project_copy();
        std::fs::remove_file(field_file(&project, &usage)).unwrap();
        let source = SalesforceSource::load(&project).unwrap_or_else(|err| panic!("{err}"));
        let problems = contract_problems(&source, &fields_used());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with(&format!("{}: not defined", usage.path())),
            "{problems:?} should name {}",
            usage.path()
        );
    }
}

#[test]
fn a_shortened_text_field_or_a_picklist_without_a_written_value_is_named() {
    let uses = fields_used();
    let message = uses
        .iter()
        .find(|usage| usage.field == "Activation_Error_Message__c")
        .unwrap();
    let status = uses
        .iter()
        .find(|usage| usage.field == "Activation_Status__c")
        .unwrap();
    let (_temp, project) = project_copy();

    let path = field_file(&project, message);
    let xml = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        xml.replace("<length>255</length>", "<length>80</length>"),
    )
    .unwrap();
    let path = field_file(&project, status);
    let xml = std::fs::read_to_string(&path).unwrap();
    let without_failed = xml.replace(
        "<value>\n                <fullName>Failed</fullName>\n                <default>false</default>\n                <label>Failed</label>\n            </value>\n",
        "",
    );
    assert_ne!(xml, without_failed, "the test edits the picklist");
    std::fs::write(&path, without_failed).unwrap();

    let source = SalesforceSource::load(&project).unwrap_or_else(|err| panic!("{err}"));
    let problems = contract_problems(&source, &uses);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems.iter().any(|p| p.starts_with(
            "Order.Activation_Error_Message__c: holds 80 characters, the service needs 255"
        )),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p
                .starts_with("Order.Activation_Status__c: the picklist does not offer \"Failed\"")),
        "{problems:?}"
    );
}

#[test]
fn a_billing_cycle_the_mapping_does_not_know_is_named() {
    let usage = fields_used()
        .into_iter()
        .find(|usage| usage.field == "Billing_Cycle__c")
        .unwrap();
    let (_temp, project) = project_copy();
    let path = field_file(&project, &usage);
    let xml = std::fs::read_to_string(&path).unwrap();
    let weekly = xml.replace("<fullName>Free</fullName>", "<fullName>Weekly</fullName>");
    assert_ne!(xml, weekly, "the test edits the picklist");
    std::fs::write(&path, weekly).unwrap();
    let source = SalesforceSource::load(&project).unwrap_or_else(|err| panic!("{err}"));
    let problems = contract_problems(&source, &fields_used());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with(
            "Product2.Billing_Cycle__c: the picklist offers \"Weekly\", which the service does not understand"
        ),
        "{problems:?}"
    );
}

#[test]
fn a_text_field_retyped_as_a_number_is_named() {
    let usage = fields_used()
        .into_iter()
        .find(|usage| usage.field == "WH_Client_ID__c")
        .unwrap();
    let (_temp, project) = project_copy();
    let path = field_file(&project, &usage);
    let xml = std::fs::read_to_string(&path).unwrap();
    let number = xml
        .replace(
            "<length>32</length>",
            "<precision>18</precision>\n    <scale>0</scale>",
        )
        .replace("<type>Text</type>", "<type>Number</type>");
    std::fs::write(&path, number).unwrap();
    let source = SalesforceSource::load(&project).unwrap_or_else(|err| panic!("{err}"));
    let problems = contract_problems(&source, &fields_used());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("Account.WH_Client_ID__c: a Number field, not text"),
        "{problems:?}"
    );
}
