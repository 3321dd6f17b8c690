//! Who may call: the banned-IP table, the access key or the IP allow-list, then the two
//! credential styles, with failed logins counted per IP towards a ban.

use std::{
    collections::HashMap,
    net::IpAddr,
    time::{Duration, Instant},
};

use md5::{Digest, Md5};

use super::{form::Params, options::WhmcsOptions};

/// Counted failures within this window ban the IP.
const FAILURE_WINDOW: Duration = Duration::from_secs(30 * 60);
/// The failure that triggers the ban (the third).
const FAILURES_BEFORE_BAN: usize = 3;
/// `InvalidLoginBanLength`'s default.
const BAN_LENGTH: Duration = Duration::from_secs(15 * 60);

/// A refused call: HTTP status and WHMCS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The HTTP status.
    pub(crate) status: u16,
    /// The `message` of the error envelope.
    pub(crate) message: String,
}

impl Refusal {
    fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: 403,
            message: message.into(),
        }
    }
}

/// How the caller authenticated; unknown actions are answered differently per mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthMode {
    /// An API credential (identifier and secret, in either field pair).
    Credential,
    /// Admin username and the MD5 of the password.
    AdminLogin,
}

/// Failed logins and bans per IP.
#[derive(Debug, Default)]
pub(crate) struct Gatekeeper {
    failures: HashMap<IpAddr, Vec<Instant>>,
    bans: HashMap<IpAddr, Instant>,
}

impl Gatekeeper {
    /// The checks before credentials: ban, then access key or allow-list.
    pub(crate) fn check_access(
        &mut self,
        options: &WhmcsOptions,
        ip: IpAddr,
        params: &Params,
    ) -> Result<(), Refusal> {
        let now = Instant::now();
        if let Some(until) = self.bans.get(&ip) {
            if *until > now {
                return Err(Refusal::forbidden("IP Banned"));
            }
            self.bans.remove(&ip);
        }

        let sent_key = params.text("accesskey").filter(|key| !key.is_empty());
        if let (Some(configured), Some(sent)) = (&options.access_key, sent_key) {
            if configured == sent {
                return Ok(());
            }
            return Err(Refusal::forbidden("Invalid Access Key"));
        }
        if options.allowed_ips.contains(&ip) {
            Ok(())
        } else {
            Err(Refusal::forbidden(format!("Invalid IP {ip}")))
        }
    }

    /// Checks the credentials; failures that WHMCS counts move the IP towards a ban.
    pub(crate) fn authenticate(
        &mut self,
        options: &WhmcsOptions,
        ip: IpAddr,
        params: &Params,
    ) -> Result<AuthMode, Refusal> {
        let identifier = params.text_or_empty("identifier");
        if !identifier.is_empty() {
            let secret = params.text_or_empty("secret");
            if identifier != options.identifier || secret.is_empty() {
                return Err(Refusal::forbidden("Invalid or missing credentials"));
            }
            if secret != options.secret {
                return Err(self.counted_failure(ip));
            }
            return Ok(AuthMode::Credential);
        }

        let username = params.text_or_empty("username");
        let password = params.text_or_empty("password");
        if username.is_empty() {
            return Err(Refusal::forbidden("Invalid or missing credentials"));
        }
        // The legacy fields may carry an API credential; only if that fails is it an admin login.
        if username == options.identifier && !password.is_empty() && password == options.secret {
            return Ok(AuthMode::Credential);
        }
        if username != options.admin_username {
            return Err(self.counted_failure(ip));
        }
        if !is_md5_hex(password) {
            return Err(Refusal::forbidden("Invalid password provided"));
        }
        if !password.eq_ignore_ascii_case(&md5_hex(&options.admin_password)) {
            return Err(self.counted_failure(ip));
        }
        Ok(AuthMode::AdminLogin)
    }

    /// Lifts every ban and forgets every failure.
    pub(crate) fn clear(&mut self) {
        self.failures.clear();
        self.bans.clear();
    }

    fn counted_failure(&mut self, ip: IpAddr) -> Refusal {
        let now = Instant::now();
        let failures = self.failures.entry(ip).or_default();
        failures.retain(|at| now.duration_since(*at) < FAILURE_WINDOW);
        failures.push(now);
        if failures.len() >= FAILURES_BEFORE_BAN {
            failures.clear();
            self.bans.insert(ip, now + BAN_LENGTH);
        }
        Refusal::forbidden("Authentication Failed")
    }
}

fn is_md5_hex(text: &str) -> bool {
    text.len() == 32 && text.chars().all(|c| c.is_ascii_hexdigit())
}

/// Lowercase hex MD5, as the legacy login expects the password.
pub(crate) fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn params(text: &str) -> Params {
        Params::parse(text.as_bytes())
    }

    #[test]
    fn both_credential_styles_authenticate() {
        let options = WhmcsOptions::default();
        let mut gate = Gatekeeper::default();
        let by_identifier = params("identifier=sandbox-identifier&secret=sandbox-secret");
        assert_eq!(
            gate.authenticate(&options, LOOPBACK, &by_identifier),
            Ok(AuthMode::Credential)
        );
        let legacy_fields = params("username=sandbox-identifier&password=sandbox-secret");
        assert_eq!(
            gate.authenticate(&options, LOOPBACK, &legacy_fields),
            Ok(AuthMode::Credential)
        );
        let login = format!(
            "username=admin&password={}",
            md5_hex("sandbox-admin-password").to_uppercase()
        );
        assert_eq!(
            gate.authenticate(&options, LOOPBACK, &params(&login)),
            Ok(AuthMode::AdminLogin)
        );
    }

    #[test]
    fn messages_and_which_failures_count() {
        let options = WhmcsOptions::default();
        let mut gate = Gatekeeper::default();
        let refusal = |gate: &mut Gatekeeper, text: &str| {
            gate.authenticate(&options, LOOPBACK, &params(text))
                .expect_err("refused")
                .message
        };
        // Not counted: unknown identifier, plain password.
        for _ in 0..3 {
            assert_eq!(
                refusal(&mut gate, "identifier=nobody&secret=x"),
                "Invalid or missing credentials"
            );
            assert_eq!(
                refusal(&mut gate, "username=admin&password=plain"),
                "Invalid password provided"
            );
        }
        assert!(gate.check_access(&options, LOOPBACK, &params("")).is_ok());
        // Counted: a wrong secret, three times.
        for _ in 0..3 {
            assert_eq!(
                refusal(&mut gate, "identifier=sandbox-identifier&secret=wrong"),
                "Authentication Failed"
            );
        }
        assert_eq!(
            gate.check_access(&options, LOOPBACK, &params("")),
            Err(Refusal::forbidden("IP Banned"))
        );
    }

    #[test]
    fn access_key_and_allow_list() {
        let options = WhmcsOptions {
            access_key: Some("k3y".into()),
            allowed_ips: Vec::new(),
            ..WhmcsOptions::default()
        };
        let mut gate = Gatekeeper::default();
        assert!(
            gate.check_access(&options, LOOPBACK, &params("accesskey=k3y"))
                .is_ok()
        );
        assert_eq!(
            gate.check_access(&options, LOOPBACK, &params("accesskey=nope"))
                .map_err(|r| r.message),
            Err("Invalid Access Key".to_owned())
        );
        assert_eq!(
            gate.check_access(&options, LOOPBACK, &params(""))
                .map_err(|r| r.message),
            Err("Invalid IP 127.0.0.1".to_owned())
        );
    }
}
