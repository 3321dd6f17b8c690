//! Injected faults: what goes wrong with the next calls of an action, and the queue that
//! hands each call its fault.

use std::time::Duration;

use super::action::normalise_action;

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
    /// The action runs after this delay, then the normal answer comes.
    Delay(Duration),
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

#[derive(Debug)]
struct Armed {
    action: String,
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
    pub(crate) fn arm(&mut self, action: &str, fault: Fault, times: Times) {
        let remaining = match times {
            Times::Once => Some(1),
            Times::Times(0) => return,
            Times::Times(count) => Some(count),
            Times::Always => None,
        };
        self.armed.push(Armed {
            action: normalise_action(action),
            fault,
            remaining,
        });
    }

    /// The fault for one call of the (normalised) `action`, used up by taking it.
    pub(crate) fn take(&mut self, action: &str) -> Option<Fault> {
        let position = self.armed.iter().position(|armed| armed.action == action)?;
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

    #[test]
    fn faults_are_used_up_in_order_per_action() {
        let mut book = FaultBook::default();
        book.arm("AddOrder", Fault::Oops, Times::Times(2));
        book.arm("add_order", Fault::Reset, Times::Once);
        book.arm("GetOrders", Fault::Status(503), Times::Always);
        assert_eq!(book.take("addorder"), Some(Fault::Oops));
        assert_eq!(book.take("addorder"), Some(Fault::Oops));
        assert_eq!(book.take("addorder"), Some(Fault::Reset));
        assert_eq!(book.take("addorder"), None);
        for _ in 0..5 {
            assert_eq!(book.take("getorders"), Some(Fault::Status(503)));
        }
        book.clear();
        assert_eq!(book.take("getorders"), None);
    }

    #[test]
    fn zero_times_arms_nothing() {
        let mut book = FaultBook::default();
        book.arm("AddOrder", Fault::Oops, Times::Times(0));
        assert_eq!(book.take("addorder"), None);
    }
}
