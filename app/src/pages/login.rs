use leptos::prelude::*;

/// The login form: a plain POST, no JavaScript. `next` is where to go
/// afterwards (already checked to stay on this site).
#[component]
pub fn LoginForm(next: String, error: Option<String>) -> impl IntoView {
    let error = error.map(|e| view! { <p class="notice error" role="alert">{e}</p> });
    view! {
        <section class="login">
            <h1>"Log in"</h1>
            {error}
            <form method="post" action="/login">
                <input type="hidden" name="next" value=next/>
                <label>"User name " <input name="username" autocomplete="username" required autofocus/></label>
                <label>"Password " <input name="password" type="password" autocomplete="current-password" required/></label>
                <button type="submit" class="primary">"Log in"</button>
            </form>
        </section>
    }
}
