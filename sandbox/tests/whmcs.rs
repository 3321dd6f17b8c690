//! The WHMCS emulator over real HTTP: form parsing, the access and login pipeline, response
//! formats, the order actions and their quirks, and every injected fault.

#[path = "whmcs/faults.rs"]
mod faults;
#[path = "whmcs/orders.rs"]
mod orders;
#[path = "whmcs/protocol.rs"]
mod protocol;
#[path = "whmcs/reads.rs"]
mod reads;
#[path = "whmcs/support.rs"]
mod support;
