//! The WHMCS API client and the typed actions the orchestration calls.

mod actions;
mod client;
mod error;
#[cfg(test)]
mod fuzz_regressions;
mod lenient;

pub use actions::{
    ClientDetails, CreatedOrder, Deadlines, ExistingOrder, OrderLine, OrdersFilter, OrdersPage,
    PayMethod, Product,
};
pub use client::{WhmcsClient, WhmcsCredentials, parse_answer};
pub use error::WhmcsError;
