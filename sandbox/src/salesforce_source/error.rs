//! Why a Salesforce DX project cannot be loaded. Every error names the file (or directory) it
//! is about, and a field's error also names the object and the field, so a broken definition
//! is found without reading the loader.

use std::{io, path::PathBuf};

use super::SOURCE_ENV;

/// Why [`SalesforceSource::load`](super::SalesforceSource::load) failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The project directory or its `sfdx-project.json` is not there.
    #[error(
        "{}: no Salesforce DX project here (no sfdx-project.json); set {SOURCE_ENV} to the \
         project's directory",
        dir.display()
    )]
    NoProject {
        /// The directory that was looked at.
        dir: PathBuf,
    },
    /// A file or directory exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// What could not be read.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// `sfdx-project.json` is malformed or names a package directory that is not there.
    #[error("{}: {reason}", path.display())]
    Project {
        /// The `sfdx-project.json`.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Something in the project's folders the loader will not go into or open: a symbolic
    /// link, a FIFO or device, a name no org could hold.
    #[error("{}: {problem}", path.display())]
    Entry {
        /// The link, file or folder.
        path: PathBuf,
        /// What is wrong with it (boxed, as for the other variants).
        problem: Box<Problem>,
    },
    /// An object's own definition (`<Object>.object-meta.xml`) is missing or malformed.
    #[error("{}: object {object}: {problem}", path.display())]
    Object {
        /// The file (or, when it is missing, the file that should be there).
        path: PathBuf,
        /// The object's API name.
        object: String,
        /// What is wrong (boxed: it is the largest part, and errors travel by value).
        problem: Box<Problem>,
    },
    /// A field definition (`fields/<Field>.field-meta.xml`) is malformed.
    #[error("{}: field {object}.{field}: {problem}", path.display())]
    Field {
        /// The field's file.
        path: PathBuf,
        /// The object's API name.
        object: String,
        /// The field's API name, from the file name.
        field: String,
        /// What is wrong (boxed: it is the largest part, and errors travel by value).
        problem: Box<Problem>,
    },
}

impl SourceError {
    /// The problem with an object or field definition, when that is what failed.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Object { problem, .. }
            | Self::Field { problem, .. }
            | Self::Entry { problem, .. } => Some(problem),
            Self::NoProject { .. } | Self::Read { .. } | Self::Project { .. } => None,
        }
    }
}

/// What is wrong with one metadata file.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// The file cannot be read.
    #[error("cannot be read: {0}")]
    Unreadable(#[source] io::Error),
    /// The file is not well-formed XML.
    #[error("not well-formed XML: {0}")]
    Xml(String),
    /// The document's root element is not the one this kind of file has.
    #[error("the root element is <{found}>, not <{expected}>")]
    Root {
        /// The root element found.
        found: String,
        /// The one expected (`CustomField`, `CustomObject`).
        expected: &'static str,
    },
    /// A required element (or file) is missing.
    #[error("no <{0}>")]
    Missing(&'static str),
    /// The object's own file (`<Object>.object-meta.xml`) is missing: platform events and
    /// custom objects need one.
    #[error("the file is missing: a platform event or custom object needs its own definition")]
    MissingFile,
    /// `<type>` names a type the sandbox does not model.
    #[error(
        "unknown field type {0:?} (known: Text, TextArea, LongTextArea, Picklist, Number, \
         Currency, Percent, Checkbox, Date, DateTime, Email, Phone, Url)"
    )]
    UnknownType(String),
    /// An element holds a value outside what it may hold.
    #[error("<{element}> is {value:?}, expected {expected}")]
    BadValue {
        /// The element.
        element: &'static str,
        /// Its text.
        value: String,
        /// What it may hold.
        expected: String,
    },
    /// A picklist defines no values of its own.
    #[error("a picklist without values (valueSet/valueSetDefinition/value)")]
    NoPicklistValues,
    /// A picklist takes its values from a global value set, which is not in `objects/`.
    #[error("the picklist uses the global value set {0:?}, which the sandbox does not read")]
    GlobalValueSet(String),
    /// `<fullName>` disagrees with the file name.
    #[error("<fullName> is {0:?}, which does not match the file name")]
    NameMismatch(String),
    /// The same field is defined in two package directories.
    #[error("also defined in {}", .0.display())]
    Duplicate(PathBuf),
    /// The file is a symbolic link: links are never followed, so that nothing outside the
    /// project is read.
    #[error("a symbolic link: the loader follows no link, so it reads nothing outside the project")]
    Link,
    /// The path is a directory, a FIFO, a socket or a device where a file belongs.
    #[error("not a regular file")]
    NotAFile,
    /// The file is larger than any metadata file is.
    #[error(
        "larger than {} bytes: not a metadata file",
        super::read::MAX_FILE_BYTES
    )]
    TooLarge,
    /// The file or folder name is not an API name the platform accepts.
    #[error(
        "not a valid API name (letters, digits and single underscores, starting with a letter, \
         not ending in an underscore, then its suffix such as __c)"
    )]
    BadName,
    /// An element the definition may hold once appears more than once.
    #[error("<{0}> appears more than once")]
    Repeated(&'static str),
    /// A picklist lists the same value twice (values differing only in case are the same).
    #[error("the picklist lists the value {0:?} twice")]
    DuplicateValue(String),
    /// A platform event field of a type platform events do not have.
    #[error(
        "a platform event cannot have a {0} field (only Checkbox, Date, DateTime, Number, Text \
         and LongTextArea)"
    )]
    NotForEvents(&'static str),
    /// A platform event field that is not a custom field (`Name__c`).
    #[error("a platform event has only custom fields, whose API names end in __c")]
    NotCustom,
}
