//! A private `redis-server` for one test: its own temporary directory, a unix socket inside it,
//! no TCP port, and no persistence unless asked for. It is stopped when dropped.

use std::{
    io::{Read, Write},
    os::unix::net::UnixStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use tempfile::TempDir;

/// How long a server may take to answer its first PING.
const START_DEADLINE: Duration = Duration::from_secs(10);

/// Whether the server keeps its data across a stop and start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// No RDB, no AOF: the data ends with the process.
    None,
    /// AOF with `appendfsync always`, as production runs: nothing acknowledged is lost.
    AppendOnly,
}

/// Why a private server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum RedisServerError {
    /// The binary is not installed; `scripts/test` installs it.
    #[error("redis-server was not found ({0}); run scripts/test, which installs it")]
    NotInstalled(std::io::Error),
    /// Something else went wrong with the process or its directory.
    #[error("redis-server could not be started: {0}")]
    Start(String),
}

/// A running private `redis-server`.
pub struct RedisServer {
    dir: TempDir,
    persistence: Persistence,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server without persistence.
    pub fn start() -> Result<Self, RedisServerError> {
        Self::start_with(Persistence::None)
    }

    /// Starts a server with the given persistence.
    pub fn start_with(persistence: Persistence) -> Result<Self, RedisServerError> {
        let dir = tempfile::Builder::new()
            .prefix("redis-")
            .tempdir()
            .map_err(|err| RedisServerError::Start(format!("temporary directory: {err}")))?;
        let mut server = Self {
            dir,
            persistence,
            child: None,
        };
        server.launch()?;
        Ok(server)
    }

    /// The URL clients connect with: `redis+unix:///…/redis.sock`.
    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket_path().display())
    }

    /// The unix socket the server listens on.
    pub fn socket_path(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    /// Whether the process is running.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Stops the server with SIGKILL and waits for it: an abrupt outage. With
    /// [`Persistence::AppendOnly`], everything acknowledged survives.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(self.socket_path());
    }

    /// Starts the server again on the same socket and directory (and so the same data, when
    /// it persists). Does nothing when it is running.
    pub fn restart(&mut self) -> Result<(), RedisServerError> {
        if self.child.is_none() {
            self.launch()?;
        }
        Ok(())
    }

    /// Sends one command in the inline protocol and returns the raw reply, for tests that
    /// check what a service stored without a Redis client of their own.
    pub fn command(&self, args: &[&str]) -> Result<Vec<u8>, RedisServerError> {
        let mut stream = UnixStream::connect(self.socket_path())
            .map_err(|err| RedisServerError::Start(format!("connect: {err}")))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|err| RedisServerError::Start(err.to_string()))?;
        let mut request = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            request.extend_from_slice(arg.as_bytes());
            request.extend_from_slice(b"\r\n");
        }
        stream
            .write_all(&request)
            .map_err(|err| RedisServerError::Start(format!("write: {err}")))?;
        let mut reply = vec![0u8; 64 * 1024];
        let read = stream
            .read(&mut reply)
            .map_err(|err| RedisServerError::Start(format!("read: {err}")))?;
        reply.truncate(read);
        Ok(reply)
    }

    fn launch(&mut self) -> Result<(), RedisServerError> {
        let dir = self.dir.path();
        let mut command = Command::new(redis_binary());
        command
            .arg("--port")
            .arg("0")
            .arg("--unixsocket")
            .arg(self.socket_path())
            .arg("--unixsocketperm")
            .arg("700")
            .arg("--dir")
            .arg(dir)
            .arg("--save")
            .arg("")
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .arg("--maxmemory-policy")
            .arg("noeviction");
        match self.persistence {
            Persistence::None => command.args(["--appendonly", "no"]),
            Persistence::AppendOnly => {
                command.args(["--appendonly", "yes", "--appendfsync", "always"])
            }
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|err| match err.kind() {
                std::io::ErrorKind::NotFound => RedisServerError::NotInstalled(err),
                _ => RedisServerError::Start(err.to_string()),
            })?;
        self.child = Some(child);
        self.wait_until_ready()
    }

    fn wait_until_ready(&mut self) -> Result<(), RedisServerError> {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            // A reply other than PONG means it is still loading its AOF: ask again.
            if let Ok(reply) = self.command(&["PING"])
                && reply.starts_with(b"+PONG")
            {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(RedisServerError::Start(format!(
                    "exited with {status}; see {}",
                    log_path(self.dir.path()).display()
                )));
            }
            if Instant::now() > deadline {
                self.kill();
                return Err(RedisServerError::Start("no PONG within 10 s".into()));
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join("redis.log")
}

/// `REDIS_SERVER_BIN` when set (scripts may install Redis outside `PATH`), else `redis-server`.
fn redis_binary() -> PathBuf {
    std::env::var_os("REDIS_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("redis-server"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_server_is_private_and_stops_when_dropped() {
        let first = RedisServer::start().expect("first server");
        let second = RedisServer::start().expect("second server");
        assert_ne!(first.socket_path(), second.socket_path());

        first.command(&["SET", "k", "first"]).expect("set");
        assert_eq!(second.command(&["GET", "k"]).expect("get"), b"$-1\r\n");

        let socket = first.socket_path();
        drop(first);
        assert!(
            UnixStream::connect(&socket).is_err(),
            "server is gone after drop"
        );
    }

    #[test]
    fn append_only_data_survives_a_kill() {
        let mut server = RedisServer::start_with(Persistence::AppendOnly).expect("server");
        server.command(&["SET", "cursor", "abc"]).expect("set");

        server.kill();
        assert!(server.command(&["PING"]).is_err(), "down after kill");
        server.restart().expect("restart");

        assert_eq!(
            server.command(&["GET", "cursor"]).expect("get"),
            b"$3\r\nabc\r\n"
        );
    }
}
