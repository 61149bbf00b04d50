//! `/admin/account`: the signed-in admin's sessions, API tokens and
//! password. Plain forms posting to `/admin/account/…`, answered with 303
//! back here and a `?done=` or `?error=` code, so it all works without
//! JavaScript; the page ships none.

use leptos::prelude::*;
use regen_domain::{
    AccountOverview, PasswordRule, Preferences, SessionSummary, TimeDisplay, TokenSummary,
};

use super::{current_query, ErrorPanel, PageError};
use crate::components::time::Time;

#[cfg(feature = "ssr")]
async fn load() -> Result<AccountOverview, PageError> {
    let info = crate::ssr::request_info();
    crate::ssr::service()
        .account_overview(info.caller.as_ref())
        .await
        .map_err(|e| PageError::from_service(e, &info.request_id))
}

#[cfg(not(feature = "ssr"))]
async fn load() -> Result<AccountOverview, PageError> {
    Err(PageError::Internal)
}

/// What the last form on this page did, from the redirect's query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountNotice {
    SessionEnded,
    OthersEnded,
    TokenRevoked,
    PasswordChanged,
    PasswordChangedTokensRevoked,
    /// The form's target was gone already (another tab, another admin).
    NothingToDo,
    WrongCurrentPassword,
    PasswordsDiffer,
    /// The new password breaks this rule.
    WeakPassword(PasswordRule),
    TooManyAttempts,
    Unavailable,
    PreferencesSaved,
}

impl AccountNotice {
    const ALL: [AccountNotice; 15] = [
        AccountNotice::SessionEnded,
        AccountNotice::OthersEnded,
        AccountNotice::TokenRevoked,
        AccountNotice::PasswordChanged,
        AccountNotice::PasswordChangedTokensRevoked,
        AccountNotice::NothingToDo,
        AccountNotice::WrongCurrentPassword,
        AccountNotice::PasswordsDiffer,
        AccountNotice::WeakPassword(PasswordRule::Length),
        AccountNotice::WeakPassword(PasswordRule::Whitespace),
        AccountNotice::WeakPassword(PasswordRule::UserName),
        AccountNotice::WeakPassword(PasswordRule::Common),
        AccountNotice::TooManyAttempts,
        AccountNotice::Unavailable,
        AccountNotice::PreferencesSaved,
    ];

    /// The value of `?notice=` that names it.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountNotice::SessionEnded => "session-ended",
            AccountNotice::OthersEnded => "others-ended",
            AccountNotice::TokenRevoked => "token-revoked",
            AccountNotice::PasswordChanged => "password-changed",
            AccountNotice::PasswordChangedTokensRevoked => "password-changed-tokens-revoked",
            AccountNotice::NothingToDo => "already-done",
            AccountNotice::WrongCurrentPassword => "wrong-current-password",
            AccountNotice::PasswordsDiffer => "passwords-differ",
            AccountNotice::WeakPassword(PasswordRule::Length) => "weak-password",
            AccountNotice::WeakPassword(PasswordRule::Whitespace) => "whitespace-password",
            AccountNotice::WeakPassword(PasswordRule::UserName) => "password-is-user-name",
            AccountNotice::WeakPassword(PasswordRule::Common) => "common-password",
            AccountNotice::TooManyAttempts => "too-many-attempts",
            AccountNotice::Unavailable => "unavailable",
            AccountNotice::PreferencesSaved => "preferences-saved",
        }
    }

    pub fn parse(query: &str) -> Option<AccountNotice> {
        let value = query.split('&').find_map(|p| p.strip_prefix("notice="))?;
        Self::ALL.into_iter().find(|n| n.as_str() == value)
    }

    fn view(self) -> (&'static str, String) {
        let (class, text) = match self {
            AccountNotice::SessionEnded => ("notice success", "Session signed out."),
            AccountNotice::OthersEnded => ("notice success", "Every other session is signed out."),
            AccountNotice::TokenRevoked => (
                "notice success",
                "Token revoked: the next request with it gets 401.",
            ),
            AccountNotice::PasswordChanged => (
                "notice success",
                "Password changed. Your other sessions are signed out.",
            ),
            AccountNotice::PasswordChangedTokensRevoked => (
                "notice success",
                "Password changed. Your other sessions are signed out and your API tokens revoked.",
            ),
            AccountNotice::NothingToDo => (
                "notice warning",
                "Nothing to do: that session or token was already gone.",
            ),
            AccountNotice::WrongCurrentPassword => (
                "notice error",
                "The current password is not correct. Nothing was changed.",
            ),
            AccountNotice::PasswordsDiffer => (
                "notice error",
                "The new passwords do not match. Nothing was changed.",
            ),
            AccountNotice::WeakPassword(rule) => {
                let text = format!("{} Nothing was changed.", rule.message());
                return ("notice error", text);
            }
            AccountNotice::TooManyAttempts => (
                "notice error",
                "Too many wrong passwords. Wait a few minutes and try again.",
            ),
            AccountNotice::Unavailable => (
                "notice error",
                "The database was unavailable. Nothing was changed; try again.",
            ),
            AccountNotice::PreferencesSaved => ("notice success", "Preferences saved."),
        };
        (class, text.to_owned())
    }

    /// Which password field an error belongs next to.
    fn field(self) -> Option<&'static str> {
        match self {
            AccountNotice::WrongCurrentPassword | AccountNotice::TooManyAttempts => {
                Some("currentPassword")
            }
            AccountNotice::PasswordsDiffer => Some("repeatPassword"),
            AccountNotice::WeakPassword(_) => Some("newPassword"),
            _ => None,
        }
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let query = current_query();
    view! {
        <Suspense fallback=|| ()>
            {
                let query = query.clone();
                Suspend::new(async move {
                    match load().await {
                        Ok(account) => view! { <AccountView account query/> }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })
            }
        </Suspense>
    }
}

