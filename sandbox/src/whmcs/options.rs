//! What a test can choose about the emulated WHMCS before it starts: credentials, who may
//! call, which gateways are active, how numbers come out, and how slow every answer is.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    time::Duration,
};

/// How ids and counts appear in JSON answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NumberStyle {
    /// Ids and counts as numeric strings (`"17"`), as PHP before 8.1 returns database columns.
    #[default]
    LegacyStrings,
    /// Ids and counts as JSON numbers, as PHP 8.1's `pdo_mysql` returns them.
    NativeInts,
}

/// Start-up options of a [`WhmcsEmulator`](super::WhmcsEmulator).
#[derive(Debug, Clone)]
pub struct WhmcsOptions {
    /// The API credential's identifier.
    pub identifier: String,
    /// The API credential's secret.
    pub secret: String,
    /// The admin username for the legacy login style.
    pub admin_username: String,
    /// The admin's plain password; clients send its MD5 in hex.
    pub admin_password: String,
    /// `$api_access_key` of `configuration.php`; a matching `accesskey` skips the IP check.
    pub access_key: Option<String>,
    /// The API IP allow-list.
    pub allowed_ips: Vec<IpAddr>,
    /// Active payment gateway modules.
    pub gateways: Vec<String>,
    /// How ids and counts are encoded.
    pub numbers: NumberStyle,
    /// Added to every answer, for benchmarks.
    pub latency: Duration,
}

impl Default for WhmcsOptions {
    fn default() -> Self {
        Self {
            identifier: "sandbox-identifier".into(),
            secret: "sandbox-secret".into(),
            admin_username: "admin".into(),
            admin_password: "sandbox-admin-password".into(),
            access_key: None,
            allowed_ips: vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ],
            gateways: vec!["banktransfer".into(), "paypal".into(), "stripe".into()],
            numbers: NumberStyle::LegacyStrings,
            latency: Duration::ZERO,
        }
    }
}

/// A client's account status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientStatus {
    /// May order.
    #[default]
    Active,
    /// May order (WHMCS only refuses closed clients).
    Inactive,
    /// AddOrder refuses the client.
    Closed,
}

impl ClientStatus {
    /// The status as WHMCS spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Inactive => "Inactive",
            Self::Closed => "Closed",
        }
    }
}

/// A client to seed.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email address.
    pub email: String,
    /// Currency code, e.g. `USD`.
    pub currency_code: String,
    /// The client's default gateway module, if any.
    pub default_gateway: Option<String>,
    /// Account status.
    pub status: ClientStatus,
}

impl Default for NewClient {
    fn default() -> Self {
        Self {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            email: "ada@example.com".into(),
            currency_code: "USD".into(),
            default_gateway: None,
            status: ClientStatus::Active,
        }
    }
}

/// How a product is paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PayType {
    /// Billed per cycle; only cycles with a price can be ordered.
    #[default]
    Recurring,
    /// One payment, priced under `monthly`; ordered as `onetime` whatever the cycle sent.
    OneTime,
    /// No payment; ordered as `free`.
    Free,
}

impl PayType {
    /// The `paytype` of GetProducts.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recurring => "recurring",
            Self::OneTime => "onetime",
            Self::Free => "free",
        }
    }
}

/// A product to seed.
#[derive(Debug, Clone)]
pub struct NewProduct {
    /// Product name.
    pub name: String,
    /// How it is paid for.
    pub paytype: PayType,
    /// USD price per cycle key (`monthly`, `quarterly`, `semiannually`, `annually`,
    /// `biennially`, `triennially`), like `"9.99"`; a missing key or `"-1.00"` disables it.
    pub pricing: Vec<(String, String)>,
}

impl Default for NewProduct {
    fn default() -> Self {
        Self {
            name: "Shared Hosting - Starter".into(),
            paytype: PayType::Recurring,
            pricing: vec![("monthly".into(), "9.99".into())],
        }
    }
}
