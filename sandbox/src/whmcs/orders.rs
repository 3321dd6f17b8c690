//! The order actions: AddOrder with its checks and silent fallbacks, the status machine of
//! AcceptOrder, CancelOrder, PendingOrder, FraudOrder and DeleteOrder, and GetOrders.

use super::{
    action::{Call, error, php_int, success},
    catalog::gateway_display_name,
    cycle::{Cycle, currency_affixes, format_display_amount, format_price},
    form::FormValue,
    json::{Json, map},
    options::ClientStatus,
    state::{Invoice, Order, Service, World, now, random_order_number},
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

/// `GetOrders`: filtered, newest first, paged; no `orders` key at all on an empty page.
pub(crate) fn get_orders(world: &World, call: &Call<'_>) -> Json {
    let params = call.params;
    let by_id = params
        .text("id")
        .filter(|id| !id.is_empty())
        .map(|id| php_int(Some(id)));
    let by_client = params
        .text("userid")
        .filter(|id| !id.is_empty())
        .map(|id| php_int(Some(id)));
    let by_status = params.text("status").filter(|status| !status.is_empty());
    let start = php_int(params.text("limitstart"));
    let page_size = match php_int(params.text("limitnum")) {
        0 => 25,
        size => size,
    };

    let matching: Vec<&Order> = world
        .orders
        .values()
        .rev()
        .filter(|order| by_id.is_none_or(|id| order.id == id))
        .filter(|order| by_client.is_none_or(|id| order.client_id == id))
        .filter(|order| by_status.is_none_or(|status| order.status == status))
        .collect();
    let page: Vec<Json> = matching
        .iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(page_size).unwrap_or(usize::MAX))
        .map(|order| order_json(world, call, order))
        .collect();

    // `startnumber` echoes the request's text when one was sent.
    let start_number = match params.text("limitstart") {
        Some(sent) => Json::str(sent),
        None => Json::int(0),
    };
    let mut answer = map([
        ("result", Json::str("success")),
        (
            "totalresults",
            Json::id(call.numbers, matching.len() as u64),
        ),
        ("startnumber", start_number),
        ("numreturned", Json::id(call.numbers, page.len() as u64)),
    ]);
    if !page.is_empty() {
        answer.set("orders", map([("order", Json::List(page))]));
    }
    answer
}

fn order_json(world: &World, call: &Call<'_>, order: &Order) -> Json {
    let id = |value: u64| Json::id(call.numbers, value);
    let client = world.clients.get(&order.client_id);
    let currency = client.map_or("USD", |client| client.seed.currency_code.as_str());
    let (prefix, suffix) = currency_affixes(currency);
    let name = client.map_or_else(String::new, |client| {
        format!("{} {}", client.seed.first_name, client.seed.last_name)
    });
    let invoice = order.invoice_id.and_then(|id| world.invoices.get(&id));
    let lines: Vec<Json> = order
        .service_ids
        .iter()
        .filter_map(|service_id| world.services.get(service_id))
        .map(|service| {
            let product = world
                .products
                .get(&service.pid)
                .map_or_else(String::new, |product| product.name.clone());
            map([
                ("type", Json::str("product")),
                ("relid", id(service.id)),
                ("producttype", Json::str("Other Product/Service")),
                ("product", Json::Str(product)),
                ("domain", Json::str("")),
                ("billingcycle", Json::str(service.cycle.display())),
                (
                    "amount",
                    Json::Str(format_display_amount(service.amount, currency)),
                ),
                ("status", Json::Str(service.status.clone())),
            ])
        })
        .collect();
    let line_items = if lines.is_empty() {
        Json::List(Vec::new())
    } else {
        map([("lineitem", Json::List(lines))])
    };
    let gateway_name = if world.gateways.contains(&order.payment_method) {
        Json::str(gateway_display_name(&order.payment_method))
    } else {
        Json::Null
    };

    map([
        ("id", id(order.id)),
        ("ordernum", id(order.order_num)),
        ("userid", id(order.client_id)),
        ("contactid", id(0)),
        ("requestor_id", id(0)),
        ("admin_requestor_id", id(1)),
        ("date", Json::Str(order.date.clone())),
        ("nameservers", Json::str("")),
        ("transfersecret", Json::str("")),
        ("renewals", Json::str("")),
        ("promocode", Json::str("")),
        ("promotype", Json::str("")),
        ("promovalue", Json::str("")),
        ("orderdata", Json::str("[]")),
        ("amount", Json::Str(format_price(order.amount))),
        ("paymentmethod", Json::Str(order.payment_method.clone())),
        ("invoiceid", id(order.invoice_id.unwrap_or(0))),
        ("status", Json::Str(order.status.clone())),
        ("ipaddress", Json::Str(order.ip_address.clone())),
        ("fraudmodule", Json::str("")),
        ("fraudoutput", Json::str("")),
        ("notes", Json::Str(order.notes.clone())),
        ("paymentmethodname", gateway_name),
        (
            "paymentstatus",
            invoice.map_or(Json::Null, |invoice| Json::Str(invoice.status.clone())),
        ),
        ("name", Json::Str(name)),
        ("currencyprefix", Json::Str(prefix)),
        ("currencysuffix", Json::Str(suffix)),
        ("frauddata", Json::str("")),
        ("validationdata", Json::str("")),
        ("lineitems", line_items),
    ])
}

/// `GetOrderStatuses`: the four default statuses with their counts.
pub(crate) fn get_order_statuses(world: &World, call: &Call<'_>) -> Json {
    let statuses: Vec<Json> = ["Pending", "Active", "Fraud", "Cancelled"]
        .into_iter()
        .map(|title| {
            let count = world
                .orders
                .values()
                .filter(|order| order.status == title)
                .count();
            map([
                ("title", Json::str(title)),
                ("count", Json::id(call.numbers, count as u64)),
            ])
        })
        .collect();
    map([
        ("result", Json::str("success")),
        (
            "totalresults",
            Json::id(call.numbers, statuses.len() as u64),
        ),
        ("statuses", map([("status", Json::List(statuses))])),
    ])
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
