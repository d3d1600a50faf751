//! The Paga Connect client against the emulator's `/paga` over real HTTP: the whole
//! OAuth dance, per-user tokens, every operation.

mod common;

use std::sync::Arc;

use common::{quick_retries, start_with, CapturingLogger, Env};
use pesakit::paga::{
    AuthorizationRequest, Client, ClientBuilder, Environment, MerchantPaymentRequest,
    MoneyTransferRequest, Scope, TokenRequestStyle, UserData,
};
use pesakit::{Amount, ErrorKind, MemoryTokenStore, TokenStore};
use serde_json::{json, Value};

const REDIRECT: &str = "https://shop.example/paga/callback";

fn builder(env: &Env) -> ClientBuilder {
    Client::builder()
        .environment(Environment::Custom(env.sandbox.paga_base_url()))
        .client_id(pesakit_sandbox::DEFAULT_PAGA_CLIENT_ID)
        .client_secret(pesakit_sandbox::DEFAULT_PAGA_CLIENT_SECRET)
        .redirect_uri(REDIRECT)
        .allow_insecure_loopback(true)
        .retry_policy(quick_retries())
}

fn all_scopes() -> Vec<Scope> {
    vec![
        Scope::MerchantPayment,
        Scope::MoneyTransfer,
        Scope::UserDetailsRequest,
    ]
}

/// Follows the authorization URL as a browser would (one redirect, not followed) and
/// returns the callback URL Paga sends the user back to.
async fn approve(env: &Env, request: &AuthorizationRequest, sandbox_user: Option<&str>) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut url = request.url.clone();
    if let Some(user) = sandbox_user {
        url.push_str(&format!("&sandbox_user={user}"));
    }
    let r = http.get(url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 302, "{:?}", r.text().await);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let _ = env;
    location
}

async fn connect(
    env: &Env,
    client: &Client,
    user: &str,
    scopes: &[Scope],
    data: &[UserData],
) -> pesakit::paga::Grant {
    let request = client.authorization_url(scopes, data);
    let callback = approve(env, &request, None).await;
    assert!(callback.starts_with(REDIRECT), "{callback}");
    client
        .handle_callback(&callback, &request, user)
        .await
        .unwrap()
}

fn paths(log: &[Value], part: &str) -> Vec<String> {
    log.iter()
        .map(|r| r["path"].as_str().unwrap().to_owned())
        .filter(|p| p.contains(part))
        .collect()
}

