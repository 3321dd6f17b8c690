//! The ingest service's configuration: the shared sections plus the channel, replay choices,
//! the Pub/Sub endpoint, the fulfillment target, and the timing knobs.

use std::{path::PathBuf, time::Duration};

use bridge_runtime::{
    Secret,
    config::{
        CallerAuth, ConfigError, ConfigReader, EnvSource, RedisSettings, SalesforceSettings,
        ServerSettings,
    },
    telemetry::TelemetrySettings,
};
use url::Url;

/// The channel the runbook names.
pub const DEFAULT_CHANNEL: &str = "/event/OrderProvisionRequested__e";

/// Where a subscription starts when no cursor is stored (`SF_EVENTS_REPLAY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayStart {
    /// Only events published from now on.
    Latest,
    /// Every retained event (up to 72 hours): a backfill.
    All,
}

/// Where to go when Salesforce rejects the stored cursor as corrupted or expired
/// (`SF_EVENTS_REPLAY_FALLBACK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayFallback {
    /// Re-read everything retained: duplicates, which fulfillment absorbs, but no gap.
    Earliest,
    /// Skip to the tip: no duplicates, but events in between are lost.
    Latest,
}

/// The subscription itself; present only when `SF_EVENTS_ENABLED` is true.
#[derive(Debug, Clone)]
pub struct SubscriptionSettings {
    /// The Salesforce org.
    pub salesforce: SalesforceSettings,
    /// The Pub/Sub API (`SF_PUBSUB_ENDPOINT`); `http://` means plaintext, for an emulator.
    pub pubsub_endpoint: Url,
    /// The fulfillment service (`FULFILLMENT_URL`).
    pub fulfillment_url: Url,
    /// The bearer token ingest presents to fulfillment (`FULFILLMENT_AUTH_TOKEN_FILE`).
    pub fulfillment_token: Option<Secret<String>>,
    /// A CA to trust for fulfillment's TLS certificate (`FULFILLMENT_CA_PATH`).
    pub fulfillment_ca_path: Option<PathBuf>,
}

/// Everything the ingest service reads at start.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Logging.
    pub telemetry: TelemetrySettings,
    /// Ports and environment name.
    pub server: ServerSettings,
    /// Redis.
    pub redis: RedisSettings,
    /// `None` when `SF_EVENTS_ENABLED=false`: the process then serves health and admin only.
    pub subscription: Option<SubscriptionSettings>,
    /// The platform event channel (`SF_PROVISION_EVENT_CHANNEL`).
    pub channel: String,
    /// Where to start without a stored cursor (`SF_EVENTS_REPLAY`).
    pub replay: ReplayStart,
    /// Where to go when the stored cursor is refused (`SF_EVENTS_REPLAY_FALLBACK`).
    pub replay_fallback: ReplayFallback,
    /// Who may call the admin RPCs.
    pub auth: CallerAuth,
    /// Events dispatched at once (`INGEST_CONCURRENCY`).
    pub concurrency: u32,
    /// The deadline of one Fulfill call (`FULFILL_DEADLINE`).
    pub fulfill_deadline: Duration,
    /// The leader lease's time to live (`INGEST_LEASE_TTL`).
    pub lease_ttl: Duration,
    /// A stream silent this long is torn down and resumed (`INGEST_SILENCE_TIMEOUT`).
    pub silence_timeout: Duration,
}

