//! The three metadata headers every Pub/Sub RPC must carry, checked against the Salesforce
//! emulator: a live `accesstoken`, the org's `instanceurl`, and the org's `tenantid`.
//!
//! gRPC metadata keys arrive lowercased, so `accessToken` written by a client is the same
//! header. Headers the service does not know (`x-client-trace-id` and the like) are ignored.

use tonic::metadata::MetadataMap;

use super::error::PubSubError;
use crate::salesforce::SalesforceEmulator;

/// Checks the headers of one call.
pub(crate) fn check(
    metadata: &MetadataMap,
    salesforce: &SalesforceEmulator,
) -> Result<(), PubSubError> {
    let header = |name: &str| {
        metadata
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|value| !value.is_empty())
    };
    let (Some(token), Some(instance_url), Some(tenant_id)) = (
        header("accesstoken"),
        header("instanceurl"),
        header("tenantid"),
    ) else {
        return Err(PubSubError::Unauthenticated);
    };

    let expected_url = salesforce.url();
    let url_matches = instance_url.strip_suffix('/').unwrap_or(instance_url) == expected_url;
    if !url_matches
        || !tenant_matches(tenant_id, &salesforce.org_id())
        || !salesforce.is_valid_token(token)
    {
        return Err(PubSubError::Unauthenticated);
    }
    Ok(())
}

/// `{OrgId}` (15 or 18 characters) or `core/{Subdomain}/{OrgId}`.
fn tenant_matches(tenant_id: &str, org_id: &str) -> bool {
    let id = match tenant_id.strip_prefix("core/") {
        Some(rest) => match rest.split_once('/') {
            Some((subdomain, id)) if !subdomain.is_empty() => id,
            _ => return false,
        },
        None => tenant_id,
    };
    match id.len() {
        18 => id == org_id,
        15 => org_id.get(..15) == Some(id),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::tenant_matches;

    const ORG: &str = "00D5e000003TIrBEAW";

    #[test]
    fn tenant_ids_in_every_documented_form() {
        assert!(tenant_matches(ORG, ORG));
        assert!(tenant_matches("00D5e000003TIrB", ORG));
        assert!(tenant_matches("core/MyDomainName/00D5e000003TIrB", ORG));
        assert!(tenant_matches("core/x/00D5e000003TIrBEAW", ORG));
        assert!(!tenant_matches("core//00D5e000003TIrB", ORG));
        assert!(!tenant_matches("core/00D5e000003TIrB", ORG));
        assert!(!tenant_matches("00D5e000003TIrC", ORG));
        assert!(!tenant_matches("00D5e000003TIr", ORG));
        assert!(!tenant_matches("00d5e000003tirb", ORG));
    }
}
