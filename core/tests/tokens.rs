//! Token lifecycle against the emulator: lazy authorization, caching, refresh ahead of
//! expiry, single-flight renewal, 401 recovery, refresh fallbacks and persistence.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{start, start_with, CapturingLogger, Env};
use pesakit::{Error, ErrorKind, MemoryTokenStore, Secret, Timestamp, TokenSet, TokenStore};
use serde_json::json;

/// The key the Paypack client stores its tokens under.
fn store_key(env: &Env) -> String {
    format!(
        "paypack|{}|{}",
        env.sandbox.paypack_base_url(),
        pesakit_sandbox::DEFAULT_CLIENT_ID
    )
}

/// Real tokens from the emulator, with the access token's expiry as the client
/// should believe it (`expires_in_secs` from now; negative = already expired).
async fn seeded_store(env: &Env, expires_in_secs: i64) -> Arc<MemoryTokenStore> {
    let (access, refresh, _) = env.raw_tokens().await;
    let now = Timestamp::now();
    let store = Arc::new(MemoryTokenStore::new());
    store
        .save(
            &store_key(env),
            &TokenSet {
                access_token: Secret::new(access),
                refresh_token: Some(Secret::new(refresh)),
                expires_at: Timestamp::from_second(now.as_second() + expires_in_secs).unwrap(),
                refresh_expires_at: None,
                obtained_at: Timestamp::from_second(now.as_second() - 900).unwrap(),
            },
        )
        .unwrap();
    env.clear_requests().await;
    store
}

#[tokio::test]
async fn authorizes_lazily_once_and_caches() {
    let env = start().await;
    let client = env.client();
    assert_eq!(env.requests().await.len(), 0, "building sends nothing");
    client.profile().await.unwrap();
    client.profile().await.unwrap();
    client.clone().profile().await.unwrap();
    assert_eq!(env.count("POST", "/auth/agents/authorize").await, 1);
    assert_eq!(env.count("GET", "/merchants/me").await, 3);
    let log = env.requests().await;
    let profile = log
        .iter()
        .find(|r| r["path"] == "/paypack/api/merchants/me")
        .unwrap();
    let auth = profile["headers"]["authorization"].as_str().unwrap();
    assert!(auth.starts_with("Bearer ey"), "{auth}");
    assert_eq!(
        profile["headers"]["user-agent"].as_str().unwrap(),
        format!("pesakit/{}", pesakit::VERSION)
    );
}

#[tokio::test]
async fn expiry_is_read_from_the_gateway() {
    let env = start().await;
    let (_, _, expires) = env.raw_tokens().await;
    let client = env.client();
    let expires_at = client.authorize().await.unwrap();
    // The emulator issues 900-second tokens; both answers come within a few seconds.
    assert!(
        (expires_at.as_second() - expires).abs() <= 5,
        "{expires_at} vs {expires}"
    );
}

#[tokio::test]
async fn bad_credentials_are_an_authentication_error() {
    let env = start().await;
    let client = env.builder().client_secret("wrong-secret").build().unwrap();
    let err = client.profile().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert_eq!(err.status(), Some(401));
    assert!(
        err.to_string().contains("client id or secret was refused"),
        "{err}"
    );
    assert!(!err.to_string().contains("wrong-secret"));
    assert_eq!(env.count("GET", "/merchants/me").await, 0);
}

#[tokio::test]
async fn refreshes_ahead_of_expiry() {
    let env = start().await;
    // The client believes its token expires in 30 s; with the default 60 s skew it
    // must refresh before using it, without waiting for a 401.
    let store = seeded_store(&env, 30).await;
    let client = env.builder().token_store(store.clone()).build().unwrap();
    client.profile().await.unwrap();
    let log = env.requests().await;
    let paths: Vec<&str> = log.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(
        paths[0].starts_with("/paypack/api/auth/refresh/"),
        "{paths:?}"
    );
    assert_eq!(paths[1], "/paypack/api/merchants/me");
    assert_eq!(log[1]["status"], 200);
    // The refreshed tokens were saved.
    let saved = store.load(&store_key(&env)).unwrap().unwrap();
    assert!(saved.expires_at.as_second() > Timestamp::now().as_second() + 600);
}

