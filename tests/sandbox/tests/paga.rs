//! The Paga Connect gateway over real HTTP: the authorization redirect, the token
//! endpoint in both parameter styles, PKCE, refresh rotation, the secure operations,
//! balances, scopes and token expiry.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use pesakit_sandbox::{
    Sandbox, SandboxConfig, DEFAULT_PAGA_CLIENT_ID, DEFAULT_PAGA_CLIENT_SECRET,
    DEFAULT_PAGA_RECIPIENT_PHONE, DEFAULT_PAGA_USER, PAGA_DENYING_USER,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const REDIRECT: &str = "http://localhost:8080/callback?app=shop";
const ALL_SCOPES: &str = "MERCHANT_PAYMENT MONEY_TRANSFER USER_DETAILS_REQUEST";
const ALL_DATA: &str = "FIRST_NAME LAST_NAME USERNAME EMAIL ACCOUNT_BALANCE";

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

struct Paga {
    sandbox: Sandbox,
    http: reqwest::Client,
}

/// A status and a JSON body (`Null` if not JSON).
struct Answer {
    status: StatusCode,
    json: Value,
}

impl Paga {
    async fn start() -> Paga {
        Paga::with(SandboxConfig::default()).await
    }

    async fn with(config: SandboxConfig) -> Paga {
        Paga {
            sandbox: Sandbox::start(config).await.expect("sandbox starts"),
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        }
    }

    /// `paga_base_url + /paga-webservices/oauth2 + path`.
    fn oauth(&self, path: &str) -> String {
        format!(
            "{}/paga-webservices/oauth2{path}",
            self.sandbox.paga_base_url()
        )
    }

    fn control(&self, path: &str) -> String {
        format!("{}/_sandbox/paga{path}", self.sandbox.base_url())
    }

    async fn read(response: reqwest::Response) -> Answer {
        let status = response.status();
        let bytes = response.bytes().await.unwrap();
        Answer {
            status,
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// The authorization request; its status and `Location` (parsed).
    async fn authorize(&self, params: &[(&str, &str)]) -> (StatusCode, Option<url::Url>) {
        let response = self
            .http
            .get(self.oauth("/authorization"))
            .query(params)
            .send()
            .await
            .unwrap();
        let location = response
            .headers()
            .get("location")
            .map(|v| url::Url::parse(v.to_str().unwrap()).unwrap());
        (response.status(), location)
    }

    /// A code for the default user, with these scopes and extra parameters.
    async fn code(&self, scope: &str, user_data: &str, extra: &[(&str, &str)]) -> String {
        let mut params = vec![
            ("client_id", DEFAULT_PAGA_CLIENT_ID),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("state", "s1"),
            ("scope", scope),
            ("user_data", user_data),
        ];
        params.extend_from_slice(extra);
        let (status, location) = self.authorize(&params).await;
        assert_eq!(status, StatusCode::FOUND);
        query_param(&location.unwrap(), "code").expect("a code")
    }

    /// The token endpoint with a form body and HTTP Basic.
    async fn token_form(&self, params: &[(&str, &str)]) -> Answer {
        let response = self
            .http
            .post(self.oauth("/token"))
            .basic_auth(DEFAULT_PAGA_CLIENT_ID, Some(DEFAULT_PAGA_CLIENT_SECRET))
            .form(params)
            .send()
            .await
            .unwrap();
        Paga::read(response).await
    }

    /// Exchanges a code (form body); the answer.
    async fn exchange(&self, code: &str, verifier: Option<&str>) -> Answer {
        let mut params = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ];
        if let Some(verifier) = verifier {
            params.push(("code_verifier", verifier));
        }
        self.token_form(&params).await
    }

    /// An access token (and the whole token answer) with these grants.
    async fn login(&self, scope: &str, user_data: &str) -> (String, Value) {
        let code = self.code(scope, user_data, &[]).await;
        let answer = self.exchange(&code, None).await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json);
        let access = answer.json["access_token"].as_str().unwrap().to_owned();
        (access, answer.json)
    }

    /// A secure operation: `POST /secure/{path}` with an empty body.
    async fn op(&self, path: &str, token: Option<&str>) -> Answer {
        let mut request = self.http.post(self.oauth(&format!("/secure/{path}")));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Paga::read(request.send().await.unwrap()).await
    }

