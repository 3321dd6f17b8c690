//! GetOrders (filtered, newest first, paged, with no `orders` key on an empty page) and
//! GetOrderStatuses.

use super::{
    action::{Call, php_int},
    catalog::gateway_display_name,
    cycle::{currency_affixes, format_display_amount, format_price},
    json::{Json, map},
    state::{Order, World},
};

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
