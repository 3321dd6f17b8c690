//! The org's metadata as the repository ships it: a loader for the Salesforce DX project in
//! `salesforce/` (source format), so the emulators serve the platform event and the custom
//! fields that a deploy of that project creates, not a copy of them kept by hand.
//!
//! Only the `objects/` folders are read: for every object folder, the object's kind (a
//! platform event when its name ends `__e`, a custom object when it ends `__c`, otherwise a
//! standard object the project extends with custom fields), its own
//! `<Object>.object-meta.xml` (required for events and custom objects), and every
//! `fields/<Field>.field-meta.xml`: API name, label, type with what its values may be, and
//! whether it is required. Flows, permission sets, components and the rest of the project are
//! not the emulators' business and are never opened.
//!
//! Fields are listed in alphabetical order of their API names (ignoring case). A source
//! project does not record the order fields were created in, and a deploy of it creates them
//! in that order, so it is also the order the platform event's Avro schema lists them in.
//!
//! Loading is strict: a missing element the platform requires, an unknown type, a length out
//! of range, a picklist without values or with a value twice, a platform event field of a type
//! events do not have, a name that is not an API name or a file that is not XML fails the
//! whole load with a [`SourceError`] naming the file and the field; nothing is skipped
//! silently. Nor is the project trusted to hold only itself: no symbolic link is followed, a
//! package directory must lie inside the project, and only regular files of at most a
//! megabyte are opened, so a link, a FIFO or a huge file is refused rather than read.
//!
//! [`SalesforceSource::check_use`] holds a service's declared use of a field
//! (`bridge_runtime::salesforce::fields::FieldUse`) against the project, for the workspace's
//! contract tests.

mod api_name;
mod error;
mod field;
mod parse;
mod project;
mod read;
mod usage;

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

use std::{
    collections::BTreeMap,
    ffi::OsString,
    path::{Path, PathBuf},
};

pub use error::{Problem, SourceError};
pub use field::{EMAIL_LENGTH, FieldType, PHONE_LENGTH, SourceField, TEXT_AREA_LENGTH, URL_LENGTH};
pub use usage::UseMismatch;

use read::Kind;

/// The environment variable naming another DX project directory for the sandbox to read.
pub const SOURCE_ENV: &str = "SANDBOX_SALESFORCE_SOURCE";

/// The suffix of a field definition's file name.
const FIELD_SUFFIX: &str = ".field-meta.xml";

/// The suffix of an object definition's file name.
const OBJECT_SUFFIX: &str = ".object-meta.xml";

/// What kind of object a folder defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectKind {
    /// A platform event (`__e`).
    PlatformEvent {
        /// `PublishAfterCommit` or `PublishImmediately`.
        publish_behavior: String,
        /// `HighVolume` or `StandardVolume`.
        event_type: String,
    },
    /// A custom object (`__c`).
    CustomObject,
    /// A standard object (`Order`, `Account`) the project adds fields to.
    StandardObject,
}

/// One object folder (or several of the same name, from different package directories).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceObject {
    /// The API name: the folder's name.
    pub name: String,
    /// What kind of object it is.
    pub kind: ObjectKind,
    /// The label from its own file, when it has one.
    pub label: Option<String>,
    /// Its fields, in alphabetical order of API name.
    pub fields: Vec<SourceField>,
    /// The (first) folder that defines it.
    pub dir: PathBuf,
}

impl SourceObject {
    /// The field with this API name, in any casing.
    pub fn field(&self, name: &str) -> Option<&SourceField> {
        self.fields
            .iter()
            .find(|field| field.name.eq_ignore_ascii_case(name))
    }

    /// Whether it is a platform event.
    pub fn is_platform_event(&self) -> bool {
        matches!(self.kind, ObjectKind::PlatformEvent { .. })
    }

    /// Where the definition of its field `name` is, or would be.
    pub fn field_file(&self, name: &str) -> PathBuf {
        self.field(name).map_or_else(
            || {
                self.dir
                    .join("fields")
                    .join(format!("{name}{FIELD_SUFFIX}"))
            },
            |field| field.file.clone(),
        )
    }
}

/// A loaded DX project: every object its `objects/` folders define.
#[derive(Debug, Clone, PartialEq)]
pub struct SalesforceSource {
    project_dir: PathBuf,
    objects: Vec<SourceObject>,
}

impl SalesforceSource {
    /// Loads the DX project at `project_dir` (the folder holding `sfdx-project.json`).
    pub fn load(project_dir: &Path) -> Result<Self, SourceError> {
        let mut objects = BTreeMap::new();
        for folder in project::object_folders(project_dir)? {
            for dir in project::subdirectories(&folder)? {
                load_object(&dir, &mut objects)?;
            }
        }
        let mut objects: Vec<SourceObject> = objects.into_values().collect();
        for object in &mut objects {
            check_own_file(object)?;
            object.fields.sort_by_key(|field| sort_key(&field.name));
        }
        objects.sort_by_key(|object| sort_key(&object.name));
        Ok(Self {
            project_dir: project_dir.to_owned(),
            objects,
        })
    }

    /// Loads the repository's project: [`repository_dir`](Self::repository_dir).
    pub fn from_repository() -> Result<Self, SourceError> {
        Self::load(&Self::repository_dir())
    }

    /// The project the sandbox reads: the directory in `SANDBOX_SALESFORCE_SOURCE` when it is
    /// set and not empty, otherwise the `salesforce/` folder of the repository this crate was
    /// built from.
    pub fn repository_dir() -> PathBuf {
        dir_from(std::env::var_os(SOURCE_ENV))
    }

    /// The project's directory.
    pub fn project_dir(&self) -> &Path {
        &self.project_dir
    }

