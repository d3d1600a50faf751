//! Every Paypack operation against the emulator over real HTTP.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{start, Env};
use futures_util::StreamExt;
use pesakit::paypack::{
    CashRequest, EventFilter, EventKind, TransactionFilter, TransactionKind, TransactionStatus,
    WebhookMode,
};
use pesakit::{Amount, ErrorKind};
use serde_json::Value;

async fn request_headers(env: &Env, path: &str) -> Vec<Value> {
    env.requests()
        .await
        .into_iter()
        .filter(|r| r["path"] == format!("/paypack/api{path}"))
        .map(|r| r["headers"].clone())
        .collect()
}

#[tokio::test]
async fn cashin_then_processed() {
    let env = start().await;
    let client = env.client();
    let tx = client
        .cashin(CashRequest::new(Amount::from(1000), "+250 788 123 456"))
        .await
        .unwrap();
    assert_eq!(tx.status, TransactionStatus::Pending);
    assert_eq!(tx.kind, TransactionKind::CashIn);
    assert_eq!(tx.amount, Amount::from(1000));
    assert_eq!(tx.provider.as_deref(), Some("mtn"));
    assert_eq!(tx.client.as_deref(), Some("0788123456"));
    assert!(tx.created_at.is_some());

    // The number went out normalised, the amount as a JSON number.
    let log = env.requests().await;
    let sent = log
        .iter()
        .find(|r| r["path"] == "/paypack/api/transactions/cashin")
        .unwrap();
    let body: Value = serde_json::from_str(sent["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"amount": 1000, "number": "0788123456"})
    );
    let key = sent["headers"]["idempotency-key"].as_str().unwrap();
    assert_eq!(key.len(), 32);
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));

    // Paypack answers 404 while the transaction is pending.
    let err = client.find(&tx.reference).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.status(), Some(404));

    env.settle(&tx.reference, "successful").await;
    let found = client.find(&tx.reference).await.unwrap();
    assert_eq!(found.status, TransactionStatus::Successful);
    assert_eq!(found.reference, tx.reference);
    assert!(found.fee.unwrap().is_positive());
    assert_eq!(found.client.as_deref(), Some("0788123456"));
    assert!(found.created_at.is_some(), "read from `timestamp`");
}

