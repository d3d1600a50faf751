//! Injected faults and the request log.

mod common;

use std::time::{Duration, Instant};

use common::Harness;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const CASHIN: &str = "/paypack/api/transactions/cashin";

fn body() -> Value {
    json!({"amount": 100, "number": "0781234567"})
}

async fn cashin(h: &Harness, token: &str) -> Result<common::Answer, reqwest::Error> {
    h.try_send(
        Method::POST,
        &h.api("/transactions/cashin"),
        Some(token),
        &[],
        Some(&body()),
    )
    .await
}

async fn ledger_len(h: &Harness) -> usize {
    h.ledger().await["transactions"].as_array().unwrap().len()
}

#[tokio::test]
async fn status_faults_answer_the_status_with_retry_after() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.add_fault(json!({
        "path": CASHIN, "method": "POST", "count": 2,
        "kind": "status", "status": 503, "retry_after": 1
    }))
    .await;
    for _ in 0..2 {
        let answer = cashin(&h, &token).await.unwrap();
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.headers["retry-after"], "1");
        assert_eq!(
            answer.json,
            json!({"message": "injected fault", "status": 503})
        );
    }
    assert_eq!(ledger_len(&h).await, 0, "the handler did not run");
    assert_eq!(cashin(&h, &token).await.unwrap().status, StatusCode::OK);

    // Default status, no Retry-After, and a method that does not match.
    h.add_fault(json!({"path": "/paypack/api/transactions", "method": "GET", "kind": "status"}))
        .await;
    assert_eq!(cashin(&h, &token).await.unwrap().status, StatusCode::OK);
    let list = h.get(&h.api("/transactions/list"), Some(&token)).await;
    assert_eq!(list.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(list.headers.get("retry-after").is_none());

    // after_handler: the side effect happens, the answer is still the fault.
    h.add_fault(json!({"path": CASHIN, "kind": "status", "status": 500, "after_handler": true}))
        .await;
    let answer = cashin(&h, &token).await.unwrap();
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(ledger_len(&h).await, 3);
}

#[tokio::test]
async fn faults_are_listed_cleared_and_consumed_in_order() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.add_fault(json!({"path": CASHIN, "kind": "status", "status": 502}))
        .await;
    h.add_fault(json!({"path": "/paypack", "kind": "status", "status": 504}))
        .await;
    let listed = h.get(&h.url("/_sandbox/faults"), None).await.json;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["kind"], "status");
    assert_eq!(listed[0]["count"], 1);
    assert_eq!(
        cashin(&h, &token).await.unwrap().status,
        StatusCode::BAD_GATEWAY
    );
    assert_eq!(
        cashin(&h, &token).await.unwrap().status,
        StatusCode::GATEWAY_TIMEOUT
    );
    assert_eq!(cashin(&h, &token).await.unwrap().status, StatusCode::OK);

    h.add_fault(json!({"path": "/", "kind": "status", "count": 5}))
        .await;
    let cleared = h
        .send(Method::DELETE, &h.url("/_sandbox/faults"), None, &[], None)
        .await;
    assert_eq!(cleared.status, StatusCode::OK);
    assert_eq!(
        h.get(&h.url("/_sandbox/faults"), None).await.json,
        json!([])
    );
    assert_eq!(cashin(&h, &token).await.unwrap().status, StatusCode::OK);

    // The control API itself is never faulted.
    h.add_fault(json!({"path": "/", "kind": "status"})).await;
    assert_eq!(
        h.get(&h.url("/_sandbox/health"), None).await.status,
        StatusCode::OK
    );

    for bad in [
        json!({"kind": "nope"}),
        json!({"kind": "status", "count": 0}),
        json!({"kind": "status", "status": 42}),
        json!({"kind": "status", "retry-after": 1}),
    ] {
        let answer = h.post(&h.url("/_sandbox/faults"), None, &bad).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn delay_faults_answer_late() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.add_fault(json!({"path": CASHIN, "kind": "delay", "delay_ms": 200}))
        .await;
    let started = Instant::now();
    let answer = cashin(&h, &token).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json["status"], "pending");
    assert_eq!(ledger_len(&h).await, 1);
}

#[tokio::test]
async fn drop_before_closes_the_connection_without_side_effects() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.add_fault(json!({"path": CASHIN, "kind": "drop_before"}))
        .await;
    assert!(cashin(&h, &token).await.is_err());
    assert_eq!(ledger_len(&h).await, 0);
    let log = h.requests().await;
    let last = log.last().unwrap();
    assert_eq!(last["path"], CASHIN);
    assert_eq!(last["status"], Value::Null);
    // The next request works again.
    assert_eq!(cashin(&h, &token).await.unwrap().status, StatusCode::OK);
}

#[tokio::test]
async fn drop_after_closes_the_connection_after_the_side_effects() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.add_fault(json!({"path": CASHIN, "kind": "drop_after"}))
        .await;
    assert!(cashin(&h, &token).await.is_err());
    let ledger = h.ledger().await;
    assert_eq!(ledger["transactions"].as_array().unwrap().len(), 1);
    assert_eq!(ledger["transactions"][0]["status"], "pending");
    assert_eq!(h.requests().await.last().unwrap()["status"], Value::Null);
}

