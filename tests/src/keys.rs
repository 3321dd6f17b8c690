//! RSA key pairs made at test time, so no key is ever committed. Generating one takes a
//! moment, so each process makes two and shares them: [`TestKeys::primary`] plays the
//! integration user's key, [`TestKeys::stranger`] a key Salesforce does not know.

use std::sync::OnceLock;

use rsa::{
    Generate, PrivateKey,
    pkcs1::{EncodeRsaPrivateKey, LineEnding},
    pkcs8::{EncodePrivateKey, EncodePublicKey},
};

/// One RSA key pair in the PEM forms Salesforce tooling produces.
#[derive(Debug, Clone)]
pub struct TestKeys {
    /// `-----BEGIN RSA PRIVATE KEY-----`, as `openssl genrsa -traditional` writes.
    pub private_pkcs1_pem: String,
    /// `-----BEGIN PRIVATE KEY-----`, as OpenSSL 3 writes by default.
    pub private_pkcs8_pem: String,
    /// `-----BEGIN PUBLIC KEY-----` (SPKI), what the connected app's certificate carries.
    pub public_pem: String,
}

impl TestKeys {
    /// The key pair of the integration user.
    pub fn primary() -> &'static Self {
        static KEYS: OnceLock<TestKeys> = OnceLock::new();
        KEYS.get_or_init(Self::generate)
    }

    /// Another key pair, unknown to the org.
    pub fn stranger() -> &'static Self {
        static KEYS: OnceLock<TestKeys> = OnceLock::new();
        KEYS.get_or_init(Self::generate)
    }

    /// A fresh key pair.
    pub fn generate() -> Self {
        let key = PrivateKey::try_generate().expect("the OS random source works");
        Self {
            private_pkcs1_pem: key
                .to_pkcs1_pem(LineEnding::LF)
                .expect("a generated key encodes")
                .to_string(),
            private_pkcs8_pem: key
                .to_pkcs8_pem(LineEnding::LF)
                .expect("a generated key encodes")
                .to_string(),
            public_pem: key
                .as_ref()
                .to_public_key_pem(LineEnding::LF)
                .expect("a generated key encodes"),
        }
    }
}
