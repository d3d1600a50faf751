//! `loadgen`: per-call load against the emulator's Paypack API, through the floor (a
//! bare keep-alive `reqwest` client, the HTTP stack pesakit itself uses, with the same
//! settings and no SDK around it) or through `pesakit::paypack::Client`.
//!
//! Both share one client between all concurrent tasks on a multi-thread tokio runtime.
//! Writes one JSON line per run (the contract in `tests/bench/README.md`), and with
//! `--memory` one more with the process's resident memory before and under load.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{json, Value};

/// Per-call load generator for the floor and the Rust core.
#[derive(Debug, Parser)]
#[command(name = "loadgen")]
struct Args {
    /// Which client sends the requests.
    #[arg(long, value_enum)]
    client: ClientKind,
    /// The emulator's root URL, e.g. http://127.0.0.1:PORT.
    #[arg(long)]
    base_url: String,
    /// The operation measured.
    #[arg(long, value_enum)]
    op: Op,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Requests measured (in total, across all tasks).
    #[arg(long, default_value_t = 1000)]
    requests: usize,
    /// Requests sent first and not measured.
    #[arg(long, default_value_t = 100)]
    warmup: usize,
    /// File the JSON lines are appended to (stdout only when absent).
    #[arg(long)]
    out: Option<PathBuf>,
    /// A settled transaction for `find`; one is seeded through the control API when absent.
    #[arg(long)]
    reference: Option<String>,
    /// Also write a `memory` line: resident memory of the ready client, and its peak
    /// during the measured requests.
    #[arg(long)]
    memory: bool,
    /// Paypack client id (the emulator's default application).
    #[arg(long, default_value = "demo-client-id")]
    client_id: String,
    /// Paypack client secret.
    #[arg(long, default_value = "demo-client-secret")]
    client_secret: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ClientKind {
    /// A bare reqwest client: the same requests, no SDK.
    Floor,
    /// `pesakit::paypack::Client`.
    Rust,
}

impl ClientKind {
    fn name(self) -> &'static str {
        match self {
            ClientKind::Floor => "floor",
            ClientKind::Rust => "rust",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Op {
    /// `GET /transactions/find/{ref}`.
    Find,
    /// `POST /transactions/cashin`, amount 100, number 0788123456, a fresh key each call.
    Cashin,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Find => "find",
            Op::Cashin => "cashin",
        }
    }
}

/// The body pesakit sends for the cash-in measured here (keys in serde_json's order).
const CASHIN_BODY: &str = r#"{"amount":100,"number":"0788123456"}"#;
/// The number cashed in from.
const NUMBER: &str = "0788123456";

/// The floor: a reqwest client built like pesakit's transport, with the access token
/// obtained once.
struct Floor {
    http: reqwest::Client,
    authorization: HeaderValue,
    find_url: String,
    cashin_url: String,
}

impl Floor {
    async fn new(
        http: reqwest::Client,
        api: &str,
        args: &Args,
        reference: &str,
    ) -> Result<Self, String> {
        let answer: Value = http
            .post(format!("{api}/auth/agents/authorize"))
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .body(
                json!({"client_id": args.client_id, "client_secret": args.client_secret})
                    .to_string(),
            )
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("authorize: {e}"))?
            .bytes()
            .await
            .map_err(|e| format!("authorize: {e}"))
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| format!("authorize: {e}")))?;
        let token = answer["access"]
            .as_str()
            .ok_or("authorize: no access token")?;
        let authorization = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|e| format!("authorize: {e}"))?;
        Ok(Floor {
            http,
            authorization,
            find_url: format!("{api}/transactions/find/{reference}"),
            cashin_url: format!("{api}/transactions/cashin"),
        })
    }

    async fn call(&self, op: Op) -> Result<(), String> {
        let request = match op {
            Op::Find => self.http.get(&self.find_url),
            Op::Cashin => self
                .http
                .post(&self.cashin_url)
                .header("idempotency-key", uuid::Uuid::new_v4().simple().to_string())
                .header(CONTENT_TYPE, "application/json")
                .body(CASHIN_BODY),
        };
        let response = request
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, self.authorization.clone())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        if status.is_success() && !body.is_empty() {
            Ok(())
        } else {
            Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)))
        }
    }
}

