//! The emulated org's metadata: one table per object listing its fields (API name, type,
//! whether the integration user may write it, picklist values, text lengths) and its
//! relationships. SOQL resolution, record rendering and `PATCH` validation all read these
//! tables.
//!
//! The tables are the platform's standard objects and fields ([`standard`](super::standard))
//! extended with the custom fields the Salesforce DX project in `salesforce/` defines
//! ([`custom_fields`](super::custom_fields)): add, retype or remove a field there and the
//! emulator queries, validates and writes it accordingly. The repository's project is loaded
//! once per process; an emulator can be pointed at another project (a test's modified copy).
//!
//! A [`Catalog`] lives for the rest of the process, so records, query plans and changes can
//! borrow its definitions as `&'static` without a lifetime through every handler. The
//! repository's catalog is built once; each one built from another project is leaked on
//! purpose (a few kilobytes per emulator started that way, which only tests do).

use std::{
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
};

use super::{custom_fields, standard::STANDARD_OBJECTS};
use crate::salesforce_source::{SalesforceSource, SourceError};

/// The type of a field, with what its values may be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum FieldKind {
    /// The record's own id.
    Id,
    /// A lookup to a record of the named object.
    Reference(&'static str),
    /// Text up to a number of characters.
    Text(usize),
    /// A number Salesforce generates (`OrderNumber`).
    AutoNumber,
    /// A picklist; a restricted one refuses values outside its list.
    Picklist {
        values: &'static [&'static str],
        restricted: bool,
    },
    /// Money, rendered as a JSON number.
    Currency,
    /// A floating-point number, rendered as a JSON number (`3.0`).
    Double,
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY-MM-DDTHH:MM:SS.mmm+0000`.
    DateTime,
    /// A checkbox.
    Boolean,
}

impl FieldKind {
    /// The type's name as SOQL error messages spell it.
    pub(crate) fn soql_name(self) -> &'static str {
        match self {
            Self::Id | Self::Reference(_) => "id",
            Self::Text(_) | Self::AutoNumber | Self::Picklist { .. } => "string",
            Self::Currency => "currency",
            Self::Double => "double",
            Self::Date => "date",
            Self::DateTime => "datetime",
            Self::Boolean => "boolean",
        }
    }
}

/// One field of an object.
#[derive(Debug, Clone)]
pub(crate) struct FieldDef {
    /// The API name, in its canonical casing.
    pub(crate) name: &'static str,
    /// The label shown in error messages.
    pub(crate) label: &'static str,
    /// The type.
    pub(crate) kind: FieldKind,
    /// Whether the integration user may update it.
    pub(crate) writable: bool,
    /// Whether it may not be cleared.
    pub(crate) required: bool,
}

/// A child-to-parent relationship (`Account` on Order through `AccountId`).
#[derive(Debug)]
pub(crate) struct ParentDef {
    /// The relationship name used in field paths.
    pub(crate) name: &'static str,
    /// The lookup field holding the parent's id.
    pub(crate) field: &'static str,
    /// The parent's object.
    pub(crate) target: &'static str,
}

/// A parent-to-child relationship (`OrderItems` on Order).
#[derive(Debug)]
pub(crate) struct ChildDef {
    /// The relationship name used in subqueries.
    pub(crate) name: &'static str,
    /// The child object.
    pub(crate) object: &'static str,
    /// The child's lookup field pointing at the parent.
    pub(crate) field: &'static str,
}

/// One object (sObject type).
#[derive(Debug)]
pub(crate) struct ObjectDef {
    /// The API name.
    pub(crate) name: &'static str,
    /// The three-character id prefix.
    pub(crate) key_prefix: &'static str,
    /// Every field, `Id` first.
    pub(crate) fields: &'static [FieldDef],
    /// Lookups usable in field paths.
    pub(crate) parents: &'static [ParentDef],
    /// Child relationships usable in subqueries.
    pub(crate) children: &'static [ChildDef],
}

impl ObjectDef {
    /// The field with this name, in any casing.
    pub(crate) fn field(&self, name: &str) -> Option<&'static FieldDef> {
        let fields: &'static [FieldDef] = self.fields;
        fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The parent relationship with this name, in any casing.
    pub(crate) fn parent(&self, name: &str) -> Option<&'static ParentDef> {
        let parents: &'static [ParentDef] = self.parents;
        parents.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The child relationship with this name, in any casing.
    pub(crate) fn child(&self, name: &str) -> Option<&'static ChildDef> {
        let children: &'static [ChildDef] = self.children;
        children.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// Why the org's metadata cannot be built from a DX project.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CatalogError {
    /// The project does not load.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The project lacks a field the org's own automation writes, or types it so that the
    /// automation's values do not fit.
    #[error("{}: the emulated org needs {what}", path.display())]
    Needed {
        /// The field's file, or where it should be.
        path: PathBuf,
        /// The field and what its type must allow.
        what: String,
    },
}

/// Every object the emulated org knows, with the DX project it was built from.
#[derive(Debug)]
pub(crate) struct Catalog {
    objects: &'static [ObjectDef],
    source: SalesforceSource,
}

/// The repository's catalog, built on first use.
static REPOSITORY: OnceLock<Result<&'static Catalog, Arc<CatalogError>>> = OnceLock::new();

impl Catalog {
    /// The catalog of the repository's project (or of `SANDBOX_SALESFORCE_SOURCE`), built
    /// once per process; a failure is kept and returned to every caller.
    pub(crate) fn repository() -> Result<&'static Self, Arc<CatalogError>> {
        REPOSITORY
            .get_or_init(|| Self::load(&SalesforceSource::repository_dir()).map_err(Arc::new))
            .clone()
    }

    /// A catalog of the project at `dir`, for the rest of the process.
    pub(crate) fn load(dir: &Path) -> Result<&'static Self, CatalogError> {
        let source = SalesforceSource::load(dir)?;
        custom_fields::check_needs(&source)?;
        let objects: Vec<ObjectDef> = STANDARD_OBJECTS
            .iter()
            .map(|standard| custom_fields::extend(standard, source.object(standard.name)))
            .collect();
        let catalog = Self {
            objects: Box::leak(objects.into_boxed_slice()),
            source,
        };
        Ok(Box::leak(Box::new(catalog)))
    }

    /// The object with this name, in any casing.
    pub(crate) fn object(&self, name: &str) -> Option<&'static ObjectDef> {
        let objects: &'static [ObjectDef] = self.objects;
        objects.iter().find(|o| o.name.eq_ignore_ascii_case(name))
    }

    /// Every object.
    #[cfg(test)]
    pub(crate) fn objects(&self) -> &'static [ObjectDef] {
        self.objects
    }

    /// The project the custom fields come from.
    pub(crate) fn source(&self) -> &SalesforceSource {
        &self.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repository() -> &'static Catalog {
        Catalog::repository().expect("the repository's project loads")
    }

    #[test]
    fn every_relationship_names_real_objects_and_fields() {
        let catalog = repository();
        for def in catalog.objects() {
            assert_eq!(def.fields[0].name, "Id", "{}", def.name);
            for parent in def.parents {
                let field = def.field(parent.field).expect(parent.field);
                assert_eq!(field.kind, FieldKind::Reference(parent.target));
                assert!(catalog.object(parent.target).is_some(), "{}", parent.target);
            }
            for child in def.children {
                let child_def = catalog.object(child.object).expect(child.object);
                let field = child_def.field(child.field).expect(child.field);
                assert_eq!(field.kind, FieldKind::Reference(def.name));
            }
        }
    }

    #[test]
    fn lookups_ignore_case() {
        let order = repository().object("order").expect("Order");
        assert_eq!(order.name, "Order");
        assert_eq!(
            order.field("activation_status__C").map(|f| f.name),
            Some("Activation_Status__c")
        );
        assert_eq!(
            order.child("orderitems").map(|c| c.name),
            Some("OrderItems")
        );
        assert!(order.field("Name").is_none());
    }

    #[test]
    fn custom_fields_come_from_the_project_with_their_types() {
        let catalog = repository();
        let order = catalog.object("Order").expect("Order");
        let status = order.field("Activation_Status__c").expect("status");
        assert_eq!(status.label, "Activation Status");
        assert!(status.writable && !status.required);
        assert_eq!(
            status.kind,
            FieldKind::Picklist {
                values: &["Not Started", "Activating", "Activated", "Failed"],
                restricted: true,
            }
        );
        let code = order.field("Activation_Error_Code__c").expect("code");
        assert_eq!(code.kind, FieldKind::Text(64));

        let product = catalog.object("Product2").expect("Product2");
        let cycle = product.field("Billing_Cycle__c").expect("cycle");
        assert!(matches!(
            cycle.kind,
            FieldKind::Picklist {
                values,
                restricted: true
            } if values.len() == 8 && values.contains(&"Semi-Annually")
        ));
        let account = catalog.object("Account").expect("Account");
        assert_eq!(
            account.field("WH_Client_ID__c").map(|f| f.kind),
            Some(FieldKind::Text(32))
        );
        assert!(catalog.object("OrderProvisionRequested__e").is_none());
        assert!(
            catalog
                .source()
                .object("OrderProvisionRequested__e")
                .is_some()
        );
    }
}
