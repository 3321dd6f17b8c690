//! Reads typed values out of an [`EnvSource`] and collects every problem instead of stopping at
//! the first, so one start-up attempt tells the operator everything that is wrong.

use std::{fmt, net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

use url::Url;

use super::{EnvSource, parse_duration};
use crate::Secret;

/// The longest duration any setting accepts: longer ones are mistakes (a lock that never
/// expires, a deadline nobody waits for) or overflow what Redis accepts.
const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// One variable that is missing or malformed. Never holds a secret's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableProblem {
    /// The variable's name, e.g. `SF_LOGIN_URL`.
    pub variable: String,
    /// What is wrong, in words an operator can act on.
    pub problem: String,
}

/// Every problem found in one read of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The problems, in the order they were found.
    pub problems: Vec<VariableProblem>,
}

impl ConfigError {
    /// The names of the variables at fault.
    pub fn variables(&self) -> Vec<&str> {
        self.problems.iter().map(|p| p.variable.as_str()).collect()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid configuration: ")?;
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} {}", problem.variable, problem.problem)?;
        }
        Ok(())
    }
}

/// Reads variables one by one, remembering each problem.
///
/// Every getter returns a usable value (a default, or a placeholder when the variable is bad)
/// so that reading can go on; [`ConfigReader::finish`] then fails if anything was wrong. The
/// placeholder values never escape, because `finish` is the only way to the result.
pub struct ConfigReader<'a> {
    source: &'a dyn EnvSource,
    problems: Vec<VariableProblem>,
}

impl<'a> ConfigReader<'a> {
    /// A reader over `source`.
    pub fn new(source: &'a dyn EnvSource) -> Self {
        Self {
            source,
            problems: Vec::new(),
        }
    }

    /// Records a problem found by the caller, e.g. one that involves two variables.
    pub fn problem(&mut self, variable: &str, problem: impl Into<String>) {
        self.problems.push(VariableProblem {
            variable: variable.to_owned(),
            problem: problem.into(),
        });
    }

    /// The raw value, with surrounding whitespace removed; empty counts as unset. A value that
    /// is not valid UTF-8 is a problem (and reads as unset), never silently replaced.
    pub fn optional(&mut self, name: &str) -> Option<String> {
        let value = self.source.var(name)?;
        if value.contains(char::REPLACEMENT_CHARACTER) {
            self.problem(name, "is not valid UTF-8");
            return None;
        }
        Some(value.trim().to_owned()).filter(|value| !value.is_empty())
    }

    /// A value that must be present.
    pub fn required(&mut self, name: &str) -> String {
        self.optional(name).unwrap_or_else(|| {
            self.problem(name, "is required but not set");
            String::new()
        })
    }