    async fn ledger(&self) -> Value {
        let response = self.http.get(self.control("/ledger")).send().await.unwrap();
        Paga::read(response).await.json
    }

    async fn balance(&self, login: &str) -> Value {
        let ledger = self.ledger().await;
        ledger["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["login"] == login)
            .expect("a user")["balance"]
            .clone()
    }

    async fn control_post(&self, path: &str, body: Value) -> Answer {
        let response = self
            .http
            .post(self.control(path))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        Paga::read(response).await
    }
}

fn query_param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn payment_path(reference: &str, amount: &str, tail: &str) -> String {
    format!(
        "merchantPayment/referenceNumber/{reference}/amount/{amount}/merchantCustomerReference/cust-1{tail}"
    )
}

// ---------------------------------------------------------------------------------
// Authorization
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn authorization_redirects_with_a_code_and_the_exact_state() {
    let p = Paga::start().await;
    let state = "x y+z/=&?é";
    let (status, location) = p
        .authorize(&[
            ("client_id", DEFAULT_PAGA_CLIENT_ID),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("state", state),
            ("scope", "MERCHANT_PAYMENT+USER_DETAILS_REQUEST"),
            ("user_data", "FIRST_NAME EMAIL"),
        ])
        .await;
    assert_eq!(status, StatusCode::FOUND);
    let location = location.unwrap();
    assert!(location
        .as_str()
        .starts_with("http://localhost:8080/callback?app=shop&"));
    assert_eq!(query_param(&location, "state").as_deref(), Some(state));
    assert!(query_param(&location, "code").is_some_and(|c| !c.is_empty()));
    assert_eq!(query_param(&location, "error"), None);

    // The scope and user_data recorded on the code come back with the token.
    let code = query_param(&location, "code").unwrap();
    let answer = p.exchange(&code, None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json["scope"],
        "MERCHANT_PAYMENT USER_DETAILS_REQUEST"
    );
    assert_eq!(answer.json["user_data"], "FIRST_NAME EMAIL");
}

#[tokio::test]
async fn the_denying_user_is_redirected_with_access_denied() {
    let p = Paga::start().await;
    let (status, location) = p
        .authorize(&[
            ("client_id", DEFAULT_PAGA_CLIENT_ID),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("state", "st-42"),
            ("scope", "MERCHANT_PAYMENT"),
            ("user_data", "FIRST_NAME"),
            ("sandbox_user", PAGA_DENYING_USER),
        ])
        .await;
    assert_eq!(status, StatusCode::FOUND);
    let location = location.unwrap();
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_param(&location, "state").as_deref(), Some("st-42"));
    assert_eq!(query_param(&location, "code"), None);
}

#[tokio::test]
async fn authorization_refuses_bad_requests() {
    let p = Paga::start().await;
    let base = [
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("state", "s"),
        ("scope", "MERCHANT_PAYMENT"),
    ];
    // Unknown client: a 400 page, no redirect.
    let mut params = base.to_vec();
    params.push(("client_id", "someone-else"));
    let (status, location) = p.authorize(&params).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(location.is_none());

    // Another response_type: redirected with an error.
    let (status, location) = p
        .authorize(&[
            ("client_id", DEFAULT_PAGA_CLIENT_ID),
            ("response_type", "token"),
            ("redirect_uri", REDIRECT),
            ("state", "s"),
        ])
        .await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(
        query_param(&location.unwrap(), "error").as_deref(),
        Some("unsupported_response_type")
    );

    // An unknown scope name.
    let (_, location) = p
        .authorize(&[
            ("client_id", DEFAULT_PAGA_CLIENT_ID),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", "MERCHANT_PAYMENT STEAL_EVERYTHING"),
        ])
        .await;
    assert_eq!(
        query_param(&location.unwrap(), "error").as_deref(),
        Some("invalid_scope")
    );
}

