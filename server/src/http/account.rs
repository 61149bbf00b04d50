//! The account page's forms: sign out one session or all others, revoke a
//! token, change the password, save the display preferences. Each is a plain POST (CSRF-checked like
//! every cookie POST) answered with 303 back to `/admin/account` and a
//! `?notice=` the page shows.

use app::pages::account::AccountNotice;
use app::ssr::RequestInfo;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use regen_domain::{PasswordRule, Preferences, TimeDisplay};
use regen_service::{ClientInfo, PasswordChange, ServiceError};
use serde::Deserialize;

use super::auth::{client_address, end_session_cookie};
use super::problem::Problem;
use super::state::AppState;

fn back(notice: AccountNotice) -> Response {
    Redirect::to(&format!("/admin/account?notice={}", notice.as_str())).into_response()
}

/// The notice for a failed form, logging what the visitor is not shown.
fn failure(error: ServiceError, request_id: &str) -> Response {
    let notice = match error {
        ServiceError::NotFound => AccountNotice::NothingToDo,
        ServiceError::RateLimited { .. } => AccountNotice::TooManyAttempts,
        ServiceError::WeakPassword(rule) => AccountNotice::WeakPassword(rule),
        ServiceError::InvalidParameter {
            parameter: "currentPassword",
            ..
        } => AccountNotice::WrongCurrentPassword,
        ServiceError::InvalidParameter {
            parameter: "repeatPassword",
            ..
        } => AccountNotice::PasswordsDiffer,
        ServiceError::Unavailable(cause) => {
            tracing::warn!(request_id, error = %cause, "account form: database unavailable");
            AccountNotice::Unavailable
        }
        // The guard lets only admins here; anything else is a bug to see.
        other => return Problem::from(other).into_response(),
    };
    back(notice)
}

pub async fn end_session(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    Path(id): Path<String>,
) -> Response {
    let caller = info.caller.as_ref();
    match state
        .service
        .end_own_session(caller, &id, Some(&info.request_id))
        .await
    {
        Ok(()) if caller.and_then(|c| c.session_id.as_deref()) == Some(id.as_str()) => {
            // Signing out this very session is a logout.
            let mut response = Redirect::to("/login").into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, end_session_cookie());
            response
        }
        Ok(()) => back(AccountNotice::SessionEnded),
        Err(error) => failure(error, &info.request_id),
    }
}

pub async fn end_other_sessions(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
) -> Response {
    match state
        .service
        .end_other_sessions(info.caller.as_ref(), Some(&info.request_id))
        .await
    {
        Ok(_) => back(AccountNotice::OthersEnded),
        Err(error) => failure(error, &info.request_id),
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    Path(id): Path<String>,
) -> Response {
    match state
        .service
        .revoke_own_token(info.caller.as_ref(), &id, Some(&info.request_id))
        .await
    {
        Ok(()) => back(AccountNotice::TokenRevoked),
        Err(error) => failure(error, &info.request_id),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    repeat_password: String,
    /// The "also revoke my API tokens" box: sent only when checked.
    #[serde(default)]
    revoke_tokens: Option<String>,
}

pub async fn change_password(State(state): State<AppState>, request: Request) -> Response {
    let client = client_address(&state, &request);
    let info = request
        .extensions()
        .get::<RequestInfo>()
        .cloned()
        .unwrap_or_default();
    let Ok(Form(form)) = Form::<PasswordForm>::from_request(request, &()).await else {
        return back(AccountNotice::WeakPassword(PasswordRule::Length));
    };
    let change = PasswordChange {
        current: &form.current_password,
        new: &form.new_password,
        repeated: &form.repeat_password,
        revoke_tokens: form.revoke_tokens.is_some(),
    };
    let client = ClientInfo {
        address: &client,
        user_agent: None,
        request_id: Some(&info.request_id),
        device_cookie: None,
    };
    match state
        .service
        .change_own_password(info.caller.as_ref(), change, client)
        .await
    {
        Ok(taken) if taken.tokens_revoked > 0 => back(AccountNotice::PasswordChangedTokensRevoked),
        Ok(_) => back(AccountNotice::PasswordChanged),
        Err(error) => failure(error, &info.request_id),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreferencesForm {
    time_display: String,
    /// The shortcuts box: sent only when checked.
    #[serde(default)]
    keyboard_shortcuts: Option<String>,
}

pub async fn save_preferences(State(state): State<AppState>, request: Request) -> Response {
    let info = request
        .extensions()
        .get::<RequestInfo>()
        .cloned()
        .unwrap_or_default();
    let invalid = |message: &str| {
        Problem::from(ServiceError::InvalidParameter {
            parameter: "timeDisplay",
            message: message.to_owned(),
        })
        .into_response()
    };
    let Ok(Form(form)) = Form::<PreferencesForm>::from_request(request, &()).await else {
        return invalid("timeDisplay is required: utc, local or relative");
    };
    let Ok(time_display) = form.time_display.parse::<TimeDisplay>() else {
        return invalid("timeDisplay must be utc, local or relative");
    };
    let preferences = Preferences {
        time_display,
        keyboard_shortcuts: form.keyboard_shortcuts.is_some(),
    };
    match state
        .service
        .set_own_preferences(info.caller.as_ref(), preferences)
        .await
    {
        Ok(()) => back(AccountNotice::PreferencesSaved),
        Err(error) => failure(error, &info.request_id),
    }
}
