//! The hosted-checkout client against the emulator's `/checkout` over real HTTP.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{quick_retries, start_with, CapturingLogger, Env};
use pesakit::checkout::{
    CheckoutRequest, Client, ClientBuilder, NewPaymentApplication, OAuthTokens, PaymentStatus,
    WebhookEventKind, WebhookVerifier, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use pesakit::{Amount, ErrorKind, MemoryTokenStore, Secret, Timestamp, TokenStore};
use serde_json::{json, Value};

fn builder(env: &Env, token: &str) -> ClientBuilder {
    Client::builder()
        .base_url(env.sandbox.checkout_base_url())
        .client_id(pesakit_sandbox::DEFAULT_CHECKOUT_CLIENT_ID)
        .client_token(token)
        .webhook_secret(pesakit_sandbox::DEFAULT_CHECKOUT_WEBHOOK_SECRET)
        .allow_insecure_loopback(true)
        .retry_policy(quick_retries())
}

fn client(env: &Env) -> Client {
    builder(env, pesakit_sandbox::DEFAULT_CHECKOUT_TOKEN)
        .build()
        .unwrap()
}

async fn count(env: &Env, method: &str, prefix: &str) -> usize {
    env.requests()
        .await
        .iter()
        .filter(|r| r["method"] == method && r["path"].as_str().unwrap().starts_with(prefix))
        .count()
}

fn oauth(access: &str, refresh: &str, expires_at: Option<Timestamp>) -> OAuthTokens {
    OAuthTokens {
        access_token: Secret::new(access),
        refresh_token: Some(Secret::new(refresh)),
        expires_at,
        client_id: pesakit_sandbox::DEFAULT_OAUTH_CLIENT_ID.to_owned(),
        client_secret: Some(Secret::new(pesakit_sandbox::DEFAULT_OAUTH_CLIENT_SECRET)),
        token_path: None,
    }
}

#[tokio::test]
async fn create_then_get_payment_in_minor_units() {
    let env = start_with(|_| {}).await;
    let c = client(&env);
    let amount: Amount = "100.50".parse().unwrap();
    let checkout = c
        .create_checkout(&CheckoutRequest::new(amount, "usd", "order-1"))
        .await
        .unwrap();
    assert!(checkout.checkout_url.contains(&checkout.payment_id));
    assert!(checkout.expires_at.unwrap() > Timestamp::now());
    let sent = env
        .requests()
        .await
        .into_iter()
        .find(|r| r["path"] == "/checkout/api/payment/checkout")
        .unwrap();
    let body: Value = serde_json::from_str(sent["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["amount"], 10050);
    assert_eq!(body["currencyCode"], "USD");
    assert_eq!(
        body["clientId"],
        pesakit_sandbox::DEFAULT_CHECKOUT_CLIENT_ID
    );
    assert_eq!(body["referenceLabel"], "order-1");
    assert_eq!(
        sent["headers"]["authorization"],
        format!("Bearer {}", pesakit_sandbox::DEFAULT_CHECKOUT_TOKEN)
    );

    let payment = c.get_payment(&checkout.payment_id).await.unwrap();
    assert_eq!(payment.id, checkout.payment_id);
    assert_eq!(payment.status, PaymentStatus::Open);
    assert_eq!(payment.reference.as_deref(), Some("order-1"));
    let money = payment.amount.unwrap();
    assert_eq!(money.minor_units, Some(10050));
    assert_eq!(money.value, Some(amount));
    assert!(payment.date.is_some());

    // Zero-exponent currencies take whole units; too many digits is refused, unrounded.
    let rwf = c
        .create_checkout(&CheckoutRequest::new(Amount::from(1500), "RWF", "order-2"))
        .await
        .unwrap();
    let p = c.get_payment(&rwf.payment_id).await.unwrap();
    assert_eq!(p.amount.unwrap().minor_units, Some(1500));
    let before = env.requests().await.len();
    for (amount, currency) in [
        ("1.005", "USD"),
        ("10.5", "RWF"),
        ("1", "XYZ"),
        ("0", "USD"),
    ] {
        let e = c
            .create_checkout(&CheckoutRequest::new(
                amount.parse::<Amount>().unwrap(),
                currency,
                "r",
            ))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Validation, "{amount} {currency}: {e}");
    }
    assert_eq!(env.requests().await.len(), before, "refused before sending");
    // An explicit exponent serves currencies pesakit does not know.
    let mut odd = CheckoutRequest::new("2.5".parse::<Amount>().unwrap(), "XTS", "order-3");
    odd.exponent = Some(3);
    c.create_checkout(&odd).await.unwrap();
}

#[tokio::test]
async fn scopes_permission_and_validation_errors() {
    let env = start_with(|_| {}).await;
    let limited = builder(&env, pesakit_sandbox::DEFAULT_CHECKOUT_LIMITED_TOKEN)
        .build()
        .unwrap();
    let e = limited
        .create_checkout(&CheckoutRequest::new(Amount::from(10), "USD", "o"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permission);
    assert_eq!(e.status(), Some(403));
    assert!(e.to_string().contains("payments.create"), "{e}");
    assert_eq!(
        count(&env, "POST", "/checkout/api/payment/checkout").await,
        1,
        "a 403 is never retried"
    );

    let bad = builder(&env, "not-a-token").build().unwrap();
    let e = bad
        .get_payment("00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert_eq!(e.gateway_message(), Some("Unauthenticated."));

    let c = client(&env);
    let e = c
        .get_payment("6b3f7f9e-0000-4000-8000-000000000000")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);

    // A 422 carries the gateway's per-field messages.
    let mut past = CheckoutRequest::new(Amount::from(10), "USD", "o");
    past.expires_at = Some(Timestamp::from_second(1_000_000_000).unwrap());
    let e = c.create_checkout(&past).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert_eq!(e.status(), Some(422));
    assert!(
        e.field_errors().iter().any(|f| f.field == "expiresAt"),
        "{e:?}"
    );
    assert!(e.to_string().contains("expiresAt"), "{e}");
}

#[tokio::test]
async fn create_checkout_is_never_retried_after_it_may_have_arrived() {
    let env = start_with(|_| {}).await;
    let c = client(&env);
    for fault in [
        json!({"kind": "status", "status": 503}),
        json!({"kind": "drop_after"}),
        json!({"kind": "status", "status": 502}),
    ] {
        env.clear_requests().await;
        let mut f = fault.clone();
        f["path"] = json!("/checkout/api/payment/checkout");
        env.fault(f).await;
        let e = c
            .create_checkout(&CheckoutRequest::new(Amount::from(10), "USD", "order-9"))
            .await
            .unwrap_err();
        assert!(e.is_transient(), "{fault}: {e}");
        assert!(e.to_string().contains("look for reference order-9"), "{e}");
        assert_eq!(
            count(&env, "POST", "/checkout/api/payment/checkout").await,
            1,
            "{fault}"
        );
    }
    // 429 means the gateway refused before acting: that one is retried.
    env.clear_requests().await;
    env.fault(json!({"path": "/checkout/api/payment/checkout", "kind": "status", "status": 429, "retry_after": 0}))
        .await;
    c.create_checkout(&CheckoutRequest::new(Amount::from(10), "USD", "order-10"))
        .await
        .unwrap();
    assert_eq!(
        count(&env, "POST", "/checkout/api/payment/checkout").await,
        2
    );
    // Reads are retried.
    let id = c
        .create_checkout(&CheckoutRequest::new(Amount::from(10), "USD", "order-11"))
        .await
        .unwrap()
        .payment_id;
    env.fault(
        json!({"path": "/checkout/api/payment/", "method": "GET", "kind": "status", "status": 503}),
    )
    .await;
    c.get_payment(&id).await.unwrap();
}

#[tokio::test]
async fn payer_instructions_keep_their_shape() {
    let env = start_with(|_| {}).await;
    let c = client(&env);
    let id = c
        .create_checkout(&CheckoutRequest::new(Amount::from(25), "USD", "o"))
        .await
        .unwrap()
        .payment_id;
    let v = c
        .payer_instructions(&id, "bitcoin", "onchain")
        .await
        .unwrap();
    assert!(v.is_object());
    assert!(!v.as_object().unwrap().is_empty());
    let limited = builder(&env, pesakit_sandbox::DEFAULT_CHECKOUT_LIMITED_TOKEN)
        .build()
        .unwrap();
    let e = limited
        .payer_instructions(&id, "bitcoin", "onchain")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permission);
    assert!(e.to_string().contains("payments.user-instructions.get"));
}

#[tokio::test]
async fn payment_lifecycle_arrives_as_verified_webhooks() {
    use axum::body::Bytes;
    use axum::http::HeaderMap;
    use tokio::sync::mpsc;

    let (tx, mut rx) = mpsc::unbounded_channel::<(HeaderMap, Bytes)>();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let env = start_with(|c| c.checkout_callback_url = Some(url)).await;
    let c = client(&env);
    let id = c
        .create_checkout(&CheckoutRequest::new(Amount::from(40), "USD", "order-7"))
        .await
        .unwrap()
        .payment_id;
    env.post(
        &format!("/_sandbox/checkout/payments/{id}/status"),
        json!({"status": "RECEIVED"}),
    )
    .await;
    env.post(
        &format!("/_sandbox/checkout/payments/{id}/status"),
        json!({"status": "CONFIRMED"}),
    )
    .await;
    let verifier = c.webhook_verifier().unwrap();
    let mut kinds = Vec::new();
    let mut last = None;
    for _ in 0..2 {
        let (headers, body) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a webhook arrives")
            .unwrap();
        let h = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let event = verifier
            .verify_and_parse(
                &body,
                h(SIGNATURE_HEADER).as_deref(),
                h(TIMESTAMP_HEADER).as_deref(),
                h(EVENT_HEADER).as_deref(),
            )
            .unwrap();
        assert_eq!(event.payment.id, id);
        // Tampering with the body or the timestamp is refused.
        let mut tampered = body.to_vec();
        let i = tampered.iter().position(|b| *b == b'4').unwrap();
        tampered[i] = b'9';
        let e = verifier
            .verify_and_parse(
                &tampered,
                h(SIGNATURE_HEADER).as_deref(),
                h(TIMESTAMP_HEADER).as_deref(),
                None,
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WebhookSignature);
        let later = (h(TIMESTAMP_HEADER).unwrap().parse::<i64>().unwrap() + 1).to_string();
        assert!(verifier
            .verify(&body, h(SIGNATURE_HEADER).as_deref(), Some(&later))
            .is_err());
        // A replay an hour later is refused by the window.
        let hour_later = Timestamp::from_second(event.timestamp.as_second() + 3600).unwrap();
        let e = verifier
            .verify_at(
                &body,
                h(SIGNATURE_HEADER).as_deref(),
                h(TIMESTAMP_HEADER).as_deref(),
                hour_later,
            )
            .unwrap_err();
        assert!(e.to_string().contains("tolerance"), "{e}");
        kinds.push((event.kind, event.payment.status));
        last = Some((h(SIGNATURE_HEADER), h(TIMESTAMP_HEADER), body));
    }
    kinds.sort_by_key(|(k, _)| k.as_str().to_owned());
    assert_eq!(
        kinds,
        vec![
            (WebhookEventKind::PaymentCompleted, PaymentStatus::Confirmed),
            (WebhookEventKind::PaymentReceived, PaymentStatus::Received),
        ]
    );
    let p = c.get_payment(&id).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Confirmed);
    assert!(p.confirmed_at.is_some());
    // A verifier keyed with another secret refuses a genuine delivery.
    let (signature, timestamp, body) = last.unwrap();
    let e = WebhookVerifier::new("other")
        .unwrap()
        .verify(&body, signature.as_deref(), timestamp.as_deref())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WebhookSignature);
}