// ---------------------------------------------------------------------------------
// Token endpoint
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn token_exchange_with_a_form_body() {
    let p = Paga::start().await;
    let code = p.code(ALL_SCOPES, ALL_DATA, &[]).await;
    let answer = p.exchange(&code, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json);
    let json = &answer.json;
    assert!(json["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(json["refresh_token"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    assert_eq!(json["token_type"], "bearer");
    assert_eq!(json["expires_in"], 3600);
    assert_eq!(json["scope"], ALL_SCOPES);
    assert_eq!(json["user_data"], ALL_DATA);
    assert_eq!(json["authorities"], json!(["ROLE_USER"]));
    assert_eq!(json["limitMaximum"], 100_000);
}

#[tokio::test]
async fn token_exchange_with_the_query_string_as_the_official_libraries_send_it() {
    let p = Paga::start().await;
    let redirect = "http://localhost:8080/cb";
    let (_, location) = p
        .authorize(&[
            ("client_id", DEFAULT_PAGA_CLIENT_ID),
            ("response_type", "code"),
            ("redirect_uri", redirect),
            ("scope", "MERCHANT_PAYMENT MONEY_TRANSFER"),
            ("user_data", "FIRST_NAME"),
        ])
        .await;
    let code = query_param(&location.unwrap(), "code").unwrap();
    // Unencoded, `+`-joined, empty body: exactly what the PHP/Node/Python libraries send.
    let url = format!(
        "{}?grant_type=authorization_code&redirect_uri={redirect}&code={code}&scope=MERCHANT_PAYMENT+MONEY_TRANSFER&user_data=FIRST_NAME",
        p.oauth("/token")
    );
    let response = p
        .http
        .post(url)
        .basic_auth(DEFAULT_PAGA_CLIENT_ID, Some(DEFAULT_PAGA_CLIENT_SECRET))
        .send()
        .await
        .unwrap();
    let answer = Paga::read(response).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json);
    assert_eq!(answer.json["scope"], "MERCHANT_PAYMENT MONEY_TRANSFER");
    let token = answer.json["access_token"].as_str().unwrap();
    let pay = p.op(&payment_path("q-1", "10", ""), Some(token)).await;
    assert_eq!(pay.json["merchantPaymentResult"]["errorCode"], "0");
}

#[tokio::test]
async fn the_token_endpoint_requires_http_basic() {
    let p = Paga::start().await;
    let code = p.code("MERCHANT_PAYMENT", "FIRST_NAME", &[]).await;
    let params = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", DEFAULT_PAGA_CLIENT_ID),
        ("client_secret", DEFAULT_PAGA_CLIENT_SECRET),
    ];
    // Credentials in the body are not enough.
    let response = p
        .http
        .post(p.oauth("/token"))
        .form(&params)
        .send()
        .await
        .unwrap();
    let answer = Paga::read(response).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json["error"], "invalid_client");

    // A wrong secret.
    let response = p
        .http
        .post(p.oauth("/token"))
        .basic_auth(DEFAULT_PAGA_CLIENT_ID, Some("wrong"))
        .form(&params)
        .send()
        .await
        .unwrap();
    let answer = Paga::read(response).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json["error"], "invalid_client");

    // The code was not consumed by the refused attempts.
    assert_eq!(p.exchange(&code, None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_code_is_single_use_bound_to_its_redirect_uri_and_expires() {
    let p = Paga::start().await;
    let code = p.code("MERCHANT_PAYMENT", "", &[]).await;
    assert_eq!(p.exchange(&code, None).await.status, StatusCode::OK);
    let again = p.exchange(&code, None).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.json["error"], "invalid_grant");

    let code = p.code("MERCHANT_PAYMENT", "", &[]).await;
    let mismatch = p
        .token_form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://localhost:8080/other"),
        ])
        .await;
    assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);
    assert_eq!(mismatch.json["error"], "invalid_grant");

    let answer = p
        .control_post("/config", json!({ "code_ttl_secs": 0 }))
        .await;
    assert_eq!(
        answer.json,
        json!({ "code_ttl_secs": 0, "access_ttl_secs": 3600 })
    );
    let code = p.code("MERCHANT_PAYMENT", "", &[]).await;
    let expired = p.exchange(&code, None).await;
    assert_eq!(expired.status, StatusCode::BAD_REQUEST);
    assert_eq!(expired.json["error"], "invalid_grant");

    let unknown = p.token_form(&[("grant_type", "password")]).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.json["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn pkce_is_verified_when_a_challenge_was_given() {
    let p = Paga::start().await;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];

    let code = p.code("MERCHANT_PAYMENT", "", &pkce).await;
    let wrong = p.exchange(&code, Some("not-the-verifier")).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong.json["error"], "invalid_grant");

    let code = p.code("MERCHANT_PAYMENT", "", &pkce).await;
    let missing = p.exchange(&code, None).await;
    assert_eq!(missing.json["error"], "invalid_grant");

    let code = p.code("MERCHANT_PAYMENT", "", &pkce).await;
    let right = p.exchange(&code, Some(verifier)).await;
    assert_eq!(right.status, StatusCode::OK, "{:?}", right.json);
}

