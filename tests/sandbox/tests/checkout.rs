//! The hosted-checkout gateway over real HTTP: payments, scopes, validation, OAuth2,
//! payment applications, webhooks and their retries, faults and the request log.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::post;
use axum::Router;
use common::{manual, Answer, Harness};
use hmac::{Hmac, Mac};
use pesakit_sandbox::{
    CheckoutToken, SandboxConfig, DEFAULT_CHECKOUT_CLIENT_ID, DEFAULT_CHECKOUT_LIMITED_TOKEN,
    DEFAULT_CHECKOUT_TOKEN, DEFAULT_CHECKOUT_WEBHOOK_SECRET, DEFAULT_OAUTH_CLIENT_ID,
    DEFAULT_OAUTH_CLIENT_SECRET, DEFAULT_OAUTH_PASSWORD, DEFAULT_OAUTH_USERNAME,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::Semaphore;

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

/// A valid create-checkout body for the default application.
fn order(amount: Value, currency: &str) -> Value {
    json!({
        "amount": amount,
        "currencyCode": currency,
        "reference": "order-1001",
        "referenceLabel": "Order",
        "clientId": DEFAULT_CHECKOUT_CLIENT_ID,
    })
}

async fn create(h: &Harness, token: Option<&str>, body: &Value) -> Answer {
    h.post(&h.checkout("/api/payment/checkout"), token, body)
        .await
}

/// The payment id: the UUID path segment of a checkout URL.
fn payment_id(checkout_url: &str) -> String {
    let path = checkout_url.split('?').next().unwrap();
    path.rsplit('/').next().unwrap().to_owned()
}

/// Creates a payment that must succeed; its checkout URL and id.
async fn create_ok(h: &Harness, body: &Value) -> (String, String) {
    let answer = create(h, Some(DEFAULT_CHECKOUT_TOKEN), body).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json);
    let url = answer.json["data"]["checkoutUrl"]
        .as_str()
        .expect("a checkoutUrl")
        .to_owned();
    let id = payment_id(&url);
    (url, id)
}

async fn get_payment(h: &Harness, token: Option<&str>, id: &str) -> Answer {
    h.get(&h.checkout(&format!("/api/payment/{id}")), token)
        .await
}

async fn set_status(h: &Harness, id: &str, body: Value) -> Answer {
    h.post(
        &h.url(&format!("/_sandbox/checkout/payments/{id}/status")),
        None,
        &body,
    )
    .await
}

async fn ledger(h: &Harness) -> Value {
    h.get(&h.url("/_sandbox/checkout/ledger"), None).await.json
}

async fn set_config(h: &Harness, body: Value) -> Answer {
    h.post(&h.url("/_sandbox/checkout/config"), None, &body)
        .await
}

/// Posts a form to `/checkout/oauth/token`, optionally with HTTP Basic client auth.
async fn oauth(h: &Harness, params: &[(&str, &str)], basic: Option<(&str, &str)>) -> Answer {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let mut request = h
        .http
        .post(h.checkout("/oauth/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .body(body);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap().to_vec();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        bytes,
        json,
    }
}

/// A password grant with the demo user and client; the whole answer, which must be 200.
async fn password_grant(h: &Harness) -> Value {
    let answer = oauth(
        h,
        &[
            ("grant_type", "password"),
            ("username", DEFAULT_OAUTH_USERNAME),
            ("password", DEFAULT_OAUTH_PASSWORD),
            ("client_id", DEFAULT_OAUTH_CLIENT_ID),
            ("client_secret", DEFAULT_OAUTH_CLIENT_SECRET),
        ],
        None,
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json);
    answer.json
}

async fn refresh_grant(h: &Harness, refresh_token: &str) -> Answer {
    oauth(
        h,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", DEFAULT_OAUTH_CLIENT_ID),
            ("client_secret", DEFAULT_OAUTH_CLIENT_SECRET),
        ],
        None,
    )
    .await
}

async fn list_applications(h: &Harness, token: Option<&str>) -> Answer {
    h.get(&h.checkout("/api/payment-applications"), token).await
}

async fn deliveries(h: &Harness) -> Vec<Value> {
    h.get(&h.url("/_sandbox/checkout/webhooks/deliveries"), None)
        .await
        .json
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits until at least `count` deliveries exist and all of them are over.
async fn finished_deliveries(h: &Harness, count: usize) -> Vec<Value> {
    common::wait_for("checkout webhook deliveries", || async {
        let all = deliveries(h).await;
        (all.len() >= count && all.iter().all(|d| d["done"] == true)).then_some(all)
    })
    .await
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The signature a receiver expects: hex HMAC-SHA256 of `"{timestamp}.{body}"`.
fn expected_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    hex(&mac.finalize().into_bytes())
}

/// One webhook as the receiver got it.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("header {name} missing"))
            .to_str()
            .unwrap()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Checks the signature against `secret`, recomputed here.
    fn assert_signed_with(&self, secret: &str) {
        let timestamp = self.header("x-paymentservice-timestamp");
        assert!(
            timestamp.parse::<i64>().is_ok(),
            "unix seconds: {timestamp}"
        );
        assert_eq!(
            self.header("x-paymentservice-signature"),
            expected_signature(secret, timestamp, &self.body)
        );
    }
}

struct Receiver {
    received: Mutex<Vec<Received>>,
    /// How many POSTs to answer 500 before answering 200.
    failures: Mutex<u32>,
    /// When set, every POST waits for a permit before it is answered.
    gate: Option<Semaphore>,
}

