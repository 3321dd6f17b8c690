//! `GET /query`: exactly the selected fields, Salesforce's shapes for parents, children and
//! nulls, its error codes, and paging through `nextRecordsUrl`.

use sandbox::salesforce::NewOrder;
use serde_json::{Value, json};

use super::{Api, V, seed, start, start_with};

/// The fields of the product's order query, in the order the text names them.
const ORDER_QUERY: &str = "SELECT Id, Activation_Status__c, Pricebook2Id, Account.WH_Client_ID__c, \
     (SELECT Id, Quantity, Product2.Name, Product2.WH_Product_ID__c, Product2.Billing_Cycle__c \
     FROM OrderItems) FROM Order WHERE Id = '{id}'";

#[tokio::test]
async fn the_order_query_renders_exactly_the_selected_fields() {
    let sf = start().await;
    let seed = seed(&sf);
    let api = Api::login(&sf).await;

    // A 15-character id finds the record; everything comes back in 18-character form.
    let answer = api
        .query(&ORDER_QUERY.replace("{id}", &seed.order[..15]))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    let items = &body["records"][0]["OrderItems"]["records"];
    let item_ids = [
        items[0]["Id"].as_str().expect("item id"),
        items[1]["Id"].as_str().expect("item id"),
    ];
    assert!(
        item_ids
            .iter()
            .all(|id| id.len() == 18 && id.starts_with("802"))
    );
    let url = |object: &str, id: &str| format!("{V}/sobjects/{object}/{id}");
    let expected = json!({
        "totalSize": 1,
        "done": true,
        "records": [{
            "attributes": {"type": "Order", "url": url("Order", &seed.order)},
            "Id": seed.order,
            "Activation_Status__c": "Not Started",
            "Pricebook2Id": sf.standard_pricebook_id(),
            "Account": {
                "attributes": {"type": "Account", "url": url("Account", &seed.account)},
                "WH_Client_ID__c": "1042"
            },
            "OrderItems": {
                "totalSize": 2,
                "done": true,
                "records": [
                    {
                        "attributes": {"type": "OrderItem", "url": url("OrderItem", item_ids[0])},
                        "Id": item_ids[0],
                        "Quantity": 3.0,
                        "Product2": {
                            "attributes": {"type": "Product2", "url": url("Product2", &seed.mapped)},
                            "Name": "VPS Small",
                            "WH_Product_ID__c": "7",
                            "Billing_Cycle__c": "Monthly"
                        }
                    },
                    {
                        "attributes": {"type": "OrderItem", "url": url("OrderItem", item_ids[1])},
                        "Id": item_ids[1],
                        "Quantity": 1.0,
                        "Product2": {
                            "attributes": {"type": "Product2", "url": url("Product2", &seed.unmapped)},
                            "Name": "Dedicated Large",
                            "WH_Product_ID__c": null,
                            "Billing_Cycle__c": null
                        }
                    }
                ]
            }
        }]
    });
    assert_eq!(body, expected);

    // Member order as Salesforce writes it: attributes first, then the query's order.
    let text = &answer.body;
    let position = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle} missing from {text}"))
    };
    assert!(
        text.starts_with(r#"{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Order""#),
        "{text}"
    );
    assert!(position(r#""Id":"#) < position(r#""Activation_Status__c""#));
    assert!(position(r#""Activation_Status__c""#) < position(r#""Pricebook2Id""#));
    assert!(position(r#""Pricebook2Id""#) < position(r#""Account":{"attributes""#));
    assert!(position(r#""Account":"#) < position(r#""OrderItems":{"totalSize":2"#));
    assert!(
        text.contains(r#""Quantity":3.0"#),
        "a double keeps its decimal point"
    );
}

#[tokio::test]
async fn empty_children_and_empty_lookups_are_null() {
    let sf = start().await;
    let bare = sf.add_order(NewOrder {
        account_id: String::new(),
        pricebook_id: String::new(),
        items: vec![],
    });
    let api = Api::login(&sf).await;

    let answer = api.query(&ORDER_QUERY.replace("{id}", &bare)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let record = &answer.json()["records"][0];
    assert_eq!(record["Account"], Value::Null);
    assert_eq!(record["OrderItems"], Value::Null);
    assert_eq!(record["Pricebook2Id"], Value::Null);
    assert!(
        answer.body.contains(r#""Pricebook2Id":null"#),
        "nulls are present, not omitted"
    );
}

#[tokio::test]
async fn names_are_case_insensitive_and_come_back_in_api_casing() {
    let sf = start().await;
    let seed = seed(&sf);
    let api = Api::login(&sf).await;

    let answer = api
        .query(&format!(
            "select id, ACTIVATION_STATUS__C, account.name from order where ID = '{}' limit 1",
            seed.order
        ))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let record = &answer.json()["records"][0];
    let keys: Vec<&str> = record
        .as_object()
        .expect("record")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert_eq!(record["Id"], seed.order);
    assert_eq!(record["Activation_Status__c"], "Not Started");
    assert_eq!(record["Account"]["Name"], "Acme Ltd");
}

#[tokio::test]
async fn text_filters_and_limits_select_rows() {
    let sf = start().await;
    let seed = seed(&sf);
    sf.add_account("Other Ltd", Some("77"));
    let api = Api::login(&sf).await;

    let by_client = api
        .query("SELECT Id FROM Account WHERE WH_Client_ID__c = '1042'")
        .await;
    assert_eq!(by_client.json()["totalSize"], 1);
    assert_eq!(by_client.json()["records"][0]["Id"], seed.account);

    let by_parent = api
        .query("SELECT Id FROM OrderItem WHERE Product2.WH_Product_ID__c = '7' AND Quantity = 3")
        .await;
    assert_eq!(by_parent.json()["totalSize"], 1, "{}", by_parent.body);

    let limited = api.query("SELECT Id FROM Account LIMIT 1").await;
    assert_eq!(limited.json()["totalSize"], 1);
    assert_eq!(limited.json()["records"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn unknown_names_are_invalid_field_or_type() {
    let sf = start().await;
    let api = Api::login(&sf).await;

    let field = api.query("SELECT Id, Bogus__c FROM Order").await;
    assert_eq!(field.status, 400);
    assert_eq!(field.error_code(), "INVALID_FIELD");
    let message = field.error_message();
    assert!(
        message.contains("No such column 'Bogus__c' on entity 'Order'."),
        "{message}"
    );
    assert!(message.contains("ERROR at Row:1:Column:12"), "{message}");

    let relationship = api.query("SELECT Accnt.Name FROM Order").await;
    assert_eq!(relationship.error_code(), "INVALID_FIELD");
    assert!(
        relationship
            .error_message()
            .contains("Didn't understand relationship 'Accnt'")
    );

    let child = api
        .query("SELECT Id, Product2.Bogus__c FROM OrderItem")
        .await;
    assert!(
        child.error_message().contains("on entity 'Product2'"),
        "{}",
        child.body
    );

    let object = api.query("SELECT Id FROM Orders").await;
    assert_eq!(object.error_code(), "INVALID_TYPE");
    let subquery = api
        .query("SELECT Id, (SELECT Id FROM Lines) FROM Order")
        .await;
    assert_eq!(subquery.error_code(), "INVALID_TYPE");

    let bad_id = api.query("SELECT Id FROM Order WHERE Id = '801'").await;
    assert_eq!(bad_id.error_code(), "INVALID_QUERY_FILTER_OPERATOR");
}

#[tokio::test]
async fn broken_or_spliced_text_is_malformed_never_a_wider_filter() {
    let sf = start().await;
    let seed = seed(&sf);
    let api = Api::login(&sf).await;

    let spliced = format!(
        "SELECT Id FROM Order WHERE Id = '{}' OR Name != ''",
        seed.order
    );
    for soql in [
        spliced.as_str(),
        "SELECT Id FROM Order WHERE Id = '801' OR Name != ''",
        "SELECT Id FROM Order WHERE Id = '801xx000003GZ0n",
        "SELECT Id FROM Order WHERE Id = '801xx000003GZ0n''",
        "q=SELECT Id FROM Order",
        "SELECT Id FROM Order WHERE",
        "SELECT Id,, Name FROM Account",
        "SELECT Id FROM Order; DELETE FROM Order",
    ] {
        let answer = api.query(soql).await;
        assert_eq!(answer.status, 400, "{soql}: {}", answer.body);
        assert_eq!(answer.error_code(), "MALFORMED_QUERY", "{soql}");
    }
    let answer = api.query(&spliced).await;
    assert!(
        answer.error_message().ends_with("unexpected token: OR"),
        "{}",
        answer.body
    );

    let no_q = api.get(&format!("{V}/query")).await;
    assert_eq!(no_q.status, 400);
    assert_eq!(no_q.error_code(), "MALFORMED_QUERY");
}

#[tokio::test]
async fn long_results_page_through_next_records_url() {
    let sf = start_with(|options| options.query_page_size = 2).await;
    let names: Vec<String> = (1..=5).map(|n| format!("Account {n}")).collect();
    for name in &names {
        sf.add_account(name, None);
    }
    let api = Api::login(&sf).await;

    let mut page = api.query("SELECT Name FROM Account").await.json();
    let mut seen = Vec::new();
    let mut pages = 1;
    loop {
        assert_eq!(page["totalSize"], 5, "totalSize counts every page: {page}");
        let records = page["records"].as_array().expect("records");
        assert!(records.len() <= 2);
        seen.extend(
            records
                .iter()
                .map(|r| r["Name"].as_str().expect("name").to_owned()),
        );
        if page["done"] == true {
            assert!(page.get("nextRecordsUrl").is_none());
            break;
        }
        let next = page["nextRecordsUrl"]
            .as_str()
            .expect("nextRecordsUrl")
            .to_owned();
        assert!(next.starts_with(&format!("{V}/query/01g")), "{next}");
        let answer = api.get(&next).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        page = answer.json();
        pages += 1;
    }
    assert_eq!(seen, names);
    assert_eq!(pages, 3);

    let bogus = api.get(&format!("{V}/query/01gNOPE-2")).await;
    assert_eq!(bogus.status, 400);
    assert_eq!(bogus.error_code(), "INVALID_QUERY_LOCATOR");

    let short = api.query("SELECT Name FROM Account LIMIT 2").await.json();
    assert_eq!(short["done"], true);
    assert_eq!(short["totalSize"], 2);
}
