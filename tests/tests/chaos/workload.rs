//! The traffic of a chaos run: Orders in the emulated org (each a customer's in WHMCS too, with
//! a pay method and mapped products), and a plan of platform events for them, published a batch
//! at a time while the nemesis works.
//!
//! Each Order is approved once (the Flow sets `Activating` and publishes); the other events are
//! repeats on purpose: the same Order's event published again (a Flow that fired twice), or the
//! Order approved again, which sets `Activating` again even when it was `Activated` already. An
//! Order's repeats always come after its approval, so every event has an approved Order.

use std::collections::{HashMap, VecDeque};

use sandbox::{demo::world::World, pubsub::LedgerEntry};

use crate::knobs::Rng;

/// Orders per WHMCS client: several, so the search for an earlier order by its marker looks
/// through other orders of the same client.
const ORDERS_PER_CUSTOMER: usize = 5;

/// One planned event.
#[derive(Debug, Clone, Copy)]
enum Planned {
    /// The Order's approval.
    Approve(usize),
    /// The same Order's event once more.
    Duplicate(usize),
    /// The Order approved again.
    Reapprove(usize),
}

/// The Orders and the events still to publish.
pub(crate) struct Workload {
    /// Every Order, 18-character ids.
    pub(crate) orders: Vec<String>,
    plan: VecDeque<Planned>,
    /// The Order of each event the Flow published, by EventUuid.
    by_uuid: HashMap<String, String>,
    /// The Order of each event appended directly, by replay id.
    by_replay_id: HashMap<Vec<u8>, String>,
}

impl Workload {
    /// Creates `orders` Orders in both systems and plans `events` events for them.
    pub(crate) fn create(world: &World, orders: usize, events: usize, rng: &mut Rng) -> Self {
        assert!(events >= orders, "every Order is approved at least once");
        let offerings = [
            world.offering("VPS Small", "Monthly"),
            world.offering("Backup", "Annually"),
            world.offering("Managed DNS", "Monthly"),
        ];
        let mut ids = Vec::with_capacity(orders);
        let mut customer = None;
        for index in 0..orders {
            if index % ORDERS_PER_CUSTOMER == 0 {
                customer = Some(world.customer(&format!("Chaos{index}"), true));
            }
            let account = &customer.as_ref().expect("a customer").account_id;
            let first = &offerings[index % offerings.len()];
            let second = &offerings[(index + 1) % offerings.len()];
            let items: Vec<(&str, f64)> = if index % 2 == 0 {
                vec![(&first.product_id, 1.0)]
            } else {
                vec![(&first.product_id, 2.0), (&second.product_id, 1.0)]
            };
            ids.push(world.order(account, &items));
        }

        let mut plan = VecDeque::with_capacity(events);
        let mut approved = 0;
        for slot in 0..events {
            let left = events - slot;
            let unapproved = orders - approved;
            // Approvals spread evenly over the plan, and all fit in.
            if unapproved > 0 && (approved == 0 || rng.below(left) < unapproved) {
                plan.push_back(Planned::Approve(approved));
                approved += 1;
            } else {
                let order = rng.below(approved);
                plan.push_back(if rng.below(10) < 3 {
                    Planned::Reapprove(order)
                } else {
                    Planned::Duplicate(order)
                });
            }
        }
        Self {
            orders: ids,
            plan,
            by_uuid: HashMap::new(),
            by_replay_id: HashMap::new(),
        }
    }

    /// Publishes the next `count` planned events (fewer when the plan runs out); returns how
    /// many were published.
    pub(crate) fn publish(&mut self, world: &World, count: usize) -> usize {
        let mut published = 0;
        while published < count {
            let Some(next) = self.plan.pop_front() else {
                break;
            };
            match next {
                Planned::Approve(index) | Planned::Reapprove(index) => {
                    let order = &self.orders[index];
                    let event = world
                        .salesforce
                        .approve_order(order)
                        .expect("the Flow runs");
                    self.by_uuid.insert(event.event_uuid, order.clone());
                }
                Planned::Duplicate(index) => {
                    let order = &self.orders[index];
                    let replay_id = world.pubsub.publish_order_event(order);
                    self.by_replay_id.insert(replay_id, order.clone());
                }
            }
            published += 1;
        }
        published
    }

    /// Publishes everything still planned.
    pub(crate) fn publish_rest(&mut self, world: &World) {
        let rest = self.plan.len();
        self.publish(world, rest);
    }

    /// Events planned and not yet published.
    pub(crate) fn remaining(&self) -> usize {
        self.plan.len()
    }

    /// Events published so far.
    pub(crate) fn published(&self) -> usize {
        self.by_uuid.len() + self.by_replay_id.len()
    }

    /// The Order a ledger entry is for.
    pub(crate) fn order_of(&self, entry: &LedgerEntry) -> Option<&str> {
        self.by_uuid
            .get(&entry.event_uuid)
            .or_else(|| self.by_replay_id.get(&entry.replay_id))
            .map(String::as_str)
    }
}
