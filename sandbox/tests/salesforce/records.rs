//! `PATCH /sobjects/Order/<id>` with the platform's validation, all-or-nothing saves, and
//! publishing `OrderProvisionRequested__e` over REST.

use serde_json::{Value, json};

use super::{Api, V, order_field, seed, start};

#[tokio::test]
async fn a_patch_saves_the_fields_and_answers_204_without_a_body() {
    let sf = start().await;
    let seed = seed(&sf);
    let api = Api::login(&sf).await;
    let before = order_field(&sf, &seed.order, "LastModifiedDate");
    assert!(
        before.as_str().is_some_and(|d| d.ends_with("+0000")),
        "{before}"
    );

    let answer = api
        .patch_order(
            &seed.order[..15],
            &json!({
                "Activation_Status__c": "Failed",
                "Activation_Error_Code__c": "409",
                "Activation_Error_Message__c": "Payment method missing"
            }),
        )
        .await;
    assert_eq!(answer.status, 204, "{}", answer.body);
    assert_eq!(answer.body, "");
    assert_eq!(
        order_field(&sf, &seed.order, "Activation_Status__c"),
        "Failed"
    );
    assert_eq!(
        order_field(&sf, &seed.order, "Activation_Error_Code__c"),
        "409"
    );

    // null clears; other fields stay as they were.
    let answer = api
        .patch_order(
            &seed.order,
            &json!({"Activation_Status__c": "Activated", "WHMCS_Order_ID__c": "5001", "Activation_Error_Code__c": null, "Activation_Error_Message__c": null}),
        )
        .await;
    assert_eq!(answer.status, 204, "{}", answer.body);
    let order = sf.order(&seed.order).expect("order");
    assert_eq!(order["Activation_Status__c"], "Activated");
    assert_eq!(order["WHMCS_Order_ID__c"], "5001");
    assert_eq!(order["Activation_Error_Code__c"], Value::Null);
    assert_eq!(order["Activation_Error_Message__c"], Value::Null);
    assert_eq!(order["Status"], "Draft");

    // The save is visible to the next query.
    let read = api
        .query(&format!(
            "SELECT WHMCS_Order_ID__c FROM Order WHERE Id = '{}'",
            seed.order
        ))
        .await;
    assert_eq!(read.json()["records"][0]["WHMCS_Order_ID__c"], "5001");
}

#[tokio::test]
async fn a_restricted_picklist_refuses_other_values_and_nothing_is_saved() {
    let sf = start().await;
    let seed = seed(&sf);
    let api = Api::login(&sf).await;

    for value in ["Provisioned", "activated", "Activated "] {
        let answer = api
            .patch_order(
                &seed.order,
                &json!({"Activation_Status__c": value, "WHMCS_Order_ID__c": "999"}),
            )
            .await;
        assert_eq!(answer.status, 400, "{value}: {}", answer.body);
        assert_eq!(
            answer.error_code(),
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
        );
        assert_eq!(answer.json()[0]["fields"], json!(["Activation_Status__c"]));
    }
    assert_eq!(
        order_field(&sf, &seed.order, "Activation_Status__c"),
        "Not Started"
    );
    assert_eq!(
        order_field(&sf, &seed.order, "WHMCS_Order_ID__c"),
        Value::Null,
        "all or nothing"
    );
}

#[tokio::test]
async fn text_longer_than_the_field_is_string_too_long() {
    let sf = start().await;
    let seed = seed(&sf);
    let api = Api::login(&sf).await;

    for (field, max) in [
        ("Activation_Error_Code__c", 64),
        ("Activation_Error_Message__c", 255),
        ("WHMCS_Order_ID__c", 32),
    ] {
        let too_long = api
            .patch_order(&seed.order, &json!({field: "x".repeat(max + 1)}))
            .await;
        assert_eq!(too_long.status, 400, "{field}");
        assert_eq!(too_long.error_code(), "STRING_TOO_LONG", "{field}");
        assert_eq!(too_long.json()[0]["fields"], json!([field]));
        assert!(
            too_long
                .error_message()
                .contains(&format!("(max length={max})"))
        );
        assert_eq!(order_field(&sf, &seed.order, field), Value::Null);

        // Exactly the limit, counted in characters, fits.
        let fits = "é".repeat(max);
        let answer = api.patch_order(&seed.order, &json!({field: fits})).await;
        assert_eq!(answer.status, 204, "{field}: {}", answer.body);
        assert_eq!(order_field(&sf, &seed.order, field), fits.as_str());
    }
}

#[tokio::test]
async fn read_only_and_unknown_fields_are_refused() {
    let sf = start().await;
    let seed = seed(&sf);
    let api = Api::login(&sf).await;

    for field in [
        "TotalAmount",
        "OrderNumber",
        "StatusCode",
        "Id",
        "CreatedDate",
    ] {
        let answer = api
            .patch_order(&seed.order, &json!({field: "1", "WHMCS_Order_ID__c": "1"}))
            .await;
        assert_eq!(answer.status, 400, "{field}: {}", answer.body);
        assert_eq!(
            answer.error_code(),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            "{field}"
        );
        assert!(
            answer
                .error_message()
                .starts_with(&format!("Unable to create/update fields: {field}."))
        );
    }
    assert_eq!(
        order_field(&sf, &seed.order, "WHMCS_Order_ID__c"),
        Value::Null
    );

    let unknown = api
        .patch_order(&seed.order, &json!({"Provisioning_Status__c": "x"}))
        .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.error_code(), "INVALID_FIELD");
    assert!(unknown.error_message().contains("Provisioning_Status__c"));

    let not_json = api
        .patch(&format!("{V}/sobjects/Order/{}", seed.order), &json!([1]))
        .await;
    assert_eq!(not_json.error_code(), "JSON_PARSER_ERROR");
}