#[tokio::test]
async fn a_thousand_callers_share_one_refresh() {
    let env = start().await;
    let store = seeded_store(&env, -1).await;
    let client = env.builder().token_store(store).build().unwrap();
    let calls = (0..1000).map(|_| {
        let c = client.clone();
        tokio::spawn(async move { c.profile().await })
    });
    let results = futures_util::future::join_all(calls).await;
    let failures = results
        .into_iter()
        .filter(|r| !matches!(r, Ok(Ok(_))))
        .count();
    assert_eq!(failures, 0);
    assert_eq!(env.count("GET", "/auth/refresh/").await, 1);
    assert_eq!(env.count("POST", "/auth/agents/authorize").await, 0);
    assert_eq!(env.count("GET", "/merchants/me").await, 1000);
}

#[tokio::test]
async fn a_thousand_callers_share_one_authorize() {
    let env = start().await;
    let client = env.client();
    let calls = (0..1000).map(|_| {
        let c = client.clone();
        tokio::spawn(async move { c.profile().await })
    });
    for r in futures_util::future::join_all(calls).await {
        r.unwrap().unwrap();
    }
    assert_eq!(env.count("POST", "/auth/agents/authorize").await, 1);
}

#[tokio::test]
async fn refresh_path_falls_back_and_remembers() {
    let env = start_with(|c| c.refresh_path = false).await;
    let store = seeded_store(&env, -1).await;
    let logger = CapturingLogger::new();
    let client = env
        .builder()
        .token_store(store)
        .logger(logger.clone())
        .build()
        .unwrap();
    client.profile().await.unwrap();
    assert_eq!(
        env.count("GET", "/auth/refresh/").await,
        1,
        "tried the default first"
    );
    assert_eq!(
        env.count("GET", "/auth/agents/refresh/").await,
        1,
        "then the fallback"
    );
    assert_eq!(env.count("POST", "/auth/agents/authorize").await, 0);

    // Force a renewal on the first client through a server-side expiry.
    env.post(
        "/_sandbox/paypack/tokens/expire",
        json!({"which": "access"}),
    )
    .await;
    env.clear_requests().await;
    client.profile().await.unwrap();
    assert_eq!(env.count("GET", "/auth/refresh/").await, 0, "remembered");
    assert_eq!(env.count("GET", "/auth/agents/refresh/").await, 1);
    assert!(logger
        .text()
        .contains("using /auth/agents/refresh/{token} from now on"));
}

