//! The Paypack endpoints over real HTTP.

mod common;

use std::sync::Arc;

use common::{has_time_shape, jwt_claims, manual, Harness};
use pesakit_sandbox::{App, SandboxConfig, DEFAULT_CLIENT_ID};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn authorize_issues_jwts_whose_exp_is_expires() {
    let h = Harness::start().await;
    let answer = h.authorize_as("demo-client-id", "demo-client-secret").await;
    assert_eq!(answer.status, StatusCode::OK);
    let expires = answer.json["expires"].as_i64().unwrap();
    let access = jwt_claims(answer.json["access"].as_str().unwrap());
    let refresh = jwt_claims(answer.json["refresh"].as_str().unwrap());
    assert_eq!(access["exp"].as_i64(), Some(expires));
    assert_eq!(access["typ"], "access");
    assert_eq!(access["sub"], DEFAULT_CLIENT_ID);
    assert_eq!(refresh["typ"], "refresh");
    let iat = access["iat"].as_i64().unwrap();
    assert_eq!(expires - iat, 900);
    assert_eq!(refresh["exp"].as_i64().unwrap() - iat, 432_000);
    assert!(expires > 1_000_000_000, "absolute unix seconds");
    assert_ne!(access["jti"], refresh["jti"]);
    let header: Value = {
        use base64::Engine;
        let first = answer.json["access"]
            .as_str()
            .unwrap()
            .split('.')
            .next()
            .unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(first)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    assert_eq!(header["alg"], "HS256");
}

#[tokio::test]
async fn authorize_rejects_bad_credentials_and_bodies() {
    let h = Harness::start().await;
    let wrong = h.authorize_as("demo-client-id", "nope").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(!wrong.message().is_empty());
    let unknown = h.authorize_as("who", "demo-client-secret").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let bad = h
        .post(
            &h.api("/auth/agents/authorize"),
            None,
            &json!({"client_id": 1}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(!bad.message().is_empty());
}

#[tokio::test]
async fn requests_without_a_live_token_get_401() {
    let h = Harness::start().await;
    let me = h.api("/merchants/me");

    let missing = h.get(&me, None).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert!(!missing.message().is_empty());
    let garbage = h.get(&me, Some("not-a-token")).await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);

    // Bearer and bare tokens both work.
    let token = h.token().await;
    assert_eq!(h.get(&me, Some(&token)).await.status, StatusCode::OK);
    let bare = h
        .send(Method::GET, &me, None, &[("Authorization", &token)], None)
        .await;
    assert_eq!(bare.status, StatusCode::OK);

    // A refresh token is not an access token.
    let pair = h.authorize_as("demo-client-id", "demo-client-secret").await;
    let refresh = pair.json["refresh"].as_str().unwrap();
    assert_eq!(
        h.get(&me, Some(refresh)).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Expired through the control API.
    let expire = h
        .post(
            &h.url("/_sandbox/paypack/tokens/expire"),
            None,
            &json!({"which": "access"}),
        )
        .await;
    assert_eq!(expire.status, StatusCode::OK);
    assert_eq!(expire.json["count"], 2);
    let expired = h.get(&me, Some(&token)).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.message(), "token expired");

    // Revoked through the control API.
    let fresh = h.token().await;
    let revoke = h
        .post(
            &h.url("/_sandbox/paypack/tokens/revoke"),
            None,
            &json!({"which": "all"}),
        )
        .await;
    assert_eq!(revoke.json["count"], 6);
    let revoked = h.get(&me, Some(&fresh)).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    assert_eq!(revoked.message(), "token revoked");

    let bad_which = h
        .post(
            &h.url("/_sandbox/paypack/tokens/expire"),
            None,
            &json!({"which": "x"}),
        )
        .await;
    assert_eq!(bad_which.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn tokens_expire_by_themselves() {
    let h = Harness::with(SandboxConfig {
        access_ttl: std::time::Duration::ZERO,
        ..manual()
    })
    .await;
    let token = h.token().await;
    let answer = h.get(&h.api("/merchants/me"), Some(&token)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.message(), "token expired");
}

#[tokio::test]
async fn both_refresh_paths_issue_new_pairs_and_can_be_switched_off() {
    let h = Harness::start().await;
    let pair = h.authorize_as("demo-client-id", "demo-client-secret").await;
    let refresh = pair.json["refresh"].as_str().unwrap().to_owned();
    for path in ["/auth/refresh/", "/auth/agents/refresh/"] {
        let answer = h.get(&h.api(&format!("{path}{refresh}")), None).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {:?}", answer.json);
        let access = answer.json["access"].as_str().unwrap();
        assert_ne!(answer.json["refresh"].as_str().unwrap(), refresh);
        assert_eq!(
            jwt_claims(access)["exp"].as_i64(),
            answer.json["expires"].as_i64()
        );
        let me = h.get(&h.api("/merchants/me"), Some(access)).await;
        assert_eq!(me.status, StatusCode::OK);
    }

    // An access token cannot refresh.
    let access = pair.json["access"].as_str().unwrap();
    let wrong = h
        .get(&h.api(&format!("/auth/refresh/{access}")), None)
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    // Switched off through the control API.
    let config = h
        .post(
            &h.url("/_sandbox/paypack/config"),
            None,
            &json!({"refresh_path": false}),
        )
        .await;
    assert_eq!(config.json["refresh_path"], false);
    assert_eq!(config.json["agents_refresh_path"], true);
    assert_eq!(config.json["settle_after_ms"], 0);
    assert_eq!(config.json["access_ttl_secs"], 900);
    let off = h
        .get(&h.api(&format!("/auth/refresh/{refresh}")), None)
        .await;
    assert_eq!(off.status, StatusCode::NOT_FOUND);
    assert!(!off.message().is_empty());
    let on = h
        .get(&h.api(&format!("/auth/agents/refresh/{refresh}")), None)
        .await;
    assert_eq!(on.status, StatusCode::OK);

    // Switched off by configuration.
    let h = Harness::with(SandboxConfig {
        agents_refresh_path: false,
        ..manual()
    })
    .await;
    let pair = h.authorize_as("demo-client-id", "demo-client-secret").await;
    let refresh = pair.json["refresh"].as_str().unwrap();
    let off = h
        .get(&h.api(&format!("/auth/agents/refresh/{refresh}")), None)
        .await;
    assert_eq!(off.status, StatusCode::NOT_FOUND);
    let on = h
        .get(&h.api(&format!("/auth/refresh/{refresh}")), None)
        .await;
    assert_eq!(on.status, StatusCode::OK);

    // An expired refresh token is refused.
    h.post(
        &h.url("/_sandbox/paypack/tokens/expire"),
        None,
        &json!({"which": "refresh"}),
    )
    .await;
    let expired = h
        .get(&h.api(&format!("/auth/refresh/{refresh}")), None)
        .await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.message(), "token expired");
}

#[tokio::test]
async fn cash_in_is_pending_then_settles_through_the_control_api() {
    let h = Harness::start().await;
    let token = h.token().await;
    let created = h.create(&token, "cashin", json!(800), "0780633340").await;
    assert_eq!(created["status"], "pending");
    assert_eq!(created["amount"], json!(800));
    assert_eq!(created["provider"], "mtn");
    assert_eq!(created["kind"], "CASHIN");
    assert!(has_time_shape(
        created["created_at"].as_str().unwrap(),
        9,
        "+02:00"
    ));
    let reference = created["ref"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(reference).is_ok());

    let find = h.api(&format!("/transactions/find/{reference}"));
    let pending = h.get(&find, Some(&token)).await;
    assert_eq!(pending.status, StatusCode::NOT_FOUND);
    assert!(!pending.message().is_empty());

    let settled = h.settle(reference, Some("successful")).await;
    assert_eq!(settled.status, StatusCode::OK);
    assert_eq!(settled.json["status"], "successful");
    assert_eq!(settled.json["ref"], reference);

    let found = h.get(&find, Some(&token)).await;
    assert_eq!(found.status, StatusCode::OK);
    let tx = &found.json;
    assert_eq!(tx["status"], "successful");
    assert_eq!(tx["ref"], reference);
    assert_eq!(tx["amount"], json!(800));
    assert_eq!(tx["fee"], json!(18.4));
    assert_eq!(tx["kind"], "CASHIN");
    assert_eq!(tx["provider"], "mtn");
    assert_eq!(tx["client"], "0780633340");
    assert!(tx["merchant"].as_str().unwrap().len() == 6);
    assert!(has_time_shape(
        tx["timestamp"].as_str().unwrap(),
        7,
        "+02:00"
    ));
    assert!(tx.get("created_at").is_none());

    let again = h.settle(reference, Some("failed")).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let unknown = h.settle("no-such-ref", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let unknown_find = h
        .get(&h.api("/transactions/find/no-such-ref"), Some(&token))
        .await;
    assert_eq!(unknown_find.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn numbers_ending_in_0000_fail_and_move_nothing() {
    let h = Harness::start().await;
    let token = h.token().await;
    let created = h.create(&token, "cashin", json!(1000), "0780000000").await;
    let reference = created["ref"].as_str().unwrap();
    let settled = h.settle(reference, None).await;
    assert_eq!(settled.json["status"], "failed");
    let found = h
        .get(
            &h.api(&format!("/transactions/find/{reference}")),
            Some(&token),
        )
        .await;
    assert_eq!(found.json["status"], "failed");
    let ledger = h.ledger().await;
    assert_eq!(ledger["merchants"][0]["balance"], json!(200_000));
    assert!(ledger["transactions"][0]["processed_at"].is_string());
}

#[tokio::test]
async fn pending_transactions_settle_by_themselves_when_configured() {
    let h = Harness::with(SandboxConfig {
        settle_after: Some(std::time::Duration::from_millis(30)),
        ..SandboxConfig::default()
    })
    .await;
    let token = h.token().await;
    let created = h.create(&token, "cashin", json!(100), "0791234567").await;
    let reference = created["ref"].as_str().unwrap().to_owned();
    let find = h.api(&format!("/transactions/find/{reference}"));
    let found = common::wait_for("the auto-settle", || async {
        let answer = h.get(&find, Some(&token)).await;
        (answer.status == StatusCode::OK).then_some(answer.json)
    })
    .await;
    assert_eq!(found["status"], "successful");
    // The control API comes second and changes nothing.
    assert_eq!(
        h.settle(&reference, Some("failed")).await.status,
        StatusCode::CONFLICT
    );
    let events = h
        .get(
            &h.api(&format!("/events/transactions?ref={reference}")),
            Some(&token),
        )
        .await;
    assert_eq!(events.json["total"], 2);
}

#[tokio::test]
async fn cash_in_and_out_validate_their_bodies() {
    let h = Harness::start().await;
    let token = h.token().await;
    let cashin = h.api("/transactions/cashin");
    for body in [
        json!({"amount": -5, "number": "0781234567"}),
        json!({"amount": 0, "number": "0781234567"}),
        json!({"amount": "100", "number": "0781234567"}),
        json!({"number": "0781234567"}),
        json!({"amount": 100, "number": "0771234567"}),
        json!({"amount": 100, "number": "078123456"}),
        json!({"amount": 100}),
        json!([1, 2]),
    ] {
        let answer = h.post(&cashin, Some(&token), &body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(!answer.message().is_empty());
    }
    let not_json = h
        .send(
            Method::POST,
            &cashin,
            Some(&token),
            &[("Content-Type", "application/json")],
            None,
        )
        .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);

    let long = h
        .send(
            Method::POST,
            &cashin,
            Some(&token),
            &[("Idempotency-Key", &"k".repeat(33))],
            Some(&json!({"amount": 100, "number": "0781234567"})),
        )
        .await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);

    let airtel = h
        .create(&token, "cashin", json!(100.5), "+250731234567")
        .await;
    assert_eq!(airtel["provider"], "airtel");
    assert_eq!(airtel["amount"], json!(100.5));
    let mtn = h
        .create(&token, "cashout", json!(100), "250791234567")
        .await;
    assert_eq!(mtn["provider"], "mtn");
    assert_eq!(mtn["kind"], "CASHOUT");
    let ledger = h.ledger().await;
    assert_eq!(ledger["transactions"][0]["number"], "0731234567");
    assert_eq!(ledger["transactions"][1]["number"], "0791234567");
    assert_eq!(ledger["transactions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn idempotency_keys_replay_or_conflict() {
    let h = Harness::with(SandboxConfig {
        apps: vec![App::default(), App::new("other-id", "other-secret")],
        ..manual()
    })
    .await;
    let token = h.token().await;
    let cashin = h.api("/transactions/cashin");
    let body = json!({"amount": 500, "number": "0781234567"});
    let key = [("Idempotency-Key", "order-42")];
    let first = h
        .send(Method::POST, &cashin, Some(&token), &key, Some(&body))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    // Settle so that a wrong replay would show another status.
    h.settle(first.json["ref"].as_str().unwrap(), None).await;
    let second = h
        .send(Method::POST, &cashin, Some(&token), &key, Some(&body))
        .await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(
        second.bytes, first.bytes,
        "the original answer, byte for byte"
    );
    assert_eq!(second.json["status"], "pending");
    assert_eq!(
        h.ledger().await["transactions"].as_array().unwrap().len(),
        1
    );

    // The same key with another body, or on the other endpoint, conflicts.
    let other_body = json!({"amount": 501, "number": "0781234567"});
    let conflict = h
        .send(Method::POST, &cashin, Some(&token), &key, Some(&other_body))
        .await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert!(!conflict.message().is_empty());
    let cashout = h
        .send(
            Method::POST,
            &h.api("/transactions/cashout"),
            Some(&token),
            &key,
            Some(&body),
        )
        .await;
    assert_eq!(cashout.status, StatusCode::CONFLICT);

    // The query-parameter spelling shares the same keys.
    let by_query = h
        .post(
            &h.api("/transactions/cashin?idempotency_key=order-42"),
            Some(&token),
            &body,
        )
        .await;
    assert_eq!(by_query.bytes, first.bytes);

    // Keys belong to one application.
    let other = h.authorize_as("other-id", "other-secret").await;
    let other_token = other.json["access"].as_str().unwrap();
    let theirs = h
        .send(Method::POST, &cashin, Some(other_token), &key, Some(&body))
        .await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert_ne!(theirs.json["ref"], first.json["ref"]);
    let ledger = h.ledger().await;
    assert_eq!(ledger["transactions"].as_array().unwrap().len(), 2);
    assert_eq!(ledger["transactions"][0]["idempotency_key"], "order-42");

    // The other application cannot see the first one's transaction.
    let find = h
        .get(
            &h.api(&format!(
                "/transactions/find/{}",
                first.json["ref"].as_str().unwrap()
            )),
            Some(other_token),
        )
        .await;
    assert_eq!(find.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_create_one_transaction() {
    let h = Arc::new(Harness::start().await);
    let token = Arc::new(h.token().await);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let h = Arc::clone(&h);
        let token = Arc::clone(&token);
        tasks.push(tokio::spawn(async move {
            h.send(
                Method::POST,
                &h.api("/transactions/cashin"),
                Some(&token),
                &[("Idempotency-Key", "same-key")],
                Some(&json!({"amount": 100, "number": "0781234567"})),
            )
            .await
        }));
    }
    let mut references = Vec::new();
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer.status, StatusCode::OK);
        references.push(answer.json["ref"].as_str().unwrap().to_owned());
    }
    references.dedup();
    assert_eq!(references.len(), 1);
    assert_eq!(
        h.ledger().await["transactions"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn balances_move_on_success_and_cash_out_checks_them() {
    let h = Harness::start().await;
    let token = h.token().await;
    let cashin = h.create(&token, "cashin", json!(1000), "0781234567").await;
    h.settle(cashin["ref"].as_str().unwrap(), None).await;
    let cashout = h.create(&token, "cashout", json!(1000), "0731234567").await;
    h.settle(cashout["ref"].as_str().unwrap(), None).await;

    let profile = h.get(&h.api("/merchants/me"), Some(&token)).await;
    assert_eq!(profile.status, StatusCode::OK);
    let p = &profile.json;
    assert_eq!(p["mtn_balance"], json!(100_977)); // + 1000 - 23
    assert_eq!(p["airtel_balance"], json!(98_975)); // - 1000 - 25
    assert_eq!(p["balance"], json!(199_952));
    assert_eq!(p["in_rate"], json!(0.023));
    assert_eq!(p["out_rate"], json!(0.023));
    assert_eq!(p["airtel_in_rate"], json!(0.025));
    assert_eq!(p["airtel_out_rate"], json!(0.025));
    assert_eq!(p["name"], "Sandbox Merchant demo-client-id");
    let id = p["id"].as_str().unwrap();
    assert_eq!(id.len(), 6);
    assert!(id
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));

    let ledger = h.ledger().await;
    assert_eq!(ledger["merchants"][0]["client_id"], DEFAULT_CLIENT_ID);
    assert_eq!(ledger["merchants"][0]["balance"], json!(199_952));
    assert_eq!(ledger["transactions"][1]["fee"], json!(25));

    // 199 952 is not enough for 195 500 + 2.3 %.
    let too_much = h
        .post(
            &h.api("/transactions/cashout"),
            Some(&token),
            &json!({"amount": 195_500, "number": "0781234567"}),
        )
        .await;
    assert_eq!(too_much.status, StatusCode::BAD_REQUEST);
    assert_eq!(too_much.message(), "insufficient balance");
    h.create(&token, "cashout", json!(195_000), "0781234567")
        .await;
}

#[tokio::test]
async fn events_are_newest_first_with_the_gateway_spellings() {
    let h = Harness::start().await;
    let token = h.token().await;
    let first = h.create(&token, "cashin", json!(800), "0780633340").await;
    let first_ref = first["ref"].as_str().unwrap();
    h.settle(first_ref, None).await;
    let second = h.create(&token, "cashout", json!(100), "0721234567").await;

    let all = h.get(&h.api("/events/transactions"), Some(&token)).await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(all.json["total"], 3);
    assert_eq!(all.json["offset"], 0);
    assert_eq!(all.json["limit"], 20);
    let items = all.json["transactions"].as_array().unwrap();
    let kinds: Vec<_> = items
        .iter()
        .map(|e| e["event_kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "transaction:created",
            "transaction:processed",
            "transaction:created"
        ]
    );
    assert_eq!(items[0]["data"]["ref"], second["ref"]);
    let processed = &items[1];
    assert!(has_time_shape(
        processed["created_at"].as_str().unwrap(),
        6,
        "Z"
    ));
    let data = &processed["data"];
    assert_eq!(data["ref"], first_ref);
    assert_eq!(data["status"], "successful");
    assert_eq!(data["fee"], json!(18.4));
    assert_eq!(data["amount"], json!(800));
    assert_eq!(data["client"], "0780633340");
    assert_eq!(data["kind"], "CASHIN");
    assert!(has_time_shape(
        data["created_at"].as_str().unwrap(),
        9,
        "+02:00"
    ));
    assert!(has_time_shape(
        data["processed_at"].as_str().unwrap(),
        8,
        "+02:00"
    ));
    assert!(items[2]["data"].get("processed_at").is_none());
    assert_eq!(items[2]["data"]["status"], "pending");
    assert!(uuid::Uuid::parse_str(items[2]["event_id"].as_str().unwrap()).is_ok());

    let filtered = h
        .get(
            &h.api(&format!(
                "/events/transactions?event-kind=transaction:created&ref={first_ref}&kind=CASHIN"
            )),
            Some(&token),
        )
        .await;
    assert_eq!(filtered.json["event-kind"], "transaction:created");
    assert_eq!(filtered.json["ref"], first_ref);
    assert_eq!(filtered.json["kind"], "CASHIN");
    assert_eq!(filtered.json["total"], 1);
    assert_eq!(
        filtered.json["transactions"][0]["event_kind"],
        "transaction:created"
    );

    let by_status = h
        .get(
            &h.api("/events/transactions?status=pending&client=0721234567&limit=1"),
            Some(&token),
        )
        .await;
    assert_eq!(by_status.json["total"], 1);
    assert_eq!(by_status.json["status"], "pending");
    assert_eq!(
        by_status.json["transactions"][0]["data"]["ref"],
        second["ref"]
    );

    let paged = h
        .get(
            &h.api("/events/transactions?offset=1&limit=1"),
            Some(&token),
        )
        .await;
    assert_eq!(paged.json["total"], 3);
    assert_eq!(paged.json["transactions"].as_array().unwrap().len(), 1);
    assert_eq!(
        paged.json["transactions"][0]["event_kind"],
        "transaction:processed"
    );
    let bad = h
        .get(&h.api("/events/transactions?limit=x"), Some(&token))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn list_is_newest_first_paginated_and_filtered() {
    let h = Harness::start().await;
    let token = h.token().await;
    let mut refs = Vec::new();
    for (kind, amount, number) in [
        ("cashin", 100, "0781111111"),
        ("cashin", 200, "0722222222"),
        ("cashout", 300, "0781111111"),
        ("cashin", 400, "0793333333"),
        ("cashout", 500, "0722222222"),
    ] {
        let created = h.create(&token, kind, json!(amount), number).await;
        refs.push(created["ref"].as_str().unwrap().to_owned());
    }
    let list = |query: &'static str| {
        let h = &h;
        let token = &token;
        async move {
            let answer = h
                .get(&h.api(&format!("/transactions/list{query}")), Some(token))
                .await;
            assert_eq!(answer.status, StatusCode::OK, "{query}: {:?}", answer.json);
            answer.json
        }
    };

    let all = list("").await;
    assert_eq!(all["total"], 5);
    assert_eq!(all["offset"], 0);
    assert_eq!(all["limit"], 20);
    assert_eq!(all["cashin"], json!(700));
    assert_eq!(all["cashout"], json!(800));
    let listed: Vec<_> = all["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["ref"].as_str().unwrap().to_owned())
        .collect();
    let mut newest_first = refs.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first);
    let item = &all["transactions"][0];
    assert!(has_time_shape(
        item["timestamp"].as_str().unwrap(),
        7,
        "+02:00"
    ));
    assert_eq!(item["fee"], json!(12.5));

    let page = list("?offset=1&limit=2").await;
    assert_eq!(page["total"], 5);
    assert_eq!(page["offset"], 1);
    assert_eq!(page["limit"], 2);
    let page_refs: Vec<_> = page["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["ref"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(page_refs, newest_first[1..3]);

    let cashouts = list("?kind=CASHOUT").await;
    assert_eq!(cashouts["total"], 2);
    assert_eq!(cashouts["kind"], "CASHOUT");
    assert_eq!(cashouts["cashin"], json!(0));
    let client = list("?client=%2B250722222222").await;
    assert_eq!(client["total"], 2);

    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(2)))
        .date();
    let yesterday = today.yesterday().unwrap();
    let in_range = h
        .get(
            &h.api(&format!("/transactions/list?from={today}&to={today}")),
            Some(&token),
        )
        .await;
    assert_eq!(in_range.json["total"], 5);
    assert_eq!(in_range.json["from"], today.to_string());
    let before = h
        .get(
            &h.api(&format!("/transactions/list?to={yesterday}")),
            Some(&token),
        )
        .await;
    assert_eq!(before.json["total"], 0);
    let future = list("?from=2999-01-01T00:00:00Z").await;
    assert_eq!(future["total"], 0);
    let past = list("?from=2000-01-01T00:00:00%2B02:00").await;
    assert_eq!(past["total"], 5);

    let bad = h
        .get(&h.api("/transactions/list?from=yesterday"), Some(&token))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad_kind = h
        .get(&h.api("/transactions/list?kind=REFUND"), Some(&token))
        .await;
    assert_eq!(bad_kind.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_errors() {
    let h = Harness::start().await;
    let unknown = h.get(&h.api("/no/such/route"), None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.json, json!({"message": "not found"}));
    let root = h.get(&h.url("/elsewhere"), None).await;
    assert_eq!(root.status, StatusCode::NOT_FOUND);
    assert_eq!(root.message(), "not found");
    let wrong_method = h.get(&h.api("/transactions/cashin"), None).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(!wrong_method.message().is_empty());
    let control = h.get(&h.url("/_sandbox/nothing"), None).await;
    assert_eq!(control.status, StatusCode::NOT_FOUND);
    let health = h.get(&h.url("/_sandbox/health"), None).await;
    assert_eq!(health.json, json!({"ok": true}));
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let h = Harness::start().await;
    let url = h.url("/_sandbox/health");
    assert_eq!(h.get(&url, None).await.status, StatusCode::OK);
    let Harness { sandbox, http } = h;
    sandbox.shutdown().await;
    assert!(common::http_client().get(&url).send().await.is_err());
    drop(http);

    let sandbox = pesakit_sandbox::Sandbox::start(manual()).await.unwrap();
    let url = format!("{}/_sandbox/health", sandbox.base_url());
    assert!(sandbox.paypack_base_url().ends_with("/paypack/api"));
    assert!(sandbox.base_url().starts_with("http://127.0.0.1:"));
    assert_eq!(
        sandbox.addr().port(),
        url.split(':')
            .nth(2)
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .parse::<u16>()
            .unwrap()
    );
    drop(sandbox);
    let closed = common::wait_for("the listener to close", || async {
        common::http_client()
            .get(&url)
            .send()
            .await
            .is_err()
            .then_some(())
    })
    .await;
    assert_eq!(closed, ());
}

#[tokio::test]
async fn seed_creates_settled_cash_ins_with_their_events_and_no_webhooks() {
    let h = Harness::start().await;
    // A registered webhook that a seed must not call.
    let hook = h
        .post(
            &h.url("/_sandbox/paypack/webhooks"),
            None,
            &json!({"url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    assert_eq!(hook.status, StatusCode::OK);
    let seed = h.url("/_sandbox/paypack/seed");
    let answer = h.post(&seed, None, &json!({"count": 6000})).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json);
    assert_eq!(answer.json["count"], 6000);
    let first_ref = answer.json["first_ref"].as_str().unwrap().to_owned();
    let last_ref = answer.json["last_ref"].as_str().unwrap().to_owned();
    assert_ne!(first_ref, last_ref);

    let ledger = h.ledger().await;
    let transactions = ledger["transactions"].as_array().unwrap();
    assert_eq!(transactions.len(), 6000);
    assert_eq!(transactions[0]["ref"], first_ref.as_str());
    assert_eq!(transactions[5999]["ref"], last_ref.as_str());
    assert!(transactions
        .iter()
        .all(|tx| tx["status"] == "successful" && tx["kind"] == "CASHIN"));
    assert_ne!(ledger["merchants"][0]["balance"], json!(200_000));

    // Settled, so find answers at once.
    let token = h.token().await;
    let found = h
        .get(
            &h.api(&format!("/transactions/find/{last_ref}")),
            Some(&token),
        )
        .await;
    assert_eq!(found.status, StatusCode::OK);
    assert_eq!(found.json["status"], "successful");

    // Two events per transaction; a 10,000-event page in one answer, newest first.
    let page = h
        .get(&h.api("/events/transactions?limit=10000"), Some(&token))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.json["total"], 12_000);
    assert_eq!(page.json["limit"], 10_000);
    let items = page.json["transactions"].as_array().unwrap();
    assert_eq!(items.len(), 10_000);
    assert_eq!(items[0]["event_kind"], "transaction:processed");
    assert_eq!(items[0]["data"]["ref"], last_ref.as_str());
    assert_eq!(items[1]["event_kind"], "transaction:created");
    assert_eq!(items[1]["data"]["ref"], last_ref.as_str());

    let deliveries = h
        .get(&h.url("/_sandbox/paypack/webhooks/deliveries"), None)
        .await;
    assert_eq!(deliveries.json, json!([]));

    for bad in [json!({"count": 0}), json!({"count": 200_001}), json!({})] {
        let answer = h.post(&seed, None, &bad).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(!answer.message().is_empty());
    }
}
