//! regen-admin's server: configuration, start-up, the HTTP surface and the
//! operator CLI. `Application::build` is what `main` and the integration
//! tests both use, so tests exercise the real stack on a real port.

pub mod cli;
pub mod config;
pub mod demo;
pub mod http;
pub mod progress;
mod serve;
pub mod telemetry;

use http::assets::AssetManifest;

use std::net::SocketAddr;

use anyhow::Context as _;
use axum::Router;
use leptos::prelude::*;
use regen_service::AdminService;

use config::Config;
use http::AppState;

/// No route of this product takes more than a login form; bodies above
/// this are refused before any handler runs.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Connects, migrates, and builds the service an instance runs on.
pub async fn build_service(config: &Config) -> anyhow::Result<AdminService> {
    AdminService::connect(&config.service_settings())
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))
}

/// The options the Leptos pages render with. The site files' (hashed)
/// names reach the pages through `UiConfig`, not through Leptos's hash file.
pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(http::assets::OUTPUT_NAME)
        .site_root(config.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.site_addr)
        .build()
}

async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))
}

/// A bound, ready-to-serve instance.
pub struct Application {
    listener: tokio::net::TcpListener,
    metrics_listener: Option<tokio::net::TcpListener>,
    state: AppState,
    router: Router,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let service = build_service(&config).await?;
        Self::with_service(config, service).await
    }

    pub async fn with_service(
        config: Config,
        service: AdminService,
    ) -> anyhow::Result<Application> {
        let listener = bind(config.site_addr).await?;
        let metrics_listener = match config.metrics_addr {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        let mut config = config;
        config.site_addr = listener.local_addr()?;
        // SSO's callback names the address actually bound (port 0 in tests).
        if let Some(sso) = &config.sso {
            service.start_sso(sso.settings(&config.origin())).await;
        }
        let assets = std::sync::Arc::new(AssetManifest::read(&config.site_root.join("pkg")));
        let options = leptos_options(&config);
        let state = AppState::new(service, config, assets);
        let router = http::router(state.clone(), options);
        Ok(Application {
            listener,
            metrics_listener,
            state,
            router,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.state.config.site_addr
    }

    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub fn service(&self) -> &AdminService {
        &self.state.service
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets in-flight
    /// requests finish (bounded by the grace period) and closes the pool.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let grace = self.state.config.shutdown_grace;
        let limits = self.state.config.connections;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = move || {
            let mut stop = stop_rx.clone();
            async move {
                let _ = stop.wait_for(|s| *s).await;
            }
        };
        if let Some(listener) = self.metrics_listener {
            let router = http::metrics_router(self.state.clone());
            tokio::spawn(serve::serve(listener, router, limits, stopped()));
        }
        let upkeep = tokio::spawn(fold_activity_shards(self.state.service.clone()));
        let mut server = tokio::spawn(serve::serve(self.listener, self.router, limits, stopped()));
        shutdown.await;
        tracing::info!("shutting down: no new connections, finishing in-flight requests");
        let _ = stop_tx.send(true);
        match tokio::time::timeout(grace, &mut server).await {
            Ok(result) => result?,
            Err(_) => {
                tracing::warn!(
                    ?grace,
                    "in-flight requests did not finish in time; stopping them"
                );
                server.abort();
            }
        }
        upkeep.abort();
        // Transactions are atomic: anything not committed by now rolls back
        // when its connection goes.
        if tokio::time::timeout(grace, self.state.service.close())
            .await
            .is_err()
        {
            tracing::warn!("database pool did not close in time");
        }
        Ok(())
    }
}

/// The kept activity's upkeep: at start-up, then every
/// `ACTIVITY_FOLD_EVERY`, fold the shards of past hours (PostgreSQL; a
/// no-op on SQLite). A failure is logged and retried next time: the figures
/// stay exact either way, only a chart's read gets slower.
async fn fold_activity_shards(service: AdminService) {
    let mut every = tokio::time::interval(regen_service::ACTIVITY_FOLD_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match service.fold_activity_shards().await {
            Ok(0) => {}
            Ok(rows) => tracing::debug!(rows, "folded the activity shards of past hours"),
            Err(error) => {
                tracing::warn!(%error, "could not fold the activity shards; retrying later")
            }
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
