//! The bodies WHMCS (or what sits in front of it) sends: JSON, the deprecated NVP text, the
//! XML of structured actions, and the HTML pages of fatal errors, proxies and PHP warnings.

use std::fmt::Write as _;

use axum::{
    body::Body,
    http::{HeaderValue, StatusCode, header},
    response::Response,
};

use super::json::Json;

/// The version WHMCS reports, in XML answers and `WhmcsDetails`.
pub(crate) const WHMCS_VERSION: &str = "8.7.2";

/// The response formats of `responsetype`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `application/json`.
    Json,
    /// `<whmcsapi>` XML.
    Xml,
    /// `key=value;` text.
    Nvp,
}

/// A rendered body with its content type.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    /// The `Content-Type` header.
    pub(crate) content_type: &'static str,
    /// The body.
    pub(crate) body: String,
}

/// Renders an answer tree in `format`; `action` is the normalised action name XML carries.
pub(crate) fn render(answer: &Json, format: Format, action: &str) -> Rendered {
    match format {
        Format::Json => Rendered {
            content_type: "application/json",
            body: answer.to_text(),
        },
        Format::Nvp => Rendered {
            content_type: "text/plain; charset=utf-8",
            body: nvp(answer),
        },
        Format::Xml => Rendered {
            content_type: "application/xml; charset=utf-8",
            body: xml(answer, action),
        },
    }
}

/// An HTTP response from a status and a rendered body.
pub(crate) fn response(status: u16, rendered: Rendered) -> Response {
    let mut response = Response::new(Body::from(rendered.body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(rendered.content_type),
    );
    response
}

/// NVP keeps only top-level scalars: nested lists and maps have no NVP form.
fn nvp(answer: &Json) -> String {
    let Json::Map(entries) = answer else {
        return String::new();
    };
    let mut out = String::new();
    for (key, value) in entries {
        let text = match value {
            Json::Null => String::new(),
            Json::Bool(flag) => if *flag { "1" } else { "" }.to_owned(),
            Json::Int(number) => number.to_string(),
            Json::Str(text) => text.clone(),
            Json::List(_) | Json::Map(_) => continue,
        };
        let _ = write!(out, "{key}={text};");
    }
    out
}

fn xml(answer: &Json, action: &str) -> String {
    let success = answer.get("result") == Some(&Json::str("success"));
    let version = if success { WHMCS_VERSION } else { "" };
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    let _ = writeln!(out, "<whmcsapi version=\"{version}\">");
    let _ = writeln!(out, "<action>{}</action>", escape_xml(action));
    if let Json::Map(entries) = answer {
        for (key, value) in entries {
            xml_element(key, value, &mut out);
        }
    }
    out.push_str("</whmcsapi>\n");
    out
}

/// A list under `key` repeats `<key>` per item: that is where `orders.order[]` comes from.
fn xml_element(key: &str, value: &Json, out: &mut String) {
    match value {
        Json::List(items) => {
            for item in items {
                xml_element(key, item, out);
            }
        }
        Json::Map(entries) => {
            let _ = write!(out, "<{key}>");
            for (inner_key, inner) in entries {
                xml_element(inner_key, inner, out);
            }
            let _ = writeln!(out, "</{key}>");
        }
        Json::Null => {
            let _ = writeln!(out, "<{key}></{key}>");
        }
        Json::Bool(flag) => {
            let _ = writeln!(out, "<{key}>{}</{key}>", if *flag { "1" } else { "" });
        }
        Json::Int(number) => {
            let _ = writeln!(out, "<{key}>{number}</{key}>");
        }
        Json::Str(text) => {
            let _ = writeln!(out, "<{key}>{}</{key}>", escape_xml(text));
        }
    }
}

fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The HTML page a proxy, WAF or web server answers with on `status`: no JSON at all.
pub(crate) fn proxy_page(status: u16) -> Response {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("Error");
    let body = format!(
        "<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head>\n<body>\n\
         <center><h1>{status} {reason}</h1></center>\n<hr><center>edge-proxy</center>\n\
         </body></html>\n"
    );
    html(status, body)
}

/// WHMCS's own page for a PHP fatal error or an uncaught exception.
pub(crate) fn oops_page() -> Response {
    let body = "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
                <title>Oops!</title></head>\n<body>\n<div class=\"error-container\">\n\
                <h1>Oops!</h1>\n<h2>Something went wrong and we couldn't process your \
                request.</h2>\n<p>Please go back to the previous page and try again.</p>\n\
                </div>\n</body>\n</html>\n"
        .to_owned();
    html(500, body)
}

/// A PHP warning printed in-band with "Display Errors" on.
pub(crate) fn php_warning() -> &'static str {
    "<br />\n<b>Warning</b>:  Undefined array key \"domain\" in \
     <b>/home/billing/public_html/includes/api/addorder.php</b> on line <b>218</b><br />\n"
}

/// A body sent after PHP already printed output: the JSON content type could no longer be
/// set, so PHP's default `text/html` goes out.
pub(crate) fn html(status: u16, body: String) -> Response {
    response(
        status,
        Rendered {
            content_type: "text/html; charset=UTF-8",
            body,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::whmcs::json::map;

    #[test]
    fn nvp_keeps_top_level_scalars() {
        let answer = map([
            ("result", Json::str("success")),
            ("orderid", Json::Int(3)),
            ("paymethods", Json::List(vec![Json::Int(1)])),
        ]);
        assert_eq!(nvp(&answer), "result=success;orderid=3;");
    }

    #[test]
    fn xml_repeats_the_element_of_a_list() {
        let answer = map([
            ("result", Json::str("success")),
            (
                "orders",
                map([("order", Json::List(vec![map([("id", Json::Int(1))])]))]),
            ),
        ]);
        let text = xml(&answer, "getorders");
        assert!(text.contains("<whmcsapi version=\"8.7.2\">"));
        assert!(text.contains("<orders><order><id>1</id>\n</order>\n</orders>"));
    }
}
