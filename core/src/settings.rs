//! Settings every gateway client shares, and the builder methods that set them (one
//! definition, expanded into each gateway's builder).

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::http::{RetryPolicy, Transport, TransportConfig};
use crate::log::{LogSink, Logger};
use crate::token::{MemoryTokenStore, TokenStore};

/// Connection, retry and token settings common to every gateway's builder.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) allow_insecure_loopback: bool,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) refresh_skew: Duration,
    pub(crate) token_store: Option<Arc<dyn TokenStore>>,
    pub(crate) logger: Option<Arc<dyn Logger>>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            allow_insecure_loopback: false,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            refresh_skew: Duration::from_secs(60),
            token_store: None,
            logger: None,
        }
    }
}

impl Settings {
    /// Checks the timeouts and builds the gateway's transport (which carries the log sink).
    pub(crate) fn transport(&self, gateway: &'static str, base_url: String) -> Result<Transport> {
        for (name, d) in [
            ("connect timeout", self.connect_timeout),
            ("request timeout", self.request_timeout),
        ] {
            if d.is_zero() {
                return Err(Error::configuration(format!(
                    "the {name} must be greater than zero"
                )));
            }
        }
        Transport::new(TransportConfig {
            gateway,
            base_url,
            allow_insecure_loopback: self.allow_insecure_loopback,
            connect_timeout: self.connect_timeout,
            request_timeout: self.request_timeout,
            retry: self.retry.clone(),
            log: LogSink::new(self.logger.clone()),
        })
    }

    /// The token store: the caller's, or a memory store of this client's own.
    pub(crate) fn store(&self) -> Arc<dyn TokenStore> {
        self.token_store
            .clone()
            .unwrap_or_else(|| Arc::new(MemoryTokenStore::new()))
    }
}

/// Reads a boolean environment flag (`1`, `true` or `yes`, any case).
pub(crate) fn env_flag(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes"
    )
}

/// The builder methods for [`Settings`], for a builder with a `settings` field.
macro_rules! settings_methods {
    () => {
        /// Permits plain `http://` to loopback addresses (127.0.0.0/8, `::1`,
        /// `localhost`), for the emulator and local tests. Any other `http://` URL is
        /// always refused.
        pub fn allow_insecure_loopback(mut self, allow: bool) -> Self {
            self.settings.allow_insecure_loopback = allow;
            self
        }

        /// How long to wait for a connection (default 10 s).
        pub fn connect_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.settings.connect_timeout = timeout;
            self
        }

        /// How long one try of a request may take, answer body included (default 30 s).
        pub fn request_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.settings.request_timeout = timeout;
            self
        }

        /// How requests that are safe to repeat are retried (default
        /// [`RetryPolicy::default`](crate::RetryPolicy::default)).
        pub fn retry_policy(mut self, retry: crate::RetryPolicy) -> Self {
            self.settings.retry = retry;
            self
        }

        /// How long before expiry a token is renewed (default 60 s).
        pub fn refresh_skew(mut self, skew: std::time::Duration) -> Self {
            self.settings.refresh_skew = skew;
            self
        }

        /// Where tokens are kept (default: a [`MemoryTokenStore`](crate::MemoryTokenStore)
        /// of this client's own).
        pub fn token_store(mut self, store: std::sync::Arc<dyn crate::TokenStore>) -> Self {
            self.settings.token_store = Some(store);
            self
        }

        /// Where log lines go (default: nowhere). Lines never carry a secret.
        pub fn logger(mut self, logger: std::sync::Arc<dyn crate::Logger>) -> Self {
            self.settings.logger = Some(logger);
            self
        }
    };
}
