//! Taking access back: the operator's account commands (roles, disabling,
//! passwords, scoped and expiring tokens, sessions) and what a signed-in
//! admin may do to their own account. Every change is a security event.
//!
//! Nothing here is cached: every request reads its credential with the
//! owner's role and state, so a change is seen by the next request on every
//! instance.

use std::time::Duration;

use regen_domain::{
    AccountOverview, Caller, Role, Scope, SessionSummary, Timestamp, TokenSummary, UserSummary,
};
use regen_storage::{AccessTaken, NewApiToken, Owner, UserRecord};

use crate::auth::ClientInfo;
use crate::passwords::{hash_password, validate_password};
use crate::secrets::{new_api_token, sha256_hex};
use crate::throttle::ThrottleKeys;
use crate::{before, require_acting, AdminService, Operator, SecurityEvent, ServiceError};

/// How security events name the person at the command line.
const OPERATOR: &str = "operator";

/// Longest token label, in characters.
pub const MAX_TOKEN_LABEL: usize = 100;

/// What `token create` asks for.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub scope: Option<Scope>,
    pub expires_in: Option<Duration>,
    pub label: Option<String>,
}

/// A token just made: the secret is shown once, here, and never again.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    pub token: String,
    pub summary: TokenSummary,
}

/// A role change as it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleChange {
    pub previous: Role,
    /// A demotion's ended sessions and revoked admin-scope tokens.
    pub taken: AccessTaken,
}

/// A password change asked for on the account page.
#[derive(Debug, Clone, Copy)]
pub struct PasswordChange<'a> {
    pub current: &'a str,
    pub new: &'a str,
    pub repeated: &'a str,
    /// Also revoke every API token of the caller (the account page's box,
    /// checked by default).
    pub revoke_tokens: bool,
}

fn unknown_user(username: &str) -> ServiceError {
    ServiceError::InvalidInput(format!("unknown user {username:?}"))
}

fn after(duration: Duration) -> Option<Timestamp> {
    let millis = i64::try_from(duration.as_millis()).ok()?;
    Timestamp::from_millis(regen_storage::now().millis().checked_add(millis)?)
}

fn validate_label(label: Option<String>) -> Result<Option<String>, ServiceError> {
    match label {
        None => Ok(None),
        Some(label) => {
            let label = label.trim().to_owned();
            if label.is_empty()
                || label.chars().count() > MAX_TOKEN_LABEL
                || label.chars().any(char::is_control)
            {
                return Err(ServiceError::InvalidInput(format!(
                    "--label must be 1 to {MAX_TOKEN_LABEL} characters without control characters"
                )));
            }
            Ok(Some(label))
        }
    }
}

impl AdminService {
    async fn user_named(&self, username: &str) -> Result<UserRecord, ServiceError> {
        self.store()
            .find_user_by_name(username)
            .await?
            .ok_or_else(|| unknown_user(username))
    }

    fn idle_since(&self) -> Timestamp {
        before(self.session_policy().idle_timeout)
    }

    /// Every account, by name.
    pub async fn list_users(&self, _operator: &Operator) -> Result<Vec<UserSummary>, ServiceError> {
        Ok(self.store().list_users().await?)
    }

    /// Changes a user's role. A demotion ends every session of the user.
    pub async fn set_user_role(
        &self,
        _operator: &Operator,
        username: &str,
        role: Role,
    ) -> Result<RoleChange, ServiceError> {
        let user = self.user_named(username).await?;
        let demotion = user.role == Role::Admin && role != Role::Admin;
        let taken = self.store().set_role(&user.id, role, demotion).await?;
        self.security_event(
            SecurityEvent::RoleChange,
            OPERATOR,
            &user.username,
            None,
            &format!("{} -> {}", user.role, role),
        );
        Ok(RoleChange {
            previous: user.role,
            taken,
        })
    }

    /// Disables a user (ending all their sessions and revoking all their
    /// tokens, for good) or enables them again.
    pub async fn set_user_disabled(
        &self,
        _operator: &Operator,
        username: &str,
        disabled: bool,
    ) -> Result<AccessTaken, ServiceError> {
        let user = self.user_named(username).await?;
        let ended = self.store().set_disabled(&user.id, disabled).await?;
        let event = if disabled {
            SecurityEvent::UserDisable
        } else {
            SecurityEvent::UserEnable
        };
        self.security_event(event, OPERATOR, &user.username, None, "success");
        Ok(ended)
    }