    /// Every object, in alphabetical order of API name.
    pub fn objects(&self) -> &[SourceObject] {
        &self.objects
    }

    /// The object with this API name, in any casing.
    pub fn object(&self, name: &str) -> Option<&SourceObject> {
        self.objects
            .iter()
            .find(|object| object.name.eq_ignore_ascii_case(name))
    }

    /// The field `field` of `object`, both in any casing.
    pub fn field(&self, object: &str, field: &str) -> Option<&SourceField> {
        self.object(object)?.field(field)
    }
}

/// The project directory for a value of [`SOURCE_ENV`].
fn dir_from(value: Option<OsString>) -> PathBuf {
    match value {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(
            || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../salesforce")),
            |workspace| workspace.join("salesforce"),
        ),
    }
}

/// Alphabetical order ignoring case, with the exact name breaking ties.
fn sort_key(name: &str) -> (String, String) {
    (name.to_ascii_lowercase(), name.to_owned())
}

/// The kind a folder name implies; an event's settings are filled from its file later.
fn kind_of(name: &str) -> ObjectKind {
    if name.ends_with("__e") {
        ObjectKind::PlatformEvent {
            publish_behavior: String::new(),
            event_type: String::new(),
        }
    } else if name.ends_with("__c") {
        ObjectKind::CustomObject
    } else {
        ObjectKind::StandardObject
    }
}

/// Adds the object folder `dir` to `objects`, merging it with a folder of the same name from
/// another package directory.
fn load_object(
    dir: &Path,
    objects: &mut BTreeMap<String, SourceObject>,
) -> Result<(), SourceError> {
    let name = dir
        .file_name()
        .and_then(|name| name.to_str())
        .filter(|name| api_name::is_api_name(name))
        .map(str::to_owned)
        .ok_or_else(|| SourceError::Entry {
            path: dir.to_owned(),
            problem: Box::new(Problem::BadName),
        })?;
    let object = objects
        .entry(name.to_ascii_lowercase())
        .or_insert_with(|| SourceObject {
            name: name.clone(),
            kind: kind_of(&name),
            label: None,
            fields: Vec::new(),
            dir: dir.to_owned(),
        });

    let own_file = dir.join(format!("{name}{OBJECT_SUFFIX}"));
    let has_own_file = read::kind_of(&own_file)
        .map_err(|source| SourceError::Read {
            path: own_file.clone(),
            source,
        })?
        .is_some();
    if has_own_file {
        let meta = parse::read_object(&own_file, &name)?;
        object.label = object.label.take().or(meta.label);
        if let Some((publish_behavior, event_type)) = meta.event {
            object.kind = ObjectKind::PlatformEvent {
                publish_behavior,
                event_type,
            };
        }
    }

    let fields_dir = dir.join("fields");
    match read::kind_of(&fields_dir) {
        Ok(None) => return Ok(()),
        Ok(Some(Kind::Dir)) => {}
        Ok(Some(Kind::Link)) => return Err(project::link(&fields_dir)),
        Ok(Some(Kind::File | Kind::Other)) => {
            return Err(SourceError::Entry {
                path: fields_dir,
                problem: Box::new(Problem::NotAFile),
            });
        }
        Err(source) => {
            return Err(SourceError::Read {
                path: fields_dir,
                source,
            });
        }
    }
    for (path, _) in project::entries(&fields_dir)? {
        // Decoded lossily, so that a name that is not UTF-8 is refused below, not skipped.
        let file = path
            .file_name()
            .map(|file| file.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(field) = file.strip_suffix(FIELD_SUFFIX).map(str::to_owned) else {
            continue;
        };
        let failed = |problem| SourceError::Field {
            path: path.clone(),
            object: object.name.clone(),
            field: field.clone(),
            problem: Box::new(problem),
        };
        if !api_name::is_api_name(&field) {
            return Err(failed(Problem::BadName));
        }
        if let Some(first) = object.field(&field) {
            return Err(failed(Problem::Duplicate(first.file.clone())));
        }
        let read = parse::read_field(&path, &object.name, &field)?;
        if object.is_platform_event() {
            check_event_field(&read).map_err(failed)?;
        }
        object.fields.push(read);
    }
    Ok(())
}

/// A platform event's fields are custom fields of the types the platform allows on events.
fn check_event_field(field: &SourceField) -> Result<(), Problem> {
    if !field.name.ends_with("__c") {
        return Err(Problem::NotCustom);
    }
    match field.field_type {
        FieldType::Checkbox { .. }
        | FieldType::Date
        | FieldType::DateTime
        | FieldType::Number { .. }
        | FieldType::Text { .. }
        | FieldType::LongTextArea { .. } => Ok(()),
        FieldType::TextArea
        | FieldType::Picklist { .. }
        | FieldType::Currency { .. }
        | FieldType::Percent { .. }
        | FieldType::Email
        | FieldType::Phone
        | FieldType::Url => Err(Problem::NotForEvents(field.field_type.metadata_name())),
    }
}

/// Events and custom objects need their own file; an event's file must say how it publishes.
fn check_own_file(object: &SourceObject) -> Result<(), SourceError> {
    let missing = match &object.kind {
        ObjectKind::PlatformEvent {
            publish_behavior, ..
        } => publish_behavior.is_empty(),
        ObjectKind::CustomObject => object.label.is_none(),
        ObjectKind::StandardObject => false,
    };
    if missing {
        return Err(SourceError::Object {
            path: object.dir.join(format!("{}{OBJECT_SUFFIX}", object.name)),
            object: object.name.clone(),
            problem: Box::new(Problem::MissingFile),
        });
    }
    Ok(())
}