#[tokio::test]
async fn missing_records_and_missing_ids_are_not_found_and_not_allowed() {
    let sf = start().await;
    let seed = seed(&sf);
    let api = Api::login(&sf).await;
    let body = json!({"Activation_Status__c": "Failed"});

    // A well-formed Order id of no record (another record's id with one letter's case changed).
    let other = format!(
        "{}{}{}",
        &seed.order[..3],
        seed.order[3..4].to_lowercase(),
        &seed.order[4..15]
    );
    let missing = api.patch_order(&other, &body).await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_eq!(missing.error_code(), "NOT_FOUND");

    let garbage = api.patch_order("not-an-id", &body).await;
    assert_eq!(garbage.status, 404);
    assert_eq!(garbage.error_code(), "NOT_FOUND");
    assert!(
        garbage
            .error_message()
            .contains("Provided external ID field does not exist")
    );

    let account = api.patch_order(&seed.account, &body).await;
    assert_eq!(account.status, 404, "an Account id is no Order");

    let empty = api.patch(&format!("{V}/sobjects/Order/"), &body).await;
    assert_eq!(empty.status, 405);
    assert_eq!(empty.error_code(), "METHOD_NOT_ALLOWED");
    assert_eq!(
        empty.error_message(),
        "HTTP Method 'PATCH' not allowed. Allowed are HEAD,GET,POST"
    );

    let unknown_object = api
        .patch(&format!("{V}/sobjects/Invoice__c/{}", seed.order), &body)
        .await;
    assert_eq!(unknown_object.status, 404);
    assert_eq!(
        order_field(&sf, &seed.order, "Activation_Status__c"),
        "Not Started"
    );
}

#[tokio::test]
async fn a_patch_by_the_integration_user_never_fires_the_flow() {
    let sf = start().await;
    let seed = seed(&sf);
    let api = Api::login(&sf).await;
    let answer = api
        .patch_order(&seed.order, &json!({"Activation_Status__c": "Activating"}))
        .await;
    assert_eq!(answer.status, 204);
    assert_eq!(
        order_field(&sf, &seed.order, "Activation_Status__c"),
        "Activating"
    );
    assert!(sf.published_events().is_empty());
}

#[tokio::test]
async fn publishing_the_event_over_rest_is_enqueued() {
    let sf = start().await;
    let seed = seed(&sf);
    let api = Api::login(&sf).await;
    let mut listener = sf.subscribe_events();

    let answer = api
        .post(
            &format!("{V}/sobjects/OrderProvisionRequested__e"),
            &json!({"OrderId__c": seed.order}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["success"], true);
    assert!(
        body["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("e00") && id.len() == 18)
    );
    let error = &body["errors"][0];
    assert_eq!(error["statusCode"], "OPERATION_ENQUEUED");
    assert_eq!(error["fields"], json!([]));
    let uuid = error["message"].as_str().expect("the EventUuid");

    let events = sf.published_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_uuid, uuid);
    assert_eq!(events[0].order_id, seed.order);
    assert_eq!(events[0].created_by_id, sf.user_id());
    assert_eq!(listener.try_recv().ok(), Some(events[0].clone()));
    assert_eq!(
        order_field(&sf, &seed.order, "Activation_Status__c"),
        "Not Started",
        "publishing changes no record"
    );

    let unknown = api
        .post(
            &format!("{V}/sobjects/OrderProvisioned__e"),
            &json!({"OrderId__c": seed.order}),
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.error_code(), "NOT_FOUND");
    let bad_field = api
        .post(
            &format!("{V}/sobjects/OrderProvisionRequested__e"),
            &json!({"Order_Id__c": seed.order}),
        )
        .await;
    assert_eq!(bad_field.error_code(), "INVALID_FIELD");
    assert_eq!(sf.published_events().len(), 1);
}

#[tokio::test]
async fn a_record_can_be_read_whole() {
    let sf = start().await;
    let seed = seed(&sf);
    let api = Api::login(&sf).await;
    let answer = api
        .get(&format!("{V}/sobjects/Order/{}", &seed.order[..15]))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["attributes"]["type"], "Order");
    assert_eq!(body["Id"], seed.order);
    assert_eq!(body["TotalAmount"], 1440.0);
    assert_eq!(body["OrderNumber"], "00000100");
    assert_eq!(body["StatusCode"], "Draft");
}

#[tokio::test]
async fn an_order_product_patch_updates_the_derived_totals() {
    let sf = start().await;
    let seed = seed(&sf);
    let api = Api::login(&sf).await;
    let items = api
        .query(&format!(
            "SELECT Id, Quantity FROM OrderItem WHERE OrderId = '{}' AND Quantity = 3",
            seed.order
        ))
        .await
        .json();
    let item = items["records"][0]["Id"]
        .as_str()
        .expect("an item")
        .to_owned();

    let answer = api
        .patch(
            &format!("{V}/sobjects/OrderItem/{item}"),
            &json!({"Quantity": 5}),
        )
        .await;
    assert_eq!(answer.status, 204, "{}", answer.body);
    let read = api
        .query(&format!(
            "SELECT TotalPrice, Order.TotalAmount FROM OrderItem WHERE Id = '{item}'"
        ))
        .await
        .json();
    assert_eq!(read["records"][0]["TotalPrice"], 200.0);
    assert_eq!(read["records"][0]["Order"]["TotalAmount"], 1520.0);

    let entry = api
        .patch(
            &format!("{V}/sobjects/OrderItem/{item}"),
            &json!({"PricebookEntryId": null}),
        )
        .await;
    assert_eq!(entry.error_code(), "INVALID_FIELD_FOR_INSERT_UPDATE");
}
