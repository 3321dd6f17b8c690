//! A throwaway PKI for the TLS mode: a CA the client trusts and a separate leaf for
//! `localhost` that the server presents.
//!
//! rustls refuses a CA certificate presented as the server's own, so a single self-signed
//! certificate would not do; the leaf is signed by the CA instead.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// PEM texts of one generated PKI.
#[derive(Debug, Clone)]
pub(crate) struct TestPki {
    /// The CA certificate clients trust.
    pub(crate) ca_pem: String,
    /// The server's leaf certificate.
    pub(crate) leaf_pem: String,
    /// The leaf's private key.
    pub(crate) leaf_key_pem: String,
}

/// Makes a CA and a leaf for `localhost` (and `127.0.0.1`) signed by it.
pub(crate) fn generate() -> Result<TestPki, rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Sandbox Pub/Sub API test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key)?;

    let leaf_key = KeyPair::generate()?;
    let mut leaf_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_cert = leaf_params.signed_by(&leaf_key, &Issuer::new(ca_params, ca_key))?;

    Ok(TestPki {
        ca_pem: ca_cert.pem(),
        leaf_pem: leaf_cert.pem(),
        leaf_key_pem: leaf_key.serialize_pem(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_leaf_is_not_the_ca() {
        let pki = super::generate().expect("a PKI");
        assert!(pki.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pki.leaf_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_ne!(pki.ca_pem, pki.leaf_pem);
        assert!(pki.leaf_key_pem.contains("PRIVATE KEY"));
    }
}
