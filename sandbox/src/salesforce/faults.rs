//! Faults a test can inject: the next matching requests get an error array, an OAuth error, an
//! HTML page, cut-off JSON, no answer at all (a hang or a reset connection), or a delay instead
//! of (or before) the emulator's normal answer.
//!
//! A fault answers in place of Salesforce before anything else happens to the request
//! (authentication, API usage, the change a `PATCH` would make), as a maintenance page or a
//! proxy would; a [`RestFault::Delay`] lets the request through afterwards. A fault may also be
//! limited by a [`RequestFilter`] (say, to the requests naming one Order), so that tests running
//! many Orders at once against one org can break exactly one of them.

use std::{fmt, sync::Arc, time::Duration};

use super::server::RecordedRequest;

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
    /// HTTP 200 with a JSON content type and a body cut off half way, as a proxy that dropped
    /// the end of an answer would give; nothing is applied.
    MalformedJson,
    /// No answer ever comes: the request is held until the emulator shuts down, then the
    /// connection is closed; nothing is applied. The client's deadline is what ends it.
    Hang,
    /// The connection is closed (reset) without any HTTP answer; nothing is applied.
    Reset,
}

/// Picks, among the requests a [`RestTarget`] matches, those a fault applies to.
pub type RequestFilter = Arc<dyn Fn(&RecordedRequest) -> bool + Send + Sync>;

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

struct Rule {
    target: RestTarget,
    filter: Option<RequestFilter>,
    fault: RestFault,
    remaining: Option<usize>,
}

impl Rule {
    fn matches(&self, kind: RequestKind, request: &RecordedRequest) -> bool {
        self.target.matches(kind) && self.filter.as_ref().is_none_or(|filter| filter(request))
    }
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule")
            .field("target", &self.target)
            .field("filtered", &self.filter.is_some())
            .field("fault", &self.fault)
            .field("remaining", &self.remaining)
            .finish()
    }
}

/// The injected faults, in the order they were injected.
#[derive(Debug, Default)]
pub(crate) struct FaultPlan {
    rules: Vec<Rule>,
}

impl FaultPlan {
    /// Adds a fault after those already planned.
    #[cfg(test)]
    pub(crate) fn inject(&mut self, target: RestTarget, fault: RestFault, times: Times) {
        self.inject_matching(target, None, fault, times);
    }

    /// Adds a fault for the requests of `target` that `filter` (when given) accepts.
    pub(crate) fn inject_matching(
        &mut self,
        target: RestTarget,
        filter: Option<RequestFilter>,
        fault: RestFault,
        times: Times,
    ) {
        let remaining = match times {
            Times::Once => Some(1),
            Times::Times(0) => return,
            Times::Times(n) => Some(n),
            Times::Always => None,
        };
        self.rules.push(Rule {
            target,
            filter,
            fault,
            remaining,
        });
    }

    /// Forgets every planned fault.
    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    /// The fault for `request`, of `kind`: the earliest planned one that matches, used up by
    /// one.
    pub(crate) fn take(
        &mut self,
        kind: RequestKind,
        request: &RecordedRequest,
    ) -> Option<RestFault> {
        let index = self
            .rules
            .iter()
            .position(|rule| rule.matches(kind, request))?;
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

    fn request(path: &str) -> RecordedRequest {
        RecordedRequest {
            method: "PATCH".into(),
            path: path.into(),
            soql: None,
            body: None,
            status: 0,
        }
    }

    #[test]
    fn a_filtered_fault_is_used_up_only_by_the_requests_it_accepts() {
        let mut plan = FaultPlan::default();
        let only_one: RequestFilter = Arc::new(|request| request.path.ends_with("/801A"));
        plan.inject_matching(
            RestTarget::PatchOrder,
            Some(only_one),
            RestFault::Reset,
            Times::Once,
        );
        plan.inject(RestTarget::PatchOrder, RestFault::Hang, Times::Once);

        let other = request("/sobjects/Order/801B");
        let mine = request("/sobjects/Order/801A");
        assert_eq!(
            plan.take(RequestKind::PatchOrder, &other),
            Some(RestFault::Hang)
        );
        assert_eq!(plan.take(RequestKind::PatchOrder, &other), None);
        assert_eq!(plan.take(RequestKind::Query, &mine), None, "wrong target");
        assert_eq!(
            plan.take(RequestKind::PatchOrder, &mine),
            Some(RestFault::Reset)
        );
        assert_eq!(plan.take(RequestKind::PatchOrder, &mine), None);
    }

    #[test]
    fn faults_are_used_up_in_order_and_only_by_matching_requests() {
        let mut plan = FaultPlan::default();
        plan.inject(RestTarget::Query, html(503), Times::Times(2));
        plan.inject(RestTarget::Any, html(502), Times::Once);

        assert_eq!(
            plan.take(RequestKind::PatchOrder, &request("/x")),
            Some(html(502))
        );
        assert_eq!(plan.take(RequestKind::PatchOrder, &request("/x")), None);
        assert_eq!(
            plan.take(RequestKind::Query, &request("/x")),
            Some(html(503))
        );
        assert_eq!(
            plan.take(RequestKind::Query, &request("/x")),
            Some(html(503))
        );
        assert_eq!(plan.take(RequestKind::Query, &request("/x")), None);
    }

    #[test]
    fn always_lasts_until_cleared_and_zero_times_is_nothing() {
        let mut plan = FaultPlan::default();
        plan.inject(RestTarget::Token, html(500), Times::Times(0));
        assert_eq!(plan.take(RequestKind::Token, &request("/x")), None);
        plan.inject(RestTarget::Token, html(500), Times::Always);
        for _ in 0..5 {
            assert_eq!(
                plan.take(RequestKind::Token, &request("/x")),
                Some(html(500))
            );
        }
        plan.clear();
        assert_eq!(plan.take(RequestKind::Token, &request("/x")), None);
    }
}
