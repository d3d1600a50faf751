//! Webhook verification throughput: Paypack (HMAC-SHA256, base64 header) and hosted
//! checkout (HMAC-SHA256 over `timestamp.body`, hex header), over bodies of 1 KiB,
//! 64 KiB and 1 MiB. `scripts/bench` turns the results into `webhook` lines.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pesakit::{checkout, paypack, Timestamp};

const SIZES: [usize; 3] = [1024, 64 * 1024, 1024 * 1024];

/// A JSON-looking body of exactly `size` bytes.
fn body(size: usize) -> Vec<u8> {
    let mut body =
        br#"{"event_id":"e1","event_kind":"transaction:processed","data":{"pad":""#.to_vec();
    let tail = br#""}}"#;
    let pad = size.saturating_sub(body.len() + tail.len());
    body.extend((0..pad).map(|i| b'a' + (i % 26) as u8));
    body.extend_from_slice(tail);
    body
}

fn paypack_verify(c: &mut Criterion) {
    let verifier = paypack::WebhookVerifier::new("demo-webhook-secret").unwrap();
    let mut group = c.benchmark_group("webhook_paypack");
    for size in SIZES {
        let body = body(size);
        let signature = verifier.sign(&body);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("verify", size), &body, |b, body| {
            b.iter(|| {
                verifier
                    .verify(black_box(body), Some(black_box(&signature)))
                    .unwrap()
            })
        });
    }
    group.finish();
}

fn checkout_verify(c: &mut Criterion) {
    let verifier = checkout::WebhookVerifier::new("demo-checkout-webhook-secret").unwrap();
    let now = Timestamp::now();
    let timestamp = now.as_second().to_string();
    let mut group = c.benchmark_group("webhook_checkout");
    for size in SIZES {
        let body = body(size);
        let signature = verifier.sign(now.as_second(), &body);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("verify", size), &body, |b, body| {
            b.iter(|| {
                verifier
                    .verify_at(
                        black_box(body),
                        Some(black_box(&signature)),
                        Some(&timestamp),
                        now,
                    )
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, paypack_verify, checkout_verify);
criterion_main!(benches);
