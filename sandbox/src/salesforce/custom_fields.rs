//! The custom fields of the emulated org, taken from the DX project: each `__c` field of an
//! object the emulator knows becomes a [`FieldDef`] with the project's label, type, length,
//! picklist values and required flag, writable by the integration user (it owns every
//! custom field on these objects). Standard fields in the project are left out: the
//! platform's definitions in [`standard`](super::standard) count. Objects the emulator does
//! not model (a custom object, say) are not served.
//!
//! The org's own automation writes a few custom fields itself (the Flow sets the activation
//! status and publishes the Order's id, seeded Orders start "Not Started"), so a project
//! without them, or with types their values do not fit, is refused when the catalog is built,
//! naming the file that should define them.

use crate::salesforce_source::{FieldType, SalesforceSource, SourceField, SourceObject};

use super::schema::{CatalogError, FieldDef, FieldKind, ObjectDef};

/// One custom field the org's automation writes, and what its type must allow.
struct Need {
    object: &'static str,
    field: &'static str,
    /// What the field must be, for the error message.
    what: &'static str,
    fits: fn(&FieldType) -> bool,
}

const NEEDS: &[Need] = &[
    Need {
        object: "Order",
        field: "Activation_Status__c",
        what: "a picklist offering \"Not Started\" and \"Activating\" (seeded Orders start \
               \"Not Started\"; the Flow sets \"Activating\")",
        fits: offers_flow_statuses,
    },
    Need {
        object: "Order",
        field: "Activation_Error_Code__c",
        what: "a text field (the retry action clears it)",
        fits: is_text,
    },
    Need {
        object: "Order",
        field: "Activation_Error_Message__c",
        what: "a text field (the retry action clears it)",
        fits: is_text,
    },
    Need {
        object: "OrderProvisionRequested__e",
        field: "OrderId__c",
        what: "a text field of at least 18 characters (the Flow publishes the Order's id)",
        fits: holds_an_id,
    },
];

fn offers_flow_statuses(field_type: &FieldType) -> bool {
    field_type.picklist_values().is_some_and(|values| {
        ["Not Started", "Activating"]
            .iter()
            .all(|wanted| values.iter().any(|value| value == wanted))
    })
}

fn is_text(field_type: &FieldType) -> bool {
    field_type.text_length().is_some()
}

fn holds_an_id(field_type: &FieldType) -> bool {
    field_type.text_length().is_some_and(|length| length >= 18)
}

/// Fails on the first field the org's automation needs that `source` lacks or mistypes.
pub(super) fn check_needs(source: &SalesforceSource) -> Result<(), CatalogError> {
    for need in NEEDS {
        let object = source.object(need.object);
        let fits = object
            .and_then(|object| object.field(need.field))
            .is_some_and(|field| (need.fits)(&field.field_type));
        if !fits {
            let path = object.map_or_else(
                || source.project_dir().to_owned(),
                |object| object.field_file(need.field),
            );
            return Err(CatalogError::Needed {
                path,
                what: format!("{}.{}: {}", need.object, need.field, need.what),
            });
        }
    }
    Ok(())
}

/// `standard` with the custom fields `source` gives it appended, in the project's order.
pub(super) fn extend(standard: &ObjectDef, source: Option<&SourceObject>) -> ObjectDef {
    let mut fields: Vec<FieldDef> = standard.fields.to_vec();
    let custom = source
        .into_iter()
        .flat_map(|object| object.fields.iter())
        .filter(|field| field.name.ends_with("__c"));
    fields.extend(custom.map(field_def));
    ObjectDef {
        name: standard.name,
        key_prefix: standard.key_prefix,
        fields: Box::leak(fields.into_boxed_slice()),
        parents: standard.parents,
        children: standard.children,
    }
}

fn field_def(field: &SourceField) -> FieldDef {
    FieldDef {
        name: leak(&field.name),
        label: leak(&field.label),
        kind: kind(&field.field_type),
        writable: true,
        required: field.required,
    }
}

