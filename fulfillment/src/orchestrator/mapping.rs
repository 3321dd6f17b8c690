//! The `mapping` step's pure part: each OrderItem to a WHMCS product and billing cycle, and the
//! report that says, for every item, how it mapped or why it did not.
//!
//! WHMCS never refuses a billing cycle: when a product does not offer the cycle asked for, it
//! silently picks another. So a cycle counts as mapped only when the product's own pricing
//! (from `GetProducts`) offers it, and a product's pay type must agree with the cycle.

use std::collections::HashMap;

use super::salesforce::OrderItem;
use crate::whmcs::{OrderLine, Product};

/// The largest quantity one item may ask for; each unit becomes one WHMCS order line.
pub const MAX_QUANTITY: u32 = 100;

/// How one OrderItem maps.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemMapping {
    /// The OrderItem id.
    pub order_item_id: String,
    /// `Product2.Name`.
    pub product_name: String,
    /// `Product2.WH_Product_ID__c`, empty when not set.
    pub whmcs_product_id: String,
    /// `Product2.Billing_Cycle__c`, empty when not set.
    pub billing_cycle: String,
    /// The WHMCS cycle (AddOrder's form), when mapped.
    pub whmcs_billing_cycle: String,
    /// `Quantity`.
    pub quantity: f64,
    /// Whether the item can be ordered.
    pub mapped: bool,
    /// Why not, when it cannot.
    pub reason: String,
}

/// Every item of an Order, mapped or why not.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MappingReport {
    /// One entry per OrderItem, in the Order's order.
    pub items: Vec<ItemMapping>,
}

impl MappingReport {
    /// Whether every item is mapped.
    pub fn is_complete(&self) -> bool {
        self.items.iter().all(|item| item.mapped)
    }

    /// The unmapped items, as a short operator-facing sentence.
    pub fn problems(&self) -> String {
        let problems: Vec<String> = self
            .items
            .iter()
            .filter(|item| !item.mapped)
            .map(|item| {
                format!(
                    "{} ({}): {}",
                    item.product_name, item.order_item_id, item.reason
                )
            })
            .collect();
        format!("Unmapped items: {}", problems.join("; "))
    }

    /// The AddOrder lines: one per unit of every item. Only meaningful when complete.
    pub fn order_lines(&self) -> Vec<OrderLine> {
        let mut lines = Vec::new();
        for item in self.items.iter().filter(|item| item.mapped) {
            // The same reading the mapping judged the item by, so a mapped item always
            // becomes its lines.
            let (Some(pid), Some(cycle)) = (
                parse_product_id(&item.whmcs_product_id),
                whmcs_cycle(&item.billing_cycle),
            ) else {
                continue;
            };
            let units = item.quantity as usize;
            lines.extend(std::iter::repeat_n(
                OrderLine {
                    pid,
                    billing_cycle: cycle.order_name,
                },
                units,
            ));
        }
        lines
    }
}

/// A billing cycle as WHMCS knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WhmcsCycle {
    /// What AddOrder's `billingcycle[i]` takes.
    pub order_name: &'static str,
    /// The key in GetProducts' pricing for a recurring cycle; `None` for one-time and free.
    pub pricing_key: Option<&'static str>,
    /// The product pay type the cycle needs: `recurring`, `onetime` or `free`.
    pub paytype: &'static str,
}

/// Every `Billing_Cycle__c` value [`whmcs_cycle`] maps, in WHMCS's own order.
pub(super) const BILLING_CYCLES: &[&str] = &[
    "Monthly",
    "Quarterly",
    "Semi-Annually",
    "Annually",
    "Biennially",
    "Triennially",
    "One Time",
    "Free",
];

/// The WHMCS cycle for a `Billing_Cycle__c` value (its API name, equal to its label).
pub fn whmcs_cycle(salesforce: &str) -> Option<WhmcsCycle> {
    let recurring = |name: &'static str| WhmcsCycle {
        order_name: name,
        pricing_key: Some(name),
        paytype: "recurring",
    };
    Some(match salesforce {
        "Monthly" => recurring("monthly"),
        "Quarterly" => recurring("quarterly"),
        "Semi-Annually" => recurring("semiannually"),
        "Annually" => recurring("annually"),
        "Biennially" => recurring("biennially"),
        "Triennially" => recurring("triennially"),
        "One Time" => WhmcsCycle {
            order_name: "onetime",
            pricing_key: None,
            paytype: "onetime",
        },
        "Free" => WhmcsCycle {
            order_name: "free",
            pricing_key: None,
            paytype: "free",
        },
        _ => return None,
    })
}

