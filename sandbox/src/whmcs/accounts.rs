//! The client-side reads: GetClientsDetails (with its deprecated top-level copy),
//! GetPayMethods (a flat list, `clientid` echoed as text) and GetClientsProducts.

use super::{
    action::{Call, error, php_int},
    catalog::gateway_display_name,
    cycle::{currency_id, format_price},
    json::{Json, map},
    state::{Client, World},
};

/// `GetClientsDetails` by `clientid` or `email`.
pub(crate) fn get_clients_details(world: &World, call: &Call<'_>) -> Json {
    let params = call.params;
    let client_id = params.text("clientid").filter(|id| !id.is_empty());
    let email = params.text("email").filter(|email| !email.is_empty());
    let client = match (client_id, email) {
        (Some(id), _) => world.clients.get(&php_int(Some(id))),
        (None, Some(email)) => world
            .clients
            .values()
            .find(|client| client.seed.email.eq_ignore_ascii_case(email)),
        (None, None) => return error("Either clientid Or email Is Required"),
    };
    let Some(client) = client else {
        return error("Client Not Found");
    };

    let fields = client_fields(client, call);
    let mut answer = map([("result", Json::str("success"))]);
    // The flat copy first (deprecated but always there), then the `client` object.
    if let Json::Map(entries) = &fields {
        for (key, value) in entries {
            answer.set(key, value.clone());
        }
    }
    answer.set("client", fields);
    if params.truthy("stats") {
        answer.set("stats", stats(world, client.id));
    }
    answer
}

fn client_fields(client: &Client, call: &Call<'_>) -> Json {
    let id = |value: u64| Json::id(call.numbers, value);
    let seed = &client.seed;
    let full_name = format!("{} {}", seed.first_name, seed.last_name);
    map([
        ("userid", id(client.id)),
        ("client_id", id(client.id)),
        ("id", id(client.id)),
        ("owner_user_id", id(client.id)),
        (
            "uuid",
            Json::Str(format!("00000000-0000-4000-8000-{:012}", client.id)),
        ),
        ("firstname", Json::Str(seed.first_name.clone())),
        ("lastname", Json::Str(seed.last_name.clone())),
        ("fullname", Json::Str(full_name.clone())),
        ("companyname", Json::str("")),
        ("email", Json::Str(seed.email.clone())),
        ("address1", Json::str("1 Analytical Way")),
        ("address2", Json::str("")),
        ("city", Json::str("London")),
        ("fullstate", Json::str("")),
        ("state", Json::str("")),
        ("postcode", Json::str("N1 1AA")),
        ("countrycode", Json::str("GB")),
        ("country", Json::str("GB")),
        ("phonenumber", Json::str("")),
        ("tax_id", Json::str("")),
        (
            "email_preferences",
            map([
                ("general", Json::str("1")),
                ("invoice", Json::str("1")),
                ("support", Json::str("1")),
                ("product", Json::str("1")),
                ("domain", Json::str("1")),
                ("affiliate", Json::str("1")),
            ]),
        ),
        ("statecode", Json::str("")),
        ("countryname", Json::str("United Kingdom")),
        ("phonecc", Json::int(44)),
        ("phonenumberformatted", Json::str("")),
        ("telephoneNumber", Json::str("")),
        ("billingcid", id(0)),
        ("notes", Json::str("")),
        ("currency", id(currency_id(&seed.currency_code))),
        (
            "defaultgateway",
            Json::Str(seed.default_gateway.clone().unwrap_or_default()),
        ),
        ("cctype", Json::str("")),
        ("cclastfour", Json::str("")),
        ("gatewayid", Json::str("")),
        ("groupid", id(0)),
        ("status", Json::str(seed.status.as_str())),
        ("credit", Json::str("0.00")),
        ("taxexempt", Json::Bool(false)),
        ("latefeeoveride", Json::Bool(false)),
        ("overideduenotices", Json::Bool(false)),
        ("separateinvoices", Json::Bool(false)),
        ("disableautocc", Json::Bool(false)),
        ("emailoptout", Json::Bool(false)),
        ("marketing_emails_opt_in", Json::Bool(false)),
        ("overrideautoclose", Json::Bool(false)),
        ("allowSingleSignOn", Json::int(1)),
        ("email_verified", Json::Bool(false)),
        ("language", Json::str("")),
        ("isOptedInToMarketingEmails", Json::Bool(false)),
        ("lastlogin", Json::str("No Login Logged")),
        ("datecreated", Json::Str(client.created.clone())),
        ("currency_code", Json::Str(seed.currency_code.clone())),
        ("customfields", Json::List(Vec::new())),
        (
            "users",
            map([(
                "user",
                Json::List(vec![map([
                    ("id", id(client.id)),
                    ("name", Json::Str(full_name)),
                    ("email", Json::Str(seed.email.clone())),
                    ("is_owner", Json::Bool(true)),
                ])]),
            )]),
        ),
    ])
}

