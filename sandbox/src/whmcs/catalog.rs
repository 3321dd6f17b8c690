//! System-wide reads: GetProducts (pricing with `-1.00` for disabled cycles), the active
//! gateways of GetPaymentMethods, GetInvoice (whose errors use `status`, not `result`), and
//! the WhmcsDetails version probe.

use super::{
    action::{Call, php_int},
    cycle::{Cycle, DISABLED_PRICE, currency_affixes, format_price},
    json::{Json, map},
    options::PayType,
    reply::WHMCS_VERSION,
    state::{Product, World},
};

/// The display name WHMCS shows for a gateway module.
pub(crate) fn gateway_display_name(module: &str) -> String {
    match module {
        "banktransfer" => "Bank Transfer".into(),
        "paypal" => "PayPal".into(),
        "paypalcheckout" => "PayPal Checkout".into(),
        "stripe" => "Credit Card".into(),
        "mailin" => "Mail In Payment".into(),
        "gocardless" => "GoCardless".into(),
        other => {
            let mut chars = other.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        }
    }
}

/// `GetProducts` by `pid` (one id or `"1,2,3"`); no `products` key when none match.
pub(crate) fn get_products(world: &World, call: &Call<'_>) -> Json {
    let params = call.params;
    let wanted: Option<Vec<u64>> = params
        .text("pid")
        .filter(|pids| !pids.trim().is_empty())
        .map(|pids| pids.split(',').map(|pid| php_int(Some(pid))).collect());
    let by_group = params.text("gid").filter(|gid| !gid.is_empty());
    let by_module = params.text("module").filter(|module| !module.is_empty());

    let products: Vec<Json> = world
        .products
        .values()
        .filter(|product| {
            wanted
                .as_ref()
                .is_none_or(|pids| pids.contains(&product.pid))
        })
        // Every seeded product sits in group 1 and has no server module.
        .filter(|_| by_group.is_none_or(|gid| php_int(Some(gid)) == 1))
        .filter(|_| by_module.is_none())
        .map(|product| product_json(product, call))
        .collect();

    let mut answer = map([
        ("result", Json::str("success")),
        (
            "totalresults",
            Json::id(call.numbers, products.len() as u64),
        ),
    ]);
    if !products.is_empty() {
        answer.set("products", map([("product", Json::List(products))]));
    }
    answer
}

fn product_json(product: &Product, call: &Call<'_>) -> Json {
    let slug: String = product
        .name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    map([
        ("pid", Json::id(call.numbers, product.pid)),
        ("gid", Json::id(call.numbers, 1)),
        ("type", Json::str("other")),
        ("name", Json::Str(product.name.clone())),
        ("slug", Json::Str(slug.clone())),
        (
            "product_url",
            Json::Str(format!("https://billing.example.com/store/sandbox/{slug}")),
        ),
        ("description", Json::str("")),
        ("module", Json::str("")),
        ("paytype", Json::str(product.paytype.as_str())),
        ("allowqty", Json::id(call.numbers, 0)),
        ("pricing", map([("USD", pricing("USD", product))])),
        (
            "customfields",
            map([("customfield", Json::List(Vec::new()))]),
        ),
        (
            "configoptions",
            map([("configoption", Json::List(Vec::new()))]),
        ),
    ])
}

/// One currency's pricing: prefix, suffix, the six setup fees and the six cycle prices.
fn pricing(currency: &str, product: &Product) -> Json {
    let (prefix, suffix) = currency_affixes(currency);
    let mut prices = map([("prefix", Json::Str(prefix)), ("suffix", Json::Str(suffix))]);
    for cycle in Cycle::RECURRING {
        let enabled = match product.paytype {
            PayType::Recurring => product.prices.get(&cycle).copied(),
            // A one-time product is priced under `monthly` alone; a free one nowhere.
            PayType::OneTime if cycle == Cycle::Monthly => product.prices.get(&cycle).copied(),
            PayType::OneTime | PayType::Free => None,
        };
        let setup = if enabled.is_some() {
            "0.00"
        } else {
            DISABLED_PRICE
        };
        prices.set(cycle.setup_fee_key(), Json::str(setup));
        let price = enabled.map_or_else(|| DISABLED_PRICE.to_owned(), format_price);
        prices.set(cycle.key(), Json::Str(price));
    }
    prices
}

/// `GetPaymentMethods`: the active gateway modules; no `paymentmethods` key when none.
pub(crate) fn get_payment_methods(world: &World, call: &Call<'_>) -> Json {
    let methods: Vec<Json> = world
        .gateways
        .iter()
        .map(|module| {
            map([
                ("module", Json::Str(module.clone())),
                ("displayname", Json::Str(gateway_display_name(module))),
            ])
        })
        .collect();
    let mut answer = map([
        ("result", Json::str("success")),
        ("totalresults", Json::id(call.numbers, methods.len() as u64)),
    ]);
    if !methods.is_empty() {
        answer.set(
            "paymentmethods",
            map([("paymentmethod", Json::List(methods))]),
        );
    }
    answer
}

/// `GetInvoice`; an unknown id is reported with `status`, not `result`.
pub(crate) fn get_invoice(world: &World, call: &Call<'_>) -> Json {
    let invoice_id = php_int(call.params.text("invoiceid"));
    let Some(invoice) = world.invoices.get(&invoice_id) else {
        return map([
            ("status", Json::str("error")),
            ("message", Json::str("Invoice ID Not Found")),
        ]);
    };
    let id = |value: u64| Json::id(call.numbers, value);
    let items: Vec<Json> = invoice
        .items
        .iter()
        .map(|(service_id, description, amount)| {
            map([
                ("id", id(*service_id)),
                ("type", Json::str("Hosting")),
                ("relid", id(*service_id)),
                ("description", Json::Str(description.clone())),
                ("amount", Json::Str(format_price(*amount))),
                ("taxed", id(0)),
            ])
        })
        .collect();
    let paid = invoice.status == "Paid";
    map([
        ("result", Json::str("success")),
        ("invoiceid", id(invoice.id)),
        ("invoicenum", Json::str("")),
        ("userid", id(invoice.client_id)),
        ("date", Json::Str(invoice.date.clone())),
        ("duedate", Json::Str(invoice.date.clone())),
        (
            "datepaid",
            Json::Str(if paid {
                format!("{} 00:00:00", invoice.date)
            } else {
                "0000-00-00 00:00:00".to_owned()
            }),
        ),
        ("subtotal", Json::Str(format_price(invoice.total))),
        ("credit", Json::str("0.00")),
        ("tax", Json::str("0.00")),
        ("total", Json::Str(format_price(invoice.total))),
        (
            "balance",
            Json::Str(format_price(if paid { 0 } else { invoice.total })),
        ),
        ("status", Json::Str(invoice.status.clone())),
        ("paymentmethod", Json::Str(invoice.payment_method.clone())),
        ("notes", Json::str("")),
        ("items", map([("item", Json::List(items))])),
        ("transactions", Json::str("")),
    ])
}

/// `WhmcsDetails`: the version probe.
pub(crate) fn whmcs_details() -> Json {
    map([
        ("result", Json::str("success")),
        (
            "whmcs",
            map([
                ("version", Json::str(WHMCS_VERSION)),
                (
                    "canonicalversion",
                    Json::Str(format!("{WHMCS_VERSION}-release.1")),
                ),
            ]),
        ),
    ])
}
