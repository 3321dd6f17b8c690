//! The Salesforce Pub/Sub API client: one gRPC channel (TLS, or plaintext for an emulator),
//! the three authentication headers on every call, and the calls ingest makes.
//!
//! The headers come from the JWT bearer session (`accesstoken`, `instanceurl`, and the org id
//! as `tenantid`). The gRPC client does not honour `HTTPS_PROXY`.

use std::{sync::Arc, time::Duration};

use bridge_proto::eventbus::v1::{
    FetchRequest, FetchResponse, SchemaRequest, TopicInfo, TopicRequest,
    pub_sub_client::PubSubClient,
};
use bridge_runtime::salesforce::{AuthError, JwtBearer, Session};
use tonic::{
    Request, Status, Streaming,
    metadata::MetadataValue,
    transport::{Channel, ClientTlsConfig, Endpoint},
};
use url::Url;

/// The largest message accepted: a FetchResponse may carry 100 events of up to 1 MB each.
pub const MAX_MESSAGE: usize = 128 * 1024 * 1024;

/// The trailer in which Salesforce names its own error code.
pub const ERROR_CODE_TRAILER: &str = "error-code";

/// Why a Pub/Sub call could not be made or failed.
#[derive(Debug, thiserror::Error)]
pub enum PubSubError {
    /// No Salesforce session could be had.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The endpoint is not usable.
    #[error("SF_PUBSUB_ENDPOINT cannot be used: {0}")]
    Endpoint(String),
    /// The call failed.
    #[error("the Pub/Sub API answered {}: {}", .0.code(), .0.message())]
    Status(#[from] Status),
}

impl PubSubError {
    /// Salesforce's own error code (the `error-code` trailer), when it sent one.
    pub fn salesforce_code(&self) -> Option<String> {
        match self {
            Self::Status(status) => status
                .metadata()
                .get(ERROR_CODE_TRAILER)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned),
            _ => None,
        }
    }

    /// The gRPC code, when the call got an answer.
    pub fn code(&self) -> Option<tonic::Code> {
        match self {
            Self::Status(status) => Some(status.code()),
            _ => None,
        }
    }
}

/// A connection to the Pub/Sub API of one org.
#[derive(Clone)]
pub struct PubSub {
    client: PubSubClient<Channel>,
    auth: Arc<JwtBearer>,
}

impl PubSub {
    /// A lazily connecting client for `endpoint` (`https://` with the system's roots and an
    /// optional extra CA, or `http://` for plaintext).
    pub fn new(
        endpoint: &Url,
        extra_ca_pem: Option<&str>,
        auth: Arc<JwtBearer>,
    ) -> Result<Self, PubSubError> {
        let mut builder = Endpoint::from_shared(endpoint.as_str().trim_end_matches('/').to_owned())
            .map_err(|err| PubSubError::Endpoint(err.to_string()))?
            .connect_timeout(Duration::from_secs(10))
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(Duration::from_secs(20))
            .keep_alive_while_idle(true);
        if endpoint.scheme() == "https" {
            let mut tls = ClientTlsConfig::new().with_webpki_roots();
            if let Some(host) = endpoint.host_str() {
                tls = tls.domain_name(host);
            }
            if let Some(pem) = extra_ca_pem {
                tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
            }
            builder = builder
                .tls_config(tls)
                .map_err(|err| PubSubError::Endpoint(err.to_string()))?;
        }
        let client = PubSubClient::new(builder.connect_lazy())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE);
        Ok(Self { client, auth })
    }

    /// The JWT bearer client behind the headers.
    pub fn auth(&self) -> &Arc<JwtBearer> {
        &self.auth
    }

    /// The current session (minting one if needed).
    pub async fn session(&self) -> Result<Arc<Session>, PubSubError> {
        Ok(self.auth.session().await?)
    }

    fn authorised<T>(session: &Session, message: T) -> Request<T> {
        let mut request = Request::new(message);
        let metadata = request.metadata_mut();
        let headers = [
            ("accesstoken", session.access_token.expose().as_str()),
            (
                "instanceurl",
                session.instance_url.as_str().trim_end_matches('/'),
            ),
            ("tenantid", session.org_id.as_str()),
        ];
        for (name, value) in headers {
            if let Ok(value) = MetadataValue::try_from(value) {
                metadata.insert(name, value);
            }
        }
        request
    }

    /// `GetTopic`.
    pub async fn topic(
        &self,
        session: &Session,
        topic_name: &str,
    ) -> Result<TopicInfo, PubSubError> {
        let request = Self::authorised(
            session,
            TopicRequest {
                topic_name: topic_name.to_owned(),
            },
        );
        Ok(self.client.clone().get_topic(request).await?.into_inner())
    }

    /// `GetSchema`: the writer schema's JSON.
    pub async fn schema(&self, session: &Session, schema_id: &str) -> Result<String, PubSubError> {
        let request = Self::authorised(
            session,
            SchemaRequest {
                schema_id: schema_id.to_owned(),
            },
        );
        Ok(self
            .client
            .clone()
            .get_schema(request)
            .await?
            .into_inner()
            .schema_json)
    }

    /// `Subscribe`, sending what `requests` yields.
    pub async fn subscribe(
        &self,
        session: &Session,
        requests: impl tokio_stream::Stream<Item = FetchRequest> + Send + 'static,
    ) -> Result<Streaming<FetchResponse>, PubSubError> {
        let request = Self::authorised(session, requests);
        Ok(self.client.clone().subscribe(request).await?.into_inner())
    }
}
