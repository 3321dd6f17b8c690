//! The org's automation around provisioning: the Record-Triggered Flow that runs when an Order
//! is approved or created (a clone, here), the "Provision / Retry" action, and the platform event
//! `OrderProvisionRequested__e` they publish.
//!
//! Published events are kept in order for assertions and broadcast to subscribers (the Pub/Sub
//! API emulator). Changes the integration user makes over REST never start the Flow: its entry
//! condition skips them.

use serde_json::Value;
use tokio::sync::broadcast;

use super::{
    clock,
    org::{NewItem, NewOrder, Org, Row},
};

/// The platform event's API name.
pub(crate) const EVENT_NAME: &str = "OrderProvisionRequested__e";

/// How many events a slow subscriber may fall behind before it misses some.
const BROADCAST_CAPACITY: usize = 4096;

/// One published `OrderProvisionRequested__e`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedEvent {
    /// `EventUuid`, a UUID v4 in text form; also the `message` of the REST publish result.
    pub event_uuid: String,
    /// `OrderId__c`: the 18-character Order id.
    pub order_id: String,
    /// `CreatedDate`, milliseconds since the Unix epoch.
    pub created_date_ms: i64,
    /// `CreatedById`: the user whose action published it.
    pub created_by_id: String,
}

/// Why the Flow or the retry action did nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    /// No Order has that id.
    #[error("no Order has that id")]
    NoSuchOrder,
    /// The Order is `Activating` already; the retry action shows this toast.
    #[error("Already in progress")]
    AlreadyInProgress,
}

/// Events published so far, and their subscribers.
#[derive(Debug)]
pub(crate) struct EventBus {
    published: Vec<PublishedEvent>,
    sender: broadcast::Sender<PublishedEvent>,
}

impl EventBus {
    pub(crate) fn new() -> Self {
        let (sender, _) = broadcast::channel(BROADCAST_CAPACITY);
        Self {
            published: Vec::new(),
            sender,
        }
    }

    /// Publishes an event for `order_id` created by `user_id`.
    pub(crate) fn publish(&mut self, order_id: &str, user_id: &str) -> PublishedEvent {
        let event = PublishedEvent {
            event_uuid: uuid::Uuid::new_v4().to_string(),
            order_id: order_id.to_owned(),
            created_date_ms: clock::now_ms(),
            created_by_id: user_id.to_owned(),
        };
        self.published.push(event.clone());
        // Nobody listening is normal: events stay in `published` for later assertions.
        let _ = self.sender.send(event.clone());
        event
    }

