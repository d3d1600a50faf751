//! Token handling shared by every gateway: the persisted [`TokenSet`], the pluggable
//! [`TokenStore`], and the single-flight manager that keeps a valid access token.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use base64::Engine;

use crate::error::{Error, ErrorKind, Result};
use crate::http::{Answer, Call, Transport};
use crate::log::{LogLevel, LogSink};
use crate::secret::Secret;
use crate::time::Timestamp;

/// The tokens a client holds for one account, as persisted by a [`TokenStore`].
#[derive(Clone, Debug, PartialEq)]
pub struct TokenSet {
    /// The bearer token sent with every request.
    pub access_token: Secret,
    /// The token that obtains a new access token, when the gateway issued one.
    pub refresh_token: Option<Secret>,
    /// When the access token stops being accepted.
    pub expires_at: Timestamp,
    /// When the refresh token stops being accepted, when known.
    pub refresh_expires_at: Option<Timestamp>,
    /// When the tokens were obtained (used to refresh ahead of expiry without
    /// refreshing short-lived tokens on every call).
    pub obtained_at: Timestamp,
}

impl TokenSet {
    /// Whether the access token should be renewed now, `skew` ahead of its expiry.
    /// For tokens that live less than twice `skew`, renewal starts halfway through
    /// their life instead, so a short-lived token is not renewed on every call.
    pub fn needs_refresh(&self, now: Timestamp, skew: Duration) -> bool {
        let lifetime = self
            .expires_at
            .duration_since(self.obtained_at)
            .unsigned_abs();
        let margin = skew.min(lifetime / 2);
        let margin = jiff::SignedDuration::try_from(margin).unwrap_or(jiff::SignedDuration::ZERO);
        match self.expires_at.checked_sub(margin) {
            Ok(renew_at) => now >= renew_at,
            Err(_) => true,
        }
    }

    /// Whether the refresh token can still be used at `now`.
    pub fn can_refresh(&self, now: Timestamp) -> bool {
        match (&self.refresh_token, self.refresh_expires_at) {
            (Some(t), Some(exp)) => !t.is_empty() && now < exp,
            (Some(t), None) => !t.is_empty(),
            (None, _) => false,
        }
    }
}

/// Where a client keeps its tokens between calls and across restarts.
///
/// A client loads from its store once, saves after every authorization or refresh, and
/// clears when the gateway refuses its credentials. Keys name the account (for Paypack,
/// the base URL and client id), so one store can serve many clients. Implement it over
/// the Keychain, the Android Keystore or a database; [`MemoryTokenStore`] is the
/// default. Methods are called from the client's async tasks and should return quickly.
pub trait TokenStore: Send + Sync {
    /// The tokens saved under `key`, if any.
    fn load(&self, key: &str) -> Result<Option<TokenSet>>;
    /// Saves `tokens` under `key`, replacing what was there.
    fn save(&self, key: &str, tokens: &TokenSet) -> Result<()>;
    /// Forgets the tokens saved under `key`.
    fn clear(&self, key: &str) -> Result<()>;
}

/// A [`TokenStore`] in process memory: tokens live as long as the store.
#[derive(Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<HashMap<String, TokenSet>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.tokens.lock().map(|m| m.len()).unwrap_or(0);
        write!(f, "MemoryTokenStore({n} entries)")
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self, key: &str) -> Result<Option<TokenSet>> {
        Ok(self.tokens.lock().map_err(poisoned)?.get(key).cloned())
    }

    fn save(&self, key: &str, tokens: &TokenSet) -> Result<()> {
        self.tokens
            .lock()
            .map_err(poisoned)?
            .insert(key.to_owned(), tokens.clone());
        Ok(())
    }

    fn clear(&self, key: &str) -> Result<()> {
        self.tokens.lock().map_err(poisoned)?.remove(key);
        Ok(())
    }
}

fn poisoned<T>(_: T) -> Error {
    Error::token_store("the in-memory token store was poisoned by a panic")
}

