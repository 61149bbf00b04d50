use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::components::layout::Layout;
use crate::pages::{
    account::AccountPage, audit::AuditPage, detail::JobDetailPage, list::JobListPage,
    not_found::NotFoundPage,
};

/// Only the job detail page has islands; every other page ships no
/// JavaScript or WASM at all.
fn page_has_islands() -> bool {
    #[cfg(feature = "ssr")]
    {
        let path = use_context::<http::request::Parts>()
            .map(|parts| parts.uri.path().to_owned())
            .unwrap_or_default();
        path.strip_prefix("/admin/regeneration-jobs/")
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
    }
    #[cfg(not(feature = "ssr"))]
    {
        true
    }
}

/// The stylesheet's URL as the server named it (content-hashed, so it can
/// be cached forever).
fn stylesheet_href() -> String {
    #[cfg(feature = "ssr")]
    {
        let href = crate::ssr::ui_config().stylesheet_href;
        if !href.is_empty() {
            return href;
        }
    }
    "/pkg/regen-admin.css".to_owned()
}

/// What every document's `<head>` starts with, routed pages and the
/// server's own documents (`crate::documents`) alike.
#[component]
pub fn DocumentHead() -> impl IntoView {
    view! {
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <meta name="color-scheme" content="light dark"/>
        <link rel="stylesheet" href=stylesheet_href()/>
        <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
    }
}

/// The HTML document around every routed page. The hydration scripts carry
/// the per-response CSP nonce that the server put into context.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let scripts = page_has_islands().then(|| view! { <HydrationScripts options islands=true/> });
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <DocumentHead/>
                {scripts}
                <MetaTags/>
            </head>
            <body>
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
