//! The journal of one Order: how far its fulfillment got, so that a retry resumes instead of
//! repeating, and what `GetFulfillment` reports.
//!
//! It is the hash `fulfillment:order:<orderId>`. Every write goes through one script that
//! checks the run still holds the Order's lock with the fencing number it drew
//! ([`super::lock`]); a write from a run that lost its lock changes nothing and reports
//! [`StoreError::Fenced`]. A journal in a terminal state expires after
//! [`super::JOURNAL_RETENTION`]; one in progress never expires.

use std::{collections::HashMap, fmt};

use redis::{AsyncCommands, Script, aio::ConnectionManager};

use super::{JOURNAL_RETENTION, StoreError, journal_key, lock::LockGrant, lock_key};

/// Writes fields only while the lock and the fencing number are still the caller's.
pub const JOURNAL_WRITE_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[2], 'fence') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
if ARGV[3] ~= '0' then
  redis.call('EXPIRE', KEYS[2], ARGV[3])
else
  redis.call('PERSIST', KEYS[2])
end
return 1
";

/// Where the latest run of an Order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunState {
    /// No run has recorded anything yet.
    #[default]
    New,
    /// A run is under way (or died without finishing).
    Running,
    /// The latest run failed.
    Failed,
    /// The Order is fulfilled.
    Activated,
}

impl RunState {
    fn as_str(self) -> &'static str {
        match self {
            Self::New => "",
            Self::Running => "running",
            Self::Failed => "failed",
            Self::Activated => "activated",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "" => Self::New,
            "running" => Self::Running,
            "failed" => Self::Failed,
            "activated" => Self::Activated,
            _ => return None,
        })
    }
}

/// How far the WHMCS side of the Order got, across all runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum WhmcsProgress {
    /// Nothing was sent to WHMCS that creates anything.
    #[default]
    None,
    /// AddOrder was about to be sent; whether WHMCS created the order is unknown.
    Creating,
    /// The WHMCS order exists.
    Created,
    /// The WHMCS order is accepted.
    Accepted,
}

impl WhmcsProgress {
    fn as_str(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Creating => "creating",
            Self::Created => "created",
            Self::Accepted => "accepted",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "" => Self::None,
            "creating" => Self::Creating,
            "created" => Self::Created,
            "accepted" => Self::Accepted,
            _ => return None,
        })
    }
}

/// An outcome that was decided but could not be written to the Order yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingWrite {
    /// `Activation_Status__c = Activated` with the WHMCS order id.
    Activated,
    /// `Activation_Status__c = Failed` with the recorded error.
    Failed,
}

/// The error a failed run recorded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordedError {
    /// The code written to `Activation_Error_Code__c`.
    pub code: String,
    /// The message written to `Activation_Error_Message__c`.
    pub message: String,
    /// The step that failed.
    pub step: String,
}

/// One step of the latest run, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordedStep {
    /// The step's name, e.g. `whmcs_create`.
    pub name: String,
    /// `succeeded`, `failed` or `skipped`.
    pub status: String,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
}

/// Everything the journal holds about one Order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderJournal {
    /// The fencing number of the latest lock acquisition.
    pub fence: u64,
    /// Where the latest run stands.
    pub state: RunState,
    /// How far the WHMCS side got.
    pub progress: WhmcsProgress,
    /// The WHMCS client the order is for.
    pub whmcs_client_id: Option<u64>,
    /// The WHMCS order, once known.
    pub whmcs_order_id: Option<String>,
    /// The WHMCS services of the order.
    pub whmcs_service_ids: Vec<String>,
    /// The WHMCS invoice of the order.
    pub whmcs_invoice_id: Option<String>,
    /// The error of the latest failed run.
    pub last_error: Option<RecordedError>,
    /// An outcome still to be written to the Order.
    pub pending_write: Option<PendingWrite>,
    /// The EventUuid of the run that left the pending write (empty for a direct call), so a
    /// new event (an operator's retry) runs afresh instead of replaying an old outcome.
    pub pending_event: String,
    /// While WHMCS progress is `Creating`: until when (Unix ms) the AddOrder sent may still be
    /// in flight. Before then no other run may search for or create the order.
    pub creating_until_ms: u64,
    /// How many runs have started.
    pub attempts: u32,
    /// The caller of the latest run.
    pub caller: String,
    /// The correlation id of the latest run.
    pub correlation_id: String,
    /// The steps of the latest run.
    pub steps: Vec<RecordedStep>,
    /// When the journal was last written, in Unix milliseconds.
    pub updated_at_ms: u64,
}

/// A stored field that cannot be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the journal field {field} holds an unreadable value")]
pub struct JournalFormatError {
    /// The field at fault.
    pub field: &'static str,
}

impl OrderJournal {
    /// Reads a journal from the hash's fields. Unknown fields are ignored; a known field with a
    /// value that cannot be read is an error, never a panic.
    pub fn from_fields(fields: &HashMap<String, String>) -> Result<Self, JournalFormatError> {
        let text = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
        let optional = |name: &str| Some(text(name).to_owned()).filter(|value| !value.is_empty());
        let number = |field: &'static str| -> Result<u64, JournalFormatError> {
            match text(field) {
                "" => Ok(0),
                value => value.parse().map_err(|_| JournalFormatError { field }),
            }
        };