#[tokio::test]
async fn malformed_json_html_and_empty_faults_shape_the_body() {
    let h = Harness::start().await;
    let token = h.token().await;

    h.add_fault(json!({"path": CASHIN, "kind": "malformed_json"}))
        .await;
    let malformed = cashin(&h, &token).await.unwrap();
    assert_eq!(malformed.status, StatusCode::OK);
    assert!(!malformed.bytes.is_empty());
    assert!(serde_json::from_slice::<Value>(&malformed.bytes).is_err());
    assert!(malformed.bytes.starts_with(b"{"));
    assert_eq!(ledger_len(&h).await, 1);

    h.add_fault(json!({"path": CASHIN, "kind": "html"})).await;
    let html = cashin(&h, &token).await.unwrap();
    assert_eq!(html.status, StatusCode::BAD_GATEWAY);
    assert!(html.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(String::from_utf8_lossy(&html.bytes).contains("<html>"));
    assert_eq!(ledger_len(&h).await, 1, "html does not run the handler");

    h.add_fault(json!({"path": CASHIN, "kind": "html", "status": 503, "retry_after": 7}))
        .await;
    let html = cashin(&h, &token).await.unwrap();
    assert_eq!(html.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(html.headers["retry-after"], "7");

    h.add_fault(json!({"path": CASHIN, "kind": "empty"})).await;
    let empty = cashin(&h, &token).await.unwrap();
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.bytes.is_empty());
    assert_eq!(ledger_len(&h).await, 2);

    // The handler's status is kept.
    h.add_fault(json!({"path": "/paypack/api/merchants", "kind": "empty"}))
        .await;
    let unauthorized = h.get(&h.api("/merchants/me"), None).await;
    assert_eq!(unauthorized.status, StatusCode::UNAUTHORIZED);
    assert!(unauthorized.bytes.is_empty());
}

#[tokio::test]
async fn a_json_fault_answers_its_own_body_without_the_handler() {
    let h = Harness::start().await;
    let token = h.token().await;
    let body = json!({"ref": "odd", "status": "reversed", "amount": "1.50"});
    h.add_fault(json!({"path": CASHIN, "kind": "json", "body": body}))
        .await;
    let answer = cashin(&h, &token).await.unwrap();
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&answer.bytes).unwrap(),
        body
    );
    assert_eq!(ledger_len(&h).await, 0, "json does not run the handler");

    h.add_fault(json!({"path": CASHIN, "kind": "json", "status": 422, "body": [1, "two"]}))
        .await;
    let answer = cashin(&h, &token).await.unwrap();
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.json, json!([1, "two"]));

    // A body belongs to a json fault, and a json fault needs one.
    for fault in [
        json!({"path": CASHIN, "kind": "json"}),
        json!({"path": CASHIN, "kind": "status", "body": {}}),
    ] {
        let refused = h.post(&h.url("/_sandbox/faults"), None, &fault).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{fault}");
    }
    assert!(cashin(&h, &token).await.unwrap().status.is_success());
    assert_eq!(ledger_len(&h).await, 1);
}

#[tokio::test]
async fn slow_body_sends_headers_then_one_byte_at_a_time() {
    let h = Harness::start().await;
    let pace = Duration::from_millis(15);
    h.add_fault(json!({"path": "/paypack/api/merchants/me", "kind": "slow_body", "delay_ms": 15}))
        .await;
    let started = Instant::now();
    let mut response = h.http.get(h.api("/merchants/me")).send().await.unwrap();
    let headers_at = started.elapsed();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let mut body = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = response.chunk().await.unwrap() {
        chunks += 1;
        body.extend_from_slice(&chunk);
    }
    let body_time = started.elapsed() - headers_at;
    let parsed: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(parsed["message"], "missing token");
    assert!(chunks > 1, "the body came in pieces");
    let expected = pace * (body.len() as u32 - 1);
    assert!(
        body_time >= expected,
        "the body took {body_time:?} after the headers, expected at least {expected:?}"
    );
}

#[tokio::test]
async fn the_request_log_records_what_the_gateway_received() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.send(
        Method::POST,
        &h.api("/transactions/cashin?idempotency_key=abc"),
        Some(&token),
        &[("X-Webhook-Mode", "development")],
        Some(&body()),
    )
    .await;
    h.get(&h.url("/_sandbox/health"), None).await;
    let log = h.requests().await;
    assert_eq!(log.len(), 2, "control calls are not logged: {log:?}");
    assert_eq!(log[0]["path"], "/paypack/api/auth/agents/authorize");
    assert_eq!(log[0]["status"], 200);
    let entry = &log[1];
    assert!(entry["seq"].as_u64().unwrap() > log[0]["seq"].as_u64().unwrap());
    assert_eq!(entry["method"], "POST");
    assert_eq!(entry["path"], CASHIN);
    assert_eq!(entry["query"], "idempotency_key=abc");
    assert_eq!(entry["headers"]["authorization"], format!("Bearer {token}"));
    assert_eq!(entry["headers"]["x-webhook-mode"], "development");
    assert_eq!(entry["headers"]["content-type"], "application/json");
    let logged: Value = serde_json::from_str(entry["body"].as_str().unwrap()).unwrap();
    assert_eq!(logged, body());
    assert_eq!(entry["status"], 200);
    assert_eq!(log[0]["query"], Value::Null);

    let failed = h.get(&h.api("/merchants/me"), None).await;
    assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.requests().await.last().unwrap()["status"], 401);

    let cleared = h
        .send(
            Method::DELETE,
            &h.url("/_sandbox/requests"),
            None,
            &[],
            None,
        )
        .await;
    assert_eq!(cleared.status, StatusCode::OK);
    assert!(h.requests().await.is_empty());
    h.get(&h.api("/merchants/me"), Some(&token)).await;
    assert_eq!(h.requests().await.len(), 1);
}