#[tokio::test]
async fn refresh_tokens_rotate() {
    let p = Paga::start().await;
    let (_, first) = p.login("USER_DETAILS_REQUEST", "FIRST_NAME").await;
    let old = first["refresh_token"].as_str().unwrap();
    let refreshed = p
        .token_form(&[("grant_type", "refresh_token"), ("refresh_token", old)])
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{:?}", refreshed.json);
    let new_refresh = refreshed.json["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, old);
    assert_eq!(refreshed.json["scope"], "USER_DETAILS_REQUEST");
    let access = refreshed.json["access_token"].as_str().unwrap();
    assert_eq!(
        p.op("getUserDetails", Some(access)).await.status,
        StatusCode::OK
    );

    let reused = p
        .token_form(&[("grant_type", "refresh_token"), ("refresh_token", old)])
        .await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST);
    assert_eq!(reused.json["error"], "invalid_grant");

    // The query-string style works for refresh too.
    let url = format!(
        "{}?grant_type=refresh_token&refresh_token={new_refresh}",
        p.oauth("/token")
    );
    let response = p
        .http
        .post(url)
        .basic_auth(DEFAULT_PAGA_CLIENT_ID, Some(DEFAULT_PAGA_CLIENT_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(Paga::read(response).await.status, StatusCode::OK);

    // Expired refresh tokens are refused.
    let (_, other) = p.login("USER_DETAILS_REQUEST", "").await;
    let count = p
        .control_post("/tokens/expire", json!({ "which": "refresh" }))
        .await;
    assert!(count.json["count"].as_u64().unwrap() >= 1);
    let expired = p
        .token_form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", other["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(expired.json["error"], "invalid_grant");
}

// ---------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn merchant_payment_in_every_path_form_debits_the_user() {
    let p = Paga::start().await;
    let (token, _) = p.login(ALL_SCOPES, ALL_DATA).await;
    let cases = [
        ("p-1", "100", "", None, "NGN"),
        (
            "p-2",
            "200.5",
            "/merchantProductCode/GOLD",
            Some("GOLD"),
            "NGN",
        ),
        ("p-3", "300", "/currency/NGN", None, "NGN"),
        (
            "p%204",
            "400",
            "/merchantProductCode/A%2FB/currency/ngn",
            Some("A/B"),
            "NGN",
        ),
    ];
    for (reference, amount, tail, _, currency) in cases {
        let answer = p
            .op(&payment_path(reference, amount, tail), Some(&token))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{tail}: {:?}", answer.json);
        let result = &answer.json["merchantPaymentResult"];
        assert_eq!(result["errorCode"], "0", "{result:?}");
        assert_eq!(result["errorMessage"], Value::Null);
        assert_eq!(result["currency"], currency);
        assert_eq!(result["agentCommission"], 0);
        assert_eq!(result["exchangeRate"], Value::Null);
        assert!(result["fee"].is_number());
        assert!(result["transactionId"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
        assert!(result["confirmationCode"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
    }
    // 50000 - (100 + 200.5 + 300 + 400)
    assert_eq!(p.balance(DEFAULT_PAGA_USER).await, json!(48999.5));
    let ledger = p.ledger().await;
    let payments = ledger["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 4);
    assert_eq!(payments[1]["merchant_product_code"], "GOLD");
    assert_eq!(payments[3]["reference"], "p 4");
    assert_eq!(payments[3]["merchant_product_code"], "A/B");
    assert_eq!(payments[0]["merchant_product_code"], Value::Null);
    assert_eq!(ledger["merchant"]["balance"], json!(1_001_000.5));

    // The user's own view agrees.
    let details = p.op("getUserDetails", Some(&token)).await;
    assert_eq!(
        details.json["detailsResult"]["details"]["accountBalance"],
        json!(48999.5)
    );
}

#[tokio::test]
async fn duplicate_reference_and_insufficient_balance_are_provider_errors() {
    let p = Paga::start().await;
    let (token, _) = p.login("MERCHANT_PAYMENT", "").await;
    let first = p.op(&payment_path("dup", "1000", ""), Some(&token)).await;
    assert_eq!(first.json["merchantPaymentResult"]["errorCode"], "0");
    let second = p.op(&payment_path("dup", "1000", ""), Some(&token)).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.json["merchantPaymentResult"]["errorCode"], "17");
    assert_eq!(
        second.json["merchantPaymentResult"]["errorMessage"],
        "Duplicate reference number"
    );
    assert_eq!(p.balance(DEFAULT_PAGA_USER).await, json!(49000));

    let poor = p
        .op(&payment_path("big", "49000.01", ""), Some(&token))
        .await;
    assert_eq!(poor.status, StatusCode::OK);
    assert_eq!(poor.json["merchantPaymentResult"]["errorCode"], "10");
    assert_eq!(
        poor.json["merchantPaymentResult"]["errorMessage"],
        "Insufficient balance"
    );
    assert_eq!(p.balance(DEFAULT_PAGA_USER).await, json!(49000));
    assert_eq!(p.ledger().await["payments"].as_array().unwrap().len(), 1);

    // Exactly the balance is fine.
    let all = p.op(&payment_path("all", "49000", ""), Some(&token)).await;
    assert_eq!(all.json["merchantPaymentResult"]["errorCode"], "0");
    assert_eq!(p.balance(DEFAULT_PAGA_USER).await, json!(0));

    let bad = p.op(&payment_path("x", "-5", ""), Some(&token)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn money_transfer_moves_money_from_the_merchant_to_the_recipient() {
    let p = Paga::start().await;
    let (token, _) = p.login("MONEY_TRANSFER", "").await;
    let path = format!(
        "moneyTransfer/v2?amount=2500&referenceNumber=t-1&skipMessaging=true&recipientCredential={DEFAULT_PAGA_RECIPIENT_PHONE}"
    );
    let answer = p.op(&path, Some(&token)).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json);
    let json = &answer.json;
    assert_eq!(json["errorCode"], "0");
    assert_eq!(json["errorMessage"], Value::Null);
    assert_eq!(json["amount"], 2500);
    assert_eq!(json["currency"], "NGN");
    assert_eq!(json["exchangeRate"], Value::Null);
    assert_eq!(json["externalReferenceNumber"], "t-1");
    assert!(json["transactionId"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    assert!(json["fee"].is_number());

    let ledger = p.ledger().await;
    assert_eq!(ledger["merchant"]["balance"], json!(997_500));
    let recipient = ledger["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["phone"] == DEFAULT_PAGA_RECIPIENT_PHONE)
        .unwrap();
    assert_eq!(recipient["balance"], json!(2500));
    assert_eq!(ledger["transfers"][0]["skip_messaging"], true);

    // The same reference again: no second transfer.
    let again = p.op(&path, Some(&token)).await;
    assert_eq!(again.json["errorCode"], "17");
    assert_eq!(p.ledger().await["merchant"]["balance"], json!(997_500));

    let unknown = p
        .op(
            "moneyTransfer/v2?amount=1&referenceNumber=t-2&skipMessaging=false&recipientCredential=08039999999",
            Some(&token),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::OK);
    assert_eq!(unknown.json["errorCode"], "4");
    assert_eq!(unknown.json["errorMessage"], "Unknown recipient");

    for boolean in ["1", "TRUE", "yes", ""] {
        let bad = p
            .op(
                &format!(
                    "moneyTransfer/v2?amount=1&referenceNumber=t-3&skipMessaging={boolean}&recipientCredential={DEFAULT_PAGA_RECIPIENT_PHONE}"
                ),
                Some(&token),
            )
            .await;
        assert_eq!(
            bad.status,
            StatusCode::BAD_REQUEST,
            "skipMessaging={boolean}"
        );
    }
}

#[tokio::test]
async fn user_details_show_the_balance_only_when_granted() {
    let p = Paga::start().await;
    let (with_balance, _) = p.login("USER_DETAILS_REQUEST", ALL_DATA).await;
    let answer = p.op("getUserDetails", Some(&with_balance)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json,
        json!({ "detailsResult": {
            "errorCode": "0",
            "errorMessage": null,
            "details": {
                "accountStatus": "ACTIVE",
                "firstName": "Ada",
                "lastName": "Obi",
                "accountBalance": 50000,
                "email": "ada@example.ng",
                "publicId": "PUB-ADA-001",
                "username": "adaobi",
                "authorities": [{ "authority": "ROLE_USER" }],
            },
        }})
    );

    let (without, _) = p
        .login("USER_DETAILS_REQUEST", "FIRST_NAME LAST_NAME")
        .await;
    let answer = p.op("getUserDetails", Some(&without)).await;
    let details = &answer.json["detailsResult"]["details"];
    assert_eq!(details["firstName"], "Ada");
    assert!(details.get("accountBalance").is_none());
}

#[tokio::test]
async fn one_time_tokens() {
    let p = Paga::start().await;
    let (token, _) = p.login("MERCHANT_PAYMENT", "").await;
    let answer = p
        .op("getOneTimeToken/referenceNumber/ott-1", Some(&token))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.json["oneTimeToken"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    assert_eq!(answer.json["expiresIn"], 300);
    assert_eq!(answer.json["errorCode"], "0");
}

// ---------------------------------------------------------------------------------
// Bearer tokens and scopes
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_scope_not_granted_is_a_403() {
    let p = Paga::start().await;
    let (token, _) = p.login("USER_DETAILS_REQUEST", "FIRST_NAME").await;
    let pay = p.op(&payment_path("s-1", "10", ""), Some(&token)).await;
    assert_eq!(pay.status, StatusCode::FORBIDDEN);
    assert_eq!(pay.json["error"], "insufficient_scope");
    assert!(pay.json["error_description"].is_string());
    let transfer = p
        .op(
            &format!("moneyTransfer/v2?amount=1&referenceNumber=s-2&skipMessaging=true&recipientCredential={DEFAULT_PAGA_RECIPIENT_PHONE}"),
            Some(&token),
        )
        .await;
    assert_eq!(transfer.status, StatusCode::FORBIDDEN);
    let (payer, _) = p.login("MERCHANT_PAYMENT", "").await;
    let details = p.op("getUserDetails", Some(&payer)).await;
    assert_eq!(details.status, StatusCode::FORBIDDEN);
    assert_eq!(p.balance(DEFAULT_PAGA_USER).await, json!(50000));
}

#[tokio::test]
async fn missing_unknown_and_expired_tokens_are_a_401() {
    let p = Paga::start().await;
    let none = p.op("getUserDetails", None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.json["error"], "invalid_token");
    let unknown = p.op("getUserDetails", Some("nope")).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.json["error"], "invalid_token");
    assert!(unknown.json["error_description"].is_string());

    let (token, _) = p.login(ALL_SCOPES, "").await;
    assert_eq!(
        p.op("getUserDetails", Some(&token)).await.status,
        StatusCode::OK
    );
    let count = p
        .control_post("/tokens/expire", json!({ "which": "access" }))
        .await;
    assert_eq!(count.json["count"], 1);
    let expired = p.op("getUserDetails", Some(&token)).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.json["error"], "invalid_token");

    // A zero lifetime: expired on arrival.
    p.control_post("/config", json!({ "access_ttl_secs": 0 }))
        .await;
    let (short, answer) = p.login(ALL_SCOPES, "").await;
    assert_eq!(answer["expires_in"], 0);
    let expired = p.op("getUserDetails", Some(&short)).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn config_from_sandbox_config_and_the_request_log() {
    let p = Paga::with(SandboxConfig {
        paga_access_ttl: Duration::from_secs(120),
        ..SandboxConfig::default()
    })
    .await;
    let config = p.http.get(p.control("/config")).send().await.unwrap();
    assert_eq!(
        Paga::read(config).await.json,
        json!({ "code_ttl_secs": 60, "access_ttl_secs": 120 })
    );
    let (_, answer) = p.login("MERCHANT_PAYMENT", "").await;
    assert_eq!(answer["expires_in"], 120);
    let bad = p
        .control_post("/tokens/expire", json!({ "which": "both" }))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let log = p
        .http
        .get(format!("{}/_sandbox/requests", p.sandbox.base_url()))
        .send()
        .await
        .unwrap();
    let log = Paga::read(log).await.json;
    let paths: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["path"].as_str())
        .collect();
    assert!(paths.contains(&"/paga/paga-webservices/oauth2/authorization"));
    assert!(paths.contains(&"/paga/paga-webservices/oauth2/token"));
}