/// How a gateway obtains tokens: a fresh login, or a refresh.
pub(crate) trait Authenticator: Send + Sync {
    /// Logs in with the client's own credentials.
    fn authorize(&self) -> impl Future<Output = Result<TokenSet>> + Send;
    /// Exchanges a refresh token for new tokens.
    fn refresh(&self, refresh_token: &Secret) -> impl Future<Output = Result<TokenSet>> + Send;
}

struct Cached {
    tokens: Option<Arc<TokenSet>>,
    generation: u64,
    loaded: bool,
}

/// Keeps one account's access token valid. At most one authorization or refresh runs
/// at a time; callers that arrive meanwhile wait for it and share its result.
pub(crate) struct TokenManager {
    key: String,
    store: Arc<dyn TokenStore>,
    skew: Duration,
    cached: RwLock<Cached>,
    renewing: tokio::sync::Mutex<()>,
    log: LogSink,
    /// Tokens the caller handed over, used when the store holds none.
    initial: Option<TokenSet>,
}

impl TokenManager {
    pub(crate) fn new(
        key: String,
        store: Arc<dyn TokenStore>,
        skew: Duration,
        log: LogSink,
    ) -> Self {
        TokenManager {
            key,
            store,
            skew,
            cached: RwLock::new(Cached {
                tokens: None,
                generation: 0,
                loaded: false,
            }),
            renewing: tokio::sync::Mutex::new(()),
            log,
            initial: None,
        }
    }

    /// Starts from `tokens` when the store holds none for this key (tokens obtained
    /// elsewhere, such as an OAuth sign-in). Tokens already in the store win: they are
    /// the newer ones after a rotation.
    pub(crate) fn with_initial(mut self, tokens: TokenSet) -> Self {
        self.initial = Some(tokens);
        self
    }

    fn snapshot(&self) -> (Option<Arc<TokenSet>>, u64) {
        let c = self.cached.read().unwrap_or_else(|e| e.into_inner());
        (c.tokens.clone(), c.generation)
    }

    /// A valid access token: the cached one, or a renewed one.
    pub(crate) async fn access_token<A: Authenticator>(&self, auth: &A) -> Result<Arc<TokenSet>> {
        let (current, generation) = self.snapshot();
        if let Some(t) = &current {
            if !t.needs_refresh(Timestamp::now(), self.skew) {
                return Ok(current.unwrap());
            }
        }
        let _guard = self.renewing.lock().await;
        let (current, now_generation) = self.snapshot();
        if now_generation != generation {
            // Another caller renewed while this one waited: use its result.
            if let Some(t) = current {
                return Ok(t);
            }
        }
        let current = match current {
            Some(t) => Some(t),
            None => self.load_once()?,
        };
        if let Some(t) = &current {
            if !t.needs_refresh(Timestamp::now(), self.skew) {
                return Ok(current.unwrap());
            }
        }
        self.renew(auth, current.as_deref()).await
    }

    /// A new access token after the gateway refused `rejected` with a 401. If another
    /// caller already replaced it, that replacement is returned without a new request.
    pub(crate) async fn renew_after_unauthorized<A: Authenticator>(
        &self,
        auth: &A,
        rejected: &Arc<TokenSet>,
    ) -> Result<Arc<TokenSet>> {
        let _guard = self.renewing.lock().await;
        let (current, _) = self.snapshot();
        if let Some(t) = &current {
            if t.access_token != rejected.access_token {
                return Ok(current.unwrap());
            }
        }
        self.log.log(LogLevel::Info, || {
            "the gateway refused the access token (HTTP 401); renewing it".to_owned()
        });
        self.renew(auth, Some(rejected)).await
    }

    /// Sends `call` with this account's access token; after a 401 (the gateway did not
    /// act), renews the token and tries once more.
    pub(crate) async fn send<A: Authenticator>(
        &self,
        transport: &Transport,
        auth: &A,
        mut call: Call<'_>,
    ) -> Result<Answer> {
        let tokens = self.access_token(auth).await?;
        call.bearer = Some(tokens.access_token.clone());
        match transport.send(&call).await {
            Err(e) if e.status() == Some(401) => {
                let renewed = self.renew_after_unauthorized(auth, &tokens).await?;
                call.bearer = Some(renewed.access_token.clone());
                transport.send(&call).await
            }
            other => other,
        }
    }