    /// Sets a new password and ends every session of the user; with
    /// `revoke_tokens`, revokes every token of the user too.
    pub async fn set_user_password(
        &self,
        _operator: &Operator,
        username: &str,
        password: &str,
        revoke_tokens: bool,
    ) -> Result<AccessTaken, ServiceError> {
        validate_password(username, password).map_err(ServiceError::WeakPassword)?;
        let user = self.user_named(username).await?;
        if let Some(issuer) = &user.oidc_issuer {
            return Err(ServiceError::InvalidInput(format!(
                "{username} signs in through {issuer} and has no password here"
            )));
        }
        let hash = hash_password(password.to_owned()).await;
        let ended = self
            .store()
            .set_password(&user.id, &hash, None, revoke_tokens)
            .await?;
        self.security_event(
            SecurityEvent::PasswordChange,
            OPERATOR,
            &user.username,
            None,
            "success",
        );
        Ok(ended)
    }

    /// Creates an API token; only its hash is kept. The default scope is
    /// `admin` and the default is no expiry.
    pub async fn create_api_token(
        &self,
        _operator: &Operator,
        username: &str,
        request: TokenRequest,
    ) -> Result<CreatedToken, ServiceError> {
        let label = validate_label(request.label)?;
        let expires_at = match request.expires_in {
            None => None,
            Some(d) if d.is_zero() => {
                return Err(ServiceError::InvalidInput(
                    "--expires-in must be longer than zero".into(),
                ))
            }
            Some(d) => Some(after(d).ok_or_else(|| {
                ServiceError::InvalidInput("--expires-in is too far in the future".into())
            })?),
        };
        let user = self.user_named(username).await?;
        if user.disabled {
            return Err(ServiceError::InvalidInput(format!(
                "user {username:?} is disabled: enable them first"
            )));
        }
        let token = new_api_token();
        let id = self
            .store()
            .create_api_token(&NewApiToken {
                user_id: user.id.clone(),
                token_hash: sha256_hex(&token),
                scope: request.scope.unwrap_or(Scope::Admin),
                label,
                expires_at,
            })
            .await?;
        let summary = self
            .store()
            .list_api_tokens(Owner::User(&user.id))
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| ServiceError::InvalidInput("the new token vanished".into()))?;
        self.security_event(
            SecurityEvent::TokenCreate,
            OPERATOR,
            &format!("{} token {id}", user.username),
            None,
            summary.scope.as_str(),
        );
        Ok(CreatedToken { token, summary })
    }

    /// Tokens of one user (or everyone), oldest first.
    pub async fn list_api_tokens(
        &self,
        _operator: &Operator,
        username: Option<&str>,
    ) -> Result<Vec<TokenSummary>, ServiceError> {
        match username {
            None => Ok(self.store().list_api_tokens(Owner::Anyone).await?),
            Some(name) => {
                let user = self.user_named(name).await?;
                Ok(self.store().list_api_tokens(Owner::User(&user.id)).await?)
            }
        }
    }

    /// Revokes a token by id: the next request with it gets 401.
    pub async fn revoke_api_token(
        &self,
        _operator: &Operator,
        id: &str,
    ) -> Result<TokenSummary, ServiceError> {
        let revoked = self
            .store()
            .revoke_api_token(id, Owner::Anyone)
            .await?
            .ok_or_else(|| ServiceError::InvalidInput(format!("unknown token {id:?}")))?;
        self.security_event(
            SecurityEvent::TokenRevoke,
            OPERATOR,
            &format!("{} token {id}", revoked.username),
            None,
            "success",
        );
        Ok(revoked)
    }

    /// Live sessions of one user (or everyone), newest first.
    pub async fn list_sessions(
        &self,
        _operator: &Operator,
        username: Option<&str>,
    ) -> Result<Vec<SessionSummary>, ServiceError> {
        let owner_id = match username {
            None => None,
            Some(name) => Some(self.user_named(name).await?.id),
        };
        let owner = owner_id.as_deref().map_or(Owner::Anyone, Owner::User);
        Ok(self.store().list_sessions(owner, self.idle_since()).await?)
    }

    /// Ends one session by its id.
    pub async fn revoke_session(
        &self,
        _operator: &Operator,
        id: &str,
    ) -> Result<SessionSummary, ServiceError> {
        let ended = self
            .store()
            .delete_session_by_id(id, Owner::Anyone)
            .await?
            .ok_or_else(|| ServiceError::InvalidInput(format!("unknown session {id:?}")))?;
        self.security_event(
            SecurityEvent::SessionRevoke,
            OPERATOR,
            &format!("{} session {id}", ended.username),
            None,
            "success",
        );
        Ok(ended)
    }

    /// Ends every session of a user; returns how many.
    pub async fn revoke_user_sessions(
        &self,
        _operator: &Operator,
        username: &str,
    ) -> Result<u64, ServiceError> {
        let user = self.user_named(username).await?;
        let ended = self.store().delete_sessions_of(&user.id, None).await?;
        self.security_event(
            SecurityEvent::SessionRevoke,
            OPERATOR,
            &format!("{} all sessions", user.username),
            None,
            &format!("{ended} ended"),
        );
        Ok(ended)
    }

    /// What the account page shows: the caller, their live sessions and
    /// their tokens.
    pub async fn account_overview(
        &self,
        caller: Option<&Caller>,
    ) -> Result<AccountOverview, ServiceError> {
        let caller = require_acting(caller)?;
        let owner = Owner::User(&caller.user_id);
        let sso_account = self
            .store()
            .find_user_by_id(&caller.user_id)
            .await?
            .is_some_and(|user| user.oidc_issuer.is_some());
        let signs_in_with = sso_account.then(|| {
            self.sso_provider_name()
                .unwrap_or("your identity provider")
                .to_owned()
        });
        Ok(AccountOverview {
            signs_in_with,
            username: caller.username.clone(),
            role: caller.role,
            sessions: self.store().list_sessions(owner, self.idle_since()).await?,
            tokens: self.store().list_api_tokens(owner).await?,
            current_session: caller.session_id.clone(),
            now: regen_storage::now(),
            preferences: caller.preferences,
        })
    }

    /// Ends one of the caller's own sessions.
    pub async fn end_own_session(
        &self,
        caller: Option<&Caller>,
        session_id: &str,
        request_id: Option<&str>,
    ) -> Result<(), ServiceError> {
        let caller = require_acting(caller)?;
        self.store()
            .delete_session_by_id(session_id, Owner::User(&caller.user_id))
            .await?
            .ok_or(ServiceError::NotFound)?;
        self.security_event(
            SecurityEvent::SessionRevoke,
            &caller.username,
            &format!("{} session {session_id}", caller.username),
            request_id,
            "success",
        );
        Ok(())
    }

    /// Ends every session of the caller but the one making this request.
    pub async fn end_other_sessions(
        &self,
        caller: Option<&Caller>,
        request_id: Option<&str>,
    ) -> Result<u64, ServiceError> {
        let caller = require_acting(caller)?;
        let keep = caller.session_id.as_deref();
        let ended = self
            .store()
            .delete_sessions_of(&caller.user_id, keep)
            .await?;
        self.security_event(
            SecurityEvent::SessionRevoke,
            &caller.username,
            &format!("{} other sessions", caller.username),
            request_id,
            &format!("{ended} ended"),
        );
        Ok(ended)
    }

    /// Revokes one of the caller's own tokens.
    pub async fn revoke_own_token(
        &self,
        caller: Option<&Caller>,
        token_id: &str,
        request_id: Option<&str>,
    ) -> Result<(), ServiceError> {
        let caller = require_acting(caller)?;
        self.store()
            .revoke_api_token(token_id, Owner::User(&caller.user_id))
            .await?
            .ok_or(ServiceError::NotFound)?;
        self.security_event(
            SecurityEvent::TokenRevoke,
            &caller.username,
            &format!("{} token {token_id}", caller.username),
            request_id,
            "success",
        );
        Ok(())
    }

    /// Changes the caller's password, after checking the current one (a
    /// wrong guess counts against the login throttle), ends their other
    /// sessions and, when asked, revokes their tokens.
    pub async fn change_own_password(
        &self,
        caller: Option<&Caller>,
        change: PasswordChange<'_>,
        client: ClientInfo<'_>,
    ) -> Result<AccessTaken, ServiceError> {
        let caller = require_acting(caller)?;
        if change.new != change.repeated {
            return Err(ServiceError::InvalidParameter {
                parameter: "repeatPassword",
                message: "The new passwords do not match.".into(),
            });
        }
        validate_password(&caller.username, change.new).map_err(ServiceError::WeakPassword)?;
        let keys = ThrottleKeys::new(&caller.username, client.address);
        let attempt_id = uuid::Uuid::now_v7().to_string();
        self.begin_login_attempt(&keys, &attempt_id).await?;
        let user = self
            .store()
            .find_user_by_id(&caller.user_id)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        if user.oidc_issuer.is_some() {
            self.end_login_attempt(&keys, &attempt_id, true).await;
            return Err(ServiceError::InvalidParameter {
                parameter: "currentPassword",
                message:
                    "This account signs in through your identity provider and has no password here."
                        .into(),
            });
        }
        let verified = self
            .check_password(change.current, user.password_hash)
            .await;
        self.end_login_attempt(&keys, &attempt_id, verified).await;
        if !verified {
            self.security_event(
                SecurityEvent::PasswordChange,
                &caller.username,
                &caller.username,
                client.request_id,
                "wrong_current_password",
            );
            return Err(ServiceError::InvalidParameter {
                parameter: "currentPassword",
                message: "The current password is not correct.".into(),
            });
        }
        let hash = hash_password(change.new.to_owned()).await;
        let ended = self
            .store()
            .set_password(
                &caller.user_id,
                &hash,
                caller.session_id.as_deref(),
                change.revoke_tokens,
            )
            .await?;
        self.security_event(
            SecurityEvent::PasswordChange,
            &caller.username,
            &caller.username,
            client.request_id,
            "success",
        );
        Ok(ended)
    }
}
