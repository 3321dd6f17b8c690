//! The product's own Salesforce client (JWT bearer flow and REST) against the emulator: it
//! logs in, queries, writes back, and re-authenticates once its session is expired.

use std::{sync::Arc, time::Duration};

use bridge_runtime::{
    config::SalesforceSettings,
    salesforce::{JwtBearer, RestClient, RestError, SalesforceId},
};
use bridge_tests::TestKeys;
use serde_json::{Value, json};
use url::Url;

use super::{AUDIENCE, CLIENT_ID, USERNAME, order_field, seed, start};

/// The private key in a file of its own, removed when dropped.
struct KeyFile(std::path::PathBuf);

impl KeyFile {
    fn write(pem: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "sf-emulator-test-{}-{}.pem",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::write(&path, pem).expect("the key file is written");
        Self(path)
    }
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test]
async fn the_products_client_works_against_the_emulator() {
    let sf = start().await;
    let seed = seed(&sf);
    let key = KeyFile::write(&TestKeys::primary().private_pkcs1_pem);
    let settings = SalesforceSettings {
        login_url: Url::parse(&sf.url()).expect("url"),
        client_id: CLIENT_ID.into(),
        username: USERNAME.into(),
        private_key_path: key.0.clone(),
        audience: AUDIENCE.into(),
        api_version: "66.0".into(),
        http_timeout: Duration::from_secs(10),
    };
    let auth = Arc::new(JwtBearer::new(settings).expect("client"));
    let rest = RestClient::new(
        auth.clone(),
        bridge_runtime::http_client::build_client(Duration::from_secs(10)).expect("http"),
        "66.0",
    );

    let session = auth.session().await.expect("a session");
    assert_eq!(session.org_id, sf.org_id());
    assert_eq!(session.user_id, sf.user_id());

    let id = SalesforceId::parse(&seed.order).expect("an id");
    let page = rest
        .query::<Value>(&format!(
            "SELECT Id, Activation_Status__c, (SELECT Quantity FROM OrderItems) FROM Order WHERE Id = '{id}'"
        ))
        .await
        .expect("the query runs");
    assert_eq!(page.total_size, 1);
    assert_eq!(page.records[0]["OrderItems"]["totalSize"], 2);
    assert!(
        rest.api_usage()
            .get()
            .is_some_and(|(used, limit)| used == 1 && limit == 15_000)
    );

    sf.expire_sessions();
    rest.update(
        "Order",
        &id,
        &json!({"Activation_Status__c": "Activated", "WHMCS_Order_ID__c": "5001"}),
    )
    .await
    .expect("the update lands after one re-authentication");
    assert_eq!(auth.tokens_minted(), 2);
    assert_eq!(order_field(&sf, &seed.order, "WHMCS_Order_ID__c"), "5001");

    let refused = rest
        .update("Order", &id, &json!({"Activation_Status__c": "Done"}))
        .await
        .expect_err("a restricted picklist");
    assert!(matches!(refused, RestError::Refused { status: 400, .. }));
    assert_eq!(
        refused.error_code(),
        Some("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
    );
}
