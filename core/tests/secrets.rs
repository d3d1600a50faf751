//! The secrets sweep: every client is configured with recognisable secrets, driven down
//! every path (successes, token issue/refresh/expiry/revocation, 401s, every injected
//! fault kind, validation errors, webhook failures, the Paga OAuth dance), and nothing
//! it lets a person see — log lines at the most verbose level, error `Display` and
//! `Debug` (with their source chains), `Debug` of clients, builders and token sets —
//! may contain any secret: neither the configured ones nor the tokens and codes the
//! emulator issued (read back from the token store and from the emulator's request log).
//!
//! Secrets are matched by any 16-byte window, so a truncated token counts as a leak too,
//! and any JWT header (`eyJhbGciOi…`) is one: Paypack's tokens are JWTs.

mod common;

use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{quick_retries, start_with, CapturingLogger, Env};
use pesakit::checkout::{self, CheckoutRequest, NewPaymentApplication, OAuthTokens};
use pesakit::paga::{
    self, Environment, MerchantPaymentRequest, MoneyTransferRequest, Scope, TokenRequestStyle,
    UserData,
};
use pesakit::paypack::{self, CashRequest, EventFilter, TransactionFilter};
use pesakit::{Amount, MemoryTokenStore, Secret, TokenSet, TokenStore};
use pesakit_sandbox::{App, CheckoutToken, SandboxConfig};
use serde_json::{json, Value};

const PAYPACK_ID: &str = "leakcheck-paypack-app";
const PAYPACK_SECRET: &str = "sk-LEAKCHECK-paypack-secret-7f3a9c";
const PAYPACK_WRONG_SECRET: &str = "sk-LEAKCHECK-paypack-wrong-51d2e8";
const PAYPACK_WEBHOOK_SECRET: &str = "whsec-LEAKCHECK-paypack-b4c1d9";
const CHECKOUT_TOKEN: &str = "ct-LEAKCHECK-checkout-token-2e9f41";
const CHECKOUT_LIMITED_TOKEN: &str = "ct-LEAKCHECK-limited-token-8a7c03";
const CHECKOUT_UNKNOWN_TOKEN: &str = "ct-LEAKCHECK-unknown-token-6b2d5f";
const CHECKOUT_WEBHOOK_SECRET: &str = "whsec-LEAKCHECK-checkout-c0ffee";
const APP_WEBHOOK_SECRET: &str = "whsec-LEAKCHECK-new-app-9d8e7f";
const PAGA_SECRET: &str = "sk-LEAKCHECK-paga-secret-3c5e7a";
const PAGA_WRONG_SECRET: &str = "sk-LEAKCHECK-paga-wrong-1f0b2d";
const WRONG_WEBHOOK_SECRET: &str = "whsec-LEAKCHECK-wrong-4a6b8c";
const REDIRECT: &str = "https://shop.example/paga/callback";
const NUMBER: &str = "0788123456";

/// Every fault kind of the emulator, in the shapes that matter: before the handler
/// (nothing issued) and after it (the answer that would have carried tokens is cut,
/// emptied or replaced).
fn fault_kinds() -> Vec<Value> {
    vec![
        json!({"kind": "status", "status": 500}),
        json!({"kind": "status", "status": 500, "after_handler": true}),
        json!({"kind": "status", "status": 503, "retry_after": 0}),
        json!({"kind": "status", "status": 429, "retry_after": 0}),
        json!({"kind": "html", "status": 502, "after_handler": true}),
        json!({"kind": "drop_before"}),
        json!({"kind": "drop_after"}),
        json!({"kind": "malformed_json"}),
        json!({"kind": "empty"}),
        json!({"kind": "slow_body", "delay_ms": 400}),
        json!({"kind": "delay", "delay_ms": 600}),
    ]
}

/// Request timeout of the clients that meet faults: short, so delays become timeouts.
const FAULT_TIMEOUT: Duration = Duration::from_millis(250);

/// A token store that keeps every token set it was given, to learn the issued tokens.
#[derive(Default)]
struct RecordingStore {
    inner: MemoryTokenStore,
    saved: Arc<Mutex<Vec<TokenSet>>>,
}

impl RecordingStore {
    /// An empty store of its own (so a new client authorizes afresh) that records into
    /// the same list.
    fn sibling(&self) -> Arc<RecordingStore> {
        Arc::new(RecordingStore {
            inner: MemoryTokenStore::new(),
            saved: self.saved.clone(),
        })
    }
}

impl TokenStore for RecordingStore {
    fn load(&self, key: &str) -> pesakit::Result<Option<TokenSet>> {
        self.inner.load(key)
    }
    fn save(&self, key: &str, tokens: &TokenSet) -> pesakit::Result<()> {
        self.saved.lock().unwrap().push(tokens.clone());
        self.inner.save(key, tokens)
    }
    fn clear(&self, key: &str) -> pesakit::Result<()> {
        self.inner.clear(key)
    }
}

