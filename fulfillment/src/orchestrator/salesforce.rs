//! The Order as fulfillment reads and writes it: the guard's read, the details query, and the
//! write-backs of `Activation_Status__c` and its companions.
//!
//! Every SOQL text is built from a [`SalesforceId`], which only ever holds letters and digits,
//! so nothing a caller sends reaches a query unvalidated.

use bridge_runtime::salesforce::{QueryResult, RestClient, RestError, SalesforceId};
use serde::Deserialize;
use serde_json::{Value, json};

/// The most pages of OrderItems one Order's details may take. Salesforce pages child records
/// in hundreds at least, so this is far beyond any real Order; it bounds a server that keeps
/// answering `done: false` (with the same `nextRecordsUrl`, say), which would otherwise loop
/// and accumulate items for ever.
const MAX_ITEM_PAGES: usize = 100;

/// The Order's fields the guard reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderStatus {
    /// `Activation_Status__c`; empty when not set.
    pub activation_status: String,
    /// Whether `Activation_Error_Code__c` or `Activation_Error_Message__c` holds anything.
    pub has_error_fields: bool,
    /// `WHMCS_Order_ID__c`, when set.
    pub whmcs_order_id: Option<String>,
}

/// One OrderItem with what mapping needs.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    /// The OrderItem id.
    pub id: String,
    /// `Quantity`.
    pub quantity: Option<f64>,
    /// `Product2.Name`.
    pub product_name: String,
    /// `Product2.WH_Product_ID__c`.
    pub whmcs_product_id: Option<String>,
    /// `Product2.Billing_Cycle__c`.
    pub billing_cycle: Option<String>,
}

/// What the `order_details` step reads.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderDetails {
    /// `Pricebook2Id`.
    pub pricebook_id: Option<String>,
    /// `Account.WH_Client_ID__c`.
    pub whmcs_client_id: Option<String>,
    /// Every OrderItem, over all pages.
    pub items: Vec<OrderItem>,
}

/// One row of the guard's query, as Salesforce sends it.
#[derive(Debug, Deserialize)]
pub struct StatusRow {
    #[serde(rename = "Activation_Status__c", default)]
    activation_status: Option<String>,
    #[serde(rename = "Activation_Error_Code__c", default)]
    error_code: Option<String>,
    #[serde(rename = "Activation_Error_Message__c", default)]
    error_message: Option<String>,
    #[serde(rename = "WHMCS_Order_ID__c", default)]
    whmcs_order_id: Option<String>,
}

/// One row of the details query, as Salesforce sends it: the Order with the first page of its
/// items.
#[derive(Debug, Deserialize)]
pub struct DetailsRow {
    #[serde(rename = "Pricebook2Id", default)]
    pricebook_id: Option<String>,
    #[serde(rename = "Account", default)]
    account: Option<AccountRow>,
    #[serde(rename = "OrderItems", default)]
    items: Option<QueryResult<ItemRow>>,
}

#[derive(Debug, Deserialize)]
struct AccountRow {
    #[serde(rename = "WH_Client_ID__c", default)]
    whmcs_client_id: Option<String>,
}

/// One OrderItem row of the details query or of a further page of items.
#[derive(Debug, Deserialize)]
pub struct ItemRow {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Quantity", default)]
    quantity: Option<f64>,
    #[serde(rename = "Product2", default)]
    product: Option<ProductRow>,
}

#[derive(Debug, Deserialize)]
struct ProductRow {
    #[serde(rename = "Name", default)]
    name: Option<String>,
    #[serde(rename = "WH_Product_ID__c", default)]
    whmcs_product_id: Option<String>,
    #[serde(rename = "Billing_Cycle__c", default)]
    billing_cycle: Option<String>,
}

impl OrderStatus {
    /// The guard's view of the first row of its query page; `None` when there is no such Order.
    pub fn from_page(page: QueryResult<StatusRow>) -> Option<Self> {
        page.records.into_iter().next().map(|row| Self {
            activation_status: row.activation_status.unwrap_or_default(),
            has_error_fields: present(row.error_code).is_some()
                || present(row.error_message).is_some(),
            whmcs_order_id: present(row.whmcs_order_id),
        })
    }
}

impl OrderItem {
    fn from_row(item: ItemRow) -> Self {
        let (name, whmcs_product_id, billing_cycle) = match item.product {
            Some(product) => (
                product.name,
                product.whmcs_product_id,
                product.billing_cycle,
            ),
            None => (None, None, None),
        };
        Self {
            id: item.id,
            quantity: item.quantity,
            product_name: name.unwrap_or_default(),
            whmcs_product_id: present(whmcs_product_id),
            billing_cycle: present(billing_cycle),
        }
    }
}

