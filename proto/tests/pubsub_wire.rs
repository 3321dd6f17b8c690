//! The Pub/Sub API messages against golden encodings built by hand from the field tables of
//! Salesforce's proto (field numbers and wire types), and the generated client and server
//! talking over a real socket.

#![allow(
    clippy::unwrap_used,
    reason = "a test's helpers fail loudly on broken set-up"
)]

use std::pin::Pin;

use bridge_proto::eventbus::v1::{
    ConsumerEvent, FetchRequest, FetchResponse, ManagedFetchRequest, ManagedFetchResponse,
    ProducerEvent, PublishRequest, PublishResponse, ReplayPreset, SchemaInfo, SchemaRequest,
    TopicInfo, TopicRequest,
    pub_sub_client::PubSubClient,
    pub_sub_server::{PubSub, PubSubServer},
};
use prost::Message;
use tokio_stream::{Stream, StreamExt, wrappers::TcpListenerStream};
use tonic::{Request, Response, Status, Streaming};

/// A replay id as the real service sends it: an 8-byte big-endian counter and two zero bytes.
const REPLAY_ID: [u8; 10] = [0, 0, 0, 0, 0, 16, 219, 77, 0, 0];

/// A field key: field number and wire type (0 varint, 2 length-delimited).
fn key(field: u8, wire_type: u8) -> u8 {
    (field << 3) | wire_type
}

fn length_delimited(field: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![
        key(field, 2),
        u8::try_from(bytes.len()).expect("short field"),
    ];
    out.extend_from_slice(bytes);
    out
}

#[test]
fn fetch_request_matches_the_field_table() {
    let request = FetchRequest {
        topic_name: "/event/OrderProvisionRequested__e".into(),
        replay_preset: ReplayPreset::Custom as i32,
        replay_id: REPLAY_ID.to_vec(),
        num_requested: 100,
        auth_refresh: String::new(),
    };

    // 1 topic_name string, 2 replay_preset enum, 3 replay_id bytes, 4 num_requested int32.
    let mut golden = length_delimited(1, b"/event/OrderProvisionRequested__e");
    golden.extend([key(2, 0), 2]);
    golden.extend(length_delimited(3, &REPLAY_ID));
    golden.extend([key(4, 0), 100]);

    assert_eq!(request.encode_to_vec(), golden);
    assert_eq!(FetchRequest::decode(golden.as_slice()).unwrap(), request);
}

#[test]
fn replay_presets_have_salesforce_numbers() {
    assert_eq!(ReplayPreset::Latest as i32, 0);
    assert_eq!(ReplayPreset::Earliest as i32, 1);
    assert_eq!(ReplayPreset::Custom as i32, 2);
}

#[test]
fn fetch_response_matches_the_field_table() {
    // ProducerEvent: 1 id, 2 schema_id, 3 payload. ConsumerEvent: 1 event, 2 replay_id.
    let mut producer = length_delimited(1, b"9b77cea1-a923-4766-ad50-a1797d9b39fd");
    producer.extend(length_delimited(2, b"T81xDFrCD7RmXBKAiSlc4Q"));
    producer.extend(length_delimited(3, &[0x80, 0xa0, 0x01]));
    let mut consumer = length_delimited(1, &producer);
    consumer.extend(length_delimited(2, &REPLAY_ID));
    // FetchResponse: 1 events, 2 latest_replay_id, 3 rpc_id, 4 pending_num_requested.
    let mut golden = length_delimited(1, &consumer);
    golden.extend(length_delimited(2, &REPLAY_ID));
    golden.extend(length_delimited(3, b"rpc-1"));
    golden.extend([key(4, 0), 99]);

    let response = FetchResponse::decode(golden.as_slice()).unwrap();

    let event = response.events[0].event.as_ref().unwrap();
    assert_eq!(event.id, "9b77cea1-a923-4766-ad50-a1797d9b39fd");
    assert_eq!(event.schema_id, "T81xDFrCD7RmXBKAiSlc4Q");
    assert_eq!(event.payload, [0x80, 0xa0, 0x01]);
    assert_eq!(response.events[0].replay_id, REPLAY_ID);
    assert_eq!(response.latest_replay_id, REPLAY_ID);
    assert_eq!(response.rpc_id, "rpc-1");
    assert_eq!(response.pending_num_requested, 99);
    assert_eq!(response.encode_to_vec(), golden);
}

