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
//! # drop(base);
//! sandbox.shutdown().await;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod control;
mod error;
mod jwt;
mod paypack;
mod server;
mod webhooks;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::control::Control;
use crate::paypack::Paypack;
use crate::server::Tasks;
use crate::webhooks::Webhooks;

/// Client id of the application the sandbox knows when none is configured.
pub const DEFAULT_CLIENT_ID: &str = "demo-client-id";
/// Client secret of the default application.
pub const DEFAULT_CLIENT_SECRET: &str = "demo-client-secret";
/// Secret that signs webhooks unless another is configured.
pub const DEFAULT_WEBHOOK_SECRET: &str = "demo-webhook-secret";

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
        let webhooks = Arc::new(Webhooks::new(http, Arc::clone(&tasks)));
        let control = Arc::new(Control::default());
        let paypack = Arc::new(Paypack::new(&config, webhooks, Arc::clone(&tasks)));
        let app = router(control, paypack);
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
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// Paypack's base URL: [`Sandbox::base_url`] + `/paypack/api`.
    pub fn paypack_base_url(&self) -> String {
        format!("{}/paypack/api", self.base_url())
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

/// Every route: the control API (never logged or faulted) and the gateways behind the
/// logging/fault middleware.
fn router(control: Arc<Control>, paypack: Arc<Paypack>) -> Router {
    let gateways = Router::new()
        .nest("/paypack/api", paypack::api_router(Arc::clone(&paypack)))
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&control),
            control::gateway_layer,
        ));
    control::router(control)
        .merge(paypack::control_router(paypack))
        .merge(gateways)
}
