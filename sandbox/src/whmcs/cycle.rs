//! Billing cycles in their three spellings (AddOrder's, the display form, the pricing key),
//! prices in cents, and the currency symbols line-item amounts are formatted with.

/// A WHMCS billing cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Cycle {
    /// A free product.
    Free,
    /// A one-time product.
    OneTime,
    /// Monthly.
    Monthly,
    /// Quarterly.
    Quarterly,
    /// Semi-annually.
    SemiAnnually,
    /// Annually.
    Annually,
    /// Biennially.
    Biennially,
    /// Triennially.
    Triennially,
}

impl Cycle {
    /// The six recurring cycles in the order WHMCS falls back through them.
    pub(crate) const RECURRING: [Self; 6] = [
        Self::Monthly,
        Self::Quarterly,
        Self::SemiAnnually,
        Self::Annually,
        Self::Biennially,
        Self::Triennially,
    ];

    /// The recurring cycle with this lowercase AddOrder / pricing name.
    pub(crate) fn recurring_from_key(key: &str) -> Option<Self> {
        Self::RECURRING.into_iter().find(|cycle| cycle.key() == key)
    }

    /// The AddOrder and pricing-key spelling (`semiannually`).
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::OneTime => "onetime",
            Self::Monthly => "monthly",
            Self::Quarterly => "quarterly",
            Self::SemiAnnually => "semiannually",
            Self::Annually => "annually",
            Self::Biennially => "biennially",
            Self::Triennially => "triennially",
        }
    }

    /// The stored and displayed spelling (`Semi-Annually`).
    pub(crate) fn display(self) -> &'static str {
        match self {
            Self::Free => "Free Account",
            Self::OneTime => "One Time",
            Self::Monthly => "Monthly",
            Self::Quarterly => "Quarterly",
            Self::SemiAnnually => "Semi-Annually",
            Self::Annually => "Annually",
            Self::Biennially => "Biennially",
            Self::Triennially => "Triennially",
        }
    }

    /// The setup-fee key of GetProducts pricing for a recurring cycle.
    pub(crate) fn setup_fee_key(self) -> &'static str {
        match self {
            Self::Free | Self::OneTime | Self::Monthly => "msetupfee",
            Self::Quarterly => "qsetupfee",
            Self::SemiAnnually => "ssetupfee",
            Self::Annually => "asetupfee",
            Self::Biennially => "bsetupfee",
            Self::Triennially => "tsetupfee",
        }
    }
}

/// Parses a price like `"9.99"` into cents; negative (the `-1.00` "disabled" marker) or
/// unreadable prices give `None`.
pub(crate) fn parse_price(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.starts_with('-') {
        return None;
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let whole: u64 = whole.parse().ok()?;
    let mut fraction: String = fraction.chars().take(2).collect();
    while fraction.len() < 2 {
        fraction.push('0');
    }
    let fraction: u64 = fraction.parse().ok()?;
    whole.checked_mul(100)?.checked_add(fraction)
}

/// A bare decimal string, as money columns come out: `"9.99"`.
pub(crate) fn format_price(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The `"-1.00"` of a disabled cycle.
pub(crate) const DISABLED_PRICE: &str = "-1.00";

/// Prefix and suffix of a currency, as WHMCS's default currency settings have them.
pub(crate) fn currency_affixes(code: &str) -> (String, String) {
    let prefix = match code {
        "USD" | "CAD" | "AUD" | "NZD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        _ => "",
    };
    (prefix.to_owned(), format!(" {code}"))
}

/// The WHMCS currency id of a code (the default install has USD as 1).
pub(crate) fn currency_id(code: &str) -> u64 {
    match code {
        "USD" => 1,
        "EUR" => 2,
        "GBP" => 3,
        _ => 4,
    }
}

/// A display amount such as `"$9.99 USD"`, as GetOrders line items carry it.
pub(crate) fn format_display_amount(cents: u64, currency_code: &str) -> String {
    let (prefix, suffix) = currency_affixes(currency_code);
    format!("{prefix}{}{suffix}", format_price(cents))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_parse_and_format() {
        assert_eq!(parse_price("9.99"), Some(999));
        assert_eq!(parse_price("10"), Some(1000));
        assert_eq!(parse_price("0.5"), Some(50));
        assert_eq!(parse_price("-1.00"), None);
        assert_eq!(parse_price("abc"), None);
        assert_eq!(format_price(999), "9.99");
        assert_eq!(format_display_amount(2599, "USD"), "$25.99 USD");
    }

    #[test]
    fn cycles_have_three_spellings() {
        assert_eq!(
            Cycle::recurring_from_key("semiannually"),
            Some(Cycle::SemiAnnually)
        );
        assert_eq!(Cycle::recurring_from_key("Semi-Annually"), None);
        assert_eq!(Cycle::SemiAnnually.display(), "Semi-Annually");
        assert_eq!(Cycle::Annually.setup_fee_key(), "asetupfee");
    }
}
