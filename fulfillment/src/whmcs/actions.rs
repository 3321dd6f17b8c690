//! The WHMCS actions the orchestration uses, with typed answers read leniently.

use std::{collections::HashMap, time::Duration};

use serde_json::Value;

use super::{
    WhmcsClient, WhmcsError,
    lenient::{as_text, as_u64, decode_entities, id_list, list},
};

/// A stored payment instrument of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayMethod {
    /// The pay method id.
    pub id: String,
    /// The gateway module that holds it; empty for locally stored methods.
    pub gateway_name: String,
}

/// What the orchestration needs of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientDetails {
    /// The client's currency code, e.g. `USD`.
    pub currency_code: Option<String>,
    /// The client's default gateway module, when set.
    pub default_gateway: Option<String>,
}

/// A product and the cycles it can be ordered in.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// The product id.
    pub pid: u64,
    /// `free`, `onetime` or `recurring`.
    pub paytype: String,
    /// Price per cycle key (`monthly`, …) per currency code; `-1.00` means disabled.
    pub pricing: HashMap<String, HashMap<String, String>>,
}

impl Product {
    /// Whether the recurring cycle `key` (e.g. `semiannually`) is enabled in `currency` (or in
    /// any currency, when the client's is unknown).
    pub fn offers_cycle(&self, key: &str, currency: Option<&str>) -> bool {
        let enabled = |prices: &HashMap<String, String>| {
            prices
                .get(key)
                .and_then(|price| price.trim().parse::<f64>().ok())
                .is_some_and(|price| price >= 0.0)
        };
        match currency.and_then(|code| self.pricing.get(code)) {
            Some(prices) => enabled(prices),
            None => self.pricing.values().any(enabled),
        }
    }
}

/// One line of an AddOrder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    /// The product id.
    pub pid: u64,
    /// The cycle in AddOrder's lowercase form (`monthly`, …, `onetime`, `free`).
    pub billing_cycle: &'static str,
}

/// What AddOrder created.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreatedOrder {
    /// The WHMCS order id.
    pub order_id: String,
    /// The services created, one per line.
    pub service_ids: Vec<String>,
    /// The invoice, when one was created.
    pub invoice_id: Option<String>,
}

/// An existing WHMCS order, as GetOrders lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingOrder {
    /// The order id.
    pub order_id: String,
    /// `Pending`, `Active`, `Cancelled`, `Fraud` or a custom status.
    pub status: String,
    /// The admin notes, entity-decoded.
    pub notes: String,
    /// The invoice, when there is one.
    pub invoice_id: Option<String>,
    /// The services of its product lines.
    pub service_ids: Vec<String>,
}

/// One page of GetOrders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdersPage {
    /// Orders matching the filter over all pages.
    pub total: u64,
    /// This page, newest first.
    pub orders: Vec<ExistingOrder>,
}

/// Deadlines of the two kinds of call.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// Reads and quick writes.
    pub call: Duration,
    /// AddOrder and AcceptOrder, which run provisioning modules.
    pub order: Duration,
}

impl ClientDetails {
    /// Reads `GetClientsDetails`'s success envelope (the fields may sit under `client` or at
    /// the top level, depending on the WHMCS version).
    pub fn from_answer(answer: &Value) -> Self {
        let client = answer.get("client").unwrap_or(answer);
        let text = |name: &str| {
            client
                .get(name)
                .or_else(|| answer.get(name))
                .and_then(as_text)
                .filter(|value| !value.trim().is_empty())
        };
        Self {
            currency_code: text("currency_code"),
            default_gateway: text("defaultgateway"),
        }
    }
}

impl PayMethod {
    /// Reads `GetPayMethods`'s success envelope.
    pub fn list_from_answer(answer: &Value) -> Vec<Self> {
        list(answer.get("paymethods"), "paymethod")
            .into_iter()
            .map(|method| Self {
                id: method.get("id").and_then(as_text).unwrap_or_default(),
                gateway_name: method
                    .get("gateway_name")
                    .and_then(as_text)
                    .unwrap_or_default(),
            })
            .collect()
    }
}

