//! The case table: every outbound call fulfillment makes, every fault, and what the runbook's
//! error table says each pair must end in.

use std::fmt;

/// One outbound call of a run, in the order a run makes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// `POST /services/oauth2/token`, the JWT bearer grant (after the session expired).
    Token,
    /// The guard's SOQL read of `Activation_Status__c`.
    GuardQuery,
    /// The `order_details` SOQL query (the Order, its Account and its OrderItems).
    DetailsQuery,
    /// `PATCH` Order `Activating` (`sf_status_update`, for an Order that is not yet).
    PatchActivating,
    /// `PATCH` Order `Activated` (`sf_success_update`).
    PatchActivated,
    /// `PATCH` Order `Failed`, the write of a failure (here: 409 Payment method missing).
    PatchFailed,
    /// WHMCS `GetClientsDetails`.
    ClientDetails,
    /// WHMCS `GetProducts`.
    Products,
    /// WHMCS `GetPayMethods`.
    PayMethods,
    /// WHMCS `GetOrders`, the search for the notes marker before `AddOrder`.
    OrderSearch,
    /// WHMCS `AddOrder`.
    AddOrder,
    /// WHMCS `AcceptOrder`.
    AcceptOrder,
}

impl Call {
    /// Every call.
    pub(crate) const ALL: [Self; 12] = [
        Self::Token,
        Self::GuardQuery,
        Self::DetailsQuery,
        Self::PatchActivating,
        Self::PatchActivated,
        Self::PatchFailed,
        Self::ClientDetails,
        Self::Products,
        Self::PayMethods,
        Self::OrderSearch,
        Self::AddOrder,
        Self::AcceptOrder,
    ];

    /// How a failure of this call shows.
    pub(crate) fn reach(self) -> Reach {
        match self {
            Self::Token => Reach::Unavailable("SALESFORCE_AUTH_FAILED"),
            Self::GuardQuery => Reach::Unavailable("SALESFORCE_UNAVAILABLE"),
            Self::PatchFailed => Reach::Unwritten,
            Self::PatchActivating => Reach::Order("sf_status_update"),
            Self::DetailsQuery => Reach::Order("order_details"),
            Self::ClientDetails | Self::Products | Self::PayMethods => Reach::Order("mapping"),
            Self::OrderSearch | Self::AddOrder => Reach::Order("whmcs_create"),
            Self::AcceptOrder => Reach::Order("whmcs_accept"),
            Self::PatchActivated => Reach::Order("sf_success_update"),
        }
    }

    /// The WHMCS action, for WHMCS calls.
    pub(crate) fn whmcs_action(self) -> Option<&'static str> {
        match self {
            Self::ClientDetails => Some("GetClientsDetails"),
            Self::Products => Some("GetProducts"),
            Self::PayMethods => Some("GetPayMethods"),
            Self::OrderSearch => Some("GetOrders"),
            Self::AddOrder => Some("AddOrder"),
            Self::AcceptOrder => Some("AcceptOrder"),
            _ => None,
        }
    }

    /// Whether the call's failure can only be seen in the process-wide `/health`, so its cases
    /// run one at a time.
    pub(crate) fn is_process_wide(self) -> bool {
        !matches!(self.reach(), Reach::Order(_))
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Token => "SF token",
            Self::GuardQuery => "SF query (guard)",
            Self::DetailsQuery => "SF query (details)",
            Self::PatchActivating => "SF PATCH Activating",
            Self::PatchActivated => "SF PATCH Activated",
            Self::PatchFailed => "SF PATCH Failed",
            _ => self.whmcs_action().unwrap_or("?"),
        };
        f.write_str(name)
    }
}

/// Where the failure of a call shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Before any write: the RPC answers `UNAVAILABLE` with this `ErrorInfo` reason, the
    /// Order and the journal are untouched, `/health` carries the code, and delivering the
    /// event again completes the Order.
    Unavailable(&'static str),
    /// On the Order: `Failed` at this step with the fault's code.
    Order(&'static str),
    /// The failure's own write failed: `OUTCOME_FAILED` with `salesforce_updated` false, the
    /// journal owes the write, `/health` carries the code, and the next `Fulfill` writes it.
    Unwritten,
}

/// What goes wrong with the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// HTTP 503 with an HTML page (maintenance, a proxy).
    Status503,
    /// HTTP 429 with an HTML page (a gateway's rate limit).
    Status429,
    /// No answer within the deadline. For AddOrder and AcceptOrder, WHMCS did the work first
    /// (the order is created or accepted), the worst case for exactly-once.
    Timeout,
    /// No answer within the deadline, and WHMCS never did the work (AddOrder, AcceptOrder).
    TimeoutBeforeWork,
    /// No answer within the deadline, and WHMCS does the work a little later, after the caller
    /// gave up but before the product's in-flight window (the deadline plus the settle time) has passed
    /// (AddOrder, AcceptOrder).
    LateWork,
    /// The connection is closed without an answer.
    Reset,
    /// A proxy's HTML page with HTTP 502.
    ProxyPage502,
    /// HTML with HTTP 200: a maintenance page, or WHMCS's PHP error without JSON.
    HtmlPage200,
    /// HTTP 200 with JSON cut off half way (WHMCS did the work).
    MalformedJson,
}

