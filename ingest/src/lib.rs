//! The ingest service: subscribes to the Salesforce Pub/Sub API and hands each approved Order
//! to the fulfillment service, keeping its replay cursor in Redis.

#![forbid(unsafe_code)]

pub mod config;
pub mod server;
