//! `pesakit-sandbox`: runs the gateway emulator until SIGINT or SIGTERM.

use std::io::Write;
use std::net::IpAddr;
use std::time::Duration;

use clap::Parser;
use pesakit_sandbox::{
    App, CheckoutToken, Sandbox, SandboxConfig, DEFAULT_CHECKOUT_OAUTH_TTL_SECS,
    DEFAULT_CHECKOUT_WEBHOOK_RETRY_DELAYS_SECS, DEFAULT_CHECKOUT_WEBHOOK_SECRET,
    DEFAULT_PAGA_ACCESS_TTL_SECS, DEFAULT_PAGA_CODE_TTL_SECS, DEFAULT_WEBHOOK_SECRET,
};

/// A local emulator of the payment gateways pesakit speaks to.
#[derive(Debug, Parser)]
#[command(name = "pesakit-sandbox", version, about)]
struct Cli {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// A Paypack application, ID:SECRET (repeatable; default demo-client-id:demo-client-secret).
    #[arg(long = "app", value_name = "ID:SECRET", value_parser = parse_app)]
    apps: Vec<App>,
    /// Secret that signs webhooks.
    #[arg(long, default_value = DEFAULT_WEBHOOK_SECRET)]
    webhook_secret: String,
    /// A webhook endpoint for every mode (repeatable).
    #[arg(long = "webhook-url", value_name = "URL")]
    webhook_urls: Vec<String>,
    /// Pending transactions settle by themselves after N ms; 0 = only through the control API.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    settle_after_ms: u64,
    /// Access token lifetime, seconds.
    #[arg(long, value_name = "N", default_value_t = 900)]
    access_ttl_secs: u64,
    /// Refresh token lifetime, seconds.
    #[arg(long, value_name = "N", default_value_t = 432_000)]
    refresh_ttl_secs: u64,
    /// Answer 404 on GET /auth/refresh/{token}.
    #[arg(long)]
    no_refresh_path: bool,
    /// Answer 404 on GET /auth/agents/refresh/{token}.
    #[arg(long)]
    no_agents_refresh_path: bool,
    /// Hosted checkout: a client token, TOKEN:scope1,scope2 (repeatable; replaces
    /// demo-checkout-token:* and demo-limited-token:payments.get).
    #[arg(long = "checkout-token", value_name = "TOKEN:SCOPES", value_parser = parse_checkout_token)]
    checkout_tokens: Vec<CheckoutToken>,
    /// Hosted checkout: the default payment application's webhook secret.
    #[arg(long, default_value = DEFAULT_CHECKOUT_WEBHOOK_SECRET)]
    checkout_webhook_secret: String,
    /// Hosted checkout: the default payment application's callback (webhook) URL.
    #[arg(long, value_name = "URL")]
    checkout_callback_url: Option<String>,
    /// Hosted checkout: OAuth2 access token lifetime, seconds.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CHECKOUT_OAUTH_TTL_SECS)]
    checkout_oauth_ttl_secs: u64,
    /// Hosted checkout: pauses before each webhook retry, comma-separated milliseconds
    /// ("" = no retries; default 1 min, 5 min, 30 min, 2 h, 6 h, 12 h, 20 h).
    #[arg(long, value_name = "MS,MS,…", value_parser = parse_delays)]
    checkout_webhook_retry_delays_ms: Option<Delays>,
    /// Paga Connect: authorization code lifetime, seconds.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PAGA_CODE_TTL_SECS)]
    paga_code_ttl_secs: u64,
    /// Paga Connect: access token lifetime, seconds.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PAGA_ACCESS_TTL_SECS)]
    paga_access_ttl_secs: u64,
}

/// A comma-separated list of millisecond delays.
#[derive(Clone, Debug)]
struct Delays(Vec<Duration>);

fn parse_delays(text: &str) -> Result<Delays, String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| format!("expected milliseconds, got {item:?}"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Delays)
}

fn parse_checkout_token(text: &str) -> Result<CheckoutToken, String> {
    match text.rsplit_once(':') {
        Some((token, scopes)) if !token.is_empty() => Ok(CheckoutToken::new(
            token,
            scopes
                .split(',')
                .map(str::trim)
                .filter(|scope| !scope.is_empty()),
        )),
        _ => Err(format!("expected TOKEN:scope1,scope2, got {text:?}")),
    }
}

fn parse_app(text: &str) -> Result<App, String> {
    match text.split_once(':') {
        Some((id, secret)) if !id.is_empty() && !secret.is_empty() => Ok(App::new(id, secret)),
        _ => Err(format!("expected ID:SECRET, got {text:?}")),
    }
}

impl Cli {
    fn into_config(self) -> SandboxConfig {
        let defaults = SandboxConfig::default();
        SandboxConfig {
            host: self.host,
            port: self.port,
            apps: if self.apps.is_empty() {
                defaults.apps
            } else {
                self.apps
            },
            webhook_secret: self.webhook_secret,
            webhook_urls: self.webhook_urls,
            settle_after: (self.settle_after_ms > 0)
                .then(|| Duration::from_millis(self.settle_after_ms)),
            access_ttl: Duration::from_secs(self.access_ttl_secs),
            refresh_ttl: Duration::from_secs(self.refresh_ttl_secs),
            refresh_path: !self.no_refresh_path,
            agents_refresh_path: !self.no_agents_refresh_path,
            checkout_tokens: if self.checkout_tokens.is_empty() {
                defaults.checkout_tokens
            } else {
                self.checkout_tokens
            },
            checkout_webhook_secret: self.checkout_webhook_secret,
            checkout_callback_url: self.checkout_callback_url,
            checkout_oauth_ttl: Duration::from_secs(self.checkout_oauth_ttl_secs),
            checkout_webhook_retry_delays: match self.checkout_webhook_retry_delays_ms {
                Some(Delays(delays)) => delays,
                None => DEFAULT_CHECKOUT_WEBHOOK_RETRY_DELAYS_SECS
                    .iter()
                    .map(|&secs| Duration::from_secs(secs))
                    .collect(),
            },
            paga_code_ttl: Duration::from_secs(self.paga_code_ttl_secs),
            paga_access_ttl: Duration::from_secs(self.paga_access_ttl_secs),
            ..defaults
        }
    }
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Cli::parse().into_config();
    let sandbox = match Sandbox::start(config).await {
        Ok(sandbox) => sandbox,
        Err(error) => {
            eprintln!("pesakit-sandbox: cannot start: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(
            stdout,
            "pesakit-sandbox listening on {}",
            sandbox.base_url()
        );
        let _ = stdout.flush();
    }
    stop_signal().await;
    sandbox.shutdown().await;
    std::process::ExitCode::SUCCESS
}
