//! The org follows the Salesforce DX project it is started from: a field removed from a copy
//! of `salesforce/` is unknown to `PATCH` and SOQL, a shortened one refuses longer text, the
//! repository's restricted picklist refuses values seeding may still store, and a broken
//! project stops the start with an error naming the file.

use std::{fs, io, path::Path};

use sandbox::salesforce::{SalesforceEmulator, SalesforceOptions};
use serde_json::json;

use super::{Api, CLIENT_ID, USERNAME, V, seed, start, start_with};

/// The repository's project.
fn repository_project() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../salesforce"))
}

/// A private copy of the repository's project.
fn copy_of_project() -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("a temporary directory");
    copy_dir(repository_project(), copy.path()).expect("the project copies");
    copy
}

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
            copy_dir(&entry.path(), &to.join(entry.file_name()))?;
        } else {
            fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

fn field_file(project: &Path, object: &str, field: &str) -> std::path::PathBuf {
    project.join(format!(
        "force-app/main/default/objects/{object}/fields/{field}.field-meta.xml"
    ))
}

#[tokio::test]
async fn a_field_removed_or_shortened_in_the_project_is_refused_over_rest() {
    let project = copy_of_project();
    fs::remove_file(field_file(project.path(), "Order", "WHMCS_Order_ID__c")).expect("removed");
    let code = field_file(project.path(), "Order", "Activation_Error_Code__c");
    let text = fs::read_to_string(&code).expect("read");
    fs::write(
        &code,
        text.replace("<length>64</length>", "<length>10</length>"),
    )
    .expect("written");

    let dir = project.path().to_owned();
    let sf = start_with(|options| options.source_dir = Some(dir)).await;
    assert_eq!(sf.source().project_dir(), project.path());
    let seed = seed(&sf);
    let api = Api::login(&sf).await;

    let answer = api
        .patch_order(&seed.order, &json!({"WHMCS_Order_ID__c": "5001"}))
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.error_code(), "INVALID_FIELD");
    assert!(
        answer
            .error_message()
            .contains("No such column 'WHMCS_Order_ID__c'"),
        "{}",
        answer.body
    );
    let answer = api.query("SELECT WHMCS_Order_ID__c FROM Order").await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.error_code(), "INVALID_FIELD");

    let answer = api
        .patch_order(
            &seed.order,
            &json!({"Activation_Error_Code__c": "ETIMEOUT-42"}),
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.error_code(), "STRING_TOO_LONG");
    assert!(
        answer.error_message().contains("max length=10"),
        "{}",
        answer.body
    );

    let answer = api
        .patch_order(
            &seed.order,
            &json!({"Activation_Status__c": "Failed", "Activation_Error_Code__c": "ETIMEOUT"}),
        )
        .await;
    assert_eq!(answer.status, 204, "{}", answer.body);

    // The repository's project still has the field: another org started from it takes it.
    let default = start().await;
    let seed = super::seed(&default);
    let api = Api::login(&default).await;
    let answer = api
        .patch_order(&seed.order, &json!({"WHMCS_Order_ID__c": "5001"}))
        .await;
    assert_eq!(answer.status, 204, "{}", answer.body);
}

#[tokio::test]
async fn the_restricted_billing_cycle_refuses_unknown_values_that_seeding_still_stores() {
    let sf = start().await;
    let product = sf.add_product("Legacy Plan", Some("9"), Some("Fortnightly"));
    let api = Api::login(&sf).await;

    let answer = api
        .query(&format!(
            "SELECT Billing_Cycle__c FROM Product2 WHERE Id = '{product}'"
        ))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.json()["records"][0]["Billing_Cycle__c"],
        "Fortnightly"
    );

    let path = format!("{V}/sobjects/Product2/{product}");
    let answer = api
        .patch(&path, &json!({"Billing_Cycle__c": "Fortnightly"}))
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(
        answer.error_code(),
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    assert!(
        answer.error_message().starts_with("Billing Cycle: "),
        "the label comes from the project: {}",
        answer.body
    );
    let answer = api
        .patch(&path, &json!({"Billing_Cycle__c": "Annually"}))
        .await;
    assert_eq!(answer.status, 204, "{}", answer.body);
}

#[tokio::test]
async fn a_broken_or_missing_project_stops_the_start_naming_the_file() {
    let project = copy_of_project();
    let status = field_file(project.path(), "Order", "Activation_Status__c");
    fs::write(&status, "<CustomField><label>Activation Status</label>").expect("written");
    let mut options = SalesforceOptions::new(
        CLIENT_ID,
        USERNAME,
        &bridge_tests::TestKeys::primary().public_pem,
    );
    options.source_dir = Some(project.path().to_owned());
    let error = SalesforceEmulator::start(options.clone())
        .await
        .expect_err("refused");
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    let message = error.to_string();
    assert!(message.contains(&status.display().to_string()), "{message}");
    assert!(message.contains("Order.Activation_Status__c"), "{message}");

    let missing = project.path().join("nowhere");
    options.source_dir = Some(missing.clone());
    let message = SalesforceEmulator::start(options)
        .await
        .expect_err("refused")
        .to_string();
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
    assert!(message.contains("SANDBOX_SALESFORCE_SOURCE"), "{message}");
}

#[tokio::test]
async fn publishing_the_event_checks_its_fields_against_the_project() {
    let sf = start().await;
    let api = Api::login(&sf).await;
    let path = format!("{V}/sobjects/OrderProvisionRequested__e");

    let answer = api
        .post(&path, &json!({"OrderId__c": "801000000000001AAAX"}))
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.error_code(), "STRING_TOO_LONG");
    assert!(
        answer
            .error_message()
            .starts_with("Order ID: data value too large"),
        "the label and length come from the project: {}",
        answer.body
    );
    let answer = api
        .post(
            &path,
            &json!({"OrderId__c": "801000000000001AAA", "Rush__c": true}),
        )
        .await;
    assert_eq!(answer.error_code(), "INVALID_FIELD");
    assert!(sf.published_events().is_empty());
}
