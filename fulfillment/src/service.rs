//! `fulfillment.v1.FulfillmentService`: checks each request, runs the orchestration as a task of
//! its own, and turns reports into responses.
//!
//! A run is not tied to its RPC: when the caller's deadline passes, tonic drops the handler, but
//! the run goes on (holding the Order's lock) and its result is kept in the journal, where
//! `GetFulfillment` or a second `Fulfill` finds it. Runs are tracked so that shutdown waits for
//! them within the grace period.

use bridge_proto::fulfillment::v1::{self as pb, fulfillment_service_server::FulfillmentService};
use bridge_runtime::{caller_auth::Caller, salesforce::SalesforceId};
use tokio_util::task::TaskTracker;
use tonic::{Request, Response, Status};

use crate::{
    orchestrator::{
        ItemMapping, MappingReport, Orchestrator, Outcome, RunReport, RunRequest, Trigger,
    },
    status,
    store::{OrderJournal, RecordedError, RecordedStep, RunState, WhmcsProgress},
};

/// The longest correlation id or event UUID accepted.
const MAX_TRACE_ID: usize = 128;

/// The gRPC face of the orchestrator.
#[derive(Clone)]
pub struct FulfillmentApi {
    orchestrator: Orchestrator,
    runs: TaskTracker,
}

impl FulfillmentApi {
    /// Serves `orchestrator`, tracking runs in `runs`.
    pub fn new(orchestrator: Orchestrator, runs: TaskTracker) -> Self {
        Self { orchestrator, runs }
    }
}

fn trace_id(field: &str, value: String) -> Result<String, Status> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    if value.len() > MAX_TRACE_ID || !value.chars().all(allowed) {
        return Err(status::invalid_request(
            field,
            "must be at most 128 characters of A-Z, a-z, 0-9, '-', '_', '.', ':'",
        ));
    }
    Ok(value)
}

fn parse_order_id(text: &str) -> Result<SalesforceId, Status> {
    SalesforceId::parse_with_prefix(text.trim(), "801")
        .map_err(|err| status::invalid_order_id(&err))
}

#[tonic::async_trait]
impl FulfillmentService for FulfillmentApi {
    async fn fulfill(
        &self,
        request: Request<pb::FulfillRequest>,
    ) -> Result<Response<pb::FulfillResponse>, Status> {
        let caller = Caller::of(&request);
        let request = request.into_inner();
        let order_id = parse_order_id(&request.order_id)?;
        let trigger = match pb::Trigger::try_from(request.trigger) {
            Ok(pb::Trigger::PlatformEvent) => Trigger::PlatformEvent,
            Ok(pb::Trigger::Direct | pb::Trigger::Unspecified) => Trigger::Direct,
            Err(_) => return Err(status::invalid_request("trigger", "is not a known Trigger")),
        };
        let correlation_id = match trace_id("correlation_id", request.correlation_id)? {
            id if id.is_empty() => uuid::Uuid::new_v4().to_string(),
            id => id,
        };
        let event_uuid = trace_id("event_uuid", request.event_uuid)?;

        let run = RunRequest {
            order_id,
            trigger,
            caller,
            correlation_id,
            event_uuid,
        };
        let orchestrator = self.orchestrator.clone();
        let task = self.runs.spawn(async move { orchestrator.run(run).await });
        let report = task
            .await
            .map_err(|err| Status::internal(format!("the run ended abnormally: {err}")))?
            .map_err(|err| status::from_run_error(&err))?;
        Ok(Response::new(response(report)))
    }

    async fn get_fulfillment(
        &self,
        request: Request<pb::GetFulfillmentRequest>,
    ) -> Result<Response<pb::GetFulfillmentResponse>, Status> {
        let order_id = parse_order_id(&request.into_inner().order_id)?;
        let journal = self
            .orchestrator
            .journals()
            .load(order_id.as_str())
            .await
            .map_err(|err| status::store_unavailable(&err))?
            .filter(|journal| journal.state != RunState::New)
            .ok_or_else(status::journal_not_found)?;
        Ok(Response::new(journal_response(&order_id, &journal)))
    }
}

