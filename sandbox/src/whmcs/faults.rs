//! Injected faults: what goes wrong with the next calls of an action, and the queue that
//! hands each call its fault.
//!
//! A fault can be scoped to the calls about one client or one product ([`Scope`]), so that
//! tests running many Orders at once against one emulator can break exactly one of them.

use std::time::Duration;

use super::{action::normalise_action, form::Params, state::World};

/// Something that goes wrong with one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// That HTTP status with an HTML page from a proxy or WAF, no JSON; the action is not run.
    Status(u16),
    /// HTTP 500 with WHMCS's "Oops!" HTML page; the action is not run.
    Oops,
    /// HTTP 200 `{"result":"error","message":<text>}`; the action is not run.
    Error(String),
    /// HTTP 200 `{"warning":<text>}` without a `result` key; the action is not run.
    WarningOnly(String),
    /// The action runs; the reply is a PHP warning followed by the normal body.
    PhpWarning,
    /// HTTP 200 with only a PHP warning; the action is not run.
    PhpWarningNoJson,
    /// The action runs; HTTP 200 with the body cut off half way.
    MalformedJson,
    /// The action runs after this delay, then the normal answer comes. A caller that gives up
    /// first closes the connection, and the action never runs.
    Delay(Duration),
    /// No answer ever comes, and the action runs after this delay whether or not the caller
    /// still waits, as PHP finishes a request whose caller went away. The connection is closed
    /// unanswered at shutdown.
    LateCommit(Duration),
    /// The action runs (an order is created), then no reply ever comes: the connection stays
    /// open until the client gives up or the emulator shuts down, and is then closed unanswered.
    CommitThenHang,
    /// The connection is closed (reset) without any HTTP answer; the action is not run.
    Reset,
}

/// How many calls a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    /// The next call only.
    Once,
    /// The next `n` calls.
    Times(usize),
    /// Every call until [`clear_faults`](super::WhmcsEmulator::clear_faults).
    Always,
}

/// Which calls of an action a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every call of the action.
    Any,
    /// Calls about this client: `clientid` or `userid` names it, or `orderid` (or GetOrders'
    /// `id`) names one of its orders.
    Client(u64),
    /// Calls whose `pid` (one id or a comma-separated list) includes this product.
    Product(u64),
}

/// What one call is about, as far as a [`Scope`] tells calls apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Subject {
    client_id: Option<u64>,
    pids: Vec<u64>,
}

