use leptos::prelude::*;

/// What the login page offers: the provider's button, the password form,
/// or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginOptions {
    /// "Sign in with {name}", when SSO is on.
    pub sso_provider: Option<String>,
    /// The password form (always on `/login?local`).
    pub password_form: bool,
}

impl LoginOptions {
    /// A password form and nothing else, as without SSO.
    pub fn password_only() -> Self {
        LoginOptions {
            sso_provider: None,
            password_form: true,
        }
    }
}

/// The login page: a link to the provider's sign-in, and the password form,
/// a plain POST. No JavaScript. `next` is where to go afterwards (already
/// checked to stay on this site).
#[component]
pub fn LoginForm(next: String, error: Option<String>, options: LoginOptions) -> impl IntoView {
    let error = error.map(|e| view! { <p class="notice error" role="alert">{e}</p> });
    let sso = options.sso_provider.map(|provider| {
        let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
        view! {
            <p class="sso">
                <a class="button primary sso" href=format!("/auth/oidc/start?next={next}")>
                    "Sign in with " {provider}
                </a>
            </p>
        }
    });
    let form = options.password_form.then(|| {
        view! {
            <form method="post" action="/login">
                <input type="hidden" name="next" value=next/>
                <label>"User name " <input name="username" autocomplete="username" required autofocus/></label>
                <label>"Password " <input name="password" type="password" autocomplete="current-password" required/></label>
                <button type="submit" class="primary">"Log in"</button>
            </form>
        }
    });
    view! {
        <section class="login">
            <h1>"Log in"</h1>
            {error}
            {sso}
            {form}
        </section>
    }
}

/// Shown when the provider vouched for someone the admin claim does not
/// name: they are known there, but not an admin here.
#[component]
pub fn SsoRefused(provider: String) -> impl IntoView {
    view! {
        <section class="error-panel" role="alert">
            <h1>"Not an admin"</h1>
            <p>
                {provider} " signed you in, but your account is not in an admin group, so regen-admin "
                "cannot let you in. Ask whoever manages the admin group to add you, then sign in again."
            </p>
            <p><a href="/login">"Back to the login page"</a></p>
        </section>
    }
}

/// Between the provider and the page the sign-in began on: the session
/// cookie is SameSite=Strict, and a browser does not send it on a redirect
/// chain that started on the provider's site, so the last step is a
/// navigation from this site.
#[component]
pub fn SignedIn(next: String) -> impl IntoView {
    view! {
        <section class="login">
            <h1>"Signed in"</h1>
            <p><a href=next.clone() id="continue">"Continue"</a></p>
        </section>
    }
}

/// Logged out of regen-admin, on the way to end the provider's session too.
#[component]
pub fn SignedOut(provider: String, url: String) -> impl IntoView {
    view! {
        <section class="login">
            <h1>"Logged out"</h1>
            <p>"Ending your session at " {provider} "… "
                <a href=url>"Continue"</a>
            </p>
        </section>
    }
}
