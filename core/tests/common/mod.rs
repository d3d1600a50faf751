//! Shared helpers for the integration tests: an emulator per test, steered through its
//! control API over real HTTP.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pesakit::paypack::{Client, ClientBuilder};
use pesakit::{LogLevel, Logger, RetryPolicy};
use pesakit_sandbox::{Sandbox, SandboxConfig};
use serde_json::{json, Value};

/// One emulator and a plain HTTP client for its control API.
pub struct Env {
    pub sandbox: Sandbox,
    pub http: reqwest::Client,
}

/// Starts an emulator that only settles through the control API, with `tweak` applied.
pub async fn start_with(tweak: impl FnOnce(&mut SandboxConfig)) -> Env {
    let mut config = SandboxConfig {
        settle_after: None,
        ..SandboxConfig::default()
    };
    tweak(&mut config);
    let sandbox = Sandbox::start(config).await.expect("the emulator starts");
    Env {
        sandbox,
        http: reqwest::Client::new(),
    }
}

pub async fn start() -> Env {
    start_with(|_| {}).await
}

/// Fast retries so fault tests do not wait long.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(30),
    }
}

impl Env {
    /// A builder aimed at this emulator with its default application.
    pub fn builder(&self) -> ClientBuilder {
        Client::builder()
            .client_id(pesakit_sandbox::DEFAULT_CLIENT_ID)
            .client_secret(pesakit_sandbox::DEFAULT_CLIENT_SECRET)
            .base_url(self.sandbox.paypack_base_url())
            .allow_insecure_loopback(true)
            .retry_policy(quick_retries())
            .poll_interval(Duration::from_millis(20))
    }

    pub fn client(&self) -> Client {
        self.builder().build().expect("client builds")
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.sandbox.base_url(), path)
    }

    pub async fn get(&self, path: &str) -> Value {
        let r = self.http.get(self.url(path)).send().await.unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "POST {path}: {}", r.status());
        r.json().await.unwrap()
    }

    pub async fn delete(&self, path: &str) {
        let r = self.http.delete(self.url(path)).send().await.unwrap();
        assert!(r.status().is_success(), "DELETE {path}: {}", r.status());
    }

    /// The emulator's request log.
    pub async fn requests(&self) -> Vec<Value> {
        self.get("/_sandbox/requests")
            .await
            .as_array()
            .unwrap()
            .clone()
    }

    pub async fn clear_requests(&self) {
        self.delete("/_sandbox/requests").await;
    }

    /// How many logged requests had `method` and a path under `/paypack/api` + `path`.
    pub async fn count(&self, method: &str, path: &str) -> usize {
        let full = format!("/paypack/api{path}");
        self.requests()
            .await
            .iter()
            .filter(|r| r["method"] == method && r["path"].as_str().unwrap().starts_with(&full))
            .count()
    }

    /// How many logged requests had `method` and a path starting with `prefix`.
    pub async fn count_under(&self, method: &str, prefix: &str) -> usize {
        self.requests()
            .await
            .iter()
            .filter(|r| r["method"] == method && r["path"].as_str().unwrap().starts_with(prefix))
            .count()
    }

    pub async fn fault(&self, fault: Value) {
        self.post("/_sandbox/faults", fault).await;
    }

    pub async fn settle(&self, reference: &str, status: &str) -> Value {
        self.post(
            &format!("/_sandbox/paypack/transactions/{reference}/settle"),
            json!({ "status": status }),
        )
        .await
    }

    pub async fn ledger(&self) -> Value {
        self.get("/_sandbox/paypack/ledger").await
    }

    pub async fn ledger_transactions(&self) -> Vec<Value> {
        self.ledger().await["transactions"]
            .as_array()
            .unwrap()
            .clone()
    }

    pub async fn config(&self, body: Value) -> Value {
        self.post("/_sandbox/paypack/config", body).await
    }

    /// Authorizes with raw HTTP and returns the gateway's `(access, refresh, expires)`.
    pub async fn raw_tokens(&self) -> (String, String, i64) {
        let r: Value = self
            .http
            .post(format!(
                "{}/auth/agents/authorize",
                self.sandbox.paypack_base_url()
            ))
            .json(&json!({
                "client_id": pesakit_sandbox::DEFAULT_CLIENT_ID,
                "client_secret": pesakit_sandbox::DEFAULT_CLIENT_SECRET,
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            r["access"].as_str().unwrap().to_owned(),
            r["refresh"].as_str().unwrap().to_owned(),
            r["expires"].as_i64().unwrap(),
        )
    }
}

impl Env {
    /// Signs in to the emulator's checkout OAuth server with its demo user (password
    /// grant), as a dashboard would; returns `(access, refresh)`.
    pub async fn checkout_sign_in(&self) -> (String, String) {
        let r: Value = self
            .http
            .post(format!("{}/oauth/token", self.sandbox.checkout_base_url()))
            .form(&[
                ("grant_type", "password"),
                ("username", pesakit_sandbox::DEFAULT_OAUTH_USERNAME),
                ("password", pesakit_sandbox::DEFAULT_OAUTH_PASSWORD),
                ("client_id", pesakit_sandbox::DEFAULT_OAUTH_CLIENT_ID),
                (
                    "client_secret",
                    pesakit_sandbox::DEFAULT_OAUTH_CLIENT_SECRET,
                ),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            r["access_token"].as_str().unwrap().to_owned(),
            r["refresh_token"].as_str().unwrap().to_owned(),
        )
    }
}

/// A logger that keeps every line, to assert on what was (and was not) logged.
#[derive(Default)]
pub struct CapturingLogger {
    pub lines: Mutex<Vec<(LogLevel, String)>>,
}

impl Logger for CapturingLogger {
    fn log(&self, level: LogLevel, message: &str) {
        self.lines.lock().unwrap().push((level, message.to_owned()));
    }
}

impl CapturingLogger {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn text(&self) -> String {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|(l, m)| format!("{l}: {m}\n"))
            .collect()
    }
}