    pub(crate) fn published(&self) -> Vec<PublishedEvent> {
        self.published.clone()
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<PublishedEvent> {
        self.sender.subscribe()
    }
}

/// What approving does, as `salesforce/` ships it: the Order's standard `Status` becomes
/// `Activated`, the before-save Flow sets `Activating` and clears the error fields, and the
/// after-save Flow publishes the event.
///
/// The shipped Flow skips an Order that is already `Activating` or `Activated`; the emulator
/// publishes again when asked to approve twice, so tests can stand a duplicate publication
/// (another automation saving the Order in the same transaction) against the bridge.
pub(crate) fn approve(
    org: &mut Org,
    bus: &mut EventBus,
    order_id: &str,
    approver: &str,
) -> Result<PublishedEvent, FlowError> {
    let id = org.order_id(order_id).ok_or(FlowError::NoSuchOrder)?;
    if let Some(row) = org.get_mut("Order", &id) {
        row.insert("Status".into(), Value::from("Activated"));
        row.insert("StatusCode".into(), Value::from("Activated"));
    }
    set_activating(org, &id);
    Ok(bus.publish(&id, approver))
}

/// The "Provision / Retry" action: refused while the Order is `Activating`; otherwise sets
/// `Activating`, clears the last error, and the Flow publishes.
pub(crate) fn retry(
    org: &mut Org,
    bus: &mut EventBus,
    order_id: &str,
    operator: &str,
) -> Result<PublishedEvent, FlowError> {
    let id = org.order_id(order_id).ok_or(FlowError::NoSuchOrder)?;
    let status = org
        .get("Order", &id)
        .and_then(|row| row.get("Activation_Status__c"))
        .and_then(Value::as_str);
    if status == Some("Activating") {
        return Err(FlowError::AlreadyInProgress);
    }
    set_activating(org, &id);
    Ok(bus.publish(&id, operator))
}

/// What the shipped before-save Flow does to a new Order: nothing a clone copied stays (no
/// error, no WHMCS order); an Order saved approved (`Status` `Activated`) becomes `Activating`
/// and the after-save Flow publishes its event, any other starts `Not Started`.
fn created(org: &mut Org, bus: &mut EventBus, id: &str, creator: &str) -> Option<PublishedEvent> {
    let row = org.get_mut("Order", id)?;
    let approved = row.get("Status").and_then(Value::as_str) == Some("Activated");
    for (name, value) in [
        ("Activation_Status__c", Value::from("Not Started")),
        ("Activation_Error_Code__c", Value::Null),
        ("Activation_Error_Message__c", Value::Null),
        ("WHMCS_Order_ID__c", Value::Null),
    ] {
        // Only fields the org has: a project without one of them leaves it out of every row.
        if let Some(field) = row.get_mut(name) {
            *field = value;
        }
    }
    if !approved {
        return None;
    }
    set_activating(org, id);
    Some(bus.publish(id, creator))
}

/// Clones an Order as a user does in Salesforce, by `cloner`: a new Order with every field a
/// user can edit copied (account, price book, start date, the custom fields, the activation
/// fields among them) and copies of its order products, as Salesforce Classic's clone makes them
/// (Lightning Experience's copies no order products). Then the Flow's create rules apply.
///
/// `Status` is not copied: the clone is saved Draft, since activating needs order products and a
/// new Order has none until it is saved. `None` when no Order has that id.
pub(crate) fn clone_order(
    org: &mut Org,
    bus: &mut EventBus,
    order_id: &str,
    cloner: &str,
) -> Option<String> {
    let id = org.order_id(order_id)?;
    let original = org.get("Order", &id)?.clone();
    let reference = |row: &Row, name: &str| {
        row.get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let items = org
        .rows("OrderItem")
        .iter()
        .filter(|item| item.get("OrderId").and_then(Value::as_str) == Some(id.as_str()))
        .map(|item| NewItem {
            product_id: reference(item, "Product2Id"),
            quantity: item.get("Quantity").and_then(Value::as_f64).unwrap_or(0.0),
            unit_price: item.get("UnitPrice").and_then(Value::as_f64).unwrap_or(0.0),
        })
        .collect();
    let clone = org.add_order(&NewOrder {
        account_id: reference(&original, "AccountId"),
        pricebook_id: reference(&original, "Pricebook2Id"),
        items,
    });
    let def = org.catalog().object("Order")?;
    let row = org.get_mut("Order", &clone)?;
    for field in def
        .fields
        .iter()
        .filter(|f| f.writable && f.name != "Status")
    {
        if let Some(value) = original.get(field.name) {
            row.insert(field.name.to_owned(), value.clone());
        }
    }
    created(org, bus, &clone, cloner);
    Some(clone)
}

/// `Activating`, with the last error cleared.
fn set_activating(org: &mut Org, id: &str) {
    if let Some(row) = org.get_mut("Order", id) {
        row.insert("Activation_Status__c".into(), Value::from("Activating"));
        row.insert("Activation_Error_Code__c".into(), Value::Null);
        row.insert("Activation_Error_Message__c".into(), Value::Null);
    }
    if let Some(def) = org.catalog().object("Order") {
        org.touch(def, id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::{org::NewOrder, schema::Catalog};

    fn new_org() -> Org {
        Org::new(Catalog::repository().expect("the repository's project"))
    }

    fn order(org: &mut Org) -> String {
        org.add_order(&NewOrder {
            account_id: String::new(),
            pricebook_id: String::new(),
            items: vec![],
        })
    }

    fn field(org: &Org, id: &str, name: &str) -> Value {
        org.get("Order", id).expect("order")[name].clone()
    }

    #[test]
    fn approval_sets_activating_and_publishes_the_full_id() {
        let mut org = new_org();
        let mut bus = EventBus::new();
        let mut listener = bus.subscribe();
        let id = order(&mut org);

        let event = approve(&mut org, &mut bus, &id[..15], "005APPROVER").expect("approved");
        assert_eq!(event.order_id, id);
        assert_eq!(event.created_by_id, "005APPROVER");
        assert!(uuid::Uuid::parse_str(&event.event_uuid).is_ok());
        assert_eq!(field(&org, &id, "Activation_Status__c"), "Activating");
        assert_eq!(field(&org, &id, "Status"), "Activated");
        assert_eq!(field(&org, &id, "StatusCode"), "Activated");
        assert_eq!(field(&org, &id, "Activation_Error_Code__c"), Value::Null);
        assert_eq!(listener.try_recv().ok(), Some(event.clone()));
        assert_eq!(bus.published(), vec![event]);
        assert_eq!(
            approve(&mut org, &mut bus, "801000000000000", "005X"),
            Err(FlowError::NoSuchOrder)
        );
    }

    #[test]
    fn retry_is_refused_while_activating_and_clears_errors_otherwise() {
        let mut org = new_org();
        let mut bus = EventBus::new();
        let id = order(&mut org);
        approve(&mut org, &mut bus, &id, "005A").expect("approved");
        assert_eq!(
            retry(&mut org, &mut bus, &id, "005A"),
            Err(FlowError::AlreadyInProgress)
        );
        assert_eq!(bus.published().len(), 1);

        let row = org.get_mut("Order", &id).expect("order");
        row.insert("Activation_Status__c".into(), Value::from("Failed"));
        row.insert("Activation_Error_Code__c".into(), Value::from("409"));
        row.insert(
            "Activation_Error_Message__c".into(),
            Value::from("Payment method missing"),
        );
        let event = retry(&mut org, &mut bus, &id, "005A").expect("retried");
        assert_eq!(event.order_id, id);
        assert_eq!(field(&org, &id, "Activation_Status__c"), "Activating");
        assert_eq!(field(&org, &id, "Activation_Error_Code__c"), Value::Null);
        assert_eq!(field(&org, &id, "Activation_Error_Message__c"), Value::Null);
        assert_eq!(bus.published().len(), 2);
    }

    /// An approved Order the bridge provisioned, with two order products.
    fn provisioned(org: &mut Org, bus: &mut EventBus) -> String {
        let account = org.add_account("Acme", Some("42"));
        let small = org.add_product("VPS Small", Some("7"), Some("Monthly"));
        let large = org.add_product("VPS Large", Some("8"), Some("Annually"));
        let item = |product_id: &str, quantity, unit_price| NewItem {
            product_id: product_id.to_owned(),
            quantity,
            unit_price,
        };
        let id = org.add_order(&NewOrder {
            account_id: account,
            pricebook_id: org.standard_pricebook_id().to_owned(),
            items: vec![item(&small, 3.0, 40.0), item(&large, 1.0, 400.0)],
        });
        approve(org, bus, &id, "005APPROVER").expect("approved");
        let row = org.get_mut("Order", &id).expect("order");
        row.insert("Activation_Status__c".into(), Value::from("Activated"));
        row.insert("WHMCS_Order_ID__c".into(), Value::from("1042"));
        id
    }

    fn items_of(org: &Org, order: &str) -> Vec<(Value, Value, Value)> {
        org.rows("OrderItem")
            .iter()
            .filter(|item| item["OrderId"] == order)
            .map(|item| {
                let field = |name: &str| item[name].clone();
                (field("Product2Id"), field("Quantity"), field("UnitPrice"))
            })
            .collect()
    }

    #[test]
    fn a_clone_copies_the_order_and_its_items_but_starts_clean() {
        let mut org = new_org();
        let mut bus = EventBus::new();
        let id = provisioned(&mut org, &mut bus);

        let clone = clone_order(&mut org, &mut bus, &id[..15], "005CLONER").expect("cloned");
        assert_ne!(clone, id);
        for copied in ["AccountId", "Pricebook2Id", "EffectiveDate", "TotalAmount"] {
            assert_eq!(
                field(&org, &clone, copied),
                field(&org, &id, copied),
                "{copied}"
            );
        }
        assert_ne!(
            field(&org, &clone, "OrderNumber"),
            field(&org, &id, "OrderNumber")
        );
        assert_eq!(field(&org, &clone, "Status"), "Draft");
        assert_eq!(field(&org, &clone, "StatusCode"), "Draft");
        assert_eq!(field(&org, &clone, "Activation_Status__c"), "Not Started");
        assert_eq!(field(&org, &clone, "WHMCS_Order_ID__c"), Value::Null);
        assert_eq!(items_of(&org, &clone), items_of(&org, &id));
        assert_eq!(items_of(&org, &clone).len(), 2);
        assert_eq!(bus.published().len(), 1, "only the original's approval");

        // The original keeps what the bridge wrote.
        assert_eq!(field(&org, &id, "Activation_Status__c"), "Activated");
        assert_eq!(field(&org, &id, "WHMCS_Order_ID__c"), "1042");
        assert_eq!(
            clone_order(&mut org, &mut bus, "801000000000000", "005X"),
            None
        );
    }

    #[test]
    fn a_clone_of_an_order_being_provisioned_or_failed_publishes_nothing() {
        let mut org = new_org();
        let mut bus = EventBus::new();
        let id = order(&mut org);
        approve(&mut org, &mut bus, &id, "005A").expect("approved");
        let activating = clone_order(&mut org, &mut bus, &id, "005A").expect("cloned");
        assert_eq!(
            field(&org, &activating, "Activation_Status__c"),
            "Not Started"
        );

        let row = org.get_mut("Order", &id).expect("order");
        row.insert("Activation_Status__c".into(), Value::from("Failed"));
        row.insert("Activation_Error_Code__c".into(), Value::from("409"));
        row.insert("Activation_Error_Message__c".into(), Value::from("No card"));
        let failed = clone_order(&mut org, &mut bus, &id, "005A").expect("cloned");
        assert_eq!(field(&org, &failed, "Activation_Status__c"), "Not Started");
        assert_eq!(
            field(&org, &failed, "Activation_Error_Code__c"),
            Value::Null
        );
        assert_eq!(
            field(&org, &failed, "Activation_Error_Message__c"),
            Value::Null
        );
        assert_eq!(bus.published().len(), 1, "only the approval");

        // Approving the clone provisions it like any Order.
        let event = approve(&mut org, &mut bus, &failed, "005A").expect("approved");
        assert_eq!(event.order_id, failed);
        assert_eq!(field(&org, &failed, "Activation_Status__c"), "Activating");
    }

    #[test]
    fn a_new_order_saved_approved_becomes_activating_with_one_event() {
        let mut org = new_org();
        let mut bus = EventBus::new();
        let id = provisioned(&mut org, &mut bus);
        let copy = order(&mut org);
        let original = org.get("Order", &id).expect("order").clone();
        let row = org.get_mut("Order", &copy).expect("order");
        for name in ["Status", "Activation_Status__c", "WHMCS_Order_ID__c"] {
            row.insert(name.into(), original[name].clone());
        }

        let event = created(&mut org, &mut bus, &copy, "005CREATOR").expect("published");
        assert_eq!(event.order_id, copy);
        assert_eq!(event.created_by_id, "005CREATOR");
        assert_eq!(field(&org, &copy, "Activation_Status__c"), "Activating");
        assert_eq!(field(&org, &copy, "WHMCS_Order_ID__c"), Value::Null);
        assert_eq!(bus.published().len(), 2);
    }
}