#[component]
fn AccountView(account: AccountOverview, query: String) -> impl IntoView {
    let notice = AccountNotice::parse(&query);
    let banner = notice.filter(|n| n.field().is_none()).map(|n| {
        let (class, text) = n.view();
        view! { <p class=class role="status">{text}</p> }
    });
    let field_error = move |field: &'static str| {
        notice.filter(|n| n.field() == Some(field)).map(|n| {
            let id = format!("{field}-error");
            view! { <span class="field-error" id=id role="alert">{n.view().1}</span> }
        })
    };
    let now = account.now;
    let current = account.current_session.clone();
    let others = account
        .sessions
        .iter()
        .filter(|s| Some(&s.id) != current.as_ref())
        .count();
    let sessions = account
        .sessions
        .iter()
        .cloned()
        .map(|session| {
            let this = Some(&session.id) == current.as_ref();
            view! { <SessionRow session this now/> }
        })
        .collect_view();
    let tokens = if account.tokens.is_empty() {
        view! { <p class="empty-state">"No API tokens. An operator makes them with " <code>"regen-admin token create"</code> "."</p> }
            .into_any()
    } else {
        let rows = account
            .tokens
            .iter()
            .cloned()
            .map(|token| view! { <TokenRow token now/> })
            .collect_view();
        view! {
            <div class="table-wrap">
                <table class="jobs tokens">
                    <thead><tr>
                        <th scope="col">"Label"</th><th scope="col">"Scope"</th>
                        <th scope="col">"Created"</th><th scope="col">"Last used"</th>
                        <th scope="col">"Expires"</th><th scope="col">"State"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    let sign_out_others = (others > 0).then(|| {
        view! {
            <form method="post" action="/admin/account/sessions/end-others" class="inline-form">
                <button type="submit">"Sign out everywhere else (" {others} ")"</button>
            </form>
        }
    });
    let described = |field: &'static str| {
        notice
            .filter(|n| n.field() == Some(field))
            .map(|_| format!("{field}-error"))
    };
    let invalid = |field: &'static str| notice.filter(|n| n.field() == Some(field)).map(|_| "true");
    // An SSO account has no password here: its provider holds it.
    let password_change = match &account.signs_in_with {
        Some(provider) => view! {
            <section aria-labelledby="password-heading" class="password-change">
                <h2 id="password-heading">"Password"</h2>
                <p class="hint">"You sign in through " {provider.clone()} ", which holds your password."</p>
            </section>
        }
        .into_any(),
        None => view! {
            <section aria-labelledby="password-heading" class="password-change">
                <h2 id="password-heading">"Change password"</h2>
                <p class="hint">"Changing it signs out your other sessions."</p>
                <form method="post" action="/admin/account/password" class="stacked-form">
                    <input type="text" name="username" value=account.username.clone() autocomplete="username" hidden/>
                    <label>"Current password"
                        <input type="password" name="currentPassword" autocomplete="current-password" required
                            aria-invalid=invalid("currentPassword") aria-describedby=described("currentPassword")/>
                    </label>
                    {field_error("currentPassword")}
                    <label>"New password"
                        <input type="password" name="newPassword" autocomplete="new-password" required minlength="8"
                            aria-invalid=invalid("newPassword") aria-describedby=described("newPassword")/>
                    </label>
                    {field_error("newPassword")}
                    <label>"New password again"
                        <input type="password" name="repeatPassword" autocomplete="new-password" required minlength="8"
                            aria-invalid=invalid("repeatPassword") aria-describedby=described("repeatPassword")/>
                    </label>
                    {field_error("repeatPassword")}
                    <label class="checkbox">
                        <input type="checkbox" name="revokeTokens" value="on" checked/>
                        "Also revoke my API tokens"
                    </label>
                    <button type="submit" class="primary">"Change password"</button>
                </form>
            </section>
        }
        .into_any(),
    };
    view! {
        <h1>"Your account"</h1>
        {banner}
        <dl class="meta">
            <dt>"Name"</dt><dd class="account-name">{account.username.clone()}</dd>
            <dt>"Role"</dt><dd class="account-role">{account.role.as_str()}</dd>
        </dl>
        <section aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">"Sessions"</h2>
            <div class="table-wrap">
                <table class="jobs sessions">
                    <thead><tr>
                        <th scope="col">"Signed in"</th><th scope="col">"Last seen"</th>
                        <th scope="col">"Address"</th><th scope="col">"Browser"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr></thead>
                    <tbody>{sessions}</tbody>
                </table>
            </div>
            {sign_out_others}
        </section>
        <section aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">"API tokens"</h2>
            {tokens}
        </section>
        <PreferencesForm preferences=account.preferences/>
        {password_change}
    }
}

