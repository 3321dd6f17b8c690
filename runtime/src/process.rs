//! The two ways a service process ends before or after serving, shared by the binaries so
//! both report failures the same way.

use std::process::ExitCode;

use crate::config::{ConfigError, EXIT_CONFIG};

/// Reports a configuration error as one line on stderr and returns the `EX_CONFIG` status.
///
/// Logging is not set up yet at this point (its own settings may be among the bad ones), and
/// the line must reach an operator reading `kubectl logs` whatever the log format.
#[expect(
    clippy::print_stderr,
    reason = "logging cannot be set up without a valid configuration"
)]
pub fn config_error(service: &str, error: &ConfigError) -> ExitCode {
    eprintln!("{service}: {error}");
    ExitCode::from(EXIT_CONFIG as u8)
}

/// Logs how serving ended and turns it into the exit status.
pub fn finished<E: std::fmt::Display>(service: &str, result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(service, error = format!("{err:#}"), "Stopped with an error");
            ExitCode::FAILURE
        }
    }
}
