//! Publishing `OrderProvisionRequested__e` over REST (`POST /sobjects/<event>`): the body is
//! checked like a record's against the event's fields in the DX project, the event is
//! published as the integration user, and the answer is the 201 "enqueued" save result whose
//! `message` is the EventUuid.
//!
//! The org's event bus carries only `OrderId__c`: another field the event defines is accepted
//! in the body but not carried to subscribers.

use axum::{http::StatusCode, response::Response};
use serde_json::{Value, json};

use super::{
    api_error::{ApiFailure, json_response},
    flow::EVENT_NAME,
    rest::object_def,
    server::Shared,
};

/// The event's field that carries the Order's id.
const ORDER_FIELD: &str = "OrderId__c";

/// An 18-character record id.
const ID_LENGTH: usize = 18;

/// `POST /sobjects/OrderProvisionRequested__e`: publishes as the integration user and answers
/// with the "enqueued" save result whose message is the EventUuid.
pub(crate) fn publish(shared: &Shared, name: &str, body: &[u8]) -> Result<Response, ApiFailure> {
    if !name.eq_ignore_ascii_case(EVENT_NAME) {
        return object_def(shared, name).and_then(|_| {
            Err(ApiFailure::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "HTTP Method 'POST' not allowed. Allowed are GET,HEAD",
            ))
        });
    }
    let members = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(members)) => members,
        _ => {
            return Err(ApiFailure::new(
                StatusCode::BAD_REQUEST,
                "JSON_PARSER_ERROR",
                format!("Cannot deserialize instance of {EVENT_NAME} from the request body"),
            ));
        }
    };
    // The catalog refuses a project without this event and field, so both are there.
    let event = shared.catalog.source().object(EVENT_NAME);
    let order_field = event.and_then(|event| event.field(ORDER_FIELD));
    let mut order_id = None;
    for (key, value) in members {
        if event.and_then(|event| event.field(&key)).is_none() {
            return Err(ApiFailure::new(
                StatusCode::BAD_REQUEST,
                "INVALID_FIELD",
                format!("No such column '{key}' on sobject of type {EVENT_NAME}"),
            ));
        }
        if !key.eq_ignore_ascii_case(ORDER_FIELD) {
            continue;
        }
        order_id = value
            .as_str()
            .filter(|text| !text.is_empty())
            .map(str::to_owned);
    }
    let order_id = order_id.ok_or_else(|| {
        ApiFailure::on_fields(
            StatusCode::BAD_REQUEST,
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [OrderId__c]",
            &["OrderId__c"],
        )
    })?;
    let max = order_field
        .and_then(|field| field.field_type.text_length())
        .unwrap_or(ID_LENGTH);
    if order_id.chars().count() > max {
        let label = order_field.map_or(ORDER_FIELD, |field| field.label.as_str());
        return Err(ApiFailure::on_fields(
            StatusCode::BAD_REQUEST,
            "STRING_TOO_LONG",
            format!("{label}: data value too large: {order_id} (max length={max})"),
            &[ORDER_FIELD],
        ));
    }

    let mut state = shared.lock();
    let event = state.bus.publish(&order_id, &shared.user_id);
    let publish_id = state.org.mint_id("e00");
    drop(state);
    Ok(json_response(
        StatusCode::CREATED,
        &json!({
            "id": publish_id,
            "success": true,
            "errors": [{"statusCode": "OPERATION_ENQUEUED", "message": event.event_uuid, "fields": []}],
        }),
    ))
}
