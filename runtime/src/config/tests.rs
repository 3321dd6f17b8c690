use std::{collections::HashMap, io::Write, time::Duration};

use super::*;

fn key_file() -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(b"-----BEGIN PRIVATE KEY-----\nnot a real key\n-----END PRIVATE KEY-----\n")
        .expect("write key");
    file
}

fn read_all(
    env: &HashMap<&str, &str>,
) -> Result<(ServerSettings, RedisSettings, SalesforceSettings), ConfigError> {
    let mut reader = ConfigReader::new(env);
    let server = ServerSettings::read(&mut reader);
    let redis = RedisSettings::read(&mut reader);
    let salesforce = SalesforceSettings::read(&mut reader);
    reader.finish((server, redis, salesforce))
}

#[test]
fn a_complete_environment_reads_with_defaults() {
    let key = key_file();
    let path = key.path().to_str().expect("utf-8 path");
    let env = HashMap::from([
        ("SF_LOGIN_URL", "https://test.salesforce.com"),
        ("SF_CLIENT_ID", "3MVG9_EXAMPLE"),
        ("SF_USERNAME", "integration@example.com.uat"),
        ("SF_PRIVATE_KEY_PATH", path),
        ("REDIS_URL", "redis://:pw@127.0.0.1:6379/0"),
    ]);

    let (server, redis, salesforce) = read_all(&env).expect("valid configuration");

    assert_eq!(server.grpc_addr.to_string(), "0.0.0.0:50051");
    assert_eq!(server.http_addr.to_string(), "0.0.0.0:8080");
    assert_eq!(redis.url.expose(), "redis://:pw@127.0.0.1:6379/0");
    assert_eq!(salesforce.audience, "https://test.salesforce.com");
    assert_eq!(salesforce.api_version, "66.0");
    assert_eq!(salesforce.http_timeout, Duration::from_secs(15));
}

#[test]
fn every_missing_variable_is_named_at_once() {
    let env = HashMap::new();

    let error = read_all(&env).expect_err("nothing is set");

    assert_eq!(
        error.variables(),
        [
            "REDIS_URL",
            "SF_LOGIN_URL",
            "SF_CLIENT_ID",
            "SF_USERNAME",
            "SF_PRIVATE_KEY_PATH"
        ]
    );
    let line = error.to_string();
    assert!(!line.contains('\n'), "one line: {line}");
    for name in error.variables() {
        assert!(line.contains(name), "{name} missing from {line}");
    }
}

#[test]
fn every_malformed_variable_is_named_and_no_secret_is_quoted() {
    let env = HashMap::from([
        ("SF_LOGIN_URL", "login.salesforce.com"),
        ("SF_CLIENT_ID", "id"),
        ("SF_USERNAME", "user"),
        ("SF_PRIVATE_KEY_PATH", "/nonexistent/sf-private.key"),
        ("SF_API_VERSION", "v66"),
        ("SF_HTTP_TIMEOUT", "15"),
        ("GRPC_ADDR", "localhost"),
        ("SHUTDOWN_GRACE", "0s"),
        ("REDIS_URL", "http://user:sup3rs3cret@redis:6379"),
    ]);

    let error = read_all(&env).expect_err("malformed values");

    let mut named = error.variables();
    named.sort_unstable();
    assert_eq!(
        named,
        [
            "GRPC_ADDR",
            "REDIS_URL",
            "SF_API_VERSION",
            "SF_HTTP_TIMEOUT",
            "SF_LOGIN_URL",
            "SF_PRIVATE_KEY_PATH",
            "SHUTDOWN_GRACE",
        ]
    );
    let line = error.to_string();
    assert!(!line.contains("sup3rs3cret"), "secret leaked: {line}");
    assert!(
        line.contains("\"15\""),
        "the bad duration is quoted: {line}"
    );
}

#[test]
fn secrets_can_come_from_files_but_not_from_both_places() {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(b"redis://:from-file@127.0.0.1:6379\n")
        .expect("write");
    let path = file.path().to_str().expect("utf-8 path");

    let env = HashMap::from([("REDIS_URL_FILE", path)]);
    let mut reader = ConfigReader::new(&env);
    let redis = RedisSettings::read(&mut reader);
    let redis = reader.finish(redis).expect("read from file");
    assert_eq!(redis.url.expose(), "redis://:from-file@127.0.0.1:6379");

    let env = HashMap::from([("REDIS_URL_FILE", path), ("REDIS_URL", "redis://:direct@h")]);
    let mut reader = ConfigReader::new(&env);
    let _ = RedisSettings::read(&mut reader);
    let error = reader.finish(()).expect_err("both set");
    assert_eq!(error.variables(), ["REDIS_URL"]);
    assert!(!error.to_string().contains("direct"), "{error}");
    assert!(!error.to_string().contains("from-file"), "{error}");
}

