//! regen-admin's server: configuration, start-up, the HTTP surface and the
//! operator CLI. `Application::build` is what `main` and the integration
//! tests both use, so tests exercise the real stack on a real port.

pub mod cli;
pub mod config;
pub mod demo;
pub mod http;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use app::ssr::UiConfig;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use regen_service::{AdminService, AuditJournal, Store};
use tower_http::compression::CompressionLayer;

use config::Config;
use http::middleware::{
    access_guard, csrf_guard, label_route, limit_body, request_context, CspNonce,
};
use http::{api, metrics, pages, AppState};

/// No route of this product takes more than a login form; bodies above
/// this are refused before any handler runs.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Connects, migrates, and builds the service an instance runs on.
pub async fn build_service(config: &Config) -> anyhow::Result<AdminService> {
    let store = Store::connect(&config.database_url, &config.store_options())
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))?;
    store
        .migrate()
        .await
        .map_err(|e| anyhow::anyhow!("cannot apply migrations: {e}"))?;
    Ok(AdminService::new(
        store,
        AuditJournal::new(config.audit_fallback_path.clone()),
        config.sessions,
    ))
}

pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("regen-admin")
        .site_root(config.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.site_addr)
        .build()
}

/// The whole HTTP surface of one instance.
pub fn router(state: AppState, options: LeptosOptions) -> Router {
    let routes = generate_route_list(app::App);
    let ui = UiConfig {
        env_label: state.config.env_label.clone(),
        env_color: state.config.env_color.clone(),
    };
    let context = {
        let service = state.service.clone();
        move || {
            provide_context(service.clone());
            provide_context(ui.clone());
            // The CSP header and the page's scripts must carry the same nonce.
            if let Some(parts) = use_context::<axum::http::request::Parts>() {
                if let Some(nonce) = parts.extensions.get::<CspNonce>() {
                    provide_context(leptos::nonce::Nonce::from_value(nonce.0.clone()));
                }
            }
        }
    };
    let shell = {
        let options = options.clone();
        move || app::shell(options.clone())
    };
    let site = Router::new()
        .leptos_routes_with_context(&options, routes, context.clone(), shell)
        .fallback(leptos_axum::file_and_error_handler_with_context(
            context,
            app::shell,
        ))
        .with_state(options);

    let ours = Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route(
            "/admin/regeneration-jobs/{jobId}/trigger",
            post(pages::trigger_form),
        )
        .route(
            "/admin/regeneration-jobs/{jobId}/download/{field}",
            get(pages::download_field),
        )
        .route("/healthz", get(pages::healthz))
        .route("/readyz", get(pages::readyz))
        .route("/metrics", get(metrics::metrics))
        .nest("/api", api::router())
        .with_state(state.clone());

    ours.merge(site)
        .route_layer(from_fn(label_route))
        .layer(from_fn(limit_body))
        .layer(from_fn_with_state(state.clone(), csrf_guard))
        .layer(from_fn(access_guard))
        .layer(from_fn_with_state(state.clone(), request_context))
        .layer(CompressionLayer::new())
}

/// A metrics-only router for `REGEN_METRICS_ADDR`: reachable by whoever can
/// reach that address, which operators keep private.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::metrics))
        .with_state(state)
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
        let listener = tokio::net::TcpListener::bind(config.site_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.site_addr))?;
        let metrics_listener = match config.metrics_addr {
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr}"))?,
            ),
            None => None,
        };
        let mut config = config;
        config.site_addr = listener.local_addr()?;
        let options = leptos_options(&config);
        let state = AppState {
            service,
            config: Arc::new(config),
            http_metrics: Arc::default(),
        };
        let router = router(state.clone(), options);
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
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut stop_for_metrics = stop_rx.clone();
        if let Some(listener) = self.metrics_listener {
            let router = metrics_router(self.state.clone());
            tokio::spawn(async move {
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stop_for_metrics.wait_for(|s| *s).await;
                    })
                    .await;
            });
        }
        let mut stop_for_server = stop_rx.clone();
        let server = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stop_for_server.wait_for(|s| *s).await;
        });
        let mut server = tokio::spawn(async move { server.await });
        shutdown.await;
        tracing::info!("shutting down: no new connections, finishing in-flight requests");
        let _ = stop_tx.send(true);
        match tokio::time::timeout(grace, &mut server).await {
            Ok(result) => result??,
            Err(_) => {
                tracing::warn!(
                    ?grace,
                    "in-flight requests did not finish in time; stopping them"
                );
                server.abort();
            }
        }
        // Transactions are atomic: anything not committed by now rolls back
        // when its connection goes.
        if tokio::time::timeout(grace, self.state.service.store().close())
            .await
            .is_err()
        {
            tracing::warn!("database pool did not close in time");
        }
        Ok(())
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
