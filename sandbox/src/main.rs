//! The `sandbox` binary: `sandbox demo` runs the whole path on loopback; `sandbox serve` runs
//! only the emulators, for the real binaries.

#![forbid(unsafe_code)]

use std::{io::Write, process::ExitCode};

/// `EX_USAGE` of sysexits.
const EXIT_USAGE: u8 = 64;

#[tokio::main]
async fn main() -> ExitCode {
    let command = std::env::args().nth(1).unwrap_or_default();
    let mut err = std::io::stderr().lock();
    match command.as_str() {
        "demo" => match sandbox::demo::run().await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(error) => {
                let _ = writeln!(err, "sandbox demo: {error}");
                ExitCode::FAILURE
            }
        },
        "serve" => {
            let shutdown = match bridge_runtime::shutdown::on_termination_signal() {
                Ok(token) => token,
                Err(error) => {
                    let _ = writeln!(err, "sandbox serve: cannot watch for Ctrl-C: {error}");
                    return ExitCode::FAILURE;
                }
            };
            match sandbox::demo::serve::run(shutdown).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    let _ = writeln!(err, "sandbox serve: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            let _ = writeln!(err, "usage: sandbox demo | sandbox serve");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
