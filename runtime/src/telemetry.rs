//! Logging set-up: one switch between JSON and plain text (`LOG_FORMAT`) beside the filter
//! (`RUST_LOG`). The default keeps dependencies at `warn` and our own crates at `info`.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::ConfigReader;

/// The filter used when `RUST_LOG` is not set.
pub const DEFAULT_FILTER: &str =
    "warn,ingest=info,fulfillment=info,bridge_runtime=info,sandbox=info";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object a line, for log collectors.
    Json,
    /// Human-readable lines, for a terminal.
    Plain,
}

/// What to log and how.
#[derive(Debug, Clone)]
pub struct TelemetrySettings {
    /// `LOG_FORMAT`: `json` (default) or `plain`.
    pub format: LogFormat,
    /// `RUST_LOG`, or [`DEFAULT_FILTER`].
    pub filter: String,
}

impl TelemetrySettings {
    /// Reads `LOG_FORMAT` and `RUST_LOG`, checking that the filter parses.
    pub fn read(reader: &mut ConfigReader<'_>) -> Self {
        let format = match reader.choice_or("LOG_FORMAT", &["json", "plain"], "json") {
            "plain" => LogFormat::Plain,
            _ => LogFormat::Json,
        };
        let filter = reader.string_or("RUST_LOG", DEFAULT_FILTER);
        if let Err(err) = EnvFilter::try_new(&filter) {
            reader.problem("RUST_LOG", format!("is not a valid filter: {err}"));
        }
        Self { format, filter }
    }
}

/// Installs the global subscriber. Later calls (several servers in one test process) keep the
/// first subscriber and return quietly.
pub fn init(settings: &TelemetrySettings) {
    let filter =
        EnvFilter::try_new(&settings.filter).unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match settings.format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        LogFormat::Plain => {
            // Colour codes only for a terminal: in a file or a log collector they are noise.
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
            registry
                .with(fmt::layer().with_target(true).with_ansi(ansi))
                .try_init()
        }
    };
}
