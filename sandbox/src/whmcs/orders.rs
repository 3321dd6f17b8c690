//! The order writes: AddOrder with its checks and silent fallbacks, and the status machine of
//! AcceptOrder, CancelOrder, PendingOrder, FraudOrder and DeleteOrder.

use super::{
    action::{Call, error, php_int, success},
    clock::now,
    cycle::Cycle,
    form::FormValue,
    json::{Json, map},
    options::ClientStatus,
    state::{Invoice, Order, Service, World, random_order_number},
};

/// Parameters that must be arrays once `domaintype` is one (8.6+).
const DOMAIN_ARRAYS: [&str; 10] = [
    "domain",
    "regperiod",
    "domainfields",
    "idnlanguage",
    "dnsmanagement",
    "emailforwarding",
    "idprotection",
    "eppcode",
    "domainpriceoverride",
    "domainrenewoverride",
];

/// One product that made it into the cart.
struct CartLine {
    pid: u64,
    cycle: Cycle,
    price: u64,
    name: String,
}

/// `AddOrder`: checks in WHMCS's order, then an order, its services and an invoice.
pub(crate) fn add_order(world: &mut World, call: &Call<'_>) -> Json {
    let params = call.params;
    let client_id = php_int(params.text("clientid"));
    let Some(status) = world.client_status(client_id) else {
        return error("Client ID Not Found");
    };
    if status == ClientStatus::Closed {
        return error("Unable to add order when client status is Closed");
    }

    let gateway = params.text_or_empty("paymentmethod");
    if !world.gateways.iter().any(|active| active == gateway) {
        let mut valid = world.gateways.clone();
        valid.sort();
        return error(format!(
            "Invalid Payment Method. Valid options include {}",
            valid.join(",")
        ));
    }

    if let Some(ip) = params.text("clientip")
        && !ip.is_empty()
        && ip.parse::<std::net::IpAddr>().is_err()
    {
        return error("Invalid IP address provided for 'clientip'");
    }
    if matches!(params.get("domaintype"), Some(FormValue::Array(_))) {
        for name in DOMAIN_ARRAYS {
            if matches!(params.get(name), Some(FormValue::Scalar(_))) {
                return error(format!("Expecting parameter '{name}' to be an array"));
            }
        }
    }

    let (added, cart) = fill_cart(world, call);
    if added == 0 {
        return error("No items added to cart so order cannot proceed");
    }
    if cart.is_empty() {
        return error("No items remain in the cart. Order cannot proceed.");
    }

    let order = create_order(world, call, client_id, gateway, cart);
    let service_ids = order
        .service_ids
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut answer = map([
        ("result", Json::str("success")),
        ("orderid", Json::id(call.numbers, order.id)),
        ("productids", Json::str(service_ids.clone())),
        ("serviceids", Json::str(service_ids)),
        ("addonids", Json::str("")),
        ("domainids", Json::str("")),
    ]);
    if let Some(invoice_id) = order.invoice_id {
        answer.set("invoiceid", Json::id(call.numbers, invoice_id));
    }
    answer
}

/// Reads `pid` with its parallel `billingcycle`, index by index. Returns how many products
/// were added (unknown pids never are) and what remains once products without an orderable
/// cycle are dropped.
fn fill_cart(world: &World, call: &Call<'_>) -> (usize, Vec<CartLine>) {
    let params = call.params;
    let (pids, pid_is_scalar) = match params.get("pid") {
        None => (Vec::new(), false),
        Some(FormValue::Scalar(pid)) => (vec![("0".to_owned(), pid.clone())], true),
        Some(FormValue::Array(entries)) => (entries.clone(), false),
    };
    let cycle_at = |key: &str| match params.get("billingcycle") {
        None => String::new(),
        Some(FormValue::Scalar(cycle)) if pid_is_scalar => cycle.clone(),
        // An array pid with a scalar cycle: PHP's `$cycle[$i]` is one character of it.
        Some(value) => value.at(key).unwrap_or_default(),
    };

    let mut added = 0;
    let mut cart = Vec::new();
    for (key, pid) in pids {
        let Some(product) = world.products.get(&php_int(Some(&pid))) else {
            continue;
        };
        added += 1;
        if let Some(cycle) = product.resolve_cycle(&cycle_at(&key)) {
            cart.push(CartLine {
                pid: product.pid,
                cycle,
                price: product.price(cycle),
                name: product.name.clone(),
            });
        }
    }
    (added, cart)
}

