//! The demo's log lines: captured as JSON in memory, so the report can show the lines an
//! operator would look for (the runbook's verification steps) instead of a wall of output.

use std::{
    io::Write,
    sync::{Arc, Mutex, PoisonError},
};

use serde_json::Value;
use tracing_subscriber::fmt::MakeWriter;

/// Captured log lines.
#[derive(Clone, Default)]
pub(super) struct LogBook {
    lines: Arc<Mutex<Vec<u8>>>,
}

impl LogBook {
    /// Installs the capture as the process's subscriber (our crates at `info`).
    pub(super) fn install() -> Self {
        let book = Self::default();
        let filter = tracing_subscriber::EnvFilter::new(
            "warn,ingest=info,fulfillment=info,bridge_runtime=info",
        );
        let _ = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_env_filter(filter)
            .with_writer(book.clone())
            .try_init();
        book
    }

    /// Every captured line, parsed.
    pub(super) fn entries(&self) -> Vec<Value> {
        let bytes = self
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The messages of lines about `order_id` (in a field or the run's span), in order.
    pub(super) fn about(&self, order_id: &str) -> Vec<(String, Value)> {
        self.entries()
            .into_iter()
            .filter(|entry| entry.to_string().contains(order_id))
            .map(|entry| {
                (
                    entry["message"].as_str().unwrap_or_default().to_owned(),
                    entry,
                )
            })
            .collect()
    }
}

/// One write into the book.
pub(super) struct LogWriter {
    lines: Arc<Mutex<Vec<u8>>>,
}

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogBook {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LogWriter {
            lines: self.lines.clone(),
        }
    }
}
