//! The platform event field ingest reads, and what its type must allow: ingest's half of the
//! org contract (fulfillment declares the Order fields).

use bridge_runtime::salesforce::fields::{Access, Expected, FieldUse};

/// The platform event the Flow publishes.
pub const EVENT_OBJECT: &str = "OrderProvisionRequested__e";

/// The event field holding the Order's id.
pub const ORDER_ID_FIELD: &str = "OrderId__c";

/// An 18-character Salesforce id.
const ID_LENGTH: usize = 18;

/// Every event field ingest decodes.
pub const FIELDS_USED: &[FieldUse] = &[FieldUse {
    object: EVENT_OBJECT,
    field: ORDER_ID_FIELD,
    access: Access::Read,
    expected: Expected::Text {
        min_length: ID_LENGTH,
    },
}];