#[tokio::test]
async fn refresh_failure_falls_back_to_authorize() {
    let env = start().await;
    let store = seeded_store(&env, -1).await;
    env.post(
        "/_sandbox/paypack/tokens/revoke",
        json!({"which": "refresh"}),
    )
    .await;
    let client = env.builder().token_store(store).build().unwrap();
    client.profile().await.unwrap();
    let log = env.requests().await;
    let paths: Vec<(&str, i64)> = log
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap(),
                r["status"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert!(paths[0].0.starts_with("/paypack/api/auth/refresh/") && paths[0].1 == 401);
    assert_eq!(paths[1], ("/paypack/api/auth/agents/authorize", 200));
    assert_eq!(paths[2], ("/paypack/api/merchants/me", 200));
}

#[tokio::test]
async fn both_refresh_routes_missing_falls_back_to_authorize() {
    let env = start_with(|c| {
        c.refresh_path = false;
        c.agents_refresh_path = false;
    })
    .await;
    let store = seeded_store(&env, -1).await;
    let client = env.builder().token_store(store).build().unwrap();
    client.profile().await.unwrap();
    assert_eq!(env.count("POST", "/auth/agents/authorize").await, 1);
}

#[tokio::test]
async fn a_401_in_mid_flight_renews_and_retries_once() {
    let env = start().await;
    let client = env.client();
    client.profile().await.unwrap();
    env.post(
        "/_sandbox/paypack/tokens/revoke",
        json!({"which": "access"}),
    )
    .await;
    env.clear_requests().await;
    let profile = client.profile().await.unwrap();
    assert!(!profile.name.is_empty());
    let log = env.requests().await;
    let seq: Vec<(String, i64)> = log
        .iter()
        .map(|r| {
            let p = r["path"].as_str().unwrap();
            let p = if p.starts_with("/paypack/api/auth/refresh/") {
                "refresh".to_owned()
            } else {
                p.to_owned()
            };
            (p, r["status"].as_i64().unwrap_or(0))
        })
        .collect();
    assert_eq!(
        seq,
        vec![
            ("/paypack/api/merchants/me".to_owned(), 401),
            ("refresh".to_owned(), 200),
            ("/paypack/api/merchants/me".to_owned(), 200),
        ]
    );
}

#[tokio::test]
async fn a_second_401_is_returned_not_looped() {
    let env = start().await;
    let client = env.client();
    client.profile().await.unwrap();
    env.fault(
        json!({"path": "/paypack/api/merchants/me", "kind": "status", "status": 401, "count": 5}),
    )
    .await;
    env.clear_requests().await;
    let err = client.profile().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert_eq!(env.count("GET", "/merchants/me").await, 2);
}

#[tokio::test]
async fn tokens_persist_across_clients_through_the_store() {
    let env = start().await;
    let store = Arc::new(MemoryTokenStore::new());
    let first = env.builder().token_store(store.clone()).build().unwrap();
    first.profile().await.unwrap();
    drop(first);
    let second = env.builder().token_store(store.clone()).build().unwrap();
    second.profile().await.unwrap();
    assert_eq!(env.count("POST", "/auth/agents/authorize").await, 1);
    assert_eq!(env.count("GET", "/merchants/me").await, 2);
}

/// A store that fails on demand, counting calls.
#[derive(Default)]
struct FlakyStore {
    fail_load: bool,
    fail_save: bool,
    saves: AtomicUsize,
}

impl TokenStore for FlakyStore {
    fn load(&self, _: &str) -> pesakit::Result<Option<TokenSet>> {
        if self.fail_load {
            return Err(Error::token_store("keychain locked"));
        }
        Ok(None)
    }
    fn save(&self, _: &str, _: &TokenSet) -> pesakit::Result<()> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        if self.fail_save {
            return Err(Error::token_store("disk full"));
        }
        Ok(())
    }
    fn clear(&self, _: &str) -> pesakit::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn token_store_failures_are_errors() {
    let env = start().await;
    let failing_load = Arc::new(FlakyStore {
        fail_load: true,
        ..Default::default()
    });
    let client = env.builder().token_store(failing_load).build().unwrap();
    let err = client.profile().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TokenStore);
    assert!(
        err.to_string()
            .contains("failed to load tokens: keychain locked"),
        "{err}"
    );
    assert_eq!(env.requests().await.len(), 0);

    let failing_save = Arc::new(FlakyStore {
        fail_save: true,
        ..Default::default()
    });
    let client = env
        .builder()
        .token_store(failing_save.clone())
        .build()
        .unwrap();
    let err = client.profile().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TokenStore);
    assert!(err.to_string().contains("disk full"));
    // The token obtained is kept in memory: the next call does not log in again.
    client.profile().await.unwrap();
    assert_eq!(env.count("POST", "/auth/agents/authorize").await, 1);
    assert_eq!(failing_save.saves.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn no_secret_in_logs_errors_or_debug() {
    let env = start().await;
    let logger = CapturingLogger::new();
    let store = seeded_store(&env, -1).await;
    let (access, refresh) = {
        let t = store.load(&store_key(&env)).unwrap().unwrap();
        (
            t.access_token.expose().to_owned(),
            t.refresh_token.unwrap().expose().to_owned(),
        )
    };
    let client = env
        .builder()
        .token_store(store.clone())
        .logger(logger.clone())
        .request_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    // Refresh, a retried fault on the refresh route, a 401, a failed call.
    env.fault(json!({"path": "/paypack/api/auth/refresh/", "kind": "status", "status": 503}))
        .await;
    client.profile().await.unwrap();
    env.post("/_sandbox/paypack/tokens/revoke", json!({"which": "all"}))
        .await;
    client.profile().await.unwrap();
    env.fault(json!({"path": "/paypack/api/auth/", "kind": "malformed_json", "count": 10}))
        .await;
    env.post("/_sandbox/paypack/tokens/revoke", json!({"which": "all"}))
        .await;
    let err = client.profile().await.unwrap_err();
    let current = store.load(&store_key(&env)).unwrap().unwrap();
    let secrets = [
        access.as_str(),
        refresh.as_str(),
        current.access_token.expose(),
        current.refresh_token.as_ref().unwrap().expose(),
        pesakit_sandbox::DEFAULT_CLIENT_SECRET,
    ];
    let texts = [
        logger.text(),
        err.to_string(),
        format!("{err:?}"),
        format!("{client:?}"),
        format!("{current:?}"),
        format!("{:?}", env.builder()),
    ];
    assert!(
        logger.text().contains("token refresh failed"),
        "{}",
        logger.text()
    );
    for text in &texts {
        for secret in secrets {
            assert!(!text.contains(secret), "secret leaked into: {text}");
        }
    }
}