#[test]
fn the_audience_follows_the_login_host() {
    let audience = |url: &str| default_audience(&Url::parse(url).expect("url"));
    assert_eq!(
        audience("https://login.salesforce.com"),
        "https://login.salesforce.com"
    );
    assert_eq!(
        audience("https://acme.my.salesforce.com"),
        "https://login.salesforce.com"
    );
    assert_eq!(
        audience("https://test.salesforce.com"),
        "https://test.salesforce.com"
    );
    assert_eq!(
        audience("https://acme--uat.sandbox.my.salesforce.com"),
        "https://test.salesforce.com"
    );
}

#[test]
fn choices_numbers_and_booleans_are_checked() {
    let env = HashMap::from([
        ("LOG_FORMAT", "xml"),
        ("INGEST_CONCURRENCY", "0"),
        ("SF_EVENTS_ENABLED", "maybe"),
        ("SF_EVENTS_REPLAY", "all"),
    ]);
    let mut reader = ConfigReader::new(&env);
    let _ = reader.choice_or("LOG_FORMAT", &["json", "plain"], "json");
    let _ = reader.number_or("INGEST_CONCURRENCY", 16u32, 1..=100);
    let _ = reader.bool_or("SF_EVENTS_ENABLED", true);
    let replay = reader.choice_or("SF_EVENTS_REPLAY", &["LATEST", "ALL"], "LATEST");
    assert_eq!(
        replay, "ALL",
        "choices ignore case and return the listed spelling"
    );
    let error = reader.finish(()).expect_err("three bad values");
    assert_eq!(
        error.variables(),
        ["LOG_FORMAT", "INGEST_CONCURRENCY", "SF_EVENTS_ENABLED"]
    );
}

/// A source whose values may hold what the process environment gives for bytes that are not
/// UTF-8.
struct Lossy(Vec<(&'static str, String)>);

impl EnvSource for Lossy {
    fn var(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.clone())
    }
}

#[test]
fn values_that_are_not_utf8_are_named_not_ignored() {
    let env = Lossy(vec![
        ("GRPC_ADDR", "127.0.0.1:0\u{fffd}".to_owned()),
        ("REDIS_URL", "redis://h\u{fffd}".to_owned()),
    ]);
    let mut reader = ConfigReader::new(&env);
    let _ = ServerSettings::read(&mut reader);
    let _ = RedisSettings::read(&mut reader);
    let error = reader.finish(()).expect_err("bad bytes");
    let variables = error.variables();
    assert!(variables.contains(&"GRPC_ADDR"), "{error}");
    assert!(variables.contains(&"REDIS_URL"), "{error}");
    assert!(error.to_string().contains("not valid UTF-8"));
}

#[test]
fn huge_durations_unusable_redis_urls_and_urls_with_passwords_are_refused_without_quoting() {
    let key = key_file();
    let path = key.path().to_str().expect("utf-8 path");
    let env = HashMap::from([
        ("SF_LOGIN_URL", "https://admin:hunter2@login.salesforce.com"),
        ("SF_CLIENT_ID", "3MVG9_EXAMPLE"),
        ("SF_USERNAME", "integration@example.com"),
        ("SF_PRIVATE_KEY_PATH", path),
        ("SF_HTTP_TIMEOUT", "5000000000000h"),
        ("REDIS_URL", "redis://:s3cret-pw@127.0.0.1:6379/notadb"),
    ]);

    let error = read_all(&env).expect_err("three bad variables");

    assert_eq!(
        error.variables(),
        ["REDIS_URL", "SF_LOGIN_URL", "SF_HTTP_TIMEOUT"],
        "{error}"
    );
    let line = error.to_string();
    assert!(
        !line.contains("hunter2") && !line.contains("s3cret-pw"),
        "{line}"
    );

    let tls = HashMap::from([("REDIS_URL", "rediss://:pw@redis.example.com:6380")]);
    let mut reader = ConfigReader::new(&tls);
    let _ = RedisSettings::read(&mut reader);
    assert!(
        reader
            .finish(())
            .expect_err("no TLS")
            .to_string()
            .contains("rediss://")
    );
}
