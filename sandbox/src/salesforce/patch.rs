//! `PATCH /sobjects/<Object>/<id>`: the body is checked field by field against the schema and
//! applied as one save, so either every field changes or none does.
//!
//! Checks run in the order the platform meets them: the body is read into the object's
//! fields first (unknown field → `INVALID_FIELD`, a value of the wrong JSON type →
//! `JSON_PARSER_ERROR`), then field security (read-only → `INVALID_FIELD_FOR_INSERT_UPDATE`),
//! then the save's own validation (length, restricted picklists, required fields, lookups),
//! which reports every failing field at once.

use axum::http::StatusCode;
use serde_json::Value;

use super::{
    api_error::{ApiFailure, ErrorEntry},
    clock,
    ids::to_eighteen,
    org::{Org, number_value},
    schema::{FieldDef, FieldKind, ObjectDef},
};

/// One field's new value, checked.
type Change = (&'static FieldDef, Value);

/// Checks `body` as an update of a record of `def` and returns the changes to make.
pub(crate) fn validate(
    def: &'static ObjectDef,
    body: &[u8],
    org: &Org,
) -> Result<Vec<Change>, ApiFailure> {
    let members = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(members)) => members,
        Ok(other) => {
            return Err(parser_error(format!(
                "Cannot deserialize instance of {} from {} value",
                def.name,
                json_token(&other)
            )));
        }
        Err(err) => return Err(parser_error(format!("Unexpected character: {err}"))),
    };

    let mut typed = Vec::new();
    for (name, value) in members {
        let field = def.field(&name).ok_or_else(|| {
            ApiFailure::new(
                StatusCode::BAD_REQUEST,
                "INVALID_FIELD",
                format!("No such column '{name}' on sobject of type {}", def.name),
            )
        })?;
        typed.push((field, read_json(field, value)?));
    }

    if let Some((field, _)) = typed.iter().find(|(field, _)| !field.writable) {
        return Err(ApiFailure::on_fields(
            StatusCode::BAD_REQUEST,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            format!(
                "Unable to create/update fields: {}. Please check the security settings of this \
                 field and verify that it is read/write for your profile or permission set.",
                field.name
            ),
            &[field.name],
        ));
    }

    let errors: Vec<ErrorEntry> = typed
        .iter()
        .filter_map(|(field, value)| save_error(field, value, org))
        .collect();
    if errors.is_empty() {
        Ok(typed)
    } else {
        Err(ApiFailure::many(StatusCode::BAD_REQUEST, errors))
    }
}

/// Makes the changes on the record and stamps it as modified.
pub(crate) fn apply(org: &mut Org, def: &'static ObjectDef, id: &str, changes: Vec<Change>) {
    if let Some(row) = org.get_mut(def.name, id) {
        for (field, value) in changes {
            row.insert(field.name.to_owned(), value);
        }
    }
    org.touch(def, id);
    org.recompute(def.name, id);
}

fn parser_error(message: String) -> ApiFailure {
    ApiFailure::new(StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR", message)
}

fn json_token(value: &Value) -> &'static str {
    match value {
        Value::Null => "VALUE_NULL",
        Value::Bool(true) => "VALUE_TRUE",
        Value::Bool(false) => "VALUE_FALSE",
        Value::Number(_) => "VALUE_NUMBER",
        Value::String(_) => "VALUE_STRING",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
    }
}

/// The body's value read as the field's type; an empty text is stored as `null`.
fn read_json(field: &FieldDef, value: Value) -> Result<Value, ApiFailure> {
    let mismatch = |value: &Value| {
        let shown = match value {
            Value::String(text) => format!(" value {text}"),
            _ => String::new(),
        };
        parser_error(format!(
            "Cannot deserialize instance of {} from {}{shown} or request may be missing a \
             required field",
            field.kind.soql_name(),
            json_token(value)
        ))
    };
    match (field.kind, value) {
        (_, Value::Null) => Ok(Value::Null),
        (_, Value::String(text)) if text.is_empty() => Ok(Value::Null),
        (
            FieldKind::Text(_)
            | FieldKind::AutoNumber
            | FieldKind::Picklist { .. }
            | FieldKind::Id
            | FieldKind::Reference(_)
            | FieldKind::DateTime,
            Value::String(text),
        ) => Ok(Value::String(text)),
        (FieldKind::Text(_), Value::Number(n)) => Ok(Value::String(n.to_string())),
        (FieldKind::Text(_), Value::Bool(b)) => Ok(Value::String(b.to_string())),
        (FieldKind::Currency | FieldKind::Double, Value::Number(n)) => Ok(Value::Number(n)),
        (FieldKind::Currency | FieldKind::Double, Value::String(text)) => {
            match text.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => Ok(number_value(n)),
                _ => Err(mismatch(&Value::String(text))),
            }
        }
        (FieldKind::Boolean, Value::Bool(b)) => Ok(Value::Bool(b)),
        (FieldKind::Date, Value::String(text)) if clock::is_date(&text) => Ok(Value::String(text)),
        (_, other) => Err(mismatch(&other)),
    }
}

