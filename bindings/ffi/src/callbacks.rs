//! What the host language can implement: a `TokenStore` and a `Logger`.

use std::mem::ManuallyDrop;
use std::sync::Arc;
use std::time::SystemTime;

use pesakit::{Secret, Timestamp};

use crate::error::{ErrorKind, PesakitError};
use crate::host;
use crate::types::{from_system_time, to_system_time};

/// The tokens a client holds for one account. Opaque on purpose: printing it never
/// shows a token. Read the parts with its methods, or store it whole with `to_json`.
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct TokenSet {
    pub(crate) inner: pesakit::TokenSet,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TokenSet(access_token=[redacted], refresh_token={}, expires_at={})",
            if self.inner.refresh_token.is_some() {
                "[redacted]"
            } else {
                "none"
            },
            self.inner.expires_at
        )
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredTokens {
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Timestamp,
    refresh_expires_at: Option<Timestamp>,
    obtained_at: Timestamp,
}

#[uniffi::export]
impl TokenSet {
    /// Tokens from their parts (for a store that keeps the fields apart).
    #[uniffi::constructor(default(refresh_token = None, refresh_expires_at = None, obtained_at = None))]
    pub fn new(
        access_token: String,
        expires_at: SystemTime,
        refresh_token: Option<String>,
        refresh_expires_at: Option<SystemTime>,
        obtained_at: Option<SystemTime>,
    ) -> Result<Arc<Self>, PesakitError> {
        let expires_at = from_system_time(expires_at)?;
        Ok(Arc::new(TokenSet {
            inner: pesakit::TokenSet {
                access_token: Secret::new(access_token),
                refresh_token: refresh_token.map(Secret::new),
                expires_at,
                refresh_expires_at: refresh_expires_at.map(from_system_time).transpose()?,
                obtained_at: match obtained_at {
                    Some(t) => from_system_time(t)?,
                    None => Timestamp::now().min(expires_at),
                },
            },
        }))
    }

    /// Tokens read back from what [`TokenSet::to_json`] produced.
    #[uniffi::constructor]
    pub fn from_json(json: String) -> Result<Arc<Self>, PesakitError> {
        let stored: StoredTokens = serde_json::from_str(&json).map_err(|e| {
            PesakitError::simple(
                ErrorKind::TokenStore,
                format!("stored tokens are unreadable: {e}"),
            )
        })?;
        Ok(Arc::new(TokenSet {
            inner: pesakit::TokenSet {
                access_token: Secret::new(stored.access_token),
                refresh_token: stored.refresh_token.map(Secret::new),
                expires_at: stored.expires_at,
                refresh_expires_at: stored.refresh_expires_at,
                obtained_at: stored.obtained_at,
            },
        }))
    }

    /// All of it as one JSON string, to keep in a single Keychain or Keystore entry.
    /// The string contains the tokens: store it as a secret.
    pub fn to_json(&self) -> String {
        let t = &self.inner;
        serde_json::to_string(&StoredTokens {
            access_token: t.access_token.expose().to_owned(),
            refresh_token: t.refresh_token.as_ref().map(|r| r.expose().to_owned()),
            expires_at: t.expires_at,
            refresh_expires_at: t.refresh_expires_at,
            obtained_at: t.obtained_at,
        })
        .expect("tokens serialise")
    }

    /// The bearer token. Never log it.
    pub fn access_token(&self) -> String {
        self.inner.access_token.expose().to_owned()
    }

    /// The refresh token, when the gateway issued one. Never log it.
    pub fn refresh_token(&self) -> Option<String> {
        self.inner
            .refresh_token
            .as_ref()
            .map(|r| r.expose().to_owned())
    }

    /// When the access token expires.
    pub fn expires_at(&self) -> SystemTime {
        to_system_time(self.inner.expires_at)
    }

    /// When the refresh token expires, when known.
    pub fn refresh_expires_at(&self) -> Option<SystemTime> {
        self.inner.refresh_expires_at.map(to_system_time)
    }

    /// When the tokens were obtained.
    pub fn obtained_at(&self) -> SystemTime {
        to_system_time(self.inner.obtained_at)
    }
}

/// Where a client keeps its tokens. Implement it in your language over the Keychain,
/// the Android Keystore or a database. `key` names the account. Raise a `PesakitError`
/// (or any exception) to report a failure: the call fails with a `TokenStore` error.
/// Methods are called on whichever thread carries the call (one of pesakit's own
/// threads, or a thread that is making a blocking call, the caller's or another's) and
/// must not call a client's blocking methods: such a call is refused with an `Internal`
/// error. Nor should they wait for another pesakit call, which may need the thread
/// they hold. Once a Python
/// program has begun to exit, pesakit no longer calls a store: a call that needs one fails
/// with a `TokenStore` error.
#[uniffi::export(foreign)]
pub trait TokenStore: Send + Sync {
    /// The tokens saved under `key`, if any.
    fn load(&self, key: String) -> Result<Option<Arc<TokenSet>>, PesakitError>;
    /// Saves `tokens` under `key`.
    fn save(&self, key: String, tokens: Arc<TokenSet>) -> Result<(), PesakitError>;
    /// Forgets what is saved under `key`.
    fn clear(&self, key: String) -> Result<(), PesakitError>;
}

