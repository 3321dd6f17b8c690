//! The `sandbox` binary: `sandbox demo` runs the whole path on loopback; `sandbox serve` runs
//! only the emulators, for the real binaries.

#![forbid(unsafe_code)]

use std::{io::Write, process::ExitCode};

/// `EX_USAGE` of sysexits.
const EXIT_USAGE: u8 = 64;

/// The shell's status for a process ended by SIGINT.
const EXIT_INTERRUPTED: u8 = 130;

const USAGE: &str =
    "usage: sandbox demo    run the whole path on loopback and report on four Orders
       sandbox serve   run only the emulators, for the real binaries";

#[tokio::main]
async fn main() -> ExitCode {
    let command = std::env::args().nth(1).unwrap_or_default();
    let mut err = std::io::stderr().lock();
    let shutdown = match bridge_runtime::shutdown::on_termination_signal() {
        Ok(token) => token,
        Err(error) => {
            let _ = writeln!(err, "sandbox: cannot watch for Ctrl-C: {error}");
            return ExitCode::FAILURE;
        }
    };
    match command.as_str() {
        // Ctrl-C drops the demo, which stops its servers and removes its files.
        "demo" => tokio::select! {
            result = sandbox::demo::run() => match result {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(error) => {
                    let _ = writeln!(err, "sandbox demo: {error}");
                    ExitCode::FAILURE
                }
            },
            () = shutdown.cancelled() => ExitCode::from(EXIT_INTERRUPTED),
        },
        "serve" => match sandbox::demo::serve::run(shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                let _ = writeln!(err, "sandbox serve: {error}");
                ExitCode::FAILURE
            }
        },
        "-h" | "--help" | "help" => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            let _ = writeln!(err, "{USAGE}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
