//! Many operations in flight on one client while its tokens keep expiring: none may fail,
//! each token is renewed exactly once, and every cash-in lands exactly once.
//!
//! The suite runs a short version (300 operations in flight for 8 s, tokens living 4 s). `scripts/soak` runs
//! the long one with `PESAKIT_CONCURRENCY=10000` against an emulator in its own process
//! (`PESAKIT_SANDBOX_URL`), as 10,000 connections on each side do not fit one process's
//! file descriptors.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pesakit::paypack::{CashRequest, Client};
use pesakit::{MemoryTokenStore, Result, TokenSet, TokenStore};
use pesakit_sandbox::{Sandbox, SandboxConfig};
use serde_json::{json, Value};

/// A token store that counts what it saves: one save per token issued.
#[derive(Debug, Default)]
struct CountingStore {
    inner: MemoryTokenStore,
    saves: AtomicUsize,
}

impl TokenStore for CountingStore {
    fn load(&self, key: &str) -> Result<Option<TokenSet>> {
        self.inner.load(key)
    }
    fn save(&self, key: &str, tokens: &TokenSet) -> Result<()> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.inner.save(key, tokens)
    }
    fn clear(&self, key: &str) -> Result<()> {
        self.inner.clear(key)
    }
}

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        })
        .unwrap_or(default)
}

async fn control(
    http: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
    body: Value,
) -> Value {
    let url = format!("{base}{path}");
    let request = match method {
        "GET" => http.get(url),
        _ => http.post(url).json(&body),
    };
    let answer = request.send().await.expect("the control API answers");
    assert!(
        answer.status().is_success(),
        "{method} {path}: {}",
        answer.status()
    );
    answer.json().await.expect("the control API answers JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn operations_in_flight_while_tokens_expire() {
    let in_flight = knob("PESAKIT_CONCURRENCY", 300) as usize;
    let run_for = Duration::from_secs(knob("PESAKIT_CONCURRENCY_SECS", 8));
    let ttl = knob("PESAKIT_CONCURRENCY_TTL_SECS", 4);
    let skew = Duration::from_secs(1);

    let (base, local) = match std::env::var("PESAKIT_SANDBOX_URL") {
        Ok(url) => (url.trim_end_matches('/').to_owned(), None),
        Err(_) => {
            let sandbox = Sandbox::start(SandboxConfig {
                settle_after: None,
                ..SandboxConfig::default()
            })
            .await
            .expect("the emulator starts");
            (sandbox.base_url().to_owned(), Some(sandbox))
        }
    };
    let http = reqwest::Client::new();
    control(
        &http,
        &base,
        "POST",
        "/_sandbox/paypack/config",
        json!({"access_ttl_secs": ttl, "settle_after_ms": 0}),
    )
    .await;
    let before: usize = control(&http, &base, "GET", "/_sandbox/paypack/ledger", json!(null)).await
        ["transactions"]
        .as_array()
        .unwrap()
        .len();

    let store = Arc::new(CountingStore::default());
    let client = Client::builder()
        .client_id(pesakit_sandbox::DEFAULT_CLIENT_ID)
        .client_secret(pesakit_sandbox::DEFAULT_CLIENT_SECRET)
        .base_url(format!("{base}/paypack/api"))
        .allow_insecure_loopback(true)
        .refresh_skew(skew)
        .request_timeout(Duration::from_secs(60))
        .token_store(store.clone())
        .build()
        .unwrap();
    let settled = client
        .cashin(CashRequest::new(100, "0788123456"))
        .await
        .unwrap()
        .reference;
    control(
        &http,
        &base,
        "POST",
        &format!("/_sandbox/paypack/transactions/{settled}/settle"),
        json!({"status": "successful"}),
    )
    .await;

    let started = Instant::now();
    let deadline = started + run_for;
    let cashins = Arc::new(AtomicUsize::new(1));
    let done = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(std::sync::Mutex::new(Vec::<u32>::new()));
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..in_flight {
        let (client, settled) = (client.clone(), settled.clone());
        let (cashins, done, latencies) = (cashins.clone(), done.clone(), latencies.clone());
        tasks.spawn(async move {
            let mut round = 0usize;
            let mut mine = Vec::new();
            loop {
                let sent = Instant::now();
                let outcome = match (worker + round) % 4 {
                    0 => client
                        .cashin(CashRequest::new(100, "0788123456"))
                        .await
                        .map(|_| {
                            cashins.fetch_add(1, Ordering::Relaxed);
                        }),
                    1 => client.profile().await.map(drop),
                    _ => client.find(&settled).await.map(drop),
                };
                mine.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                if let Err(e) = outcome {
                    return Err(format!("worker {worker}, round {round}: {e}"));
                }
                done.fetch_add(1, Ordering::Relaxed);
                round += 1;
                if Instant::now() >= deadline {
                    latencies.lock().unwrap().extend(mine);
                    return Ok(());
                }
            }
        });
    }
    let mut failures = Vec::new();
    while let Some(result) = tasks.join_next().await {
        if let Err(failure) = result.expect("no worker panics") {
            failures.push(failure);
        }
    }
    let elapsed = started.elapsed();
    let ops = done.load(Ordering::Relaxed);
    let issued = store.saves.load(Ordering::SeqCst);
    let ledger = control(&http, &base, "GET", "/_sandbox/paypack/ledger", json!(null)).await;
    let created = ledger["transactions"].as_array().unwrap().len() - before;
    let mut latencies = std::mem::take(&mut *latencies.lock().unwrap());
    latencies.sort_unstable();
    let quantile = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q) as usize)
            .map_or(0.0, |us| f64::from(*us) / 1000.0)
    };
    println!(
        "{in_flight} in flight for {:.1} s: {ops} operations ({:.0}/s, p50 {:.1} ms, p99 {:.1} ms), {} failures, {issued} tokens issued (access TTL {ttl} s, renewed {} s early), {created} cash-ins recorded",
        elapsed.as_secs_f64(),
        ops as f64 / elapsed.as_secs_f64(),
        quantile(0.5),
        quantile(0.99),
        failures.len(),
        skew.as_secs(),
    );
    for failure in failures.iter().take(3) {
        println!("failed: {failure}");
    }
    assert!(
        failures.is_empty(),
        "{} failures, first: {}",
        failures.len(),
        failures[0]
    );
    assert!(
        ops >= in_flight,
        "every worker finished at least one operation"
    );
    // A token is renewed once it is within `skew` of expiry, so a new one is due every
    // ttl - skew seconds; one renewal per period (plus the first sign-in) and no more.
    let periods = elapsed.as_secs_f64() / (ttl as f64 - skew.as_secs_f64());
    assert!(
        issued as f64 <= periods.ceil() + 1.0,
        "{issued} tokens issued in {:.1} s: more than one per expiry ({periods:.1} periods)",
        elapsed.as_secs_f64()
    );
    assert!(
        issued >= 3,
        "the run spans several expiries ({issued} tokens issued)"
    );
    assert_eq!(
        created,
        cashins.load(Ordering::Relaxed),
        "each cash-in recorded exactly once"
    );
    if let Some(sandbox) = local {
        sandbox.shutdown().await;
    }
}