/// The WHMCS product id an item names, when it names one.
pub(super) fn product_id(item: &OrderItem) -> Option<u64> {
    item.whmcs_product_id.as_deref().and_then(parse_product_id)
}

/// `WH_Product_ID__c`'s text as a WHMCS product id: digits, surrounding spaces aside, not zero.
fn parse_product_id(text: &str) -> Option<u64> {
    text.trim().parse().ok().filter(|pid| *pid > 0)
}

/// Maps every item against the WHMCS `products` (by pid) in the client's `currency`.
pub(super) fn map_items(
    items: &[OrderItem],
    products: &HashMap<u64, Product>,
    currency: Option<&str>,
) -> MappingReport {
    MappingReport {
        items: items
            .iter()
            .map(|item| map_item(item, products, currency))
            .collect(),
    }
}

fn map_item(
    item: &OrderItem,
    products: &HashMap<u64, Product>,
    currency: Option<&str>,
) -> ItemMapping {
    let mut mapping = ItemMapping {
        order_item_id: item.id.clone(),
        product_name: item.product_name.clone(),
        whmcs_product_id: item.whmcs_product_id.clone().unwrap_or_default(),
        billing_cycle: item.billing_cycle.clone().unwrap_or_default(),
        whmcs_billing_cycle: String::new(),
        quantity: item.quantity.unwrap_or_default(),
        mapped: false,
        reason: String::new(),
    };
    match unmapped_reason(item, products, currency) {
        Some(reason) => mapping.reason = reason,
        None => {
            mapping.mapped = true;
            mapping.whmcs_billing_cycle = whmcs_cycle(&mapping.billing_cycle)
                .map(|cycle| cycle.order_name.to_owned())
                .unwrap_or_default();
        }
    }
    mapping
}

