//! The test harness shared by every crate's tests and by the end-to-end tests in `tests/`.
//!
//! It holds what a test needs from the machine rather than from our code: a private
//! `redis-server` per test ([`RedisServer`]), so tests never touch a shared Redis, never collide
//! on a port, and can run in parallel; and RSA keys made at test time ([`TestKeys`]).

mod keys;
mod redis_server;

pub use keys::TestKeys;
pub use redis_server::{Persistence, RedisServer, RedisServerError};
