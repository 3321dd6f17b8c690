//! Waiting for something to become true without sleeping a fixed time: a probe polled at an
//! interval until it yields a value, with a deadline that fails the test naming what it
//! waited for.

use std::{future::Future, time::Duration};

/// Polls `probe` every `interval` until it returns `Some`, and returns that value; panics
/// naming `what` once `deadline` has passed.
pub async fn poll_until<T, F, Fut>(
    what: &str,
    deadline: Duration,
    interval: Duration,
    mut probe: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = tokio::time::Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            started.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_the_first_value_the_probe_yields() {
        let mut calls = 0;
        let value = poll_until(
            "the third call",
            Duration::from_secs(5),
            Duration::from_millis(1),
            || {
                calls += 1;
                let now = calls;
                async move { (now == 3).then_some(now) }
            },
        )
        .await;
        assert_eq!(value, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "waiting for nothing at all")]
    async fn fails_naming_what_it_waited_for() {
        poll_until::<(), _, _>(
            "nothing at all",
            Duration::from_millis(20),
            Duration::from_millis(1),
            || async { None },
        )
        .await;
    }
}
