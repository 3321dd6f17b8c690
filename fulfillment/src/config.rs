//! The fulfillment service's configuration: the shared sections plus WHMCS, the price book,
//! caller authentication and the lock's time to live.

use std::time::Duration;

use bridge_runtime::{
    Secret,
    config::{
        CallerAuth, ConfigError, ConfigReader, EnvSource, RedisSettings, SalesforceSettings,
        ServerSettings,
    },
    salesforce::SalesforceId,
    telemetry::TelemetrySettings,
};
use url::Url;

use crate::whmcs::WhmcsCredentials;

/// How to reach the WHMCS API.
#[derive(Debug, Clone)]
pub struct WhmcsSettings {
    /// The `includes/api.php` URL (`WHMCS_API_URL`).
    pub api_url: Url,
    /// API credentials (`WHMCS_API_IDENTIFIER`, `WHMCS_API_SECRET`), or the legacy admin
    /// login (`WHMCS_API_USERNAME`, `WHMCS_API_PASSWORD`; WHMCS receives its MD5).
    pub credentials: WhmcsCredentials,
    /// Optional access key that bypasses the IP allow-list (`WHMCS_API_ACCESS_KEY`).
    pub access_key: Option<Secret<String>>,
    /// The gateway used when neither the pay method nor the client names one
    /// (`WHMCS_DEFAULT_PAYMENT_METHOD`).
    pub default_payment_method: Option<String>,
    /// AcceptOrder `sendemail` (`WHMCS_SEND_EMAIL`).
    pub send_email: bool,
    /// AcceptOrder `autosetup` (`WHMCS_AUTOSETUP`).
    pub autosetup: bool,
    /// The deadline of ordinary calls (`WHMCS_HTTP_TIMEOUT`).
    pub http_timeout: Duration,
    /// The deadline of AddOrder and AcceptOrder, which run provisioning modules
    /// (`WHMCS_ORDER_TIMEOUT`).
    pub order_timeout: Duration,
    /// How long after AddOrder's deadline WHMCS may still finish an order its caller gave up
    /// on (`WHMCS_ORDER_SETTLE`); at least the longest a WHMCS request may run (PHP's
    /// `max_execution_time`, or the web server's request timeout).
    pub order_settle: Duration,
}

/// Everything the fulfillment service reads at start.
#[derive(Debug, Clone)]
pub struct FulfillmentConfig {
    /// Logging.
    pub telemetry: TelemetrySettings,
    /// Ports and environment name.
    pub server: ServerSettings,
    /// Redis.
    pub redis: RedisSettings,
    /// The Salesforce org.
    pub salesforce: SalesforceSettings,
    /// WHMCS.
    pub whmcs: WhmcsSettings,
    /// Orders on another price book are refused (`PORTAL_PRICEBOOK_ID`).
    pub pricebook_id: Option<SalesforceId>,
    /// Who may call Fulfill and GetFulfillment.
    pub auth: CallerAuth,
    /// The per-Order lock's time to live, renewed every third of it (`FULFILLMENT_LOCK_TTL`).
    pub lock_ttl: Duration,
}

impl FulfillmentConfig {
    /// Reads and validates everything, reporting every bad variable at once.
    pub fn from_env(source: &dyn EnvSource) -> Result<Self, ConfigError> {
        let mut reader = ConfigReader::new(source);
        let telemetry = TelemetrySettings::read(&mut reader);
        let server = ServerSettings::read(&mut reader);
        let redis = RedisSettings::read(&mut reader);
        let salesforce = SalesforceSettings::read(&mut reader);
        let whmcs = WhmcsSettings {
            api_url: reader.required_url("WHMCS_API_URL"),
            credentials: read_credentials(&mut reader),
            access_key: reader.optional_secret("WHMCS_API_ACCESS_KEY"),
            default_payment_method: reader.optional("WHMCS_DEFAULT_PAYMENT_METHOD"),
            send_email: reader.bool_or("WHMCS_SEND_EMAIL", true),
            autosetup: reader.bool_or("WHMCS_AUTOSETUP", true),
            http_timeout: reader.duration_or("WHMCS_HTTP_TIMEOUT", Duration::from_secs(15)),
            order_timeout: reader.duration_or("WHMCS_ORDER_TIMEOUT", Duration::from_secs(60)),
            order_settle: reader.duration_or("WHMCS_ORDER_SETTLE", Duration::from_secs(300)),
        };
        let pricebook_id = reader.optional("PORTAL_PRICEBOOK_ID").and_then(|text| {
            SalesforceId::parse_with_prefix(&text, "01s")
                .map_err(|err| {
                    reader.problem(
                        "PORTAL_PRICEBOOK_ID",
                        format!("is not a Pricebook2 id: {err}"),
                    )
                })
                .ok()
        });
        let auth = CallerAuth::read(&mut reader, "FULFILLMENT");
        let lock_ttl = reader.duration_or("FULFILLMENT_LOCK_TTL", Duration::from_secs(30));
        if lock_ttl < Duration::from_secs(3) {
            reader.problem(
                "FULFILLMENT_LOCK_TTL",
                "must be at least 3s, so renewals keep up",
            );
        }

        let config = Self {
            telemetry,
            server,
            redis,
            salesforce,
            whmcs,
            pricebook_id,
            auth,
            lock_ttl,
        };
        reader.finish(config)
    }
}

