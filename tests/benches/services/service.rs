//! A service binary running as a child process, its output going to a file.
//!
//! A file, not a pipe read line by line: the service still formats and writes every log line
//! (one `write` each, as it would to a container runtime's pipe), but no reader thread in this
//! process wakes for each line and takes a core from the service on a two-core machine. With
//! `BENCH_LOG_DIR` set, the files are kept there (`<name>-<n>.log`) for reading afterwards.

use std::{
    collections::HashMap,
    fs::File,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use serde_json::Value;
use tempfile::TempDir;

use crate::stack::WAIT;

/// Numbers the log files of one run.
static STARTED: AtomicUsize = AtomicUsize::new(0);

/// A running service.
pub(crate) struct Service {
    child: Child,
    log: PathBuf,
    _dir: Option<TempDir>,
    /// `127.0.0.1:PORT` of its gRPC port.
    pub(crate) grpc: String,
}

impl Service {
    /// Starts `binary` as `name` with exactly `env` (plus `PATH`) and waits until its gRPC
    /// port listens.
    pub(crate) async fn start(name: &str, binary: &Path, env: &HashMap<String, String>) -> Self {
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let (dir, folder) = match std::env::var_os("BENCH_LOG_DIR") {
            Some(folder) => (None, PathBuf::from(folder)),
            None => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let folder = dir.path().to_path_buf();
                (Some(dir), folder)
            }
        };
        let log = folder.join(format!("{name}-{n}.log"));
        let file = File::create(&log).expect("a log file");
        let mut command = Command::new(binary);
        command.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        let child = command
            .envs(env)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("a second handle"))
            .stderr(file)
            .spawn()
            .expect("the binary starts");
        let mut service = Self {
            child,
            log,
            _dir: dir,
            grpc: String::new(),
        };
        service.grpc = service.wait_for_address().await;
        service
    }

    async fn wait_for_address(&mut self) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let listening = self
                .logs()
                .into_iter()
                .find(|line| line["message"] == "gRPC server listening");
            if let Some(address) =
                listening.and_then(|line| line["address"].as_str().map(str::to_owned))
            {
                return address;
            }
            let output = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited with {status}:\n{output}", self.log.display());
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} never listened:\n{output}",
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// The process id.
    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }

    /// Its JSON log lines so far.
    pub(crate) fn logs(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// Stops it with SIGTERM, as Kubernetes does, and waits (killing it after 10 s).
    pub(crate) async fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while let Ok(None) = self.child.try_wait() {
            if tokio::time::Instant::now() >= deadline {
                let _ = self.child.kill();
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
