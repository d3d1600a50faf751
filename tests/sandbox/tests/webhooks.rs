//! Webhook delivery to a real receiver.

mod common;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::any;
use axum::Router;
use base64::Engine;
use common::{manual, Harness};
use hmac::{Hmac, Mac};
use pesakit_sandbox::{SandboxConfig, DEFAULT_WEBHOOK_SECRET};
use serde_json::{json, Value};
use sha2::Sha256;

#[derive(Clone, Debug)]
struct Received {
    method: Method,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Default)]
struct Receiver {
    received: Mutex<Vec<Received>>,
    /// How many POSTs to fail with 500 before answering 200.
    fail_posts: Mutex<u32>,
}

async fn record(
    State(receiver): State<Arc<Receiver>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let is_post = method == Method::POST;
    receiver.received.lock().unwrap().push(Received {
        method,
        headers,
        body,
    });
    let mut failures = receiver.fail_posts.lock().unwrap();
    if is_post && *failures > 0 {
        *failures -= 1;
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

/// Starts a receiver; its URL and state.
async fn receiver(fail_posts: u32) -> (String, Arc<Receiver>) {
    let state = Arc::new(Receiver {
        received: Mutex::new(Vec::new()),
        fail_posts: Mutex::new(fail_posts),
    });
    let app = Router::new()
        .route("/hook", any(record))
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, state)
}

fn expected_signature(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(DEFAULT_WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn deliveries(h: &Harness) -> Vec<Value> {
    let answer = h
        .get(&h.url("/_sandbox/paypack/webhooks/deliveries"), None)
        .await;
    answer.json.as_array().cloned().unwrap_or_default()
}

/// Waits until `count` deliveries are over; returns them.
async fn finished_deliveries(h: &Harness, count: usize) -> Vec<Value> {
    common::wait_for("webhook deliveries", || async {
        let all = deliveries(h).await;
        (all.len() >= count && all.iter().all(|d| d["done"] == true)).then_some(all)
    })
    .await
}

#[tokio::test]
async fn events_are_delivered_with_head_then_signed_post() {
    let (url, receiver) = receiver(0).await;
    let h = Harness::with(SandboxConfig {
        webhook_urls: vec![url.clone()],
        ..manual()
    })
    .await;
    let token = h.token().await;
    let created = h.create(&token, "cashin", json!(800), "0780633340").await;
    let reference = created["ref"].as_str().unwrap();
    finished_deliveries(&h, 1).await;
    h.settle(reference, None).await;
    let done = finished_deliveries(&h, 2).await;
    for delivery in &done {
        assert_eq!(delivery["url"], url);
        assert_eq!(delivery["head_status"], 200);
        assert_eq!(delivery["post_status"], 200);
        assert_eq!(delivery["attempts"], 1);
        assert_eq!(delivery["error"], Value::Null);
    }
    assert_eq!(done[0]["event_kind"], "transaction:created");
    assert_eq!(done[1]["event_kind"], "transaction:processed");

    let received = receiver.received.lock().unwrap().clone();
    let heads: Vec<_> = received
        .iter()
        .filter(|r| r.method == Method::HEAD)
        .collect();
    let posts: Vec<_> = received
        .iter()
        .filter(|r| r.method == Method::POST)
        .collect();
    assert_eq!(heads.len(), 2);
    assert_eq!(posts.len(), 2);
    assert!(heads
        .iter()
        .all(|r| r.headers.get("x-paypack-signature").is_none()));
    // Each HEAD comes before its POST.
    let order: Vec<_> = received.iter().map(|r| r.method.clone()).collect();
    assert_eq!(order[0], Method::HEAD);

    let events = h
        .get(&h.api("/events/transactions"), Some(&token))
        .await
        .json;
    for post in posts {
        assert_eq!(post.headers["content-type"], "application/json");
        let signature = post.headers["x-paypack-signature"].to_str().unwrap();
        assert_eq!(signature, expected_signature(&post.body));
        let envelope: Value = serde_json::from_slice(&post.body).unwrap();
        assert_eq!(envelope["data"]["ref"], reference);
        let listed = events["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event_id"] == envelope["event_id"])
            .expect("the delivered event is listed");
        assert_eq!(listed, &envelope);
        assert!(done.iter().any(|d| d["event_id"] == envelope["event_id"]));
    }
}

#[tokio::test]
async fn webhooks_follow_the_transaction_mode() {
    let (dev_url, dev) = receiver(0).await;
    let (prod_url, prod) = receiver(0).await;
    let h = Harness::start().await;
    for (url, mode) in [(&dev_url, "development"), (&prod_url, "production")] {
        let answer = h
            .post(
                &h.url("/_sandbox/paypack/webhooks"),
                None,
                &json!({"url": url, "mode": mode}),
            )
            .await;
        assert_eq!(answer.status, reqwest::StatusCode::OK);
        assert!(answer.json["id"].as_u64().is_some());
    }
    let bad = h
        .post(
            &h.url("/_sandbox/paypack/webhooks"),
            None,
            &json!({"url": "ftp://x", "mode": "production"}),
        )
        .await;
    assert_eq!(bad.status, reqwest::StatusCode::BAD_REQUEST);

    let token = h.token().await;
    let answer = h
        .send(
            reqwest::Method::POST,
            &h.api("/transactions/cashin"),
            Some(&token),
            &[("X-Webhook-Mode", "development")],
            Some(&json!({"amount": 100, "number": "0781234567"})),
        )
        .await;
    assert_eq!(answer.status, reqwest::StatusCode::OK);
    h.create(&token, "cashin", json!(100), "0781234567").await; // production by default

    let done = finished_deliveries(&h, 2).await;
    assert_eq!(done.len(), 2);
    assert_eq!(done[0]["url"], dev_url);
    assert_eq!(done[1]["url"], prod_url);
    assert_eq!(dev.received.lock().unwrap().len(), 2); // HEAD + POST
    assert_eq!(prod.received.lock().unwrap().len(), 2);
    let ledger = h.ledger().await;
    assert_eq!(ledger["transactions"][0]["webhook_mode"], "development");
    assert_eq!(ledger["transactions"][1]["webhook_mode"], "production");
}

#[tokio::test]
async fn failed_posts_are_retried_up_to_three_times() {
    let (flaky_url, flaky) = receiver(2).await;
    let (broken_url, broken) = receiver(10).await;
    let h = Harness::with(SandboxConfig {
        webhook_urls: vec![flaky_url.clone(), broken_url.clone()],
        ..manual()
    })
    .await;
    let token = h.token().await;
    h.create(&token, "cashin", json!(100), "0781234567").await;
    let done = finished_deliveries(&h, 2).await;
    let flaky_delivery = done.iter().find(|d| d["url"] == flaky_url).unwrap();
    assert_eq!(flaky_delivery["attempts"], 3);
    assert_eq!(flaky_delivery["post_status"], 200);
    assert_eq!(flaky_delivery["error"], Value::Null);
    let broken_delivery = done.iter().find(|d| d["url"] == broken_url).unwrap();
    assert_eq!(broken_delivery["attempts"], 4);
    assert_eq!(broken_delivery["post_status"], 500);
    assert!(broken_delivery["error"].is_string());
    let posts = |r: &Receiver| {
        r.received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.method == Method::POST)
            .count()
    };
    assert_eq!(posts(&flaky), 3);
    assert_eq!(posts(&broken), 4);
}

#[tokio::test]
async fn an_unreachable_url_does_not_block_the_api() {
    // A port that was just free: nothing listens there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/hook");
    let h = Harness::with(SandboxConfig {
        webhook_urls: vec![url],
        ..manual()
    })
    .await;
    let token = h.token().await;
    h.create(&token, "cashin", json!(100), "0781234567").await;
    let done = finished_deliveries(&h, 1).await;
    assert_eq!(done[0]["head_status"], Value::Null);
    assert_eq!(done[0]["post_status"], Value::Null);
    assert_eq!(done[0]["attempts"], 4);
    assert!(done[0]["error"].as_str().unwrap().contains("POST failed"));
}
