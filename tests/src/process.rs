//! A service binary run as a real child process, with its log lines captured so tests can
//! wait for a line (never for a fixed time) and read the fields it carries.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Condvar, Mutex},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;

/// The captured output of a child process, one entry a line.
#[derive(Default)]
struct Captured {
    lines: Mutex<Vec<String>>,
    grew: Condvar,
}

/// A running service binary.
pub struct ServiceProcess {
    name: String,
    child: Child,
    captured: Arc<Captured>,
    readers: Vec<thread::JoinHandle<()>>,
}

impl ServiceProcess {
    /// Starts `binary` with exactly `env` (nothing is inherited but `PATH`), capturing stdout
    /// and stderr.
    pub fn start(binary: &Path, env: &HashMap<String, String>) -> std::io::Result<Self> {
        let mut command = Command::new(binary);
        command.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        command
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn()?;
        let captured = Arc::new(Captured::default());
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(capture(stdout, captured.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(capture(stderr, captured.clone()));
        }
        Ok(Self {
            name: binary
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            child,
            captured,
            readers,
        })
    }

    /// Every line captured so far.
    pub fn lines(&self) -> Vec<String> {
        self.captured.lines.lock().expect("capture lock").clone()
    }

    /// Waits until a JSON log line has `message == message`, and returns it.
    pub fn wait_for_log(&self, message: &str, timeout: Duration) -> Result<Value, String> {
        let deadline = Instant::now() + timeout;
        let mut lines = self.captured.lines.lock().expect("capture lock");
        loop {
            let found = lines.iter().find_map(|line| {
                let value: Value = serde_json::from_str(line).ok()?;
                (value["message"] == message).then_some(value)
            });
            if let Some(value) = found {
                return Ok(value);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!(
                    "{} logged no {message:?} within {timeout:?}; output:\n{}",
                    self.name,
                    lines.join("\n")
                ));
            }
            lines = self
                .captured
                .grew
                .wait_timeout(lines, deadline - now)
                .expect("capture lock")
                .0;
        }
    }

    /// Sends SIGTERM, as Kubernetes does at a rollout.
    pub fn terminate(&self) {
        signal(self.child.id(), "TERM");
    }

    /// Kills the process outright (SIGKILL, `kill -9`), as an OOM kill or a lost node would:
    /// nothing runs after it, no drain, no cleanup. [`wait`](Self::wait) reaps it.
    pub fn kill_9(&self) {
        signal(self.child.id(), "KILL");
    }

    /// Freezes the process (SIGSTOP), as a long GC pause or a stalled node would.
    pub fn pause(&self) {
        signal(self.child.id(), "STOP");
    }

    /// Lets a paused process run on (SIGCONT).
    pub fn resume(&self) {
        signal(self.child.id(), "CONT");
    }

    /// Waits for the process to exit, killing it after `timeout`. Returns the status and
    /// whether it exited by itself.
    pub fn wait(&mut self, timeout: Duration) -> (ExitStatus, bool) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.join_readers();
                return (status, true);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let status = self.child.wait().expect("a killed child can be waited for");
                self.join_readers();
                return (status, false);
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn join_readers(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn capture(
    stream: impl std::io::Read + Send + 'static,
    captured: Arc<Captured>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            captured.lines.lock().expect("capture lock").push(line);
            captured.grew.notify_all();
        }
    })
}

fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status();
}

/// The path of a workspace binary (`fulfillment`, `ingest`, `sandbox`) next to the running
/// test executable, for tests outside the binary's own package.
pub fn workspace_binary(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().expect("the test knows its own path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join(name)
}
