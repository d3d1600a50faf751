//! The fault matrix: every operation of every gateway against every fault the emulator
//! can inject, each case on a fresh emulator over real HTTP. The expected outcome of each
//! case (retried or not, which error kind, what the gateway recorded) comes from
//! `tests/faults/matrix.json`, which the Python suite runs too.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::{quick_retries, start, Env};
use pesakit::paga::{MerchantPaymentRequest, MoneyTransferRequest, Scope};
use pesakit::{checkout, paga, paypack, Amount, Error, Secret};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

const MATRIX: &str = include_str!("../../tests/faults/matrix.json");
const PAGA_REDIRECT: &str = "https://shop.example/paga/callback";
const PAGA_USER: &str = "matrix-user";

#[derive(Deserialize)]
struct Matrix {
    request_timeout_ms: u64,
    faults: BTreeMap<String, FaultRow>,
    operations: Vec<Operation>,
}

#[derive(Deserialize)]
struct FaultRow {
    fault: Option<Value>,
    safe: Expect,
    once: Expect,
}

#[derive(Deserialize, Clone, Debug)]
struct Expect {
    outcome: String,
    attempts: usize,
    effects: usize,
}

#[derive(Deserialize, Clone)]
struct Operation {
    gateway: String,
    name: String,
    method: String,
    path: String,
    class: String,
    creates: bool,
    #[serde(default = "yes")]
    token_revoked: bool,
}

fn yes() -> bool {
    true
}

/// A client of one gateway, ready to run one operation.
enum Ready {
    Paypack(paypack::Client, String),
    Checkout(checkout::Client, String),
    Paga(paga::Client, Option<(paga::AuthorizationRequest, String)>),
}

async fn paga_approve(request: &paga::AuthorizationRequest) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http.get(&request.url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 302);
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// Builds the client for `op` and does what must happen before the fault (sign-in,
/// creating what a read looks up), so that the request log then shows only the call
/// under test.
async fn prepare(env: &Env, op: &Operation, timeout: Duration) -> Ready {
    match op.gateway.as_str() {
        "paypack" => {
            let client = env.builder().request_timeout(timeout).build().unwrap();
            let mut reference = String::new();
            if op.name != "authorize" {
                client.profile().await.unwrap();
            }
            if op.name == "find" {
                reference = client
                    .cashin(paypack::CashRequest::new(100, "0788123456"))
                    .await
                    .unwrap()
                    .reference;
                env.settle(&reference, "successful").await;
            }
            Ready::Paypack(client, reference)
        }
        "checkout" => {
            let builder = checkout::Client::builder()
                .base_url(env.sandbox.checkout_base_url())
                .allow_insecure_loopback(true)
                .retry_policy(quick_retries())
                .request_timeout(timeout);
            let client = if op.name.contains("application") {
                let (access, refresh) = env.checkout_sign_in().await;
                builder
                    .oauth(checkout::OAuthTokens {
                        access_token: Secret::new(access),
                        refresh_token: Some(Secret::new(refresh)),
                        expires_at: None,
                        client_id: pesakit_sandbox::DEFAULT_OAUTH_CLIENT_ID.to_owned(),
                        client_secret: Some(Secret::new(
                            pesakit_sandbox::DEFAULT_OAUTH_CLIENT_SECRET,
                        )),
                        token_path: None,
                    })
                    .build()
                    .unwrap()
            } else {
                builder
                    .client_id(pesakit_sandbox::DEFAULT_CHECKOUT_CLIENT_ID)
                    .client_token(pesakit_sandbox::DEFAULT_CHECKOUT_TOKEN)
                    .build()
                    .unwrap()
            };
            let mut id = String::new();
            if op.name == "get_payment" || op.name == "payer_instructions" {
                id = client
                    .create_checkout(&checkout::CheckoutRequest::new(
                        Amount::from(25),
                        "USD",
                        "order-0",
                    ))
                    .await
                    .unwrap()
                    .payment_id;
            }
            Ready::Checkout(client, id)
        }
        "paga" => {
            let client = paga::Client::builder()
                .environment(paga::Environment::Custom(env.sandbox.paga_base_url()))
                .client_id(pesakit_sandbox::DEFAULT_PAGA_CLIENT_ID)
                .client_secret(pesakit_sandbox::DEFAULT_PAGA_CLIENT_SECRET)
                .redirect_uri(PAGA_REDIRECT)
                .allow_insecure_loopback(true)
                .retry_policy(quick_retries())
                .request_timeout(timeout)
                .build()
                .unwrap();
            let scopes = [
                Scope::MerchantPayment,
                Scope::MoneyTransfer,
                Scope::UserDetailsRequest,
            ];
            let request = client.authorization_url(&scopes, &[]);
            let callback = paga_approve(&request).await;
            if op.name == "exchange_code" {
                Ready::Paga(client, Some((request, callback)))
            } else {
                client
                    .handle_callback(&callback, &request, PAGA_USER)
                    .await
                    .unwrap();
                Ready::Paga(client, None)
            }
        }
        other => panic!("unknown gateway {other}"),
    }
}

