//! Answers the `whmcs_response` fuzz target (`fuzz/`) found mishandled, each fed through the
//! same parsing as in production, with the reproducer's bytes as libFuzzer wrote them (a
//! selector byte, the HTTP status as a big-endian `u16`, then the body).

use super::{CreatedOrder, parse_answer};

/// Splits a reproducer into the status and the body.
fn status_and_body(reproducer: &[u8]) -> (u16, &[u8]) {
    (
        u16::from_be_bytes([reproducer[1], reproducer[2]]),
        &reproducer[3..],
    )
}

/// `productids` as an array holding `""` gave the service id `""`; the journal stores service
/// ids comma-joined, so an empty one was lost between the reply and GetFulfillment.
#[test]
fn an_empty_service_id_in_an_array_is_no_id() {
    let reproducer = b"\x00\x00\xc8{\"result\":\"success\",\"orderid\":\"1043\",\"productids\":[888218,\"\"],\"invoiceid\":0}";
    let (status, body) = status_and_body(reproducer);
    let answer = parse_answer("AddOrder", status, body).unwrap();
    let created = CreatedOrder::from_answer(&answer).unwrap();
    assert_eq!(created.service_ids, ["888218"]);
}

/// An `orderid` of 184467440737095516161 (beyond `u64`, so JSON reads it as a float) was cast
/// to `u64::MAX`: a made-up WHMCS order id would have been journaled and accepted.
#[test]
fn an_order_id_beyond_u64_is_no_order_id() {
    let reproducer = b"\x00\x00\xc8{\"result\":\"success\",\"orderid\":184467440737095516161,\"addonidsid\":\"55\"}";
    let (status, body) = status_and_body(reproducer);
    let answer = parse_answer("AddOrder", status, body).unwrap();
    assert!(CreatedOrder::from_answer(&answer).is_err());
}
