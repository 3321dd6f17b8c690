//! Finding an order this Salesforce Order already created in WHMCS, and accepting one.
//!
//! WHMCS has no idempotency key, so every order carries a marker in its admin notes,
//! `Salesforce Order <18-character id>`, and before any AddOrder the client's orders are searched
//! for it (newest first, page by page). An order found there is adopted instead of creating a
//! second one.

use crate::whmcs::{Deadlines, ExistingOrder, OrdersFilter, WhmcsClient, WhmcsError};

/// How many orders one GetOrders page asks for.
const PAGE_SIZE: u64 = 100;

/// The text AcceptOrder answers for an order that is no longer Pending (or does not exist).
const NOT_PENDING: &str = "Status not Pending";

/// The marker written into an order's notes.
pub fn notes_marker(order_id: &str) -> String {
    format!("Salesforce Order {order_id}")
}

/// Whether `notes` carries `marker` as a whole token.
fn carries_marker(notes: &str, marker: &str) -> bool {
    notes.match_indices(marker).any(|(at, _)| {
        let after = notes[at + marker.len()..].chars().next();
        !after.is_some_and(char::is_alphanumeric)
    })
}

/// The client's live (Pending or Active) order whose notes carry `marker`, if any. Cancelled
/// and fraud orders are passed over: an operator who cancelled one wants a new order.
pub(super) async fn find_existing(
    whmcs: &WhmcsClient,
    client_id: u64,
    marker: &str,
    deadlines: Deadlines,
) -> Result<Option<ExistingOrder>, WhmcsError> {
    let mut start = 0;
    loop {
        let page = whmcs
            .orders(OrdersFilter::Client(client_id), start, PAGE_SIZE, deadlines)
            .await?;
        let seen = page.orders.len() as u64;
        if let Some(found) = page.orders.into_iter().find(|order| {
            carries_marker(&order.notes, marker)
                && matches!(order.status.as_str(), "Pending" | "Active")
        }) {
            return Ok(Some(found));
        }
        start += seen;
        if seen == 0 || start >= page.total {
            return Ok(None);
        }
    }
}

/// Accepts `order_id`. An answer that the order is not Pending is checked with GetOrders: an
/// order already Active counts as accepted (a previous attempt got that far).
pub(super) async fn accept(
    whmcs: &WhmcsClient,
    order_id: &str,
    autosetup: bool,
    send_email: bool,
    deadlines: Deadlines,
) -> Result<(), WhmcsError> {
    match whmcs
        .accept_order(order_id, autosetup, send_email, deadlines)
        .await
    {
        Ok(()) => Ok(()),
        Err(refusal @ WhmcsError::Refused { status: 200, .. })
            if refusal
                .whmcs_message()
                .is_some_and(|message| message.contains(NOT_PENDING)) =>
        {
            let page = whmcs
                .orders(OrdersFilter::Order(order_id), 0, 1, deadlines)
                .await?;
            let active = page
                .orders
                .iter()
                .any(|order| order.order_id == order_id && order.status == "Active");
            if active {
                tracing::info!(
                    whmcs_order_id = order_id,
                    "The WHMCS order was already accepted"
                );
                Ok(())
            } else {
                Err(refusal)
            }
        }
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_must_stand_alone() {
        let marker = notes_marker("801000000000001AAA");
        assert!(carries_marker(
            "Salesforce Order 801000000000001AAA",
            &marker
        ));
        assert!(carries_marker(
            "x Salesforce Order 801000000000001AAA; y",
            &marker
        ));
        assert!(!carries_marker(
            "Salesforce Order 801000000000001AAAB",
            &marker
        ));
        assert!(!carries_marker(
            "Salesforce Order 801000000000002AAA",
            &marker
        ));
    }
}