/// What sends the requests.
enum Target {
    Floor(Floor),
    Rust {
        client: pesakit::paypack::Client,
        reference: String,
    },
}

impl Target {
    async fn call(&self, op: Op) -> Result<(), String> {
        match self {
            Target::Floor(floor) => floor.call(op).await,
            Target::Rust { client, reference } => match op {
                Op::Find => client.find(reference).await.map(drop),
                Op::Cashin => client
                    .cashin(pesakit::paypack::CashRequest::new(100, NUMBER))
                    .await
                    .map(drop),
            }
            .map_err(|e| e.to_string()),
        }
    }
}

/// Latencies (ns), errors, wall time and the first error's text of one phase.
struct Phase {
    latencies: Vec<u64>,
    errors: usize,
    elapsed: Duration,
    first_error: Option<String>,
}

/// Sends `total` requests from `concurrency` tasks that take the next request as soon
/// as their previous one is answered.
async fn run(target: &Arc<Target>, op: Op, concurrency: usize, total: usize) -> Phase {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let target = Arc::clone(target);
            let next = Arc::clone(&next);
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(total / concurrency.max(1) + 1);
                let mut errors = 0;
                let mut first_error = None;
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    let sent = Instant::now();
                    let outcome = target.call(op).await;
                    latencies.push(sent.elapsed().as_nanos() as u64);
                    if let Err(e) = outcome {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
                (latencies, errors, first_error)
            })
        })
        .collect();
    let mut phase = Phase {
        latencies: Vec::with_capacity(total),
        errors: 0,
        elapsed: Duration::ZERO,
        first_error: None,
    };
    for task in tasks {
        let (latencies, errors, first_error) = task.await.expect("a load task panicked");
        phase.latencies.extend(latencies);
        phase.errors += errors;
        if phase.first_error.is_none() {
            phase.first_error = first_error;
        }
    }
    phase.elapsed = started.elapsed();
    phase
}

/// The `q`-quantile (nearest rank) of sorted values, in microseconds.
fn quantile_us(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    (sorted[rank - 1] as f64 / 100.0).round() / 10.0
}

/// CPU time this process has used so far, user and system, in microseconds.
fn client_cpu_us() -> Option<u64> {
    pesakit_sandbox::usage::process_cpu_time().map(|t| t.total_us())
}

/// CPU time the emulator has used so far, user and system, in microseconds
/// (`GET /_sandbox/usage`); `None` when it cannot tell.
async fn emulator_cpu_us(http: &reqwest::Client, root: &str) -> Option<u64> {
    let answer = http
        .get(format!("{root}/_sandbox/usage"))
        .send()
        .await
        .ok()?
        .error_for_status()
        .ok()?
        .bytes()
        .await
        .ok()?;
    let usage: Value = serde_json::from_slice(&answer).ok()?;
    Some(usage["cpu_user_us"].as_u64()? + usage["cpu_system_us"].as_u64()?)
}

/// Microseconds per call, to a tenth; JSON `null` when unknown.
fn per_call(total_us: Option<u64>, calls: usize) -> Option<f64> {
    total_us.map(|us| (us as f64 / calls.max(1) as f64 * 10.0).round() / 10.0)
}

/// `VmRSS` and `VmHWM` (peak) of this process, in KiB.
fn memory_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the peak-RSS counter (Linux ≥ 4.0), so `VmHWM` covers what follows.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn emit(out: Option<&PathBuf>, line: &Value) -> std::io::Result<()> {
    let text = line.to_string();
    println!("{text}");
    if let Some(path) = out {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        writeln!(file, "{text}")?;
    }
    Ok(())
}