    fn load_once(&self) -> Result<Option<Arc<TokenSet>>> {
        {
            let c = self.cached.read().unwrap_or_else(|e| e.into_inner());
            if c.loaded {
                return Ok(c.tokens.clone());
            }
        }
        let mut loaded = self
            .store
            .load(&self.key)
            .map_err(|e| wrap_store_error(e, "load"))?
            .map(Arc::new);
        if loaded.is_none() {
            if let Some(initial) = &self.initial {
                self.store
                    .save(&self.key, initial)
                    .map_err(|e| wrap_store_error(e, "save"))?;
                loaded = Some(Arc::new(initial.clone()));
            }
        }
        let mut c = self.cached.write().unwrap_or_else(|e| e.into_inner());
        c.loaded = true;
        if c.tokens.is_none() {
            c.tokens = loaded;
        }
        if c.tokens.is_some() {
            self.log.log(LogLevel::Debug, || {
                "tokens loaded from the token store".to_owned()
            });
        }
        Ok(c.tokens.clone())
    }

    /// Refreshes when a refresh token is usable, and logs in again when there is none
    /// or the refresh fails for any reason. Must be called with `renewing` held.
    async fn renew<A: Authenticator>(
        &self,
        auth: &A,
        current: Option<&TokenSet>,
    ) -> Result<Arc<TokenSet>> {
        let now = Timestamp::now();
        let refreshed = match current {
            Some(t) if t.can_refresh(now) => {
                let refresh_token = t.refresh_token.clone().expect("can_refresh checked it");
                match auth.refresh(&refresh_token).await {
                    Ok(new) => {
                        self.log
                            .log(LogLevel::Info, || "access token refreshed".to_owned());
                        Some(new)
                    }
                    Err(e) => {
                        self.log.log(LogLevel::Warn, || {
                            format!("token refresh failed ({}); authorizing again", e.kind())
                        });
                        None
                    }
                }
            }
            _ => None,
        };
        let new = match refreshed {
            Some(t) => t,
            None => match auth.authorize().await {
                Ok(t) => {
                    self.log.log(LogLevel::Info, || "authorized".to_owned());
                    t
                }
                Err(e) => {
                    if e.kind() == ErrorKind::Authentication {
                        // The credentials themselves are refused: stored tokens are
                        // useless, forget them (best effort; the login error matters more).
                        let _ = self.store.clear(&self.key);
                        let mut c = self.cached.write().unwrap_or_else(|e| e.into_inner());
                        c.tokens = None;
                        c.generation += 1;
                    }
                    return Err(e);
                }
            },
        };
        let new = Arc::new(new);
        {
            let mut c = self.cached.write().unwrap_or_else(|e| e.into_inner());
            c.tokens = Some(new.clone());
            c.generation += 1;
            c.loaded = true;
        }
        // Cached first, so a failing store does not cost another login on the next call.
        self.store
            .save(&self.key, &new)
            .map_err(|e| wrap_store_error(e, "save"))?;
        Ok(new)
    }
}

fn wrap_store_error(e: Error, what: &str) -> Error {
    if e.kind() == ErrorKind::TokenStore {
        e.prefixed(&format!("the token store failed to {what} tokens"))
    } else {
        Error::token_store(format!("the token store failed to {what} tokens: {e}"))
    }
}

/// Reads the `exp` claim of a JWT-shaped token, without verifying it (the gateway
/// verifies; the client only needs to know when to renew).
pub(crate) fn jwt_expiry(token: &str) -> Option<Timestamp> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?;
    let secs = exp
        .as_i64()
        .or_else(|| exp.as_f64().map(|f| f as i64))
        .or_else(|| exp.as_str().and_then(|s| s.trim().parse().ok()))?;
    Timestamp::from_second(secs).ok()
}

