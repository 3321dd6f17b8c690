//! The emulated org's records: every object of its [`Catalog`] as a table of rows
//! keyed by API name, plus the set-up calls tests use to seed accounts, products, price books
//! and orders. Derived fields (`StatusCode`, `TotalPrice`, `TotalAmount`) are recomputed
//! whenever their inputs change, as the platform does.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{
    clock,
    ids::{IdMint, to_eighteen},
    schema::{Catalog, ObjectDef},
};

/// One record: field API name to value; every field of the object is present.
pub(crate) type Row = Map<String, Value>;

/// An Order to create with [`SalesforceEmulator::add_order`](super::SalesforceEmulator::add_order).
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    /// The Account (`001…`, 15 or 18 characters; empty for none).
    pub account_id: String,
    /// The price book (`01s…`).
    pub pricebook_id: String,
    /// The order products.
    pub items: Vec<NewItem>,
}

/// One order product of a [`NewOrder`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    /// The product (`01t…`).
    pub product_id: String,
    /// `Quantity`, a double in Salesforce.
    pub quantity: f64,
    /// `UnitPrice`.
    pub unit_price: f64,
}

#[derive(Debug, Default)]
struct Table {
    rows: Vec<Row>,
    index: HashMap<String, usize>,
}

/// Every record of the org.
#[derive(Debug)]
pub(crate) struct Org {
    catalog: &'static Catalog,
    tables: HashMap<&'static str, Table>,
    mint: IdMint,
    next_order_number: u64,
    standard_pricebook: String,
}

impl Org {
    /// An org of `catalog`'s objects holding only its standard price book.
    pub(crate) fn new(catalog: &'static Catalog) -> Self {
        let mut org = Self {
            catalog,
            tables: HashMap::new(),
            mint: IdMint::new(),
            next_order_number: 100,
            standard_pricebook: String::new(),
        };
        org.standard_pricebook = org.insert(
            "Pricebook2",
            &[
                ("Name", Value::from("Standard Price Book")),
                ("IsActive", Value::Bool(true)),
                ("IsStandard", Value::Bool(true)),
            ],
        );
        org
    }

