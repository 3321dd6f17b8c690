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

/// The longest token accepted, so tokens can be compared in constant time over a fixed width.
const MAX_TOKEN_LEN: usize = 256;

/// The callers of a tokens file: `(name, token)` in file order.
type Entries = Vec<(String, Secret<String>)>;

/// What identifies one version of the file: a rewrite changes at least one of these, even one
/// that keeps the modification time (`cp -p`) or swaps a symlink (a Kubernetes Secret update).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    modified: Option<SystemTime>,
    changed: (i64, i64),
    len: u64,
    inode: u64,
    device: u64,
}

fn fingerprint(path: &Path) -> Option<Fingerprint> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some(Fingerprint {
        modified: meta.modified().ok(),
        changed: (meta.ctime(), meta.ctime_nsec()),
        len: meta.len(),
        inode: meta.ino(),
        device: meta.dev(),
    })
}

struct Loaded {
    entries: Entries,
    fingerprint: Option<Fingerprint>,
    checked: Instant,
}

/// The callers a tokens file allows.
///
/// A changed file replaces the tokens wholesale. A file that became unreadable, empty or
/// malformed allows nobody until it is fixed: keeping the old tokens would make a leaked token
/// impossible to revoke with a typo anywhere in the new file. The problem is logged once per
/// change of the file.
pub struct CallerTokens {
    path: PathBuf,
    loaded: RwLock<Loaded>,
}

impl CallerTokens {
    /// Reads `path`, which must hold at least one well-formed `name:token` line.
    pub fn load(path: &Path) -> Result<Self, TokensFileError> {
        let fingerprint = fingerprint(path);
        let entries = read_tokens(path)?;
        Ok(Self {
            path: path.to_owned(),
            loaded: RwLock::new(Loaded {
                entries,
                fingerprint,
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
        let presented = fixed_width(presented)?;
        let mut found = None;
        for (name, token) in &loaded.entries {
            let Some(expected) = fixed_width(token.expose()) else {
                continue;
            };
            let equal: bool = expected.ct_eq(&presented).into();
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
        let current = fingerprint(&self.path);
        if current == loaded.fingerprint {
            return;
        }
        loaded.fingerprint = current;
        match read_tokens(&self.path) {
            Ok(entries) => {
                tracing::info!(path = %self.path.display(), callers = entries.len(), "Reloaded the tokens file");
                loaded.entries = entries;
            }
            Err(err) => {
                tracing::error!(error = %err, "The tokens file cannot be used; every call is refused until it is fixed");
                loaded.entries.clear();
            }
        }
    }
}

/// The token's bytes followed by its length, in a buffer of one width for every token, so a
/// comparison takes the same time whatever the lengths. `None` for a token too long to hold.
fn fixed_width(token: &str) -> Option<[u8; MAX_TOKEN_LEN + 8]> {
    let bytes = token.as_bytes();
    if bytes.len() > MAX_TOKEN_LEN {
        return None;
    }
    let mut buffer = [0u8; MAX_TOKEN_LEN + 8];
    buffer[..bytes.len()].copy_from_slice(bytes);
    buffer[MAX_TOKEN_LEN..].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
    Some(buffer)
}

fn read_tokens(path: &Path) -> Result<Entries, TokensFileError> {
    let read_error = |source| TokensFileError::Read {
        path: path.to_owned(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(read_error)?;
    parse_tokens(&text).map_err(|problem| match problem {
        Some(line) => TokensFileError::Malformed {
            path: path.to_owned(),
            line,
        },
        None => TokensFileError::Empty {
            path: path.to_owned(),
        },
    })
}

/// Parses `name:token` lines; `#` starts a comment line. The error is the first bad line's
/// number, or `None` when no line names a caller. A name is letters, digits, `.`, `_` or `-`;
/// a token is printable ASCII without spaces, at most 256 characters.
fn parse_tokens(text: &str) -> Result<Entries, Option<usize>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let valid_name = |name: &str| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        };
        let valid_token = |token: &str| {
            !token.is_empty()
                && token.len() <= MAX_TOKEN_LEN
                && token.bytes().all(|b| b.is_ascii_graphic())
        };
        match line.split_once(':') {
            Some((name, token)) if valid_name(name.trim()) && valid_token(token.trim()) => {
                entries.push((name.trim().to_owned(), Secret::new(token.trim().to_owned())));
            }
            _ => return Err(Some(index + 1)),
        }
    }
    if entries.is_empty() {
        return Err(None);
    }
    Ok(entries)
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

    /// Polls `check` for up to three seconds (the file is re-checked once a second).
    fn eventually(mut check: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if check() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    #[test]
    fn a_rewritten_file_replaces_the_tokens_and_a_broken_one_refuses_everyone() {
        let file = tokens_file("\u{feff}# callers\nportal:tok-old-1111\n");
        let tokens = CallerTokens::load(file.path()).unwrap();
        assert_eq!(tokens.identify("tok-old-1111").as_deref(), Some("portal"));

        std::fs::write(file.path(), "portal:tok-new-2222\n").unwrap();
        assert!(eventually(|| tokens.identify("tok-new-2222").is_some()));
        assert_eq!(
            tokens.identify("tok-old-1111"),
            None,
            "the old token is revoked"
        );

        std::fs::write(file.path(), "portal:tok-new-2222\nbroken line\n").unwrap();
        assert!(
            eventually(|| tokens.identify("tok-new-2222").is_none()),
            "a broken file allows nobody"
        );

        std::fs::remove_file(file.path()).unwrap();
        std::fs::write(file.path(), "portal:tok-new-2222\n").unwrap();
        assert!(eventually(|| tokens.identify("tok-new-2222").is_some()));
    }

    #[test]
    fn names_and_tokens_must_be_plain() {
        for text in [
            "portal:tok with space\n",
            "por tal:tok\n",
            "portal:\n",
            ":tok\n",
            "portal:tok\u{7}bell\n",
        ] {
            assert!(parse_tokens(text).is_err(), "{text:?}");
        }
        let long = format!("portal:{}\n", "x".repeat(MAX_TOKEN_LEN + 1));
        assert_eq!(parse_tokens(&long).err(), Some(Some(1)));
        assert_eq!(parse_tokens("# only comments\n").err(), Some(None));
        let entries = parse_tokens("\u{feff}ingest-1:a:b\n").unwrap();
        assert_eq!(entries[0].0, "ingest-1");
        assert_eq!(entries[0].1.expose(), "a:b");
    }

    #[test]
    fn disabled_authentication_lets_everyone_in_as_anonymous() {
        let auth = Authenticator::from_config(&CallerAuth::Disabled, "test.bridge").unwrap();
        let request = auth.check(request_with(None)).unwrap();
        assert_eq!(Caller::of(&request), "anonymous");
    }
}
