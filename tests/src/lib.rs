//! The test harness shared by every crate's tests and by the end-to-end tests in `tests/`.
//!
//! It holds what a test needs from the machine rather than from our code: a private
//! `redis-server` per test ([`RedisServer`]), so tests never touch a shared Redis, never collide
//! on a port, and can run in parallel; RSA keys made at test time ([`TestKeys`]); and service binaries run as child processes
//! whose log lines a test can wait for ([`ServiceProcess`]).

#![forbid(unsafe_code)]

mod http;
mod keys;
mod log_scan;
mod poll;
mod process;
mod redis_server;

pub use http::http_get;
pub use keys::TestKeys;
pub use log_scan::{CapturedLogs, assert_no_secrets, find_secrets};
pub use poll::poll_until;
pub use process::{ServiceProcess, workspace_binary};
pub use redis_server::{Persistence, RedisServer, RedisServerError};