#[test]
fn topic_and_schema_messages_match_the_field_table() {
    // TopicInfo: 1 topic_name, 2 tenant_guid, 3 can_publish, 4 can_subscribe, 5 schema_id,
    // 6 rpc_id.
    let mut golden = length_delimited(1, b"/event/E__e");
    golden.extend(length_delimited(2, b"00D"));
    golden.extend([key(3, 0), 1, key(4, 0), 1]);
    golden.extend(length_delimited(5, b"sid"));
    golden.extend(length_delimited(6, b"rpc"));
    let topic = TopicInfo::decode(golden.as_slice()).unwrap();
    assert!(topic.can_publish && topic.can_subscribe);
    assert_eq!(
        (topic.tenant_guid.as_str(), topic.schema_id.as_str()),
        ("00D", "sid")
    );

    // SchemaInfo: 1 schema_json, 2 schema_id, 3 rpc_id.
    let mut golden = length_delimited(1, b"{}");
    golden.extend(length_delimited(2, b"sid"));
    golden.extend(length_delimited(3, b"rpc"));
    let schema = SchemaInfo::decode(golden.as_slice()).unwrap();
    assert_eq!(
        (schema.schema_json.as_str(), schema.schema_id.as_str()),
        ("{}", "sid")
    );

    // ManagedFetchRequest: 3 num_requested, 5 commit_replay_id_request (1 id, 2 replay_id).
    let mut commit = length_delimited(1, b"c1");
    commit.extend(length_delimited(2, &REPLAY_ID));
    let mut golden = vec![key(3, 0), 5];
    golden.extend(length_delimited(5, &commit));
    let managed = ManagedFetchRequest::decode(golden.as_slice()).unwrap();
    assert_eq!(managed.num_requested, 5);
    assert_eq!(
        managed.commit_replay_id_request.unwrap().replay_id,
        REPLAY_ID
    );
}

/// A tiny PubSub server: each FetchRequest is answered with as many events as it asked for.
struct CountingPubSub;

type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl PubSub for CountingPubSub {
    type SubscribeStream = ResponseStream<FetchResponse>;
    type PublishStreamStream = ResponseStream<PublishResponse>;
    type ManagedSubscribeStream = ResponseStream<ManagedFetchResponse>;

    async fn subscribe(
        &self,
        request: Request<Streaming<FetchRequest>>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let token = request
            .metadata()
            .get("accesstoken")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if token.as_deref() != Some("00D!token") {
            return Err(Status::unauthenticated("no accesstoken header"));
        }
        let mut requests = request.into_inner();
        let mut counter: u64 = 0;
        let output = async_stream_of(move |sender| async move {
            while let Some(Ok(fetch)) = requests.next().await {
                let events = (0..fetch.num_requested)
                    .map(|_| {
                        counter += 1;
                        let mut replay_id = counter.to_be_bytes().to_vec();
                        replay_id.extend([0, 0]);
                        ConsumerEvent {
                            event: Some(ProducerEvent {
                                id: format!("uuid-{counter}"),
                                schema_id: "sid".into(),
                                payload: vec![1, 2, 3],
                                headers: vec![],
                            }),
                            replay_id,
                        }
                    })
                    .collect::<Vec<_>>();
                let latest = events
                    .last()
                    .map(|e| e.replay_id.clone())
                    .unwrap_or_default();
                let response = FetchResponse {
                    events,
                    latest_replay_id: latest,
                    rpc_id: format!("rpc-for-{}", fetch.topic_name),
                    pending_num_requested: 0,
                };
                if sender.send(Ok(response)).await.is_err() {
                    break;
                }
            }
        });
        Ok(Response::new(output))
    }

    async fn get_schema(
        &self,
        request: Request<SchemaRequest>,
    ) -> Result<Response<SchemaInfo>, Status> {
        Ok(Response::new(SchemaInfo {
            schema_json: "{\"type\":\"record\"}".into(),
            schema_id: request.into_inner().schema_id,
            rpc_id: "rpc".into(),
        }))
    }

    async fn get_topic(&self, _: Request<TopicRequest>) -> Result<Response<TopicInfo>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn publish(
        &self,
        _: Request<PublishRequest>,
    ) -> Result<Response<PublishResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn publish_stream(
        &self,
        _: Request<Streaming<PublishRequest>>,
    ) -> Result<Response<Self::PublishStreamStream>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn managed_subscribe(
        &self,
        _: Request<Streaming<ManagedFetchRequest>>,
    ) -> Result<Response<Self::ManagedSubscribeStream>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
}