/// Runs the operation once, as a user would.
async fn run(ready: &Ready, op: &str) -> Result<(), Error> {
    match ready {
        Ready::Paypack(c, reference) => match op {
            "authorize" => c.authorize().await.map(drop),
            "cashin" => c
                .cashin(paypack::CashRequest::new(100, "0788123456"))
                .await
                .map(drop),
            "cashout" => c
                .cashout(paypack::CashRequest::new(100, "0788123456"))
                .await
                .map(drop),
            "find" => c.find(reference).await.map(drop),
            "list_transactions" => c.list_transactions(&Default::default()).await.map(drop),
            "list_events" => c.list_events(&Default::default()).await.map(drop),
            "profile" => c.profile().await.map(drop),
            other => panic!("unknown Paypack operation {other}"),
        },
        Ready::Checkout(c, id) => match op {
            "create_checkout" => c
                .create_checkout(&checkout::CheckoutRequest::new(
                    Amount::from(25),
                    "USD",
                    "order-1",
                ))
                .await
                .map(drop),
            "get_payment" => c.get_payment(id).await.map(drop),
            "payer_instructions" => c
                .payer_instructions(id, "bitcoin", "onchain")
                .await
                .map(drop),
            "payment_applications" => c.payment_applications().await.map(drop),
            "payment_application" => c
                .payment_application(&pesakit_sandbox::DEFAULT_CHECKOUT_APPLICATION_ID.to_string())
                .await
                .map(drop),
            "create_payment_application" => c
                .create_payment_application(&checkout::NewPaymentApplication {
                    name: "Matrix shop".into(),
                    secret: Secret::new("matrix-shop-secret"),
                    currency_whitelist: vec!["USD".into()],
                    ..Default::default()
                })
                .await
                .map(drop),
            other => panic!("unknown checkout operation {other}"),
        },
        Ready::Paga(c, pending) => match op {
            "exchange_code" => {
                let (request, callback) = pending.as_ref().unwrap();
                c.handle_callback(callback, request, PAGA_USER)
                    .await
                    .map(drop)
            }
            "merchant_payment" => c
                .merchant_payment(
                    PAGA_USER,
                    &MerchantPaymentRequest {
                        reference_number: "matrix-payment-1".into(),
                        amount: Amount::from(1000),
                        customer_reference: "customer-1".into(),
                        product_code: None,
                        currency: None,
                    },
                )
                .await
                .map(drop),
            "money_transfer" => c
                .money_transfer(
                    PAGA_USER,
                    &MoneyTransferRequest {
                        reference_number: "matrix-transfer-1".into(),
                        amount: Amount::from(250),
                        recipient: pesakit_sandbox::DEFAULT_PAGA_RECIPIENT_PHONE.into(),
                        skip_messaging: true,
                    },
                )
                .await
                .map(drop),
            "user_details" => c.user_details(PAGA_USER).await.map(drop),
            "one_time_token" => c.one_time_token(PAGA_USER, "matrix-otp-1").await.map(drop),
            other => panic!("unknown Paga operation {other}"),
        },
    }
}