    /// The org's objects and fields.
    pub(crate) fn catalog(&self) -> &'static Catalog {
        self.catalog
    }

    /// A fresh id with `prefix` from this org's mint (users, the org itself, locators).
    pub(crate) fn mint_id(&mut self, prefix: &str) -> String {
        self.mint.next(prefix)
    }

    /// The standard price book's id.
    pub(crate) fn standard_pricebook_id(&self) -> &str {
        &self.standard_pricebook
    }

    /// Inserts a record of `object` with these fields (others `null`) and returns its id.
    /// Seeding goes through here and, like data loaded before a picklist was restricted or a
    /// field shortened, is not validated; a field the project does not define is left out.
    pub(crate) fn insert(&mut self, object: &'static str, fields: &[(&str, Value)]) -> String {
        let Some(def) = self.catalog.object(object) else {
            return String::new();
        };
        let id = self.mint.next(def.key_prefix);
        let now = Value::from(clock::datetime(clock::now_ms()));
        let mut row = Row::new();
        for field in def.fields {
            let value = match field.name {
                "Id" => Value::from(id.clone()),
                "CreatedDate" | "LastModifiedDate" => now.clone(),
                _ => Value::Null,
            };
            row.insert(field.name.to_owned(), value);
        }
        for (name, value) in fields {
            match def.field(name) {
                Some(field) => {
                    row.insert(field.name.to_owned(), value.clone());
                }
                None if !value.is_null() => {
                    tracing::warn!(object, field = name, "No such field in the org; not seeded");
                }
                None => {}
            }
        }
        let table = self.tables.entry(def.name).or_default();
        table.index.insert(id.clone(), table.rows.len());
        table.rows.push(row);
        id
    }

    /// Every record of `object`, oldest first.
    pub(crate) fn rows(&self, object: &str) -> &[Row] {
        self.tables
            .get(object)
            .map_or(&[][..], |table| table.rows.as_slice())
    }

    /// The record of `object` with this 18-character id.
    pub(crate) fn get(&self, object: &str, id: &str) -> Option<&Row> {
        let table = self.tables.get(object)?;
        table.index.get(id).map(|&i| &table.rows[i])
    }

    /// The record of `object` with this id, for changing it. Callers recompute derived fields
    /// afterwards with [`Org::recompute`].
    pub(crate) fn get_mut(&mut self, object: &str, id: &str) -> Option<&mut Row> {
        let table = self.tables.get_mut(object)?;
        table.index.get(id).map(|&i| &mut table.rows[i])
    }

    /// The Order with this 15- or 18-character id.
    pub(crate) fn order_id(&self, id: &str) -> Option<String> {
        let id = to_eighteen(id)?;
        self.get("Order", &id).map(|_| id)
    }

    /// Adds an Account.
    pub(crate) fn add_account(&mut self, name: &str, wh_client_id: Option<&str>) -> String {
        self.insert(
            "Account",
            &[
                ("Name", Value::from(name)),
                ("WH_Client_ID__c", optional_text(wh_client_id)),
            ],
        )
    }

    /// Adds an active Product2.
    pub(crate) fn add_product(
        &mut self,
        name: &str,
        wh_product_id: Option<&str>,
        billing_cycle: Option<&str>,
    ) -> String {
        let code: String = name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(12)
            .collect::<String>()
            .to_ascii_uppercase();
        self.insert(
            "Product2",
            &[
                ("Name", Value::from(name)),
                ("ProductCode", optional_text(Some(&code))),
                ("IsActive", Value::Bool(true)),
                ("WH_Product_ID__c", optional_text(wh_product_id)),
                ("Billing_Cycle__c", optional_text(billing_cycle)),
            ],
        )
    }

    /// Adds an active, non-standard price book.
    pub(crate) fn add_pricebook(&mut self, name: &str) -> String {
        self.insert(
            "Pricebook2",
            &[
                ("Name", Value::from(name)),
                ("IsActive", Value::Bool(true)),
                ("IsStandard", Value::Bool(false)),
            ],
        )
    }

    /// Adds a Draft Order with its items (and the price book entries they need), `Activation
    /// Status` "Not Started".
    pub(crate) fn add_order(&mut self, order: &NewOrder) -> String {
        let number = format!("{:08}", self.next_order_number);
        self.next_order_number += 1;
        let pricebook = reference(&order.pricebook_id);
        let order_id = self.insert(
            "Order",
            &[
                ("OrderNumber", Value::from(number)),
                ("Status", Value::from("Draft")),
                ("EffectiveDate", Value::from(clock::date(clock::now_ms()))),
                ("AccountId", reference(&order.account_id)),
                ("Pricebook2Id", pricebook.clone()),
                ("Activation_Status__c", Value::from("Not Started")),
            ],
        );
        for item in &order.items {
            let product = reference(&item.product_id);
            let entry = self.pricebook_entry(&pricebook, &product, item.unit_price);
            let item_id = self.insert(
                "OrderItem",
                &[
                    ("OrderId", Value::from(order_id.clone())),
                    ("Quantity", number_value(item.quantity)),
                    ("UnitPrice", number_value(item.unit_price)),
                    ("ListPrice", number_value(item.unit_price)),
                    ("Product2Id", product),
                    ("PricebookEntryId", entry),
                ],
            );
            self.recompute("OrderItem", &item_id);
        }
        self.recompute("Order", &order_id);
        order_id
    }

    /// The entry for `product` in `pricebook`, created on first use.
    fn pricebook_entry(&mut self, pricebook: &Value, product: &Value, unit_price: f64) -> Value {
        if pricebook.is_null() || product.is_null() {
            return Value::Null;
        }
        let existing = self.rows("PricebookEntry").iter().find(|row| {
            row.get("Pricebook2Id") == Some(pricebook) && row.get("Product2Id") == Some(product)
        });
        if let Some(row) = existing {
            return row.get("Id").cloned().unwrap_or(Value::Null);
        }
        Value::from(self.insert(
            "PricebookEntry",
            &[
                ("Pricebook2Id", pricebook.clone()),
                ("Product2Id", product.clone()),
                ("UnitPrice", number_value(unit_price)),
                ("IsActive", Value::Bool(true)),
            ],
        ))
    }

    /// Recomputes what the platform derives after a change to a record of `object`:
    /// an Order's `StatusCode` and `TotalAmount`, an OrderItem's `TotalPrice` (and its
    /// Order's total).
    pub(crate) fn recompute(&mut self, object: &str, id: &str) {
        match object {
            "Order" => {
                let total = self
                    .rows("OrderItem")
                    .iter()
                    .filter(|item| item.get("OrderId").and_then(Value::as_str) == Some(id))
                    .filter_map(|item| item.get("TotalPrice").and_then(Value::as_f64))
                    .fold(0.0, |total, price| total + price);
                if let Some(order) = self.get_mut("Order", id) {
                    let code = match order.get("Status").and_then(Value::as_str) {
                        Some("Activated") => "Activated",
                        _ => "Draft",
                    };
                    order.insert("StatusCode".into(), Value::from(code));
                    order.insert("TotalAmount".into(), number_value(total));
                }
            }
            "OrderItem" => {
                let Some(item) = self.get_mut("OrderItem", id) else {
                    return;
                };
                let quantity = item.get("Quantity").and_then(Value::as_f64).unwrap_or(0.0);
                let price = item.get("UnitPrice").and_then(Value::as_f64).unwrap_or(0.0);
                item.insert("TotalPrice".into(), number_value(quantity * price));
                let order = item
                    .get("OrderId")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                if let Some(order) = order {
                    self.recompute("Order", &order);
                }
            }
            _ => {}
        }
    }

    /// Stamps `LastModifiedDate` on a record that was just changed.
    pub(crate) fn touch(&mut self, def: &ObjectDef, id: &str) {
        if def.field("LastModifiedDate").is_none() {
            return;
        }
        if let Some(row) = self.get_mut(def.name, id) {
            row.insert(
                "LastModifiedDate".into(),
                Value::from(clock::datetime(clock::now_ms())),
            );
        }
    }
}

