//! Decoding a 10,000-event Paypack page into typed [`pesakit::paypack::Event`]s, through
//! the same path `Client::list_events` uses. The page is the emulator's own answer: an
//! in-process `pesakit-sandbox` is seeded with 5,000 settled cash-ins (two events each)
//! and asked for `GET /events/transactions?limit=10000`. `serde_json::Value` decoding
//! of the same bytes is measured beside it as the untyped reference.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pesakit::paypack::EventPage;
use pesakit_sandbox::{Sandbox, SandboxConfig, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};

/// Events on the page.
const EVENTS: usize = 10_000;

/// The page's bytes, as the emulator serves them.
fn page_bytes() -> Vec<u8> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let config = SandboxConfig {
            settle_after: None,
            ..SandboxConfig::default()
        };
        let sandbox = Sandbox::start(config).await.unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let seeded = http
            .post(format!("{}/_sandbox/paypack/seed", sandbox.base_url()))
            .body(format!(r#"{{"count":{}}}"#, EVENTS / 2))
            .send()
            .await
            .unwrap();
        assert!(seeded.status().is_success());
        let api = sandbox.paypack_base_url();
        let tokens: serde_json::Value = http
            .post(format!("{api}/auth/agents/authorize"))
            .json(&serde_json::json!({
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let page = http
            .get(format!("{api}/events/transactions?limit={EVENTS}"))
            .bearer_auth(tokens["access"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert!(page.status().is_success());
        let bytes = page.bytes().await.unwrap().to_vec();
        sandbox.shutdown().await;
        bytes
    })
}

fn decode(c: &mut Criterion) {
    let bytes = page_bytes();
    assert_eq!(EventPage::from_json(&bytes).unwrap().events.len(), EVENTS);
    let mut group = c.benchmark_group("decode_events");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("typed", |b| {
        b.iter(|| EventPage::from_json(black_box(&bytes)).unwrap())
    });
    group.bench_function("serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&bytes)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