/// Everything printed or logged, and every secret it must not contain.
struct Sweep {
    texts: Vec<(String, String)>,
    secrets: HashSet<String>,
    logger: Arc<CapturingLogger>,
    store: Arc<RecordingStore>,
}

impl Sweep {
    fn new(configured: &[&str]) -> Self {
        Sweep {
            texts: Vec::new(),
            secrets: configured.iter().map(|s| s.to_string()).collect(),
            logger: CapturingLogger::new(),
            store: Arc::new(RecordingStore::default()),
        }
    }

    fn secret(&mut self, value: impl Into<String>) {
        let v = value.into();
        if !v.is_empty() {
            self.secrets.insert(v);
        }
    }

    /// Keeps the `Debug` text of `value`.
    fn debug(&mut self, what: &str, value: &impl Debug) {
        self.texts.push((what.to_owned(), format!("{value:?}")));
        self.texts.push((what.to_owned(), format!("{value:#?}")));
    }

    /// Keeps the `Display` and `Debug` text of an error and of its whole source chain.
    fn error(&mut self, what: &str, e: &pesakit::Error) {
        self.texts.push((what.to_owned(), e.to_string()));
        self.debug(what, e);
        for extra in [e.body(), e.gateway_message(), e.gateway_code()]
            .into_iter()
            .flatten()
        {
            self.texts.push((what.to_owned(), extra.to_owned()));
        }
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            self.texts.push((what.to_owned(), format!("{s} / {s:?}")));
            source = s.source();
        }
    }

    /// Keeps the outcome of a call: its error, or the `Debug` of its value.
    fn outcome<T: Debug>(&mut self, what: &str, r: &pesakit::Result<T>) {
        match r {
            Ok(v) => self.debug(what, v),
            Err(e) => self.error(what, e),
        }
    }

    /// Learns the tokens the emulator issued: from the store and from the
    /// `Authorization` headers, query strings and bodies of the request log.
    async fn harvest(&mut self, env: &Env) {
        let saved: Vec<TokenSet> = self.store.saved.lock().unwrap().clone();
        for t in &saved {
            self.debug("TokenSet", t);
            self.secret(t.access_token.expose());
            if let Some(r) = &t.refresh_token {
                self.secret(r.expose());
            }
        }
        for r in env.requests().await {
            if let Some(auth) = r["headers"]["authorization"].as_str() {
                let value = auth.split_once(' ').map_or(auth, |(_, v)| v);
                self.secret(value);
            }
            for part in [r["query"].as_str(), r["body"].as_str()]
                .into_iter()
                .flatten()
            {
                for (k, v) in url::form_urlencoded::parse(part.as_bytes()) {
                    if matches!(
                        &*k,
                        "refresh_token" | "code" | "code_verifier" | "client_secret" | "password"
                    ) {
                        self.secret(v.into_owned());
                    }
                }
            }
            let path = r["path"].as_str().unwrap_or_default();
            for prefix in [
                "/paypack/api/auth/refresh/",
                "/paypack/api/auth/agents/refresh/",
            ] {
                if let Some(token) = path.strip_prefix(prefix) {
                    self.secret(token);
                }
            }
        }
    }

    /// Fails, naming every leak, if any collected text contains a 16-byte window of a
    /// secret.
    fn assert_clean(&mut self, min_secrets: usize) {
        const WINDOW: usize = 16;
        for (level, line) in self.logger.lines.lock().unwrap().iter() {
            self.texts.push((format!("log {level}"), line.clone()));
        }
        assert!(
            self.secrets.len() >= min_secrets,
            "only {} secrets collected, expected at least {min_secrets}",
            self.secrets.len()
        );
        let mut windows: HashSet<&[u8]> = HashSet::new();
        for s in &self.secrets {
            let b = s.as_bytes();
            if b.len() <= WINDOW {
                windows.insert(b);
            } else {
                windows.extend(b.windows(WINDOW));
            }
        }
        let mut leaks = Vec::new();
        for (what, text) in &self.texts {
            let b = text.as_bytes();
            let hit = self
                .secrets
                .iter()
                .filter(|s| s.len() <= WINDOW)
                .any(|s| text.contains(s.as_str()))
                || (b.len() >= WINDOW && b.windows(WINDOW).any(|w| windows.contains(w)));
            // Any piece of a Paypack token (JWT: base64 of `{"alg":…`), even one issued
            // in an answer a fault cut short, whose value no store ever saw.
            let hit = hit || text.contains("eyJhbGciOi");
            if hit {
                leaks.push(format!("{what}: {text}"));
            }
        }
        assert!(
            leaks.is_empty(),
            "{} texts leak a secret:\n{}",
            leaks.len(),
            leaks.join("\n")
        );
        let log_lines = self.logger.lines.lock().unwrap().len();
        assert!(log_lines > 0, "nothing was logged");
        eprintln!(
            "secrets sweep: {} texts ({log_lines} log lines) checked against {} secrets",
            self.texts.len(),
            self.secrets.len()
        );
    }
}

