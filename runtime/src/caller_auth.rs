//! Who may call a service's RPCs: bearer tokens from a file of `name:token` lines.
//!
//! Tokens are compared in constant time against every entry, so timing tells nothing about
//! which token (or which prefix) was close. The file is re-read when it changes (a rotated
//! Kubernetes Secret), checked at most once a second. The caller's name goes into the request's
//! extensions as [`Caller`], for logs and journals; health and reflection are never wrapped.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::{Duration, Instant, SystemTime},
};

use subtle::ConstantTimeEq;
use tonic::{Request, Status, metadata::MetadataMap};

use crate::{Secret, config::CallerAuth};

/// How often the tokens file is checked for changes.
const RELOAD_CHECK: Duration = Duration::from_secs(1);

/// The authenticated caller of an RPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub String);

impl Caller {
    /// The name used when authentication is disabled.
    pub const ANONYMOUS: &'static str = "anonymous";

    /// The caller recorded on a request, or `anonymous`.
    pub fn of<T>(request: &Request<T>) -> String {
        request
            .extensions()
            .get::<Caller>()
            .map(|caller| caller.0.clone())
            .unwrap_or_else(|| Self::ANONYMOUS.to_owned())
    }
}

/// Why a tokens file could not be used. Never quotes a token.
#[derive(Debug, thiserror::Error)]
pub enum TokensFileError {
    /// The file could not be read.
    #[error("the tokens file {path} cannot be read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line is not `name:token`.
    #[error("line {line} of the tokens file {path} is not name:token")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
    },
    /// The file names no caller at all.
    #[error("the tokens file {path} holds no tokens")]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// The callers of a tokens file: `(name, token)` in file order.
type Entries = Vec<(String, Secret<String>)>;

struct Loaded {
    entries: Entries,
    modified: Option<SystemTime>,
    checked: Instant,
}

/// The callers a tokens file allows.
pub struct CallerTokens {
    path: PathBuf,
    loaded: RwLock<Loaded>,
}

impl CallerTokens {
    /// Reads `path`.
    pub fn load(path: &Path) -> Result<Self, TokensFileError> {
        let (entries, modified) = read_tokens(path)?;
        Ok(Self {
            path: path.to_owned(),
            loaded: RwLock::new(Loaded {
                entries,
                modified,
                checked: Instant::now(),
            }),
        })
    }

    /// The caller whose token is `presented`, if any.
    pub fn identify(&self, presented: &str) -> Option<String> {
        self.reload_if_changed();
        let loaded = self
            .loaded
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut found = None;
        for (name, token) in &loaded.entries {
            let equal: bool = token.expose().as_bytes().ct_eq(presented.as_bytes()).into();
            if equal && found.is_none() {
                found = Some(name.clone());
            }
        }
        found
    }

    fn reload_if_changed(&self) {
        {
            let loaded = self
                .loaded
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if loaded.checked.elapsed() < RELOAD_CHECK {
                return;
            }
        }
        let mut loaded = self
            .loaded
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        loaded.checked = Instant::now();
        let modified = std::fs::metadata(&self.path)
            .and_then(|meta| meta.modified())
            .ok();
        if modified == loaded.modified {
            return;
        }
        match read_tokens(&self.path) {
            Ok((entries, modified)) => {
                tracing::info!(path = %self.path.display(), callers = entries.len(), "Reloaded the tokens file");
                loaded.entries = entries;
                loaded.modified = modified;
            }
            // A half-written or broken file keeps the tokens already loaded.
            Err(err) => tracing::warn!(error = %err, "Keeping the previous tokens"),
        }
    }
}

