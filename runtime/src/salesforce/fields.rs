//! What a service needs of the Salesforce org's metadata: each custom field it reads or writes,
//! and what the field's type must allow for that to work.
//!
//! Each service declares its list next to the code that uses the fields. The org's metadata
//! ships as source in the repository's `salesforce/` project, and the workspace's tests hold
//! every declared field against it, so a field renamed, retyped, shortened or removed there
//! fails a test that names it instead of failing on the first real Order.

/// How a service uses a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only read (queried, or decoded from an event).
    Read,
    /// Read and written back.
    Write,
}

/// What the field's type must be for the service's use of it to work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// A text field (its JSON value is a string) holding at least `min_length` characters.
    Text {
        /// The longest value the service writes or must be able to read.
        min_length: usize,
    },
    /// A picklist.
    Picklist {
        /// Values the service writes or compares against: the picklist must offer each.
        offers: &'static [&'static str],
        /// When set, the only values the service understands: the picklist must offer
        /// nothing else, or an admin could pick a value the service refuses.
        within: Option<&'static [&'static str]>,
    },
}

/// One field a service reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldUse {
    /// The object's API name (`Order`, `OrderProvisionRequested__e`).
    pub object: &'static str,
    /// The field's API name.
    pub field: &'static str,
    /// Whether the service writes it.
    pub access: Access,
    /// What its type must allow.
    pub expected: Expected,
}

impl FieldUse {
    /// `Object.Field`, as messages name it.
    pub fn path(&self) -> String {
        format!("{}.{}", self.object, self.field)
    }
}
