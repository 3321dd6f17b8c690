//! The one log scanner every end-to-end test uses: captured output must hold no configured
//! secret, no issued access token, and no PEM marker.
//!
//! In-process tests capture their own process's log lines with [`CapturedLogs`]; tests that run
//! the binaries scan the child's output with the same [`find_secrets`].

use std::{
    io::Write,
    sync::{Arc, Mutex, OnceLock},
};

use tracing_subscriber::fmt::MakeWriter;

/// Markers of key material that must never be logged.
const PEM_MARKERS: [&str; 3] = ["-----BEGIN", "PRIVATE KEY", "-----END"];

/// Every secret from `secrets` (and every PEM marker) that occurs in `output`. Empty secrets are
/// ignored.
pub fn find_secrets<'a>(output: &str, secrets: &[&'a str]) -> Vec<&'a str> {
    let mut found: Vec<&'a str> = secrets
        .iter()
        .copied()
        .filter(|secret| !secret.is_empty() && output.contains(secret))
        .collect();
    found.extend(
        PEM_MARKERS
            .iter()
            .copied()
            .filter(|marker| output.contains(marker)),
    );
    found
}

/// Panics, naming what leaked (never the value itself), when `output` holds a secret.
pub fn assert_no_secrets(output: &str, secrets: &[&str]) {
    let found = find_secrets(output, secrets);
    let described: Vec<String> = found
        .iter()
        .map(|secret| {
            format!(
                "a value of {} characters starting {:?}",
                secret.len(),
                secret.chars().take(3).collect::<String>()
            )
        })
        .collect();
    assert!(
        found.is_empty(),
        "captured output holds secrets: {}",
        described.join(", ")
    );
}

/// The log lines of this test process, as JSON lines, captured from a global subscriber that
/// the first call to [`CapturedLogs::install`] sets up.
#[derive(Clone, Default)]
pub struct CapturedLogs {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl CapturedLogs {
    /// The process-wide capture, installed at the first call with every level of our crates.
    pub fn install() -> Self {
        static LOGS: OnceLock<CapturedLogs> = OnceLock::new();
        LOGS.get_or_init(|| {
            let logs = CapturedLogs::default();
            let filter = tracing_subscriber::EnvFilter::new(
                "warn,fulfillment=debug,ingest=debug,bridge_runtime=debug,sandbox=info",
            );
            let _ = tracing_subscriber::fmt()
                .json()
                .flatten_event(true)
                .with_env_filter(filter)
                .with_writer(logs.clone())
                .try_init();
            logs
        })
        .clone()
    }

    /// Everything captured so far.
    pub fn text(&self) -> String {
        let buffer = self
            .buffer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        String::from_utf8_lossy(&buffer).into_owned()
    }

    /// The captured lines that contain every one of `needles`.
    pub fn lines_with(&self, needles: &[&str]) -> Vec<String> {
        self.text()
            .lines()
            .filter(|line| needles.iter().all(|needle| line.contains(needle)))
            .map(str::to_owned)
            .collect()
    }
}

/// One write to the capture.
pub struct CaptureWriter {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl Write for CaptureWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut buffer = self
            .buffer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CapturedLogs {
    type Writer = CaptureWriter;

    fn make_writer(&'a self) -> Self::Writer {
        CaptureWriter {
            buffer: self.buffer.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_pem_markers_are_found_and_empty_ones_ignored() {
        let output = "token=abc123 and -----BEGIN PRIVATE KEY-----";
        let found = find_secrets(output, &["abc123", "", "absent"]);
        assert!(found.contains(&"abc123"));
        assert!(found.contains(&"-----BEGIN"));
        assert!(!found.contains(&"absent"));
        assert!(find_secrets("all clear", &["abc123"]).is_empty());
    }
}