        let state = RunState::parse(text("state")).ok_or(JournalFormatError { field: "state" })?;
        let progress = WhmcsProgress::parse(text("progress"))
            .ok_or(JournalFormatError { field: "progress" })?;
        let pending_write = match text("pending_write") {
            "" => None,
            "activated" => Some(PendingWrite::Activated),
            "failed" => Some(PendingWrite::Failed),
            _ => {
                return Err(JournalFormatError {
                    field: "pending_write",
                });
            }
        };
        let whmcs_client_id = match number("whmcs_client_id")? {
            0 => None,
            id => Some(id),
        };
        let last_error = optional("error_code").map(|code| RecordedError {
            code,
            message: text("error_message").to_owned(),
            step: text("error_step").to_owned(),
        });
        let steps = match text("steps") {
            "" => Vec::new(),
            json => {
                serde_json::from_str(json).map_err(|_| JournalFormatError { field: "steps" })?
            }
        };
        let attempts = u32::try_from(number("attempts")?)
            .map_err(|_| JournalFormatError { field: "attempts" })?;

        Ok(Self {
            fence: number("fence")?,
            state,
            progress,
            whmcs_client_id,
            whmcs_order_id: optional("whmcs_order_id"),
            whmcs_service_ids: text("whmcs_service_ids")
                .split(',')
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .collect(),
            whmcs_invoice_id: optional("whmcs_invoice_id"),
            last_error,
            pending_write,
            pending_event: text("pending_event").to_owned(),
            creating_until_ms: number("creating_until_ms")?,
            attempts,
            caller: text("caller").to_owned(),
            correlation_id: text("correlation_id").to_owned(),
            steps,
            updated_at_ms: number("updated_at")?,
        })
    }

    /// Whether the latest outcome reached the Order.
    pub fn salesforce_updated(&self) -> bool {
        matches!(self.state, RunState::Activated | RunState::Failed) && self.pending_write.is_none()
    }
}

/// A set of journal fields to write together.
#[derive(Debug, Default, Clone)]
pub struct JournalUpdate {
    fields: Vec<(&'static str, String)>,
    terminal: bool,
}

impl JournalUpdate {
    /// An empty update.
    pub fn new() -> Self {
        Self::default()
    }

    fn set(mut self, field: &'static str, value: impl fmt::Display) -> Self {
        self.fields.retain(|(existing, _)| *existing != field);
        self.fields.push((field, value.to_string()));
        self
    }

    /// Sets the run state; a terminal state starts the journal's retention.
    pub fn state(mut self, state: RunState) -> Self {
        self.terminal = matches!(state, RunState::Failed | RunState::Activated);
        self.set("state", state.as_str())
    }

    /// Sets how far the WHMCS side got.
    pub fn progress(self, progress: WhmcsProgress) -> Self {
        self.set("progress", progress.as_str())
    }

    /// Records the WHMCS client.
    pub fn whmcs_client(self, client_id: u64) -> Self {
        self.set("whmcs_client_id", client_id)
    }

    /// Records the WHMCS order and what it created.
    pub fn whmcs_order(
        self,
        order_id: &str,
        service_ids: &[String],
        invoice_id: Option<&str>,
    ) -> Self {
        self.set("whmcs_order_id", order_id)
            .set("whmcs_service_ids", service_ids.join(","))
            .set("whmcs_invoice_id", invoice_id.unwrap_or_default())
    }

    /// Records the error of a failed run, or clears it with `None`.
    pub fn error(self, error: Option<&RecordedError>) -> Self {
        let empty = RecordedError::default();
        let error = error.unwrap_or(&empty);
        self.set("error_code", &error.code)
            .set("error_message", &error.message)
            .set("error_step", &error.step)
    }

    /// Records an outcome still to be written to the Order, or clears it with `None`, with the
    /// EventUuid of the run that decided it.
    pub fn pending_write(self, pending: Option<PendingWrite>, event_uuid: &str) -> Self {
        let value = match pending {
            None => "",
            Some(PendingWrite::Activated) => "activated",
            Some(PendingWrite::Failed) => "failed",
        };
        self.set("pending_write", value)
            .set("pending_event", event_uuid)
    }

    /// Records that an AddOrder is about to be sent for `client_id` and may be in flight until
    /// `until_ms` (Unix milliseconds).
    pub fn creating(self, client_id: u64, until_ms: u64) -> Self {
        self.progress(WhmcsProgress::Creating)
            .whmcs_client(client_id)
            .set("creating_until_ms", until_ms)
    }

    /// Records that no AddOrder is in flight any more (WHMCS answered it, one way or another).
    pub fn add_order_answered(self) -> Self {
        self.set("creating_until_ms", 0)
    }