/// The HTTP client both the floor and the seeding use: built as pesakit's transport
/// builds its own (`core/src/http.rs`).
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(pesakit::USER_AGENT)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .expect("the HTTP client builds")
}

/// A settled transaction to find, seeded through the emulator's control API.
async fn seed_reference(http: &reqwest::Client, root: &str) -> Result<String, String> {
    let answer: Value = http
        .post(format!("{root}/_sandbox/paypack/seed"))
        .body(r#"{"count":1}"#)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("seed: {e}"))?
        .bytes()
        .await
        .map_err(|e| format!("seed: {e}"))
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| format!("seed: {e}")))?;
    answer["first_ref"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "seed: no first_ref".to_owned())
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let root = args.base_url.trim_end_matches('/').to_owned();
    let api = format!("{root}/paypack/api");
    let http = http_client();
    // Reads the emulator's CPU time around the measured calls; it shares the seeding
    // client's pool, which therefore stays open for both clients alike.
    let control = http.clone();
    let reference = match &args.reference {
        Some(r) => r.clone(),
        None if args.op == Op::Find => seed_reference(&http, &root).await?,
        None => String::new(),
    };
    let target = Arc::new(match args.client {
        ClientKind::Floor => Target::Floor(Floor::new(http, &api, &args, &reference).await?),
        ClientKind::Rust => {
            let client = pesakit::paypack::Client::builder()
                .client_id(&args.client_id)
                .client_secret(args.client_secret.as_str())
                .base_url(&api)
                .allow_insecure_loopback(true)
                .build()
                .map_err(|e| e.to_string())?;
            client.authorize().await.map_err(|e| e.to_string())?;
            Target::Rust { client, reference }
        }
    });

    // Ready: authorized, one connection open.
    target.call(args.op).await?;
    let (idle_rss_kb, _) = memory_kb();

    if args.warmup > 0 {
        run(&target, args.op, args.concurrency, args.warmup).await;
    }
    reset_peak_rss();
    let emulator_before = emulator_cpu_us(&control, &root).await;
    let client_before = client_cpu_us();
    let phase = run(&target, args.op, args.concurrency, args.requests).await;
    let client_cpu = client_cpu_us().zip(client_before).map(|(a, b)| a - b);
    let emulator_cpu = emulator_cpu_us(&control, &root)
        .await
        .zip(emulator_before)
        .map(|(a, b)| a - b);
    let (_, load_rss_kb) = memory_kb();

    let mut latencies = phase.latencies;
    latencies.sort_unstable();
    let seconds = phase.elapsed.as_secs_f64();
    if let Some(e) = &phase.first_error {
        eprintln!("loadgen: {} errors; first: {e}", phase.errors);
    }
    let out = args.out.as_ref();
    emit(
        out,
        &json!({
            "group": "per_call",
            "client": args.client.name(),
            "op": args.op.name(),
            "concurrency": args.concurrency,
            "requests": args.requests,
            "seconds": (seconds * 1e6).round() / 1e6,
            "rps": (args.requests as f64 / seconds * 10.0).round() / 10.0,
            "p50_us": quantile_us(&latencies, 0.50),
            "p99_us": quantile_us(&latencies, 0.99),
            "errors": phase.errors,
            "client_cpu_us": per_call(client_cpu, args.requests),
            "emulator_cpu_us": per_call(emulator_cpu, args.requests),
        }),
    )
    .map_err(|e| e.to_string())?;
    if args.memory {
        emit(
            out,
            &json!({
                "group": "memory",
                "client": args.client.name(),
                "op": args.op.name(),
                "concurrency": args.concurrency,
                "idle_rss_kb": idle_rss_kb,
                "load_rss_kb": load_rss_kb.max(idle_rss_kb),
            }),
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}
