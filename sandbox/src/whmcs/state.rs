//! The emulated WHMCS database: clients, pay methods, products, gateways, orders, services and
//! invoices, with the ids they are given and the records tests inspect.

use std::collections::BTreeMap;

use rand::Rng;

use super::{
    clock::now,
    cycle::{Cycle, parse_price},
    options::{ClientStatus, NewClient, NewProduct, PayType},
};

/// The first id of each table. Different ranges make a client that mixes up an order id, a
/// service id and an invoice id fail loudly instead of by luck.
const FIRST_ORDER_ID: u64 = 1001;
const FIRST_SERVICE_ID: u64 = 2001;
const FIRST_INVOICE_ID: u64 = 3001;
const FIRST_PAY_METHOD_ID: u64 = 101;

/// One request the emulator received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedCall {
    /// The normalised action name (`addorder`).
    pub action: String,
    /// Form keys after the query and body were merged (`pid[0]`), credentials included.
    pub params: BTreeMap<String, String>,
    /// The HTTP status answered; `0` when no HTTP answer was sent (a reset or a hang).
    pub status: u16,
}

/// An order as the WHMCS database holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    /// The order id.
    pub id: u64,
    /// The random 10-digit order number.
    pub order_num: String,
    /// The client who ordered.
    pub client_id: u64,
    /// `Pending`, `Active`, `Cancelled` or `Fraud`.
    pub status: String,
    /// The admin notes as stored: HTML-entity-encoded.
    pub notes: String,
    /// The gateway module.
    pub payment_method: String,
    /// The services, one per product line.
    pub service_ids: Vec<u64>,
    /// The invoice, unless `noinvoice` was set.
    pub invoice_id: Option<u64>,
    /// `(pid, billing cycle in display form)` per line.
    pub lines: Vec<(u64, String)>,
}

/// A client account.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub(crate) id: u64,
    pub(crate) seed: NewClient,
    pub(crate) created: String,
}

/// A stored pay method of a client.
#[derive(Debug, Clone)]
pub(crate) struct PayMethod {
    pub(crate) id: u64,
    pub(crate) client_id: u64,
    /// The gateway holding the token; empty for a locally stored card.
    pub(crate) gateway_name: String,
    pub(crate) last_updated: String,
}

/// A product and its enabled cycles.
#[derive(Debug, Clone)]
pub(crate) struct Product {
    pub(crate) pid: u64,
    pub(crate) name: String,
    pub(crate) paytype: PayType,
    /// Price in cents per enabled recurring cycle (a one-time price sits under `Monthly`).
    pub(crate) prices: BTreeMap<Cycle, u64>,
    /// When set, provisioning this product in AcceptOrder fails with this message.
    pub(crate) provisioning_failure: Option<String>,
}

impl Product {
    /// The cycle AddOrder stores for a requested cycle, with WHMCS's silent fallback; `None`
    /// when the product has no orderable cycle at all.
    pub(crate) fn resolve_cycle(&self, requested: &str) -> Option<Cycle> {
        match self.paytype {
            PayType::Free => Some(Cycle::Free),
            PayType::OneTime => Some(Cycle::OneTime),
            PayType::Recurring => {
                let asked = Cycle::recurring_from_key(&requested.to_lowercase())
                    .filter(|cycle| self.prices.contains_key(cycle));
                asked.or_else(|| {
                    Cycle::RECURRING
                        .into_iter()
                        .find(|cycle| self.prices.contains_key(cycle))
                })
            }
        }
    }

    /// The price of one cycle in cents.
    pub(crate) fn price(&self, cycle: Cycle) -> u64 {
        match cycle {
            Cycle::Free => 0,
            Cycle::OneTime => self.prices.get(&Cycle::Monthly).copied().unwrap_or(0),
            recurring => self.prices.get(&recurring).copied().unwrap_or(0),
        }
    }
}

/// An order.
#[derive(Debug, Clone)]
pub(crate) struct Order {
    pub(crate) id: u64,
    pub(crate) order_num: u64,
    pub(crate) client_id: u64,
    pub(crate) date: String,
    pub(crate) status: String,
    pub(crate) notes: String,
    pub(crate) payment_method: String,
    pub(crate) service_ids: Vec<u64>,
    pub(crate) invoice_id: Option<u64>,
    pub(crate) amount: u64,
    pub(crate) ip_address: String,
}

/// A service (one product line of an order).
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub(crate) id: u64,
    pub(crate) order_id: u64,
    pub(crate) client_id: u64,
    pub(crate) pid: u64,
    pub(crate) cycle: Cycle,
    pub(crate) amount: u64,
    pub(crate) status: String,
    pub(crate) reg_date: String,
    pub(crate) payment_method: String,
}

/// An invoice.
#[derive(Debug, Clone)]
pub(crate) struct Invoice {
    pub(crate) id: u64,
    pub(crate) client_id: u64,
    pub(crate) date: String,
    pub(crate) status: String,
    pub(crate) total: u64,
    pub(crate) payment_method: String,
    /// `(service id, description, amount)` per item.
    pub(crate) items: Vec<(u64, String, u64)>,
}

