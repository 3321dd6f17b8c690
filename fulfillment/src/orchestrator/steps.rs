//! The record of a run's steps: each step's name, how it ended and how long it took, logged as
//! it finishes (one line per step with the `step` field) and returned to the caller.

use std::time::Instant;

use crate::store::RecordedStep;

/// The seven steps of a run, in order.
pub const STEP_NAMES: [&str; 7] = [
    VALIDATION,
    SF_STATUS_UPDATE,
    ORDER_DETAILS,
    MAPPING,
    WHMCS_CREATE,
    WHMCS_ACCEPT,
    SF_SUCCESS_UPDATE,
];

/// Checks the id, takes the lock, loads the journal and runs the guard.
pub const VALIDATION: &str = "validation";
/// Sets `Activating` and clears the error fields.
pub const SF_STATUS_UPDATE: &str = "sf_status_update";
/// Reads the Order, its Account and its items.
pub const ORDER_DETAILS: &str = "order_details";
/// Maps items to WHMCS products and checks the client's payment method.
pub const MAPPING: &str = "mapping";
/// Finds or creates the WHMCS order.
pub const WHMCS_CREATE: &str = "whmcs_create";
/// Accepts the WHMCS order.
pub const WHMCS_ACCEPT: &str = "whmcs_accept";
/// Writes `Activated` and the WHMCS order id to the Order.
pub const SF_SUCCESS_UPDATE: &str = "sf_success_update";

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    /// It did its work.
    Succeeded,
    /// It failed; the run stops.
    Failed,
    /// An earlier attempt did its work, as the journal shows.
    Skipped,
}

impl StepStatus {
    /// The name stored in the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}

/// The steps of one run so far.
#[derive(Debug, Default)]
pub(super) struct StepLog {
    steps: Vec<RecordedStep>,
    current: Option<(&'static str, Instant)>,
}

impl StepLog {
    /// An empty log.
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// Starts timing `name`.
    pub(super) fn begin(&mut self, name: &'static str) {
        self.current = Some((name, Instant::now()));
    }

    /// The step under way, if any.
    pub(super) fn current(&self) -> Option<&'static str> {
        self.current.map(|(name, _)| name)
    }

    /// Ends the step under way with `status`, and logs it.
    pub(super) fn end(&mut self, status: StepStatus) {
        let Some((name, started)) = self.current.take() else {
            return;
        };
        let duration = started.elapsed();
        let duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        match status {
            StepStatus::Failed => tracing::warn!(step = name, duration_ms, "Step failed"),
            StepStatus::Skipped => tracing::info!(
                step = name,
                duration_ms,
                "Step skipped: done by an earlier attempt"
            ),
            StepStatus::Succeeded => tracing::info!(step = name, duration_ms, "Step succeeded"),
        }
        metrics::histogram!("fulfillment_step_seconds", "step" => name, "status" => status.as_str())
            .record(duration.as_secs_f64());
        self.steps.push(RecordedStep {
            name: name.to_owned(),
            status: status.as_str().to_owned(),
            duration_ms,
        });
    }

    /// Records `name` as skipped without timing it.
    pub(super) fn skip(&mut self, name: &'static str) {
        self.begin(name);
        self.end(StepStatus::Skipped);
    }

    /// The steps recorded so far.
    pub(super) fn recorded(&self) -> &[RecordedStep] {
        &self.steps
    }
}
