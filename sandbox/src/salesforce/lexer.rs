//! The SOQL tokenizer: words, string literals with Salesforce's backslash escapes, numbers,
//! punctuation and comparison operators, each with the row and column it starts at.

use std::fmt;

use super::soql::{Position, SoqlError};

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Word(String),
    Text(String),
    Number(String),
    Comma,
    Dot,
    Open,
    Close,
    Equals,
    Operator(&'static str),
    End,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Word(word) | Self::Number(word) => f.write_str(word),
            Self::Text(text) => write!(f, "'{text}'"),
            Self::Comma => f.write_str(","),
            Self::Dot => f.write_str("."),
            Self::Open => f.write_str("("),
            Self::Close => f.write_str(")"),
            Self::Equals => f.write_str("="),
            Self::Operator(op) => f.write_str(op),
            Self::End => f.write_str("'<EOF>'"),
        }
    }
}

/// A token and where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) kind: Kind,
    pub(crate) at: Position,
}

/// Splits a query into tokens, ending with [`Kind::End`].
pub(crate) fn tokenize(soql: &str) -> Result<Vec<Token>, SoqlError> {
    let mut tokens = Vec::new();
    let mut chars = soql.chars().peekable();
    let mut at = Position { row: 1, column: 1 };

    while let Some(&c) = chars.peek() {
        let start = at;
        let mut take = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
            let c = chars.next();
            if c == Some('\n') {
                at.row += 1;
                at.column = 1;
            } else {
                at.column += 1;
            }
            c
        };
        let kind = match c {
            c if c.is_whitespace() => {
                take(&mut chars);
                continue;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if !(c.is_ascii_alphanumeric() || c == '_') {
                        break;
                    }
                    word.push(c);
                    take(&mut chars);
                }
                Kind::Word(word)
            }
            c if c.is_ascii_digit() || c == '-' => {
                let mut number = String::new();
                while let Some(&c) = chars.peek() {
                    let sign = c == '-' && number.is_empty();
                    if !(c.is_ascii_digit() || c == '.' || sign) {
                        break;
                    }
                    number.push(c);
                    take(&mut chars);
                }
                Kind::Number(number)
            }
            '\'' => {
                take(&mut chars);
                Kind::Text(string_literal(&mut chars, &mut take, start)?)
            }
            ',' | '.' | '(' | ')' | '=' => {
                take(&mut chars);
                match c {
                    ',' => Kind::Comma,
                    '.' => Kind::Dot,
                    '(' => Kind::Open,
                    ')' => Kind::Close,
                    _ => Kind::Equals,
                }
            }
            '!' | '<' | '>' => {
                take(&mut chars);
                let followed_by = chars.peek().copied();
                let op = match (c, followed_by) {
                    ('!', Some('=')) => "!=",
                    ('<', Some('>')) => "<>",
                    ('<', Some('=')) => "<=",
                    ('>', Some('=')) => ">=",
                    ('<', _) => "<",
                    ('>', _) => ">",
                    _ => {
                        return Err(SoqlError::lexical(
                            start,
                            format!("no viable alternative at character '{c}'"),
                        ));
                    }
                };
                if op.len() == 2 {
                    take(&mut chars);
                }
                Kind::Operator(op)
            }
            other => {
                return Err(SoqlError::lexical(
                    start,
                    format!("no viable alternative at character '{other}'"),
                ));
            }
        };
        tokens.push(Token { kind, at: start });
    }
    tokens.push(Token {
        kind: Kind::End,
        at,
    });
    Ok(tokens)
}

/// The rest of a string literal after its opening quote.
fn string_literal(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    take: &mut impl FnMut(&mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<char>,
    start: Position,
) -> Result<String, SoqlError> {
    let mut text = String::new();
    loop {
        match take(chars) {
            None => {
                return Err(SoqlError::lexical(
                    start,
                    "mismatched character '<EOF>' expecting '''".to_owned(),
                ));
            }
            Some('\'') => return Ok(text),
            Some('\\') => {
                let escaped = match take(chars) {
                    Some('\'') => '\'',
                    Some('"') => '"',
                    Some('\\') => '\\',
                    Some('n') => '\n',
                    Some('r') => '\r',
                    Some('t') => '\t',
                    Some('b') => '\u{8}',
                    Some('f') => '\u{c}',
                    other => {
                        let shown = other.map(String::from).unwrap_or_default();
                        return Err(SoqlError::malformed(
                            start,
                            format!(
                                "Invalid string literal '{text}\\{shown}'. Illegal character \
                                 sequence '\\{shown}' in string literal."
                            ),
                        ));
                    }
                };
                text.push(escaped);
            }
            Some(c) => text.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_know_their_row_and_column() {
        let tokens = tokenize("SELECT Id\n  FROM x WHERE a != 'it\\'s'").expect("tokens");
        let kinds: Vec<String> = tokens.iter().map(|t| t.kind.to_string()).collect();
        assert_eq!(
            kinds,
            [
                "SELECT", "Id", "FROM", "x", "WHERE", "a", "!=", "'it's'", "'<EOF>'"
            ]
        );
        assert_eq!(tokens[2].at, Position { row: 2, column: 3 });
        assert_eq!(tokens[7].kind, Kind::Text("it's".into()));
    }

    #[test]
    fn stray_characters_are_refused() {
        for text in [
            "SELECT Id FROM x;",
            "SELECT ! FROM x",
            "SELECT Id FROM x WHERE a = \"b\"",
        ] {
            let error = tokenize(text).expect_err(text);
            assert_eq!(error.code, "MALFORMED_QUERY");
            assert!(
                error.detail.contains("no viable alternative"),
                "{}",
                error.detail
            );
        }
    }
}