/// Adapts a foreign store to the core's trait. Every call into the host goes through
/// [`host::HOST`], so none starts once the host is shutting down (see `host.rs`).
pub(crate) struct ForeignStore(ManuallyDrop<Arc<dyn TokenStore>>);

impl ForeignStore {
    pub(crate) fn new(store: Arc<dyn TokenStore>) -> Self {
        ForeignStore(ManuallyDrop::new(store))
    }

    fn call<T>(
        &self,
        what: &str,
        f: impl FnOnce(&dyn TokenStore) -> Result<T, PesakitError>,
    ) -> pesakit::Result<T> {
        let Some(_inside) = host::HOST.enter() else {
            return Err(PesakitError::simple(
                ErrorKind::TokenStore,
                format!("the token store's {what} was not called: the program is exiting"),
            )
            .into());
        };
        f(&**self.0).map_err(pesakit::Error::from)
    }
}

impl pesakit::TokenStore for ForeignStore {
    fn load(&self, key: &str) -> pesakit::Result<Option<pesakit::TokenSet>> {
        self.call("load", |store| store.load(key.to_owned()))
            .map(|t| t.map(|t| t.inner.clone()))
    }

    fn save(&self, key: &str, tokens: &pesakit::TokenSet) -> pesakit::Result<()> {
        self.call("save", |store| {
            store.save(
                key.to_owned(),
                Arc::new(TokenSet {
                    inner: tokens.clone(),
                }),
            )
        })
    }

    fn clear(&self, key: &str) -> pesakit::Result<()> {
        self.call("clear", |store| store.clear(key.to_owned()))
    }
}

impl Drop for ForeignStore {
    fn drop(&mut self) {
        release(&mut self.0);
    }
}

/// Drops a handle on a host object, which calls into the host when it is the last one;
/// once the host is shutting down the handle is leaked instead (the process is ending).
fn release<T: ?Sized>(handle: &mut ManuallyDrop<Arc<T>>) {
    if let Some(_inside) = host::HOST.enter() {
        // SAFETY: called once, from the owner's `drop`; the handle is not used again.
        unsafe { ManuallyDrop::drop(handle) }
    }
}

/// How important a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    /// A call failed.
    Error,
    /// Something was worked around (a retry, a fallback).
    Warn,
    /// A notable step (a token obtained or refreshed).
    Info,
    /// Every HTTP exchange.
    Debug,
}

/// Receives pesakit's log lines, which never contain a secret. Called on whichever
/// thread carries the call (one of pesakit's own threads, or a thread that is making a
/// blocking call); keep it quick.
/// Whatever it raises is ignored. Once a Python program has begun to exit, lines are
/// dropped instead of logged.
#[uniffi::export(foreign)]
pub trait Logger: Send + Sync {
    /// One log line.
    fn log(&self, level: LogLevel, message: String) -> Result<(), PesakitError>;
}

/// Adapts a foreign logger to the core's trait. Lines are dropped once the host is
/// shutting down (see `host.rs`).
pub(crate) struct ForeignLogger(ManuallyDrop<Arc<dyn Logger>>);

impl ForeignLogger {
    pub(crate) fn new(logger: Arc<dyn Logger>) -> Self {
        ForeignLogger(ManuallyDrop::new(logger))
    }
}

impl pesakit::Logger for ForeignLogger {
    fn log(&self, level: pesakit::LogLevel, message: &str) {
        let level = match level {
            pesakit::LogLevel::Error => LogLevel::Error,
            pesakit::LogLevel::Warn => LogLevel::Warn,
            pesakit::LogLevel::Info => LogLevel::Info,
            pesakit::LogLevel::Debug => LogLevel::Debug,
        };
        let Some(_inside) = host::HOST.enter() else {
            return;
        };
        // A failing logger must not fail the payment call it is logging.
        let _ = self.0.log(level, message.to_owned());
    }
}

impl Drop for ForeignLogger {
    fn drop(&mut self) {
        release(&mut self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_sets_round_trip_through_json_and_never_print_tokens() {
        let t = TokenSet::new(
            "access-secret-xyz".into(),
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(2_000_000_000),
            Some("refresh-secret-xyz".into()),
            None,
            None,
        )
        .unwrap();
        let back = TokenSet::from_json(t.to_json()).unwrap();
        assert_eq!(back.inner, t.inner);
        let shown = format!("{t:?}");
        assert!(!shown.contains("secret-xyz"), "{shown}");
        assert!(TokenSet::from_json("{}".into()).is_err());
    }
}
