//! A SOQL parser for the subset the product uses: a field list with parent paths
//! (`Account.WH_Client_ID__c`) and child subqueries (`(SELECT … FROM OrderItems)`), `FROM`,
//! `WHERE` with `=` conditions joined by `AND`, and `LIMIT`.
//!
//! Keywords are case-insensitive. String literals take Salesforce's backslash escapes, so a
//! quote that is not escaped ends the literal and whatever follows must still parse: an id
//! spliced into a query unescaped (`'801' OR Name != ''`) is a syntax error here, never a
//! wider filter. Anything outside the subset is `MALFORMED_QUERY`, as a real org answers for
//! text it cannot parse.

use std::fmt;

use super::lexer::{Kind, Token, tokenize};

/// Where a token starts: one-based row and column, as Salesforce's messages count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) row: usize,
    pub(crate) column: usize,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    pub(crate) select: Vec<SelectItem>,
    pub(crate) from: String,
    pub(crate) from_at: Position,
    pub(crate) filter: Vec<Condition>,
    pub(crate) limit: Option<usize>,
}

/// One entry of the field list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SelectItem {
    /// `Name` or `Product2.WH_Product_ID__c`.
    Field(FieldPath),
    /// `(SELECT … FROM OrderItems)`.
    Subquery(Query),
}

/// A dotted field path as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldPath {
    pub(crate) parts: Vec<String>,
    pub(crate) at: Position,
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.parts.join("."))
    }
}

/// `field = value`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    pub(crate) field: FieldPath,
    pub(crate) value: Literal,
    pub(crate) value_at: Position,
}

/// A literal on the right of `=`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Text(String),
    Number(f64),
    Boolean(bool),
    Null,
}

/// Why a query was refused, with Salesforce's `errorCode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SoqlError {
    pub(crate) code: &'static str,
    pub(crate) at: Position,
    pub(crate) detail: String,
    /// Lexer errors are reported as a bare line; parse and semantic errors echo the query.
    pub(crate) echo: bool,
}

impl SoqlError {
    pub(crate) fn new(code: &'static str, at: Position, detail: impl Into<String>) -> Self {
        Self {
            code,
            at,
            detail: detail.into(),
            echo: true,
        }
    }

    pub(crate) fn malformed(at: Position, detail: impl Into<String>) -> Self {
        Self::new("MALFORMED_QUERY", at, detail)
    }

    pub(crate) fn lexical(at: Position, detail: String) -> Self {
        Self {
            code: "MALFORMED_QUERY",
            at,
            detail: format!("line {}:{} {detail}", at.row, at.column.saturating_sub(1)),
            echo: false,
        }
    }

    /// The message as Salesforce writes it: the offending line, a caret under the position,
    /// `ERROR at Row:r:Column:c`, and the reason.
    pub(crate) fn message(&self, soql: &str) -> String {
        if !self.echo {
            return self.detail.clone();
        }
        let line = soql
            .lines()
            .nth(self.at.row.saturating_sub(1))
            .unwrap_or("");
        format!(
            "\n{line}\n{caret:>width$}\nERROR at Row:{row}:Column:{column}\n{detail}",
            caret = "^",
            width = self.at.column.max(1),
            row = self.at.row,
            column = self.at.column,
            detail = self.detail
        )
    }
}

/// Words that cannot name a field.
const RESERVED: &[&str] = &[
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "LIMIT", "NULL", "TRUE", "FALSE",
];

/// Parses one query.
pub(crate) fn parse(soql: &str) -> Result<Query, SoqlError> {
    let tokens = tokenize(soql)?;
    let mut parser = Parser { tokens, next: 0 };
    let query = parser.query(false)?;
    parser.expect_end()?;
    Ok(query)
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[self.next.min(last)]
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if self.next < self.tokens.len() {
            self.next += 1;
        }
        token
    }

    fn unexpected(token: &Token) -> SoqlError {
        SoqlError::malformed(token.at, format!("unexpected token: {}", token.kind))
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        matches!(&self.peek().kind, Kind::Word(w) if w.eq_ignore_ascii_case(keyword))
    }

    fn expect_keyword(&mut self, keyword: &str) -> Result<Token, SoqlError> {
        if self.at_keyword(keyword) {
            Ok(self.advance())
        } else {
            Err(Self::unexpected(self.peek()))
        }
    }

    fn expect_end(&mut self) -> Result<(), SoqlError> {
        match self.peek().kind {
            Kind::End => Ok(()),
            _ => Err(Self::unexpected(self.peek())),
        }
    }

    fn query(&mut self, nested: bool) -> Result<Query, SoqlError> {
        self.expect_keyword("SELECT")?;
        let mut select = Vec::new();
        loop {
            if self.peek().kind == Kind::Open {
                let open = self.advance();
                if nested {
                    return Err(Self::unexpected(&open));
                }
                let subquery = self.query(true)?;
                match self.advance() {
                    Token {
                        kind: Kind::Close, ..
                    } => {}
                    other => return Err(Self::unexpected(&other)),
                }
                select.push(SelectItem::Subquery(subquery));
            } else {
                select.push(SelectItem::Field(self.field_path()?));
            }
            if self.peek().kind != Kind::Comma {
                break;
            }
            self.advance();
        }

        self.expect_keyword("FROM")?;
        let from_token = self.advance();
        let from = match &from_token.kind {
            Kind::Word(word) if !is_reserved(word) => word.clone(),
            _ => return Err(Self::unexpected(&from_token)),
        };

        let mut filter = Vec::new();
        if self.at_keyword("WHERE") {
            self.advance();
            filter.push(self.condition()?);
            while self.at_keyword("AND") {
                self.advance();
                filter.push(self.condition()?);
            }
        }

        let mut limit = None;
        if self.at_keyword("LIMIT") {
            self.advance();
            let token = self.advance();
            limit = match &token.kind {
                Kind::Number(n) => Some(n.parse::<usize>().map_err(|_| {
                    SoqlError::malformed(token.at, format!("unexpected token: {n}"))
                })?),
                _ => return Err(Self::unexpected(&token)),
            };
        }

        Ok(Query {
            select,
            from,
            from_at: from_token.at,
            filter,
            limit,
        })
    }

    fn field_path(&mut self) -> Result<FieldPath, SoqlError> {
        let first = self.advance();
        let at = first.at;
        let mut parts = vec![Self::field_name(&first)?];
        while self.peek().kind == Kind::Dot {
            self.advance();
            let next = self.advance();
            parts.push(Self::field_name(&next)?);
        }
        Ok(FieldPath { parts, at })
    }

    fn field_name(token: &Token) -> Result<String, SoqlError> {
        match &token.kind {
            Kind::Word(word) if !is_reserved(word) => Ok(word.clone()),
            _ => Err(Self::unexpected(token)),
        }
    }

    fn condition(&mut self) -> Result<Condition, SoqlError> {
        let field = self.field_path()?;
        let operator = self.advance();
        if operator.kind != Kind::Equals {
            return Err(Self::unexpected(&operator));
        }
        let token = self.advance();
        let value =
            match &token.kind {
                Kind::Text(text) => Literal::Text(text.clone()),
                Kind::Number(n) => Literal::Number(n.parse().map_err(|_| {
                    SoqlError::malformed(token.at, format!("unexpected token: {n}"))
                })?),
                Kind::Word(w) if w.eq_ignore_ascii_case("NULL") => Literal::Null,
                Kind::Word(w) if w.eq_ignore_ascii_case("TRUE") => Literal::Boolean(true),
                Kind::Word(w) if w.eq_ignore_ascii_case("FALSE") => Literal::Boolean(false),
                _ => return Err(Self::unexpected(&token)),
            };
        Ok(Condition {
            field,
            value,
            value_at: token.at,
        })
    }
}

fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|p| (*p).to_owned()).collect()
    }

    #[test]
    fn the_products_order_query_parses() {
        let query = parse(
            "select Id, Account.WH_Client_ID__c,\n (SELECT Id, Product2.Name FROM OrderItems) \
             FROM Order WHERE Id = '801Hp00000AbCdE' limit 1",
        )
        .expect("parses");
        assert_eq!(query.from, "Order");
        assert_eq!(query.limit, Some(1));
        assert_eq!(query.select.len(), 3);
        let SelectItem::Field(parent) = &query.select[1] else {
            panic!("a field");
        };
        assert_eq!(parent.parts, path(&["Account", "WH_Client_ID__c"]));
        let SelectItem::Subquery(items) = &query.select[2] else {
            panic!("a subquery");
        };
        assert_eq!(items.from, "OrderItems");
        assert_eq!(items.from_at, Position { row: 2, column: 33 });
        assert_eq!(
            query.filter[0].value,
            Literal::Text("801Hp00000AbCdE".into())
        );
    }

    #[test]
    fn escapes_stay_inside_the_literal() {
        let query = parse(r"SELECT Id FROM Account WHERE Name = 'O\'Brien \\ Co'").expect("parses");
        assert_eq!(query.filter[0].value, Literal::Text(r"O'Brien \ Co".into()));
    }

    #[test]
    fn a_spliced_quote_is_a_syntax_error() {
        let soql = "SELECT Id FROM Order WHERE Id = '801' OR Name != ''";
        let error = parse(soql).expect_err("refused");
        assert_eq!(error.code, "MALFORMED_QUERY");
        assert_eq!(error.detail, "unexpected token: OR");
        assert_eq!(error.at, Position { row: 1, column: 39 });
        assert_eq!(
            error.message(soql),
            format!(
                "\n{soql}\n{}^\nERROR at Row:1:Column:39\nunexpected token: OR",
                " ".repeat(38)
            )
        );
    }

    #[test]
    fn broken_queries_are_malformed() {
        for soql in [
            "SELECT Id FROM Order WHERE Id = '801",
            "SELECT Id FROM Order WHERE Id = '801''",
            "SELECT Id FROM Order WHERE Id = 'a\\q'",
            "SELECT FROM Order",
            "SELECT Id, FROM Order",
            "SELECT Id FROM",
            "Id FROM Order",
            "q=SELECT Id FROM Order",
            "SELECT Id FROM Order WHERE Id != '801'",
            "SELECT Id FROM Order WHERE Id = '1' OR Id = '2'",
            "SELECT Id FROM Order LIMIT -1",
            "SELECT Id FROM Order LIMIT",
            "SELECT Id, (SELECT Id, (SELECT Id FROM X) FROM OrderItems) FROM Order",
            "SELECT Id, (SELECT Id FROM OrderItems FROM Order",
            "SELECT Id FROM Order ORDER BY Id",
            "SELECT Id FROM Order; DELETE",
            "",
        ] {
            let error = parse(soql).expect_err(soql);
            assert_eq!(error.code, "MALFORMED_QUERY", "{soql}");
        }
    }

    #[test]
    fn an_unterminated_literal_is_reported_like_the_lexer_does() {
        let error = parse("SELECT Id FROM Order WHERE Id = 'abc").expect_err("refused");
        assert_eq!(
            error.message(""),
            "line 1:32 mismatched character '<EOF>' expecting '''"
        );
    }
}
