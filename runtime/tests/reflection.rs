//! Server reflection as grpcurl uses it: both protocol versions list exactly the services a
//! server offers, and can describe our messages and `google.rpc.ErrorInfo` (which
//! `grpcurl -format-error` needs to show error details).

#![allow(
    clippy::unwrap_used,
    reason = "a test's helpers fail loudly on broken set-up"
)]

use bridge_runtime::grpc::standard_routes;
use prost::Message;
use prost_types::FileDescriptorProto;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Channel;
use tonic_reflection::pb::{v1, v1alpha};

const SERVICE: &str = "fulfillment.v1.FulfillmentService";

async fn serve_standard_routes() -> Channel {
    let (routes, _reporter) = standard_routes(&[SERVICE]).expect("routes");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_routes(routes.routes())
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    tonic::transport::Endpoint::from_shared(address)
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn ask_v1(
    channel: Channel,
    request: v1::server_reflection_request::MessageRequest,
) -> v1::server_reflection_response::MessageResponse {
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection call")
        .into_inner();
    answers
        .message()
        .await
        .unwrap()
        .expect("one answer")
        .message_response
        .expect("a response")
}

fn file_names(files: &[Vec<u8>]) -> Vec<String> {
    files
        .iter()
        .map(|bytes| {
            FileDescriptorProto::decode(bytes.as_slice())
                .unwrap()
                .name()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn v1_lists_exactly_the_offered_services() {
    let channel = serve_standard_routes().await;

    let answer = ask_v1(
        channel,
        v1::server_reflection_request::MessageRequest::ListServices(String::new()),
    )
    .await;

    let v1::server_reflection_response::MessageResponse::ListServicesResponse(list) = answer else {
        panic!("expected a service list, got {answer:?}");
    };
    let mut names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(
        names,
        [
            SERVICE,
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection"
        ]
    );
}

#[tokio::test]
async fn v1_describes_our_messages_and_error_info() {
    let channel = serve_standard_routes().await;

    for (symbol, file) in [
        (
            "fulfillment.v1.FulfillRequest",
            "fulfillment/v1/fulfillment.proto",
        ),
        ("google.rpc.ErrorInfo", "error_details.proto"),
    ] {
        let answer = ask_v1(
            channel.clone(),
            v1::server_reflection_request::MessageRequest::FileContainingSymbol(symbol.into()),
        )
        .await;
        let v1::server_reflection_response::MessageResponse::FileDescriptorResponse(files) = answer
        else {
            panic!("expected descriptors for {symbol}, got {answer:?}");
        };
        assert!(
            file_names(&files.file_descriptor_proto).contains(&file.to_owned()),
            "{symbol} should come from {file}"
        );
    }
}

#[tokio::test]
async fn v1alpha_answers_too_for_grpcurl_1_8() {
    let channel = serve_standard_routes().await;
    let mut client = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };

    let answer = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner()
        .message()
        .await
        .unwrap()
        .unwrap()
        .message_response
        .unwrap();

    let v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list) = answer
    else {
        panic!("expected a service list, got {answer:?}");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    assert!(names.contains(&SERVICE.to_owned()), "{names:?}");
    assert!(
        names.contains(&"grpc.reflection.v1alpha.ServerReflection".to_owned()),
        "{names:?}"
    );
}