async fn sandbox() -> Env {
    start_with(|c: &mut SandboxConfig| {
        c.apps = vec![App::new(PAYPACK_ID, PAYPACK_SECRET)];
        c.webhook_secret = PAYPACK_WEBHOOK_SECRET.to_owned();
        c.checkout_tokens = vec![
            CheckoutToken::new(CHECKOUT_TOKEN, ["*"]),
            CheckoutToken::new(CHECKOUT_LIMITED_TOKEN, ["payments.get"]),
        ];
        c.checkout_webhook_secret = CHECKOUT_WEBHOOK_SECRET.to_owned();
        c.paga_client_secret = PAGA_SECRET.to_owned();
    })
    .await
}

fn paypack_builder(env: &Env, sweep: &Sweep) -> paypack::ClientBuilder {
    paypack::Client::builder()
        .client_id(PAYPACK_ID)
        .client_secret(PAYPACK_SECRET)
        .base_url(env.sandbox.paypack_base_url())
        .allow_insecure_loopback(true)
        .retry_policy(quick_retries())
        .poll_interval(Duration::from_millis(20))
        .token_store(sweep.store.clone())
        .logger(sweep.logger.clone())
}

#[tokio::test]
async fn paypack_never_leaks_a_secret() {
    let env = sandbox().await;
    let mut sweep = Sweep::new(&[PAYPACK_SECRET, PAYPACK_WRONG_SECRET]);
    let builder = paypack_builder(&env, &sweep);
    sweep.debug("paypack builder", &builder);
    let client = builder.build().unwrap();
    sweep.debug("paypack client", &client);

    // Success paths of every operation.
    let r = client.authorize().await;
    sweep.outcome("authorize", &r);
    let tx = client
        .cashin(CashRequest::new(Amount::from(1000), NUMBER))
        .await
        .unwrap();
    sweep.debug("cashin", &tx);
    let r = client
        .cashout(CashRequest::new(Amount::from(100), "0723456789"))
        .await;
    sweep.outcome("cashout", &r);
    env.settle(&tx.reference, "successful").await;
    let r = client
        .wait_for_completion(&tx.reference, Duration::from_secs(10))
        .await;
    sweep.outcome("wait", &r);
    let r = client.find(&tx.reference).await;
    sweep.outcome("find", &r);
    let r = client
        .list_transactions(&TransactionFilter::default())
        .await;
    sweep.outcome("list transactions", &r);
    let r = client.list_events(&EventFilter::default()).await;
    sweep.outcome("list events", &r);
    let r = client.profile().await;
    sweep.outcome("profile", &r);

    // Token expiry, revocation, refresh failures, the second refresh route.
    for (path, which) in [
        ("/_sandbox/paypack/tokens/expire", "access"),
        ("/_sandbox/paypack/tokens/revoke", "access"),
        ("/_sandbox/paypack/tokens/expire", "all"),
        ("/_sandbox/paypack/tokens/revoke", "all"),
    ] {
        env.post(path, json!({ "which": which })).await;
        let r = client.profile().await;
        sweep.outcome(&format!("profile after {path} {which}"), &r);
        assert!(r.is_ok(), "{r:?}");
    }
    env.config(json!({"refresh_path": false})).await;
    env.post(
        "/_sandbox/paypack/tokens/expire",
        json!({"which": "access"}),
    )
    .await;
    let r = client.profile().await;
    sweep.outcome("profile via the agents refresh route", &r);
    env.config(json!({"refresh_path": true})).await;

    // 401s: a wrong secret, and a gateway that keeps refusing the token.
    let wrong = paypack_builder(&env, &sweep)
        .client_secret(PAYPACK_WRONG_SECRET)
        .token_store(sweep.store.sibling())
        .build()
        .unwrap();
    sweep.debug("wrong client", &wrong);
    let r = wrong.profile().await;
    assert_eq!(r.as_ref().unwrap_err().status(), Some(401));
    sweep.outcome("wrong secret", &r);
    env.fault(
        json!({"path": "/paypack/api/merchants/me", "kind": "status", "status": 401, "count": 2}),
    )
    .await;
    let r = client.profile().await;
    sweep.outcome("401 twice", &r);

    // Validation errors and 404s.
    for request in [
        CashRequest::new(Amount::from(1000), "12345"),
        CashRequest::new(Amount::from(0), NUMBER),
        CashRequest::new(Amount::from(1000), NUMBER).with_idempotency_key("x".repeat(40)),
        CashRequest::new(Amount::from(1000), NUMBER).with_idempotency_key("bad\nkey"),
    ] {
        let r = client.cashin(request).await;
        assert!(r.is_err());
        sweep.outcome("invalid cashin", &r);
    }
    for reference in ["..", "no-such-reference"] {
        let r = client.find(reference).await;
        sweep.outcome("find", &r);
    }
    let r = client
        .cashout(CashRequest::new(Amount::from(100_000_000), NUMBER))
        .await;
    sweep.outcome("cashout beyond the balance", &r);

    // Every fault kind on the authorize route (fresh clients), the refresh route and a
    // data call.
    for fault in fault_kinds() {
        for target in ["authorize", "refresh", "data", "cashin"] {
            let c = paypack_builder(&env, &sweep)
                .request_timeout(FAULT_TIMEOUT)
                .token_store(sweep.store.sibling())
                .build()
                .unwrap();
            let path = match target {
                "authorize" => "/paypack/api/auth/agents/authorize",
                "refresh" => "/paypack/api/auth/",
                "cashin" => "/paypack/api/transactions/cashin",
                _ => "/paypack/api/merchants/me",
            };
            if target != "authorize" {
                c.authorize().await.unwrap();
            }
            if target == "refresh" {
                env.post(
                    "/_sandbox/paypack/tokens/expire",
                    json!({"which": "access"}),
                )
                .await;
            }
            let mut f = fault.clone();
            f["path"] = json!(path);
            f["count"] = json!(4);
            env.fault(f).await;
            let r = if target == "cashin" {
                c.cashin(CashRequest::new(Amount::from(1000), NUMBER))
                    .await
                    .map(|_| ())
            } else {
                c.profile().await.map(|_| ())
            };
            sweep.outcome(&format!("{target} with fault {fault}"), &r);
            env.delete("/_sandbox/faults").await;
            // Tokens the faulted answers issued are learnt from the store and log.
            let token = c.authorize().await;
            sweep.outcome("authorize after fault", &token);
        }
    }

    sweep.harvest(&env).await;
    sweep.assert_clean(10);
}

