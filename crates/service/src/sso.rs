//! Sign-in through the company's OpenID provider: the redirect out (state,
//! nonce and PKCE verifier kept in the database, bound to the browser that
//! asked), and the return (the sign-in taken once, the ID token verified by
//! `regen-oidc`, the admin claim read, the account found by issuer and
//! subject, its role set from the claim, and a session opened).
//!
//! The role is decided at every sign-in and by the claim alone (default
//! deny): no claim value, no admin. An account that lost the claim is made
//! a member and loses every session and token at that sign-in.

use std::sync::OnceLock;
use std::time::Duration;

use regen_domain::{Caller, Role, Scope};
use regen_oidc::{claim, claim_matches, OidcClient, OidcError, OidcSettings};
use regen_storage::NewSignIn;

use crate::auth::{after, caller_of, ClientInfo};
use crate::secrets::{random_secret, sha256_hex, SessionSecret};
use crate::{AdminService, SecurityEvent, ServiceError};

/// A sign-in must come back from the provider within this.
pub const SIGN_IN_LIFETIME: Duration = Duration::from_secs(600);

/// Sign-ins under way at once, across instances. Anyone may start one, so
/// their rows are bounded; a real browser finishes within seconds.
const MAX_PENDING_SIGN_INS: i64 = 10_000;

/// The settings of SSO (`REGEN_OIDC_*`).
pub struct SsoSettings {
    pub oidc: OidcSettings,
    pub policy: SsoPolicy,
}

/// What SSO decides by, besides the provider itself.
#[derive(Debug, Clone)]
pub struct SsoPolicy {
    /// Shown on the login page: "Sign in with {provider_name}".
    pub provider_name: String,
    /// The dotted path of the claim that makes an admin, e.g. `groups`.
    pub admin_claim: String,
    /// Any of these in the claim makes an admin; none: nobody is.
    pub admin_values: Vec<String>,
    /// The claim naming the account; `email` when it is absent.
    pub username_claim: String,
    /// An SSO session ends this long after sign-in, whatever the provider says.
    pub max_session: Duration,
}

/// SSO as an instance runs it: set once at start-up.
pub(crate) struct Sso {
    client: OidcClient,
    policy: SsoPolicy,
}

pub(crate) type SsoCell = OnceLock<Sso>;

/// Where to send the browser, and the secret its sign-in cookie carries.
#[derive(Debug)]
pub struct SsoStart {
    pub redirect_to: String,
    pub browser_secret: String,
}

/// What the provider sent the browser back with.
#[derive(Debug, Default, Clone, Copy)]
pub struct SsoReturn<'a> {
    pub state: Option<&'a str>,
    pub code: Option<&'a str>,
    pub error: Option<&'a str>,
    /// The sign-in cookie the browser holds.
    pub browser_secret: Option<&'a str>,
}

