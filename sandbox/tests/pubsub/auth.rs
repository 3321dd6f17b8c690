//! The three headers: every RPC refuses a missing or wrong one with Salesforce's status,
//! description and trailer, and accepts every documented tenant id form.

use bridge_proto::eventbus::v1::{ReplayPreset, TopicRequest};
use tonic::Code;

use crate::{ORDER_CHANNEL, assert_salesforce_error, fetch, start, with_headers, within};

const AUTH_DESCRIPTION: &str =
    "An authentication exception occurred. Provide valid authentication via metadata headers.";
const AUTH_ERROR: &str = "sfdc.platform.eventbus.grpc.service.auth.error";

fn topic() -> TopicRequest {
    TopicRequest {
        topic_name: ORDER_CHANNEL.to_owned(),
    }
}

#[tokio::test]
async fn missing_or_wrong_headers_are_unauthenticated_with_the_auth_trailer() {
    let bus = start().await;
    let url = bus.sf.url();
    let org = bus.sf.org_id();
    let token = bus.token.clone();
    let cases = [
        ("no token", "", url.as_str(), org.as_str()),
        (
            "unknown token",
            "00D000000000000!AQnope",
            url.as_str(),
            org.as_str(),
        ),
        ("no instance url", token.as_str(), "", org.as_str()),
        (
            "another instance",
            token.as_str(),
            "https://acme.my.salesforce.com",
            org.as_str(),
        ),
        ("no tenant", token.as_str(), url.as_str(), ""),
        (
            "another org",
            token.as_str(),
            url.as_str(),
            "00D000000000001AAA",
        ),
        (
            "a truncated org id",
            token.as_str(),
            url.as_str(),
            &org[..14],
        ),
    ];
    for (case, token, url, tenant) in cases {
        let status = bus
            .client
            .clone()
            .get_topic(with_headers(topic(), token, url, tenant))
            .await
            .expect_err(case);
        assert_salesforce_error(&status, Code::Unauthenticated, AUTH_DESCRIPTION, AUTH_ERROR);
    }
}

#[tokio::test]
async fn every_documented_tenant_form_and_unknown_headers_are_accepted() {
    let bus = start().await;
    let org = bus.sf.org_id();
    for tenant in [
        org.clone(),
        org[..15].to_owned(),
        format!("core/acme/{}", &org[..15]),
        format!("core/acme/{org}"),
    ] {
        let mut request = with_headers(topic(), &bus.token, &bus.sf.url(), &tenant);
        request.metadata_mut().insert(
            "x-client-trace-id",
            "5b1f3a0e-trace".parse().expect("ASCII"),
        );
        let info = bus
            .client
            .clone()
            .get_topic(request)
            .await
            .unwrap_or_else(|status| panic!("{tenant}: {status:?}"))
            .into_inner();
        assert!(info.can_subscribe, "{tenant}");
    }
}

#[tokio::test]
async fn an_expired_session_is_refused_on_the_next_call() {
    let bus = start().await;
    bus.client
        .clone()
        .get_topic(bus.authed(topic()))
        .await
        .expect("a live session works");

    bus.sf.expire_sessions();
    let status = bus
        .client
        .clone()
        .get_topic(bus.authed(topic()))
        .await
        .expect_err("an expired session");
    assert_salesforce_error(&status, Code::Unauthenticated, AUTH_DESCRIPTION, AUTH_ERROR);
}

#[tokio::test]
async fn a_subscribe_with_a_bad_token_fails_at_its_first_request_and_opens_nothing() {
    let bus = start().await;
    let (requests, outbound) = tokio::sync::mpsc::unbounded_channel();
    requests
        .send(fetch(ReplayPreset::Latest, &[], 5))
        .expect("queued");
    let request = with_headers(
        tokio_stream::wrappers::UnboundedReceiverStream::new(outbound),
        "00D000000000000!AQnope",
        &bus.sf.url(),
        &bus.sf.org_id(),
    );
    let status = within(bus.client.clone().subscribe(request))
        .await
        .expect_err("refused");
    assert_salesforce_error(&status, Code::Unauthenticated, AUTH_DESCRIPTION, AUTH_ERROR);

    assert_eq!(bus.pubsub.streams_opened(), 0);
    assert_eq!(bus.pubsub.active_streams(), 0);
    let fetches = bus.pubsub.fetch_requests();
    assert_eq!(fetches.len(), 1, "the first request was read: {fetches:?}");
    assert_eq!(fetches[0].stream, 1);
    assert_eq!(fetches[0].num_requested, 5);
}
