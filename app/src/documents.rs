//! Whole HTML documents for the answers the server gives outside the
//! Leptos router: the login form, the bulk trigger's confirmation and
//! result pages, and the 403 and 503 pages its guards send. They are Leptos views in the same head and layout as every other
//! page, rendered to a string on the server. None of them ships scripts.

use leptos::prelude::*;
use leptos::tachys::view::RenderHtml;
use regen_domain::{BulkTriggerResult, Caller};

use crate::components::layout::Layout;
use crate::pages::bulk::{BulkConfirm, BulkForm, BulkResultView};
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

/// The bulk trigger's confirmation page (no JavaScript), or again with
/// `notice` when the count changed.
pub fn bulk_confirm_document(
    ui: &UiConfig,
    caller: Option<&Caller>,
    form: &BulkForm,
    notice: Option<String>,
) -> String {
    let form = form.clone();
    document(
        ui,
        caller,
        "Confirm bulk trigger",
        view! { <BulkConfirm form notice/> }.into_any(),
    )
}

/// What a bulk trigger did.
pub fn bulk_result_document(
    ui: &UiConfig,
    caller: Option<&Caller>,
    result: &BulkTriggerResult,
) -> String {
    let result = result.clone();
    document(
        ui,
        caller,
        "Bulk trigger",
        view! { <BulkResultView result/> }.into_any(),
    )
}

/// A bulk trigger that triggered nothing, and why.
pub fn bulk_refused_document(ui: &UiConfig, caller: Option<&Caller>, reason: &str) -> String {
    let reason = reason.to_owned();
    document(
        ui,
        caller,
        "Nothing triggered",
        view! {
            <section class="error-panel" role="alert">
                <h1>"Nothing was triggered"</h1>
                <p>{reason}</p>
                <p><a href="/admin/regeneration-jobs?status=PENDING">"Back to the PENDING jobs"</a></p>
            </section>
        }
        .into_any(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ui() -> UiConfig {
        UiConfig {
            env_label: Some("staging".into()),
            env_color: "#1d4ed8".into(),
            ..UiConfig::default()
        }
    }

    #[test]
    fn the_login_document_escapes_what_the_visitor_sent() {
        let html = login_document(&ui(), "/x\"><script>alert(1)</script>", Some("<b>no</b>"));
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("<b>no</b>"), "{html}");
        assert!(html.contains("name=\"username\""));
    }

    #[test]
    fn every_document_shares_the_head_and_layout_of_the_routed_pages() {
        let member = Caller {
            user_id: "u1".into(),
            username: "mel".into(),
            role: regen_domain::Role::Member,
            scope: regen_domain::Scope::Admin,
            session_id: None,
            preferences: regen_domain::Preferences::default(),
        };
        for html in [
            login_document(&ui(), "/admin/regeneration-jobs", None),
            forbidden_document(&ui(), Some(&member)),
            unavailable_document(&ui(), None),
        ] {
            assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
            assert!(
                html.contains("<link rel=\"stylesheet\" href=\"/pkg/regen-admin.css\">"),
                "{html}"
            );
            assert!(html.contains("class=\"skip-link\""), "{html}");
            assert!(html.contains("staging"), "the environment banner: {html}");
            assert!(!html.contains("<script"), "no scripts: {html}");
        }
        assert!(forbidden_document(&ui(), Some(&member)).contains("mel"));
    }
}