#[derive(Debug)]
pub struct SsoSignedIn {
    pub caller: Caller,
    pub session: SessionSecret,
    /// How long the session cookie should live.
    pub max_age: Duration,
    /// Where the sign-in began (an on-site path).
    pub next: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SsoFailure {
    /// SSO is not configured, or the provider could not be discovered yet.
    #[error("sign-in with the provider is unavailable")]
    Unavailable,
    /// The provider vouched for this person, but the claim does not make
    /// them an admin: no session.
    #[error("not in an admin group")]
    NotAnAdmin,
    /// Anything else about the sign-in was wrong (state, code, token…);
    /// the reason is logged as a security event, never shown.
    #[error("sign-in failed")]
    Failed,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// The name a new account gets: the configured claim, else `email`.
fn wanted_name(claims: &serde_json::Value, username_claim: &str) -> Option<String> {
    [username_claim, "email"].into_iter().find_map(|path| {
        claim(claims, path)
            .and_then(|value| value.as_str())
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
    })
}

impl AdminService {
    /// Turns SSO on for this instance: discovery is tried once now, and
    /// again on a sign-in when it failed (never by a task of its own).
    pub async fn start_sso(&self, settings: SsoSettings) {
        let client = OidcClient::start(settings.oidc).await;
        let policy = settings.policy;
        let _ = self.inner.sso.set(Sso { client, policy });
    }

    fn sso(&self) -> Option<&Sso> {
        self.inner.sso.get()
    }

    /// "Sign in with {name}", when SSO is on.
    pub fn sso_provider_name(&self) -> Option<&str> {
        self.sso().map(|sso| sso.policy.provider_name.as_str())
    }

    /// Begins a sign-in: the authorization URL to send the browser to, and
    /// the secret of the cookie that binds the sign-in to this browser.
    pub async fn begin_sso(&self, next: &str) -> Result<SsoStart, SsoFailure> {
        let sso = self.sso().ok_or(SsoFailure::Unavailable)?;
        let start = match sso.client.begin().await {
            Ok(start) => start,
            Err(OidcError::Unavailable) => return Err(SsoFailure::Unavailable),
            Err(error) => {
                tracing::warn!(error = %error, "could not begin an SSO sign-in");
                return Err(SsoFailure::Unavailable);
            }
        };
        let browser_secret = random_secret();
        let recorded = self
            .store()
            .begin_sign_in(
                &NewSignIn {
                    state_hash: sha256_hex(&start.state),
                    browser_hash: sha256_hex(&browser_secret),
                    nonce: start.nonce,
                    pkce_verifier: start.pkce_verifier,
                    next_path: next.to_owned(),
                    expires_at: after(SIGN_IN_LIFETIME),
                },
                MAX_PENDING_SIGN_INS,
            )
            .await
            .map_err(ServiceError::from)?;
        if !recorded {
            tracing::warn!(
                limit = MAX_PENDING_SIGN_INS,
                "too many SSO sign-ins under way; refusing new ones until some finish or expire"
            );
            return Err(ServiceError::RateLimited {
                retry_after_secs: 60,
            }
            .into());
        }
        Ok(SsoStart {
            redirect_to: start.url,
            browser_secret,
        })
    }

    /// Finishes a sign-in the provider sent back. Every refusal is a
    /// security event with its reason; the browser learns only which of
    /// the three answers it got (unavailable, not an admin, failed).
    pub async fn finish_sso(
        &self,
        back: SsoReturn<'_>,
        client: ClientInfo<'_>,
    ) -> Result<SsoSignedIn, SsoFailure> {
        let sso = self.sso().ok_or(SsoFailure::Unavailable)?;
        let refuse = |actor: &str, reason: &str| {
            self.security_event(
                SecurityEvent::LoginFailure,
                actor,
                actor,
                client.request_id,
                reason,
            );
            tracing::warn!(actor, reason, client = ?client.address, "SSO sign-in refused");
        };
        // The sign-in is taken (and so spent) before anything else is
        // checked: a state is good for one return, whatever happens to it.
        let Some(state) = back.state.filter(|s| !s.is_empty() && s.len() <= 200) else {
            refuse("", "state_missing");
            return Err(SsoFailure::Failed);
        };
        let Some(pending) = self
            .store()
            .take_sign_in(&sha256_hex(state))
            .await
            .map_err(ServiceError::from)?
        else {
            refuse("", "state_unknown_used_or_expired");
            return Err(SsoFailure::Failed);
        };
        let bound = back
            .browser_secret
            .is_some_and(|secret| sha256_hex(secret) == pending.browser_hash);
        if !bound {
            refuse("", "state_from_another_browser");
            return Err(SsoFailure::Failed);
        }
        if let Some(error) = back.error {
            let code: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            refuse("", &format!("provider_error:{code}"));
            return Err(SsoFailure::Failed);
        }
        let Some(code) = back.code.filter(|c| !c.is_empty() && c.len() <= 2048) else {
            refuse("", "code_missing");
            return Err(SsoFailure::Failed);
        };
        let login = match sso
            .client
            .finish(code, &pending.pkce_verifier, &pending.nonce)
            .await
        {
            Ok(login) => login,
            Err(OidcError::Unavailable) => return Err(SsoFailure::Unavailable),
            Err(OidcError::InvalidIdToken(reason)) => {
                refuse("", &format!("id_token_{reason}"));
                return Err(SsoFailure::Failed);
            }
            Err(error) => {
                refuse("", &format!("exchange: {error}"));
                return Err(SsoFailure::Failed);
            }
        };
        let settings = &sso.policy;
        let is_admin = claim_matches(&login.claims, &settings.admin_claim, &settings.admin_values);
        let subject_label = format!("{:?}", login.subject);
        let existing = self
            .store()
            .find_sso_user(&login.issuer, &login.subject)
            .await
            .map_err(ServiceError::from)?;
        let user = match (existing, is_admin) {
            (None, false) => {
                refuse(&subject_label, "not_in_admin_group");
                return Err(SsoFailure::NotAnAdmin);
            }
            (Some(user), false) => {
                if user.role == Role::Admin {
                    let taken = self
                        .store()
                        .demote_sso_user(&user.id)
                        .await
                        .map_err(ServiceError::from)?;
                    self.security_event(
                        SecurityEvent::RoleChange,
                        &user.username,
                        &user.username,
                        client.request_id,
                        "demoted_by_provider",
                    );
                    tracing::warn!(
                        username = %user.username,
                        sessions_ended = taken.sessions_ended,
                        tokens_revoked = taken.tokens_revoked,
                        "SSO user lost the admin claim: demoted, sessions ended, tokens revoked"
                    );
                }
                refuse(&user.username, "not_in_admin_group");
                return Err(SsoFailure::NotAnAdmin);
            }
            (Some(user), true) => {
                if user.role != Role::Admin {
                    self.store()
                        .set_role(&user.id, Role::Admin, false)
                        .await
                        .map_err(ServiceError::from)?;
                    self.security_event(
                        SecurityEvent::RoleChange,
                        &user.username,
                        &user.username,
                        client.request_id,
                        "promoted_by_provider",
                    );
                }
                regen_storage::UserRecord {
                    role: Role::Admin,
                    ..user
                }
            }
            (None, true) => {
                let Some(name) = wanted_name(&login.claims, &settings.username_claim) else {
                    refuse(&subject_label, "no_username_claim");
                    return Err(SsoFailure::Failed);
                };
                match self
                    .store()
                    .provision_sso_user(&login.issuer, &login.subject, &name, Role::Admin)
                    .await
                {
                    Ok(user) => user,
                    Err(regen_storage::StorageError::Duplicate(_)) => {
                        refuse(&subject_label, "every_name_taken");
                        return Err(SsoFailure::Failed);
                    }
                    Err(error) => return Err(ServiceError::from(error).into()),
                }
            }
        };
        if user.disabled {
            refuse(&user.username, "disabled");
            return Err(SsoFailure::Failed);
        }
        let lifetime = settings
            .max_session
            .min(self.session_policy().absolute_lifetime);
        let (session, session_id) = self
            .open_session(&user.id, lifetime, client, Some(login.id_token))
            .await?;
        self.security_event(
            SecurityEvent::LoginSuccess,
            &user.username,
            &user.username,
            client.request_id,
            "sso",
        );
        let mut caller = caller_of(user, Scope::Admin);
        caller.session_id = Some(session_id);
        Ok(SsoSignedIn {
            caller,
            session,
            max_age: lifetime,
            next: pending.next_path,
        })
    }

    /// Where logout sends the browser so the provider's session ends too
    /// (RP-Initiated Logout), for a session that came from SSO.
    pub fn sso_logout_url(&self, id_token: &str, post_logout_redirect: &str) -> Option<String> {
        self.sso()?
            .client
            .end_session_url(id_token, post_logout_redirect)
    }
}

#[cfg(test)]
mod tests {
    use super::wanted_name;
    use serde_json::json;

    #[test]
    fn a_new_account_is_named_by_its_claim_and_else_by_its_email() {
        let claims = json!({"preferred_username": "alice", "email": "a@example.com"});
        assert_eq!(
            wanted_name(&claims, "preferred_username").as_deref(),
            Some("alice")
        );
        let claims = json!({"email": "carol@example.com", "preferred_username": " "});
        assert_eq!(
            wanted_name(&claims, "preferred_username").as_deref(),
            Some("carol@example.com")
        );
        let claims = json!({"profile": {"login": "dan"}});
        assert_eq!(
            wanted_name(&claims, "profile.login").as_deref(),
            Some("dan")
        );
        assert_eq!(
            wanted_name(&json!({"sub": "x"}), "preferred_username"),
            None
        );
    }
}
