//! Fuzzes the WHMCS client's response parsing: the envelope (`parse_answer`, whatever the HTTP
//! status, with PHP warnings or HTML before the JSON) and the decoders of each action's answer.
//!
//! Input: one selector byte (the action: AddOrder, AcceptOrder, GetOrders, GetPayMethods,
//! GetClientsDetails, GetProducts), the HTTP status as a big-endian `u16`, then the body.
//!
//! Checked besides "no panic": the error kind agrees with the status (no envelope on 2xx is a
//! protocol error, otherwise a status error; an envelope without success is a refusal carrying
//! the status); a success envelope says so; ids the journal stores are decimal and exactly the
//! number WHMCS sent; service ids survive the journal's comma-joined field; currency codes are
//! never blank; products' pay types are lower case.

#![no_main]

use bridge_fuzz::{is_decimal_u64, selector, status_and_body, survives_comma_join};
use fulfillment::whmcs::{
    ClientDetails, CreatedOrder, OrdersPage, PayMethod, Product, WhmcsError, parse_answer,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const ACTIONS: [&str; 6] = [
    "AddOrder",
    "AcceptOrder",
    "GetOrders",
    "GetPayMethods",
    "GetClientsDetails",
    "GetProducts",
];

fuzz_target!(|data: &[u8]| {
    let Some((which, rest)) = selector(data) else {
        return;
    };
    let action = ACTIONS[usize::from(which) % ACTIONS.len()];
    let (status, body) = status_and_body(rest);
    match parse_answer(action, status, body) {
        Ok(envelope) => {
            assert_eq!(
                envelope.get("result").and_then(Value::as_str),
                Some("success")
            );
            assert_ne!(
                envelope.get("status").and_then(Value::as_str),
                Some("error")
            );
            check_decoders(action, &envelope);
        }
        Err(error) => check_error(action, status, &error),
    }
});

fn check_error(action: &str, status: u16, error: &WhmcsError) {
    assert_eq!(error.action(), action);
    let _ = error.to_string();
    let success = (200..300).contains(&status);
    match error {
        WhmcsError::Refused { status: got, .. } => assert_eq!(*got, status),
        WhmcsError::Status {
            status: got,
            detail,
            ..
        } => {
            assert!(!success, "a 2xx without an envelope is a protocol error");
            assert_eq!(*got, status);
            assert_short(detail);
        }
        WhmcsError::Protocol {
            status: got,
            detail,
            ..
        } => {
            assert!(success, "a non-2xx without an envelope is a status error");
            assert_eq!(*got, status);
            assert_short(detail);
        }
        WhmcsError::Transport { .. } => panic!("parsing cannot be a transport failure"),
    }
}

/// A description of a body is cut short (120 characters, then escaped).
fn assert_short(detail: &str) {
    assert!(
        detail.chars().count() <= 2 + 120 * 10,
        "{} characters",
        detail.len()
    );
}

fn check_decoders(action: &str, envelope: &Value) {
    match action {
        "AddOrder" => match CreatedOrder::from_answer(envelope) {
            Ok(created) => {
                let sent = exact_whole_number(envelope.get("orderid"));
                assert_eq!(
                    Some(created.order_id.as_str()),
                    sent.map(|id| id.to_string()).as_deref(),
                    "the order id is not the number WHMCS sent"
                );
                check_ids(&created.service_ids);
                check_invoice(created.invoice_id.as_deref());
            }
            Err(error) => {
                assert!(matches!(error, WhmcsError::Protocol { .. }));
                // Refused only when there is no order id: none, or 0, which no order has.
                assert!(matches!(
                    exact_whole_number(envelope.get("orderid")),
                    None | Some(0)
                ));
            }
        },
        "GetOrders" => {
            let page = OrdersPage::from_answer(envelope);
            for order in &page.orders {
                assert!(
                    is_decimal_u64(&order.order_id),
                    "order id {:?}",
                    order.order_id
                );
                check_ids(&order.service_ids);
                check_invoice(order.invoice_id.as_deref());
            }
        }
        "GetPayMethods" => {
            let _ = PayMethod::list_from_answer(envelope);
        }
        "GetClientsDetails" => {
            let details = ClientDetails::from_answer(envelope);
            for text in [&details.currency_code, &details.default_gateway]
                .into_iter()
                .flatten()
            {
                assert!(!text.trim().is_empty(), "a blank value is no value");
            }
        }
        "GetProducts" => {
            for product in Product::list_from_answer(envelope) {
                assert_eq!(product.paytype, product.paytype.to_ascii_lowercase());
                for (cycle, currency) in [("monthly", Some("USD")), ("annually", None)] {
                    let offered = product.offers_cycle(cycle, currency);
                    if currency.is_none() {
                        let anywhere = product
                            .pricing
                            .keys()
                            .any(|code| product.offers_cycle(cycle, Some(code.as_str())));
                        assert_eq!(offered, anywhere);
                    }
                }
            }
        }
        // AcceptOrder's answer carries nothing but success.
        _ => {}
    }
}

/// The WHMCS id a JSON value stands for, exactly: a whole number or a numeric string that fits
/// a `u64`. Floats are whole only when exactly representable and below 2^64.
fn exact_whole_number(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(number) => number.as_u64().or_else(|| {
            let float = number.as_f64()?;
            (float.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&float))
                .then_some(float as u64)
        }),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn check_ids(ids: &[String]) {
    for id in ids {
        assert!(
            survives_comma_join(id),
            "service id {id:?} does not survive the journal"
        );
    }
}

fn check_invoice(invoice: Option<&str>) {
    if let Some(id) = invoice {
        assert!(is_decimal_u64(id) && id != "0", "invoice id {id:?}");
    }
}
