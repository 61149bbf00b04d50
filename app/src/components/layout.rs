use leptos::prelude::*;

use super::shortcuts::{ShortcutsHelp, ShortcutsLink};

/// Who is signed in and which environment this is, as the shell shows them.
#[derive(Debug, Clone, Default)]
struct ShellInfo {
    username: Option<String>,
    env_label: Option<String>,
    env_color: String,
    /// The signed-in admin's keyboard shortcuts are on.
    shortcuts: bool,
}

#[cfg(feature = "ssr")]
fn shell_info() -> ShellInfo {
    let config = crate::ssr::ui_config();
    let caller = crate::ssr::request_info().caller;
    ShellInfo {
        shortcuts: caller
            .as_ref()
            .is_some_and(|c| c.preferences.keyboard_shortcuts),
        username: caller.map(|c| c.username),
        env_label: config.env_label,
        env_color: config.env_color,
    }
}

#[cfg(not(feature = "ssr"))]
fn shell_info() -> ShellInfo {
    ShellInfo::default()
}

/// The frame of every admin page: environment banner, product name, the
/// signed-in admin and logout, then the page in `<main>`, and for a
/// signed-in admin the footer and the keyboard shortcuts' dialog.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let info = shell_info();
    let banner = info.env_label.map(|label| {
        let style = format!("--env-color: {}", info.env_color);
        view! { <div class="env-banner" role="note" style=style>{label}</div> }
    });
    let signed_in = info.username.is_some();
    let footer = signed_in.then(|| {
        // The dialog inside the footer landmark too (axe's `region`).
        view! {
            <footer class="site-footer">
                <ShortcutsLink/>
                <ShortcutsHelp enabled=info.shortcuts/>
            </footer>
        }
    });
    let user = info.username.map(|name| {
        view! {
            <a href="/admin/regeneration-jobs">"Jobs"</a>
            <a href="/admin/audit">"Audit"</a>
            <a href="/admin/account" class="account-link">"Account"</a>
            <span class="signed-in">"Signed in as " <strong>{name}</strong></span>
            <form method="post" action="/logout" class="logout">
                <button type="submit" class="link-button">"Log out"</button>
            </form>
        }
    });
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        // The banner inside the header landmark: axe's `region` rule wants
        // every piece of content in one.
        <header class="site-header">
            {banner}
            <div class="top">
                <a class="brand" href="/admin/regeneration-jobs">"regen-admin"</a>
                <nav aria-label="Account" class="account">{user}</nav>
            </div>
        </header>
        <main id="main">{children()}</main>
        {footer}
    }
}
