//! The sandbox: Salesforce (OAuth, REST, Pub/Sub API) and WHMCS emulated on loopback, and the
//! end-to-end demo that runs both services against them.
//!
//! The emulators are not built yet. [`missing`] lists what the demo still needs, so the
//! README's first command says so plainly instead of pretending to work.

#![forbid(unsafe_code)]

pub mod salesforce;
pub mod whmcs;

/// What `sandbox demo` needs that does not exist yet, one entry a line.
pub fn missing() -> &'static [&'static str] {
    &[
        "the Salesforce OAuth and REST emulator",
        "the WHMCS emulator",
        "the Pub/Sub API emulator",
        "the Fulfill RPC and its orchestration in `fulfillment`",
        "the subscriber in `ingest`",
    ]
}
