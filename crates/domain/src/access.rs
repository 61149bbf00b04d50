//! Who may call the service, as both the server and the UI name them.

use std::fmt;
use std::str::FromStr;

/// A user's role. Only admins see or do anything; members are known
/// accounts that are refused everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            other => Err(format!("unknown role {other:?}: expected admin or member")),
        }
    }
}

/// What a credential may do, whatever its owner's role allows. Sessions
/// always carry `Admin`; an API token carries the scope it was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// List and read: jobs, stats, audit, export. Never trigger.
    Read,
    /// Everything the owner's role allows.
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Scope::Read),
            "admin" => Ok(Scope::Admin),
            other => Err(format!("unknown scope {other:?}: expected read or admin")),
        }
    }
}

/// An authenticated user making a request. Anonymous callers are `None`
/// wherever an `Option<&Caller>` is taken. Role and scope are read from the
/// database on every request, so a change takes effect on the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub username: String,
    pub role: Role,
    pub scope: Scope,
    /// The public id of the session this request came with; `None` for an
    /// API token.
    pub session_id: Option<String>,
    /// Read with the credential, so a page knows them without a query.
    pub preferences: crate::Preferences,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// May change state (trigger, manage their own account): an admin
    /// whose credential is not limited to reading.
    pub fn may_act(&self) -> bool {
        self.is_admin() && self.scope == Scope::Admin
    }
}

/// What a trigger attempt did, as every trigger path (REST, server
/// function, no-JS form) reports it to a person. Its `as_str` is the
/// `?outcome=` the detail page reads after a trigger, and its serde name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TriggerOutcome {
    /// PENDING → RUNNING happened.
    Triggered,
    /// The job was no longer PENDING: someone else was faster, or it never was.
    Conflict,
    NotFound,
    /// The database did not answer; nothing changed.
    Unavailable,
}

impl TriggerOutcome {
    pub const ALL: [TriggerOutcome; 4] = [
        TriggerOutcome::Triggered,
        TriggerOutcome::Conflict,
        TriggerOutcome::NotFound,
        TriggerOutcome::Unavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TriggerOutcome::Triggered => "triggered",
            TriggerOutcome::Conflict => "conflict",
            TriggerOutcome::NotFound => "notfound",
            TriggerOutcome::Unavailable => "unavailable",
        }
    }

    pub fn parse(text: &str) -> Option<TriggerOutcome> {
        Self::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in [Role::Admin, Role::Member] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("Admin".parse::<Role>().is_err());
        for scope in [Scope::Read, Scope::Admin] {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
        }
        assert!("write".parse::<Scope>().is_err());
    }

    #[test]
    fn trigger_outcomes_round_trip_through_their_names() {
        for outcome in TriggerOutcome::ALL {
            assert_eq!(TriggerOutcome::parse(outcome.as_str()), Some(outcome));
        }
        assert_eq!(TriggerOutcome::parse("ok"), None);
    }
}