impl OrderDetails {
    /// The details in the Order's row with the items of its first page, and the
    /// `nextRecordsUrl` of the next page of items when Salesforce paged them.
    pub fn from_row(row: DetailsRow) -> (Self, Option<String>) {
        let mut details = Self {
            pricebook_id: row.pricebook_id,
            whmcs_client_id: present(row.account.and_then(|account| account.whmcs_client_id)),
            items: Vec::new(),
        };
        let next = row.items.and_then(|page| details.add_items(page));
        (details, next)
    }

    /// Adds a page of items; the `nextRecordsUrl` of the page after it, if any.
    pub fn add_items(&mut self, page: QueryResult<ItemRow>) -> Option<String> {
        self.items
            .extend(page.records.into_iter().map(OrderItem::from_row));
        match (page.done, page.next_records_url) {
            (false, Some(next)) => Some(next),
            _ => None,
        }
    }
}

/// The Order as seen through the REST API.
#[derive(Clone)]
pub struct OrderRecords {
    rest: RestClient,
}

fn present(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.trim().is_empty())
}

impl OrderRecords {
    /// Reads and writes Orders through `rest`.
    pub fn new(rest: RestClient) -> Self {
        Self { rest }
    }

    /// The REST client in use.
    pub fn rest(&self) -> &RestClient {
        &self.rest
    }

    /// The guard's read; `None` when there is no such Order.
    pub async fn status(&self, order_id: &SalesforceId) -> Result<Option<OrderStatus>, RestError> {
        let soql = format!(
            "SELECT Id, Activation_Status__c, Activation_Error_Code__c, \
             Activation_Error_Message__c, WHMCS_Order_ID__c FROM Order WHERE Id = '{order_id}'"
        );
        let result: QueryResult<StatusRow> = self.rest.query(&soql).await?;
        Ok(OrderStatus::from_page(result))
    }

    /// The Order's price book, client and items; `None` when there is no such Order.
    pub async fn details(
        &self,
        order_id: &SalesforceId,
    ) -> Result<Option<OrderDetails>, RestError> {
        let soql = format!(
            "SELECT Id, Pricebook2Id, Account.WH_Client_ID__c, \
             (SELECT Id, Quantity, Product2.Name, Product2.WH_Product_ID__c, \
             Product2.Billing_Cycle__c FROM OrderItems) FROM Order WHERE Id = '{order_id}'"
        );
        let result: QueryResult<DetailsRow> = self.rest.query(&soql).await?;
        let Some(row) = result.records.into_iter().next() else {
            return Ok(None);
        };
        let (mut details, mut next) = OrderDetails::from_row(row);
        let mut pages = 1;
        while let Some(url) = next {
            if pages >= MAX_ITEM_PAGES {
                return Err(RestError::Protocol {
                    status: 200,
                    detail: format!(
                        "the Order's items take more than {MAX_ITEM_PAGES} pages; the last page \
                         pointed at {url:?}"
                    ),
                });
            }
            next = details.add_items(self.rest.query_more(&url).await?);
            pages += 1;
        }
        Ok(Some(details))
    }

    /// `Activating`, with the error fields cleared.
    pub async fn mark_activating(&self, order_id: &SalesforceId) -> Result<(), RestError> {
        self.update(
            order_id,
            json!({
                "Activation_Status__c": "Activating",
                "Activation_Error_Code__c": null,
                "Activation_Error_Message__c": null,
            }),
        )
        .await
    }

    /// `Activated` with the WHMCS order id, errors cleared.
    pub async fn mark_activated(
        &self,
        order_id: &SalesforceId,
        whmcs_order_id: &str,
    ) -> Result<(), RestError> {
        self.update(
            order_id,
            json!({
                "Activation_Status__c": "Activated",
                "WHMCS_Order_ID__c": whmcs_order_id,
                "Activation_Error_Code__c": null,
                "Activation_Error_Message__c": null,
            }),
        )
        .await
    }

    /// `Failed` with the code and message.
    pub async fn mark_failed(
        &self,
        order_id: &SalesforceId,
        code: &str,
        message: &str,
    ) -> Result<(), RestError> {
        self.update(
            order_id,
            json!({
                "Activation_Status__c": "Failed",
                "Activation_Error_Code__c": code,
                "Activation_Error_Message__c": message,
            }),
        )
        .await
    }

    async fn update(&self, order_id: &SalesforceId, fields: Value) -> Result<(), RestError> {
        self.rest.update("Order", order_id, &fields).await
    }
}
