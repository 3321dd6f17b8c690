//! The orchestration of one Order's fulfillment, in the seven steps the operators' runbook
//! names: `validation`, `sf_status_update`, `order_details`, `mapping`, `whmcs_create`,
//! `whmcs_accept`, `sf_success_update`.
//!
//! Everything before the first Salesforce write is free of side effects, and a problem there is
//! a [`RunError`] (a gRPC error to the caller; nothing changed). From `sf_status_update` on, a
//! failure is written to the Order (`Failed`, a code and a message) and the run ends with
//! [`Outcome::Failed`]. Nothing is retried automatically; a new `Fulfill` for the Order resumes
//! from its journal, so a WHMCS order is never created twice.

mod failure;
pub mod fields_used;
mod mapping;
mod provision;
mod salesforce;
pub mod steps;
mod whmcs_order;

use std::{sync::Arc, time::Duration};

use bridge_runtime::salesforce::{RestError, SalesforceId};
use tracing::Instrument;

pub use failure::{MESSAGE_LIMIT, OrderProblem, StepFailure, truncate};
pub use mapping::{ItemMapping, MAX_QUANTITY, MappingReport, WhmcsCycle, whmcs_cycle};
pub use salesforce::{
    DetailsRow, ItemRow, OrderDetails, OrderItem, OrderRecords, OrderStatus, StatusRow,
};
pub use steps::{STEP_NAMES, StepStatus};
pub use whmcs_order::notes_marker;

use self::steps::StepLog;
use crate::{
    store::{
        JournalUpdate, Journals, LockGrant, LockRenewal, OrderJournal, OrderLocks, PendingWrite,
        RecordedError, RecordedStep, RunState, StoreError, WhmcsProgress, now_ms,
    },
    upstream::UpstreamHealth,
    whmcs::{Deadlines, WhmcsClient},
};

/// What caused a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The platform event, delivered by ingest: only an `Activating` Order is fulfilled.
    PlatformEvent,
    /// An internal caller: any Order but an `Activated` one is fulfilled.
    Direct,
}

impl Trigger {
    /// The name used in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PlatformEvent => "platform_event",
            Self::Direct => "direct",
        }
    }
}

/// One request to fulfil an Order.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The Order.
    pub order_id: SalesforceId,
    /// What caused the run.
    pub trigger: Trigger,
    /// The authenticated caller's name.
    pub caller: String,
    /// Ties the run's log lines together.
    pub correlation_id: String,
    /// The platform event's EventUuid, when there is one.
    pub event_uuid: String,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The WHMCS order is created and accepted (or adopted) and the Order is `Activated`.
    Activated,
    /// The Order was `Activated` before the run; nothing was touched.
    AlreadyActivated,
    /// The run failed; the report says where and why.
    Failed,
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The Order.
    pub order_id: SalesforceId,
    /// How it ended.
    pub outcome: Outcome,
    /// The WHMCS order, when one exists.
    pub whmcs_order_id: Option<String>,
    /// Its services.
    pub whmcs_service_ids: Vec<String>,
    /// Its invoice.
    pub whmcs_invoice_id: Option<String>,
    /// Why it failed, when it did.
    pub error: Option<RecordedError>,
    /// Whether the outcome reached the Order.
    pub salesforce_updated: bool,
    /// The steps of this run.
    pub steps: Vec<RecordedStep>,
    /// The item mapping report, when mapping ran.
    pub mapping: Option<MappingReport>,
    /// The run's correlation id.
    pub correlation_id: String,
}

/// Why a run ended without an outcome: nothing was changed, or another run owns the Order.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Another run holds the Order's lock.
    #[error("another run for this Order is in progress")]
    AlreadyInProgress,
    /// The guard refused: a platform event for an Order that is neither `Activating` nor
    /// `Activated`.
    #[error(
        "the Order's Activation_Status__c is {status:?}; a platform event only fulfils an Activating Order"
    )]
    NotActivatable {
        /// The status seen.
        status: String,
    },
    /// Salesforce has no such Order.
    #[error("Salesforce has no Order with this id")]
    OrderNotFound,
    /// Redis failed before anything was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Salesforce could not be reached, authenticated with, or read before anything was changed.
    #[error(transparent)]
    Salesforce(RestError),
    /// The run lost its lock to another run and stopped.
    #[error("the run lost the Order's lock to another run and stopped")]
    LockLost,
    /// An earlier run's AddOrder may still be in flight; the Order can be fulfilled after that.
    #[error("an earlier AddOrder for this Order may still be in flight; retry in {wait_ms} ms")]
    AddOrderInFlight {
        /// How long until it cannot be.
        wait_ms: u64,
    },
    /// A crash hook stopped the run dead, as a killed process would.
    #[error("the run was stopped at {0:?} by a crash hook")]
    Crashed(CrashPoint),
}