impl Subject {
    /// Reads the subject of a call from its parameters, looking up the client of an order the
    /// call names. Unparsable ids name nothing.
    pub(crate) fn of(params: &Params, world: &World) -> Self {
        let number = |name: &str| params.text(name).and_then(|text| text.trim().parse().ok());
        let client_id = number("clientid").or_else(|| number("userid")).or_else(|| {
            number("orderid")
                .or_else(|| number("id"))
                .and_then(|order: u64| world.orders.get(&order))
                .map(|order| order.client_id)
        });
        let pids = params
            .text("pid")
            .map(|list| {
                list.split(',')
                    .filter_map(|pid| pid.trim().parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        Self { client_id, pids }
    }
}

impl Scope {
    fn covers(self, subject: &Subject) -> bool {
        match self {
            Self::Any => true,
            Self::Client(id) => subject.client_id == Some(id),
            Self::Product(pid) => subject.pids.contains(&pid),
        }
    }
}

#[derive(Debug)]
struct Armed {
    action: String,
    scope: Scope,
    fault: Fault,
    /// Calls left; `None` for ever.
    remaining: Option<usize>,
}

/// Armed faults, first armed first served per action.
#[derive(Debug, Default)]
pub(crate) struct FaultBook {
    armed: Vec<Armed>,
}

impl FaultBook {
    /// Arms `fault` for the next `times` calls of `action` (any spelling WHMCS accepts).
    #[cfg(test)]
    pub(crate) fn arm(&mut self, action: &str, fault: Fault, times: Times) {
        self.arm_scoped(action, Scope::Any, fault, times);
    }

    /// Arms `fault` for the next `times` calls of `action` that `scope` covers.
    pub(crate) fn arm_scoped(&mut self, action: &str, scope: Scope, fault: Fault, times: Times) {
        let remaining = match times {
            Times::Once => Some(1),
            Times::Times(0) => return,
            Times::Times(count) => Some(count),
            Times::Always => None,
        };
        self.armed.push(Armed {
            action: normalise_action(action),
            scope,
            fault,
            remaining,
        });
    }

    /// The fault for one call of the (normalised) `action` about `subject`, used up by taking
    /// it.
    pub(crate) fn take(&mut self, action: &str, subject: &Subject) -> Option<Fault> {
        let position = self
            .armed
            .iter()
            .position(|armed| armed.action == action && armed.scope.covers(subject))?;
        let armed = &mut self.armed[position];
        let fault = armed.fault.clone();
        if let Some(remaining) = armed.remaining.as_mut() {
            *remaining -= 1;
            if *remaining == 0 {
                self.armed.remove(position);
            }
        }
        Some(fault)
    }

    /// Disarms everything.
    pub(crate) fn clear(&mut self) {
        self.armed.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any() -> Subject {
        Subject::default()
    }

    fn subject(query: &str, world: &World) -> Subject {
        Subject::of(&Params::parse(query.as_bytes()), world)
    }

    #[test]
    fn scoped_faults_hit_only_the_calls_about_their_client_or_product() {
        let mut world = World::new(Vec::new());
        let first = world.add_client(super::super::NewClient::default());
        let second = world.add_client(super::super::NewClient::default());
        let mut book = FaultBook::default();
        book.arm_scoped(
            "AddOrder",
            Scope::Client(second),
            Fault::Oops,
            Times::Always,
        );
        book.arm_scoped("GetProducts", Scope::Product(7), Fault::Reset, Times::Once);

        let about_first = subject(&format!("clientid={first}"), &world);
        let about_second = subject(&format!("clientid={second}"), &world);
        assert_eq!(book.take("addorder", &about_first), None);
        assert_eq!(book.take("addorder", &about_second), Some(Fault::Oops));
        assert_eq!(book.take("addorder", &any()), None, "an unscoped call");

        assert_eq!(book.take("getproducts", &subject("pid=3,8", &world)), None);
        assert_eq!(
            book.take("getproducts", &subject("pid=3,7", &world)),
            Some(Fault::Reset)
        );
        assert_eq!(book.take("getproducts", &subject("pid=7", &world)), None);
    }

    #[test]
    fn an_order_id_stands_for_the_client_of_that_order() {
        let mut world = World::new(Vec::new());
        let client = world.add_client(super::super::NewClient::default());
        let order = world.next_order_id();
        world.orders.insert(
            order,
            super::super::state::Order {
                id: order,
                order_num: 1,
                client_id: client,
                date: String::new(),
                status: "Pending".into(),
                notes: String::new(),
                payment_method: String::new(),
                service_ids: Vec::new(),
                invoice_id: None,
                amount: 0,
                ip_address: String::new(),
            },
        );
        assert_eq!(
            subject(&format!("orderid={order}"), &world).client_id,
            Some(client)
        );
        assert_eq!(
            subject(&format!("id={order}"), &world).client_id,
            Some(client)
        );
        assert_eq!(subject("orderid=999999", &world).client_id, None);
        assert_eq!(
            subject(&format!("userid={client}"), &world).client_id,
            Some(client)
        );
    }

    #[test]
    fn faults_are_used_up_in_order_per_action() {
        let mut book = FaultBook::default();
        book.arm("AddOrder", Fault::Oops, Times::Times(2));
        book.arm("add_order", Fault::Reset, Times::Once);
        book.arm("GetOrders", Fault::Status(503), Times::Always);
        assert_eq!(book.take("addorder", &any()), Some(Fault::Oops));
        assert_eq!(book.take("addorder", &any()), Some(Fault::Oops));
        assert_eq!(book.take("addorder", &any()), Some(Fault::Reset));
        assert_eq!(book.take("addorder", &any()), None);
        for _ in 0..5 {
            assert_eq!(book.take("getorders", &any()), Some(Fault::Status(503)));
        }
        book.clear();
        assert_eq!(book.take("getorders", &any()), None);
    }

    #[test]
    fn zero_times_arms_nothing() {
        let mut book = FaultBook::default();
        book.arm("AddOrder", Fault::Oops, Times::Times(0));
        assert_eq!(book.take("addorder", &any()), None);
    }
}