#[tokio::test]
async fn wait_for_completion_sees_success_failure_and_timeout() {
    let env = start().await;
    let client = env.client();
    let ok = client
        .cashin(CashRequest::new(500, "0788123456"))
        .await
        .unwrap();
    let waiter = {
        let c = client.clone();
        let r = ok.reference.clone();
        tokio::spawn(async move { c.wait_for_completion(&r, Duration::from_secs(20)).await })
    };
    // Settle once the waiter has asked at least once (it sees 404 = pending).
    while env.count("GET", "/transactions/find/").await == 0 {
        tokio::task::yield_now().await;
    }
    env.settle(&ok.reference, "successful").await;
    let done = waiter.await.unwrap().unwrap();
    assert_eq!(done.status, TransactionStatus::Successful);

    let bad = client
        .cashin(CashRequest::new(500, "0780000000"))
        .await
        .unwrap();
    env.settle(&bad.reference, "failed").await;
    let done = client
        .wait_for_completion(&bad.reference, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(done.status, TransactionStatus::Failed);

    let stuck = client
        .cashin(CashRequest::new(500, "0788123456"))
        .await
        .unwrap();
    let err = client
        .wait_for_completion(&stuck.reference, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.to_string().contains(&stuck.reference));
}

#[tokio::test]
async fn auto_settle_follows_the_documented_failing_numbers() {
    let env = common::start_with(|c| c.settle_after = Some(Duration::from_millis(50))).await;
    let client = env.client();
    let good = client
        .cashin(CashRequest::new(100, "0721234567"))
        .await
        .unwrap();
    let bad = client
        .cashin(CashRequest::new(100, "0730000000"))
        .await
        .unwrap();
    let good = client
        .wait_for_completion(&good.reference, Duration::from_secs(20))
        .await
        .unwrap();
    let bad = client
        .wait_for_completion(&bad.reference, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(good.status, TransactionStatus::Successful);
    assert_eq!(good.provider.as_deref(), Some("airtel"));
    assert_eq!(bad.status, TransactionStatus::Failed);
}

#[tokio::test]
async fn cashout_moves_the_balance() {
    let env = start().await;
    let client = env.client();
    let before = client.profile().await.unwrap();
    let tx = client
        .cashout(CashRequest::new(2000, "0788123456").with_webhook_mode(WebhookMode::Development))
        .await
        .unwrap();
    assert_eq!(tx.kind, TransactionKind::CashOut);
    let headers = request_headers(&env, "/transactions/cashout").await;
    assert_eq!(headers[0]["x-webhook-mode"], "development");
    env.settle(&tx.reference, "successful").await;
    let done = client.find(&tx.reference).await.unwrap();
    let after = client.profile().await.unwrap();
    let fee = done.fee.unwrap();
    assert_eq!(
        after.balance.as_decimal(),
        before.balance.as_decimal() - Amount::from(2000).as_decimal() - fee.as_decimal()
    );
    assert!(after.in_rate.is_some() && after.airtel_out_rate.is_some());
    assert!(!after.id.is_empty());
}

#[tokio::test]
async fn cashout_beyond_the_balance_is_a_validation_error() {
    let env = start().await;
    let client = env.client();
    let err = client
        .cashout(CashRequest::new(10_000_000, "0788123456"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(err.gateway_message(), Some("insufficient balance"));
    assert_eq!(env.ledger_transactions().await.len(), 0);
}

#[tokio::test]
async fn validation_happens_before_any_request() {
    let env = start().await;
    let client = env.client();
    for (amount, number) in [
        (50, "0788123456"),
        (1000, "0712345678"),
        (1000, ""),
        (0, "0788123456"),
    ] {
        let err = client
            .cashin(CashRequest::new(amount, number))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation, "{amount} {number}");
    }
    let err = client
        .cashin(CashRequest::new(1000, "0788123456").with_idempotency_key("k".repeat(33)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    let err = client.find(" ").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(env.requests().await.len(), 0, "nothing was sent");

    // The opt-out sends what it is given; the emulator accepts a 50 RWF cash-in.
    let tx = client
        .cashin(CashRequest::new(50, "0788123456").without_validation())
        .await
        .unwrap();
    assert_eq!(tx.amount, Amount::from(50));
}

#[tokio::test]
async fn gateway_validation_errors_carry_its_message() {
    let env = start().await;
    let client = env.client();
    let err = client
        .cashin(CashRequest::new(1000, "0712345678").without_validation())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(err.status(), Some(400));
    assert!(err.gateway_message().is_some());
    assert!(err.body().unwrap().contains("message"));
}

#[tokio::test]
async fn the_same_idempotency_key_creates_one_transaction() {
    let env = start().await;
    let client = env.client();
    let request = CashRequest::new(1500, "0788123456").with_idempotency_key("order-42");
    let a = client.cashin(request.clone()).await.unwrap();
    let b = client.cashin(request).await.unwrap();
    assert_eq!(a.reference, b.reference);
    assert_eq!(env.ledger_transactions().await.len(), 1);
    let headers = request_headers(&env, "/transactions/cashin").await;
    assert_eq!(headers.len(), 2);
    assert!(headers.iter().all(|h| h["idempotency-key"] == "order-42"));

    // A new request gets a new key and a new transaction.
    client
        .cashin(CashRequest::new(1500, "0788123456"))
        .await
        .unwrap();
    assert_eq!(env.ledger_transactions().await.len(), 2);
}

#[tokio::test]
async fn lists_filter_and_encode_their_queries() {
    let env = start().await;
    let client = env.client();
    for i in 0..3 {
        let tx = client
            .cashin(CashRequest::new(100 + i, "0788123456"))
            .await
            .unwrap();
        env.settle(&tx.reference, "successful").await;
    }
    let out = client
        .cashout(CashRequest::new(100, "0721234567"))
        .await
        .unwrap();
    env.settle(&out.reference, "successful").await;

    let all = client
        .list_transactions(&TransactionFilter::default())
        .await
        .unwrap();
    assert_eq!(all.total, 4);
    assert_eq!(all.cashin_total, Some(Amount::from(303)));
    assert_eq!(all.cashout_total, Some(Amount::from(100)));

    let cashins = client
        .list_transactions(&TransactionFilter {
            kind: Some(TransactionKind::CashIn),
            limit: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(cashins.total, 3);
    assert_eq!(cashins.transactions.len(), 2);
    assert!(cashins
        .transactions
        .iter()
        .all(|t| t.kind == TransactionKind::CashIn));

    let by_client = client
        .list_transactions(&TransactionFilter {
            client: Some("0721234567".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_client.total, 1);
    assert_eq!(by_client.transactions[0].reference, out.reference);

    // A value with reserved characters travels encoded.
    env.clear_requests().await;
    let from = pesakit::parse_timestamp("2020-01-01T00:00:00+02:00").unwrap();
    client
        .list_events(&EventFilter {
            client: Some("+250 788&x=1".into()),
            from: Some(from),
            status: Some(TransactionStatus::Successful),
            ..Default::default()
        })
        .await
        .unwrap();
    let log = env.requests().await;
    let query = log[0]["query"].as_str().unwrap();
    assert!(query.contains("client=%2B250+788%26x%3D1"), "{query}");
    assert!(query.contains("from=2019-12-31T22%3A00%3A00Z"), "{query}");
    assert!(query.contains("status=successful"), "{query}");
}

#[tokio::test]
async fn events_page_and_kinds() {
    let env = start().await;
    let client = env.client();
    let tx = client
        .cashin(CashRequest::new(800, "0788123456"))
        .await
        .unwrap();
    env.settle(&tx.reference, "successful").await;
    let page = client
        .list_events(&EventFilter {
            reference: Some(tx.reference.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 2);
    let kinds: Vec<&EventKind> = page.events.iter().map(|e| &e.kind).collect();
    assert_eq!(
        kinds,
        [
            &EventKind::TransactionProcessed,
            &EventKind::TransactionCreated
        ]
    );
    let processed = &page.events[0];
    assert_eq!(processed.transaction.status, TransactionStatus::Successful);
    assert!(processed.transaction.processed_at.is_some());
    assert!(page.events[1].transaction.processed_at.is_none());
    assert_ne!(page.events[0].id, page.events[1].id);
}

#[tokio::test]
async fn streams_walk_every_page() {
    let env = start().await;
    let client = env.client();
    let mut refs = HashSet::new();
    for _ in 0..25 {
        let tx = client
            .cashin(CashRequest::new(100, "0788123456"))
            .await
            .unwrap();
        refs.insert(tx.reference);
    }
    let seen: Vec<String> = client
        .transactions(TransactionFilter {
            limit: Some(10),
            ..Default::default()
        })
        .map(|t| t.unwrap().reference)
        .collect()
        .await;
    assert_eq!(seen.len(), 25);
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), refs);
    assert_eq!(env.count("GET", "/transactions/list").await, 3);

    // The same walk a page at a time: one item per request, the same order.
    let pages: Vec<Vec<String>> = client
        .transaction_pages(TransactionFilter {
            limit: Some(10),
            ..Default::default()
        })
        .map(|page| page.unwrap().into_iter().map(|t| t.reference).collect())
        .collect()
        .await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
    assert_eq!(pages.concat(), seen);
    assert_eq!(env.count("GET", "/transactions/list").await, 6);
}

#[tokio::test]
async fn event_stream_loses_and_repeats_nothing_while_events_arrive() {
    let env = start().await;
    let client = env.client();
    for _ in 0..30 {
        client
            .cashin(CashRequest::new(100, "0788123456"))
            .await
            .unwrap();
    }
    let before: HashSet<String> = client
        .list_events(&EventFilter {
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(before.len(), 30);

    let mut stream = Box::pin(client.events(EventFilter {
        limit: Some(7),
        ..Default::default()
    }));
    let mut seen = Vec::new();
    while let Some(event) = stream.next().await {
        seen.push(event.unwrap().id);
        // Every third event read, a new event arrives (newest first, so it pushes
        // the unread ones one place further).
        if seen.len() % 3 == 0 && seen.len() <= 30 {
            client
                .cashin(CashRequest::new(100, "0788123456"))
                .await
                .unwrap();
        }
    }
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no event repeated");
    assert!(
        before.is_subset(&unique),
        "no event that existed at the start was lost"
    );
}

#[tokio::test]
async fn a_stream_ends_with_the_error_that_stopped_it() {
    let env = start().await;
    let client = env.client();
    for _ in 0..5 {
        client
            .cashin(CashRequest::new(100, "0788123456"))
            .await
            .unwrap();
    }
    env.fault(serde_json::json!({"path": "/paypack/api/events/transactions", "kind": "status", "status": 500}))
        .await;
    let items: Vec<_> = client.events(EventFilter::default()).collect().await;
    assert_eq!(items.len(), 1);
    let err = items.into_iter().next().unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Gateway);
    assert_eq!(err.status(), Some(500));
}