/// What the gateway has recorded that `op` creates.
async fn effects(env: &Env, op: &Operation) -> usize {
    let count = |v: &Value, key: &str| v[key].as_array().map_or(0, Vec::len);
    match op.name.as_str() {
        "cashin" | "cashout" => env.ledger_transactions().await.len(),
        "create_checkout" => count(&env.get("/_sandbox/checkout/ledger").await, "payments"),
        "create_payment_application" => {
            count(&env.get("/_sandbox/checkout/ledger").await, "applications")
        }
        "merchant_payment" => count(&env.get("/_sandbox/paga/ledger").await, "payments"),
        "money_transfer" => count(&env.get("/_sandbox/paga/ledger").await, "transfers"),
        _ => 0,
    }
}

async fn revoke_tokens(env: &Env, gateway: &str) {
    let path = match gateway {
        "paypack" => "/_sandbox/paypack/tokens/revoke",
        "checkout" => "/_sandbox/checkout/oauth/expire",
        "paga" => "/_sandbox/paga/tokens/expire",
        other => panic!("unknown gateway {other}"),
    };
    env.post(path, json!({"which": "access"})).await;
}

/// One case; `Err` describes how the outcome differed from the expectation.
async fn case(
    op: Operation,
    fault_name: String,
    fault: Option<Value>,
    expect: Expect,
    timeout: Duration,
) -> Result<(), String> {
    let env = start().await;
    let ready = prepare(&env, &op, timeout).await;
    let before = effects(&env, &op).await;
    env.clear_requests().await;
    match &fault {
        Some(spec) => {
            let mut spec = spec.clone();
            spec["path"] = json!(op.path);
            spec["method"] = json!(op.method);
            env.fault(spec).await;
        }
        None => revoke_tokens(&env, &op.gateway).await,
    }
    let outcome = run(&ready, &op.name).await;
    let label = format!("{} {} × {fault_name}", op.gateway, op.name);
    let attempts = env.count_under(&op.method, &op.path).await;
    let created = effects(&env, &op).await - before;
    let mut problems = Vec::new();
    let got = match &outcome {
        Ok(()) => "ok".to_owned(),
        Err(e) => e.kind().as_str().to_owned(),
    };
    if got != expect.outcome {
        problems.push(format!("outcome {got} (expected {})", expect.outcome));
    }
    if attempts != expect.attempts {
        problems.push(format!(
            "{attempts} attempts (expected {})",
            expect.attempts
        ));
    }
    if op.creates && created != expect.effects {
        problems.push(format!("{created} created (expected {})", expect.effects));
    }
    if let Err(e) = &outcome {
        let text = e.to_string();
        // An error after which the gateway may have acted tells the caller what to do.
        if op.creates && expect.effects == 1 && !(e.outcome_unknown() && text.contains("look")) {
            problems.push(format!("the error does not say how to find out: {text}"));
        }
        if !text.contains(&format!("HTTP {}", e.status().unwrap_or_default()))
            && e.status().is_some()
        {
            problems.push(format!("the error text omits its status: {text}"));
        }
    }
    env.sandbox.shutdown().await;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{label}: {}; error: {:?}",
            problems.join(", "),
            outcome.err().map(|e| e.to_string())
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_operation_under_every_fault() {
    let matrix: Matrix = serde_json::from_str(MATRIX).expect("tests/faults/matrix.json parses");
    let timeout = Duration::from_millis(matrix.request_timeout_ms);
    let gate = Arc::new(Semaphore::new(8));
    let mut tasks = tokio::task::JoinSet::new();
    let mut cases = 0;
    for op in &matrix.operations {
        for (name, row) in &matrix.faults {
            if row.fault.is_none() && !op.token_revoked {
                continue;
            }
            let expect = match op.class.as_str() {
                "safe" => row.safe.clone(),
                "once" => row.once.clone(),
                other => panic!("unknown class {other}"),
            };
            cases += 1;
            let gate = gate.clone();
            let (op, name, fault) = (op.clone(), name.clone(), row.fault.clone());
            tasks.spawn(async move {
                let _permit = gate.acquire_owned().await.unwrap();
                case(op, name, fault, expect, timeout).await
            });
        }
    }
    let mut failures = Vec::new();
    while let Some(result) = tasks.join_next().await {
        if let Err(problem) = result.expect("a case panicked") {
            failures.push(problem);
        }
    }
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {cases} cases differ from tests/faults/matrix.json:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // 18 operations × 12 faults + 13 that hold a revocable token.
    assert_eq!(cases, 18 * 12 + 13);
}