/// A few of the `stats` values: display money strings mixed with numbers.
fn stats(world: &World, client_id: u64) -> Json {
    let orders = world
        .orders
        .values()
        .filter(|order| order.client_id == client_id);
    let (mut pending, mut active) = (0u64, 0u64);
    for order in orders {
        match order.status.as_str() {
            "Pending" => pending += 1,
            "Active" => active += 1,
            _ => {}
        }
    }
    let unpaid: u64 = world
        .invoices
        .values()
        .filter(|invoice| invoice.client_id == client_id && invoice.status == "Unpaid")
        .map(|invoice| invoice.total)
        .sum();
    map([
        ("numpendingorders", Json::int(pending)),
        ("numactiveorders", Json::int(active)),
        (
            "dueinvoicesbalance",
            Json::Str(format!("${} USD", format_price(unpaid))),
        ),
        ("creditbalance", Json::str("$0.00 USD")),
        ("isAffiliate", Json::Bool(false)),
    ])
}

/// `GetPayMethods`: a flat list, `[]` when none; `clientid` repeats the request text.
pub(crate) fn get_pay_methods(world: &World, call: &Call<'_>) -> Json {
    let params = call.params;
    let Some(sent_client) = params.text("clientid").filter(|id| !id.is_empty()) else {
        return error("Client ID Is Required");
    };
    let type_filter = params
        .text("type")
        .filter(|kind| !kind.is_empty())
        .map(str::to_ascii_lowercase);
    if let Some(kind) = &type_filter
        && kind != "bankaccount"
        && kind != "creditcard"
    {
        return error("Invalid Pay Method Type. Should be 'BankAccount' or 'CreditCard'");
    }
    let client_id = php_int(Some(sent_client));
    if !world.clients.contains_key(&client_id) {
        return error("Client Not Found");
    }
    let only = params
        .text("paymethodid")
        .filter(|id| !id.is_empty())
        .map(|id| php_int(Some(id)));

    let methods: Vec<Json> = world
        .pay_methods
        .values()
        .filter(|method| method.client_id == client_id)
        .filter(|method| only.is_none_or(|id| method.id == id))
        // Every seeded method is a card; a bank-account filter finds none.
        .filter(|_| type_filter.as_deref() != Some("bankaccount"))
        .map(|method| {
            let remote = !method.gateway_name.is_empty();
            let token = if remote {
                format!(
                    "{{\"customer\":\"cus_sandbox{}\",\"method\":\"pm_sandbox{}\"}}",
                    method.client_id, method.id
                )
            } else {
                String::new()
            };
            // Pay method ids come from a model with integer casts: numbers in every style.
            map([
                ("id", Json::int(method.id)),
                (
                    "type",
                    Json::str(if remote {
                        "RemoteCreditCard"
                    } else {
                        "CreditCard"
                    }),
                ),
                ("description", Json::str("")),
                ("gateway_name", Json::Str(method.gateway_name.clone())),
                ("contact_type", Json::str("Client")),
                ("contact_id", Json::int(method.client_id)),
                ("card_last_four", Json::str("4242")),
                ("expiry_date", Json::str("04/29")),
                ("start_date", Json::str("")),
                ("issue_number", Json::str("")),
                ("card_type", Json::str("Visa")),
                ("remote_token", Json::Str(token)),
                ("last_updated", Json::Str(method.last_updated.clone())),
            ])
        })
        .collect();
    map([
        ("result", Json::str("success")),
        ("clientid", Json::str(sent_client)),
        ("paymethods", Json::List(methods)),
    ])
}