/// Places where a test can make a run stop dead, leaving its lock to expire and its journal as
/// it was, to prove that the next run completes the work without repeating it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// AddOrder answered, and the answer has not been journaled yet.
    AfterAddOrder,
    /// AcceptOrder answered, and the answer has not been journaled yet.
    AfterAcceptOrder,
}

/// Decides, at each [`CrashPoint`], whether the run stops there.
pub type CrashHook = Arc<dyn Fn(CrashPoint) -> bool + Send + Sync>;

/// What the orchestration needs besides its clients.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Orders on another price book fail with `PRICEBOOK_MISMATCH`.
    pub pricebook_id: Option<SalesforceId>,
    /// The gateway when neither the pay method nor the client names one.
    pub default_payment_method: Option<String>,
    /// AcceptOrder `sendemail`.
    pub send_email: bool,
    /// AcceptOrder `autosetup`.
    pub autosetup: bool,
    /// WHMCS deadlines.
    pub deadlines: Deadlines,
    /// How long after AddOrder's deadline WHMCS may still finish creating the order; no run
    /// searches for or creates the order until both have passed.
    pub add_order_settle: Duration,
}

/// Runs fulfillments. Cheap to clone.
#[derive(Clone)]
pub struct Orchestrator {
    inner: Arc<Inner>,
}

struct Inner {
    locks: OrderLocks,
    journals: Journals,
    orders: OrderRecords,
    whmcs: WhmcsClient,
    settings: RunSettings,
    health: UpstreamHealth,
    crash_hook: Option<CrashHook>,
}

impl Orchestrator {
    /// An orchestrator over its store, Salesforce and WHMCS.
    pub fn new(
        locks: OrderLocks,
        journals: Journals,
        orders: OrderRecords,
        whmcs: WhmcsClient,
        settings: RunSettings,
        health: UpstreamHealth,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                locks,
                journals,
                orders,
                whmcs,
                settings,
                health,
                crash_hook: None,
            }),
        }
    }

    /// The same orchestrator with a crash hook, for tests of crash recovery.
    pub fn with_crash_hook(self, hook: CrashHook) -> Self {
        let inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Inner {
            locks: shared.locks.clone(),
            journals: shared.journals.clone(),
            orders: shared.orders.clone(),
            whmcs: shared.whmcs.clone(),
            settings: shared.settings.clone(),
            health: shared.health.clone(),
            crash_hook: shared.crash_hook.clone(),
        });
        Self {
            inner: Arc::new(Inner {
                crash_hook: Some(hook),
                ..inner
            }),
        }
    }

    /// The journals, for `GetFulfillment`.
    pub fn journals(&self) -> &Journals {
        &self.inner.journals
    }

    /// The time to live of Order locks.
    pub fn lock_ttl(&self) -> Duration {
        self.inner.locks.ttl()
    }

    /// Runs (or resumes) the fulfillment of one Order.
    pub async fn run(&self, request: RunRequest) -> Result<RunReport, RunError> {
        let span = tracing::info_span!(
            "fulfillment.fulfill",
            order_id = %request.order_id,
            correlation_id = %request.correlation_id,
            caller = %request.caller,
            trigger = request.trigger.as_str(),
            event_uuid = %request.event_uuid,
        );
        let result = self.run_in_span(&request).instrument(span).await;
        let label = match &result {
            Ok(report) => match report.outcome {
                Outcome::Activated => "activated",
                Outcome::AlreadyActivated => "already_activated",
                Outcome::Failed => "failed",
            },
            Err(RunError::AlreadyInProgress | RunError::AddOrderInFlight { .. }) => {
                "already_in_progress"
            }
            Err(RunError::NotActivatable { .. }) => "not_activatable",
            Err(RunError::OrderNotFound) => "not_found",
            Err(_) => "unavailable",
        };
        metrics::counter!("fulfillment_runs_total", "result" => label).increment(1);
        result
    }

    async fn run_in_span(&self, request: &RunRequest) -> Result<RunReport, RunError> {
        tracing::info!("Starting fulfillment orchestration");
        let inner = &self.inner;
        let mut steps = StepLog::new();
        steps.begin(steps::VALIDATION);

        let grant = match inner.locks.acquire(request.order_id.as_str()).await {
            Ok(Some(grant)) => grant,
            Ok(None) => {
                steps.end(StepStatus::Failed);
                tracing::info!("Another run holds this Order's lock: already in progress");
                return Err(RunError::AlreadyInProgress);
            }
            Err(err) => {
                steps.end(StepStatus::Failed);
                return Err(err.into());
            }
        };
        let renewal = inner.locks.keep_renewed(&grant);
        let run = Run {
            inner,
            request,
            grant: &grant,
            renewal: &renewal,
            steps,
        };
        let result = run.execute().await;
        renewal.stop();

        if !matches!(result, Err(RunError::Crashed(_)))
            && let Err(err) = inner.locks.release(&grant).await
        {
            tracing::warn!(error = %err, "Could not release the Order's lock; it expires on its own");
        }
        result
    }
}

