//! The helper processes: this executable started again with `BENCH_ROLE` set, so a helper
//! runs in a process of its own as ingest does, and competes for the same cores the same way.
//!
//! The parent talks to a helper in lines: commands on its stdin, answers on its stdout; a
//! helper ends when its stdin closes, so none outlives the benchmark.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Write},
    process::{Child, ChildStdin, Command, Stdio},
    time::Duration,
};

use tokio::sync::mpsc;

use crate::{bare_subscriber, fulfill_loop, instant};

/// The variable that turns this executable into a helper.
const ROLE_VAR: &str = "BENCH_ROLE";

/// The role this process was started in, if any.
pub(crate) fn role() -> Option<String> {
    std::env::var(ROLE_VAR).ok().filter(|role| !role.is_empty())
}

/// Plays `role` until the parent is done with it.
pub(crate) fn run_role(role: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let result = match role {
        instant::ROLE => runtime.block_on(instant::serve()),
        bare_subscriber::ROLE => runtime.block_on(bare_subscriber::run()),
        fulfill_loop::ROLE => runtime.block_on(fulfill_loop::run()),
        other => Err(format!("unknown {ROLE_VAR} {other:?}")),
    };
    if let Err(problem) = result {
        eprintln!("{role}: {problem}");
        std::process::exit(1);
    }
}

/// A running helper.
pub(crate) struct RoleProcess {
    role: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
}

impl RoleProcess {
    /// Starts this executable as `role` with exactly `env` (plus `PATH`).
    pub(crate) fn start(role: &'static str, env: &HashMap<String, String>) -> Self {
        let exe = std::env::current_exe().expect("the benchmark knows its own path");
        let mut command = Command::new(exe);
        command.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        let mut child = command
            .envs(env)
            .env(ROLE_VAR, role)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the benchmark can start itself");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            role,
            stdin: child.stdin.take(),
            child,
            lines,
        }
    }

    /// Sends one command line.
    pub(crate) fn send(&mut self, command: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{command}")
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|err| panic!("{} does not listen: {err}", self.role));
    }

    /// The next line the helper prints, waiting at most `timeout`.
    pub(crate) async fn line(&mut self, timeout: Duration) -> String {
        match tokio::time::timeout(timeout, self.lines.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => panic!("{} ended early", self.role),
            Err(_) => panic!("{} said nothing within {timeout:?}", self.role),
        }
    }

    /// The next line starting with `word`, the rest of it split at spaces.
    pub(crate) async fn answer(&mut self, word: &str, timeout: Duration) -> Vec<String> {
        let line = self.line(timeout).await;
        let mut parts = line.split_whitespace().map(str::to_owned);
        assert_eq!(
            parts.next().as_deref(),
            Some(word),
            "{} answered {line:?}",
            self.role
        );
        parts.collect()
    }
}

impl Drop for RoleProcess {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
