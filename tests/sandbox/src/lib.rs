//! `pesakit-sandbox`: a local emulator of the payment gateways pesakit speaks to.
//!
//! It is a real HTTP server that answers the gateways' paths with their real wire
//! shapes, keeps its state in memory, and can be steered through a control API under
//! `/_sandbox` (request log, injected faults, settling, token expiry, webhooks). See the
//! crate's README for the full behaviour.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sandbox = pesakit_sandbox::Sandbox::start(pesakit_sandbox::SandboxConfig::default()).await?;
//! let base = sandbox.paypack_base_url(); // http://127.0.0.1:PORT/paypack/api
//! let checkout = sandbox.checkout_base_url(); // http://127.0.0.1:PORT/checkout
//! let paga = sandbox.paga_base_url(); // http://127.0.0.1:PORT/paga
//! # drop((base, checkout, paga));
//! sandbox.shutdown().await;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod checkout;
mod control;
mod error;
mod jwt;
mod paga;
mod paypack;
mod server;
pub mod usage;
mod webhooks;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::checkout::Checkout;
use crate::control::Control;
use crate::paga::Paga;
use crate::paypack::Paypack;
use crate::server::Tasks;
use crate::webhooks::Webhooks;

/// Client id of the application the sandbox knows when none is configured.
pub const DEFAULT_CLIENT_ID: &str = "demo-client-id";
/// Client secret of the default application.
pub const DEFAULT_CLIENT_SECRET: &str = "demo-client-secret";
/// Secret that signs webhooks unless another is configured.
pub const DEFAULT_WEBHOOK_SECRET: &str = "demo-webhook-secret";

/// Hosted checkout: the client token with every scope (`*`).
pub const DEFAULT_CHECKOUT_TOKEN: &str = "demo-checkout-token";
/// Hosted checkout: the client token with only the `payments.get` scope.
pub const DEFAULT_CHECKOUT_LIMITED_TOKEN: &str = "demo-limited-token";
/// Hosted checkout: id of the default payment application.
pub const DEFAULT_CHECKOUT_APPLICATION_ID: u64 = 1;
/// Hosted checkout: name of the default payment application.
pub const DEFAULT_CHECKOUT_APPLICATION_NAME: &str = "Demo shop";
/// Hosted checkout: the default payment application's 32-character client id.
pub const DEFAULT_CHECKOUT_CLIENT_ID: &str = "demo0checkout0client0id000000001";
/// Hosted checkout: the default payment application's webhook secret.
pub const DEFAULT_CHECKOUT_WEBHOOK_SECRET: &str = "demo-checkout-webhook-secret";
/// Hosted checkout: the OAuth2 client id accepted by `POST /checkout/oauth/token`.
pub const DEFAULT_OAUTH_CLIENT_ID: &str = "demo-oauth-client";
/// Hosted checkout: the OAuth2 client secret.
pub const DEFAULT_OAUTH_CLIENT_SECRET: &str = "demo-oauth-secret";
/// Hosted checkout: the dashboard user's username (password grant).
pub const DEFAULT_OAUTH_USERNAME: &str = "demo@pesakit.dev";
/// Hosted checkout: the dashboard user's password (password grant).
pub const DEFAULT_OAUTH_PASSWORD: &str = "demo-password";
/// Hosted checkout: default OAuth2 access token lifetime, seconds.
pub const DEFAULT_CHECKOUT_OAUTH_TTL_SECS: u64 = 3600;
/// Hosted checkout: the gateway's webhook retry schedule, seconds between attempts
/// (7 retries over about 40 hours: 1 min, 5 min, 30 min, 2 h, 6 h, 12 h, 20 h).
pub const DEFAULT_CHECKOUT_WEBHOOK_RETRY_DELAYS_SECS: [u64; 7] =
    [60, 300, 1800, 7200, 21_600, 43_200, 72_000];

/// Paga Connect: the OAuth2 client id (HTTP Basic on the token endpoint).
pub const DEFAULT_PAGA_CLIENT_ID: &str = "demo-paga-client";
/// Paga Connect: the OAuth2 client secret.
pub const DEFAULT_PAGA_CLIENT_SECRET: &str = "demo-paga-secret";
/// Paga Connect: the user who approves authorization requests by default (Ada Obi,
/// username `adaobi`, publicId `PUB-ADA-001`, balance 50000 NGN).
pub const DEFAULT_PAGA_USER: &str = "demo-paga-user";
/// Paga Connect: phone number of [`DEFAULT_PAGA_USER`].
pub const DEFAULT_PAGA_USER_PHONE: &str = "08030000001";
/// Paga Connect: a user who refuses every authorization request (`access_denied`).
pub const PAGA_DENYING_USER: &str = "denying-paga-user";
/// Paga Connect: a second user (Chidi Eze, balance 0 NGN), the money-transfer recipient.
pub const PAGA_RECIPIENT_USER: &str = "recipient-paga-user";
/// Paga Connect: phone number of [`PAGA_RECIPIENT_USER`].
pub const DEFAULT_PAGA_RECIPIENT_PHONE: &str = "08030000002";
/// Paga Connect: default authorization code lifetime, seconds.
pub const DEFAULT_PAGA_CODE_TTL_SECS: u64 = 60;
/// Paga Connect: default access token lifetime, seconds.
pub const DEFAULT_PAGA_ACCESS_TTL_SECS: u64 = 3600;

