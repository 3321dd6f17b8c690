//! Approval and "Provision / Retry": what the Record-Triggered Flow does to the Order and the
//! events it publishes.

use sandbox::salesforce::FlowError;
use serde_json::{Value, json};

use super::{Api, order_field, seed, start};

#[tokio::test]
async fn approval_sets_activating_and_publishes_the_event() {
    let sf = start().await;
    let seed = seed(&sf);
    let mut listener = sf.subscribe_events();

    let event = sf.approve_order(&seed.order[..15]).expect("approved");
    assert_eq!(event.order_id, seed.order, "the 18-character id");
    assert_eq!(
        uuid::Uuid::parse_str(&event.event_uuid).map(|u| u.get_version_num()),
        Ok(4)
    );
    assert!(event.created_by_id.starts_with("005") && event.created_by_id.len() == 18);
    assert_ne!(
        event.created_by_id,
        sf.user_id(),
        "an org user approved, not the bridge"
    );
    assert!(event.created_date_ms > 1_700_000_000_000);

    assert_eq!(
        order_field(&sf, &seed.order, "Activation_Status__c"),
        "Activating"
    );
    assert_eq!(
        order_field(&sf, &seed.order, "Status"),
        "Activated",
        "approving activates the Order"
    );
    assert_eq!(listener.recv().await.ok(), Some(event.clone()));
    assert_eq!(sf.published_events(), vec![event]);

    let api = Api::login(&sf).await;
    let read = api
        .query(&format!(
            "SELECT Activation_Status__c FROM Order WHERE Id = '{}'",
            seed.order
        ))
        .await;
    assert_eq!(
        read.json()["records"][0]["Activation_Status__c"],
        "Activating"
    );

    assert_eq!(
        sf.approve_order("801000000000000"),
        Err(FlowError::NoSuchOrder)
    );
    assert_eq!(sf.approve_order("garbage"), Err(FlowError::NoSuchOrder));
    assert_eq!(sf.published_events().len(), 1);
}

#[tokio::test]
async fn retry_refuses_while_activating_and_otherwise_starts_over() {
    let sf = start().await;
    let seed = seed(&sf);
    let api = Api::login(&sf).await;
    let first = sf.approve_order(&seed.order).expect("approved");

    let refused = sf.retry_order(&seed.order);
    assert_eq!(refused, Err(FlowError::AlreadyInProgress));
    assert_eq!(
        refused.map_err(|e| e.to_string()),
        Err("Already in progress".to_owned())
    );
    assert_eq!(sf.published_events().len(), 1, "nothing published");

    let failed = api
        .patch_order(
            &seed.order,
            &json!({
                "Activation_Status__c": "Failed",
                "Activation_Error_Code__c": "MAPPING_MISSING",
                "Activation_Error_Message__c": "Dedicated Large has no WHMCS product"
            }),
        )
        .await;
    assert_eq!(failed.status, 204);

    let second = sf.retry_order(&seed.order).expect("retried");
    assert_eq!(second.order_id, seed.order);
    assert_ne!(second.event_uuid, first.event_uuid);
    let order = sf.order(&seed.order).expect("order");
    assert_eq!(order["Activation_Status__c"], "Activating");
    assert_eq!(order["Activation_Error_Code__c"], Value::Null);
    assert_eq!(order["Activation_Error_Message__c"], Value::Null);
    assert_eq!(sf.published_events(), vec![first, second]);

    assert_eq!(
        sf.retry_order("801000000000000"),
        Err(FlowError::NoSuchOrder)
    );
}

#[tokio::test]
async fn retry_after_activation_and_set_up_fields() {
    let sf = start().await;
    let seed = seed(&sf);
    sf.set_order_field(&seed.order, "activation_status__c", json!("Activated"));
    sf.set_order_field(&seed.order, "Status", json!("Activated"));
    sf.set_order_field(&seed.order, "No_Such_Field__c", json!("ignored"));
    let order = sf.order(&seed.order).expect("order");
    assert_eq!(order["Activation_Status__c"], "Activated");
    assert_eq!(
        order["StatusCode"], "Activated",
        "the category follows the status"
    );
    assert!(!order.contains_key("No_Such_Field__c"));
    assert!(sf.published_events().is_empty(), "set-up runs no Flow");

    let event = sf.retry_order(&seed.order).expect("retried");
    assert_eq!(event.order_id, seed.order);
    assert_eq!(
        order_field(&sf, &seed.order, "Activation_Status__c"),
        "Activating"
    );
}