/// Everything WHMCS stores.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) clients: BTreeMap<u64, Client>,
    pub(crate) pay_methods: BTreeMap<u64, PayMethod>,
    pub(crate) products: BTreeMap<u64, Product>,
    pub(crate) gateways: Vec<String>,
    pub(crate) orders: BTreeMap<u64, Order>,
    pub(crate) services: BTreeMap<u64, Service>,
    pub(crate) invoices: BTreeMap<u64, Invoice>,
    next_client: u64,
    next_pay_method: u64,
    next_product: u64,
    next_order: u64,
    next_service: u64,
    next_invoice: u64,
}

impl World {
    /// An empty database with these active gateways.
    pub(crate) fn new(gateways: Vec<String>) -> Self {
        Self {
            clients: BTreeMap::new(),
            pay_methods: BTreeMap::new(),
            products: BTreeMap::new(),
            gateways,
            orders: BTreeMap::new(),
            services: BTreeMap::new(),
            invoices: BTreeMap::new(),
            next_client: 1,
            next_pay_method: FIRST_PAY_METHOD_ID,
            next_product: 1,
            next_order: FIRST_ORDER_ID,
            next_service: FIRST_SERVICE_ID,
            next_invoice: FIRST_INVOICE_ID,
        }
    }

    /// Adds a client and returns its id.
    pub(crate) fn add_client(&mut self, seed: NewClient) -> u64 {
        let id = take(&mut self.next_client);
        self.clients.insert(
            id,
            Client {
                id,
                seed,
                created: now().0,
            },
        );
        id
    }

    /// Adds a pay method for a client and returns its id.
    pub(crate) fn add_pay_method(&mut self, client_id: u64, gateway_name: &str) -> u64 {
        let id = take(&mut self.next_pay_method);
        self.pay_methods.insert(
            id,
            PayMethod {
                id,
                client_id,
                gateway_name: gateway_name.to_owned(),
                last_updated: now().2,
            },
        );
        id
    }

    /// Adds a product and returns its pid.
    pub(crate) fn add_product(&mut self, seed: NewProduct) -> u64 {
        let pid = take(&mut self.next_product);
        let prices = seed
            .pricing
            .iter()
            .filter_map(|(key, price)| {
                Some((
                    Cycle::recurring_from_key(&key.to_lowercase())?,
                    parse_price(price)?,
                ))
            })
            .collect();
        self.products.insert(
            pid,
            Product {
                pid,
                name: seed.name,
                paytype: seed.paytype,
                prices,
                provisioning_failure: None,
            },
        );
        pid
    }

    /// Activates a gateway module (no effect when already active).
    pub(crate) fn activate_gateway(&mut self, module: &str) {
        if !self.gateways.iter().any(|active| active == module) {
            self.gateways.push(module.to_owned());
        }
    }

    /// Takes the next order id.
    pub(crate) fn next_order_id(&mut self) -> u64 {
        take(&mut self.next_order)
    }

    /// Takes the next service id.
    pub(crate) fn next_service_id(&mut self) -> u64 {
        take(&mut self.next_service)
    }

    /// Takes the next invoice id.
    pub(crate) fn next_invoice_id(&mut self) -> u64 {
        take(&mut self.next_invoice)
    }

    /// Whether a client exists and is not closed.
    pub(crate) fn client_status(&self, client_id: u64) -> Option<ClientStatus> {
        self.clients
            .get(&client_id)
            .map(|client| client.seed.status)
    }

    /// The inspection view of an order.
    pub(crate) fn order_record(&self, order: &Order) -> OrderRecord {
        OrderRecord {
            id: order.id,
            order_num: order.order_num.to_string(),
            client_id: order.client_id,
            status: order.status.clone(),
            notes: order.notes.clone(),
            payment_method: order.payment_method.clone(),
            service_ids: order.service_ids.clone(),
            invoice_id: order.invoice_id,
            lines: order
                .service_ids
                .iter()
                .filter_map(|id| self.services.get(id))
                .map(|service| (service.pid, service.cycle.display().to_owned()))
                .collect(),
        }
    }
}

fn take(counter: &mut u64) -> u64 {
    let id = *counter;
    *counter += 1;
    id
}

/// A random 10-digit order number (never starting with 0).
pub(crate) fn random_order_number() -> u64 {
    rand::rng().random_range(1_000_000_000..10_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cycle_falls_back_silently() {
        let mut world = World::new(Vec::new());
        let pid = world.add_product(NewProduct {
            pricing: vec![
                ("monthly".into(), "-1.00".into()),
                ("annually".into(), "99.00".into()),
                ("quarterly".into(), "25.00".into()),
            ],
            ..NewProduct::default()
        });
        let product = &world.products[&pid];
        assert_eq!(product.resolve_cycle("Annually"), Some(Cycle::Annually));
        assert_eq!(product.resolve_cycle("monthly"), Some(Cycle::Quarterly));
        assert_eq!(
            product.resolve_cycle("Semi-Annually"),
            Some(Cycle::Quarterly)
        );
        let free = world.add_product(NewProduct {
            paytype: PayType::Free,
            ..NewProduct::default()
        });
        assert_eq!(
            world.products[&free].resolve_cycle("annually"),
            Some(Cycle::Free)
        );
        let none = world.add_product(NewProduct {
            pricing: Vec::new(),
            ..NewProduct::default()
        });
        assert_eq!(world.products[&none].resolve_cycle("monthly"), None);
    }

    #[test]
    fn order_numbers_have_ten_digits() {
        for _ in 0..100 {
            assert_eq!(random_order_number().to_string().len(), 10);
        }
    }
}
