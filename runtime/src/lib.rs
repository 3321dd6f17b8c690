//! What both services share: configuration, secrets, telemetry, shutdown, the HTTP admin
//! server, gRPC health and reflection, the Redis connection, and the Salesforce clients (OAuth
//! 2.0 JWT bearer flow and REST).

#![forbid(unsafe_code)]

pub mod admin;
pub mod caller_auth;
pub mod config;
pub mod grpc;
pub mod http_client;
pub mod process;
pub mod redis_store;
pub mod salesforce;
mod secret;
pub mod serve;
pub mod shutdown;
pub mod telemetry;

pub use secret::{REDACTED, Secret};