impl Receiver {
    fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn record(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> AxumStatus {
    if let Some(gate) = &receiver.gate {
        gate.acquire().await.unwrap().forget();
    }
    receiver
        .received
        .lock()
        .unwrap()
        .push(Received { headers, body });
    let mut failures = receiver.failures.lock().unwrap();
    if *failures > 0 {
        *failures -= 1;
        AxumStatus::INTERNAL_SERVER_ERROR
    } else {
        AxumStatus::OK
    }
}

/// Starts a webhook receiver that fails `failures` times; its URL and state.
async fn receiver_with(failures: u32, gated: bool) -> (String, Arc<Receiver>) {
    let state = Arc::new(Receiver {
        received: Mutex::new(Vec::new()),
        failures: Mutex::new(failures),
        gate: gated.then(|| Semaphore::new(0)),
    });
    let app = Router::new()
        .route("/hook", post(record))
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, state)
}

async fn receiver(failures: u32) -> (String, Arc<Receiver>) {
    receiver_with(failures, false).await
}

/// A sandbox whose default application sends its webhooks to `url`.
async fn with_callback(url: &str) -> Harness {
    Harness::with(SandboxConfig {
        checkout_callback_url: Some(url.to_owned()),
        ..manual()
    })
    .await
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

// ---------------------------------------------------------------------------------
// Payments
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn create_checkout_answers_a_signed_url_of_a_new_open_payment() {
    let h = Harness::start().await;
    let before = now();
    let (url, id) = create_ok(&h, &order(json!(10000), "USD")).await;
    let after = now();

    let prefix = format!("{}/checkout/", h.sandbox.checkout_base_url());
    let rest = url
        .strip_prefix(&prefix)
        .expect("under the hosted-page path");
    let (path_id, query) = rest.split_once('?').expect("a query");
    assert_eq!(path_id, id);
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "a UUID: {id}");
    let (expires, signature) = query
        .strip_prefix("expires=")
        .and_then(|q| q.split_once("&signature="))
        .expect("expires then signature");
    let expires: i64 = expires.parse().unwrap();
    assert!(
        (before + 3600..=after + 3600).contains(&expires),
        "now + 1 h"
    );
    assert_eq!(signature.len(), 64);
    assert!(signature
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));

    let answer = get_payment(&h, Some(DEFAULT_CHECKOUT_TOKEN), &id).await;
    assert_eq!(answer.status, StatusCode::OK);
    let payment = &answer.json["data"];
    assert_eq!(payment["id"], id.as_str());
    assert_eq!(payment["userId"], 1);
    assert_eq!(payment["status"], "OPEN");
    assert_eq!(payment["reference"], "order-1001");
    assert_eq!(payment["referenceLabel"], "Order");
    assert_eq!(payment["currencyCode"], "USD");
    assert_eq!(payment["settlementCurrencyCode"], Value::Null);
    assert_eq!(
        payment["amount"],
        json!({"value": 100.0, "amount": 10000, "formatted": "100.00 USD"})
    );
    for key in ["receivedAmount", "settledAmount", "foundAt", "confirmedAt"] {
        assert_eq!(payment[key], Value::Null, "{key}");
    }
    let date = payment["date"].as_str().unwrap();
    assert!(date.ends_with("+00:00"), "{date}");
    let date: jiff::Timestamp = date.parse().unwrap();
    assert!((before..=after).contains(&date.as_second()));

    // No idempotency: the same body creates a second payment.
    let (_, second) = create_ok(&h, &order(json!(10000), "USD")).await;
    assert_ne!(second, id);
    let ledger = ledger(&h).await;
    let payments = ledger["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 2);
    assert_eq!(payments[0]["checkoutUrl"], url.as_str());
    assert_eq!(payments[0]["applicationId"], 1);

    // No callback URL configured: status changes send nothing.
    assert_eq!(
        set_status(&h, &id, json!({"status": "FOUND"})).await.status,
        200
    );
    assert!(deliveries(&h).await.is_empty());
}

#[tokio::test]
async fn the_checkout_url_serves_the_hosted_page_when_its_signature_holds() {
    let h = Harness::start().await;
    let (url, _) = create_ok(&h, &order(json!(2500), "EUR")).await;
    let page = h.get(&url, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = String::from_utf8(page.bytes).unwrap();
    assert!(
        html.contains("order-1001") && html.contains("25.00 EUR"),
        "{html}"
    );

    let tampered = format!("{}0", &url[..url.len() - 1]);
    let tampered = if tampered == url {
        format!("{}1", &url[..url.len() - 1])
    } else {
        tampered
    };
    let refused = h.get(&tampered, None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.message(), "Invalid signature.");
    let unsigned = url.split("&signature=").next().unwrap();
    assert_eq!(h.get(unsigned, None).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn optional_fields_site_id_and_currency_exponents() {
    let h = Harness::start().await;
    let expires_at = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(2);
    let expires_text = expires_at
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(2)))
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string();
    let (url, id) = create_ok(
        &h,
        &json!({
            "amount": "5000",
            "currencyCode": "RWF",
            "reference": "  inv-7  ",
            "referenceLabel": "Invoice",
            "siteId": 1,
            "redirectUrl": "https://shop.example/thanks",
            "expiresAt": expires_text,
            "productId": "sku-42",
            "settlementCurrencyCode": "USDT",
        }),
    )
    .await;
    assert!(url.contains(&format!("?expires={}&", expires_at.as_second())));
    let payment = get_payment(&h, Some(DEFAULT_CHECKOUT_TOKEN), &id)
        .await
        .json["data"]
        .clone();
    assert_eq!(payment["reference"], "inv-7", "strings are trimmed");
    assert_eq!(payment["settlementCurrencyCode"], "USDT");
    assert_eq!(
        payment["amount"],
        json!({"value": 5000, "amount": 5000, "formatted": "5000 RWF"})
    );
    let ledger = ledger(&h).await;
    let entry = &ledger["payments"][0];
    assert_eq!(entry["redirectUrl"], "https://shop.example/thanks");
    assert_eq!(entry["productId"], "sku-42");
    assert_eq!(
        entry["expiresAt"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second(),
        expires_at.as_second()
    );

    let (_, btc) = create_ok(&h, &order(json!(12345), "BTC")).await;
    let btc = get_payment(&h, Some(DEFAULT_CHECKOUT_TOKEN), &btc).await;
    assert_eq!(
        btc.json["data"]["amount"],
        json!({"value": 0.00012345, "amount": 12345, "formatted": "0.00012345 BTC"})
    );
}

#[tokio::test]
async fn payment_endpoints_require_a_token_with_the_scope() {
    let h = Harness::start().await;
    let body = order(json!(100), "USD");
    let (_, id) = create_ok(&h, &body).await;
    let instructions = h.checkout(&format!(
        "/api/payment/{id}/provider/bitcoin/method/onchain"
    ));

    for token in [None, Some("unknown-token")] {
        let answer = create(&h, token, &body).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.json, json!({"message": "Unauthenticated."}));
        assert_eq!(get_payment(&h, token, &id).await.status, 401);
        assert_eq!(h.get(&instructions, token).await.status, 401);
    }
    // The scheme is Laravel's case-sensitive `Bearer `.
    let lowercase = h
        .send(
            Method::GET,
            &h.checkout(&format!("/api/payment/{id}")),
            None,
            &[("Authorization", &format!("bearer {DEFAULT_CHECKOUT_TOKEN}"))],
            None,
        )
        .await;
    assert_eq!(lowercase.status, StatusCode::UNAUTHORIZED);

    let limited = Some(DEFAULT_CHECKOUT_LIMITED_TOKEN);
    let refused = create(&h, limited, &body).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json, json!({"message": "Insufficient permissions"}));
    assert_eq!(get_payment(&h, limited, &id).await.status, StatusCode::OK);
    let refused = h.get(&instructions, limited).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.message(), "Insufficient permissions");

