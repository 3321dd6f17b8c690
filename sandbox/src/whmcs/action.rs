//! Action names: how WHMCS normalises `action`, which names exist, which answer in XML when
//! `responsetype` is left out, and the dispatch of a call to its handler.

use std::net::IpAddr;

use super::{
    NumberStyle, accounts, catalog,
    form::Params,
    json::{Json, map},
    order_list, orders,
    state::World,
};

/// Lowercases and keeps only `[a-z0-9]`, then applies WHMCS's legacy renames, so `AddOrder`,
/// `addorder` and `add_order` are one action.
pub(crate) fn normalise_action(raw: &str) -> String {
    let name: String = raw
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    match name.as_str() {
        "getclientsdata" | "getclientsdatabyemail" => "getclientsdetails".to_owned(),
        _ => name,
    }
}

/// The actions the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// `AddOrder`.
    AddOrder,
    /// `AcceptOrder`.
    AcceptOrder,
    /// `CancelOrder`.
    CancelOrder,
    /// `PendingOrder`.
    PendingOrder,
    /// `FraudOrder`.
    FraudOrder,
    /// `DeleteOrder`.
    DeleteOrder,
    /// `GetOrders`.
    GetOrders,
    /// `GetOrderStatuses`.
    GetOrderStatuses,
    /// `GetClientsDetails`.
    GetClientsDetails,
    /// `GetClientsProducts`.
    GetClientsProducts,
    /// `GetPayMethods`.
    GetPayMethods,
    /// `GetPaymentMethods`.
    GetPaymentMethods,
    /// `GetProducts`.
    GetProducts,
    /// `GetInvoice`.
    GetInvoice,
    /// `WhmcsDetails`.
    WhmcsDetails,
}

impl Action {
    /// The action for a normalised name, if the emulator serves it.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "addorder" => Self::AddOrder,
            "acceptorder" => Self::AcceptOrder,
            "cancelorder" => Self::CancelOrder,
            "pendingorder" => Self::PendingOrder,
            "fraudorder" => Self::FraudOrder,
            "deleteorder" => Self::DeleteOrder,
            "getorders" => Self::GetOrders,
            "getorderstatuses" => Self::GetOrderStatuses,
            "getclientsdetails" => Self::GetClientsDetails,
            "getclientsproducts" => Self::GetClientsProducts,
            "getpaymethods" => Self::GetPayMethods,
            "getpaymentmethods" => Self::GetPaymentMethods,
            "getproducts" => Self::GetProducts,
            "getinvoice" => Self::GetInvoice,
            "whmcsdetails" => Self::WhmcsDetails,
            _ => return None,
        })
    }

    /// "Highly structured" actions answer in XML by default and refuse NVP.
    pub(crate) fn is_structured(self) -> bool {
        matches!(
            self,
            Self::GetOrders
                | Self::GetOrderStatuses
                | Self::GetClientsProducts
                | Self::GetPaymentMethods
                | Self::GetProducts
                | Self::GetInvoice
        )
    }
}

/// What a handler knows about the call besides the database.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    /// The merged parameters.
    pub(crate) params: &'a Params,
    /// How ids and counts are encoded.
    pub(crate) numbers: NumberStyle,
    /// The caller's address (stored as an order's IP).
    pub(crate) caller: IpAddr,
}

/// Runs `action` against the database and returns the whole answer, success or error.
pub(crate) fn run(action: Action, world: &mut World, call: &Call<'_>) -> Json {
    match action {
        Action::AddOrder => orders::add_order(world, call),
        Action::AcceptOrder => orders::accept_order(world, call),
        Action::CancelOrder => orders::cancel_order(world, call),
        Action::PendingOrder => orders::pending_order(world, call),
        Action::FraudOrder => orders::fraud_order(world, call),
        Action::DeleteOrder => orders::delete_order(world, call),
        Action::GetOrders => order_list::get_orders(world, call),
        Action::GetOrderStatuses => order_list::get_order_statuses(world, call),
        Action::GetClientsDetails => accounts::get_clients_details(world, call),
        Action::GetClientsProducts => accounts::get_clients_products(world, call),
        Action::GetPayMethods => accounts::get_pay_methods(world, call),
        Action::GetPaymentMethods => catalog::get_payment_methods(world, call),
        Action::GetProducts => catalog::get_products(world, call),
        Action::GetInvoice => catalog::get_invoice(world, call),
        Action::WhmcsDetails => catalog::whmcs_details(),
    }
}

/// The normal error envelope, sent with HTTP 200.
pub(crate) fn error(message: impl Into<String>) -> Json {
    map([
        ("result", Json::str("error")),
        ("message", Json::Str(message.into())),
    ])
}

/// `{"result":"success"}`.
pub(crate) fn success() -> Json {
    map([("result", Json::str("success"))])
}

/// PHP's `(int)` of a parameter: leading digits after optional spaces, else 0.
pub(crate) fn php_int(text: Option<&str>) -> u64 {
    let digits: String = text
        .unwrap_or_default()
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or(if digits.is_empty() { 0 } else { u64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_like_whmcs() {
        assert_eq!(normalise_action("Add_Order"), "addorder");
        assert_eq!(normalise_action(" GetClientsData "), "getclientsdetails");
        assert_eq!(normalise_action("-"), "");
        assert_eq!(Action::from_name("addorder"), Some(Action::AddOrder));
        assert_eq!(Action::from_name("addclient"), None);
    }

    #[test]
    fn php_int_reads_leading_digits() {
        assert_eq!(php_int(Some(" 17abc")), 17);
        assert_eq!(php_int(Some("abc")), 0);
        assert_eq!(php_int(None), 0);
    }
}
