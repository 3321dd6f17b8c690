//! What both services share: configuration, secrets, telemetry, shutdown, the HTTP admin
//! server, gRPC health and reflection, the Redis connection, and the Salesforce clients (OAuth
//! 2.0 JWT bearer flow and REST).

pub mod config;
mod secret;

pub use secret::{REDACTED, Secret};
