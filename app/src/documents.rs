//! Whole HTML documents for the answers the server gives outside the
//! Leptos router: the login form, and the 403 and 503 pages its guards
//! send. They are Leptos views in the same head and layout as every other
//! page, rendered to a string on the server. None of them ships scripts.

use leptos::prelude::*;
use leptos::tachys::view::RenderHtml;
use regen_domain::Caller;

use crate::components::layout::Layout;
use crate::pages::login::LoginForm;
use crate::pages::{ErrorPanel, PageError};
use crate::shell::DocumentHead;
use crate::ssr::{RequestInfo, UiConfig};

fn document(ui: &UiConfig, caller: Option<&Caller>, title: &'static str, body: AnyView) -> String {
    let owner = Owner::new();
    owner.with(|| {
        provide_context(ui.clone());
        provide_context(RequestInfo {
            caller: caller.cloned(),
            request_id: String::new(),
        });
        let html = view! {
            <!DOCTYPE html>
            <html lang="en">
                <head>
                    <DocumentHead/>
                    <title>{title} " · regen-admin"</title>
                </head>
                <body>
                    <Layout>{body}</Layout>
                </body>
            </html>
        };
        html.to_html()
    })
}

/// The login form, with `next` carried through and an optional error.
pub fn login_document(ui: &UiConfig, next: &str, error: Option<&str>) -> String {
    let next = next.to_owned();
    let error = error.map(str::to_owned);
    document(
        ui,
        None,
        "Log in",
        view! { <LoginForm next error/> }.into_any(),
    )
}

/// For signed-in members: they are known, and shown nothing.
pub fn forbidden_document(ui: &UiConfig, caller: Option<&Caller>) -> String {
    document(
        ui,
        caller,
        "Admins only",
        view! { <ErrorPanel error=PageError::Forbidden/> }.into_any(),
    )
}

/// When the database does not answer, for pages that need it.
pub fn unavailable_document(ui: &UiConfig, caller: Option<&Caller>) -> String {
    document(
        ui,
        caller,
        "Unavailable",
        view! { <ErrorPanel error=PageError::Unavailable/> }.into_any(),
    )
}
