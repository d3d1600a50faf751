//! Helpers shared by the integration tests: a sandbox plus an HTTP client.

#![allow(dead_code)]

use std::future::Future;
use std::time::{Duration, Instant};

use pesakit_sandbox::{Sandbox, SandboxConfig, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A sandbox configuration where nothing settles by itself.
pub fn manual() -> SandboxConfig {
    SandboxConfig {
        settle_after: None,
        ..SandboxConfig::default()
    }
}

/// An HTTP client that never goes through a proxy.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Polls `check` every 20 ms for up to 5 s until it returns `Some`.
pub async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An answer: status, headers, raw body, and the body as JSON (`Null` if not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
    pub json: Value,
}

impl Answer {
    pub fn message(&self) -> &str {
        self.json["message"].as_str().unwrap_or_default()
    }
}

/// A running sandbox and a client for it.
pub struct Harness {
    pub sandbox: Sandbox,
    pub http: reqwest::Client,
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::with(manual()).await
    }

    pub async fn with(config: SandboxConfig) -> Harness {
        Harness {
            sandbox: Sandbox::start(config).await.expect("sandbox starts"),
            http: http_client(),
        }
    }

    /// `base_url + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.sandbox.base_url(), path)
    }

    /// `paypack_base_url + path`.
    pub fn api(&self, path: &str) -> String {
        format!("{}{}", self.sandbox.paypack_base_url(), path)
    }

    /// `checkout_base_url + path`.
    pub fn checkout(&self, path: &str) -> String {
        format!("{}{}", self.sandbox.checkout_base_url(), path)
    }

    /// Sends a request and reads the whole answer.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Answer {
        self.try_send(method, url, token, headers, body)
            .await
            .expect("request succeeds")
    }

    /// Like [`Harness::send`], but returns transport errors.
    pub async fn try_send(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Answer, reqwest::Error> {
        let mut request = self.http.request(method, url);
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(serde_json::to_vec(body).unwrap());
        }
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?.to_vec();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            headers,
            bytes,
            json,
        })
    }

    pub async fn get(&self, url: &str, token: Option<&str>) -> Answer {
        self.send(Method::GET, url, token, &[], None).await
    }

    pub async fn post(&self, url: &str, token: Option<&str>, body: &Value) -> Answer {
        self.send(Method::POST, url, token, &[], Some(body)).await
    }

    /// Authorizes an application; the whole answer.
    pub async fn authorize_as(&self, client_id: &str, client_secret: &str) -> Answer {
        self.post(
            &self.api("/auth/agents/authorize"),
            None,
            &json!({ "client_id": client_id, "client_secret": client_secret }),
        )
        .await
    }

    /// An access token of the default application.
    pub async fn token(&self) -> String {
        let answer = self
            .authorize_as(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json);
        answer.json["access"].as_str().unwrap().to_owned()
    }

    /// A cash-in or cash-out (`kind` = `cashin`/`cashout`) that must succeed; the answer.
    pub async fn create(&self, token: &str, kind: &str, amount: Value, number: &str) -> Value {
        let answer = self
            .post(
                &self.api(&format!("/transactions/{kind}")),
                Some(token),
                &json!({ "amount": amount, "number": number }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json);
        answer.json
    }

    /// Settles through the control API.
    pub async fn settle(&self, reference: &str, status: Option<&str>) -> Answer {
        let body = match status {
            Some(status) => json!({ "status": status }),
            None => json!({}),
        };
        self.post(
            &self.url(&format!(
                "/_sandbox/paypack/transactions/{reference}/settle"
            )),
            None,
            &body,
        )
        .await
    }

    pub async fn ledger(&self) -> Value {
        self.get(&self.url("/_sandbox/paypack/ledger"), None)
            .await
            .json
    }

    pub async fn add_fault(&self, fault: Value) {
        let answer = self.post(&self.url("/_sandbox/faults"), None, &fault).await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json);
        assert!(answer.json["id"].as_u64().is_some());
    }

    pub async fn requests(&self) -> Vec<Value> {
        let answer = self.get(&self.url("/_sandbox/requests"), None).await;
        answer.json.as_array().cloned().unwrap_or_default()
    }
}

/// Decodes a JWT's payload without checking it.
pub fn jwt_claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// Whether `text` is `YYYY-MM-DDTHH:MM:SS.<digits fraction digits><suffix>`.
pub fn has_time_shape(text: &str, digits: usize, suffix: &str) -> bool {
    let Some(rest) = text.strip_suffix(suffix) else {
        return false;
    };
    let Some((seconds, fraction)) = rest.split_once('.') else {
        return false;
    };
    seconds.len() == 19
        && seconds.as_bytes()[10] == b'T'
        && fraction.len() == digits
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<jiff::Timestamp>().is_ok()
}
