//! The account tables' row types, the columns they are read from and the
//! one decoder for each.

use regen_domain::{Preferences, Role, Scope, SessionSummary, Timestamp, TokenSummary};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::StorageError;
use crate::rows::{optional_parse, parse, text};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub password_hash: String,
    pub disabled: bool,
    pub preferences: Preferences,
    /// The OpenID provider's issuer for an SSO account (keyed by issuer and
    /// subject, and without a password); `None` for a local account.
    pub oidc_issuer: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    /// The public id: listed, and used to end this one session.
    pub id: String,
    /// SHA-256 of the session secret carried by the cookie.
    pub id_hash: String,
    pub user_id: String,
    pub expires_at: Timestamp,
    pub client_address: Option<String>,
    pub user_agent: Option<String>,
    /// The provider's ID token of an SSO sign-in, kept for logout.
    pub id_token: Option<String>,
}

/// A live session and the user it stands for.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: String,
    pub user: UserRecord,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub user_id: String,
    pub token_hash: String,
    pub scope: Scope,
    pub label: Option<String>,
    pub expires_at: Option<Timestamp>,
}

/// The credentials a change to a user took away with it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccessTaken {
    pub sessions_ended: u64,
    pub tokens_revoked: u64,
}

/// Whose sessions or tokens a list or a revocation may touch.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    Anyone,
    User(&'a str),
}

impl Owner<'_> {
    pub(super) fn user_id(&self) -> Option<&str> {
        match self {
            Owner::Anyone => None,
            Owner::User(id) => Some(id),
        }
    }
}

pub(super) const USER_COLUMNS: &str =
    "u.id, u.username, u.role, u.password_hash, u.disabled_at, u.time_display, u.keyboard_shortcuts, \
     u.oidc_issuer";
pub(super) const SESSION_SUMMARY_COLUMNS: &str =
    "s.id, s.user_id, u.username, s.created_at, s.last_seen_at, \
     s.expires_at, s.client_address, s.user_agent";
pub(super) const TOKEN_SUMMARY_COLUMNS: &str =
    "t.id, t.user_id, u.username, t.label, t.scope, t.created_at, \
     t.last_used_at, t.expires_at, t.revoked_at";

pub(super) fn user_from_row(row: &AnyRow) -> Result<UserRecord, StorageError> {
    let disabled_at: Option<String> = row.try_get("disabled_at")?;
    Ok(UserRecord {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: parse(row, "role")?,
        password_hash: row.try_get("password_hash")?,
        disabled: disabled_at.is_some(),
        preferences: Preferences {
            time_display: parse(row, "time_display")?,
            keyboard_shortcuts: Preferences::parse_shortcuts(&text(row, "keyboard_shortcuts")?)
                .map_err(|e| StorageError::corrupt(format!("keyboard_shortcuts: {e}")))?,
        },
        oidc_issuer: row.try_get("oidc_issuer")?,
    })
}

/// A usable token's owner, scope and last use, as `use_api_token` reads them.
pub(super) type TokenUse = (UserRecord, Scope, Option<Timestamp>);

pub(super) fn token_use_from_row(row: &AnyRow) -> Result<TokenUse, StorageError> {
    Ok((
        user_from_row(row)?,
        parse(row, "scope")?,
        optional_parse(row, "last_used_at")?,
    ))
}

pub(super) fn session_summary(row: &AnyRow) -> Result<SessionSummary, StorageError> {
    Ok(SessionSummary {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        username: row.try_get("username")?,
        created_at: parse(row, "created_at")?,
        last_seen_at: parse(row, "last_seen_at")?,
        expires_at: parse(row, "expires_at")?,
        client_address: row.try_get("client_address")?,
        user_agent: row.try_get("user_agent")?,
    })
}

pub(super) fn token_summary(row: &AnyRow) -> Result<TokenSummary, StorageError> {
    Ok(TokenSummary {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        username: row.try_get("username")?,
        label: row.try_get("label")?,
        scope: parse(row, "scope")?,
        created_at: parse(row, "created_at")?,
        last_used_at: optional_parse(row, "last_used_at")?,
        expires_at: optional_parse(row, "expires_at")?,
        revoked_at: optional_parse(row, "revoked_at")?,
    })
}
