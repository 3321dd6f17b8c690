//! Hands one event's Order to fulfillment: a `Fulfill` call with a deadline and ingest's bearer
//! token, and what its answer means for the event.
//!
//! Any outcome, `FAILED_PRECONDITION` (the guard refused an old event) and `NOT_FOUND` finish
//! the event. `INVALID_ARGUMENT` sends it to the dead-letter stream. Everything else
//! (`ABORTED` while another run holds the Order, `UNAVAILABLE`, deadlines, an unreachable
//! fulfillment, authentication problems) means "deliver the same event again later": that repeats
//! a delivery, never a finished run, because `Fulfill` resumes from its journal.

use std::time::Duration;

use bridge_proto::fulfillment::v1::{
    FulfillRequest, Outcome, Trigger, fulfillment_service_client::FulfillmentServiceClient,
};
use bridge_runtime::{Secret, salesforce::SalesforceId};
use tonic::{
    Code, Request,
    metadata::MetadataValue,
    transport::{Channel, ClientTlsConfig, Endpoint},
};
use url::Url;

/// What to do with an event after one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Finished; the text says how, for the log.
    Done(String),
    /// Fulfillment refused the request as malformed: dead-letter it.
    DeadLetter(String),
    /// Deliver again after a wait. `alarming` answers (credentials) are logged at error level.
    Retry {
        /// What happened.
        detail: String,
        /// Whether an operator must act.
        alarming: bool,
    },
}

/// Why the dispatcher could not be built.
#[derive(Debug, thiserror::Error)]
#[error("FULFILLMENT_URL cannot be used: {0}")]
pub struct DispatchSetupError(String);

/// Calls `Fulfill`.
#[derive(Clone)]
pub struct Dispatcher {
    client: FulfillmentServiceClient<Channel>,
    token: Option<Secret<String>>,
    deadline: Duration,
}

impl Dispatcher {
    /// A lazily connecting dispatcher to `url` (`https://` trusts `ca_pem` when given).
    pub fn new(
        url: &Url,
        ca_pem: Option<&str>,
        token: Option<Secret<String>>,
        deadline: Duration,
    ) -> Result<Self, DispatchSetupError> {
        let mut endpoint = Endpoint::from_shared(url.as_str().trim_end_matches('/').to_owned())
            .map_err(|err| DispatchSetupError(err.to_string()))?
            .connect_timeout(Duration::from_secs(5));
        if url.scheme() == "https" {
            let mut tls = ClientTlsConfig::new().with_webpki_roots();
            if let Some(pem) = ca_pem {
                tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
            }
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|err| DispatchSetupError(err.to_string()))?;
        }
        Ok(Self {
            client: FulfillmentServiceClient::new(endpoint.connect_lazy()),
            token,
            deadline,
        })
    }

    /// One `Fulfill` call for `order_id`, with fulfillment's own answer.
    pub async fn call(
        &self,
        order_id: &SalesforceId,
        event_uuid: &str,
        replay_id: &[u8],
    ) -> Result<bridge_proto::fulfillment::v1::FulfillResponse, tonic::Status> {
        let mut request = Request::new(FulfillRequest {
            order_id: order_id.to_string(),
            trigger: Trigger::PlatformEvent.into(),
            event_uuid: event_uuid.to_owned(),
            replay_id: replay_id.to_vec(),
            correlation_id: String::new(),
        });
        request.set_timeout(self.deadline);
        if let Some(token) = &self.token
            && let Ok(value) = MetadataValue::try_from(format!("Bearer {}", token.expose()))
        {
            request.metadata_mut().insert("authorization", value);
        }
        self.client
            .clone()
            .fulfill(request)
            .await
            .map(tonic::Response::into_inner)
    }

    /// One `Fulfill` call for `order_id`, and what it means for the event.
    pub async fn deliver(
        &self,
        order_id: &SalesforceId,
        event_uuid: &str,
        replay_id: &[u8],
    ) -> Answer {
        match self.call(order_id, event_uuid, replay_id).await {
            Ok(response) => {
                let outcome = match response.outcome() {
                    Outcome::Activated => "activated".to_owned(),
                    Outcome::AlreadyActivated => "already activated".to_owned(),
                    Outcome::Failed => {
                        let error = response.error.unwrap_or_default();
                        format!("failed at {} with {}", error.step, error.code)
                    }
                    Outcome::Unspecified => "answered".to_owned(),
                };
                Answer::Done(outcome)
            }
            Err(status) => classify(&status),
        }
    }
}

/// What a `Fulfill` error means for the event.
pub fn classify(status: &tonic::Status) -> Answer {
    let detail = format!("{:?}: {}", status.code(), status.message());
    match status.code() {
        Code::FailedPrecondition | Code::NotFound => Answer::Done(detail),
        Code::InvalidArgument => Answer::DeadLetter(detail),
        Code::Unauthenticated | Code::PermissionDenied => Answer::Retry {
            detail,
            alarming: true,
        },
        _ => Answer::Retry {
            detail,
            alarming: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use tonic::Status;

    use super::*;

    #[test]
    fn answers_follow_the_table() {
        assert!(matches!(
            classify(&Status::failed_precondition("Failed")),
            Answer::Done(_)
        ));
        assert!(matches!(
            classify(&Status::not_found("gone")),
            Answer::Done(_)
        ));
        assert!(matches!(
            classify(&Status::invalid_argument("bad id")),
            Answer::DeadLetter(_)
        ));
        for code in [
            Code::Aborted,
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::Cancelled,
            Code::Internal,
            Code::Unknown,
            Code::ResourceExhausted,
        ] {
            assert!(
                matches!(
                    classify(&Status::new(code, "x")),
                    Answer::Retry {
                        alarming: false,
                        ..
                    }
                ),
                "{code:?}"
            );
        }
        assert!(matches!(
            classify(&Status::unauthenticated("who")),
            Answer::Retry { alarming: true, .. }
        ));
    }
}