fn unmapped_reason(
    item: &OrderItem,
    products: &HashMap<u64, Product>,
    currency: Option<&str>,
) -> Option<String> {
    let Some(text) = item.whmcs_product_id.as_deref() else {
        return Some("Product2.WH_Product_ID__c is not set".into());
    };
    let Some(pid) = product_id(item) else {
        return Some(format!(
            "Product2.WH_Product_ID__c {text:?} is not a WHMCS product id"
        ));
    };
    let Some(label) = item.billing_cycle.as_deref() else {
        return Some("Product2.Billing_Cycle__c is not set".into());
    };
    let Some(cycle) = whmcs_cycle(label) else {
        return Some(format!(
            "Product2.Billing_Cycle__c {label:?} is not a billing cycle WHMCS knows"
        ));
    };
    match item.quantity {
        Some(quantity)
            if quantity >= 1.0
                && quantity.fract() == 0.0
                && quantity <= f64::from(MAX_QUANTITY) => {}
        Some(quantity) => {
            let shown = if quantity.abs() < 1e6 {
                quantity.to_string()
            } else {
                format!("{quantity:e}")
            };
            return Some(format!(
                "quantity {shown} is not a whole number from 1 to {MAX_QUANTITY}"
            ));
        }
        None => return Some("Quantity is not set".into()),
    }
    let Some(product) = products.get(&pid) else {
        return Some(format!("WHMCS has no product {pid}"));
    };
    if product.paytype != cycle.paytype {
        return Some(format!(
            "WHMCS product {pid} is paid {}, which cannot be ordered {label}",
            product.paytype
        ));
    }
    if let Some(key) = cycle.pricing_key
        && !product.offers_cycle(key, currency)
    {
        return Some(format!(
            "WHMCS product {pid} does not offer the {label} cycle"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_product_id_with_spaces_around_it_maps_and_becomes_its_lines() {
        let report = map_items(
            &[item(Some(" 1 "), Some("Monthly"), Some(2.0))],
            &products(),
            Some("USD"),
        );
        assert!(report.is_complete(), "{report:?}");
        let lines = report.order_lines();
        assert_eq!(
            lines.len(),
            2,
            "a mapped item is never dropped from the order"
        );
        assert!(lines.iter().all(|line| line.pid == 1));
    }

    #[test]
    fn every_listed_cycle_maps_and_distinct_cycles_stay_distinct() {
        let mut order_names: Vec<&str> = BILLING_CYCLES
            .iter()
            .map(|cycle| whmcs_cycle(cycle).expect(cycle).order_name)
            .collect();
        order_names.sort_unstable();
        order_names.dedup();
        assert_eq!(order_names.len(), BILLING_CYCLES.len());
        assert!(whmcs_cycle("Weekly").is_none());
        assert!(
            whmcs_cycle("monthly").is_none(),
            "API names are matched exactly"
        );
    }

    fn item(pid: Option<&str>, cycle: Option<&str>, quantity: Option<f64>) -> OrderItem {
        OrderItem {
            id: "802000000000001AAA".into(),
            product_name: "VPS".into(),
            whmcs_product_id: pid.map(str::to_owned),
            billing_cycle: cycle.map(str::to_owned),
            quantity,
        }
    }

    fn products() -> HashMap<u64, Product> {
        let prices = |pairs: &[(&str, &str)]| {
            HashMap::from([(
                "USD".to_owned(),
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            )])
        };
        HashMap::from([
            (
                1,
                Product {
                    pid: 1,
                    paytype: "recurring".into(),
                    pricing: prices(&[
                        ("monthly", "9.99"),
                        ("semiannually", "-1.00"),
                        ("annually", "99.00"),
                    ]),
                },
            ),
            (
                2,
                Product {
                    pid: 2,
                    paytype: "onetime".into(),
                    pricing: prices(&[("monthly", "50.00")]),
                },
            ),
        ])
    }

    #[test]
    fn a_good_item_maps_and_multiplies_by_quantity() {
        let report = map_items(
            &[item(Some("1"), Some("Annually"), Some(3.0))],
            &products(),
            Some("USD"),
        );
        assert!(report.is_complete());
        assert_eq!(report.items[0].whmcs_billing_cycle, "annually");
        assert_eq!(
            report.order_lines(),
            vec![
                OrderLine {
                    pid: 1,
                    billing_cycle: "annually"
                };
                3
            ]
        );
    }

    #[test]
    fn every_reason_to_refuse_an_item_is_named() {
        let cases = [
            (
                item(None, Some("Monthly"), Some(1.0)),
                "WH_Product_ID__c is not set",
            ),
            (
                item(Some("wh-vps"), Some("Monthly"), Some(1.0)),
                "is not a WHMCS product id",
            ),
            (
                item(Some("1"), None, Some(1.0)),
                "Billing_Cycle__c is not set",
            ),
            (
                item(Some("1"), Some("Fortnightly"), Some(1.0)),
                "not a billing cycle",
            ),
            (
                item(Some("1"), Some("Monthly"), Some(1.5)),
                "not a whole number",
            ),
            (
                item(Some("1"), Some("Monthly"), Some(0.0)),
                "not a whole number",
            ),
            (
                item(Some("1"), Some("Monthly"), Some(1e9)),
                "not a whole number",
            ),
            (
                item(Some("9"), Some("Monthly"), Some(1.0)),
                "WHMCS has no product 9",
            ),
            (
                item(Some("1"), Some("Semi-Annually"), Some(1.0)),
                "does not offer the Semi-Annually cycle",
            ),
            (
                item(Some("1"), Some("One Time"), Some(1.0)),
                "paid recurring",
            ),
            (item(Some("2"), Some("Monthly"), Some(1.0)), "paid onetime"),
        ];
        for (item, expected) in cases {
            let report = map_items(std::slice::from_ref(&item), &products(), Some("USD"));
            assert!(!report.is_complete(), "{expected}");
            assert!(
                report.items[0].reason.contains(expected),
                "{} vs {expected}",
                report.items[0].reason
            );
            assert!(report.problems().contains(expected));
            assert!(report.order_lines().is_empty());
        }
    }

    #[test]
    fn one_time_products_order_as_onetime() {
        let report = map_items(
            &[item(Some("2"), Some("One Time"), Some(1.0))],
            &products(),
            None,
        );
        assert!(report.is_complete());
        assert_eq!(
            report.order_lines(),
            vec![OrderLine {
                pid: 2,
                billing_cycle: "onetime"
            }]
        );
    }
}