/// Signs in to the checkout OAuth server as the dashboard would; `(access, refresh)`.
async fn sign_in(env: &Env, sweep: &mut Sweep) -> OAuthTokens {
    let (access, refresh) = env.checkout_sign_in().await;
    sweep.secret(&*access);
    sweep.secret(&*refresh);
    OAuthTokens {
        access_token: Secret::new(access),
        refresh_token: Some(Secret::new(refresh)),
        expires_at: None,
        client_id: pesakit_sandbox::DEFAULT_OAUTH_CLIENT_ID.to_owned(),
        client_secret: Some(Secret::new(pesakit_sandbox::DEFAULT_OAUTH_CLIENT_SECRET)),
        token_path: None,
    }
}

fn checkout_builder(env: &Env, sweep: &Sweep) -> checkout::ClientBuilder {
    checkout::Client::builder()
        .base_url(env.sandbox.checkout_base_url())
        .client_id(pesakit_sandbox::DEFAULT_CHECKOUT_CLIENT_ID)
        .client_token(CHECKOUT_TOKEN)
        .webhook_secret(CHECKOUT_WEBHOOK_SECRET)
        .allow_insecure_loopback(true)
        .retry_policy(quick_retries())
        .token_store(sweep.store.clone())
        .logger(sweep.logger.clone())
}

