//! The `ingest` binary: configuration, telemetry, assembly, serve until SIGTERM, drain.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use bridge_runtime::{config::ProcessEnv, http_client, process, serve, shutdown, telemetry};
use ingest::{config::IngestConfig, server};

#[tokio::main]
async fn main() -> ExitCode {
    http_client::install_crypto_provider();
    let config = match IngestConfig::from_env(&ProcessEnv) {
        Ok(config) => config,
        Err(err) => return process::config_error("ingest", &err),
    };
    telemetry::init(&config.telemetry);
    tracing::info!(config = ?config, "Starting ingest");

    process::finished("ingest", run(config).await)
}

async fn run(config: IngestConfig) -> anyhow::Result<()> {
    let shutdown = shutdown::on_termination_signal()?;
    let ports = server::assemble(&config, shutdown.clone()).await?;
    serve::run(ports, shutdown, config.server.shutdown_grace).await?;
    Ok(())
}
