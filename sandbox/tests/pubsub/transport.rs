//! The two transports: plaintext h2c by default, and TLS with a generated CA whose
//! `localhost` leaf a client trusting `ca_pem()` accepts and any other client refuses.

use std::time::Duration;

use bridge_proto::eventbus::v1::{ReplayPreset, TopicRequest, pub_sub_client::PubSubClient};
use sandbox::pubsub::{ORDER_CHANNEL, PubSubEmulator, PubSubOptions};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

use crate::{fetch, login, start, start_org, with_headers};

#[tokio::test]
async fn plaintext_by_default_on_loopback() {
    let bus = start().await;
    assert!(bus.pubsub.endpoint().starts_with("http://127.0.0.1:"));
    assert_eq!(bus.pubsub.ca_pem(), None);
}

#[tokio::test]
async fn tls_serves_a_localhost_leaf_signed_by_the_given_ca() {
    let sf = start_org().await;
    let pubsub = PubSubEmulator::start(
        &sf,
        PubSubOptions {
            tls: true,
            keepalive_interval: Duration::from_millis(100),
            ..PubSubOptions::default()
        },
    )
    .await
    .expect("the bus starts");
    let endpoint = pubsub.endpoint();
    assert!(endpoint.starts_with("https://localhost:"), "{endpoint}");
    let ca = pubsub.ca_pem().expect("a CA with TLS");
    let token = login(&sf).await;

    let trusted = Channel::from_shared(endpoint.clone())
        .expect("a URI")
        .tls_config(
            ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(&ca))
                .domain_name("localhost"),
        )
        .expect("a TLS config")
        .connect()
        .await
        .expect("the handshake succeeds");
    let mut client = PubSubClient::new(trusted);
    let request = with_headers(
        TopicRequest {
            topic_name: ORDER_CHANNEL.to_owned(),
        },
        &token,
        &sf.url(),
        &sf.org_id(),
    );
    let info = client.get_topic(request).await.expect("the topic");
    assert!(info.into_inner().can_subscribe);

    // A stream works over TLS too.
    let (requests, outbound) = tokio::sync::mpsc::unbounded_channel();
    requests
        .send(fetch(ReplayPreset::Latest, &[], 1))
        .expect("queued");
    let mut responses = client
        .subscribe(with_headers(
            tokio_stream::wrappers::UnboundedReceiverStream::new(outbound),
            &token,
            &sf.url(),
            &sf.org_id(),
        ))
        .await
        .expect("subscribed")
        .into_inner();
    let keepalive = crate::within(responses.message())
        .await
        .expect("a response")
        .expect("not the end");
    assert_eq!(keepalive.latest_replay_id.len(), 10);

    // Trusting another CA (or none but the public roots) fails the handshake.
    let other = PubSubEmulator::start(
        &sf,
        PubSubOptions {
            tls: true,
            ..PubSubOptions::default()
        },
    )
    .await
    .expect("another bus");
    let other_ca = other.ca_pem().expect("a CA");
    assert_ne!(other_ca, ca);
    let untrusted = Channel::from_shared(endpoint)
        .expect("a URI")
        .tls_config(
            ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(&other_ca))
                .domain_name("localhost"),
        )
        .expect("a TLS config")
        .connect()
        .await;
    assert!(
        untrusted.is_err(),
        "a certificate from an unknown CA is refused"
    );

    pubsub.shutdown().await;
    other.shutdown().await;
}