impl IngestConfig {
    /// Reads and validates everything, reporting every bad variable at once.
    pub fn from_env(source: &dyn EnvSource) -> Result<Self, ConfigError> {
        let mut reader = ConfigReader::new(source);
        let telemetry = TelemetrySettings::read(&mut reader);
        let server = ServerSettings::read(&mut reader);
        let redis = RedisSettings::read(&mut reader);
        let enabled = reader.bool_or("SF_EVENTS_ENABLED", true);
        let subscription = enabled.then(|| SubscriptionSettings {
            salesforce: SalesforceSettings::read(&mut reader),
            pubsub_endpoint: reader.url_or(
                "SF_PUBSUB_ENDPOINT",
                "https://api.pubsub.salesforce.com:7443",
            ),
            fulfillment_url: reader.required_url("FULFILLMENT_URL"),
            fulfillment_token: reader.optional_secret("FULFILLMENT_AUTH_TOKEN"),
            fulfillment_ca_path: {
                let path = reader.optional("FULFILLMENT_CA_PATH");
                reader.readable_file("FULFILLMENT_CA_PATH", path)
            },
        });
        let channel = reader.string_or("SF_PROVISION_EVENT_CHANNEL", DEFAULT_CHANNEL);
        if !(channel.starts_with("/event/") || channel.starts_with("/data/")) {
            reader.problem(
                "SF_PROVISION_EVENT_CHANNEL",
                format!("must start with /event/ or /data/, not {channel:?}"),
            );
        }
        let replay = match reader.choice_or("SF_EVENTS_REPLAY", &["LATEST", "ALL"], "LATEST") {
            "ALL" => ReplayStart::All,
            _ => ReplayStart::Latest,
        };
        let replay_fallback = match reader.choice_or(
            "SF_EVENTS_REPLAY_FALLBACK",
            &["EARLIEST", "LATEST"],
            "EARLIEST",
        ) {
            "LATEST" => ReplayFallback::Latest,
            _ => ReplayFallback::Earliest,
        };
        let auth = CallerAuth::read(&mut reader, "INGEST");
        let concurrency = reader.number_or("INGEST_CONCURRENCY", 16, 1..=100);
        let fulfill_deadline = reader.duration_or("FULFILL_DEADLINE", Duration::from_secs(120));
        let lease_ttl = reader.duration_or("INGEST_LEASE_TTL", Duration::from_secs(15));
        let silence_timeout =
            reader.duration_or("INGEST_SILENCE_TIMEOUT", Duration::from_secs(300));

        let config = Self {
            telemetry,
            server,
            redis,
            subscription,
            channel,
            replay,
            replay_fallback,
            auth,
            concurrency,
            fulfill_deadline,
            lease_ttl,
            silence_timeout,
        };
        reader.finish(config)
    }

    /// The Redis key of the stored cursor: `sf:pe:replay:<channel>`.
    pub fn cursor_key(&self) -> String {
        format!("sf:pe:replay:{}", self.channel)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn with_events_disabled_salesforce_settings_are_not_required() {
        let env: HashMap<&str, &str> = HashMap::from([
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("SF_EVENTS_ENABLED", "false"),
            ("INGEST_AUTH", "disabled"),
        ]);

        let config = IngestConfig::from_env(&env).expect("valid");

        assert!(config.subscription.is_none());
        assert_eq!(
            config.cursor_key(),
            "sf:pe:replay:/event/OrderProvisionRequested__e"
        );
        assert_eq!(config.replay, ReplayStart::Latest);
        assert_eq!(config.replay_fallback, ReplayFallback::Earliest);
        assert_eq!(config.concurrency, 16);
    }

    #[test]
    fn every_bad_variable_is_named_at_once() {
        let env: HashMap<&str, &str> = HashMap::from([
            ("SF_EVENTS_REPLAY", "EARLIEST"),
            ("SF_PROVISION_EVENT_CHANNEL", "OrderProvisionRequested__e"),
            ("INGEST_CONCURRENCY", "500"),
            ("INGEST_AUTH", "off"),
            ("FULFILL_DEADLINE", "2 minutes"),
        ]);

        let error = IngestConfig::from_env(&env).unwrap_err();

        let mut named = error.variables();
        named.sort_unstable();
        assert_eq!(
            named,
            [
                "FULFILLMENT_URL",
                "FULFILL_DEADLINE",
                "INGEST_AUTH",
                "INGEST_AUTH_TOKENS_FILE",
                "INGEST_CONCURRENCY",
                "REDIS_URL",
                "SF_CLIENT_ID",
                "SF_EVENTS_REPLAY",
                "SF_LOGIN_URL",
                "SF_PRIVATE_KEY_PATH",
                "SF_PROVISION_EVENT_CHANNEL",
                "SF_USERNAME",
            ]
        );
    }
}