impl Fault {
    /// The faults every call meets.
    pub(crate) const EVERY_CALL: [Self; 7] = [
        Self::Status503,
        Self::Status429,
        Self::Timeout,
        Self::Reset,
        Self::ProxyPage502,
        Self::HtmlPage200,
        Self::MalformedJson,
    ];

    /// `Activation_Error_Code__c` by the runbook's table: the HTTP status of an error answer,
    /// `EPROTO` for a 2xx answer that is not the JSON expected, and the transport codes.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::Status503 => "503",
            Self::Status429 => "429",
            Self::Timeout | Self::TimeoutBeforeWork | Self::LateWork => "ETIMEOUT",
            Self::Reset => "ECONNRESET",
            Self::ProxyPage502 => "502",
            Self::HtmlPage200 | Self::MalformedJson => "EPROTO",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Status503 => "503",
            Self::Status429 => "429",
            Self::Timeout => "timeout",
            Self::TimeoutBeforeWork => "no work",
            Self::LateWork => "late work",
            Self::Reset => "reset",
            Self::ProxyPage502 => "502 page",
            Self::HtmlPage200 => "HTML 200",
            Self::MalformedJson => "bad JSON",
        })
    }
}

/// One call meeting one fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Case {
    /// The call that meets the fault.
    pub(crate) call: Call,
    /// The fault.
    pub(crate) fault: Fault,
}

impl Case {
    /// WHMCS orders of the case's client once the failed run is over: the work WHMCS did
    /// before the fault answered. `None` while WHMCS may still be doing it.
    pub(crate) fn orders_after_failure(self) -> Option<usize> {
        match (self.call, self.fault) {
            (Call::AddOrder, Fault::LateWork) => None,
            (Call::AcceptOrder | Call::PatchActivated, _)
            | (Call::AddOrder, Fault::Timeout | Fault::MalformedJson) => Some(1),
            _ => Some(0),
        }
    }
}

impl Case {
    /// AddOrder calls for the case's client by the end: one, or two when the failed run's
    /// AddOrder was answered before WHMCS did any work. A retry after an AddOrder WHMCS did
    /// carry out adopts that order instead of calling AddOrder again.
    pub(crate) fn add_order_calls(self) -> usize {
        let unanswered_work = matches!(
            self.fault,
            Fault::Timeout | Fault::MalformedJson | Fault::LateWork
        );
        if self.call == Call::AddOrder && !unanswered_work {
            2
        } else {
            1
        }
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} × {}", self.call, self.fault)
    }
}

/// Every call × every fault, and the two WHMCS writes timing out with WHMCS doing the work
/// never, or late.
pub(crate) fn table() -> Vec<Case> {
    let mut cases: Vec<Case> = Call::ALL
        .iter()
        .flat_map(|&call| {
            Fault::EVERY_CALL
                .iter()
                .map(move |&fault| Case { call, fault })
        })
        .collect();
    for call in [Call::AddOrder, Call::AcceptOrder] {
        for fault in [Fault::TimeoutBeforeWork, Fault::LateWork] {
            cases.push(Case { call, fault });
        }
    }
    cases
}

/// The matrix as a table, one row a call, with the code each case observed.
pub(crate) fn render(observed: &[(Case, String)]) -> String {
    let mut faults: Vec<Fault> = Fault::EVERY_CALL.to_vec();
    faults.extend([Fault::TimeoutBeforeWork, Fault::LateWork]);
    let mut text = format!("{:<22}", "call \\ fault");
    for fault in &faults {
        text.push_str(&format!(" | {:<12}", fault.to_string()));
    }
    for call in Call::ALL {
        text.push_str(&format!("\n{:<22}", call.to_string()));
        for &fault in &faults {
            let cell = observed
                .iter()
                .find(|(case, _)| case.call == call && case.fault == fault)
                .map_or("", |(_, code)| code.as_str());
            text.push_str(&format!(" | {cell:<12}"));
        }
    }
    text
}