    // OAuth access tokens are for the dashboard endpoints only.
    let oauth = password_grant(&h).await;
    let access = oauth["access_token"].as_str().unwrap();
    assert_eq!(create(&h, Some(access), &body).await.status, 403);
    assert_eq!(get_payment(&h, Some(access), &id).await.status, 403);
    assert_eq!(ledger(&h).await["payments"].as_array().unwrap().len(), 1);

    // Configured tokens replace the defaults.
    let custom = Harness::with(SandboxConfig {
        checkout_tokens: vec![
            CheckoutToken::new("maker", ["payments.create"]),
            CheckoutToken::new("guide", ["payments.get", "payments.user-instructions.get"]),
        ],
        ..manual()
    })
    .await;
    let made = create(&custom, Some("maker"), &body).await;
    assert_eq!(made.status, StatusCode::OK);
    let id = payment_id(made.json["data"]["checkoutUrl"].as_str().unwrap());
    assert_eq!(get_payment(&custom, Some("maker"), &id).await.status, 403);
    assert_eq!(get_payment(&custom, Some("guide"), &id).await.status, 200);
    let guide = custom
        .get(
            &custom.checkout(&format!("/api/payment/{id}/provider/tron/method/trc20")),
            Some("guide"),
        )
        .await;
    assert_eq!(guide.status, StatusCode::OK);
    assert_eq!(create(&custom, Some("guide"), &body).await.status, 403);
    assert_eq!(
        create(&custom, Some(DEFAULT_CHECKOUT_TOKEN), &body)
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn invalid_create_bodies_answer_422_with_field_errors() {
    let h = Harness::start().await;
    let token = Some(DEFAULT_CHECKOUT_TOKEN);

    let empty = create(&h, token, &json!({})).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.message(), "The given data was invalid.");
    let errors = empty.json["errors"].as_object().unwrap();
    let mut fields: Vec<&str> = errors.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "amount",
            "clientId",
            "currencyCode",
            "reference",
            "referenceLabel",
            "siteId"
        ]
    );
    for messages in errors.values() {
        let messages = messages.as_array().unwrap();
        assert!(!messages.is_empty() && messages.iter().all(Value::is_string));
    }
    assert_eq!(errors["amount"], json!(["The amount field is required."]));
    assert_eq!(
        errors["currencyCode"],
        json!(["The currency code field is required."])
    );

    let bad = create(
        &h,
        token,
        &json!({
            "amount": 0,
            "currencyCode": "usd",
            "reference": "r",
            "referenceLabel": "Order",
            "clientId": "no-such-client",
            "expiresAt": "2001-01-01T00:00:00Z",
            "redirectUrl": "not a url",
            "settlementCurrencyCode": "TOOLONG",
        }),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = &bad.json["errors"];
    assert_eq!(
        errors["amount"],
        json!(["The amount field must be at least 1."])
    );
    assert_eq!(
        errors["currencyCode"],
        json!(["The currency code field format is invalid."])
    );
    assert_eq!(
        errors["clientId"],
        json!(["The selected client id is invalid."])
    );
    assert_eq!(
        errors["expiresAt"],
        json!(["The expires at field must be a date after now."])
    );
    assert_eq!(
        errors["redirectUrl"],
        json!(["The redirect url field must be a valid URL."])
    );
    assert!(errors["settlementCurrencyCode"].is_array());
    assert!(errors.get("reference").is_none());
    assert!(errors.get("siteId").is_none());

    let mut fractional = order(json!(1.5), "USD");
    fractional["expiresAt"] = json!("soon");
    let answer = create(&h, token, &fractional).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer.json["errors"]["amount"],
        json!(["The amount field must be an integer."])
    );
    assert_eq!(
        answer.json["errors"]["expiresAt"],
        json!(["The expires at field must be a valid date."])
    );
    assert_eq!(answer.json["errors"].as_object().unwrap().len(), 2);

    let not_json = h
        .send(
            Method::POST,
            &h.checkout("/api/payment/checkout"),
            token,
            &[("Content-Type", "application/json")],
            None,
        )
        .await;
    assert_eq!(not_json.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(ledger(&h).await["payments"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn unknown_payments_are_404_and_instructions_depend_on_the_provider() {
    let h = Harness::start().await;
    let token = Some(DEFAULT_CHECKOUT_TOKEN);
    let missing = get_payment(&h, token, "00000000-0000-0000-0000-000000000000").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json, json!({"message": "Not found."}));

    let (_, id) = create_ok(&h, &order(json!(250000), "USD")).await;
    let path = |provider: &str, method: &str| {
        h.checkout(&format!(
            "/api/payment/{id}/provider/{provider}/method/{method}"
        ))
    };
    let answer = h.get(&path("bitcoin", "onchain"), token).await;
    assert_eq!(answer.status, StatusCode::OK);
    let data = &answer.json["data"];
    assert_eq!(data["provider"], "bitcoin");
    assert_eq!(data["method"], "onchain");
    assert!(!data["address"].as_str().unwrap().is_empty());
    assert_eq!(data["amount"]["amount"], 250000);
    assert!(data["qrCode"]
        .as_str()
        .unwrap()
        .starts_with("data:image/svg+xml;base64,"));
    assert!(data["expiresAt"]
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .is_ok());
    assert_eq!(data["extra"]["memo"], "order-1001");
    // Stable per payment, provider and method.
    let again = h.get(&path("bitcoin", "onchain"), token).await;
    assert_eq!(again.json["data"]["address"], data["address"]);

    let unknown = h.get(&path("dogecoin", "onchain"), token).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        unknown.json["errors"]["provider"],
        json!(["The selected provider is invalid."])
    );
    let wrong_method = h.get(&path("tron", "lightning"), token).await;
    assert_eq!(wrong_method.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong_method.json["errors"]["method"].is_array());
    let no_payment = h
        .get(
            &h.checkout("/api/payment/nope/provider/bitcoin/method/onchain"),
            token,
        )
        .await;
    assert_eq!(no_payment.status, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------------------------
// Lifecycle and webhooks
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn the_lifecycle_delivers_signed_webhooks() {
    let (url, hook) = receiver(0).await;
    let h = with_callback(&url).await;
    let (_, id) = create_ok(&h, &order(json!(10000), "USD")).await;

    let found = set_status(&h, &id, json!({"status": "FOUND"})).await;
    assert_eq!(found.status, StatusCode::OK, "{:?}", found.json);
    assert_eq!(found.json["status"], "FOUND");
    assert!(found.json["foundAt"].is_string());
    assert_eq!(found.json["receivedAmount"]["amount"], 10000);
    assert_eq!(found.json["confirmedAt"], Value::Null);
    finished_deliveries(&h, 1).await;

    let received = set_status(&h, &id, json!({"status": "received"})).await;
    assert_eq!(received.json["status"], "RECEIVED");
    assert_eq!(received.json["foundAt"], found.json["foundAt"]);
    finished_deliveries(&h, 2).await;

    let confirmed = set_status(&h, &id, json!({"status": "CONFIRMED"})).await;
    assert_eq!(confirmed.json["status"], "CONFIRMED");
    assert!(confirmed.json["confirmedAt"].is_string());
    assert_eq!(confirmed.json["settledAmount"]["amount"], 10000);
    let done = finished_deliveries(&h, 3).await;

    let events: Vec<&str> = done.iter().map(|d| d["event"].as_str().unwrap()).collect();
    assert_eq!(
        events,
        ["payment.found", "payment.received", "payment.completed"]
    );
    for delivery in &done {
        assert_eq!(delivery["payment_id"], id.as_str());
        assert_eq!(delivery["url"], url.as_str());
        assert_eq!(delivery["attempts"], 1);
        assert_eq!(delivery["statuses"], json!([200]));
        assert_eq!(delivery["done"], true);
    }

    let got = hook.all();
    assert_eq!(got.len(), 3);
    let current = get_payment(&h, Some(DEFAULT_CHECKOUT_TOKEN), &id)
        .await
        .json["data"]
        .clone();
    for (webhook, (event, status)) in got.iter().zip([
        ("payment.found", "FOUND"),
        ("payment.received", "RECEIVED"),
        ("payment.completed", "CONFIRMED"),
    ]) {
        assert_eq!(webhook.header("content-type"), "application/json");
        assert_eq!(webhook.header("x-paymentservice-event"), event);
        let timestamp: i64 = webhook
            .header("x-paymentservice-timestamp")
            .parse()
            .unwrap();
        assert!((now() - timestamp).abs() < 60, "a current unix time");
        webhook.assert_signed_with(DEFAULT_CHECKOUT_WEBHOOK_SECRET);
        let body = webhook.json();
        assert_eq!(body.as_object().unwrap().len(), 1, "only a payment key");
        assert_eq!(body["payment"]["id"], id.as_str());
        assert_eq!(body["payment"]["status"], status);
    }
    assert_eq!(
        got[2].json()["payment"],
        current,
        "the resource, as GET shows it"
    );
}

#[tokio::test]
async fn side_branches_and_control_errors() {
    let (url, hook) = receiver(0).await;
    let h = with_callback(&url).await;
    let (_, id) = create_ok(&h, &order(json!(10000), "USD")).await;

    let underpaid = set_status(
        &h,
        &id,
        json!({"status": "UNDERPAID", "received_minor": 4000}),
    )
    .await;
    assert_eq!(underpaid.status, StatusCode::OK);
    assert_eq!(
        underpaid.json["receivedAmount"],
        json!({"value": 40.0, "amount": 4000, "formatted": "40.00 USD"})
    );
    assert!(underpaid.json["foundAt"].is_string());
    assert_eq!(underpaid.json["settledAmount"], Value::Null);
    finished_deliveries(&h, 1).await;
    for status in ["CANCELLED", "ERROR", "REFUND"] {
        assert_eq!(
            set_status(&h, &id, json!({"status": status})).await.status,
            200
        );
    }
    let done = finished_deliveries(&h, 4).await;
    let mut events: Vec<&str> = done.iter().map(|d| d["event"].as_str().unwrap()).collect();
    assert_eq!(events.remove(0), "payment.underpaid");
    events.sort_unstable();
    assert_eq!(
        events,
        ["payment.cancelled", "payment.error", "payment.refund"]
    );
    assert_eq!(hook.all().len(), 4);

    let unknown = set_status(&h, "nope", json!({"status": "FOUND"})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    for body in [
        json!({"status": "PAID"}),
        json!({}),
        json!({"status": "FOUND", "received_minor": -1}),
        json!({"status": "FOUND", "extra": 1}),
    ] {
        let answer = set_status(&h, &id, body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(!answer.message().is_empty());
    }
    assert_eq!(deliveries(&h).await.len(), 4);
}

#[tokio::test]
async fn failed_deliveries_are_retried_on_the_schedule_and_re_signed() {
    let (url, hook) = receiver(2).await;
    // The third attempt comes more than a second after the first, so its timestamp
    // differs.
    let h = Harness::with(SandboxConfig {
        checkout_callback_url: Some(url.clone()),
        checkout_webhook_retry_delays: vec![
            Duration::from_millis(20),
            Duration::from_millis(1100),
            Duration::from_secs(600),
        ],
        ..manual()
    })
    .await;
    let (_, id) = create_ok(&h, &order(json!(10000), "USD")).await;
    set_status(&h, &id, json!({"status": "CONFIRMED"})).await;
    let done = finished_deliveries(&h, 1).await;
    assert_eq!(done[0]["attempts"], 3);
    assert_eq!(done[0]["statuses"], json!([500, 500, 200]));
    assert_eq!(done[0]["error"], Value::Null);

    let got = hook.all();
    assert_eq!(got.len(), 3);
    for webhook in &got {
        webhook.assert_signed_with(DEFAULT_CHECKOUT_WEBHOOK_SECRET);
        assert_eq!(webhook.body, got[0].body, "the same body every time");
        assert_eq!(
            webhook.header("x-paymentservice-event"),
            "payment.completed"
        );
    }
    let stamp = |w: &Received| -> i64 { w.header("x-paymentservice-timestamp").parse().unwrap() };
    assert!(stamp(&got[2]) > stamp(&got[0]), "re-stamped");
    assert_ne!(
        got[2].header("x-paymentservice-signature"),
        got[0].header("x-paymentservice-signature"),
        "re-signed"
    );
}

#[tokio::test]
async fn the_schedule_set_through_control_bounds_the_attempts() {
    let (broken_url, broken) = receiver(u32::MAX).await;
    let h = Harness::start().await;
    let config = set_config(
        &h,
        json!({"webhook_retry_delays_ms": [10, 10], "callback_url": broken_url}),
    )
    .await;
    assert_eq!(config.status, StatusCode::OK, "{:?}", config.json);
    assert_eq!(config.json["webhook_retry_delays_ms"], json!([10, 10]));
    assert_eq!(config.json["callback_url"], broken_url.as_str());

    let (_, id) = create_ok(&h, &order(json!(10000), "USD")).await;
    set_status(&h, &id, json!({"status": "FOUND"})).await;
    let done = finished_deliveries(&h, 1).await;
    assert_eq!(done[0]["attempts"], 3, "one attempt and two retries");
    assert_eq!(done[0]["statuses"], json!([500, 500, 500]));
    assert!(done[0]["error"].as_str().unwrap().contains("500"));
    assert_eq!(broken.all().len(), 3);

    // A URL nobody listens on: connection failures, recorded as null statuses.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dead = format!("http://127.0.0.1:{port}/hook");
    set_config(
        &h,
        json!({"callback_url": dead, "webhook_retry_delays_ms": [5]}),
    )
    .await;
    set_status(&h, &id, json!({"status": "RECEIVED"})).await;
    let done = finished_deliveries(&h, 2).await;
    assert_eq!(done[1]["url"], dead.as_str());
    assert_eq!(done[1]["statuses"], json!([null, null]));
    assert!(done[1]["error"].as_str().unwrap().contains("POST failed"));

    // Cleared: nothing more is sent.
    let cleared = set_config(&h, json!({"callback_url": null})).await;
    assert_eq!(cleared.json["callback_url"], Value::Null);
    set_status(&h, &id, json!({"status": "CONFIRMED"})).await;
    assert_eq!(deliveries(&h).await.len(), 2);
}

#[tokio::test]
async fn deliveries_never_hold_up_the_answers() {
    let (url, hook) = receiver_with(0, true).await;
    let h = with_callback(&url).await;
    let (_, id) = create_ok(&h, &order(json!(100), "USD")).await;
    // The receiver holds every webhook until it gets a permit; the control answer
    // and API calls come back regardless.
    let answer = set_status(&h, &id, json!({"status": "FOUND"})).await;
    assert_eq!(answer.status, StatusCode::OK);
    let payment = get_payment(&h, Some(DEFAULT_CHECKOUT_TOKEN), &id).await;
    assert_eq!(payment.json["data"]["status"], "FOUND");
    let pending = deliveries(&h).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["done"], false);
    hook.gate.as_ref().unwrap().add_permits(1);
    let done = finished_deliveries(&h, 1).await;
    assert_eq!(done[0]["statuses"], json!([200]));
}

// ---------------------------------------------------------------------------------
// OAuth2
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn oauth_password_grant_and_rotating_refresh() {
    let h = Harness::start().await;
    let first = password_grant(&h).await;
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["expires_in"], 3600);
    let access = first["access_token"].as_str().unwrap();
    let refresh = first["refresh_token"].as_str().unwrap();
    assert!(!access.is_empty() && !refresh.is_empty());
    assert_eq!(list_applications(&h, Some(access)).await.status, 200);

    let rotated = refresh_grant(&h, refresh).await;
    assert_eq!(rotated.status, StatusCode::OK, "{:?}", rotated.json);
    assert_eq!(rotated.headers["cache-control"], "no-store");
    let new_access = rotated.json["access_token"].as_str().unwrap();
    let new_refresh = rotated.json["refresh_token"].as_str().unwrap();
    assert_ne!(new_access, access);
    assert_ne!(new_refresh, refresh);
    assert_eq!(list_applications(&h, Some(new_access)).await.status, 200);
    // Passport revokes the access token issued with the rotated refresh token.
    assert_eq!(list_applications(&h, Some(access)).await.status, 401);

    let reused = refresh_grant(&h, refresh).await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST);
    assert_eq!(reused.json["error"], "invalid_grant");
    assert!(reused.json["error_description"].is_string());
    assert!(reused.json["message"].is_string());

    // HTTP Basic client authentication.
    let basic = oauth(
        &h,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", new_refresh),
        ],
        Some((DEFAULT_OAUTH_CLIENT_ID, DEFAULT_OAUTH_CLIENT_SECRET)),
    )
    .await;
    assert_eq!(basic.status, StatusCode::OK, "{:?}", basic.json);
    assert!(basic.json["access_token"].is_string());
}

#[tokio::test]
async fn oauth_errors_follow_rfc_6749() {
    let h = Harness::start().await;
    let password = |client_secret: &'static str, password: &'static str| {
        vec![
            ("grant_type", "password"),
            ("username", DEFAULT_OAUTH_USERNAME),
            ("password", password),
            ("client_id", DEFAULT_OAUTH_CLIENT_ID),
            ("client_secret", client_secret),
        ]
    };

    let wrong_client = oauth(&h, &password("nope", DEFAULT_OAUTH_PASSWORD), None).await;
    assert_eq!(wrong_client.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_client.json["error"], "invalid_client");
    let wrong_basic = oauth(
        &h,
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
        Some((DEFAULT_OAUTH_CLIENT_ID, "nope")),
    )
    .await;
    assert_eq!(wrong_basic.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_basic.json["error"], "invalid_client");
    assert!(wrong_basic.headers.contains_key("www-authenticate"));

    let wrong_password = oauth(&h, &password(DEFAULT_OAUTH_CLIENT_SECRET, "nope"), None).await;
    assert_eq!(wrong_password.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong_password.json["error"], "invalid_grant");

    for grant in [vec![("grant_type", "client_credentials")], vec![]] {
        let answer = oauth(&h, &grant, None).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(answer.json["error"], "unsupported_grant_type");
    }

    let missing_username = oauth(
        &h,
        &[
            ("grant_type", "password"),
            ("password", DEFAULT_OAUTH_PASSWORD),
            ("client_id", DEFAULT_OAUTH_CLIENT_ID),
            ("client_secret", DEFAULT_OAUTH_CLIENT_SECRET),
        ],
        None,
    )
    .await;
    assert_eq!(missing_username.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing_username.json["error"], "invalid_request");

    let unknown_refresh = refresh_grant(&h, "def50200garbage").await;
    assert_eq!(unknown_refresh.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown_refresh.json["error"], "invalid_grant");

    // Laravel also reads a JSON body.
    let json_body = h
        .post(
            &h.checkout("/oauth/token"),
            None,
            &json!({
                "grant_type": "password",
                "username": DEFAULT_OAUTH_USERNAME,
                "password": DEFAULT_OAUTH_PASSWORD,
                "client_id": DEFAULT_OAUTH_CLIENT_ID,
                "client_secret": DEFAULT_OAUTH_CLIENT_SECRET,
            }),
        )
        .await;
    assert_eq!(json_body.status, StatusCode::OK);
}

#[tokio::test]
async fn oauth_tokens_expire_through_control_and_their_lifetime() {
    let h = Harness::start().await;
    let pair = password_grant(&h).await;
    let access = pair["access_token"].as_str().unwrap();
    let refresh = pair["refresh_token"].as_str().unwrap();

    let expired = h
        .post(&h.url("/_sandbox/checkout/oauth/expire"), None, &json!({}))
        .await;
    assert_eq!(expired.status, StatusCode::OK);
    assert_eq!(expired.json["count"], 1);
    let refused = list_applications(&h, Some(access)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json, json!({"message": "Unauthenticated."}));

    // The refresh token still works, and buys a working access token.
    let renewed = refresh_grant(&h, refresh).await;
    assert_eq!(renewed.status, StatusCode::OK);
    let renewed_access = renewed.json["access_token"].as_str().unwrap();
    let renewed_refresh = renewed.json["refresh_token"].as_str().unwrap();
    assert_eq!(
        list_applications(&h, Some(renewed_access)).await.status,
        200
    );

    let expired = h
        .post(
            &h.url("/_sandbox/checkout/oauth/expire"),
            None,
            &json!({"which": "refresh"}),
        )
        .await;
    assert_eq!(expired.status, StatusCode::OK);
    let refused = refresh_grant(&h, renewed_refresh).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.json["error"], "invalid_grant");
    assert_eq!(
        list_applications(&h, Some(renewed_access)).await.status,
        200,
        "expiring refresh tokens leaves access tokens alone"
    );
    let bad = h
        .post(
            &h.url("/_sandbox/checkout/oauth/expire"),
            None,
            &json!({"which": "sometimes"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // The lifetime applies to tokens issued afterwards.
    let config = set_config(&h, json!({"oauth_ttl_secs": 120})).await;
    assert_eq!(config.json["oauth_ttl_secs"], 120);
    assert_eq!(password_grant(&h).await["expires_in"], 120);

    // A zero lifetime: the token is expired as soon as it is issued.
    let instant = Harness::with(SandboxConfig {
        checkout_oauth_ttl: Duration::ZERO,
        ..manual()
    })
    .await;
    let pair = password_grant(&instant).await;
    assert_eq!(pair["expires_in"], 0);
    let access = pair["access_token"].as_str().unwrap();
    assert_eq!(list_applications(&instant, Some(access)).await.status, 401);
}

// ---------------------------------------------------------------------------------
// Payment applications
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn payment_applications_can_be_listed_read_and_created() {
    let h = Harness::start().await;
    assert_eq!(list_applications(&h, None).await.status, 401);
    let client = list_applications(&h, Some(DEFAULT_CHECKOUT_TOKEN)).await;
    assert_eq!(client.status, StatusCode::FORBIDDEN);
    assert_eq!(client.json, json!({"message": "Insufficient permissions"}));

    let pair = password_grant(&h).await;
    let token = Some(pair["access_token"].as_str().unwrap());
    let list = list_applications(&h, token).await;
    assert_eq!(list.status, StatusCode::OK);
    let apps = list.json["data"].as_array().unwrap();
    assert_eq!(apps.len(), 1);
    let default = &apps[0];
    assert_eq!(default["id"], 1);
    assert_eq!(default["name"], "Demo shop");
    assert_eq!(default["clientId"], DEFAULT_CHECKOUT_CLIENT_ID);
    assert_eq!(DEFAULT_CHECKOUT_CLIENT_ID.len(), 32);
    assert_eq!(default["userId"], 1);
    assert_eq!(default["site"]["id"], 1);
    assert!(default.get("secret").is_none(), "the secret is never shown");
    assert!(default["createdAt"]
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .is_ok());

    let one = h
        .get(&h.checkout("/api/payment-applications/1"), token)
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(&one.json["data"], default);
    for missing in ["999", "abc"] {
        let answer = h
            .get(
                &h.checkout(&format!("/api/payment-applications/{missing}")),
                token,
            )
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
        assert_eq!(answer.message(), "Not found.");
    }

    let created = h
        .post(
            &h.checkout("/api/payment-applications"),
            token,
            &json!({
                "name": "Second shop",
                "secret": "second-secret",
                "url": "https://second.example",
                "callbackUrl": "https://second.example/hooks",
                "currencyWhitelist": ["USD", "EUR"],
                "allowUnderpay": true,
                "allowOverpay": "0",
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.json);
    let app = &created.json["data"];
    assert_eq!(app["id"], 2);
    assert_eq!(app["name"], "Second shop");
    let client_id = app["clientId"].as_str().unwrap();
    assert_eq!(client_id.len(), 32);
    assert!(client_id.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_ne!(client_id, DEFAULT_CHECKOUT_CLIENT_ID);
    assert_eq!(app["userId"], 1);
    assert_eq!(app["site"]["url"], "https://second.example");
    assert!(app["site"]["id"].is_u64());
    assert_eq!(app["currencyWhitelist"], json!(["USD", "EUR"]));
    assert_eq!(app["allowUnderpay"], true);
    assert_eq!(app["allowOverpay"], false);
    assert_eq!(app["callbackUrl"], "https://second.example/hooks");
    assert!(app["createdAt"].is_string());
    assert!(app.get("secret").is_none());

    assert_eq!(
        list_applications(&h, token).await.json["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let read = h
        .get(&h.checkout("/api/payment-applications/2"), token)
        .await;
    assert_eq!(&read.json["data"], app);
    let ledger = ledger(&h).await;
    assert_eq!(ledger["applications"][1]["secret"], "second-secret");

    let client_create = h
        .post(
            &h.checkout("/api/payment-applications"),
            Some(DEFAULT_CHECKOUT_TOKEN),
            &json!({"name": "Nope", "secret": "s"}),
        )
        .await;
    assert_eq!(client_create.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn invalid_applications_answer_422() {
    let h = Harness::start().await;
    let pair = password_grant(&h).await;
    let token = Some(pair["access_token"].as_str().unwrap());
    let create_app = |body: Value| {
        let h = &h;
        async move {
            h.post(&h.checkout("/api/payment-applications"), token, &body)
                .await
        }
    };

    let empty = create_app(json!({})).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.message(), "The given data was invalid.");
    assert_eq!(
        empty.json["errors"]["name"],
        json!(["The name field is required."])
    );
    assert_eq!(
        empty.json["errors"]["secret"],
        json!(["The secret field is required."])
    );

    let bad = create_app(json!({
        "name": "ab",
        "secret": "s",
        "callbackUrl": "nope",
        "currencyWhitelist": "USD",
        "allowUnderpay": "yes",
    }))
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = &bad.json["errors"];
    assert_eq!(
        errors["name"],
        json!(["The name field must be at least 3 characters."])
    );
    assert_eq!(
        errors["callbackUrl"],
        json!(["The callback url field must be a valid URL."])
    );
    assert_eq!(
        errors["currencyWhitelist"],
        json!(["The currency whitelist field must be an array."])
    );
    assert_eq!(
        errors["allowUnderpay"],
        json!(["The allow underpay field must be true or false."])
    );
    assert_eq!(errors.as_object().unwrap().len(), 4);

    let long =
        create_app(json!({"name": "x".repeat(256), "secret": "s", "currencyWhitelist": ["usd"]}))
            .await;
    assert!(long.json["errors"]["name"].is_array());
    assert!(long.json["errors"]["currencyWhitelist.0"].is_array());
    assert_eq!(
        list_applications(&h, token).await.json["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn created_applications_take_payments_and_sign_with_their_own_secret() {
    let (url, hook) = receiver(0).await;
    let h = Harness::start().await;
    let pair = password_grant(&h).await;
    let token = Some(pair["access_token"].as_str().unwrap());
    let created = h
        .post(
            &h.checkout("/api/payment-applications"),
            token,
            &json!({
                "name": "Webhook shop",
                "secret": "shop-secret",
                "callbackUrl": url,
                "currencyWhitelist": ["EUR"],
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let client_id = created.json["data"]["clientId"].as_str().unwrap();
    let site_id = created.json["data"]["site"]["id"].clone();

    let mut body = order(json!(999), "USD");
    body["clientId"] = json!(client_id);
    let refused = create(&h, Some(DEFAULT_CHECKOUT_TOKEN), &body).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refused.json["errors"]["currencyCode"],
        json!(["The selected currency code is invalid."])
    );
    body["currencyCode"] = json!("EUR");
    let (_, id) = create_ok(&h, &body).await;

    let by_site = json!({
        "amount": 1, "currencyCode": "EUR", "reference": "r", "referenceLabel": "l",
        "siteId": site_id,
    });
    let (_, second) = create_ok(&h, &by_site).await;
    let ledger = ledger(&h).await;
    assert_eq!(ledger["payments"][0]["applicationId"], 2);
    assert_eq!(ledger["payments"][1]["applicationId"], 2);
    assert_eq!(ledger["payments"][1]["id"], second.as_str());

    set_status(&h, &id, json!({"status": "CONFIRMED"})).await;
    let done = finished_deliveries(&h, 1).await;
    assert_eq!(done[0]["url"], url.as_str());
    let got = hook.all();
    assert_eq!(got.len(), 1);
    got[0].assert_signed_with("shop-secret");
    assert_ne!(
        got[0].header("x-paymentservice-signature"),
        expected_signature(
            DEFAULT_CHECKOUT_WEBHOOK_SECRET,
            got[0].header("x-paymentservice-timestamp"),
            &got[0].body
        )
    );
}

// ---------------------------------------------------------------------------------
// Shared machinery: faults, request log, routing, control configuration
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn faults_and_the_request_log_cover_checkout() {
    let h = Harness::start().await;
    h.add_fault(json!({"path": "/checkout/api/payment/checkout", "kind": "status", "status": 503}))
        .await;
    let faulted = create(&h, Some(DEFAULT_CHECKOUT_TOKEN), &order(json!(100), "USD")).await;
    assert_eq!(faulted.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(ledger(&h).await["payments"].as_array().unwrap().is_empty());
    create_ok(&h, &order(json!(100), "USD")).await;
    password_grant(&h).await;

    let log = h.requests().await;
    let create_statuses: Vec<&Value> = log
        .iter()
        .filter(|r| r["path"] == "/checkout/api/payment/checkout")
        .map(|r| &r["status"])
        .collect();
    assert_eq!(create_statuses, [&json!(503), &json!(200)]);
    let token_request = log
        .iter()
        .find(|r| r["path"] == "/checkout/oauth/token")
        .expect("the token request is logged");
    assert!(token_request["body"]
        .as_str()
        .unwrap()
        .contains("grant_type=password"));
    assert!(
        log.iter()
            .all(|r| !r["path"].as_str().unwrap().starts_with("/_sandbox")),
        "control calls are never logged"
    );

    // A dropped connection after the gateway acted: the payment exists, no answer came.
    h.add_fault(json!({"path": "/checkout/api/payment/checkout", "kind": "drop_after"}))
        .await;
    let dropped = h
        .try_send(
            Method::POST,
            &h.checkout("/api/payment/checkout"),
            Some(DEFAULT_CHECKOUT_TOKEN),
            &[],
            Some(&order(json!(100), "USD")),
        )
        .await;
    assert!(dropped.is_err());
    assert_eq!(ledger(&h).await["payments"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_like_laravel() {
    let h = Harness::start().await;
    let unknown = h
        .get(&h.checkout("/api/nope"), Some(DEFAULT_CHECKOUT_TOKEN))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.message(), "The route api/nope could not be found.");
    let wrong = h
        .send(
            Method::DELETE,
            &h.checkout("/api/payment-applications"),
            None,
            &[],
            None,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(wrong.message().contains("DELETE"));
}

#[tokio::test]
async fn control_config_round_trips() {
    let h = Harness::start().await;
    let config = h.get(&h.url("/_sandbox/checkout/config"), None).await;
    assert_eq!(
        config.json,
        json!({
            "webhook_retry_delays_ms": [60000, 300000, 1800000, 7200000, 21600000, 43200000, 72000000],
            "oauth_ttl_secs": 3600,
            "callback_url": null,
        })
    );
    let total: u64 = config.json["webhook_retry_delays_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap())
        .sum();
    assert!((39..=41).contains(&(total / 3_600_000)), "about 40 hours");

    for bad in [
        json!({"unknown": 1}),
        json!({"callback_url": "ftp://x"}),
        json!({"webhook_retry_delays_ms": "fast"}),
    ] {
        let answer = set_config(&h, bad.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let updated = set_config(&h, json!({"webhook_retry_delays_ms": []})).await;
    assert_eq!(updated.json["webhook_retry_delays_ms"], json!([]));
    assert_eq!(updated.json["oauth_ttl_secs"], 3600);
    let ledger = ledger(&h).await;
    assert!(ledger["payments"].as_array().unwrap().is_empty());
    assert_eq!(ledger["applications"].as_array().unwrap().len(), 1);
}