/// What the save refuses about one field's value, if anything.
fn save_error(field: &'static FieldDef, value: &Value, org: &Org) -> Option<ErrorEntry> {
    let Value::String(text) = value else {
        return (value.is_null() && field.required).then(|| {
            ApiFailure::field_entry(
                "REQUIRED_FIELD_MISSING",
                format!("Required fields are missing: [{}]", field.name),
                &[field.name],
            )
        });
    };
    match field.kind {
        FieldKind::Text(max) if text.chars().count() > max => Some(ApiFailure::field_entry(
            "STRING_TOO_LONG",
            format!(
                "{}: data value too large: {text} (max length={max})",
                field.label
            ),
            &[field.name],
        )),
        FieldKind::Picklist {
            values,
            restricted: true,
        } if !values.contains(&text.as_str()) => Some(ApiFailure::field_entry(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            format!(
                "{}: bad value for restricted picklist field: {text}",
                field.label
            ),
            &[field.name],
        )),
        FieldKind::Reference(target) => reference_error(field, target, text, org),
        _ => None,
    }
}

fn reference_error(
    field: &'static FieldDef,
    target: &str,
    text: &str,
    org: &Org,
) -> Option<ErrorEntry> {
    let prefix = org.catalog().object(target).map(|def| def.key_prefix);
    match to_eighteen(text) {
        Some(id) if Some(&id[..3]) == prefix => org.get(target, &id).is_none().then(|| {
            ApiFailure::field_entry(
                "INVALID_CROSS_REFERENCE_KEY",
                format!("invalid cross reference id: {text}"),
                &[field.name],
            )
        }),
        _ => Some(ApiFailure::field_entry(
            "MALFORMED_ID",
            format!("{}: id value of incorrect type: {text}", field.label),
            &[field.name],
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::schema::Catalog;

    fn catalog() -> &'static Catalog {
        Catalog::repository().expect("the repository's project")
    }

    fn order_def() -> &'static ObjectDef {
        catalog().object("Order").expect("Order")
    }

    fn refused(body: &str) -> ApiFailure {
        validate(order_def(), body.as_bytes(), &Org::new(catalog())).expect_err(body)
    }

    #[test]
    fn each_kind_of_bad_body_gets_its_code() {
        for (body, code) in [
            (r#"{"Nope__c": 1}"#, "INVALID_FIELD"),
            (r#"[]"#, "JSON_PARSER_ERROR"),
            (
                r#"{"Activation_Error_Code__c": {"a": 1}}"#,
                "JSON_PARSER_ERROR",
            ),
            (r#"{"EffectiveDate": "2026-02-30"}"#, "JSON_PARSER_ERROR"),
            (r#"{"TotalAmount": 5}"#, "INVALID_FIELD_FOR_INSERT_UPDATE"),
            (r#"{"OrderNumber": "1"}"#, "INVALID_FIELD_FOR_INSERT_UPDATE"),
            (
                r#"{"Activation_Status__c": "Done"}"#,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            ),
            (
                r#"{"Activation_Status__c": "activated"}"#,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            ),
            (r#"{"Status": null}"#, "REQUIRED_FIELD_MISSING"),
            (r#"{"AccountId": "not-an-id"}"#, "MALFORMED_ID"),
            (
                r#"{"AccountId": "001Hp00000AbCdE"}"#,
                "INVALID_CROSS_REFERENCE_KEY",
            ),
        ] {
            assert_eq!(refused(body).code(), code, "{body}");
        }
    }

    #[test]
    fn lengths_are_counted_in_characters_and_every_failing_field_is_reported() {
        let ok = format!(r#"{{"Activation_Error_Code__c": "{}"}}"#, "é".repeat(64));
        assert!(validate(order_def(), ok.as_bytes(), &Org::new(catalog())).is_ok());

        let body = format!(
            r#"{{"Activation_Error_Code__c": "{}", "WHMCS_Order_ID__c": "{}"}}"#,
            "x".repeat(65),
            "1".repeat(33)
        );
        let failure = refused(&body);
        assert_eq!(failure.errors.len(), 2);
        assert_eq!(failure.code(), "STRING_TOO_LONG");
    }

    #[test]
    fn empty_text_and_null_clear_and_numbers_become_text() {
        let changes = validate(
            order_def(),
            br#"{"activation_error_code__c": "", "Activation_Error_Message__c": null, "WHMCS_Order_ID__c": 1042}"#,
            &Org::new(catalog()),
        )
        .expect("valid");
        let names: Vec<(&str, Value)> = changes.into_iter().map(|(f, v)| (f.name, v)).collect();
        assert!(names.contains(&("Activation_Error_Code__c", Value::Null)));
        assert!(names.contains(&("Activation_Error_Message__c", Value::Null)));
        assert!(names.contains(&("WHMCS_Order_ID__c", Value::from("1042"))));
    }

    #[test]
    fn a_product_s_billing_cycle_is_a_restricted_picklist_from_the_project() {
        let product = catalog().object("Product2").expect("Product2");
        let org = Org::new(catalog());
        let failure = validate(product, br#"{"Billing_Cycle__c": "Fortnightly"}"#, &org)
            .expect_err("restricted");
        assert_eq!(failure.code(), "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
        assert!(validate(product, br#"{"Billing_Cycle__c": "Annually"}"#, &org).is_ok());
    }

    #[test]
    fn a_field_removed_from_the_project_is_no_longer_writable() {
        let project = crate::salesforce_source::testing::copy_of_repository();
        std::fs::remove_file(
            project.path().join(
                "force-app/main/default/objects/Order/fields/WHMCS_Order_ID__c.field-meta.xml",
            ),
        )
        .expect("removed");
        let changed = Catalog::load(project.path()).expect("loads");
        let order = changed.object("Order").expect("Order");
        let body = br#"{"WHMCS_Order_ID__c": "1042"}"#;
        let failure = validate(order, body, &Org::new(changed)).expect_err("unknown");
        assert_eq!(failure.code(), "INVALID_FIELD");
        assert!(validate(order_def(), body, &Org::new(catalog())).is_ok());
    }
}