#[tokio::test]
async fn connect_a_user_then_charge_and_pay_them() {
    let env = start_with(|_| {}).await;
    let client = builder(&env).build().unwrap();
    let grant = connect(
        &env,
        &client,
        "user-1",
        &all_scopes(),
        &[UserData::FirstName, UserData::AccountBalance],
    )
    .await;
    assert!(grant.scopes.contains(&Scope::MerchantPayment));
    assert!(grant.user_data.contains(&UserData::AccountBalance));
    assert!(grant.extra.contains_key("authorities"), "{:?}", grant.extra);

    let before = client.user_details("user-1").await.unwrap();
    assert_eq!(before.first_name.as_deref(), Some("Ada"));
    let balance = before.account_balance.unwrap();

    let paid = client
        .merchant_payment(
            "user-1",
            &MerchantPaymentRequest {
                reference_number: pesakit::paga::new_reference_number(),
                amount: Amount::from(1000),
                customer_reference: "customer-42".into(),
                product_code: None,
                currency: None,
            },
        )
        .await
        .unwrap();
    assert!(paid.transaction_id.is_some());
    let fee = paid.fee.map(|f| f.as_decimal()).unwrap_or_default();
    let after = client.user_details("user-1").await.unwrap();
    assert_eq!(
        after.account_balance.unwrap().as_decimal(),
        balance.as_decimal() - Amount::from(1000).as_decimal() - fee
    );

    let sent = client
        .money_transfer(
            "user-1",
            &MoneyTransferRequest {
                reference_number: pesakit::paga::new_reference_number(),
                amount: "250.50".parse().unwrap(),
                recipient: "08030000002".into(),
                skip_messaging: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(sent.amount, Some("250.50".parse().unwrap()));
    let log = env.requests().await;
    let transfer = log
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("/moneyTransfer/v2"))
        .unwrap();
    let query = transfer["query"].as_str().unwrap();
    assert!(
        query.contains("skipMessaging=true") && query.contains("recipientCredential=08030000002"),
        "{query}"
    );
    assert!(transfer["headers"]["authorization"]
        .as_str()
        .unwrap()
        .starts_with("Bearer "));
    let token = client.one_time_token("user-1", "otp-1").await.unwrap();
    assert!(token.is_object());
}

#[tokio::test]
async fn forged_state_denials_and_used_codes_are_refused() {
    let env = start_with(|_| {}).await;
    let client = builder(&env).build().unwrap();
    let request = client.authorization_url(&all_scopes(), &[]);
    let callback = approve(&env, &request, None).await;

    // A callback checked against another authorization's state is refused.
    let other = client.authorization_url(&all_scopes(), &[]);
    let e = client
        .handle_callback(&callback, &other, "u")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert!(e.to_string().contains("state does not match"), "{e}");
    assert_eq!(
        env.count_under("POST", "/paga/paga-webservices/oauth2/token")
            .await,
        0
    );

    // The right state works once; the same code again is invalid_grant.
    client
        .handle_callback(&callback, &request, "u")
        .await
        .unwrap();
    let e = client
        .handle_callback(&callback, &request, "u2")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert_eq!(e.gateway_code(), Some("invalid_grant"));

    // A user who declines comes back with error=access_denied.
    let request = client.authorization_url(&all_scopes(), &[]);
    let callback = approve(&env, &request, Some(pesakit_sandbox::PAGA_DENYING_USER)).await;
    let e = client
        .handle_callback(&callback, &request, "u3")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert_eq!(e.gateway_code(), Some("access_denied"));
}

#[tokio::test]
async fn both_token_request_styles_use_basic_auth() {
    for style in [TokenRequestStyle::FormBody, TokenRequestStyle::QueryString] {
        let env = start_with(|_| {}).await;
        let client = builder(&env).token_request_style(style).build().unwrap();
        connect(&env, &client, "u", &all_scopes(), &[]).await;
        let log = env.requests().await;
        let token = log
            .iter()
            .find(|r| r["path"] == "/paga/paga-webservices/oauth2/token")
            .unwrap();
        assert!(token["headers"]["authorization"]
            .as_str()
            .unwrap()
            .starts_with("Basic "));
        let body = token["body"].as_str().unwrap_or("");
        let query = token["query"].as_str().unwrap_or("");
        let (carrier, empty) = match style {
            TokenRequestStyle::FormBody => (body, query),
            TokenRequestStyle::QueryString => (query, body),
        };
        assert!(
            carrier.contains("grant_type=authorization_code"),
            "{style:?}: {carrier}"
        );
        assert!(
            carrier.contains("redirect_uri=https%3A%2F%2Fshop.example%2Fpaga%2Fcallback"),
            "{carrier}"
        );
        assert!(empty.is_empty(), "{style:?}: {empty}");
        assert!(!body.contains(pesakit_sandbox::DEFAULT_PAGA_CLIENT_SECRET));
        assert!(!query.contains(pesakit_sandbox::DEFAULT_PAGA_CLIENT_SECRET));
    }
}

#[tokio::test]
async fn pkce_is_verified_when_on() {
    let env = start_with(|_| {}).await;
    let client = builder(&env).pkce(true).build().unwrap();
    let request = client.authorization_url(&all_scopes(), &[]);
    let callback = approve(&env, &request, None).await;
    // A stolen code is useless without the verifier.
    let mut wrong = request.clone();
    wrong.pkce_verifier = Some(pesakit::Secret::new("0".repeat(64)));
    let e = client
        .handle_callback(&callback, &wrong, "u")
        .await
        .unwrap_err();
    assert_eq!(e.gateway_code(), Some("invalid_grant"));
    // A fresh authorization with the right verifier works.
    let request = client.authorization_url(&all_scopes(), &[]);
    let callback = approve(&env, &request, None).await;
    client
        .handle_callback(&callback, &request, "u")
        .await
        .unwrap();
    let log = env.requests().await;
    let token = log
        .iter()
        .rev()
        .find(|r| r["path"] == "/paga/paga-webservices/oauth2/token")
        .unwrap();
    assert!(token["body"].as_str().unwrap().contains("code_verifier="));
}

#[tokio::test]
async fn tokens_are_per_user_refreshed_once_and_rotated() {
    let env = start_with(|_| {}).await;
    let store = Arc::new(MemoryTokenStore::new());
    let logger = CapturingLogger::new();
    let client = builder(&env)
        .token_store(store.clone())
        .logger(logger.clone())
        .build()
        .unwrap();
    connect(
        &env,
        &client,
        "alice",
        &all_scopes(),
        &[UserData::AccountBalance],
    )
    .await;
    connect(&env, &client, "bob", &all_scopes(), &[]).await;
    let key = |u: &str| {
        format!(
            "paga|{}|{}|{u}",
            env.sandbox.paga_base_url(),
            pesakit_sandbox::DEFAULT_PAGA_CLIENT_ID
        )
    };
    let alice = store.load(&key("alice")).unwrap().unwrap();
    let bob = store.load(&key("bob")).unwrap().unwrap();
    assert_ne!(alice.access_token, bob.access_token);

    // Every access token dies server-side; 50 concurrent calls for alice share one refresh.
    env.post("/_sandbox/paga/tokens/expire", json!({"which": "access"}))
        .await;
    env.clear_requests().await;
    let calls = (0..50).map(|_| {
        let c = client.clone();
        tokio::spawn(async move { c.user_details("alice").await })
    });
    for r in futures_util::future::join_all(calls).await {
        r.unwrap().unwrap();
    }
    assert_eq!(
        env.count_under("POST", "/paga/paga-webservices/oauth2/token")
            .await,
        1
    );
    let rotated = store.load(&key("alice")).unwrap().unwrap();
    assert_ne!(
        rotated.refresh_token, alice.refresh_token,
        "the refresh token rotated"
    );

    // A client holding alice's old refresh token is told to send her to Paga again.
    let stale_store = Arc::new(MemoryTokenStore::new());
    let mut stale = alice.clone();
    stale.expires_at = pesakit::Timestamp::from_second(1_000_000_000).unwrap();
    stale_store.save(&key("alice"), &stale).unwrap();
    let other = builder(&env).token_store(stale_store).build().unwrap();
    let e = other.user_details("alice").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert!(e.to_string().contains("send the user to Paga again"), "{e}");

    // Nobody unknown: no token, no request.
    let e = client.user_details("carol").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication);

    for secret in [
        alice.access_token.expose(),
        alice.refresh_token.as_ref().unwrap().expose(),
        pesakit_sandbox::DEFAULT_PAGA_CLIENT_SECRET,
    ] {
        assert!(!logger.text().contains(secret));
        assert!(!format!("{client:?}").contains(secret));
    }
}