#[tokio::test]
async fn checkout_never_leaks_a_secret() {
    let env = sandbox().await;
    let mut sweep = Sweep::new(&[
        CHECKOUT_TOKEN,
        CHECKOUT_LIMITED_TOKEN,
        CHECKOUT_UNKNOWN_TOKEN,
        CHECKOUT_WEBHOOK_SECRET,
        APP_WEBHOOK_SECRET,
        pesakit_sandbox::DEFAULT_OAUTH_CLIENT_SECRET,
        pesakit_sandbox::DEFAULT_OAUTH_PASSWORD,
    ]);
    let oauth = sign_in(&env, &mut sweep).await;
    sweep.debug("oauth tokens", &oauth);
    let builder = checkout_builder(&env, &sweep).oauth(oauth);
    sweep.debug("checkout builder", &builder);
    let client = builder.build().unwrap();
    sweep.debug("checkout client", &client);
    sweep.debug("checkout verifier", &client.webhook_verifier());

    // Static client token: every operation, a 404, a 403 (limited scope), a 401.
    let created = client
        .create_checkout(&CheckoutRequest::new(
            Amount::new(pesakit::Decimal::new(10050, 2)),
            "USD",
            "order-1",
        ))
        .await
        .unwrap();
    sweep.debug("checkout", &created);
    let r = client.get_payment(&created.payment_id).await;
    sweep.outcome("get payment", &r);
    let r = client
        .payer_instructions(&created.payment_id, "bitcoin", "onchain")
        .await;
    sweep.outcome("payer instructions", &r);
    let r = client.get_payment("no-such-payment").await;
    sweep.outcome("404", &r);
    for token in [CHECKOUT_LIMITED_TOKEN, CHECKOUT_UNKNOWN_TOKEN] {
        let other = checkout_builder(&env, &sweep)
            .client_token(token)
            .build()
            .unwrap();
        sweep.debug("other checkout client", &other);
        let r = other
            .create_checkout(&CheckoutRequest::new(Amount::from(5), "USD", "order-2"))
            .await;
        assert!(matches!(r.as_ref().unwrap_err().status(), Some(401 | 403)));
        sweep.outcome("refused token", &r);
    }
    for request in [
        CheckoutRequest::new(
            Amount::new(pesakit::Decimal::new(1001, 3)),
            "USD",
            "order-3",
        ),
        CheckoutRequest::new(Amount::from(1), "", "order-4"),
        CheckoutRequest::new(Amount::from(1), "XYZ", "order-5"),
    ] {
        let r = client.create_checkout(&request).await;
        assert!(r.is_err());
        sweep.outcome("invalid checkout", &r);
    }

    // OAuth payment applications: success, validation (local and the gateway's 422),
    // expiry and refresh, refresh failure.
    let app = |name: &str, callback: Option<&str>| NewPaymentApplication {
        name: name.to_owned(),
        secret: Secret::new(APP_WEBHOOK_SECRET),
        url: None,
        callback_url: callback.map(str::to_owned),
        currency_whitelist: vec!["USD".to_owned()],
        allow_underpay: None,
        allow_overpay: None,
    };
    sweep.debug("new application", &app("Leak shop", None));
    let r = client
        .create_payment_application(&app("Leak shop", Some("https://shop.example/hooks")))
        .await;
    sweep.outcome("create application", &r);
    for bad in [app("x", None), app("Leak shop", Some("not a url"))] {
        let r = client.create_payment_application(&bad).await;
        assert!(r.is_err(), "{r:?}");
        sweep.outcome("invalid application", &r);
    }
    let r = client.payment_applications().await;
    sweep.outcome("applications", &r);
    env.post(
        "/_sandbox/checkout/oauth/expire",
        json!({"which": "access"}),
    )
    .await;
    let r = client.payment_applications().await;
    assert!(r.is_ok(), "refreshed: {r:?}");
    sweep.outcome("applications after expiry", &r);
    let r = client.payment_application("999999").await;
    sweep.outcome("unknown application", &r);
    env.post("/_sandbox/checkout/oauth/expire", json!({"which": "all"}))
        .await;
    let r = client.payment_applications().await;
    assert!(r.is_err(), "refresh refused: {r:?}");
    sweep.outcome("applications after the refresh token expired", &r);

    // Every fault kind on the OAuth refresh and on client-token calls.
    for fault in fault_kinds() {
        let oauth = sign_in(&env, &mut sweep).await;
        let c = checkout_builder(&env, &sweep)
            .oauth(oauth)
            .request_timeout(FAULT_TIMEOUT)
            .token_store(sweep.store.sibling())
            .build()
            .unwrap();
        c.payment_applications().await.unwrap();
        env.post(
            "/_sandbox/checkout/oauth/expire",
            json!({"which": "access"}),
        )
        .await;
        let mut f = fault.clone();
        f["path"] = json!("/checkout/oauth/token");
        f["count"] = json!(4);
        env.fault(f).await;
        let r = c.payment_applications().await;
        sweep.outcome(&format!("OAuth refresh with fault {fault}"), &r);
        env.delete("/_sandbox/faults").await;

        let mut f = fault.clone();
        f["path"] = json!("/checkout/api/payment");
        f["count"] = json!(4);
        env.fault(f).await;
        let r = c
            .create_checkout(&CheckoutRequest::new(Amount::from(7), "USD", "order-f"))
            .await;
        sweep.outcome(&format!("create checkout with fault {fault}"), &r);
        let r = c.get_payment(&created.payment_id).await;
        sweep.outcome(&format!("get payment with fault {fault}"), &r);
        env.delete("/_sandbox/faults").await;
    }

    sweep.harvest(&env).await;
    sweep.assert_clean(10);
}

fn paga_builder(env: &Env, sweep: &Sweep) -> paga::ClientBuilder {
    paga::Client::builder()
        .environment(Environment::Custom(env.sandbox.paga_base_url()))
        .client_id(pesakit_sandbox::DEFAULT_PAGA_CLIENT_ID)
        .client_secret(PAGA_SECRET)
        .redirect_uri(REDIRECT)
        .pkce(true)
        .allow_insecure_loopback(true)
        .retry_policy(quick_retries())
        .token_store(sweep.store.clone())
        .logger(sweep.logger.clone())
}