impl Product {
    /// Reads `GetProducts`'s success envelope; products without a `pid` are skipped.
    pub fn list_from_answer(answer: &Value) -> Vec<Self> {
        list(answer.get("products"), "product")
            .into_iter()
            .filter_map(read_product)
            .collect()
    }
}

impl CreatedOrder {
    /// Reads `AddOrder`'s success envelope; one without an `orderid` (or with `0`, which no
    /// WHMCS order has) is a protocol error.
    pub fn from_answer(answer: &Value) -> Result<Self, WhmcsError> {
        let order_id = answer
            .get("orderid")
            .and_then(as_u64)
            .filter(|id| *id > 0)
            .ok_or_else(|| WhmcsError::Protocol {
                action: "AddOrder",
                status: 200,
                detail: "the answer has no orderid".into(),
            })?;
        let mut service_ids = id_list(answer.get("serviceids"));
        if service_ids.is_empty() {
            service_ids = id_list(answer.get("productids"));
        }
        Ok(Self {
            order_id: order_id.to_string(),
            service_ids,
            invoice_id: answer
                .get("invoiceid")
                .and_then(as_u64)
                .filter(|id| *id > 0)
                .map(|id| id.to_string()),
        })
    }
}

impl OrdersPage {
    /// Reads `GetOrders`'s success envelope; orders without an `id` are skipped.
    pub fn from_answer(answer: &Value) -> Self {
        let orders: Vec<ExistingOrder> = list(answer.get("orders"), "order")
            .into_iter()
            .filter_map(read_order)
            .collect();
        Self {
            total: answer
                .get("totalresults")
                .and_then(as_u64)
                .unwrap_or(orders.len() as u64),
            orders,
        }
    }
}

fn param(name: impl Into<String>, value: impl ToString) -> (String, String) {
    (name.into(), value.to_string())
}

fn flag(enabled: bool) -> &'static str {
    // PHP reads the string "false" as true, so booleans are sent as 1 and 0.
    if enabled { "1" } else { "0" }
}

impl WhmcsClient {
    /// `GetClientsDetails`: the client's currency and default gateway.
    pub async fn client_details(
        &self,
        client_id: u64,
        deadlines: Deadlines,
    ) -> Result<ClientDetails, WhmcsError> {
        let answer = self
            .call(
                "GetClientsDetails",
                &[param("clientid", client_id)],
                deadlines.call,
            )
            .await?;
        Ok(ClientDetails::from_answer(&answer))
    }

    /// `GetPayMethods`: the client's stored instruments.
    pub async fn pay_methods(
        &self,
        client_id: u64,
        deadlines: Deadlines,
    ) -> Result<Vec<PayMethod>, WhmcsError> {
        let answer = self
            .call(
                "GetPayMethods",
                &[param("clientid", client_id)],
                deadlines.call,
            )
            .await?;
        Ok(PayMethod::list_from_answer(&answer))
    }

    /// `GetProducts` for the given product ids.
    pub async fn products(
        &self,
        pids: &[u64],
        deadlines: Deadlines,
    ) -> Result<Vec<Product>, WhmcsError> {
        let joined = pids
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let answer = self
            .call("GetProducts", &[param("pid", joined)], deadlines.call)
            .await?;
        Ok(Product::list_from_answer(&answer))
    }