fn create_order(
    world: &mut World,
    call: &Call<'_>,
    client_id: u64,
    gateway: &str,
    cart: Vec<CartLine>,
) -> Order {
    let params = call.params;
    let (stamp, today, _) = now();
    let order_id = world.next_order_id();
    let total: u64 = cart.iter().map(|line| line.price).sum();

    let mut service_ids = Vec::with_capacity(cart.len());
    let mut items = Vec::with_capacity(cart.len());
    for line in cart {
        let id = world.next_service_id();
        service_ids.push(id);
        items.push((id, line.name, line.price));
        world.services.insert(
            id,
            Service {
                id,
                order_id,
                client_id,
                pid: line.pid,
                cycle: line.cycle,
                amount: line.price,
                status: "Pending".into(),
                reg_date: today.clone(),
                payment_method: gateway.to_owned(),
            },
        );
    }

    let invoice_id = (!params.truthy("noinvoice")).then(|| {
        let id = world.next_invoice_id();
        world.invoices.insert(
            id,
            Invoice {
                id,
                client_id,
                date: today.clone(),
                // Nothing to pay: WHMCS marks a zero invoice paid at once.
                status: if total == 0 { "Paid" } else { "Unpaid" }.into(),
                total,
                payment_method: gateway.to_owned(),
                items,
            },
        );
        id
    });

    let order = Order {
        id: order_id,
        order_num: random_order_number(),
        client_id,
        date: stamp,
        status: "Pending".into(),
        notes: encode_entities(params.text_or_empty("notes")),
        payment_method: gateway.to_owned(),
        service_ids,
        invoice_id,
        amount: total,
        ip_address: call.caller.to_string(),
    };
    world.orders.insert(order_id, order.clone());
    order
}

/// WHMCS's input sanitiser: `htmlspecialchars` with quotes.
fn encode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#039;"),
            _ => out.push(c),
        }
    }
    out
}

const NOT_PENDING: &str = "Order ID not found or Status not Pending";

/// `AcceptOrder`: Pending services become Active; the order only if none failed.
pub(crate) fn accept_order(world: &mut World, call: &Call<'_>) -> Json {
    let order_id = php_int(call.params.text("orderid"));
    let Some(order) = world
        .orders
        .get(&order_id)
        .filter(|order| order.status == "Pending")
    else {
        return error(NOT_PENDING);
    };
    let service_ids = order.service_ids.clone();
    // A given `autosetup` overrides the product; `0` means no module runs, so nothing fails.
    let modules_run = !call.params.has("autosetup") || call.params.truthy("autosetup");

    let mut failures = Vec::new();
    for id in service_ids {
        let Some(service) = world.services.get_mut(&id) else {
            continue;
        };
        if service.status != "Pending" {
            continue;
        }
        let failure = world
            .products
            .get(&service.pid)
            .and_then(|product| product.provisioning_failure.clone())
            .filter(|_| modules_run);
        match failure {
            Some(message) => failures.push(message),
            None => service.status = "Active".into(),
        }
    }
    if !failures.is_empty() {
        return error(failures.join(", "));
    }
    if let Some(order) = world.orders.get_mut(&order_id) {
        order.status = "Active".into();
    }
    success()
}

/// `CancelOrder`: only from Pending; services and an unpaid invoice are cancelled too.
pub(crate) fn cancel_order(world: &mut World, call: &Call<'_>) -> Json {
    let order_id = php_int(call.params.text("orderid"));
    if world
        .orders
        .get(&order_id)
        .is_none_or(|order| order.status != "Pending")
    {
        return error(NOT_PENDING);
    }
    set_order_status(world, order_id, "Cancelled");
    success()
}

/// `PendingOrder`: any existing order back to Pending; a cancelled invoice becomes Unpaid.
pub(crate) fn pending_order(world: &mut World, call: &Call<'_>) -> Json {
    let order_id = php_int(call.params.text("orderid"));
    if !world.orders.contains_key(&order_id) {
        return error("Order ID Not Found");
    }
    set_order_status(world, order_id, "Pending");
    success()
}

/// `FraudOrder`: any existing order to Fraud, like a cancel otherwise.
pub(crate) fn fraud_order(world: &mut World, call: &Call<'_>) -> Json {
    let order_id = php_int(call.params.text("orderid"));
    if !world.orders.contains_key(&order_id) {
        return error("Order ID Not Found");
    }
    set_order_status(world, order_id, "Fraud");
    success()
}

/// `DeleteOrder`: only a Cancelled or Fraud order, with its services and invoice.
pub(crate) fn delete_order(world: &mut World, call: &Call<'_>) -> Json {
    let order_id = php_int(call.params.text("orderid"));
    let Some(order) = world.orders.get(&order_id) else {
        return error("Order ID not found");
    };
    if order.status != "Cancelled" && order.status != "Fraud" {
        return error("The order status must be in Cancelled or Fraud to be deleted");
    }
    if let Some(order) = world.orders.remove(&order_id) {
        for id in order.service_ids {
            world.services.remove(&id);
        }
        if let Some(invoice_id) = order.invoice_id {
            world.invoices.remove(&invoice_id);
        }
    }
    success()
}

fn set_order_status(world: &mut World, order_id: u64, status: &str) {
    let Some(order) = world.orders.get_mut(&order_id) else {
        return;
    };
    order.status = status.to_owned();
    for id in &order.service_ids {
        if let Some(service) = world.services.get_mut(id) {
            service.status = status.to_owned();
        }
    }
    let Some(invoice) = order.invoice_id.and_then(|id| world.invoices.get_mut(&id)) else {
        return;
    };
    match (status, invoice.status.as_str()) {
        ("Cancelled" | "Fraud", "Unpaid") => invoice.status = "Cancelled".into(),
        ("Pending", "Cancelled") => invoice.status = "Unpaid".into(),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_stored_entity_encoded() {
        assert_eq!(
            encode_entities(r#"a & <b> "c" 'd'"#),
            "a &amp; &lt;b&gt; &quot;c&quot; &#039;d&#039;"
        );
    }
}
