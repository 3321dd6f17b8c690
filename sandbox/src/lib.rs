//! The sandbox: Salesforce (OAuth, REST, Pub/Sub API) and WHMCS emulated on loopback, and the
//! end-to-end demo that runs both services against them.
//!
//! [`salesforce`] (OAuth and REST), [`pubsub`] (the Pub/Sub API) and [`whmcs`] are the
//! emulators tests start in-process on port 0; [`store`] is the embedded Redis-compatible store
//! the demo uses when no `REDIS_URL` is given; [`demo`] runs `sandbox demo` and `sandbox serve`.
//! [`salesforce_source`] loads the Salesforce DX project in `salesforce/`: the emulated org's
//! custom fields and platform event, and the Pub/Sub channel's schema, come from it.

#![forbid(unsafe_code)]

pub mod demo;
pub mod pubsub;
pub mod salesforce;
pub mod salesforce_source;
pub mod store;
pub mod whmcs;
