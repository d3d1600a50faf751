//! Each fault the emulator can inject, and what the client does with it: retried or
//! not, which error kind, and — for money calls — never a second transaction.

mod common;

use std::time::Duration;

use common::{start, Env};
use pesakit::paypack::{CashRequest, Client};
use pesakit::ErrorKind;
use serde_json::json;

async fn ready(env: &Env) -> Client {
    let client = env
        .builder()
        .request_timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    client.profile().await.unwrap(); // authorized, so logs show only the call under test
    env.clear_requests().await;
    client
}

const PROFILE: &str = "/paypack/api/merchants/me";
const CASHIN: &str = "/paypack/api/transactions/cashin";

#[tokio::test]
async fn retryable_statuses_are_retried_on_reads() {
    for status in [502, 503, 504] {
        let env = start().await;
        let client = ready(&env).await;
        env.fault(json!({"path": PROFILE, "kind": "status", "status": status, "count": 2}))
            .await;
        client.profile().await.unwrap();
        assert_eq!(
            env.count("GET", "/merchants/me").await,
            3,
            "status {status}"
        );
    }
}

#[tokio::test]
async fn retries_stop_at_the_policy_limit() {
    let env = start().await;
    let client = ready(&env).await;
    env.fault(json!({"path": PROFILE, "kind": "status", "status": 503, "count": 10}))
        .await;
    let err = client.profile().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Gateway);
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.gateway_message(), Some("injected fault"));
    assert_eq!(
        env.count("GET", "/merchants/me").await,
        4,
        "1 try + 3 retries"
    );
}

#[tokio::test]
async fn a_500_is_not_retried() {
    let env = start().await;
    let client = ready(&env).await;
    env.fault(json!({"path": PROFILE, "kind": "status", "status": 500}))
        .await;
    let err = client.profile().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Gateway);
    assert_eq!(env.count("GET", "/merchants/me").await, 1);
}

#[tokio::test]
async fn rate_limits_honour_retry_after() {
    let env = start().await;
    let client = ready(&env).await;
    env.fault(json!({"path": PROFILE, "kind": "status", "status": 429, "retry_after": 0}))
        .await;
    client.profile().await.unwrap();
    assert_eq!(env.count("GET", "/merchants/me").await, 2);

    // A Retry-After beyond the policy's limit is not waited out: the caller gets it.
    env.clear_requests().await;
    env.fault(json!({"path": PROFILE, "kind": "status", "status": 429, "retry_after": 120}))
        .await;
    let err = client.profile().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(env.count("GET", "/merchants/me").await, 1);
}

#[tokio::test]
async fn a_rate_limited_money_call_is_retried() {
    let env = start().await;
    let client = ready(&env).await;
    env.fault(json!({"path": CASHIN, "kind": "status", "status": 429, "retry_after": 0}))
        .await;
    client
        .cashin(CashRequest::new(100, "0788123456"))
        .await
        .unwrap();
    assert_eq!(env.count("POST", "/transactions/cashin").await, 2);
    assert_eq!(env.ledger_transactions().await.len(), 1);
}

#[tokio::test]
async fn timeouts_before_headers() {
    let env = start().await;
    let client = ready(&env).await;
    env.fault(json!({"path": PROFILE, "kind": "delay", "delay_ms": 1500}))
        .await;
    client.profile().await.unwrap();
    assert_eq!(env.count("GET", "/merchants/me").await, 2);

    env.fault(json!({"path": PROFILE, "kind": "delay", "delay_ms": 1500, "count": 10}))
        .await;
    let err = client.profile().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
}

#[tokio::test]
async fn a_slow_body_times_out() {
    let env = start().await;
    let client = ready(&env).await;
    env.fault(json!({"path": PROFILE, "kind": "slow_body", "delay_ms": 200, "count": 10}))
        .await;
    let err = client.profile().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(env.count("GET", "/merchants/me").await, 4);
}

#[tokio::test]
async fn dropped_connections_on_reads_are_retried() {
    for kind in ["drop_before", "drop_after"] {
        let env = start().await;
        let client = ready(&env).await;
        env.fault(json!({"path": PROFILE, "kind": kind})).await;
        client.profile().await.unwrap();
        env.fault(json!({"path": PROFILE, "kind": kind, "count": 10}))
            .await;
        let err = client.profile().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Network, "{kind}: {err}");
    }
}

#[tokio::test]
async fn a_cashin_dropped_after_the_gateway_acted_is_retried_into_one_transaction() {
    let env = start().await;
    let client = ready(&env).await;
    env.fault(json!({"path": CASHIN, "kind": "drop_after"}))
        .await;
    let tx = client
        .cashin(CashRequest::new(1000, "0788123456"))
        .await
        .unwrap();
    let log = env.requests().await;
    let tries: Vec<_> = log.iter().filter(|r| r["path"] == CASHIN).collect();
    assert_eq!(tries.len(), 2);
    assert!(
        tries[0]["status"].is_null(),
        "the first answer never arrived"
    );
    assert_eq!(
        tries[0]["headers"]["idempotency-key"],
        tries[1]["headers"]["idempotency-key"]
    );
    let ledger = env.ledger_transactions().await;
    assert_eq!(ledger.len(), 1, "exactly one transaction: {ledger:?}");
    assert_eq!(ledger[0]["ref"], tx.reference.as_str());
}

