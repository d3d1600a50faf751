//! The `pesakit-sandbox` binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

/// Kills the child when the test ends, even on failure.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary with `args` (plus `--port 0`) and reads its first line: the child
/// and the base URL it printed, `http://127.0.0.1:PORT`.
#[cfg(unix)]
async fn start(args: &[&str]) -> (Child, String) {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_pesakit-sandbox"))
            .args(["--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let port = line
        .trim_end()
        .strip_prefix("pesakit-sandbox listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let port: u16 = port.parse().expect("a port");
    assert_ne!(port, 0);
    (child, format!("http://127.0.0.1:{port}"))
}

#[cfg(unix)]
#[tokio::test]
async fn the_binary_prints_the_listening_line_first() {
    let (mut child, base) = start(&["--app", "my-id:my-secret", "--settle-after-ms", "0"]).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let health = http
        .get(format!("{base}/_sandbox/health"))
        .send()
        .await
        .unwrap();
    let health: Value = serde_json::from_slice(&health.bytes().await.unwrap()).unwrap();
    assert_eq!(health["ok"], true);

    let authorize = |id: &str, secret: &str| {
        http.post(format!("{base}/paypack/api/auth/agents/authorize"))
            .header("Content-Type", "application/json")
            .body(format!(
                r#"{{"client_id":"{id}","client_secret":"{secret}"}}"#
            ))
            .send()
    };
    assert_eq!(authorize("my-id", "my-secret").await.unwrap().status(), 200);
    assert_eq!(
        authorize("demo-client-id", "demo-client-secret")
            .await
            .unwrap()
            .status(),
        401,
        "--app replaces the default application"
    );
    let config: Value = serde_json::from_slice(
        &http
            .get(format!("{base}/_sandbox/paypack/config"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(config["settle_after_ms"], 0);
    assert_eq!(config["refresh_path"], true);

    // SIGTERM stops it cleanly.
    let pid = child.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the binary ignored SIGTERM"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn the_binary_rejects_a_malformed_app() {
    let output = Command::new(env!("CARGO_BIN_EXE_pesakit-sandbox"))
        .args(["--app", "no-secret"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
}

#[cfg(unix)]
#[tokio::test]
async fn the_binary_takes_the_checkout_flags() {
    let (_child, base) = start(&[
        "--checkout-token",
        "maker:payments.create,payments.get",
        "--checkout-token",
        "nobody:",
        "--checkout-callback-url",
        "http://127.0.0.1:9/hook",
        "--checkout-oauth-ttl-secs",
        "60",
        "--checkout-webhook-retry-delays-ms",
        "10,20",
    ])
    .await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();

    let config: Value = serde_json::from_slice(
        &http
            .get(format!("{base}/_sandbox/checkout/config"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        config,
        serde_json::json!({
            "webhook_retry_delays_ms": [10, 20],
            "oauth_ttl_secs": 60,
            "callback_url": "http://127.0.0.1:9/hook",
        })
    );

    let body = serde_json::json!({
        "amount": 100, "currencyCode": "USD", "reference": "r", "referenceLabel": "l",
        "clientId": pesakit_sandbox::DEFAULT_CHECKOUT_CLIENT_ID,
    });
    let create = |token: &str| {
        http.post(format!("{base}/checkout/api/payment/checkout"))
            .bearer_auth(token)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
    };
    assert_eq!(create("maker").await.unwrap().status(), 200);
    assert_eq!(create("nobody").await.unwrap().status(), 403);
    assert_eq!(
        create(pesakit_sandbox::DEFAULT_CHECKOUT_TOKEN)
            .await
            .unwrap()
            .status(),
        401,
        "--checkout-token replaces the default tokens"
    );
}

#[test]
fn the_binary_rejects_a_malformed_checkout_token() {
    for bad in [":payments.get", "no-scopes-separator"] {
        let output = Command::new(env!("CARGO_BIN_EXE_pesakit-sandbox"))
            .args(["--checkout-token", bad])
            .output()
            .unwrap();
        assert!(!output.status.success(), "{bad}");
        assert!(output.stdout.is_empty());
    }
}

/// `GET /_sandbox/usage` reads the emulator process's own CPU time.
#[cfg(unix)]
async fn usage(http: &reqwest::Client, base: &str) -> (u64, u64) {
    let answer = http
        .get(format!("{base}/_sandbox/usage"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let usage: Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
    let field = |name: &str| {
        usage[name]
            .as_u64()
            .unwrap_or_else(|| panic!("{name} in {usage}"))
    };
    (field("cpu_user_us"), field("cpu_system_us"))
}

#[cfg(unix)]
#[tokio::test]
async fn the_binary_reports_the_cpu_time_it_used() {
    let (_child, base) = start(&[]).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let (user_before, _) = usage(&http, &base).await;
    // Seeding 20,000 settled cash-ins (and their 40,000 events) is tens of milliseconds
    // of the emulator's own work: its user time must grow by at least one millisecond.
    let seeded = http
        .post(format!("{base}/_sandbox/paypack/seed"))
        .body(r#"{"count":20000}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(seeded.status(), 200);
    let (user_after, _) = usage(&http, &base).await;
    assert!(
        user_after >= user_before + 1_000,
        "user time {user_before} -> {user_after} us"
    );
}

#[cfg(unix)]
#[test]
fn process_cpu_time_grows_with_work_in_this_process() {
    let cpu = || {
        pesakit_sandbox::usage::process_cpu_time()
            .expect("getrusage works here")
            .total_us()
    };
    let before = cpu();
    // Work until this process's CPU time has grown by 2 ms; the deadline only stops a
    // clock that never moves.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut state = 1u64;
    while cpu() < before + 2_000 {
        for _ in 0..100_000 {
            state = std::hint::black_box(state.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        assert!(
            std::time::Instant::now() < deadline,
            "CPU time stayed at {before} us after 30 s of work"
        );
    }
}
