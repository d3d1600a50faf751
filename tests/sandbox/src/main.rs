//! `pesakit-sandbox`: runs the gateway emulator until SIGINT or SIGTERM.

use std::io::Write;
use std::net::IpAddr;
use std::time::Duration;

use clap::Parser;
use pesakit_sandbox::{App, Sandbox, SandboxConfig, DEFAULT_WEBHOOK_SECRET};

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