/// Runs `produce` with a sender and returns the receiving side as a response stream.
fn async_stream_of<T, F, Fut>(produce: F) -> ResponseStream<T>
where
    T: Send + 'static,
    F: FnOnce(tokio::sync::mpsc::Sender<Result<T, Status>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    tokio::spawn(produce(sender));
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(receiver))
}

#[tokio::test]
async fn the_generated_client_round_trips_fetch_requests_over_a_socket() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(PubSubServer::new(CountingPubSub))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let mut client = PubSubClient::connect(address).await.expect("connect");

    let schema = client
        .get_schema(SchemaRequest {
            schema_id: "T81xDFrCD7RmXBKAiSlc4Q".into(),
        })
        .await
        .expect("GetSchema")
        .into_inner();
    assert_eq!(schema.schema_id, "T81xDFrCD7RmXBKAiSlc4Q");

    let (requests, outgoing) = tokio::sync::mpsc::channel(4);
    requests
        .send(FetchRequest {
            topic_name: "/event/OrderProvisionRequested__e".into(),
            replay_preset: ReplayPreset::Earliest as i32,
            num_requested: 3,
            ..FetchRequest::default()
        })
        .await
        .unwrap();
    let mut subscribe = Request::new(tokio_stream::wrappers::ReceiverStream::new(outgoing));
    subscribe
        .metadata_mut()
        .insert("accesstoken", "00D!token".parse().unwrap());
    let mut responses = client
        .subscribe(subscribe)
        .await
        .expect("Subscribe")
        .into_inner();

    let first = responses.message().await.unwrap().expect("a response");
    assert_eq!(first.events.len(), 3);
    assert_eq!(first.rpc_id, "rpc-for-/event/OrderProvisionRequested__e");
    assert_eq!(first.events[2].replay_id, [0, 0, 0, 0, 0, 0, 0, 3, 0, 0]);
    assert_eq!(first.latest_replay_id, first.events[2].replay_id);

    requests
        .send(FetchRequest {
            num_requested: 2,
            ..FetchRequest::default()
        })
        .await
        .unwrap();
    let second = responses.message().await.unwrap().expect("a response");
    let ids: Vec<_> = second
        .events
        .iter()
        .map(|e| e.event.as_ref().unwrap().id.as_str())
        .collect();
    assert_eq!(ids, ["uuid-4", "uuid-5"]);
}

#[tokio::test]
async fn a_missing_auth_header_is_unauthenticated() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(PubSubServer::new(CountingPubSub))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let mut client = PubSubClient::connect(address).await.expect("connect");

    let status = client
        .subscribe(tokio_stream::iter([FetchRequest {
            num_requested: 1,
            ..FetchRequest::default()
        }]))
        .await
        .expect_err("no token");

    assert_eq!(status.code(), tonic::Code::Unauthenticated);
}