/// The browser's part: follows the authorization URL once and returns the callback URL.
async fn approve(url: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http.get(url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 302);
    r.headers()["location"].to_str().unwrap().to_owned()
}

fn code_of(callback: &str) -> String {
    url::Url::parse(callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("the callback carries a code")
}

#[tokio::test]
async fn paga_never_leaks_a_secret() {
    let env = sandbox().await;
    let mut sweep = Sweep::new(&[PAGA_SECRET, PAGA_WRONG_SECRET]);
    for style in [TokenRequestStyle::FormBody, TokenRequestStyle::QueryString] {
        let builder = paga_builder(&env, &sweep).token_request_style(style);
        sweep.debug("paga builder", &builder);
        let client = builder.build().unwrap();
        sweep.debug("paga client", &client);
        let user = format!("user-{style:?}");
        let scopes = [
            Scope::MerchantPayment,
            Scope::MoneyTransfer,
            Scope::UserDetailsRequest,
        ];

        // The authorization URL may carry the state and client id, never a secret.
        let request = client.authorization_url(&scopes, &[UserData::FirstName]);
        sweep.secret(request.pkce_verifier.as_ref().unwrap().expose());
        sweep.debug("authorization request", &request);
        sweep
            .texts
            .push(("authorization url".into(), request.url.clone()));
        let callback = approve(&request.url).await;
        sweep.secret(code_of(&callback));
        let r = client.handle_callback(&callback, &request, &user).await;
        sweep.outcome("callback", &r);
        assert!(r.is_ok(), "{r:?}");
        // The same code again (used), and a bad state.
        let r = client.handle_callback(&callback, &request, &user).await;
        assert!(r.is_err());
        sweep.outcome("used code", &r);
        let other = client.authorization_url(&scopes, &[]);
        sweep.secret(other.pkce_verifier.as_ref().unwrap().expose());
        let r = client.handle_callback(&callback, &other, &user).await;
        sweep.outcome("wrong state", &r);
        let r = client
            .exchange_code(
                "0123456789abcdef-LEAKCHECK-bogus-code",
                other.pkce_verifier.as_ref(),
                &user,
            )
            .await;
        sweep.secret("0123456789abcdef-LEAKCHECK-bogus-code");
        sweep.outcome("bogus code", &r);
        // A good code with the wrong verifier.
        let fresh = client.authorization_url(&scopes, &[]);
        sweep.secret(fresh.pkce_verifier.as_ref().unwrap().expose());
        let cb = approve(&fresh.url).await;
        sweep.secret(code_of(&cb));
        let r = client
            .exchange_code(&code_of(&cb), other.pkce_verifier.as_ref(), &user)
            .await;
        sweep.outcome("wrong verifier", &r);
        let denied = client.authorization_url(&scopes, &[]);
        sweep.secret(denied.pkce_verifier.as_ref().unwrap().expose());
        let cb = approve(&format!(
            "{}&sandbox_user={}",
            denied.url,
            pesakit_sandbox::PAGA_DENYING_USER
        ))
        .await;
        let r = client.handle_callback(&cb, &denied, &user).await;
        sweep.outcome("denied", &r);

        // Operations, then expiry (refresh with rotation), then a refused refresh.
        let pay = MerchantPaymentRequest {
            reference_number: paga::new_reference_number(),
            amount: Amount::from(100),
            customer_reference: "customer-1".into(),
            product_code: None,
            currency: None,
        };
        let r = client.merchant_payment(&user, &pay).await;
        sweep.outcome("merchant payment", &r);
        let r = client.merchant_payment(&user, &pay).await;
        sweep.outcome("duplicate payment", &r);
        let r = client.user_details(&user).await;
        sweep.outcome("user details", &r);
        env.post("/_sandbox/paga/tokens/expire", json!({"which": "access"}))
            .await;
        let transfer = MoneyTransferRequest {
            reference_number: paga::new_reference_number(),
            amount: Amount::from(10),
            recipient: pesakit_sandbox::DEFAULT_PAGA_RECIPIENT_PHONE.into(),
            skip_messaging: true,
        };
        let r = client.money_transfer(&user, &transfer).await;
        assert!(r.is_ok(), "refreshed: {r:?}");
        sweep.outcome("money transfer after expiry", &r);
        let r = client.one_time_token(&user, "ref-ott").await;
        assert!(r.is_ok());
        let r = client
            .merchant_payment(
                &user,
                &MerchantPaymentRequest {
                    amount: Amount::from(0),
                    ..pay.clone()
                },
            )
            .await;
        sweep.outcome("invalid payment", &r);
        env.post("/_sandbox/paga/tokens/expire", json!({"which": "all"}))
            .await;
        let r = client.user_details(&user).await;
        assert!(r.is_err());
        sweep.outcome("after the refresh token expired", &r);
        let r = client.user_details("never-connected").await;
        sweep.outcome("unknown user", &r);

        // A wrong client secret at the code exchange.
        let wrong = paga_builder(&env, &sweep)
            .token_request_style(style)
            .client_secret(PAGA_WRONG_SECRET)
            .build()
            .unwrap();
        sweep.debug("wrong paga client", &wrong);
        let req = wrong.authorization_url(&scopes, &[]);
        sweep.secret(req.pkce_verifier.as_ref().unwrap().expose());
        let cb = approve(&req.url).await;
        sweep.secret(code_of(&cb));
        let r = wrong.handle_callback(&cb, &req, &user).await;
        assert_eq!(r.as_ref().unwrap_err().status(), Some(401));
        sweep.outcome("wrong client secret", &r);

        // Every fault kind at the code exchange, the refresh and an operation.
        for fault in fault_kinds() {
            let c = paga_builder(&env, &sweep)
                .token_request_style(style)
                .request_timeout(FAULT_TIMEOUT)
                .token_store(sweep.store.sibling())
                .build()
                .unwrap();
            for target in ["exchange", "refresh", "operation"] {
                let req = c.authorization_url(&scopes, &[]);
                sweep.secret(req.pkce_verifier.as_ref().unwrap().expose());
                let cb = approve(&req.url).await;
                sweep.secret(code_of(&cb));
                if target != "exchange" {
                    c.handle_callback(&cb, &req, &user).await.unwrap();
                }
                if target == "refresh" {
                    env.post("/_sandbox/paga/tokens/expire", json!({"which": "access"}))
                        .await;
                }
                let mut f = fault.clone();
                f["path"] = json!(if target == "operation" {
                    "/paga/paga-webservices/oauth2/secure/"
                } else {
                    "/paga/paga-webservices/oauth2/token"
                });
                f["count"] = json!(4);
                env.fault(f).await;
                let r = if target == "exchange" {
                    c.handle_callback(&cb, &req, &user).await.map(|_| ())
                } else {
                    c.user_details(&user).await.map(|_| ())
                };
                sweep.outcome(&format!("paga {target} with fault {fault}"), &r);
                env.delete("/_sandbox/faults").await;
            }
        }
    }

    sweep.harvest(&env).await;
    sweep.assert_clean(20);
}

#[tokio::test]
async fn webhooks_and_printing_never_leak_a_secret() {
    let mut sweep = Sweep::new(&[
        PAYPACK_WEBHOOK_SECRET,
        CHECKOUT_WEBHOOK_SECRET,
        WRONG_WEBHOOK_SECRET,
        "access-LEAKCHECK-printed-token",
        "refresh-LEAKCHECK-printed-token",
    ]);
    let body = br#"{"event_id":"e1","event_kind":"transaction:processed","created_at":"2024-05-01T10:00:00Z","data":{"ref":"r1","kind":"CASHIN","amount":1000,"status":"successful","client":"0788123456"}}"#;
    let verifier = paypack::WebhookVerifier::new(PAYPACK_WEBHOOK_SECRET).unwrap();
    let wrong = paypack::WebhookVerifier::new(WRONG_WEBHOOK_SECRET).unwrap();
    sweep.debug("paypack verifier", &verifier);
    let good = verifier.sign(body);
    let r = verifier.verify_and_parse(body, Some(&good));
    sweep.outcome("valid webhook", &r);
    for (what, r) in [
        ("wrong secret", wrong.verify(body, Some(&good))),
        ("bad signature", verifier.verify(body, Some("not-base64!"))),
        ("missing signature", verifier.verify(body, None)),
        ("tampered body", verifier.verify(b"{}", Some(&good))),
        (
            "not JSON",
            verifier
                .verify_and_parse(b"nope", Some(&verifier.sign(b"nope")))
                .map(|_| ()),
        ),
    ] {
        assert!(r.is_err(), "{what}");
        sweep.outcome(what, &r);
    }
    sweep.outcome("empty secret", &paypack::WebhookVerifier::new(""));

    let verifier = checkout::WebhookVerifier::new(CHECKOUT_WEBHOOK_SECRET).unwrap();
    let wrong = checkout::WebhookVerifier::new(WRONG_WEBHOOK_SECRET).unwrap();
    sweep.debug("checkout verifier", &verifier);
    let body = br#"{"payment":{"id":"p1","status":"CONFIRMED"}}"#;
    let now = pesakit::Timestamp::now().as_second();
    let sig = verifier.sign(now, body);
    let ts = now.to_string();
    let old = (now - 3600).to_string();
    let old_sig = verifier.sign(now - 3600, body);
    let event = Some("payment.completed");
    let r = verifier.verify_and_parse(body, Some(&sig), Some(&ts), event);
    sweep.outcome("valid checkout webhook", &r);
    for (what, r) in [
        (
            "wrong secret",
            wrong.verify_and_parse(body, Some(&sig), Some(&ts), event),
        ),
        (
            "bad signature",
            verifier.verify_and_parse(body, Some(&"0".repeat(64)), Some(&ts), event),
        ),
        (
            "stale",
            verifier.verify_and_parse(body, Some(&old_sig), Some(&old), event),
        ),
        (
            "missing timestamp",
            verifier.verify_and_parse(body, Some(&sig), None, event),
        ),
        (
            "garbled timestamp",
            verifier.verify_and_parse(body, Some(&sig), Some("soon"), event),
        ),
    ] {
        assert!(r.is_err(), "{what}");
        sweep.outcome(what, &r);
    }

    // Token sets, the in-memory store, OAuth tokens and authorization requests print
    // without their secrets.
    let tokens = TokenSet {
        access_token: Secret::new("access-LEAKCHECK-printed-token"),
        refresh_token: Some(Secret::new("refresh-LEAKCHECK-printed-token")),
        expires_at: pesakit::Timestamp::now(),
        refresh_expires_at: None,
        obtained_at: pesakit::Timestamp::now(),
    };
    sweep.debug("token set", &tokens);
    sweep.debug("secret", &tokens.access_token);
    sweep
        .texts
        .push(("secret display".into(), tokens.access_token.to_string()));
    let store = MemoryTokenStore::new();
    store.save("k", &tokens).unwrap();
    sweep.debug("memory store", &store);
    sweep.debug(
        "oauth tokens",
        &OAuthTokens {
            access_token: Secret::new("access-LEAKCHECK-printed-token"),
            refresh_token: Some(Secret::new("refresh-LEAKCHECK-printed-token")),
            expires_at: None,
            client_id: "c".into(),
            client_secret: Some(Secret::new(WRONG_WEBHOOK_SECRET)),
            token_path: None,
        },
    );
    // Builders that fail to build print their secrets redacted too.
    let b = paypack::Client::builder()
        .client_id("x")
        .client_secret(PAYPACK_WEBHOOK_SECRET)
        .base_url("http://example.com");
    sweep.debug("paypack builder", &b);
    sweep.outcome("refused URL", &b.build().map(|_| ()));
    let b = checkout::Client::builder()
        .client_token(CHECKOUT_WEBHOOK_SECRET)
        .webhook_secret(PAYPACK_WEBHOOK_SECRET);
    sweep.debug("checkout builder", &b);
    sweep.outcome("no base URL", &b.build().map(|_| ()));
    let b = paga::Client::builder()
        .client_id("x")
        .client_secret(WRONG_WEBHOOK_SECRET);
    sweep.debug("paga builder", &b);
    sweep.outcome("no redirect", &b.build().map(|_| ()));
    // A base URL carrying credentials is refused without printing them, whatever else
    // is wrong with it.
    for url in [
        format!("https://user:{PAYPACK_WEBHOOK_SECRET}@example.com/api"),
        format!("https://user:{PAYPACK_WEBHOOK_SECRET}@example.com/api?x=1"),
        format!("http://user:{PAYPACK_WEBHOOK_SECRET}@example.com/api"),
        format!("http://user:{PAYPACK_WEBHOOK_SECRET}@127.0.0.1:9/api"),
        format!("ftp://user:{PAYPACK_WEBHOOK_SECRET}@example.com/api"),
        format!("https://user:{PAYPACK_WEBHOOK_SECRET}@exa mple.com/api"),
        format!("https://{PAYPACK_WEBHOOK_SECRET}@example.com/api"),
    ] {
        let r = paypack::Client::builder()
            .client_id("x")
            .client_secret(PAYPACK_WEBHOOK_SECRET)
            .base_url(url)
            .build();
        assert!(r.is_err());
        sweep.outcome("credentials in the URL", &r.map(|_| ()));
        let r = checkout::Client::builder()
            .client_token(CHECKOUT_WEBHOOK_SECRET)
            .base_url(format!(
                "https://user:{PAYPACK_WEBHOOK_SECRET}@example.com?x"
            ))
            .build();
        sweep.outcome("credentials in the checkout URL", &r.map(|_| ()));
    }

    // Nothing here logs; the sweep still wants a line to prove the logger works.
    sweep
        .logger
        .lines
        .lock()
        .unwrap()
        .push((pesakit::LogLevel::Debug, "no client ran".into()));
    sweep.assert_clean(5);
}
