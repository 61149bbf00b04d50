//! What every handler and layer shares.

use std::sync::Arc;

use app::ssr::UiConfig;
use regen_service::AdminService;

use super::assets::AssetManifest;
use super::page_script::PageScript;
use super::request_metrics::HttpMetrics;
use crate::config::Config;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub service: AdminService,
    pub config: Arc<Config>,
    pub ui: UiConfig,
    pub http_metrics: Arc<HttpMetrics>,
    /// The site files' content hashes, taken at start-up.
    pub assets: Arc<AssetManifest>,
    /// The pages' own script, hashed and gzipped at start-up.
    pub page_script: Arc<PageScript>,
}

impl AppState {
    pub fn new(service: AdminService, config: Config, assets: Arc<AssetManifest>) -> AppState {
        let page_script = Arc::new(PageScript::new());
        let ui = UiConfig {
            env_label: config.env_label.clone(),
            env_color: config.env_color.clone(),
            stylesheet_href: assets.href("css"),
            script_href: assets.href("js"),
            wasm_href: assets.href("wasm"),
            page_script_href: page_script.href.clone(),
            target_links: config.target_links.clone(),
        };
        AppState {
            service,
            config: Arc::new(config),
            ui,
            http_metrics: Arc::default(),
            assets,
            page_script,
        }
    }
}
