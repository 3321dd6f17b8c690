//! The Salesforce clients both services use: the OAuth 2.0 JWT bearer flow ([`JwtBearer`])
//! and a small REST client ([`RestClient`]), plus record ids ([`SalesforceId`]).

mod auth;
pub mod fields;
mod id;
mod rest;

pub use auth::{AuthError, JwtBearer, OAuthErrorKind, Session, parse_token_answer};
pub use id::{IdError, SalesforceId};
pub use rest::{
    ApiError, ApiUsage, LIMIT_INFO_HEADER, QueryResult, RestClient, RestError, parse_error_answer,
    parse_query_page,
};
