//! The fulfillment service: serves `fulfillment.v1.FulfillmentService`, which turns an approved
//! Salesforce Order into an accepted WHMCS order and writes the outcome back to the Order.

#![forbid(unsafe_code)]

pub mod config;
pub mod server;
pub mod whmcs;
