//! Webhooks as the emulator delivers them: an unsigned HEAD probe, then signed POSTs,
//! verified and parsed into the same `Event` the events API returns.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method};
use axum::routing::any;
use axum::Router;
use common::start_with;
use pesakit::paypack::{
    CashRequest, EventFilter, EventKind, TransactionStatus, WebhookVerifier, SIGNATURE_HEADER,
};
use pesakit::ErrorKind;
use serde_json::json;
use tokio::sync::Notify;

#[derive(Clone, Debug)]
struct Received {
    method: Method,
    signature: Option<String>,
    body: Bytes,
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<Notify>,
}

impl Receiver {
    async fn start(&self) -> String {
        let me = self.clone();
        let app = Router::new().route(
            "/hook",
            any(move |method: Method, headers: HeaderMap, body: Bytes| {
                let me = me.clone();
                async move {
                    let signature = headers
                        .get(SIGNATURE_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    me.got.lock().unwrap().push(Received {
                        method,
                        signature,
                        body,
                    });
                    me.arrived.notify_waiters();
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/hook")
    }

    /// Waits (bounded) until `n` POSTs have arrived.
    async fn posts(&self, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.arrived.notified();
            let posts: Vec<Received> = self
                .got
                .lock()
                .unwrap()
                .iter()
                .filter(|r| r.method == Method::POST)
                .cloned()
                .collect();
            if posts.len() >= n {
                return posts;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("only {} of {n} webhooks arrived", posts.len());
            }
        }
    }
}

#[tokio::test]
async fn delivered_webhooks_verify_and_match_the_events_api() {
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let env = start_with(|c| c.webhook_urls = vec![url]).await;
    let client = env.client();
    let tx = client
        .cashin(CashRequest::new(1000, "0788123456"))
        .await
        .unwrap();
    env.settle(&tx.reference, "successful").await;
    let posts = receiver.posts(2).await;

    // The probe came first, unsigned.
    let first = receiver.got.lock().unwrap()[0].clone();
    assert_eq!(first.method, Method::HEAD);
    assert_eq!(first.signature, None);

    let verifier = WebhookVerifier::new(pesakit_sandbox::DEFAULT_WEBHOOK_SECRET).unwrap();
    let mut events = Vec::new();
    for post in &posts {
        events.push(
            verifier
                .verify_and_parse(&post.body, post.signature.as_deref())
                .unwrap(),
        );
    }
    let processed = events
        .iter()
        .find(|e| e.kind == EventKind::TransactionProcessed)
        .expect("a processed event");
    assert_eq!(processed.transaction.reference, tx.reference);
    assert_eq!(processed.transaction.status, TransactionStatus::Successful);

    // The same event, read through the events API, is the same value.
    let page = client
        .list_events(&EventFilter {
            reference: Some(tx.reference.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let from_api = page.events.iter().find(|e| e.id == processed.id).unwrap();
    assert_eq!(from_api, processed);
}

#[tokio::test]
async fn tampering_and_missing_signatures_are_refused() {
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let env = start_with(|c| c.webhook_urls = vec![url]).await;
    let client = env.client();
    client
        .cashin(CashRequest::new(1000, "0788123456"))
        .await
        .unwrap();
    let post = receiver.posts(1).await.remove(0);
    let signature = post.signature.clone().unwrap();
    let verifier = WebhookVerifier::new(pesakit_sandbox::DEFAULT_WEBHOOK_SECRET).unwrap();
    assert!(verifier
        .verify_and_parse(&post.body, Some(&signature))
        .is_ok());

    // A tampered body: the amount changed from 1000 to 9000.
    let text = String::from_utf8(post.body.to_vec()).unwrap();
    assert!(text.contains("1000"));
    let tampered = text.replacen("1000", "9000", 1);
    let err = verifier
        .verify_and_parse(tampered.as_bytes(), Some(&signature))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WebhookSignature);

    // A tampered signature: one character changed.
    let mut sig = signature.into_bytes();
    sig[0] = if sig[0] == b'A' { b'B' } else { b'A' };
    let err = verifier
        .verify_and_parse(&post.body, Some(std::str::from_utf8(&sig).unwrap()))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WebhookSignature);

    // A missing header.
    let err = verifier.verify_and_parse(&post.body, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WebhookSignature);
    assert!(err.to_string().contains(SIGNATURE_HEADER));

    // The wrong secret.
    let other = WebhookVerifier::new("not-the-secret").unwrap();
    let err = other
        .verify_and_parse(&post.body, post.signature.as_deref())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WebhookSignature);
}

#[tokio::test]
async fn webhook_mode_routes_deliveries() {
    let dev = Receiver::default();
    let prod = Receiver::default();
    let dev_url = dev.start().await;
    let prod_url = prod.start().await;
    let env = start_with(|_| {}).await;
    env.post(
        "/_sandbox/paypack/webhooks",
        json!({"url": dev_url, "mode": "development"}),
    )
    .await;
    env.post(
        "/_sandbox/paypack/webhooks",
        json!({"url": prod_url, "mode": "production"}),
    )
    .await;
    let client = env.client();
    let tx = client
        .cashin(
            CashRequest::new(1000, "0788123456")
                .with_webhook_mode(pesakit::paypack::WebhookMode::Development),
        )
        .await
        .unwrap();
    let posts = dev.posts(1).await;
    let verifier = WebhookVerifier::new(pesakit_sandbox::DEFAULT_WEBHOOK_SECRET).unwrap();
    let event = verifier
        .verify_and_parse(&posts[0].body, posts[0].signature.as_deref())
        .unwrap();
    assert_eq!(event.transaction.reference, tx.reference);
    // Deliveries are recorded; none went to the production URL.
    let deliveries = env.get("/_sandbox/paypack/webhooks/deliveries").await;
    assert!(deliveries
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["url"] != prod_url.as_str()));
    assert!(prod.got.lock().unwrap().is_empty());
}
