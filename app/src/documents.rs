//! Whole HTML documents for the answers the server gives outside the
//! Leptos router: the login form, the bulk trigger's confirmation and
//! result pages, and the 403 and 503 pages its guards send. They are Leptos views in the same head and layout as every other
//! page, rendered to a string on the server. None of them ships scripts.

use leptos::prelude::*;
use leptos::tachys::view::RenderHtml;
use regen_domain::{BulkTriggerResult, Caller};

use crate::components::layout::Layout;
use crate::pages::bulk::{BulkConfirm, BulkForm, BulkResultView};
use crate::pages::login::{LoginForm, LoginOptions, SignedIn, SignedOut, SsoRefused};
use crate::pages::{ErrorPanel, PageError};
use crate::shell::DocumentHead;
use crate::ssr::{RequestInfo, UiConfig};

fn document(ui: &UiConfig, caller: Option<&Caller>, title: &'static str, body: AnyView) -> String {
    document_with(ui, caller, title, body, None)
}

/// A document; with `refresh_to`, one the browser leaves at once for that
/// URL (a navigation this site starts, so neither SameSite=Strict cookies
/// nor CSP's form-action stand in its way).
fn document_with(
    ui: &UiConfig,
    caller: Option<&Caller>,
    title: &'static str,
    body: AnyView,
    refresh_to: Option<&str>,
) -> String {
    let refresh = refresh_to.map(|path| {
        view! { <meta http-equiv="refresh" content=format!("0;url={path}")/> }
    });
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
                    {refresh}
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

/// The login page, with `next` carried through and an optional error.
pub fn login_document(
    ui: &UiConfig,
    options: &LoginOptions,
    next: &str,
    error: Option<&str>,
) -> String {
    let next = next.to_owned();
    let error = error.map(str::to_owned);
    let options = options.clone();
    document(
        ui,
        None,
        "Log in",
        view! { <LoginForm next error options/> }.into_any(),
    )
}

/// The provider signed someone in whom the admin claim does not name.
pub fn sso_refused_document(ui: &UiConfig, provider: &str) -> String {
    let provider = provider.to_owned();
    document(
        ui,
        None,
        "Not an admin",
        view! { <SsoRefused provider/> }.into_any(),
    )
}

/// Logged out here, on the way to the provider's end-session endpoint
/// (a form's POST may not redirect off-site under `form-action 'self'`).
pub fn signed_out_document(ui: &UiConfig, provider: &str, end_session_url: &str) -> String {
    let provider = provider.to_owned();
    let url = end_session_url.to_owned();
    document_with(
        ui,
        None,
        "Logged out",
        view! { <SignedOut provider url/> }.into_any(),
        Some(end_session_url),
    )
}

/// A signed-in browser on its way to `next` (see `SignedIn`).
pub fn signed_in_document(ui: &UiConfig, caller: &Caller, next: &str) -> String {
    let path = next.to_owned();
    document_with(
        ui,
        Some(caller),
        "Signed in",
        view! { <SignedIn next=path/> }.into_any(),
        Some(next),
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
        let html = login_document(
            &ui(),
            &LoginOptions::password_only(),
            "/x\"><script>alert(1)</script>",
            Some("<b>no</b>"),
        );
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
        let sso = LoginOptions {
            sso_provider: Some("Acme SSO".into()),
            password_form: false,
        };
        for html in [
            login_document(
                &ui(),
                &LoginOptions::password_only(),
                "/admin/regeneration-jobs",
                None,
            ),
            login_document(&ui(), &sso, "/admin/regeneration-jobs", None),
            sso_refused_document(&ui(), "Acme SSO"),
            signed_in_document(&ui(), &member, "/admin/regeneration-jobs"),
            signed_out_document(&ui(), "Acme SSO", "https://idp.example.com/logout?x=1&y=2"),
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

    #[test]
    fn the_login_page_offers_the_provider_and_the_form_as_configured() {
        let page = |sso: Option<&str>, password_form: bool| {
            let options = LoginOptions {
                sso_provider: sso.map(str::to_owned),
                password_form,
            };
            login_document(
                &ui(),
                &options,
                "/admin/regeneration-jobs?status=PENDING",
                None,
            )
        };
        let both = page(Some("Acme SSO"), true);
        assert!(
            both.contains("Sign in with <!-- -->Acme SSO")
                || both.contains("Sign in with Acme SSO"),
            "{both}"
        );
        assert!(
            both.contains(
                "href=\"/auth/oidc/start?next=%2Fadmin%2Fregeneration-jobs%3Fstatus%3DPENDING\""
            ),
            "{both}"
        );
        assert!(both.contains("name=\"password\""));
        let sso_only = page(Some("Acme SSO"), false);
        assert!(!sso_only.contains("name=\"password\""), "{sso_only}");
        let password_only = page(None, true);
        assert!(
            !password_only.contains("/auth/oidc/start"),
            "{password_only}"
        );
    }

    #[test]
    fn the_signed_in_page_moves_on_to_next_from_this_site() {
        let admin = Caller {
            user_id: "u1".into(),
            username: "ada".into(),
            role: regen_domain::Role::Admin,
            scope: regen_domain::Scope::Admin,
            session_id: None,
            preferences: regen_domain::Preferences::default(),
        };
        let html = signed_in_document(&ui(), &admin, "/admin/regeneration-jobs?status=PENDING");
        assert!(
            html.contains("<meta http-equiv=\"refresh\" content=\"0;url=/admin/regeneration-jobs?status=PENDING\">"),
            "{html}"
        );
    }
}