fn read_tokens(path: &Path) -> Result<(Entries, Option<SystemTime>), TokensFileError> {
    let read_error = |source| TokensFileError::Read {
        path: path.to_owned(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(read_error)?;
    let modified = std::fs::metadata(path)
        .and_then(|meta| meta.modified())
        .ok();
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once(':') {
            Some((name, token)) if !name.trim().is_empty() && !token.trim().is_empty() => {
                entries.push((name.trim().to_owned(), Secret::new(token.trim().to_owned())));
            }
            _ => {
                return Err(TokensFileError::Malformed {
                    path: path.to_owned(),
                    line: index + 1,
                });
            }
        }
    }
    if entries.is_empty() {
        return Err(TokensFileError::Empty {
            path: path.to_owned(),
        });
    }
    Ok((entries, modified))
}

/// Checks the `authorization: Bearer <token>` metadata of each request.
#[derive(Clone)]
pub struct Authenticator {
    tokens: Option<Arc<CallerTokens>>,
    domain: &'static str,
}

impl Authenticator {
    /// From the service's configuration. With `…_AUTH=disabled` every call is let through
    /// as `anonymous`, and a warning says so.
    ///
    /// Refusals carry a `google.rpc.ErrorInfo` in the service's error `domain` (e.g.
    /// `fulfillment.bridge`).
    pub fn from_config(auth: &CallerAuth, domain: &'static str) -> Result<Self, TokensFileError> {
        match auth {
            CallerAuth::TokensFile(path) => Ok(Self {
                tokens: Some(Arc::new(CallerTokens::load(path)?)),
                domain,
            }),
            CallerAuth::Disabled => {
                tracing::warn!("Authentication is disabled: every caller is accepted");
                Ok(Self {
                    tokens: None,
                    domain,
                })
            }
        }
    }

    /// Lets the request through with its [`Caller`] attached, or refuses it with
    /// UNAUTHENTICATED.
    #[allow(clippy::result_large_err, reason = "tonic's interceptor signature")]
    pub fn check(&self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let Some(tokens) = &self.tokens else {
            request
                .extensions_mut()
                .insert(Caller(Caller::ANONYMOUS.to_owned()));
            return Ok(request);
        };
        let Some(presented) = bearer_token(request.metadata()) else {
            return Err(refusal(
                self.domain,
                "MISSING_CREDENTIALS",
                "an authorization: Bearer <token> header is required",
            ));
        };
        match tokens.identify(presented) {
            Some(name) => {
                request.extensions_mut().insert(Caller(name));
                Ok(request)
            }
            None => Err(refusal(
                self.domain,
                "UNKNOWN_CREDENTIALS",
                "the bearer token is not known",
            )),
        }
    }
}

fn bearer_token(metadata: &MetadataMap) -> Option<&str> {
    let value = metadata.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

fn refusal(domain: &str, reason: &str, message: &str) -> Status {
    use tonic_types::{ErrorDetails, StatusExt};
    let details = ErrorDetails::with_error_info(
        reason,
        domain,
        std::collections::HashMap::<String, String>::new(),
    );
    Status::with_error_details(tonic::Code::Unauthenticated, message, details)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn tokens_file(content: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(content.as_bytes()).expect("write");
        file
    }

    fn request_with(header: Option<&str>) -> Request<()> {
        let mut request = Request::new(());
        if let Some(value) = header {
            request
                .metadata_mut()
                .insert("authorization", value.parse().expect("ascii"));
        }
        request
    }

    #[test]
    fn known_tokens_name_their_caller_and_others_are_refused() {
        let file =
            tokens_file("# callers\ningest:tok-ingest-123\n\nbilling-portal : tok-portal-456\n");
        let auth = Authenticator::from_config(
            &CallerAuth::TokensFile(file.path().to_owned()),
            "test.bridge",
        )
        .unwrap();

        let request = auth
            .check(request_with(Some("Bearer tok-portal-456")))
            .unwrap();
        assert_eq!(Caller::of(&request), "billing-portal");

        for header in [
            None,
            Some("Bearer"),
            Some("Basic tok-ingest-123"),
            Some("Bearer tok-ingest-12"),
        ] {
            let status = auth.check(request_with(header)).unwrap_err();
            assert_eq!(status.code(), tonic::Code::Unauthenticated, "{header:?}");
            assert!(!status.message().contains("tok-"), "{}", status.message());
        }
    }

    #[test]
    fn malformed_files_name_the_line_but_not_its_content() {
        let file = tokens_file("ingest:ok\njust-a-secret-token\n");
        let error = CallerTokens::load(file.path()).err().unwrap();
        assert!(error.to_string().contains("line 2"), "{error}");
        assert!(!error.to_string().contains("just-a-secret"), "{error}");
        assert!(CallerTokens::load(tokens_file("# nothing\n").path()).is_err());
    }

    #[test]
    fn disabled_authentication_lets_everyone_in_as_anonymous() {
        let auth = Authenticator::from_config(&CallerAuth::Disabled, "test.bridge").unwrap();
        let request = auth.check(request_with(None)).unwrap();
        assert_eq!(Caller::of(&request), "anonymous");
    }
}