/// Hosted checkout: a static client token and the scopes it carries
/// (`payments.create`, `payments.get`, `payments.user-instructions.get`, or `*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutToken {
    /// The bearer token, as sent in `Authorization: Bearer <token>`.
    pub token: String,
    /// Its scopes; `*` grants every scope.
    pub scopes: Vec<String>,
}

impl CheckoutToken {
    /// A token with these scopes.
    pub fn new<S: Into<String>>(
        token: impl Into<String>,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        CheckoutToken {
            token: token.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
        }
    }

    /// The default tokens: [`DEFAULT_CHECKOUT_TOKEN`] (`*`) and
    /// [`DEFAULT_CHECKOUT_LIMITED_TOKEN`] (`payments.get`).
    pub fn defaults() -> Vec<CheckoutToken> {
        vec![
            CheckoutToken::new(DEFAULT_CHECKOUT_TOKEN, ["*"]),
            CheckoutToken::new(DEFAULT_CHECKOUT_LIMITED_TOKEN, ["payments.get"]),
        ]
    }
}

/// A Paypack application (API credentials), each with its own merchant account.
#[derive(Clone, Debug)]
pub struct App {
    /// The application's client id.
    pub client_id: String,
    /// The application's client secret.
    pub client_secret: String,
}

impl App {
    /// An application with these credentials.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        App {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }
}

impl Default for App {
    /// The `demo-client-id:demo-client-secret` application.
    fn default() -> Self {
        App::new(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    }
}

/// How a [`Sandbox`] starts. [`Default`] gives the README's defaults.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Address to bind (default `127.0.0.1`).
    pub host: IpAddr,
    /// Port to bind; `0` picks a free one (default).
    pub port: u16,
    /// Paypack applications (default: the demo pair).
    pub apps: Vec<App>,
    /// Secret that signs webhooks (default [`DEFAULT_WEBHOOK_SECRET`]).
    pub webhook_secret: String,
    /// Webhook endpoints that receive every event, whatever its mode (default none).
    pub webhook_urls: Vec<String>,
    /// Pending transactions settle by themselves after this long (default 2 s);
    /// `None` (or zero) = only through the control API.
    pub settle_after: Option<Duration>,
    /// Access token lifetime (default 900 s).
    pub access_ttl: Duration,
    /// Refresh token lifetime (default 432000 s).
    pub refresh_ttl: Duration,
    /// Whether `GET /auth/refresh/{token}` answers (default true; else 404).
    pub refresh_path: bool,
    /// Whether `GET /auth/agents/refresh/{token}` answers (default true; else 404).
    pub agents_refresh_path: bool,
    /// Hosted checkout: the static client tokens (default [`CheckoutToken::defaults`]).
    pub checkout_tokens: Vec<CheckoutToken>,
    /// Hosted checkout: the default payment application's webhook secret (default
    /// [`DEFAULT_CHECKOUT_WEBHOOK_SECRET`]).
    pub checkout_webhook_secret: String,
    /// Hosted checkout: the default payment application's callback URL, where its
    /// webhooks go (default none: no webhooks are sent).
    pub checkout_callback_url: Option<String>,
    /// Hosted checkout: OAuth2 access token lifetime (default 3600 s).
    pub checkout_oauth_ttl: Duration,
    /// Hosted checkout: pauses before each webhook retry; a failed delivery is retried
    /// once per entry (default [`DEFAULT_CHECKOUT_WEBHOOK_RETRY_DELAYS_SECS`]).
    pub checkout_webhook_retry_delays: Vec<Duration>,
    /// Paga Connect: the OAuth2 client id (default [`DEFAULT_PAGA_CLIENT_ID`]).
    pub paga_client_id: String,
    /// Paga Connect: the OAuth2 client secret (default [`DEFAULT_PAGA_CLIENT_SECRET`]).
    pub paga_client_secret: String,
    /// Paga Connect: authorization code lifetime (default 60 s).
    pub paga_code_ttl: Duration,
    /// Paga Connect: access token lifetime (default 3600 s).
    pub paga_access_ttl: Duration,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            apps: vec![App::default()],
            webhook_secret: DEFAULT_WEBHOOK_SECRET.to_owned(),
            webhook_urls: Vec::new(),
            settle_after: Some(Duration::from_millis(2000)),
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(432_000),
            refresh_path: true,
            agents_refresh_path: true,
            checkout_tokens: CheckoutToken::defaults(),
            checkout_webhook_secret: DEFAULT_CHECKOUT_WEBHOOK_SECRET.to_owned(),
            checkout_callback_url: None,
            checkout_oauth_ttl: Duration::from_secs(DEFAULT_CHECKOUT_OAUTH_TTL_SECS),
            checkout_webhook_retry_delays: DEFAULT_CHECKOUT_WEBHOOK_RETRY_DELAYS_SECS
                .iter()
                .map(|&secs| Duration::from_secs(secs))
                .collect(),
            paga_client_id: DEFAULT_PAGA_CLIENT_ID.to_owned(),
            paga_client_secret: DEFAULT_PAGA_CLIENT_SECRET.to_owned(),
            paga_code_ttl: Duration::from_secs(DEFAULT_PAGA_CODE_TTL_SECS),
            paga_access_ttl: Duration::from_secs(DEFAULT_PAGA_ACCESS_TTL_SECS),
        }
    }
}

