//! The Salesforce emulator: OAuth 2.0 JWT bearer token endpoint and the REST API on loopback.
