//! The REST API under `/services/data/vNN.N/`, and the identity endpoints.
//!
//! Every call needs `Authorization: Bearer <token>` (a missing or garbled header is
//! `INVALID_AUTH_HEADER`, a dead token `INVALID_SESSION_ID`), counts against the org's API
//! allowance, and reports the count in `Sforce-Limit-Info`. Then the version is checked (below
//! 31.0 is retired: 410) and the resource is found: `query`, `query/<locator>`,
//! `sobjects/<Object>/<id>` (`GET`, `PATCH`), and `POST sobjects/OrderProvisionRequested__e`.

use axum::{
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    api_error::{ApiFailure, json_response},
    ids::to_eighteen,
    ordered_json::OrderedJson,
    paging::Locators,
    patch, publish, query,
    schema::ObjectDef,
    server::Shared,
    soql,
};

/// The header that reports API usage.
const LIMIT_INFO: &str = "sforce-limit-info";

/// The oldest version still served; older ones are retired.
const OLDEST_VERSION: u32 = 31;

/// The newest version this org knows.
const NEWEST_VERSION: u32 = 68;

/// Answers a request that is not for the token endpoint.
pub(crate) fn handle(
    shared: &Shared,
    method: &Method,
    path: &str,
    query_string: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    if matches!(path, "/services/data" | "/services/data/") && method == Method::GET {
        return versions();
    }
    let authenticated = path.starts_with("/services/data/v")
        || path == "/services/oauth2/userinfo"
        || path.starts_with("/id/");
    if !authenticated {
        return ApiFailure::not_found().into_response();
    }

    let usage = match authenticate(shared, headers) {
        Ok(usage) => usage,
        Err(failure) => return failure.into_response(),
    };
    let mut response = match usage {
        Usage::Counted(_) => route(shared, method, path, query_string, body),
        Usage::Exceeded(_) => ApiFailure::new(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        )
        .into_response(),
    };
    let used = match usage {
        Usage::Counted(used) | Usage::Exceeded(used) => used,
    };
    if let Ok(value) = HeaderValue::from_str(&format!("api-usage={used}/{}", shared.api_limit)) {
        response.headers_mut().insert(LIMIT_INFO, value);
    }
    response
}

/// The API usage after this call.
#[derive(Debug, Clone, Copy)]
enum Usage {
    Counted(u64),
    Exceeded(u64),
}

fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<Usage, ApiFailure> {
    let bad_header = || {
        ApiFailure::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTH_HEADER",
            "INVALID_HEADER_TYPE",
        )
    };
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(bad_header)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(bad_header)?;
    let token = token.trim();
    let known_scheme =
        scheme.eq_ignore_ascii_case("Bearer") || scheme.eq_ignore_ascii_case("OAuth");
    if !known_scheme || token.is_empty() || token.contains(char::is_whitespace) {
        return Err(bad_header());
    }

    let mut state = shared.lock();
    if !state.sessions.authenticate(token) {
        return Err(ApiFailure::invalid_session());
    }
    if state.api_used >= shared.api_limit {
        return Ok(Usage::Exceeded(state.api_used));
    }
    state.api_used += 1;
    Ok(Usage::Counted(state.api_used))
}

fn route(
    shared: &Shared,
    method: &Method,
    path: &str,
    query_string: Option<&str>,
    body: &[u8],
) -> Response {
    if path == "/services/oauth2/userinfo" || path.starts_with("/id/") {
        return identity(shared, path);
    }
    let rest = path.trim_start_matches("/services/data/v");
    let (version, resource) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(major) = parse_version(version) else {
        return ApiFailure::not_found().into_response();
    };
    if major < OLDEST_VERSION {
        return ApiFailure::new(
            StatusCode::GONE,
            "GONE",
            "The requested resource no longer exists",
        )
        .into_response();
    }
    if major > NEWEST_VERSION {
        return ApiFailure::not_found().into_response();
    }

    let segments: Vec<&str> = resource.split('/').collect();
    let result = match (method.as_str(), segments.as_slice()) {
        (_, [""]) => Ok(resources(version)),
        ("GET", ["query"] | ["query", ""]) => run_query(shared, query_string, version),
        ("GET", ["query", locator]) => next_page(shared, locator, version),
        (_, ["query", ..]) => Err(ApiFailure::method_not_allowed(method.as_str(), "GET,HEAD")),
        ("POST", ["sobjects", name] | ["sobjects", name, ""]) => {
            publish::publish(shared, name, body)
        }
        ("GET", ["sobjects", name] | ["sobjects", name, ""]) => {
            object_def(shared, name).map(|def| basic_info(def, version))
        }
        (_, ["sobjects", name] | ["sobjects", name, ""]) => {
            object_def(shared, name).and_then(|_| {
                Err(ApiFailure::method_not_allowed(
                    method.as_str(),
                    "HEAD,GET,POST",
                ))
            })
        }
        ("GET", ["sobjects", name, id]) => {
            object_def(shared, name).and_then(|def| get_record(shared, def, id, version))
        }
        ("PATCH", ["sobjects", name, id]) => {
            object_def(shared, name).and_then(|def| update_record(shared, def, id, body))
        }
        (_, ["sobjects", name, _]) => object_def(shared, name).and_then(|_| {
            Err(ApiFailure::method_not_allowed(
                method.as_str(),
                "GET,PATCH,HEAD",
            ))
        }),
        _ => Err(ApiFailure::not_found()),
    };
    match result {
        Ok(response) => response,
        Err(failure) => failure.into_response(),
    }
}

/// The major number of `NN.N`.
fn parse_version(text: &str) -> Option<u32> {
    let (major, minor) = text.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(major) && digits(minor)).then(|| major.parse().ok())?
}