/// One credential style, never both: API credentials when `WHMCS_API_IDENTIFIER` is set, the
/// admin login when `WHMCS_API_USERNAME` is.
fn read_credentials(reader: &mut ConfigReader<'_>) -> WhmcsCredentials {
    let identifier = reader.optional_secret("WHMCS_API_IDENTIFIER");
    let username = reader.optional_secret("WHMCS_API_USERNAME");
    match (identifier, username) {
        (Some(identifier), None) => WhmcsCredentials::ApiCredential {
            identifier,
            secret: reader.required_secret("WHMCS_API_SECRET"),
        },
        (None, Some(username)) => WhmcsCredentials::AdminLogin {
            username,
            password: reader.required_secret("WHMCS_API_PASSWORD"),
        },
        (Some(identifier), Some(_)) => {
            reader.problem(
                "WHMCS_API_USERNAME",
                "is set together with WHMCS_API_IDENTIFIER; choose one credential style",
            );
            WhmcsCredentials::ApiCredential {
                identifier,
                secret: Secret::default(),
            }
        }
        (None, None) => {
            reader.problem(
                "WHMCS_API_IDENTIFIER",
                "is required (with WHMCS_API_SECRET), or WHMCS_API_USERNAME with WHMCS_API_PASSWORD",
            );
            WhmcsCredentials::ApiCredential {
                identifier: Secret::default(),
                secret: Secret::default(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn every_missing_variable_is_named_in_one_line() {
        let error = FulfillmentConfig::from_env(&HashMap::<&str, &str>::new()).unwrap_err();

        assert_eq!(
            error.variables(),
            [
                "REDIS_URL",
                "SF_LOGIN_URL",
                "SF_CLIENT_ID",
                "SF_USERNAME",
                "SF_PRIVATE_KEY_PATH",
                "WHMCS_API_URL",
                "WHMCS_API_IDENTIFIER",
                "FULFILLMENT_AUTH_TOKENS_FILE",
            ]
        );
        assert_eq!(error.to_string().lines().count(), 1);
    }

    #[test]
    fn a_complete_environment_reads_and_prints_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("sf-private.key");
        std::fs::write(&key, "key").unwrap();
        let secret_file = dir.path().join("whmcs-secret");
        std::fs::write(&secret_file, "s3cr3t-from-file\n").unwrap();
        let env: HashMap<&str, &str> = HashMap::from([
            ("REDIS_URL", "redis://:redis-pass@127.0.0.1:6379"),
            ("SF_LOGIN_URL", "https://login.salesforce.com"),
            ("SF_CLIENT_ID", "3MVG9"),
            ("SF_USERNAME", "integration@example.com"),
            ("SF_PRIVATE_KEY_PATH", key.to_str().unwrap()),
            (
                "WHMCS_API_URL",
                "https://billing.example.com/includes/api.php",
            ),
            ("WHMCS_API_IDENTIFIER", "ident-value"),
            ("WHMCS_API_SECRET_FILE", secret_file.to_str().unwrap()),
            ("PORTAL_PRICEBOOK_ID", "01sHp000000QrStIAK"),
            ("FULFILLMENT_AUTH", "disabled"),
            ("WHMCS_ORDER_TIMEOUT", "90s"),
        ]);

        let config = FulfillmentConfig::from_env(&env).expect("valid");

        let WhmcsCredentials::ApiCredential { secret, .. } = &config.whmcs.credentials else {
            panic!("API credentials expected");
        };
        assert_eq!(secret.expose(), "s3cr3t-from-file");
        assert_eq!(config.whmcs.order_timeout, Duration::from_secs(90));
        assert_eq!(config.auth, CallerAuth::Disabled);
        assert_eq!(
            config.pricebook_id.as_ref().unwrap().as_str(),
            "01sHp000000QrStIAK"
        );
        let printed = format!("{config:?}");
        for secret in ["redis-pass", "ident-value", "s3cr3t-from-file"] {
            assert!(!printed.contains(secret), "{secret} printed");
        }
    }
}
