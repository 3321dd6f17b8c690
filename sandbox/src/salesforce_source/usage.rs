//! Holding a service's declared use of a field ([`FieldUse`]) against the project: the field
//! must exist, and its type must allow what the service reads or writes. The workspace's
//! contract tests call [`SalesforceSource::check_use`] for every declared field, so a field
//! renamed, retyped, shortened or removed in `salesforce/` fails a test that names it.

use bridge_runtime::salesforce::fields::{Expected, FieldUse};

use super::SalesforceSource;

/// Why a field does not serve a declared use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UseMismatch {
    /// The project does not define the field (or its object).
    #[error("{path}: not defined in the Salesforce DX project")]
    Missing {
        /// `Object.Field`.
        path: String,
    },
    /// The field is not free text.
    #[error("{path}: a {found} field, not text")]
    NotText {
        /// `Object.Field`.
        path: String,
        /// Its metadata type.
        found: &'static str,
    },
    /// The field is text, but shorter than the service needs.
    #[error("{path}: holds {length} characters, the service needs {needed}")]
    TooShort {
        /// `Object.Field`.
        path: String,
        /// Its length.
        length: usize,
        /// The length the service needs.
        needed: usize,
    },
    /// The field is not a picklist.
    #[error("{path}: a {found} field, not a picklist")]
    NotPicklist {
        /// `Object.Field`.
        path: String,
        /// Its metadata type.
        found: &'static str,
    },
    /// The picklist lacks a value the service writes or compares against.
    #[error("{path}: the picklist does not offer {value:?}")]
    MissingValue {
        /// `Object.Field`.
        path: String,
        /// The value.
        value: String,
    },
    /// The picklist offers a value the service does not understand.
    #[error("{path}: the picklist offers {value:?}, which the service does not understand")]
    UnknownValue {
        /// `Object.Field`.
        path: String,
        /// The value.
        value: String,
    },
}

impl SalesforceSource {
    /// Whether the project's field serves `used`: it exists, and its type allows what the
    /// service reads or writes (text long enough; a picklist offering every value the service
    /// uses and, when the service names them all, nothing else).
    pub fn check_use(&self, used: &FieldUse) -> Result<(), UseMismatch> {
        let path = used.path();
        let field = self
            .field(used.object, used.field)
            .ok_or_else(|| UseMismatch::Missing { path: path.clone() })?;
        let found = field.field_type.metadata_name();
        match used.expected {
            Expected::Text { min_length } => {
                let length =
                    field
                        .field_type
                        .text_length()
                        .ok_or_else(|| UseMismatch::NotText {
                            path: path.clone(),
                            found,
                        })?;
                if length < min_length {
                    return Err(UseMismatch::TooShort {
                        path,
                        length,
                        needed: min_length,
                    });
                }
            }
            Expected::Picklist { offers, within } => {
                let values =
                    field
                        .field_type
                        .picklist_values()
                        .ok_or_else(|| UseMismatch::NotPicklist {
                            path: path.clone(),
                            found,
                        })?;
                if let Some(value) = offers
                    .iter()
                    .find(|wanted| !values.iter().any(|value| value == *wanted))
                {
                    return Err(UseMismatch::MissingValue {
                        path,
                        value: (*value).to_owned(),
                    });
                }
                if let Some(value) = within
                    .and_then(|known| values.iter().find(|value| !known.contains(&value.as_str())))
                {
                    return Err(UseMismatch::UnknownValue {
                        path,
                        value: value.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use bridge_runtime::salesforce::fields::Access;

    use super::*;

    fn repository() -> SalesforceSource {
        SalesforceSource::from_repository().expect("the repository's project")
    }

    fn text(object: &'static str, field: &'static str, min_length: usize) -> FieldUse {
        FieldUse {
            object,
            field,
            access: Access::Write,
            expected: Expected::Text { min_length },
        }
    }

    fn picklist(
        field: &'static str,
        offers: &'static [&'static str],
        within: Option<&'static [&'static str]>,
    ) -> FieldUse {
        FieldUse {
            object: "Order",
            field,
            access: Access::Write,
            expected: Expected::Picklist { offers, within },
        }
    }

    #[test]
    fn uses_the_project_serves_pass_and_each_mismatch_is_named() {
        let source = repository();
        assert_eq!(
            source.check_use(&text("Order", "WHMCS_Order_ID__c", 20)),
            Ok(())
        );
        assert_eq!(
            source.check_use(&text("order", "whmcs_order_id__c", 33)),
            Err(UseMismatch::TooShort {
                path: "order.whmcs_order_id__c".into(),
                length: 32,
                needed: 33
            })
        );
        assert!(matches!(
            source.check_use(&text("Order", "Gone__c", 1)),
            Err(UseMismatch::Missing { .. })
        ));
        assert!(matches!(
            source.check_use(&text("Order", "Activation_Status__c", 1)),
            Err(UseMismatch::NotText {
                found: "Picklist",
                ..
            })
        ));

        let statuses = &["Not Started", "Activating", "Activated", "Failed"];
        assert_eq!(
            source.check_use(&picklist(
                "Activation_Status__c",
                &["Failed"],
                Some(statuses)
            )),
            Ok(())
        );
        assert_eq!(
            source.check_use(&picklist("Activation_Status__c", &["Done"], None)),
            Err(UseMismatch::MissingValue {
                path: "Order.Activation_Status__c".into(),
                value: "Done".into()
            })
        );
        let error = source
            .check_use(&picklist("Activation_Status__c", &[], Some(&["Activated"])))
            .expect_err("offers more");
        assert!(matches!(error, UseMismatch::UnknownValue { .. }));
        assert!(error.to_string().contains("\"Not Started\""));
        assert!(matches!(
            source.check_use(&picklist("WHMCS_Order_ID__c", &[], None)),
            Err(UseMismatch::NotPicklist { found: "Text", .. })
        ));
    }
}