    /// `AddOrder` with explicit array indices, the gateway, and `notes`. No invoice or order
    /// emails are suppressed: WHMCS's own settings decide.
    pub async fn add_order(
        &self,
        client_id: u64,
        payment_method: &str,
        lines: &[OrderLine],
        notes: &str,
        deadlines: Deadlines,
    ) -> Result<CreatedOrder, WhmcsError> {
        let mut params = vec![
            param("clientid", client_id),
            param("paymentmethod", payment_method),
            param("notes", notes),
        ];
        for (index, line) in lines.iter().enumerate() {
            params.push(param(format!("pid[{index}]"), line.pid));
            params.push(param(format!("billingcycle[{index}]"), line.billing_cycle));
        }
        let answer = self.call("AddOrder", &params, deadlines.order).await?;
        CreatedOrder::from_answer(&answer)
    }

    /// `AcceptOrder`.
    pub async fn accept_order(
        &self,
        order_id: &str,
        autosetup: bool,
        send_email: bool,
        deadlines: Deadlines,
    ) -> Result<(), WhmcsError> {
        let params = [
            param("orderid", order_id),
            param("autosetup", flag(autosetup)),
            param("sendemail", flag(send_email)),
        ];
        self.call("AcceptOrder", &params, deadlines.order).await?;
        Ok(())
    }

    /// `GetOrders` for a client (`user_id`) or one order (`order_id`), one page.
    pub async fn orders(
        &self,
        filter: OrdersFilter<'_>,
        start: u64,
        page_size: u64,
        deadlines: Deadlines,
    ) -> Result<OrdersPage, WhmcsError> {
        let mut params = vec![param("limitstart", start), param("limitnum", page_size)];
        match filter {
            OrdersFilter::Client(client_id) => params.push(param("userid", client_id)),
            OrdersFilter::Order(order_id) => params.push(param("id", order_id)),
        }
        let answer = self.call("GetOrders", &params, deadlines.call).await?;
        Ok(OrdersPage::from_answer(&answer))
    }
}

/// Which orders GetOrders lists.
#[derive(Debug, Clone, Copy)]
pub enum OrdersFilter<'a> {
    /// Every order of a client, newest first.
    Client(u64),
    /// One order.
    Order(&'a str),
}

fn read_product(product: &Value) -> Option<Product> {
    let pid = product.get("pid").and_then(as_u64)?;
    let paytype = product
        .get("paytype")
        .and_then(as_text)
        .unwrap_or_else(|| "recurring".into())
        .to_ascii_lowercase();
    let pricing = product
        .get("pricing")
        .and_then(Value::as_object)
        .map(|currencies| {
            currencies
                .iter()
                .filter_map(|(code, prices)| {
                    let prices = prices.as_object()?;
                    let prices = prices
                        .iter()
                        .filter_map(|(cycle, price)| Some((cycle.clone(), as_text(price)?)))
                        .collect();
                    Some((code.clone(), prices))
                })
                .collect()
        })
        .unwrap_or_default();
    Some(Product {
        pid,
        paytype,
        pricing,
    })
}

fn read_order(order: &Value) -> Option<ExistingOrder> {
    let order_id = order.get("id").and_then(as_u64)?.to_string();
    let service_ids = list(order.get("lineitems"), "lineitem")
        .into_iter()
        .filter(|line| line.get("type").and_then(Value::as_str) == Some("product"))
        .flat_map(|line| id_list(line.get("relid")))
        .collect();
    Some(ExistingOrder {
        order_id,
        status: order.get("status").and_then(as_text).unwrap_or_default(),
        notes: decode_entities(&order.get("notes").and_then(as_text).unwrap_or_default()),
        invoice_id: order
            .get("invoiceid")
            .and_then(as_u64)
            .filter(|id| *id > 0)
            .map(|id| id.to_string()),
        service_ids,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_add_order_answer_needs_a_real_order_id() {
        let created = CreatedOrder::from_answer(&json!({"result": "success", "orderid": 7}))
            .expect("an order id");
        assert_eq!(created.order_id, "7");
        for answer in [
            json!({"result": "success"}),
            json!({"result": "success", "orderid": 0}),
            json!({"result": "success", "orderid": "0"}),
        ] {
            assert!(CreatedOrder::from_answer(&answer).is_err(), "{answer}");
        }
    }
}