/// A running sandbox. Dropping it (or [`Sandbox::shutdown`]) stops the server, closes
/// its connections and aborts its background tasks.
pub struct Sandbox {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    tasks: Arc<Tasks>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("addr", &self.addr).finish()
    }
}

impl Sandbox {
    /// Binds, spawns the server on the current tokio runtime, and returns once it is
    /// listening.
    pub async fn start(config: SandboxConfig) -> std::io::Result<Sandbox> {
        let listener = TcpListener::bind((config.host, config.port)).await?;
        let addr = listener.local_addr()?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(std::io::Error::other)?;
        let tasks = Arc::new(Tasks::new());
        let webhooks = Arc::new(Webhooks::new(http.clone(), Arc::clone(&tasks)));
        let control = Arc::new(Control::default());
        let paypack = Arc::new(Paypack::new(&config, webhooks, Arc::clone(&tasks)));
        let checkout_base = format!("{}/checkout", public_base_url(addr));
        let checkout = Arc::new(Checkout::new(
            &config,
            checkout_base,
            http,
            Arc::clone(&tasks),
        ));
        let paga = Arc::new(Paga::new(&config));
        let app = router(control, paypack, checkout, paga);
        let (stop, stopped) = oneshot::channel();
        let server = tokio::spawn(server::serve(listener, app, stopped));
        Ok(Sandbox {
            addr,
            stop: Some(stop),
            server: Some(server),
            tasks,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (an unspecified bind address is replaced by loopback).
    pub fn base_url(&self) -> String {
        public_base_url(self.addr)
    }

    /// Paypack's base URL: [`Sandbox::base_url`] + `/paypack/api`.
    pub fn paypack_base_url(&self) -> String {
        format!("{}/paypack/api", self.base_url())
    }

    /// The hosted-checkout gateway's base URL: [`Sandbox::base_url`] + `/checkout`
    /// (its API paths are under `/checkout/api/…`, its OAuth2 token endpoint is
    /// `/checkout/oauth/token`).
    pub fn checkout_base_url(&self) -> String {
        format!("{}/checkout", self.base_url())
    }

    /// Paga Connect's base URL: [`Sandbox::base_url`] + `/paga` (every path is under
    /// `/paga/paga-webservices/…`).
    pub fn paga_base_url(&self) -> String {
        format!("{}/paga", self.base_url())
    }

    /// Stops accepting, aborts every connection and background task, and waits for
    /// the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.tasks.shutdown();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
        self.tasks.shutdown();
    }
}

/// `http://IP:PORT` of a bound address, an unspecified IP replaced by loopback.
fn public_base_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// Every route: the control API (never logged or faulted) and the gateways behind the
/// logging/fault middleware.
fn router(
    control: Arc<Control>,
    paypack: Arc<Paypack>,
    checkout: Arc<Checkout>,
    paga: Arc<Paga>,
) -> Router {
    let gateways = Router::new()
        .nest("/paypack/api", paypack::api_router(Arc::clone(&paypack)))
        .nest("/checkout", checkout::router(Arc::clone(&checkout)))
        .nest("/paga", paga::router(Arc::clone(&paga)))
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&control),
            control::gateway_layer,
        ));
    control::router(control)
        .merge(paypack::control_router(paypack))
        .merge(checkout::control_router(checkout))
        .merge(paga::control_router(paga))
        .merge(gateways)
}
