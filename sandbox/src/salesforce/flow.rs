//! The org's automation around provisioning: the Record-Triggered Flow that runs when an Order
//! is approved, the "Provision / Retry" action, and the platform event
//! `OrderProvisionRequested__e` they publish.
//!
//! Published events are kept in order for assertions and broadcast to subscribers (the Pub/Sub
//! API emulator). Changes the integration user makes over REST never start the Flow: its entry
//! condition skips them.

use serde_json::Value;
use tokio::sync::broadcast;

use super::{clock, org::Org};

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
}
