//! Fuzzes what the product parses from Salesforce's REST side: the OAuth token endpoint's
//! answers and errors, REST error arrays, the pages of the guard's and the details queries,
//! record ids, and the `Sforce-Limit-Info` header.
//!
//! Input: one selector byte, then
//! - `0`: HTTP status (big-endian `u16`) and the token endpoint's body;
//! - `1`: HTTP status and a REST error body;
//! - `2`: the guard's query page (`Activation_Status__c` and companions);
//! - `3`: the details query page (the Order, its account and first page of items);
//! - `4`: a further page of items (`nextRecordsUrl`);
//! - `5`: a record id;
//! - `6`: a `Sforce-Limit-Info` header.
//!
//! Checked besides "no panic": a session has a token, an http(s) instance URL and 15/18
//! character org and user ids, and only a 2xx gives one; an unreadable token answer never
//! quotes the access token; an error array keeps its first code and the status; blank fields
//! read as absent; every item of a page is kept; ids come back normalised and stable.

#![no_main]

use bridge_fuzz::{is_id15_or_18, is_id18, selector, status_and_body};
use bridge_runtime::salesforce::{
    ApiUsage, AuthError, RestError, SalesforceId, parse_error_answer, parse_query_page,
    parse_token_answer,
};
use fulfillment::orchestrator::{DetailsRow, ItemRow, OrderDetails, OrderStatus, StatusRow};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((which, rest)) = selector(data) else {
        return;
    };
    match which % 7 {
        0 => {
            let (status, body) = status_and_body(rest);
            check_token_answer(status, body);
        }
        1 => {
            let (status, body) = status_and_body(rest);
            check_error_answer(status, body);
        }
        2 => check_status_page(rest),
        3 => check_details_page(rest),
        4 => check_items_page(rest),
        5 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                check_id(text);
            }
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let usage = ApiUsage::default();
                usage.record(text);
                if let Some((_, limit)) = usage.get() {
                    assert!(limit > 0);
                    assert!(text.contains("api-usage="));
                }
            }
        }
    }
});

fn check_token_answer(status: u16, body: &[u8]) {
    let success = (200..300).contains(&status);
    match parse_token_answer(status, body) {
        Ok(session) => {
            assert!(success, "a session from HTTP {status}");
            assert!(!session.access_token.expose().trim().is_empty());
            assert!(matches!(session.instance_url.scheme(), "http" | "https"));
            assert!(session.instance_url.has_host());
            assert!(
                is_id15_or_18(&session.org_id),
                "org id {:?}",
                session.org_id
            );
            assert!(
                is_id15_or_18(&session.user_id),
                "user id {:?}",
                session.user_id
            );
        }
        Err(error) => {
            let shown = error.to_string();
            match &error {
                AuthError::Rejected { status: got, .. } => {
                    assert!(!success, "an OAuth error from HTTP {status}");
                    assert_eq!(*got, status);
                }
                AuthError::UnexpectedResponse { status: got, .. } => {
                    assert_eq!(*got, status);
                    if success {
                        assert_token_not_quoted(body, &shown);
                    }
                }
                other => panic!("parsing cannot give {other:?}"),
            }
        }
    }
}

/// A 2xx body that is not a usable token answer may still hold a real token: the error must
/// not repeat it (it is logged). Other fields are not secret, so a token that also stands in
/// one of them is not judged.
fn assert_token_not_quoted(body: &[u8], shown: &str) {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let Some(Value::String(token)) = fields.get("access_token") else {
        return;
    };
    if token.trim().len() < 12 {
        return;
    }
    let elsewhere = fields
        .iter()
        .filter(|(name, _)| name.as_str() != "access_token")
        .any(|(_, value)| value.to_string().contains(token.as_str()));
    if !elsewhere {
        assert!(
            !shown.contains(token.as_str()),
            "the error quotes the access token"
        );
    }
}

fn check_error_answer(status: u16, body: &[u8]) {
    let error = parse_error_answer(status, body);
    let _ = error.to_string();
    assert_eq!(error.status(), Some(status));
    match &error {
        RestError::Refused { errors, .. } => {
            assert!(!errors.is_empty());
            assert_eq!(error.error_code(), Some(errors[0].error_code.as_str()));
        }
        RestError::UnexpectedStatus { detail, .. } => {
            assert_eq!(error.error_code(), None);
            // The description is cut to 200 characters, then escaped.
            assert!(
                detail.chars().count() <= 2 + 201 * 10,
                "{} characters",
                detail.len()
            );
        }
        other => panic!("an error answer cannot be {other:?}"),
    }
}

fn check_status_page(body: &[u8]) {
    let Ok(page) = parse_query_page::<StatusRow>(200, body) else {
        return;
    };
    let empty = page.records.is_empty();
    let status = OrderStatus::from_page(page);
    assert_eq!(status.is_none(), empty);
    if let Some(status) = status
        && let Some(id) = &status.whmcs_order_id
    {
        assert!(!id.trim().is_empty(), "a blank WHMCS_Order_ID__c is no id");
    }
}

fn check_details_page(body: &[u8]) {
    let Ok(page) = parse_query_page::<DetailsRow>(200, body) else {
        return;
    };
    let Some(row) = page.records.into_iter().next() else {
        return;
    };
    let (details, _next) = OrderDetails::from_row(row);
    check_details(&details);
}

fn check_items_page(body: &[u8]) {
    let Ok(page) = parse_query_page::<ItemRow>(200, body) else {
        return;
    };
    let rows = page.records.len();
    let more = !page.done && page.next_records_url.is_some();
    let mut details = OrderDetails {
        pricebook_id: None,
        whmcs_client_id: None,
        items: Vec::new(),
    };
    let next = details.add_items(page);
    assert_eq!(details.items.len(), rows, "every item of a page is kept");
    assert_eq!(next.is_some(), more);
    check_details(&details);
}

fn check_details(details: &OrderDetails) {
    let blank = |value: &Option<String>| value.as_ref().is_some_and(|text| text.trim().is_empty());
    assert!(!blank(&details.whmcs_client_id));
    for item in &details.items {
        assert!(!blank(&item.whmcs_product_id));
        assert!(!blank(&item.billing_cycle));
    }
}

fn check_id(text: &str) {
    let Ok(id) = SalesforceId::parse(text) else {
        return;
    };
    let normal = id.as_str();
    assert!(is_id18(normal), "{normal:?}");
    assert_eq!(id.key_prefix(), &normal[..3]);
    // Stable: the normal form, and any change of its case, parse to the same id.
    for variant in [
        normal.to_owned(),
        normal.to_ascii_lowercase(),
        normal.to_ascii_uppercase(),
    ] {
        assert_eq!(
            SalesforceId::parse(&variant).as_ref(),
            Ok(&id),
            "{variant:?}"
        );
    }
    if text.len() == 15 {
        assert!(
            normal.starts_with(text),
            "a 15-character id keeps its characters"
        );
        assert_eq!(SalesforceId::parse(&normal[..15]).as_ref(), Ok(&id));
    } else {
        assert!(normal.eq_ignore_ascii_case(text));
    }
    assert_eq!(
        SalesforceId::parse_with_prefix(text, "801").is_ok(),
        normal.starts_with("801")
    );
}