#[tokio::test]
async fn merchant_payment_paths_in_every_combination() {
    let env = start_with(|_| {}).await;
    let client = builder(&env).build().unwrap();
    connect(&env, &client, "u", &all_scopes(), &[]).await;
    let combos = [
        (None, None),
        (Some("P 1"), None),
        (None, Some("ngn")),
        (Some("P/2"), Some("NGN")),
    ];
    for (i, (product, currency)) in combos.iter().enumerate() {
        env.clear_requests().await;
        client
            .merchant_payment(
                "u",
                &MerchantPaymentRequest {
                    reference_number: format!("ref {i}/x"),
                    amount: "10.5".parse().unwrap(),
                    customer_reference: "c&1".into(),
                    product_code: product.map(str::to_owned),
                    currency: currency.map(str::to_owned),
                },
            )
            .await
            .unwrap();
        let log = env.requests().await;
        let path = &paths(&log, "merchantPayment")[0];
        let mut want = format!(
            "/paga/paga-webservices/oauth2/secure/merchantPayment/referenceNumber/ref%20{i}%2Fx/amount/10.5/merchantCustomerReference/c%261"
        );
        if let Some(p) = product {
            want.push_str(&format!(
                "/merchantProductCode/{}",
                p.replace(' ', "%20").replace('/', "%2F")
            ));
        }
        if let Some(c) = currency {
            want.push_str(&format!("/currency/{}", c.to_ascii_uppercase()));
        }
        assert_eq!(path, &want);
    }
}

#[tokio::test]
async fn gateway_result_errors_and_missing_scopes() {
    let env = start_with(|_| {}).await;
    let client = builder(&env).build().unwrap();
    connect(&env, &client, "u", &[Scope::MerchantPayment], &[]).await;
    let pay = |reference: &str, amount: i64| MerchantPaymentRequest {
        reference_number: reference.into(),
        amount: Amount::from(amount),
        customer_reference: "c".into(),
        product_code: None,
        currency: None,
    };
    let e = client
        .merchant_payment("u", &pay("big", 10_000_000))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Gateway);
    assert_eq!(e.gateway_code(), Some("10"));
    assert_eq!(e.gateway_message(), Some("Insufficient balance"));
    client
        .merchant_payment("u", &pay("once", 10))
        .await
        .unwrap();
    let e = client
        .merchant_payment("u", &pay("once", 10))
        .await
        .unwrap_err();
    assert_eq!(e.gateway_code(), Some("17"));
    // MONEY_TRANSFER was not granted.
    let e = client
        .money_transfer(
            "u",
            &MoneyTransferRequest {
                reference_number: "t1".into(),
                amount: Amount::from(5),
                recipient: "08030000002".into(),
                skip_messaging: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permission);
    assert!(e.to_string().contains("send them to Paga again"), "{e}");
    // Money calls are not retried once they may have arrived.
    env.clear_requests().await;
    env.fault(json!({"path": "/paga/paga-webservices/oauth2/secure/merchantPayment", "kind": "status", "status": 503}))
        .await;
    let e = client
        .merchant_payment("u", &pay("r503", 10))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(paths(&env.requests().await, "merchantPayment").len(), 1);
    // Bad input never leaves the client.
    for bad in [pay("", 10), pay("r", 0)] {
        assert_eq!(
            client.merchant_payment("u", &bad).await.unwrap_err().kind(),
            ErrorKind::Validation
        );
    }
}

#[test]
fn configuration() {
    let e = Client::builder()
        .client_id("i")
        .client_secret("s")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("redirect URI"));
    let e = Client::builder()
        .client_id("i")
        .client_secret("s")
        .redirect_uri("https://x.example/cb")
        .environment(Environment::Custom("http://paga.example".into()))
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration);
    let live = Client::builder()
        .client_id("i")
        .client_secret("s")
        .redirect_uri("https://x.example/cb")
        .environment(Environment::Live)
        .build()
        .unwrap();
    assert_eq!(live.base_url(), "https://www.mypaga.com");
}
