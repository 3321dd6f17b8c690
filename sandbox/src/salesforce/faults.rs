//! Faults a test can inject: the next matching requests get an error array, an OAuth error, an
//! HTML page, or a delay instead of (or before) the emulator's normal answer.
//!
//! A fault answers in place of Salesforce before anything else happens to the request
//! (authentication, API usage, the change a `PATCH` would make), as a maintenance page or a
//! proxy would; a [`RestFault::Delay`] lets the request through afterwards.

use std::time::Duration;

/// Which requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestTarget {
    /// `POST /services/oauth2/token`.
    Token,
    /// `GET …/query?q=` and `GET …/query/<locator>` (the next pages).
    Query,
    /// `PATCH …/sobjects/Order/<id>`.
    PatchOrder,
    /// Every request.
    Any,
}

/// What the faulty answer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestFault {
    /// A Salesforce error array `[{"message", "errorCode", "fields": []}]` with this status.
    ApiError {
        /// The HTTP status.
        status: u16,
        /// The `errorCode`, e.g. `UNABLE_TO_LOCK_ROW`.
        error_code: String,
        /// The `message`.
        message: String,
    },
    /// The token endpoint's HTTP 400 `{"error", "error_description"}`.
    OAuthError {
        /// The `error`, e.g. `rate_limit_exceeded`.
        error: String,
        /// The `error_description`.
        description: String,
    },
    /// An HTML page with this status, as a maintenance window or a proxy answers.
    Html(u16),
    /// Answer normally after this long (a `PATCH` is applied only after it).
    Delay(Duration),
}

/// How many matching requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    /// The next one.
    Once,
    /// The next `n`.
    Times(usize),
    /// Every one, until [`crate::salesforce::SalesforceEmulator::clear_faults`].
    Always,
}

/// The kind of request, as far as fault targets tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestKind {
    Token,
    Query,
    PatchOrder,
    Other,
}

impl RestTarget {
    fn matches(self, kind: RequestKind) -> bool {
        match self {
            Self::Any => true,
            Self::Token => kind == RequestKind::Token,
            Self::Query => kind == RequestKind::Query,
            Self::PatchOrder => kind == RequestKind::PatchOrder,
        }
    }
}

#[derive(Debug)]
struct Rule {
    target: RestTarget,
    fault: RestFault,
    remaining: Option<usize>,
}

/// The injected faults, in the order they were injected.
#[derive(Debug, Default)]
pub(crate) struct FaultPlan {
    rules: Vec<Rule>,
}

impl FaultPlan {
    /// Adds a fault after those already planned.
    pub(crate) fn inject(&mut self, target: RestTarget, fault: RestFault, times: Times) {
        let remaining = match times {
            Times::Once => Some(1),
            Times::Times(0) => return,
            Times::Times(n) => Some(n),
            Times::Always => None,
        };
        self.rules.push(Rule {
            target,
            fault,
            remaining,
        });
    }

    /// Forgets every planned fault.
    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    /// The fault for a request of `kind`: the earliest planned one that matches, used up by
    /// one.
    pub(crate) fn take(&mut self, kind: RequestKind) -> Option<RestFault> {
        let index = self
            .rules
            .iter()
            .position(|rule| rule.target.matches(kind))?;
        let rule = &mut self.rules[index];
        let fault = rule.fault.clone();
        if let Some(remaining) = rule.remaining.as_mut() {
            *remaining -= 1;
            if *remaining == 0 {
                self.rules.remove(index);
            }
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(status: u16) -> RestFault {
        RestFault::Html(status)
    }

    #[test]
    fn faults_are_used_up_in_order_and_only_by_matching_requests() {
        let mut plan = FaultPlan::default();
        plan.inject(RestTarget::Query, html(503), Times::Times(2));
        plan.inject(RestTarget::Any, html(502), Times::Once);

        assert_eq!(plan.take(RequestKind::PatchOrder), Some(html(502)));
        assert_eq!(plan.take(RequestKind::PatchOrder), None);
        assert_eq!(plan.take(RequestKind::Query), Some(html(503)));
        assert_eq!(plan.take(RequestKind::Query), Some(html(503)));
        assert_eq!(plan.take(RequestKind::Query), None);
    }

    #[test]
    fn always_lasts_until_cleared_and_zero_times_is_nothing() {
        let mut plan = FaultPlan::default();
        plan.inject(RestTarget::Token, html(500), Times::Times(0));
        assert_eq!(plan.take(RequestKind::Token), None);
        plan.inject(RestTarget::Token, html(500), Times::Always);
        for _ in 0..5 {
            assert_eq!(plan.take(RequestKind::Token), Some(html(500)));
        }
        plan.clear();
        assert_eq!(plan.take(RequestKind::Token), None);
    }
}