/// Decides when an access token expires from the gateway's `expires` value: absolute
/// unix seconds, or relative seconds when below 10^9; failing that, the JWT `exp`
/// claim; failing that, `fallback` from now.
pub(crate) fn expiry_from(
    expires: Option<&serde_json::Value>,
    access_token: &str,
    now: Timestamp,
    fallback: Duration,
) -> Timestamp {
    let seconds = expires.and_then(|v| {
        v.as_f64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse::<f64>().ok()))
    });
    if let Some(s) = seconds.filter(|s| s.is_finite() && *s > 0.0) {
        let at = if s < 1e9 {
            jiff::SignedDuration::try_from_secs_f64(s)
                .ok()
                .and_then(|d| now.checked_add(d).ok())
        } else {
            Timestamp::from_second(s as i64).ok()
        };
        if let Some(at) = at {
            return at;
        }
    }
    if let Some(at) = jwt_expiry(access_token) {
        return at;
    }
    now.checked_add(jiff::SignedDuration::try_from(fallback).unwrap_or_default())
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jwt(exp: i64) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            e.encode(br#"{"alg":"HS256"}"#),
            e.encode(format!(r#"{{"exp":{exp}}}"#))
        )
    }

    #[test]
    fn expires_absolute_relative_or_from_jwt() {
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let fb = Duration::from_secs(300);
        let abs = expiry_from(Some(&json!(1_700_000_900)), "x", now, fb);
        assert_eq!(abs.as_second(), 1_700_000_900);
        let rel = expiry_from(Some(&json!(900)), "x", now, fb);
        assert_eq!(rel.as_second(), 1_700_000_900);
        let rel_text = expiry_from(Some(&json!("900")), "x", now, fb);
        assert_eq!(rel_text.as_second(), 1_700_000_900);
        let from_jwt = expiry_from(Some(&json!("soon")), &jwt(1_700_000_500), now, fb);
        assert_eq!(from_jwt.as_second(), 1_700_000_500);
        let absent = expiry_from(None, &jwt(1_700_000_600), now, fb);
        assert_eq!(absent.as_second(), 1_700_000_600);
        let nothing = expiry_from(None, "opaque", now, fb);
        assert_eq!(nothing.as_second(), 1_700_000_300);
    }

    #[test]
    fn refresh_ahead_of_expiry_but_not_for_every_short_token() {
        let obtained = Timestamp::from_second(1_000_000_000).unwrap();
        let t = TokenSet {
            access_token: Secret::new("a"),
            refresh_token: None,
            expires_at: Timestamp::from_second(1_000_000_900).unwrap(),
            refresh_expires_at: None,
            obtained_at: obtained,
        };
        let skew = Duration::from_secs(60);
        assert!(!t.needs_refresh(Timestamp::from_second(1_000_000_839).unwrap(), skew));
        assert!(t.needs_refresh(Timestamp::from_second(1_000_000_840).unwrap(), skew));
        // A 20-second token with a 60-second skew renews at half-life, not at once.
        let short = TokenSet {
            expires_at: Timestamp::from_second(1_000_000_020).unwrap(),
            ..t.clone()
        };
        assert!(!short.needs_refresh(Timestamp::from_second(1_000_000_009).unwrap(), skew));
        assert!(short.needs_refresh(Timestamp::from_second(1_000_000_010).unwrap(), skew));
    }

    #[test]
    fn memory_store_round_trip() {
        let s = MemoryTokenStore::new();
        assert!(s.load("k").unwrap().is_none());
        let t = TokenSet {
            access_token: Secret::new("a"),
            refresh_token: Some(Secret::new("r")),
            expires_at: Timestamp::now(),
            refresh_expires_at: None,
            obtained_at: Timestamp::now(),
        };
        s.save("k", &t).unwrap();
        assert_eq!(s.load("k").unwrap(), Some(t));
        s.clear("k").unwrap();
        assert!(s.load("k").unwrap().is_none());
    }
}