#[tokio::test]
async fn money_calls_never_duplicate_under_any_fault() {
    let faults = [
        json!({"kind": "status", "status": 502}),
        json!({"kind": "status", "status": 503}),
        json!({"kind": "status", "status": 504}),
        json!({"kind": "delay", "delay_ms": 1500}),
        json!({"kind": "drop_before"}),
        json!({"kind": "drop_after"}),
        json!({"kind": "slow_body", "delay_ms": 300}),
        json!({"kind": "html", "status": 502}),
    ];
    for fault in faults {
        let env = start().await;
        let client = ready(&env).await;
        let mut f = fault.clone();
        f["path"] = json!(CASHIN);
        env.fault(f).await;
        let tx = client
            .cashin(CashRequest::new(1000, "0788123456"))
            .await
            .unwrap_or_else(|e| panic!("{fault}: {e}"));
        let ledger = env.ledger_transactions().await;
        assert_eq!(ledger.len(), 1, "{fault}");
        assert_eq!(ledger[0]["ref"], tx.reference.as_str(), "{fault}");
    }
}

#[tokio::test]
async fn a_500_on_a_money_call_is_not_retried_and_names_the_key() {
    let env = start().await;
    let client = ready(&env).await;
    env.fault(json!({"path": CASHIN, "kind": "status", "status": 500}))
        .await;
    let err = client
        .cashin(CashRequest::new(1000, "0788123456").with_idempotency_key("order-7"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Gateway);
    assert_eq!(err.idempotency_key(), Some("order-7"));
    assert!(
        err.to_string()
            .contains("retry with idempotency key order-7"),
        "{err}"
    );
    assert_eq!(env.count("POST", "/transactions/cashin").await, 1);
    // The caller retries with the same key and gets one transaction.
    client
        .cashin(CashRequest::new(1000, "0788123456").with_idempotency_key("order-7"))
        .await
        .unwrap();
    assert_eq!(env.ledger_transactions().await.len(), 1);
}

#[tokio::test]
async fn malformed_json_is_a_decode_error_not_retried() {
    let env = start().await;
    let client = ready(&env).await;
    env.fault(json!({"path": PROFILE, "kind": "malformed_json"}))
        .await;
    let err = client.profile().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(
        err.to_string().contains("truncated") || err.to_string().contains("not valid JSON"),
        "{err}"
    );
    assert!(err.body().is_some());
    assert_eq!(env.count("GET", "/merchants/me").await, 1);
}

#[tokio::test]
async fn a_malformed_cashin_answer_keeps_the_key_for_lookup() {
    let env = start().await;
    let client = ready(&env).await;
    env.fault(json!({"path": CASHIN, "kind": "malformed_json"}))
        .await;
    let err = client
        .cashin(CashRequest::new(1000, "0788123456"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(err.idempotency_key().is_some());
    assert_eq!(
        env.ledger_transactions().await.len(),
        1,
        "the gateway did act"
    );
}

#[tokio::test]
async fn an_html_page_is_a_clear_error() {
    let env = start().await;
    let client = ready(&env).await;
    env.fault(json!({"path": PROFILE, "kind": "html", "status": 502, "count": 10}))
        .await;
    let err = client.profile().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Gateway);
    assert_eq!(err.status(), Some(502));
    assert!(err.to_string().contains("HTML page"), "{err}");
    assert!(err.body().unwrap().contains("<"));
    assert_eq!(env.count("GET", "/merchants/me").await, 4, "502 is retried");

    env.delete("/_sandbox/faults").await;
    env.fault(json!({"path": PROFILE, "kind": "html", "status": 200}))
        .await;
    let err = client.profile().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(err.to_string().contains("HTML"), "{err}");
}

#[tokio::test]
async fn an_empty_body_is_a_clear_error() {
    let env = start().await;
    let client = ready(&env).await;
    env.fault(json!({"path": PROFILE, "kind": "empty"})).await;
    let err = client.profile().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(err.to_string().contains("empty"), "{err}");
}

#[tokio::test]
async fn an_unreachable_gateway_is_a_network_error() {
    let env = start().await;
    let url = env.sandbox.paypack_base_url();
    env.sandbox.shutdown().await;
    let client = Client::builder()
        .client_id("id")
        .client_secret("secret")
        .base_url(url)
        .allow_insecure_loopback(true)
        .retry_policy(common::quick_retries())
        .build()
        .unwrap();
    let err = client.profile().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network);
    assert!(err.to_string().contains("could not connect"), "{err}");
}