/// How times are shown and whether keyboard shortcuts are on, for this
/// admin, on every page.
#[component]
fn PreferencesForm(preferences: Preferences) -> impl IntoView {
    let choices = TimeDisplay::ALL
        .into_iter()
        .map(|display| {
            let checked = preferences.time_display == display;
            view! {
                <label class="check">
                    <input type="radio" name="timeDisplay" value=display.as_str() checked=checked/>
                    {display.label()}
                </label>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="preferences-heading" id="preferences">
            <h2 id="preferences-heading">"Preferences"</h2>
            <form method="post" action="/admin/account/preferences" class="stacked-form preferences">
                <fieldset>
                    <legend>"Show times as"</legend>
                    {choices}
                </fieldset>
                <p class="hint">"Pages are sent in UTC; local and relative times are shown once the page's script has run. The UTC time stays in each time's tooltip."</p>
                <label class="checkbox">
                    <input type="checkbox" name="keyboardShortcuts" value="on" checked=preferences.keyboard_shortcuts/>
                    <span>"Keyboard shortcuts (press " <kbd>"?"</kbd> " on any page for the list)"</span>
                </label>
                <button type="submit">"Save preferences"</button>
            </form>
        </section>
    }
}

#[component]
fn SessionRow(session: SessionSummary, this: bool, now: regen_domain::Timestamp) -> impl IntoView {
    let action = format!("/admin/account/sessions/{}/end", session.id);
    let label = if this {
        "Sign out"
    } else {
        "Sign out this session"
    };
    view! {
        <tr class:current=this data-session=session.id.clone()>
            <td><Time at=session.created_at now/> {this.then(|| view! { <strong class="this-session">" (this session)"</strong> })}</td>
            <td><Time at=session.last_seen_at now/></td>
            <td>{session.client_address.unwrap_or_else(|| "unknown".into())}</td>
            <td class="user-agent">{session.user_agent.unwrap_or_else(|| "unknown".into())}</td>
            <td>
                <form method="post" action=action class="inline-form">
                    <button type="submit" class="link-button">{label}</button>
                </form>
            </td>
        </tr>
    }
}

#[component]
fn TokenRow(token: TokenSummary, now: regen_domain::Timestamp) -> impl IntoView {
    let usable = token.is_usable(now);
    let state = match (token.revoked_at, usable) {
        (Some(_), _) => "revoked",
        (None, false) => "expired",
        (None, true) => "active",
    };
    let revoke = usable.then(|| {
        let action = format!("/admin/account/tokens/{}/revoke", token.id);
        view! {
            <form method="post" action=action class="inline-form">
                <button type="submit" class="link-button">"Revoke"</button>
            </form>
        }
    });
    view! {
        <tr data-token=token.id.clone()>
            <td>{token.label.unwrap_or_else(|| "(no label)".into())}</td>
            <td>{token.scope.as_str()}</td>
            <td><Time at=token.created_at now/></td>
            <td>{token.last_used_at.map_or_else(|| view! { "never" }.into_any(), |at| view! { <Time at now/> }.into_any())}</td>
            <td>{token.expires_at.map_or_else(|| view! { "never" }.into_any(), |at| view! { <Time at/> }.into_any())}</td>
            <td class="token-state">{state}</td>
            <td>{revoke}</td>
        </tr>
    }
}