/// A text value, `null` for none or empty (Salesforce stores an empty text as `null`).
fn optional_text(text: Option<&str>) -> Value {
    match text {
        Some(text) if !text.is_empty() => Value::from(text),
        _ => Value::Null,
    }
}

/// An id as given by a test, in its 18-character form when it is a well-formed id.
fn reference(id: &str) -> Value {
    if id.is_empty() {
        return Value::Null;
    }
    Value::from(to_eighteen(id).unwrap_or_else(|| id.to_owned()))
}

/// A double as JSON; a value JSON cannot hold (NaN, infinity) becomes `null`.
pub(crate) fn number_value(number: f64) -> Value {
    serde_json::Number::from_f64(number).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_gets_items_entries_and_totals() {
        let mut org = Org::new(Catalog::repository().expect("the repository's project"));
        let account = org.add_account("Acme", Some("42"));
        let product = org.add_product("VPS Small", Some("7"), Some("Monthly"));
        let pricebook = org.standard_pricebook_id().to_owned();
        let order = org.add_order(&NewOrder {
            account_id: account[..15].to_owned(),
            pricebook_id: pricebook.clone(),
            items: vec![
                NewItem {
                    product_id: product.clone(),
                    quantity: 3.0,
                    unit_price: 40.0,
                },
                NewItem {
                    product_id: product.clone(),
                    quantity: 1.0,
                    unit_price: 40.0,
                },
            ],
        });

        let row = org.get("Order", &order).expect("the order");
        assert_eq!(row["AccountId"], Value::from(account));
        assert_eq!(row["Status"], "Draft");
        assert_eq!(row["StatusCode"], "Draft");
        assert_eq!(row["Activation_Status__c"], "Not Started");
        assert_eq!(row["TotalAmount"].as_f64(), Some(160.0));
        assert_eq!(row["OrderNumber"], "00000100");
        assert!(row["WHMCS_Order_ID__c"].is_null());
        assert_eq!(org.rows("OrderItem").len(), 2);
        assert_eq!(org.rows("PricebookEntry").len(), 1, "one entry per product");
        assert_eq!(org.order_id(&order[..15]), Some(order));
    }
}
