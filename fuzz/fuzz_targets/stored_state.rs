//! Fuzzes what the product reads back from Redis: ingest's stored replay cursor and
//! fulfillment's per-Order journal. (The lock value `owner:fence` is never parsed: the product
//! only compares it whole, so there is nothing of it to fuzz.)
//!
//! Input: one selector byte, then
//! - `0`: the cursor's replay id bytes, a NUL byte, then the meta hash's `written_at_ms`;
//! - `1`: journal hash fields as `name NUL value NUL name NUL value …` (invalid UTF-8 is read
//!   lossily, as a damaged hash might hold);
//! - `2`: a sequence of journal writes, built with `arbitrary` from the bytes.
//!
//! Checked besides "no panic": the cursor keeps its bytes exactly and a bad timestamp never
//! hides it; a journal that parses is written back by the product's own writer to fields that
//! parse to the same journal; a field that does not parse is named; and whatever sequence of
//! writes the product makes, the journal always reads back, with each field as last written.

#![no_main]

use std::collections::HashMap;

use arbitrary::{Arbitrary, Unstructured};
use bridge_fuzz::{selector, split_at_nul};
use fulfillment::store::{
    JournalUpdate, OrderJournal, PendingWrite, RecordedError, RecordedStep, RunState, WhmcsProgress,
};
use ingest::cursor::StoredCursor;
use libfuzzer_sys::fuzz_target;

/// Every field `OrderJournal::from_fields` can name in an error.
const KNOWN_FIELDS: [&str; 9] = [
    "state",
    "progress",
    "pending_write",
    "whmcs_client_id",
    "steps",
    "attempts",
    "fence",
    "creating_until_ms",
    "updated_at",
];

fuzz_target!(|data: &[u8]| {
    let Some((which, rest)) = selector(data) else {
        return;
    };
    match which % 3 {
        0 => check_cursor(rest),
        1 => check_journal_fields(rest),
        _ => {
            let mut input = Unstructured::new(rest);
            if let Ok(writes) = Vec::<Call>::arbitrary(&mut input) {
                check_writes(&writes);
            }
        }
    }
});

fn check_cursor(data: &[u8]) {
    let (replay_id, meta) = split_at_nul(data);
    assert_eq!(StoredCursor::from_stored(None, meta), None);
    let cursor = StoredCursor::from_stored(Some(replay_id.to_vec()), meta);
    if replay_id.is_empty() {
        assert_eq!(cursor, None, "an empty replay id is no cursor");
        return;
    }
    let cursor = cursor.expect("a non-empty replay id is a cursor, whatever the meta holds");
    assert_eq!(cursor.replay_id, replay_id);
    let expected = meta
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .and_then(|text| text.parse::<u64>().ok())
        .unwrap_or(0);
    assert_eq!(cursor.written_at_ms, expected);
}

fn check_journal_fields(data: &[u8]) {
    let mut fields = HashMap::new();
    let mut parts = data.split(|byte| *byte == 0);
    while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
        fields.insert(
            String::from_utf8_lossy(name).into_owned(),
            String::from_utf8_lossy(value).into_owned(),
        );
    }
    match OrderJournal::from_fields(&fields) {
        Ok(journal) => {
            let mut written = HashMap::new();
            written.insert("fence".to_owned(), journal.fence.to_string());
            if journal.updated_at_ms > 0 {
                written.insert("updated_at".to_owned(), journal.updated_at_ms.to_string());
            }
            apply(&mut written, &rewrite(&journal));
            let again = OrderJournal::from_fields(&written).expect("a rewritten journal parses");
            assert_eq!(again, journal, "the rewritten journal differs");
        }
        Err(error) => {
            assert!(
                KNOWN_FIELDS.contains(&error.field),
                "unknown field {}",
                error.field
            );
            assert!(
                fields.contains_key(error.field),
                "{} was not given",
                error.field
            );
        }
    }
}

/// The writes that record all of `journal` with the product's own writer (`fence` and
/// `updated_at` are written by the lock script and `Journals::write`, not by an update).
fn rewrite(journal: &OrderJournal) -> JournalUpdate {
    let mut update = JournalUpdate::new()
        .creating(0, journal.creating_until_ms)
        .state(journal.state)
        .progress(journal.progress)
        .whmcs_client(journal.whmcs_client_id.unwrap_or(0))
        .whmcs_order(
            journal.whmcs_order_id.as_deref().unwrap_or_default(),
            &journal.whmcs_service_ids,
            journal.whmcs_invoice_id.as_deref(),
        )
        .error(journal.last_error.as_ref())
        .pending_write(journal.pending_write, &journal.pending_event)
        .run_started(journal.attempts, &journal.caller, &journal.correlation_id);
    update = update.steps(&journal.steps);
    update
}

/// What one `HSET` of the update's fields does to the hash.
fn apply(hash: &mut HashMap<String, String>, update: &JournalUpdate) {
    let mut names: Vec<&str> = update.fields().iter().map(|(name, _)| *name).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before, "an update writes each field once");
    for (name, value) in update.fields() {
        hash.insert((*name).to_owned(), value.clone());
    }
}