fn response(report: RunReport) -> pb::FulfillResponse {
    let outcome = match report.outcome {
        Outcome::Activated => pb::Outcome::Activated,
        Outcome::AlreadyActivated => pb::Outcome::AlreadyActivated,
        Outcome::Failed => pb::Outcome::Failed,
    };
    pb::FulfillResponse {
        order_id: report.order_id.to_string(),
        outcome: outcome.into(),
        whmcs_order_id: report.whmcs_order_id.unwrap_or_default(),
        whmcs_service_ids: report.whmcs_service_ids,
        whmcs_invoice_id: report.whmcs_invoice_id.unwrap_or_default(),
        error: report.error.as_ref().map(error),
        salesforce_updated: report.salesforce_updated,
        steps: report.steps.iter().map(step).collect(),
        mapping: report.mapping.as_ref().map(mapping),
        correlation_id: report.correlation_id,
    }
}

fn journal_response(order_id: &SalesforceId, journal: &OrderJournal) -> pb::GetFulfillmentResponse {
    let state = match (journal.state, journal.progress) {
        (RunState::Activated, _) => pb::FulfillmentState::Activated,
        (RunState::Failed, _) => pb::FulfillmentState::Failed,
        (_, WhmcsProgress::None) => pb::FulfillmentState::Running,
        (_, WhmcsProgress::Creating) => pb::FulfillmentState::CreatingWhmcsOrder,
        (_, WhmcsProgress::Created) => pb::FulfillmentState::WhmcsOrderCreated,
        (_, WhmcsProgress::Accepted) => pb::FulfillmentState::WhmcsOrderAccepted,
    };
    let updated_at =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(journal.updated_at_ms);
    pb::GetFulfillmentResponse {
        order_id: order_id.to_string(),
        state: state.into(),
        steps: journal.steps.iter().map(step).collect(),
        whmcs_order_id: journal.whmcs_order_id.clone().unwrap_or_default(),
        whmcs_service_ids: journal.whmcs_service_ids.clone(),
        whmcs_invoice_id: journal.whmcs_invoice_id.clone().unwrap_or_default(),
        last_error: journal.last_error.as_ref().map(error),
        attempts: journal.attempts,
        caller: journal.caller.clone(),
        correlation_id: journal.correlation_id.clone(),
        salesforce_updated: journal.salesforce_updated(),
        updated_at: Some(prost_types::Timestamp::from(updated_at)),
    }
}

fn error(error: &RecordedError) -> pb::FulfillmentError {
    pb::FulfillmentError {
        code: error.code.clone(),
        message: error.message.clone(),
        step: error.step.clone(),
    }
}

fn step(step: &RecordedStep) -> pb::StepResult {
    let status = match step.status.as_str() {
        "succeeded" => pb::StepStatus::Succeeded,
        "failed" => pb::StepStatus::Failed,
        "skipped" => pb::StepStatus::Skipped,
        _ => pb::StepStatus::Unspecified,
    };
    pb::StepResult {
        name: step.name.clone(),
        status: status.into(),
        duration: prost_types::Duration::try_from(std::time::Duration::from_millis(
            step.duration_ms,
        ))
        .ok(),
    }
}

fn mapping(report: &MappingReport) -> pb::MappingReport {
    pb::MappingReport {
        items: report.items.iter().map(item).collect(),
    }
}

fn item(item: &ItemMapping) -> pb::ItemMapping {
    pb::ItemMapping {
        order_item_id: item.order_item_id.clone(),
        product_name: item.product_name.clone(),
        whmcs_product_id: item.whmcs_product_id.clone(),
        billing_cycle: item.billing_cycle.clone(),
        whmcs_billing_cycle: item.whmcs_billing_cycle.clone(),
        quantity: item.quantity,
        mapped: item.mapped,
        reason: item.reason.clone(),
    }
}
