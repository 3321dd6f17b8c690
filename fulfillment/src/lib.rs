//! The fulfillment service: serves `fulfillment.v1.FulfillmentService`, which turns an approved
//! Salesforce Order into an accepted WHMCS order and writes the outcome back to the Order.
//!
//! [`orchestrator`] holds the seven steps; [`store`] the per-Order lock and journal in Redis;
//! [`whmcs`] the WHMCS API client; [`service`] the gRPC service and [`status`] its one mapping
//! of errors to gRPC codes; [`server`] assembles a process from its configuration.

#![forbid(unsafe_code)]

pub mod config;
pub mod orchestrator;
pub mod server;
pub mod service;
pub mod status;
pub mod store;
pub mod upstream;
pub mod whmcs;
