//! `frontdoor serve`: migrate, then answer HTTP until SIGTERM or Ctrl-C.
use std::time::Duration;

use clap::Args;

use super::{describe, start};
use crate::config::Config;
use crate::domain::audit::trail as audit_trail;
use crate::domain::housekeeping;
use crate::http::serve::{self, ServeOptions};
use crate::{build_app, demo};

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FRONTDOOR_BIND", default_value = "127.0.0.1:8080")]
    pub bind: std::net::SocketAddr,
    /// Load demo agencies, users and clients first if the database is empty, and the 2019
    /// history in the background (development only).
    #[arg(long)]
    pub demo: bool,
    /// With --demo: agencies, users and clients only, without the 2019 history (for
    /// benchmarks and quick tries).
    #[arg(long, requires = "demo")]
    pub no_history: bool,
    /// Seconds before a request is answered 408.
    #[arg(long, env = "FRONTDOOR_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout: u64,
    /// Seconds between signed checkpoints of the audit trail (taken only when entries
    /// were written since the last one); 0 turns them off.
    #[arg(long, env = "FRONTDOOR_AUDIT_CHECKPOINT_SECS", default_value_t = 60)]
    pub audit_checkpoint_secs: u64,
    /// Seconds between housekeeping sweeps (expired refresh tokens and sessions, lapsed
    /// idempotency keys and login-throttle rows; never audit entries); 0 turns them off.
    #[arg(long, env = "FRONTDOOR_HOUSEKEEPING_SECS", default_value_t = 3600)]
    pub housekeeping_secs: u64,
    /// Seconds a connection has to send a request's complete headers.
    #[arg(long, env = "FRONTDOOR_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// Seconds a connection with no request in flight stays open.
    #[arg(long, env = "FRONTDOOR_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub idle_timeout_secs: u64,
    /// Failed logins and token requests allowed per source address per window; 0 turns
    /// the limit off.
    #[arg(long, env = "FRONTDOOR_SOURCE_FAILURE_LIMIT", default_value_t = 100)]
    pub source_failure_limit: u32,
    /// The window of FRONTDOOR_SOURCE_FAILURE_LIMIT, in seconds.
    #[arg(
        long,
        env = "FRONTDOOR_SOURCE_FAILURE_WINDOW_SECS",
        default_value_t = 300
    )]
    pub source_failure_window_secs: u64,
    /// Reverse proxies (comma-separated IPs or CIDR blocks) whose X-Forwarded-For names
    /// the real client; empty: the peer address is the source.
    #[arg(long, env = "FRONTDOOR_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// Browser origins (comma-separated, e.g. https://mash.example.gov.uk) allowed to call
    /// the API from their pages; empty: no cross-origin calls.
    #[arg(long, env = "FRONTDOOR_CORS_ORIGINS", default_value = "")]
    pub cors_origins: String,
}

pub async fn run(args: ServeArgs, config: &mut Config) -> Result<(), String> {
    let ServeArgs {
        bind,
        demo: with_demo,
        no_history,
        request_timeout,
        audit_checkpoint_secs,
        housekeeping_secs,
        header_timeout_secs,
        idle_timeout_secs,
        source_failure_limit,
        source_failure_window_secs,
        trusted_proxies,
        cors_origins,
    } = args;
    if with_demo && config.is_production() {
        return Err(
            "--demo loads users with a published password and is refused in production mode".into(),
        );
    }
    config.bind = bind;
    config.request_timeout = Duration::from_secs(request_timeout);
    config.audit_checkpoint_interval = Duration::from_secs(audit_checkpoint_secs);
    config.housekeeping_interval = Duration::from_secs(housekeeping_secs);
    config.header_timeout = Duration::from_secs(header_timeout_secs.max(1));
    config.idle_timeout = Duration::from_secs(idle_timeout_secs.max(1));
    config.source_limit.failures = source_failure_limit;
    config.source_limit.window = Duration::from_secs(source_failure_window_secs.max(1));
    config.trusted_proxies = crate::config::parse_trusted_proxies(&trusted_proxies)?;
    config.cors_origins = crate::config::parse_cors_origins(&cors_origins)?;
    let core = start(config.clone()).await?;
    if !config.housekeeping_interval.is_zero() {
        tokio::spawn(housekeeping::run_scheduled(
            core.clone(),
            config.housekeeping_interval,
        ));
    }
    if !config.audit_checkpoint_interval.is_zero() {
        tokio::spawn(audit_trail::run_scheduled_checkpoints(
            core.clone(),
            config.audit_checkpoint_interval,
        ));
    }
    if with_demo {
        let fresh = demo::load_if_empty(&core).await.map_err(describe)?;
        println!("{}", demo::summary());
        if fresh {
            tracing::info!("demo data loaded");
        }
        if fresh && !no_history {
            // The 2019 history loads through the API while the server already answers.
            let core = core.clone();
            tokio::spawn(async move {
                if let Err(e) = demo::load_history(&core).await {
                    tracing::error!(error = %e, "demo history failed to load");
                }
            });
        }
    }
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    tracing::info!(%bind, mode = ?config.mode, "frontdoor listening");
    println!("frontdoor listening on http://{bind}/graphql");
    let options = ServeOptions::from_config(config);
    serve::serve(listener, build_app(core), options, shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))?;
    tracing::info!("frontdoor stopped: requests in flight were answered");
    Ok(())
}

/// Ctrl-C or SIGTERM (what a service manager or container runtime sends): stop accepting,
/// answer what is in flight, exit 0.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
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
    tracing::info!("shutting down: finishing requests in flight");
}