    /// Forgets a WHMCS order that no longer exists (cancelled or deleted in WHMCS), so the next
    /// attempt creates a new one.
    pub fn forget_whmcs_order(self) -> Self {
        self.progress(WhmcsProgress::None)
            .set("whmcs_order_id", "")
            .set("whmcs_service_ids", "")
            .set("whmcs_invoice_id", "")
    }

    /// Records the start of a run.
    pub fn run_started(self, attempts: u32, caller: &str, correlation_id: &str) -> Self {
        self.set("attempts", attempts)
            .set("caller", caller)
            .set("correlation_id", correlation_id)
            .set("steps", "[]")
    }

    /// Records the steps of the current run.
    pub fn steps(self, steps: &[RecordedStep]) -> Self {
        let json = serde_json::to_string(steps).unwrap_or_else(|_| "[]".to_owned());
        self.set("steps", json)
    }

    /// The hash fields this update writes, each once, as [`OrderJournal::from_fields`] reads
    /// them back.
    pub fn fields(&self) -> &[(&'static str, String)] {
        &self.fields
    }
}

/// Reads journals, and writes them under a lock.
#[derive(Clone)]
pub struct Journals {
    redis: ConnectionManager,
}

impl Journals {
    /// Journals in `redis`.
    pub fn new(redis: ConnectionManager) -> Self {
        Self { redis }
    }

    /// The journal of `order_id`; `None` when there is none.
    pub async fn load(&self, order_id: &str) -> Result<Option<OrderJournal>, StoreError> {
        let mut redis = self.redis.clone();
        // Bytes, not Strings: a value that is not UTF-8 (a hand edit, a damaged restore) must
        // read as an unreadable field (or lossy text), not as "Redis is unavailable" for ever.
        let raw: HashMap<Vec<u8>, Vec<u8>> = redis.hgetall(journal_key(order_id)).await?;
        if raw.is_empty() {
            return Ok(None);
        }
        let fields: HashMap<String, String> = raw
            .iter()
            .map(|(name, value)| {
                (
                    String::from_utf8_lossy(name).into_owned(),
                    String::from_utf8_lossy(value).into_owned(),
                )
            })
            .collect();
        Ok(Some(OrderJournal::from_fields(&fields)?))
    }

    /// Writes `update` if `grant` still holds the Order's lock; [`StoreError::Fenced`] if not.
    pub async fn write(&self, grant: &LockGrant, update: JournalUpdate) -> Result<(), StoreError> {
        let update = update.set("updated_at", super::now_ms());
        let retention = if update.terminal {
            JOURNAL_RETENTION.as_secs()
        } else {
            0
        };

        let script = Script::new(JOURNAL_WRITE_SCRIPT);
        let mut invocation = script.key(lock_key(&grant.order_id));
        invocation
            .key(journal_key(&grant.order_id))
            .arg(grant.value())
            .arg(grant.fence)
            .arg(retention);
        for (field, value) in update.fields() {
            invocation.arg(*field).arg(value);
        }
        let mut redis = self.redis.clone();
        let written: i64 = invocation.invoke_async(&mut redis).await?;
        if written == 1 {
            Ok(())
        } else {
            Err(StoreError::Fenced)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_full_journal_reads_back() {
        let journal = OrderJournal::from_fields(&fields(&[
            ("fence", "7"),
            ("state", "failed"),
            ("progress", "created"),
            ("whmcs_client_id", "17"),
            ("whmcs_order_id", "1042"),
            ("whmcs_service_ids", "881,882"),
            ("error_code", "503"),
            ("error_message", "WHMCS AcceptOrder answered HTTP 503"),
            ("error_step", "whmcs_accept"),
            ("attempts", "2"),
            (
                "steps",
                r#"[{"name":"validation","status":"succeeded","duration_ms":3}]"#,
            ),
            ("something_newer", "ignored"),
        ]))
        .unwrap();

        assert_eq!(journal.fence, 7);
        assert_eq!(journal.state, RunState::Failed);
        assert_eq!(journal.progress, WhmcsProgress::Created);
        assert_eq!(journal.whmcs_service_ids, ["881", "882"]);
        assert_eq!(journal.last_error.as_ref().unwrap().step, "whmcs_accept");
        assert_eq!(journal.steps.len(), 1);
        assert!(journal.salesforce_updated());
    }

    #[test]
    fn unreadable_values_are_errors_naming_the_field() {
        for (field, value) in [
            ("state", "exploded"),
            ("progress", "halfway"),
            ("fence", "-1"),
            ("attempts", "99999999999"),
            ("steps", "{not json"),
            ("pending_write", "maybe"),
        ] {
            let error = OrderJournal::from_fields(&fields(&[(field, value)])).unwrap_err();
            assert_eq!(error.field, field);
        }
    }

    #[test]
    fn a_bare_journal_is_new() {
        let journal = OrderJournal::from_fields(&fields(&[("fence", "1")])).unwrap();
        assert_eq!(journal.state, RunState::New);
        assert!(!journal.salesforce_updated());
    }
}