/// The org's object with this name, or `404 NOT_FOUND`.
pub(crate) fn object_def(shared: &Shared, name: &str) -> Result<&'static ObjectDef, ApiFailure> {
    shared
        .catalog
        .object(name)
        .ok_or_else(ApiFailure::not_found)
}

fn versions() -> Response {
    let list: Vec<Value> = (OLDEST_VERSION..=NEWEST_VERSION)
        .map(|major| {
            json!({"label": format!("Version {major}"), "url": format!("/services/data/v{major}.0"), "version": format!("{major}.0")})
        })
        .collect();
    json_response(StatusCode::OK, &list)
}

fn resources(version: &str) -> Response {
    let base = format!("/services/data/v{version}");
    json_response(
        StatusCode::OK,
        &json!({"sobjects": format!("{base}/sobjects"), "query": format!("{base}/query")}),
    )
}

/// `GET /sobjects/<Object>`: the object's basic description.
fn basic_info(def: &ObjectDef, version: &str) -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "objectDescribe": {
                "name": def.name,
                "keyPrefix": def.key_prefix,
                "updateable": true,
                "queryable": true,
                "urls": {
                    "sobject": format!("/services/data/v{version}/sobjects/{}", def.name),
                    "rowTemplate": format!("/services/data/v{version}/sobjects/{}/{{ID}}", def.name),
                },
            },
            "recentItems": [],
        }),
    )
}

fn identity(shared: &Shared, path: &str) -> Response {
    let id_url = format!(
        "{}/id/{}/{}",
        shared.base_url, shared.org_id, shared.user_id
    );
    if path.starts_with("/id/") && !id_url.ends_with(path) {
        return ApiFailure::not_found().into_response();
    }
    json_response(
        StatusCode::OK,
        &json!({
            "sub": id_url,
            "id": id_url,
            "user_id": shared.user_id,
            "organization_id": shared.org_id,
            "preferred_username": shared.username,
            "username": shared.username,
            "active": true,
            "user_type": "STANDARD",
            "urls": {
                "rest": format!("{}/services/data/v{{version}}/", shared.base_url),
                "query": format!("{}/services/data/v{{version}}/query/", shared.base_url),
                "sobjects": format!("{}/services/data/v{{version}}/sobjects/", shared.base_url),
            },
        }),
    )
}

fn run_query(
    shared: &Shared,
    query_string: Option<&str>,
    version: &str,
) -> Result<Response, ApiFailure> {
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(query_string.unwrap_or("")).unwrap_or_default();
    let Some((_, soql_text)) = params.iter().find(|(key, _)| key == "q") else {
        return Err(ApiFailure::new(
            StatusCode::BAD_REQUEST,
            "MALFORMED_QUERY",
            "A query string has to be specified",
        ));
    };
    let refused = |error: soql::SoqlError| {
        ApiFailure::new(
            StatusCode::BAD_REQUEST,
            error.code,
            error.message(soql_text),
        )
    };
    let parsed = soql::parse(soql_text).map_err(refused)?;
    let plan = query::plan(shared.catalog, &parsed).map_err(refused)?;

    let mut state = shared.lock();
    let rows = query::execute(&plan, &state.org, version);
    let state = &mut *state;
    let org = &mut state.org;
    let page = state
        .locators
        .first_page(rows, shared.page_size, || org.mint_id("01g"), version);
    Ok(ordered_response(&page))
}

fn next_page(shared: &Shared, locator: &str, version: &str) -> Result<Response, ApiFailure> {
    let state = shared.lock();
    let locators: &Locators = &state.locators;
    locators
        .next_page(locator, shared.page_size, version)
        .map(|page| ordered_response(&page))
        .ok_or_else(|| {
            ApiFailure::new(
                StatusCode::BAD_REQUEST,
                "INVALID_QUERY_LOCATOR",
                "invalid query locator",
            )
        })
}

fn ordered_response(json: &OrderedJson) -> Response {
    json_response(StatusCode::OK, json)
}

/// The record's id from the path, when the path names a record of this object.
fn record_id(def: &ObjectDef, segment: &str) -> Result<String, ApiFailure> {
    match to_eighteen(segment) {
        Some(id) if id.starts_with(def.key_prefix) => Ok(id),
        Some(_) => Err(ApiFailure::not_found()),
        None => Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("Provided external ID field does not exist or is not accessible: {segment}"),
        )),
    }
}

fn get_record(
    shared: &Shared,
    def: &'static ObjectDef,
    segment: &str,
    version: &str,
) -> Result<Response, ApiFailure> {
    let id = record_id(def, segment)?;
    let state = shared.lock();
    let row = state
        .org
        .get(def.name, &id)
        .ok_or_else(ApiFailure::not_found)?;
    let mut members = vec![("attributes", query::attributes(def.name, &id, version))];
    for field in def.fields {
        members.push((
            field.name,
            row.get(field.name).cloned().unwrap_or(Value::Null).into(),
        ));
    }
    Ok(ordered_response(&OrderedJson::Object(members)))
}

fn update_record(
    shared: &Shared,
    def: &'static ObjectDef,
    segment: &str,
    body: &[u8],
) -> Result<Response, ApiFailure> {
    let id = record_id(def, segment)?;
    let mut state = shared.lock();
    if state.org.get(def.name, &id).is_none() {
        return Err(ApiFailure::not_found());
    }
    let changes = patch::validate(def, body, &state.org)?;
    patch::apply(&mut state.org, def, &id, changes);
    Ok(StatusCode::NO_CONTENT.into_response())
}
