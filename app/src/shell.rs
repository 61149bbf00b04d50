use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::components::layout::Layout;
use crate::pages::{detail::JobDetailPage, list::JobListPage, not_found::NotFoundPage};

/// The HTML document around every page. The hydration scripts carry the
/// per-response CSP nonce that the server put into context.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="stylesheet" href="/pkg/regen-admin.css"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HydrationScripts options islands=true/>
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
                </Routes>
            </Layout>
        </Router>
    }
}