/// The emulator's type for a project's field type: free text of every kind is text with its
/// length, numbers and percentages are doubles.
fn kind(field_type: &FieldType) -> FieldKind {
    match field_type {
        FieldType::Text { .. }
        | FieldType::TextArea
        | FieldType::LongTextArea { .. }
        | FieldType::Email
        | FieldType::Phone
        | FieldType::Url => FieldKind::Text(field_type.text_length().unwrap_or_default()),
        FieldType::Picklist { values, restricted } => {
            let values: Vec<&'static str> = values.iter().map(|value| leak(value)).collect();
            FieldKind::Picklist {
                values: Box::leak(values.into_boxed_slice()),
                restricted: *restricted,
            }
        }
        FieldType::Number { .. } | FieldType::Percent { .. } => FieldKind::Double,
        FieldType::Currency { .. } => FieldKind::Currency,
        FieldType::Checkbox { .. } => FieldKind::Boolean,
        FieldType::Date => FieldKind::Date,
        FieldType::DateTime => FieldKind::DateTime,
    }
}

/// `text` for the rest of the process (see the catalog's note on why it is leaked).
fn leak(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

#[cfg(test)]
mod tests {
    use std::{fs, path::Path};

    use super::*;
    use crate::salesforce::schema::Catalog;
    use crate::salesforce_source::testing::copy_of_repository;

    fn field_file(project: &Path, object: &str, field: &str) -> std::path::PathBuf {
        project.join(format!(
            "force-app/main/default/objects/{object}/fields/{field}.field-meta.xml"
        ))
    }

    #[test]
    fn a_project_without_a_field_the_flow_writes_is_refused_naming_its_file() {
        for (object, field) in [
            ("Order", "Activation_Status__c"),
            ("Order", "Activation_Error_Message__c"),
            ("OrderProvisionRequested__e", "OrderId__c"),
        ] {
            let project = copy_of_repository();
            let file = field_file(project.path(), object, field);
            fs::remove_file(&file).expect("removed");
            let error = Catalog::load(project.path()).expect_err("refused");
            assert!(matches!(error, CatalogError::Needed { .. }), "{error}");
            let message = error.to_string();
            assert!(message.contains(&file.display().to_string()), "{message}");
            assert!(message.contains(&format!("{object}.{field}")), "{message}");
        }
    }

    #[test]
    fn a_too_short_event_field_is_refused() {
        let project = copy_of_repository();
        let file = field_file(project.path(), "OrderProvisionRequested__e", "OrderId__c");
        let text = fs::read_to_string(&file).expect("read");
        fs::write(
            &file,
            text.replace("<length>18</length>", "<length>15</length>"),
        )
        .expect("written");
        let message = Catalog::load(project.path())
            .expect_err("refused")
            .to_string();
        assert!(message.contains("at least 18 characters"), "{message}");
    }

    #[test]
    fn a_broken_file_fails_the_catalog_with_the_loader_s_error() {
        let project = copy_of_repository();
        let file = field_file(project.path(), "Product2", "WH_Product_ID__c");
        fs::write(&file, "<CustomField><label>x</label>").expect("written");
        let error = Catalog::load(project.path()).expect_err("refused");
        assert!(matches!(error, CatalogError::Source(_)));
        assert!(error.to_string().contains("Product2.WH_Product_ID__c"));
    }

    #[test]
    fn fields_follow_the_project_and_unmodelled_ones_are_left_out() {
        let project = copy_of_repository();
        fs::remove_file(field_file(project.path(), "Order", "WHMCS_Order_ID__c")).expect("removed");
        let code = field_file(project.path(), "Order", "Activation_Error_Code__c");
        let text = fs::read_to_string(&code).expect("read");
        fs::write(
            &code,
            text.replace("<length>64</length>", "<length>10</length>"),
        )
        .expect("written");
        fs::write(
            field_file(project.path(), "Account", "Tier__c"),
            "<CustomField><label>Tier</label><type>Number</type><precision>3</precision>\
             <scale>0</scale><required>true</required></CustomField>",
        )
        .expect("written");
        fs::write(
            field_file(project.path(), "Account", "Name"),
            "<CustomField><label>Renamed</label><type>TextArea</type></CustomField>",
        )
        .expect("written");

        let catalog = Catalog::load(project.path()).expect("loads");
        let order = catalog.object("Order").expect("Order");
        assert!(order.field("WHMCS_Order_ID__c").is_none());
        assert_eq!(
            order.field("Activation_Error_Code__c").map(|f| f.kind),
            Some(FieldKind::Text(10))
        );
        let account = catalog.object("Account").expect("Account");
        let tier = account.field("Tier__c").expect("the new field");
        assert_eq!(tier.kind, FieldKind::Double);
        assert!(tier.required && tier.writable);
        let name = account.field("Name").expect("Name");
        assert_eq!(
            name.label, "Account Name",
            "standard fields stay the platform's"
        );
        assert_eq!(name.kind, FieldKind::Text(255));
    }
}
