//! `GetTopic` and `GetSchema`: the channel, its schema and id, and the refusals for blank and
//! unknown names.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use bridge_proto::eventbus::v1::{FetchRequest, ReplayPreset, SchemaRequest, TopicRequest};
use md5::{Digest, Md5};
use tonic::Code;

use crate::{ORDER_CHANNEL, assert_salesforce_error, fetch, start};

const TOPIC_NOT_FOUND: &str = "sfdc.platform.eventbus.grpc.topic.not.found";

#[tokio::test]
async fn the_order_channel_exists_with_its_schema_id() {
    let bus = start().await;
    let info = bus
        .client
        .clone()
        .get_topic(bus.authed(TopicRequest {
            topic_name: ORDER_CHANNEL.to_owned(),
        }))
        .await
        .expect("the topic")
        .into_inner();
    assert_eq!(info.topic_name, ORDER_CHANNEL);
    assert!(info.can_subscribe && info.can_publish);
    assert_eq!(info.schema_id, bus.pubsub.order_schema_id());
    assert_eq!(info.tenant_guid, bus.sf.org_id());
    assert!(uuid::Uuid::parse_str(&info.rpc_id).is_ok());
}

#[tokio::test]
async fn unknown_topics_are_not_found_for_get_topic_and_subscribe() {
    let bus = start().await;
    let org15 = &bus.sf.org_id()[..15];
    let status = bus
        .client
        .clone()
        .get_topic(bus.authed(TopicRequest {
            topic_name: "/data/AccountChangeEvent".to_owned(),
        }))
        .await
        .expect_err("unknown");
    let description = format!(
        "The topic information for org CORE/prod/{org15} and topic /data/AccountChangeEvent not found. Ensure the topic name is correct and that the topic exists."
    );
    assert_salesforce_error(&status, Code::NotFound, &description, TOPIC_NOT_FOUND);

    // Channel names are case-sensitive.
    let status = bus
        .subscribe(FetchRequest {
            topic_name: "/event/orderprovisionrequested__e".to_owned(),
            ..fetch(ReplayPreset::Latest, &[], 1)
        })
        .await
        .err()
        .expect("unknown");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(crate::error_code(&status).as_deref(), Some(TOPIC_NOT_FOUND));
    assert_eq!(bus.pubsub.streams_opened(), 0);
}

#[tokio::test]
async fn the_served_schema_hashes_to_its_id_and_lists_the_fields_in_design_order() {
    let bus = start().await;
    let id = bus.pubsub.order_schema_id();
    let info = bus
        .client
        .clone()
        .get_schema(bus.authed(SchemaRequest {
            schema_id: id.clone(),
        }))
        .await
        .expect("the schema")
        .into_inner();
    assert_eq!(info.schema_id, id);
    assert!(!info.rpc_id.is_empty());

    let schema = apache_avro::Schema::parse_str(&info.schema_json).expect("Avro");
    let digest = Md5::digest(schema.canonical_form().as_bytes());
    assert_eq!(URL_SAFE_NO_PAD.encode(digest), id);

    let json: serde_json::Value = serde_json::from_str(&info.schema_json).expect("JSON");
    assert_eq!(json["name"], "OrderProvisionRequested__e");
    assert_eq!(json["namespace"], "com.sforce.eventbus");
    let fields = json["fields"].as_array().expect("fields");
    let names: Vec<&str> = fields.iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(names, ["CreatedDate", "CreatedById", "OrderId__c"]);
    assert_eq!(fields[0]["type"], "long");
    assert_eq!(fields[0]["doc"], "CreatedDate:DateTime");
    assert_eq!(fields[1]["type"], "string");
    assert_eq!(fields[2]["type"], serde_json::json!(["null", "string"]));
    assert!(fields[2]["default"].is_null() && fields[2].get("default").is_some());
    assert!(
        fields[2]["doc"]
            .as_str()
            .is_some_and(|doc| doc.starts_with("Data:Text:00N")),
        "{}",
        fields[2]
    );
}

#[tokio::test]
async fn blank_and_unknown_schema_ids_are_refused_and_registered_ones_served() {
    let bus = start().await;
    let status = bus
        .client
        .clone()
        .get_schema(bus.authed(SchemaRequest {
            schema_id: String::new(),
        }))
        .await
        .expect_err("blank");
    assert_salesforce_error(
        &status,
        Code::InvalidArgument,
        "Schema validation failed. The schema ID can't be blank.",
        "sfdc.platform.eventbus.grpc.schema.validation.failed",
    );

    let status = bus
        .client
        .clone()
        .get_schema(bus.authed(SchemaRequest {
            schema_id: "T81xDFrCD7RmXBKAiSlc4Q".to_owned(),
        }))
        .await
        .expect_err("not registered yet");
    assert_eq!(status.code(), Code::NotFound);

    let rich = r#"{"type":"record","name":"OrderProvisionRequested__e","namespace":"com.sforce.eventbus","fields":[
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
    assert_eq!(bus.pubsub.register_schema(rich), "T81xDFrCD7RmXBKAiSlc4Q");
    let info = bus
        .client
        .clone()
        .get_schema(bus.authed(SchemaRequest {
            schema_id: "T81xDFrCD7RmXBKAiSlc4Q".to_owned(),
        }))
        .await
        .expect("registered")
        .into_inner();
    assert_eq!(info.schema_json, rich);
}
