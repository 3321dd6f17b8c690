//! Whether a folder or file name is an API name the platform accepts, so that a name no org
//! could hold (a space, a hyphen, bytes that are not UTF-8) is refused with its file instead
//! of reaching the emulators, where it would break the event's Avro schema or a query.

/// Whether `name` is an API name: one to three parts joined by `__` (an optional namespace,
/// the name, and a suffix such as `c` or `e`), each part starting with an ASCII letter and
/// made of ASCII letters, digits and single underscores, not ending in an underscore.
pub(super) fn is_api_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split("__").collect();
    (1..=3).contains(&parts.len()) && parts.iter().all(|part| is_part(part))
}

fn is_part(part: &str) -> bool {
    part.starts_with(|c: char| c.is_ascii_alphabetic())
        && !part.ends_with('_')
        && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::is_api_name;

    #[test]
    fn api_names_follow_the_platform_s_rules() {
        for good in [
            "Order",
            "Product2",
            "WH_Client_ID__c",
            "OrderProvisionRequested__e",
            "ns__Field__c",
            "A",
        ] {
            assert!(is_api_name(good), "{good}");
        }
        for bad in [
            "",
            "bad-name__c",
            "9Lives__c",
            "Sp ace__c",
            "Ünï__c",
            "Trailing___c",
            "Trailing_",
            "__c",
            "a__b__c__d",
            "Name__",
            "Con\u{fffd}tract",
        ] {
            assert!(!is_api_name(bad), "{bad}");
        }
    }
}
