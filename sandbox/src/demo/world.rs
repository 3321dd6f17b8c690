//! The emulated outside world of the demo and of `sandbox serve`: the Salesforce org (OAuth,
//! REST, Pub/Sub API) and WHMCS on loopback, seeded with customers, products and price books,
//! and the files the services read (the integration user's private key, the callers' tokens).

use std::{
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::PathBuf,
    time::Duration,
};

use rsa::{
    Generate, PrivateKey,
    pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding},
};
use tempfile::TempDir;

use crate::{
    pubsub::{PubSubEmulator, PubSubOptions},
    salesforce::{NewItem, NewOrder, SalesforceEmulator, SalesforceOptions},
    whmcs::{NewClient, NewProduct, WhmcsEmulator, WhmcsOptions},
};

/// The connected app's consumer key in the emulated org.
pub const CLIENT_ID: &str = "3MVG9SandboxDemoConsumerKey";
/// The integration user.
pub const USERNAME: &str = "integration@sandbox.bridge";
/// The token fulfillment's callers present (`portal`), and ingest's own.
pub const PORTAL_TOKEN_NAME: &str = "portal";

/// Why the world could not be started.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// A key could not be made or written.
    #[error("the integration user's key could not be made: {0}")]
    Key(String),
    /// A server or file could not be set up.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A product both systems know.
#[derive(Debug, Clone)]
pub struct Offering {
    /// The Salesforce Product2 id.
    pub product_id: String,
    /// The WHMCS product id.
    pub whmcs_pid: u64,
}

/// A customer both systems know.
#[derive(Debug, Clone)]
pub struct Customer {
    /// The Salesforce Account id.
    pub account_id: String,
    /// The WHMCS client id.
    pub whmcs_client_id: u64,
}

/// The running emulators and their files.
pub struct World {
    /// Salesforce OAuth and REST.
    pub salesforce: SalesforceEmulator,
    /// The Pub/Sub API, following the org's platform events.
    pub pubsub: PubSubEmulator,
    /// WHMCS.
    pub whmcs: WhmcsEmulator,
    /// The private key file (`SF_PRIVATE_KEY_PATH`).
    pub key_path: PathBuf,
    /// fulfillment's callers (`FULFILLMENT_AUTH_TOKENS_FILE`).
    pub tokens_path: PathBuf,
    /// The token ingest presents (`FULFILLMENT_AUTH_TOKEN_FILE`).
    pub ingest_token_path: PathBuf,
    /// The portal caller's token, for grpcurl examples.
    pub portal_token: String,
    files: TempDir,
}

impl World {
    /// Starts the emulators with a fresh key pair and fresh caller tokens.
    pub async fn start() -> Result<Self, WorldError> {
        Self::start_with_latency(Duration::ZERO).await
    }

    /// Like [`World::start`], with `latency` added to every Salesforce (OAuth and REST) and
    /// WHMCS answer, as the benchmarks use to stand in for real upstreams. The Pub/Sub API
    /// answers at once.
    pub async fn start_with_latency(latency: Duration) -> Result<Self, WorldError> {
        let files = tempfile::Builder::new()
            .prefix("bridge-sandbox-")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir()?;
        let key = PrivateKey::try_generate().map_err(|err| WorldError::Key(err.to_string()))?;
        let private_pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|err| WorldError::Key(err.to_string()))?;
        let public_pem = key
            .as_ref()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|err| WorldError::Key(err.to_string()))?;
        let key_path = files.path().join("sf-private.key");
        write_private(&key_path, private_pem.as_bytes())?;

        let portal_token = format!("portal-{}", uuid::Uuid::new_v4().simple());
        let ingest_token = format!("ingest-{}", uuid::Uuid::new_v4().simple());
        let tokens_path = files.path().join("fulfillment-tokens");
        write_private(
            &tokens_path,
            format!(
                "# callers of Fulfill\n{PORTAL_TOKEN_NAME}:{portal_token}\ningest:{ingest_token}\n"
            )
            .as_bytes(),
        )?;
        let ingest_token_path = files.path().join("ingest-token");
        write_private(&ingest_token_path, format!("{ingest_token}\n").as_bytes())?;

        let mut salesforce_options = SalesforceOptions::new(CLIENT_ID, USERNAME, &public_pem);
        salesforce_options.latency = latency;
        let salesforce = SalesforceEmulator::start(salesforce_options).await?;
        let pubsub = PubSubEmulator::start(&salesforce, PubSubOptions::default()).await?;
        let whmcs = WhmcsEmulator::start_with(WhmcsOptions {
            latency,
            ..WhmcsOptions::default()
        })
        .await?;
        Ok(Self {
            salesforce,
            pubsub,
            whmcs,
            key_path,
            tokens_path,
            ingest_token_path,
            portal_token,
            files,
        })
    }

    /// The folder holding the key and token files.
    pub fn files(&self) -> &std::path::Path {
        self.files.path()
    }

    /// A customer in both systems; `pay_method` adds a card stored at Stripe.
    pub fn customer(&self, name: &str, pay_method: bool) -> Customer {
        let whmcs_client_id = self.whmcs.add_client(NewClient {
            first_name: name.to_owned(),
            last_name: "Customer".to_owned(),
            email: format!("{}@example.com", name.to_ascii_lowercase()),
            ..NewClient::default()
        });
        if pay_method {
            self.whmcs.add_pay_method(whmcs_client_id, "stripe");
        }
        let account_id = self
            .salesforce
            .add_account(&format!("{name} Ltd"), Some(&whmcs_client_id.to_string()));
        Customer {
            account_id,
            whmcs_client_id,
        }
    }

    /// A product in both systems, offered monthly and annually in WHMCS, sold `cycle` in
    /// Salesforce.
    pub fn offering(&self, name: &str, cycle: &str) -> Offering {
        let whmcs_pid = self.whmcs.add_product(NewProduct {
            name: name.to_owned(),
            pricing: vec![
                ("monthly".to_owned(), "12.00".to_owned()),
                ("annually".to_owned(), "120.00".to_owned()),
            ],
            ..NewProduct::default()
        });
        let product_id =
            self.salesforce
                .add_product(name, Some(&whmcs_pid.to_string()), Some(cycle));
        Offering {
            product_id,
            whmcs_pid,
        }
    }

    /// A Salesforce product with no WHMCS mapping.
    pub fn unmapped_product(&self, name: &str) -> String {
        self.salesforce.add_product(name, None, Some("Monthly"))
    }

    /// A draft Order of `items` (product id, quantity) for `account`.
    pub fn order(&self, account: &str, items: &[(&str, f64)]) -> String {
        self.salesforce.add_order(NewOrder {
            account_id: account.to_owned(),
            pricebook_id: self.salesforce.standard_pricebook_id(),
            items: items
                .iter()
                .map(|(product, quantity)| NewItem {
                    product_id: (*product).to_owned(),
                    quantity: *quantity,
                    unit_price: 12.0,
                })
                .collect(),
        })
    }

    /// Stops every emulator.
    pub async fn shutdown(&self) {
        self.pubsub.shutdown().await;
        self.salesforce.shutdown().await;
        self.whmcs.shutdown().await;
    }
}

/// Writes a file only its owner can read.
fn write_private(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)
}