/// One run, holding the Order's lock.
struct Run<'a> {
    inner: &'a Inner,
    request: &'a RunRequest,
    grant: &'a LockGrant,
    renewal: &'a LockRenewal,
    steps: StepLog,
}

/// How a step after the guard ended badly.
enum StepError {
    /// The step failed; the failure is recorded on the Order.
    Failed(StepFailure),
    /// The run must stop without recording anything (lost lock, crash hook).
    Stop(RunError),
}

impl From<StepFailure> for StepError {
    fn from(failure: StepFailure) -> Self {
        Self::Failed(failure)
    }
}

impl Run<'_> {
    fn order_id(&self) -> &SalesforceId {
        &self.request.order_id
    }

    async fn execute(mut self) -> Result<RunReport, RunError> {
        let journal = match self.inner.journals.load(self.order_id().as_str()).await {
            Ok(journal) => journal.unwrap_or_default(),
            Err(err) => {
                self.steps.end(StepStatus::Failed);
                return Err(err.into());
            }
        };

        let status = match self.inner.orders.status(self.order_id()).await {
            Ok(Some(status)) => {
                self.inner.health.salesforce.succeeded();
                status
            }
            Ok(None) => {
                self.inner.health.salesforce.succeeded();
                self.steps.end(StepStatus::Failed);
                return Err(RunError::OrderNotFound);
            }
            Err(err) => {
                self.inner
                    .health
                    .salesforce
                    .failed(&StepFailure::salesforce(&err).code);
                self.steps.end(StepStatus::Failed);
                return Err(RunError::Salesforce(err));
            }
        };
        let seen = &status.activation_status;
        tracing::info!(status = %seen, "Guard sees status={seen}");

        match seen.as_str() {
            "Activated" => return Ok(self.already_activated(&journal, &status).await),
            "Activating" => {}
            _ if self.request.trigger == Trigger::Direct => {}
            _ => {
                self.steps.end(StepStatus::Failed);
                return Err(RunError::NotActivatable {
                    status: seen.clone(),
                });
            }
        }

        if journal.progress == WhmcsProgress::Creating && now_ms() < journal.creating_until_ms {
            // An earlier run sent AddOrder and lost its lock (or its process) before the answer
            // came: searching now could miss an order WHMCS is still creating.
            self.steps.end(StepStatus::Failed);
            let wait_ms = journal.creating_until_ms - now_ms();
            tracing::info!(
                wait_ms,
                "An earlier AddOrder may still be in flight; answering ABORTED until it cannot be"
            );
            return Err(RunError::AddOrderInFlight { wait_ms });
        }

        if let Some(pending) = journal.pending_write {
            let new_event = !self.request.event_uuid.is_empty()
                && self.request.event_uuid != journal.pending_event;
            if new_event {
                tracing::info!(
                    "A new event for an Order with an unwritten outcome: running afresh"
                );
            } else if let Some(report) = self.retry_pending_write(pending, &journal).await? {
                return Ok(report);
            }
        }

        let started = JournalUpdate::new()
            .state(RunState::Running)
            .pending_write(None, "")
            .run_started(
                journal.attempts.saturating_add(1),
                &self.request.caller,
                &self.request.correlation_id,
            );
        if let Err(err) = self.inner.journals.write(self.grant, started).await {
            self.steps.end(StepStatus::Failed);
            return Err(fenced_or(err));
        }
        self.steps.end(StepStatus::Succeeded);

        let mut mapping = None;
        let provisioned = self.provision(&journal, &status, &mut mapping).await;
        match provisioned {
            Ok(created) => Ok(self.activated(created, mapping)),
            Err(StepError::Failed(failure)) => {
                // A run that was paused past its lock's TTL must not write Failed over what the
                // run that took over did.
                self.ensure_still_holding().await.map_err(|err| match err {
                    StepError::Stop(err) => err,
                    StepError::Failed(_) => RunError::LockLost,
                })?;
                Ok(self.record_failure(failure, &journal, mapping).await)
            }
            Err(StepError::Stop(err)) => {
                self.steps.end(StepStatus::Failed);
                Err(err)
            }
        }
    }

    /// The Order is already `Activated`: report it, touching nothing but a stale journal.
    async fn already_activated(
        mut self,
        journal: &OrderJournal,
        status: &OrderStatus,
    ) -> RunReport {
        self.steps.end(StepStatus::Succeeded);
        if journal.pending_write.is_some()
            || (journal.state != RunState::Activated && journal.state != RunState::New)
        {
            // A previous run's write reached Salesforce although its answer did not.
            let settled = JournalUpdate::new()
                .state(RunState::Activated)
                .pending_write(None, "")
                .error(None);
            if let Err(err) = self.inner.journals.write(self.grant, settled).await {
                tracing::warn!(error = %err, "Could not settle the journal of an activated Order");
            }
        }
        tracing::info!("Order already Activated; nothing to do");
        RunReport {
            order_id: self.order_id().clone(),
            outcome: Outcome::AlreadyActivated,
            whmcs_order_id: journal
                .whmcs_order_id
                .clone()
                .or_else(|| status.whmcs_order_id.clone()),
            whmcs_service_ids: journal.whmcs_service_ids.clone(),
            whmcs_invoice_id: journal.whmcs_invoice_id.clone(),
            error: None,
            salesforce_updated: true,
            steps: self.steps.recorded().to_vec(),
            mapping: None,
            correlation_id: self.request.correlation_id.clone(),
        }
    }

    /// A previous run decided its outcome but could not write it; only the write is retried.
    /// `None` when the journal lacks what the write needs, so the run goes on afresh.
    async fn retry_pending_write(
        &mut self,
        pending: PendingWrite,
        journal: &OrderJournal,
    ) -> Result<Option<RunReport>, RunError> {
        let (step, outcome, write) = match (pending, &journal.whmcs_order_id, &journal.last_error) {
            (PendingWrite::Activated, Some(order_id), _) => (
                steps::SF_SUCCESS_UPDATE,
                Outcome::Activated,
                self.inner
                    .orders
                    .mark_activated(self.order_id(), order_id)
                    .await,
            ),
            (PendingWrite::Failed, _, Some(error)) => (
                steps::SF_STATUS_UPDATE,
                Outcome::Failed,
                self.inner
                    .orders
                    .mark_failed(self.order_id(), &error.code, &error.message)
                    .await,
            ),
            _ => return Ok(None),
        };
        self.steps.end(StepStatus::Succeeded);
        tracing::info!(pending = ?pending, "Retrying only the write of the recorded outcome");
        self.steps.begin(step);
        let updated = match &write {
            Ok(()) => {
                self.inner.health.salesforce.succeeded();
                self.steps.end(StepStatus::Succeeded);
                true
            }
            Err(err) => {
                self.inner
                    .health
                    .salesforce
                    .failed(&StepFailure::salesforce(err).code);
                tracing::error!(error = %err, "The recorded outcome still cannot be written to Salesforce");
                self.steps.end(StepStatus::Failed);
                false
            }
        };
        if updated {
            let settled = JournalUpdate::new().pending_write(None, "");
            self.inner
                .journals
                .write(self.grant, settled)
                .await
                .map_err(fenced_or)?;
        }
        Ok(Some(RunReport {
            order_id: self.order_id().clone(),
            outcome,
            whmcs_order_id: journal.whmcs_order_id.clone(),
            whmcs_service_ids: journal.whmcs_service_ids.clone(),
            whmcs_invoice_id: journal.whmcs_invoice_id.clone(),
            error: journal
                .last_error
                .clone()
                .filter(|_| outcome == Outcome::Failed),
            salesforce_updated: updated,
            steps: self.steps.recorded().to_vec(),
            mapping: None,
            correlation_id: self.request.correlation_id.clone(),
        }))
    }

    fn activated(
        &self,
        created: provision::Provisioned,
        mapping: Option<MappingReport>,
    ) -> RunReport {
        tracing::info!(whmcs_order_id = %created.order_id, "Activated: the Order is fulfilled");
        RunReport {
            order_id: self.order_id().clone(),
            outcome: Outcome::Activated,
            whmcs_order_id: Some(created.order_id),
            whmcs_service_ids: created.service_ids,
            whmcs_invoice_id: created.invoice_id,
            error: None,
            salesforce_updated: true,
            steps: self.steps.recorded().to_vec(),
            mapping,
            correlation_id: self.request.correlation_id.clone(),
        }
    }

    /// Writes `Failed` to the Order and the failure to the journal.
    async fn record_failure(
        mut self,
        failure: StepFailure,
        journal_before: &OrderJournal,
        mapping: Option<MappingReport>,
    ) -> RunReport {
        let step = self.steps.current().unwrap_or(steps::SF_STATUS_UPDATE);
        self.steps.end(StepStatus::Failed);
        tracing::warn!(step, code = %failure.code, error_message = %failure.message, "Fulfillment failed");

        let updated = match self
            .inner
            .orders
            .mark_failed(self.order_id(), &failure.code, &failure.message)
            .await
        {
            Ok(()) => {
                self.inner.health.salesforce.succeeded();
                tracing::info!(code = %failure.code, "Order marked Failed in Salesforce (Activation_Status__c='Failed')");
                true
            }
            Err(err) => {
                self.inner
                    .health
                    .salesforce
                    .failed(&StepFailure::salesforce(&err).code);
                tracing::error!(error = %err, "Could not mark the Order Failed in Salesforce; the next Fulfill retries the write");
                false
            }
        };
        let error = RecordedError {
            code: failure.code,
            message: failure.message,
            step: step.to_owned(),
        };
        let latest = self
            .inner
            .journals
            .load(self.order_id().as_str())
            .await
            .ok()
            .flatten();
        let known = latest.as_ref().unwrap_or(journal_before);
        // When WHMCS is done, the outcome still owed to the Order is Activated, not Failed.
        let owed = if known.progress == WhmcsProgress::Accepted {
            PendingWrite::Activated
        } else {
            PendingWrite::Failed
        };
        let update = JournalUpdate::new()
            .state(RunState::Failed)
            .error(Some(&error))
            .pending_write((!updated).then_some(owed), &self.request.event_uuid)
            .steps(self.steps.recorded());
        if let Err(err) = self.inner.journals.write(self.grant, update).await {
            tracing::error!(error = %err, "Could not journal the failure");
        }
        RunReport {
            order_id: self.order_id().clone(),
            outcome: Outcome::Failed,
            whmcs_order_id: known.whmcs_order_id.clone(),
            whmcs_service_ids: known.whmcs_service_ids.clone(),
            whmcs_invoice_id: known.whmcs_invoice_id.clone(),
            error: Some(error),
            salesforce_updated: updated,
            steps: self.steps.recorded().to_vec(),
            mapping,
            correlation_id: self.request.correlation_id.clone(),
        }
    }

    /// Stops the run if it lost its lock.
    fn check_lock(&self) -> Result<(), StepError> {
        if self.renewal.is_lost() {
            Err(StepError::Stop(RunError::LockLost))
        } else {
            Ok(())
        }
    }

    /// Asks Redis whether the run still holds the Order's lock, right before a Salesforce
    /// write: the renewal notices a loss only every third of the TTL, and a process that was
    /// paused notices nothing. A small window remains between this check and the write.
    async fn ensure_still_holding(&self) -> Result<(), StepError> {
        match self.inner.locks.still_holds(self.grant).await {
            Ok(true) => Ok(()),
            Ok(false) => {
                tracing::warn!(
                    "This run lost the Order's lock (paused or partitioned); it stops without writing"
                );
                Err(StepError::Stop(RunError::LockLost))
            }
            Err(err) => Err(StepError::Stop(RunError::Store(err))),
        }
    }

    /// Stops the run dead when the crash hook says so.
    fn crash_point(&self, point: CrashPoint) -> Result<(), StepError> {
        match &self.inner.crash_hook {
            Some(hook) if hook(point) => Err(StepError::Stop(RunError::Crashed(point))),
            _ => Ok(()),
        }
    }

    /// Writes to the journal. A lost lock stops the run; so does a Redis failure, which is no
    /// fault of the Order: the run stops without recording a failure on it, and the caller is
    /// told to retry later (UNAVAILABLE), which resumes from what the journal holds.
    async fn journal(&self, update: JournalUpdate) -> Result<(), StepError> {
        self.inner
            .journals
            .write(self.grant, update)
            .await
            .map_err(|err| StepError::Stop(fenced_or(err)))
    }
}

fn fenced_or(err: StoreError) -> RunError {
    match err {
        StoreError::Fenced => RunError::LockLost,
        other => RunError::Store(other),
    }
}

/// Whether a journal shows the WHMCS order at least `progress` far.
fn reached(journal: &OrderJournal, progress: WhmcsProgress) -> bool {
    journal.progress >= progress
}
