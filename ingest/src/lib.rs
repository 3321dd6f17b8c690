//! The ingest service: subscribes to the Salesforce Pub/Sub API and hands each approved Order
//! to the fulfillment service, keeping its replay cursor in Redis.
//!
//! [`subscriber`] holds the lease, the streams and the dispatch of events; [`watermark`] the
//! rule by which the cursor advances; [`cursor`], [`lease`] and [`dead_letters`] what ingest
//! keeps in Redis; [`event`] and [`schemas`] the Avro decoding; [`pubsub`] the Pub/Sub client;
//! [`dispatch`] the Fulfill calls; [`server`] assembles a process.

#![forbid(unsafe_code)]

pub mod admin;
pub mod backoff;
pub mod config;
pub mod cursor;
pub mod dead_letters;
pub mod dispatch;
pub mod event;
pub mod fields_used;
pub mod keys;
pub mod lease;
pub mod pubsub;
pub mod schemas;
pub mod server;
pub mod state;
pub mod status;
pub mod subscriber;
pub mod watermark;