/// `GetClientsProducts`: services with the request's filters echoed; `"products": ""` when
/// nothing matches.
pub(crate) fn get_clients_products(world: &World, call: &Call<'_>) -> Json {
    let params = call.params;
    let echo = |name: &str| params.text(name).map_or(Json::Null, Json::str);
    let filter = |name: &str| {
        params
            .text(name)
            .filter(|id| !id.is_empty())
            .map(|id| php_int(Some(id)))
    };
    let (by_client, by_service, by_pid) = (filter("clientid"), filter("serviceid"), filter("pid"));
    let start = php_int(params.text("limitstart"));
    let page_size = match php_int(params.text("limitnum")) {
        0 => 999_999,
        size => size,
    };

    let matching: Vec<_> = world
        .services
        .values()
        .filter(|service| by_client.is_none_or(|id| service.client_id == id))
        .filter(|service| by_service.is_none_or(|id| service.id == id))
        .filter(|service| by_pid.is_none_or(|id| service.pid == id))
        .collect();
    let id = |value: u64| Json::id(call.numbers, value);
    let page: Vec<Json> = matching
        .iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(page_size).unwrap_or(usize::MAX))
        .map(|service| {
            let order = world.orders.get(&service.order_id);
            let name = world
                .products
                .get(&service.pid)
                .map_or_else(String::new, |product| product.name.clone());
            map([
                ("id", id(service.id)),
                ("qty", id(1)),
                ("clientid", id(service.client_id)),
                ("orderid", id(service.order_id)),
                ("ordernumber", id(order.map_or(0, |order| order.order_num))),
                ("pid", id(service.pid)),
                ("regdate", Json::Str(service.reg_date.clone())),
                ("name", Json::Str(name.clone())),
                ("translated_name", Json::Str(name)),
                ("groupname", Json::str("Sandbox")),
                ("domain", Json::str("")),
                (
                    "firstpaymentamount",
                    Json::Str(format_price(service.amount)),
                ),
                ("recurringamount", Json::Str(format_price(service.amount))),
                ("paymentmethod", Json::Str(service.payment_method.clone())),
                (
                    "paymentmethodname",
                    Json::Str(gateway_display_name(&service.payment_method)),
                ),
                ("billingcycle", Json::str(service.cycle.display())),
                ("nextduedate", Json::Str(service.reg_date.clone())),
                ("status", Json::Str(service.status.clone())),
                ("username", Json::str("")),
                ("password", Json::str("")),
                ("overidesuspenduntil", Json::str("0000-00-00")),
                ("lastupdate", Json::str("0000-00-00 00:00:00")),
                (
                    "customfields",
                    map([("customfield", Json::List(Vec::new()))]),
                ),
                (
                    "configoptions",
                    map([("configoption", Json::List(Vec::new()))]),
                ),
            ])
        })
        .collect();

    let start_number = params.text("limitstart").map_or(Json::int(0), Json::str);
    let mut answer = map([
        ("result", Json::str("success")),
        ("clientid", echo("clientid")),
        ("serviceid", echo("serviceid")),
        ("pid", echo("pid")),
        ("domain", echo("domain")),
        (
            "totalresults",
            Json::id(call.numbers, matching.len() as u64),
        ),
        ("startnumber", start_number),
        ("numreturned", Json::id(call.numbers, page.len() as u64)),
    ]);
    if page.is_empty() {
        answer.set("products", Json::str(""));
    } else {
        answer.set("products", map([("product", Json::List(page))]));
    }
    answer
}
