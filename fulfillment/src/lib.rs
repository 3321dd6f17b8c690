//! The fulfillment service: serves `fulfillment.v1.FulfillmentService`, which turns an approved
//! Salesforce Order into an accepted WHMCS order and writes the outcome back to the Order.

pub mod config;
pub mod server;
