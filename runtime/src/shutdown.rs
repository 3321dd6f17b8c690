//! Graceful shutdown: SIGTERM or SIGINT cancels one token that every server and task watches,
//! and [`drain`] bounds how long the remaining work may take.

use std::{future::Future, time::Duration};

pub use tokio_util::sync::CancellationToken;

/// A token that is cancelled on the first SIGTERM or SIGINT.
///
/// The signal handlers are installed before this returns, so a signal that arrives while the
/// service is still starting is not lost.
pub fn on_termination_signal() -> std::io::Result<CancellationToken> {
    use tokio::signal::unix::{SignalKind, signal};

    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "Shutdown requested");
        cancel.cancel();
    });
    Ok(token)
}

/// Waits for `work` for at most `grace`. Returns `true` when it finished in time.
pub async fn drain<F: Future>(grace: Duration, work: F) -> bool {
    match tokio::time::timeout(grace, work).await {
        Ok(_) => true,
        Err(_) => {
            tracing::warn!(
                grace_ms = grace.as_millis() as u64,
                "Drain did not finish within the grace period"
            );
            false
        }
    }
}
