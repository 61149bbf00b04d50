//! Accounts and the credentials they hold, as lists show them: never a
//! secret, never a hash.

use serde::Serialize;

use crate::{Role, Scope, Timestamp};

/// A user as `user list` shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSummary {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub disabled_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub last_login_at: Option<Timestamp>,
    /// The OpenID provider an SSO account signs in through; `None`: a
    /// local account with a password. Serialised as `origin` (see there).
    #[serde(rename = "origin", serialize_with = "serialize_origin")]
    pub oidc_issuer: Option<String>,
}

fn serialize_origin<S: serde::Serializer>(
    issuer: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&origin_of(issuer.as_deref()))
}

fn origin_of(issuer: Option<&str>) -> String {
    match issuer {
        Some(issuer) => format!("oidc:{issuer}"),
        None => "local".to_owned(),
    }
}

impl UserSummary {
    pub fn state(&self) -> &'static str {
        if self.disabled_at.is_some() {
            "disabled"
        } else {
            "active"
        }
    }

    /// `local`, or `oidc:` and the issuer of an SSO account.
    pub fn origin(&self) -> String {
        origin_of(self.oidc_issuer.as_deref())
    }
}

/// A live browser session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionSummary {
    pub id: String,
    pub user_id: String,
    pub username: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    pub client_address: Option<String>,
    pub user_agent: Option<String>,
}

/// An API token, revoked and expired ones included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenSummary {
    pub id: String,
    pub user_id: String,
    pub username: String,
    pub label: Option<String>,
    pub scope: Scope,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl TokenSummary {
    /// Whether the token would be accepted at `now` (its owner's state aside).
    pub fn is_usable(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

/// What the account page shows the signed-in admin about themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountOverview {
    pub username: String,
    pub role: Role,
    pub sessions: Vec<SessionSummary>,
    pub tokens: Vec<TokenSummary>,
    /// The public id of the session viewing the page.
    pub current_session: Option<String>,
    pub now: Timestamp,
    pub preferences: crate::Preferences,
    /// The provider an SSO account signs in through (it has no password
    /// here); `None` for a local account.
    pub signs_in_with: Option<String>,
}

/// The rule a new password broke, so that every place a password is set
/// (the CLI, the account page) says which one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRule {
    /// Fewer than 8 characters, or more than 1,024 bytes.
    Length,
    /// Nothing but whitespace.
    Whitespace,
    /// The user's own name, in any case.
    UserName,
    /// One of the 10,000 most common passwords, in any case.
    Common,
}

impl PasswordRule {
    pub const ALL: [PasswordRule; 4] = [
        PasswordRule::Length,
        PasswordRule::Whitespace,
        PasswordRule::UserName,
        PasswordRule::Common,
    ];

    pub fn message(self) -> &'static str {
        match self {
            PasswordRule::Length => "The new password must be 8 to 1024 characters.",
            PasswordRule::Whitespace => "The new password must not be only spaces.",
            PasswordRule::UserName => "The new password must not be the user name.",
            PasswordRule::Common => "The new password is one of the 10,000 most common passwords.",
        }
    }
}
