//! The custom fields the orchestrator reads and writes in Salesforce, and what their types
//! must allow: the half of the org contract that lives in this service (ingest declares the
//! event's field). A test in this module holds the list against the Salesforce code next to
//! it, so a field used there and not declared here fails at once.

use bridge_runtime::salesforce::fields::{Access, Expected, FieldUse};

use super::{
    failure::{CODE_LIMIT, MESSAGE_LIMIT},
    mapping::BILLING_CYCLES,
};

/// The `Activation_Status__c` values the orchestrator writes or acts on.
const STATUSES_USED: &[&str] = &["Activating", "Activated", "Failed"];

/// The most digits a WHMCS order id (an unsigned 64-bit number) has.
const WHMCS_ID_DIGITS: usize = 20;

/// Every custom field the orchestrator queries or updates.
pub const FIELDS_USED: &[FieldUse] = &[
    FieldUse {
        object: "Order",
        field: "Activation_Status__c",
        access: Access::Write,
        expected: Expected::Picklist {
            offers: STATUSES_USED,
            within: None,
        },
    },
    FieldUse {
        object: "Order",
        field: "Activation_Error_Code__c",
        access: Access::Write,
        expected: Expected::Text {
            min_length: CODE_LIMIT,
        },
    },
    FieldUse {
        object: "Order",
        field: "Activation_Error_Message__c",
        access: Access::Write,
        expected: Expected::Text {
            min_length: MESSAGE_LIMIT,
        },
    },
    FieldUse {
        object: "Order",
        field: "WHMCS_Order_ID__c",
        access: Access::Write,
        expected: Expected::Text {
            min_length: WHMCS_ID_DIGITS,
        },
    },
    FieldUse {
        object: "Account",
        field: "WH_Client_ID__c",
        access: Access::Read,
        expected: Expected::Text { min_length: 1 },
    },
    FieldUse {
        object: "Product2",
        field: "WH_Product_ID__c",
        access: Access::Read,
        expected: Expected::Text { min_length: 1 },
    },
    FieldUse {
        object: "Product2",
        field: "Billing_Cycle__c",
        access: Access::Read,
        expected: Expected::Picklist {
            offers: &[],
            within: Some(BILLING_CYCLES),
        },
    },
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The custom field names (`Name__c`) in `text`.
    fn custom_fields_in(text: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.ends_with("__c") && word.len() > 3 {
                found.insert(word.to_owned());
            }
        }
        found
    }

    #[test]
    fn every_field_the_salesforce_code_names_is_declared_and_nothing_else() {
        let code = include_str!("salesforce.rs");
        let used = custom_fields_in(code);
        let declared: BTreeSet<String> = FIELDS_USED.iter().map(|f| f.field.to_owned()).collect();
        assert_eq!(
            used, declared,
            "orchestrator/salesforce.rs and FIELDS_USED must name the same custom fields"
        );
    }

    #[test]
    fn the_written_statuses_are_the_ones_the_code_writes() {
        let code = include_str!("salesforce.rs");
        for status in STATUSES_USED {
            assert!(
                code.contains(&format!("\"Activation_Status__c\": \"{status}\"")),
                "{status}"
            );
        }
    }

    #[test]
    fn the_scan_finds_custom_fields_in_queries_and_bodies() {
        let found = custom_fields_in("SELECT Id, Account.WH_Client_ID__c FROM Order {\"A__c\": 1}");
        assert_eq!(
            found.into_iter().collect::<Vec<_>>(),
            ["A__c", "WH_Client_ID__c"]
        );
    }
}
