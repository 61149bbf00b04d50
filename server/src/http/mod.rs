//! The HTTP surface of one instance, and the order its layers run in.
//!
//! Outermost first, for every request: response compression →
//! `observe` (request id, access log, metrics) → `reject_dot_segments` →
//! `security_headers` (CSP nonce, nosniff, HSTS…) → `explain_method_not_allowed`
//! → then either the static files (`/pkg`, the page script, the favicon: no authentication,
//! no database) or the dynamic routes behind `authenticate` →
//! `access_guard` (default deny) → `csrf_guard` → `limit_body` →
//! `guard_server_functions`.
//!
//! Modules depend one way: `pages` and `api` use the layers, every module
//! uses `state`, and no layer uses a page.

pub mod account;
pub mod api;
pub mod assets;
pub mod auth;
mod bulk_pages;
pub mod metrics;
pub mod observe;
pub mod page_script;
pub mod pages;
pub mod problem;
mod request_metrics;
pub mod security;
mod sso;
mod state;

pub use state::AppState;

use axum::http::{Extensions, HeaderMap, StatusCode, Version};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{any, get, post};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};

/// The Leptos pages, with the service, the UI settings and the response's
/// CSP nonce in their context.
fn leptos_pages(state: &AppState, options: LeptosOptions) -> Router {
    let routes = generate_route_list(app::App);
    let context = {
        let service = state.service.clone();
        let ui = state.ui.clone();
        move || {
            provide_context(service.clone());
            provide_context(ui.clone());
            // The CSP header and the page's scripts must carry the same nonce.
            if let Some(parts) = use_context::<axum::http::request::Parts>() {
                if let Some(nonce) = parts.extensions.get::<security::CspNonce>() {
                    provide_context(leptos::nonce::Nonce::from_value(nonce.0.clone()));
                }
            }
        }
    };
    let shell = {
        let options = options.clone();
        move || app::shell(options.clone())
    };
    Router::new()
        .leptos_routes_with_context(&options, routes, context.clone(), shell)
        .fallback(leptos_axum::file_and_error_handler_with_context(
            context,
            app::shell,
        ))
        .with_state(options)
}

/// Files that need neither a caller nor the database: under their hashed
/// names, as their build-time brotli or gzip variant when accepted.
fn static_files(state: &AppState) -> Router {
    let (config, manifest) = (&state.config, state.assets.clone());
    let script = state.page_script.clone();
    let pkg = ServeDir::new(config.site_root.join("pkg"))
        .precompressed_br()
        .precompressed_gzip();
    let pkg = Router::new()
        .fallback_service(pkg)
        .layer(from_fn(move |request, next| {
            assets::hashed_names(manifest.clone(), request, next)
        }));
    Router::new()
        .route(
            &script.href.clone(),
            get(move |headers| page_script::serve(script.clone(), headers)),
        )
        .nest_service("/pkg", pkg)
        .route_service(
            "/favicon.svg",
            ServeFile::new(config.site_root.join("favicon.svg")),
        )
        .layer(from_fn(observe::label_static))
}

/// The whole HTTP surface of one instance.
pub fn router(state: AppState, options: LeptosOptions) -> Router {
    let ours = Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route(auth::SSO_START, get(sso::start))
        .route(auth::SSO_CALLBACK, get(sso::callback))
        .route(
            "/admin/regeneration-jobs/{jobId}/trigger",
            post(pages::trigger_form),
        )
        .route(
            app::pages::bulk::BULK_CONFIRM_PATH,
            post(bulk_pages::confirm),
        )
        .route(
            app::pages::bulk::BULK_TRIGGER_PATH,
            post(bulk_pages::trigger),
        )
        .route(
            "/admin/regeneration-jobs/{jobId}/download/{field}",
            get(pages::download_field),
        )
        .route(
            "/admin/account/sessions/end-others",
            post(account::end_other_sessions),
        )
        .route(
            "/admin/account/sessions/{sessionId}/end",
            post(account::end_session),
        )
        .route(
            "/admin/account/tokens/{tokenId}/revoke",
            post(account::revoke_token),
        )
        .route("/admin/account/password", post(account::change_password))
        .route(
            "/admin/account/preferences",
            post(account::save_preferences),
        )
        .route("/healthz", get(pages::healthz))
        .route("/readyz", get(pages::readyz))
        .route("/metrics", get(metrics::metrics))
        .nest(api::API_PREFIX, api::router())
        .route("/api/{*rest}", any(api::unknown_path))
        .with_state(state.clone());

    let dynamic = ours
        .merge(leptos_pages(&state, options))
        .route_layer(from_fn(observe::label_route))
        .layer(from_fn(security::guard_server_functions))
        .layer(from_fn(security::limit_body))
        .layer(from_fn_with_state(state.clone(), security::csrf_guard))
        .layer(from_fn_with_state(state.clone(), auth::access_guard))
        .layer(from_fn_with_state(state.clone(), auth::authenticate));

    // The routed app is wrapped as one service, so that the layers below
    // see its finished answers: axum adds `Allow` to a 405 only as the
    // route's future completes, after any layer applied to the routes.
    let routed = static_files(&state).merge(dynamic);
    Router::new()
        .fallback_service(routed)
        .layer(from_fn(problem::explain_method_not_allowed))
        .layer(from_fn_with_state(
            state.clone(),
            security::security_headers,
        ))
        .layer(from_fn(security::reject_dot_segments))
        .layer(from_fn_with_state(state, observe::observe))
        // Static files come precompressed (or not at all): never per request.
        .layer(
            CompressionLayer::new().compress_when(DefaultPredicate::new().and(
                |_: StatusCode, _: Version, _: &HeaderMap, extensions: &Extensions| {
                    extensions.get::<assets::StaticFile>().is_none()
                },
            )),
        )
}

/// A metrics-only router for `REGEN_METRICS_ADDR`: reachable by whoever can
/// reach that address, which operators keep private.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::metrics))
        .with_state(state)
}