#[tokio::test]
async fn payment_applications_with_oauth_refresh_and_rotation() {
    let env = start_with(|_| {}).await;
    let (access, refresh) = env.checkout_sign_in().await;
    let store = Arc::new(MemoryTokenStore::new());
    let logger = CapturingLogger::new();
    let c = Client::builder()
        .base_url(env.sandbox.checkout_base_url())
        .oauth(oauth(&access, &refresh, None))
        .token_store(store.clone())
        .logger(logger.clone())
        .allow_insecure_loopback(true)
        .retry_policy(quick_retries())
        .build()
        .unwrap();
    let apps = c.payment_applications().await.unwrap();
    assert!(apps
        .iter()
        .any(|a| a.client_id.as_deref() == Some(pesakit_sandbox::DEFAULT_CHECKOUT_CLIENT_ID)));
    let created = c
        .create_payment_application(&NewPaymentApplication {
            name: "Second shop".into(),
            secret: Secret::new("shop-2-secret"),
            callback_url: Some("https://shop.example/hooks".into()),
            currency_whitelist: vec!["USD".into(), "RWF".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(created.name, "Second shop");
    assert_eq!(created.client_id.as_deref().map(str::len), Some(32));
    let again = c.payment_application(&created.id).await.unwrap();
    assert_eq!(
        again.currency_whitelist,
        vec!["USD".to_owned(), "RWF".to_owned()]
    );
    let e = c
        .create_payment_application(&NewPaymentApplication {
            name: "ab".into(),
            secret: Secret::new("s"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);

    // The access token is revoked server-side: 401, refresh (rotating), retry.
    env.post("/_sandbox/checkout/oauth/expire", json!({})).await;
    env.clear_requests().await;
    c.payment_applications().await.unwrap();
    assert_eq!(count(&env, "POST", "/checkout/oauth/token").await, 1);
    let statuses: Vec<Value> = env
        .requests()
        .await
        .iter()
        .filter(|r| r["path"] == "/checkout/api/payment-applications")
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!(401), json!(200)]);
    let key = format!(
        "checkout-oauth|{}|{}",
        env.sandbox.checkout_base_url(),
        pesakit_sandbox::DEFAULT_OAUTH_CLIENT_ID
    );
    let saved = store.load(&key).unwrap().unwrap();
    assert_ne!(
        saved.refresh_token.as_ref().unwrap().expose(),
        refresh,
        "rotated"
    );
    let form = env
        .requests()
        .await
        .into_iter()
        .find(|r| r["path"] == "/checkout/oauth/token")
        .unwrap();
    assert!(form["body"]
        .as_str()
        .unwrap()
        .contains("grant_type=refresh_token"));
    assert!(form["headers"]["authorization"]
        .as_str()
        .unwrap()
        .starts_with("Basic "));

    // The old refresh token no longer works; the error asks to sign in again.
    let stale = Client::builder()
        .base_url(env.sandbox.checkout_base_url())
        .oauth(oauth(
            "expired-access",
            &refresh,
            Some(Timestamp::from_second(1_000_000_000).unwrap()),
        ))
        .allow_insecure_loopback(true)
        .build()
        .unwrap();
    let e = stale.payment_applications().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert!(e.to_string().contains("sign in again"), "{e}");

    for secret in [
        access.as_str(),
        refresh.as_str(),
        saved.access_token.expose(),
        "shop-2-secret",
    ] {
        assert!(!logger.text().contains(secret));
        assert!(!format!("{c:?}").contains(secret));
    }
    // Client-token calls need the client token.
    let e = c.get_payment("x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration);
}

#[tokio::test]
async fn a_client_token_cannot_manage_applications() {
    let env = start_with(|_| {}).await;
    let c = client(&env);
    let e = c.payment_applications().await.unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Configuration,
        "no OAuth tokens configured"
    );
}

#[test]
fn configuration_and_environment() {
    let e = Client::builder().client_token("t").build().unwrap_err();
    assert!(e.to_string().contains("base URL"));
    let e = Client::builder()
        .base_url("https://pay.example")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("client token"));
    let e = Client::builder()
        .base_url("http://pay.example")
        .client_token("t")
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration);
    std::env::set_var("PAYMENT_BASE_URL", "https://pay.example");
    std::env::set_var("PAYMENT_CLIENT_ID", "abcdefabcdefabcdefabcdefabcdefab");
    std::env::set_var("PAYMENT_CLIENT_TOKEN", "tok-secret-value");
    std::env::set_var("WEBHOOK_SECRET", "wh-secret-value");
    let c = Client::from_env().unwrap();
    assert_eq!(c.base_url(), "https://pay.example");
    assert!(c.webhook_verifier().is_some());
    let shown = format!("{c:?} {:?}", ClientBuilder::from_env());
    assert!(
        !shown.contains("tok-secret-value") && !shown.contains("wh-secret-value"),
        "{shown}"
    );
    for v in [
        "PAYMENT_BASE_URL",
        "PAYMENT_CLIENT_ID",
        "PAYMENT_CLIENT_TOKEN",
        "WEBHOOK_SECRET",
    ] {
        std::env::remove_var(v);
    }
}
