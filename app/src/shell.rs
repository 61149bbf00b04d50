use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::components::layout::Layout;
use crate::pages::{
    account::AccountPage, audit::AuditPage, detail::JobDetailPage, list::JobListPage,
    not_found::NotFoundPage,
};

/// Only the job detail page and the list of PENDING jobs (the bulk
/// trigger's dialog) have islands; every other page ships no JavaScript or
/// WASM at all.
fn page_has_islands() -> bool {
    #[cfg(feature = "ssr")]
    {
        let Some(parts) = use_context::<http::request::Parts>() else {
            return false;
        };
        let path = parts.uri.path();
        let detail = path
            .strip_prefix("/admin/regeneration-jobs/")
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'));
        let pending_list = path == "/admin/regeneration-jobs"
            && form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                .filter(|(name, _)| name == "status")
                .map(|(_, value)| value == "PENDING")
                .eq([true]);
        detail || pending_list
    }
    #[cfg(not(feature = "ssr"))]
    {
        true
    }
}

/// The files cargo-leptos builds for the site.
#[derive(Debug, Clone, Copy)]
enum SiteFile {
    Stylesheet,
    Script,
    Wasm,
    /// `page.js`, which the server serves from its own binary.
    PageScript,
}

/// The URL of a site file as the server named it: content-hashed, so
/// browsers may keep it forever.
fn site_file(file: SiteFile) -> String {
    #[cfg(feature = "ssr")]
    {
        let ui = crate::ssr::ui_config();
        let href = match file {
            SiteFile::Stylesheet => ui.stylesheet_href,
            SiteFile::Script => ui.script_href,
            SiteFile::Wasm => ui.wasm_href,
            SiteFile::PageScript => ui.page_script_href,
        };
        if !href.is_empty() {
            return href;
        }
    }
    let name = match file {
        SiteFile::Stylesheet => "regen-admin.css",
        SiteFile::Script => "regen-admin.js",
        SiteFile::Wasm => "regen-admin.wasm",
        SiteFile::PageScript => PAGE_SCRIPT_NAME,
    };
    format!("/pkg/{name}")
}

/// What every document's `<head>` starts with, routed pages and the
/// server's own documents (`crate::documents`) alike.
#[component]
pub fn DocumentHead() -> impl IntoView {
    view! {
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <meta name="color-scheme" content="light dark"/>
        <link rel="stylesheet" href=site_file(SiteFile::Stylesheet)/>
        <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
    }
}

/// Loads the WASM and hydrates the page's islands as soon as the document
/// is parsed. Leptos's own `<HydrationScripts islands=true/>` waits for the
/// browser to be idle first (`requestIdleCallback`: 35–90 ms before anything
/// on the detail page worked, `bench/NOTES.md`), walks every element of the
/// page to find the islands, and reads its hash file on every render. The
/// script carries the response's CSP nonce.
#[component]
fn IslandScripts() -> impl IntoView {
    // As Leptos does for islands: outside them, nothing is hydrated, so the
    // server writes no hydration markers there.
    if let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
    let (script, wasm) = (site_file(SiteFile::Script), site_file(SiteFile::Wasm));
    let run = format!("{}({script:?}, {wasm:?});", include_str!("islands.js"));
    view! {
        <link rel="modulepreload" href=script/>
        // `fetch()` (wasm-bindgen's loader) asks in CORS mode without
        // credentials across origins: the preload must ask the same way.
        <link rel="preload" href=wasm r#as="fetch" r#type="application/wasm" crossorigin="anonymous"/>
        <script type="module" nonce=leptos::nonce::use_nonce()>{run}</script>
    }
}

/// The plain name of `page.js` as served (the server adds its hash).
pub const PAGE_SCRIPT_NAME: &str = "regen-admin-page.js";

/// The pages' own script: times as the admin chose, keyboard shortcuts.
/// Served as a static file (`PAGE_SCRIPT_NAME`, content-hashed), not as
/// WASM, so the list page still ships none.
pub const PAGE_SCRIPT: &str = include_str!("page.js");

/// The signed-in admin's preferences, which the page script reads from
/// `<body>`; `None` for a page without a caller.
fn viewer_preferences() -> Option<regen_domain::Preferences> {
    #[cfg(feature = "ssr")]
    {
        crate::ssr::request_info().caller.map(|c| c.preferences)
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// Loads the page script after the document is parsed (`defer`), with
/// the response's CSP nonce.
#[component]
fn PageScript() -> impl IntoView {
    view! {
        <script src=site_file(SiteFile::PageScript) nonce=leptos::nonce::use_nonce() defer></script>
    }
}

/// The HTML document around every routed page.
/// (`leptos_axum` hands every shell the options; the site files' names
/// come from `UiConfig` instead.)
pub fn shell(_options: LeptosOptions) -> impl IntoView {
    let scripts = page_has_islands().then(|| view! { <IslandScripts/> });
    let preferences = viewer_preferences();
    let page_script = preferences.map(|_| view! { <PageScript/> });
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <DocumentHead/>
                {scripts}
                {page_script}
                <MetaTags/>
            </head>
            <body
                data-time-display=preferences.map(|p| p.time_display.as_str())
                data-shortcuts=preferences.map(|p| p.shortcuts_str())
            >
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="regen-admin"/>
        <Router>
            <Layout>
                <Routes fallback=|| view! { <NotFoundPage/> }>
                    <Route path=path!("/admin/regeneration-jobs") view=JobListPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/regeneration-jobs/:id") view=JobDetailPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/audit") view=AuditPage ssr=SsrMode::Async/>
                </Routes>
            </Layout>
        </Router>
    }
}