/// One call of the journal's writer, with values as the product could pass them.
#[derive(Debug, Arbitrary)]
enum Call {
    State(u8),
    Progress(u8),
    WhmcsClient(u64),
    WhmcsOrder {
        order_id: u64,
        service_ids: Vec<u64>,
        invoice_id: Option<u64>,
    },
    Error(Option<(String, String, String)>),
    PendingWrite(Option<bool>, String),
    Creating(u64, u64),
    AddOrderAnswered,
    ForgetWhmcsOrder,
    RunStarted(u32, String, String),
    Steps(Vec<(String, String, u64)>),
    /// Sends what was built so far as one `HSET`, as `Journals::write` does.
    Flush,
}

/// What the journal should read after the writes.
#[derive(Default)]
struct Expected(OrderJournal);

fn check_writes(writes: &[Call]) {
    let mut hash = HashMap::new();
    // The lock script draws the fence before any write.
    hash.insert("fence".to_owned(), "1".to_owned());
    let mut expected = Expected::default();
    expected.0.fence = 1;
    let mut update = JournalUpdate::new();
    for write in writes {
        update = expected.record(update, write, &mut hash);
    }
    apply(&mut hash, &update);
    let journal = OrderJournal::from_fields(&hash).expect("what the product writes reads back");
    assert_eq!(journal, expected.0);
}

impl Expected {
    fn record(
        &mut self,
        update: JournalUpdate,
        write: &Call,
        hash: &mut HashMap<String, String>,
    ) -> JournalUpdate {
        let journal = &mut self.0;
        match write {
            Call::State(which) => {
                let state = [
                    RunState::New,
                    RunState::Running,
                    RunState::Failed,
                    RunState::Activated,
                ][usize::from(*which) % 4];
                journal.state = state;
                update.state(state)
            }
            Call::Progress(which) => {
                let progress = progress(*which);
                journal.progress = progress;
                update.progress(progress)
            }
            Call::WhmcsClient(id) => {
                journal.whmcs_client_id = Some(*id).filter(|id| *id > 0);
                update.whmcs_client(*id)
            }
            Call::WhmcsOrder {
                order_id,
                service_ids,
                invoice_id,
            } => {
                // WHMCS ids, as the client decodes them: decimal numbers.
                let order_id = order_id.to_string();
                let service_ids: Vec<String> = service_ids.iter().map(u64::to_string).collect();
                let invoice_id = invoice_id.map(|id| id.to_string());
                journal.whmcs_order_id = Some(order_id.clone());
                journal.whmcs_service_ids = service_ids.clone();
                journal.whmcs_invoice_id = invoice_id.clone();
                update.whmcs_order(&order_id, &service_ids, invoice_id.as_deref())
            }
            Call::Error(error) => {
                let error = error.as_ref().map(|(code, message, step)| RecordedError {
                    code: code.clone(),
                    message: message.clone(),
                    step: step.clone(),
                });
                // An error is recorded by its code: one without a code reads back as none.
                journal.last_error = error.clone().filter(|error| !error.code.is_empty());
                update.error(error.as_ref())
            }
            Call::PendingWrite(pending, event) => {
                let pending = pending.map(|activated| {
                    if activated {
                        PendingWrite::Activated
                    } else {
                        PendingWrite::Failed
                    }
                });
                journal.pending_write = pending;
                journal.pending_event = event.clone();
                update.pending_write(pending, event)
            }
            Call::Creating(client_id, until_ms) => {
                journal.progress = WhmcsProgress::Creating;
                journal.whmcs_client_id = Some(*client_id).filter(|id| *id > 0);
                journal.creating_until_ms = *until_ms;
                update.creating(*client_id, *until_ms)
            }
            Call::AddOrderAnswered => {
                journal.creating_until_ms = 0;
                update.add_order_answered()
            }
            Call::ForgetWhmcsOrder => {
                journal.progress = WhmcsProgress::None;
                journal.whmcs_order_id = None;
                journal.whmcs_service_ids.clear();
                journal.whmcs_invoice_id = None;
                update.forget_whmcs_order()
            }
            Call::RunStarted(attempts, caller, correlation_id) => {
                journal.attempts = *attempts;
                journal.caller = caller.clone();
                journal.correlation_id = correlation_id.clone();
                journal.steps.clear();
                update.run_started(*attempts, caller, correlation_id)
            }
            Call::Steps(steps) => {
                let steps: Vec<RecordedStep> = steps
                    .iter()
                    .map(|(name, status, duration_ms)| RecordedStep {
                        name: name.clone(),
                        status: status.clone(),
                        duration_ms: *duration_ms,
                    })
                    .collect();
                journal.steps = steps.clone();
                update.steps(&steps)
            }
            Call::Flush => {
                apply(hash, &update);
                JournalUpdate::new()
            }
        }
    }
}

fn progress(which: u8) -> WhmcsProgress {
    [
        WhmcsProgress::None,
        WhmcsProgress::Creating,
        WhmcsProgress::Created,
        WhmcsProgress::Accepted,
    ][usize::from(which) % 4]
}
