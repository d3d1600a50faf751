//! The pesakit demo: no credentials, no network. It starts the gateway emulator on a
//! free local port, then walks a Paypack payment end to end, printing each step:
//! authorize → cash-in → wait for the processed transaction → receive the webhook and
//! verify its signature.
//!
//! Run it with `scripts/demo` (or `cargo run -p pesakit --example demo`).

use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method};
use axum::routing::any;
use axum::Router;
use pesakit::paypack::{CashRequest, Client, EventKind, WebhookVerifier, SIGNATURE_HEADER};
use pesakit::Amount;
use pesakit_sandbox::{Sandbox, SandboxConfig};
use tokio::sync::mpsc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. A webhook receiver, as a merchant's server would run one.
    let (tx, mut webhooks) = mpsc::unbounded_channel::<(Option<String>, Bytes)>();
    let app = Router::new().route(
        "/webhooks/paypack",
        any(move |method: Method, headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                // Paypack probes with an unsigned HEAD first: answer 200, verify nothing.
                if method == Method::POST {
                    let signature = headers
                        .get(SIGNATURE_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let _ = tx.send((signature, body));
                }
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook_url = format!("http://{}/webhooks/paypack", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    // 2. The emulator, delivering webhooks to that receiver and settling payments
    //    by itself after 1.5 s, as a customer confirming on their phone would.
    let sandbox = Sandbox::start(SandboxConfig {
        webhook_urls: vec![hook_url.clone()],
        settle_after: Some(Duration::from_millis(1500)),
        ..SandboxConfig::default()
    })
    .await?;
    println!("emulator      {}", sandbox.paypack_base_url());
    println!("webhooks to   {hook_url}");

    // 3. The client, exactly as against the real gateway, but for the base URL.
    let client = Client::builder()
        .client_id(pesakit_sandbox::DEFAULT_CLIENT_ID)
        .client_secret(pesakit_sandbox::DEFAULT_CLIENT_SECRET)
        .base_url(sandbox.paypack_base_url())
        .allow_insecure_loopback(true)
        .poll_interval(Duration::from_millis(250))
        .build()?;

    let expires = client.authorize().await?;
    println!("authorize     ok, access token valid until {expires}");

    let amount: Amount = "1500".parse()?;
    let phone = "+250 788 123 456";
    let pending = client.cashin(CashRequest::new(amount, phone)).await?;
    println!(
        "cash-in       {} RWF from {} -> ref {} ({})",
        pending.amount,
        pesakit::paypack::normalize_phone(phone)?,
        pending.reference,
        pending.status
    );

    println!("waiting       for the customer to confirm on their phone…");
    let done = client
        .wait_for_completion(&pending.reference, Duration::from_secs(30))
        .await?;
    println!(
        "processed     ref {} is {}, fee {} RWF",
        done.reference,
        done.status,
        done.fee
            .map(|f| f.to_string())
            .unwrap_or_else(|| "?".into())
    );

    let verifier = WebhookVerifier::new(pesakit_sandbox::DEFAULT_WEBHOOK_SECRET)?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (signature, body) = tokio::time::timeout_at(deadline, webhooks.recv())
            .await
            .map_err(|_| "no processed webhook arrived within 10 s")?
            .ok_or("the webhook receiver stopped")?;
        let event = verifier.verify_and_parse(&body, signature.as_deref())?;
        println!(
            "webhook       {} for ref {} ({}), signature verified",
            event.kind, event.transaction.reference, event.transaction.status
        );
        if event.kind == EventKind::TransactionProcessed
            && event.transaction.reference == done.reference
        {
            break;
        }
    }

    let forged = body_with_changed_amount(&done.reference);
    let refused = verifier.verify_and_parse(&forged, Some("bm90IGEgc2lnbmF0dXJl"));
    println!(
        "forged        webhook refused: {}",
        refused
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| "NOT REFUSED".into())
    );

    sandbox.shutdown().await;
    println!("done");
    Ok(())
}

fn body_with_changed_amount(reference: &str) -> Vec<u8> {
    format!(
        r#"{{"event_id":"forged","event_kind":"transaction:processed","data":{{"ref":"{reference}","status":"successful","amount":999999,"kind":"CASHIN"}}}}"#
    )
    .into_bytes()
}