    /// A value with a default.
    pub fn string_or(&mut self, name: &str, default: &str) -> String {
        self.optional(name).unwrap_or_else(|| default.to_owned())
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`), with a default.
    pub fn bool_or(&mut self, name: &str, default: bool) -> bool {
        match self
            .optional(name)
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None => default,
            Some("true" | "1" | "yes") => true,
            Some("false" | "0" | "no") => false,
            Some(_) => {
                self.problem(name, "must be true or false");
                default
            }
        }
    }

    /// A duration such as `15s`, `500ms` or `2m`, with a default. Zero is refused.
    pub fn duration_or(&mut self, name: &str, default: Duration) -> Duration {
        let Some(text) = self.optional(name) else {
            return default;
        };
        match parse_duration(&text) {
            Some(duration) if duration > MAX_DURATION => {
                self.problem(name, "must be at most 24h");
                default
            }
            Some(duration) if !duration.is_zero() => duration,
            Some(_) => {
                self.problem(name, "must be longer than zero");
                default
            }
            None => {
                self.problem(
                    name,
                    format!("must be a duration such as 15s, 500ms or 2m, not {text:?}"),
                );
                default
            }
        }
    }

    /// A number in `range`, with a default.
    pub fn number_or<T>(&mut self, name: &str, default: T, range: std::ops::RangeInclusive<T>) -> T
    where
        T: FromStr + PartialOrd + Copy + fmt::Display,
    {
        let Some(text) = self.optional(name) else {
            return default;
        };
        match text.parse::<T>() {
            Ok(value) if range.contains(&value) => value,
            _ => {
                self.problem(
                    name,
                    format!(
                        "must be a whole number from {} to {}, not {text:?}",
                        range.start(),
                        range.end()
                    ),
                );
                default
            }
        }
    }

    /// One of `choices` (compared without case), with a default. Returns the choice as listed.
    pub fn choice_or(
        &mut self,
        name: &str,
        choices: &[&'static str],
        default: &'static str,
    ) -> &'static str {
        let Some(text) = self.optional(name) else {
            return default;
        };
        match choices
            .iter()
            .find(|choice| choice.eq_ignore_ascii_case(&text))
        {
            Some(choice) => choice,
            None => {
                self.problem(
                    name,
                    format!("must be one of {}, not {text:?}", choices.join(", ")),
                );
                default
            }
        }
    }

    /// An absolute `http` or `https` URL that must be present.
    pub fn required_url(&mut self, name: &str) -> Url {
        let text = self.required(name);
        if text.is_empty() {
            return placeholder_url();
        }
        self.parse_url(name, &text)
    }

    /// An absolute `http` or `https` URL with a default.
    pub fn url_or(&mut self, name: &str, default: &str) -> Url {
        let text = self.string_or(name, default);
        self.parse_url(name, &text)
    }

    /// URLs are logged with the configuration at start, so they may not carry a password; and
    /// a bad one is quoted only when it holds no `@` (which could precede a password).
    fn parse_url(&mut self, name: &str, text: &str) -> Url {
        match Url::parse(text) {
            Ok(url) if url.password().is_some() || !url.username().is_empty() => {
                self.problem(name, "must not carry credentials (user:password@)");
                placeholder_url()
            }
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => url,
            _ if text.contains('@') => {
                self.problem(name, "must be an http:// or https:// URL");
                placeholder_url()
            }
            _ => {
                self.problem(
                    name,
                    format!("must be an http:// or https:// URL, not {text:?}"),
                );
                placeholder_url()
            }
        }
    }

    /// A socket address such as `0.0.0.0:50051`, with a default.
    pub fn socket_addr_or(&mut self, name: &str, default: &str) -> SocketAddr {
        let text = self.string_or(name, default);
        text.parse().unwrap_or_else(|_| {
            self.problem(
                name,
                format!("must be an address such as 0.0.0.0:8080, not {text:?}"),
            );
            SocketAddr::from(([0, 0, 0, 0], 0))
        })
    }

    /// A path to a file that must exist and be readable now.
    pub fn readable_file(&mut self, name: &str, path: Option<String>) -> Option<PathBuf> {
        let path = PathBuf::from(path?);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Some(path),
            Ok(_) => {
                self.problem(
                    name,
                    format!("names {}, which is not a file", path.display()),
                );
                None
            }
            Err(err) => {
                self.problem(
                    name,
                    format!("names {}, which cannot be read: {err}", path.display()),
                );
                None
            }
        }
    }

    /// A required path to a readable file.
    pub fn required_file(&mut self, name: &str) -> PathBuf {
        let path = self.required(name);
        if path.is_empty() {
            return PathBuf::new();
        }
        self.readable_file(name, Some(path)).unwrap_or_default()
    }

    /// A secret given either as `NAME` or as a file named by `NAME_FILE` (whose content, less
    /// one trailing newline, is the value). Giving both is an error. Problems never quote the
    /// value.
    pub fn optional_secret(&mut self, name: &str) -> Option<Secret<String>> {
        let file_var = format!("{name}_FILE");
        let direct = self.source.var(name).filter(|v| !v.trim().is_empty());
        if direct
            .as_deref()
            .is_some_and(|value| value.contains(char::REPLACEMENT_CHARACTER))
        {
            self.problem(name, "is not valid UTF-8");
            return None;
        }
        let file = self.optional(&file_var);
        match (direct, file) {
            (Some(_), Some(_)) => {
                self.problem(name, format!("and {file_var} are both set; set only one"));
                None
            }
            (Some(value), None) => Some(Secret::new(value.trim().to_owned())),
            (None, Some(path)) => match read_secret_file(&path) {
                Ok(content) => {
                    // Surrounding whitespace is dropped, as for a value given directly.
                    let value = content.trim();
                    if value.is_empty() {
                        self.problem(&file_var, format!("names {path}, which is empty"));
                        None
                    } else {
                        Some(Secret::new(value.to_owned()))
                    }
                }
                Err(err) => {
                    self.problem(
                        &file_var,
                        format!("names {path}, which cannot be read: {err}"),
                    );
                    None
                }
            },
            (None, None) => None,
        }
    }

    /// A secret that must be given, as `NAME` or `NAME_FILE`.
    pub fn required_secret(&mut self, name: &str) -> Secret<String> {
        let before = self.problems.len();
        match self.optional_secret(name) {
            Some(secret) => secret,
            None => {
                if self.problems.len() == before {
                    self.problem(name, format!("is required but not set (nor {name}_FILE)"));
                }
                Secret::default()
            }
        }
    }

    /// Ends the read: the value built from it, or every problem found.
    pub fn finish<T>(self, value: T) -> Result<T, ConfigError> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }
}

/// The largest secret file read: secrets are short, and a path to `/dev/zero` or a huge file
/// must not exhaust memory.
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// Reads a regular file of at most [`MAX_SECRET_FILE`] bytes (never a FIFO or device, which
/// could block the start for ever).
fn read_secret_file(path: &str) -> std::io::Result<String> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("it is not a regular file"));
    }
    if meta.len() > MAX_SECRET_FILE {
        return Err(std::io::Error::other("it is larger than 64 KiB"));
    }
    std::fs::read_to_string(path)
}

fn placeholder_url() -> Url {
    // A parse of a constant, well-formed URL; used only while a read is failing anyway.
    Url::parse("http://invalid.invalid/").expect("constant URL parses")
}
