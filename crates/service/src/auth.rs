//! Who a request stands for: the login use case (throttled, then the
//! password checked, then a fresh session and device cookie), sessions and API tokens turned
//! back into callers, logout, and the security events they record.

use std::time::Duration;

use regen_domain::{Caller, Scope, Timestamp};
use regen_storage::{NewSession, UserRecord};

use crate::device_cookies::DeviceCookie;
use crate::passwords::{dummy_hash, MAX_USERNAME};
use crate::secrets::{sha256_hex, CredentialHash, SessionSecret, API_TOKEN_PREFIX};
use crate::throttle::ThrottleKeys;
use crate::{before, AdminService, SecurityEvent, ServiceError};

/// The caller a stored user stands for, through a credential of `scope`.
pub(crate) fn caller_of(user: UserRecord, scope: Scope) -> Caller {
    Caller {
        user_id: user.id,
        username: user.username,
        role: user.role,
        scope,
        session_id: None,
        preferences: user.preferences,
    }
}

#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// A session unused for this long is over.
    pub idle_timeout: Duration,
    /// A session is over this long after login, however busy.
    pub absolute_lifetime: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(3600),
            absolute_lifetime: Duration::from_secs(12 * 3600),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoginFailure {
    /// Wrong user name or password; deliberately not saying which.
    #[error("invalid user name or password")]
    InvalidCredentials,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// A user name as logs show it: bounded, whatever was typed.
fn short(username: &str) -> String {
    username.chars().take(MAX_USERNAME).collect()
}

pub(crate) fn after(duration: Duration) -> Timestamp {
    let now = regen_storage::now();
    Timestamp::from_millis(now.millis() + duration.as_millis() as i64).unwrap_or(now)
}

/// Where a login or a logout comes from, as sessions and security events
/// record it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientInfo<'a> {
    pub address: &'a str,
    pub user_agent: Option<&'a str>,
    pub request_id: Option<&'a str>,
    /// The device cookie the browser sent, if any (checked, not trusted).
    pub device_cookie: Option<&'a str>,
}

/// A successful login: who, their new session, and the device cookie that
/// lets this browser log in as them even when its address is throttled.
#[derive(Debug)]
pub struct LoggedIn {
    pub caller: Caller,
    pub session: SessionSecret,
    pub device_cookie: DeviceCookie,
}

/// Longest user agent kept with a session.
const MAX_USER_AGENT: usize = 300;

impl AdminService {
    /// Checks the credentials and opens a new session (a fresh id every
    /// time, so a session id planted before login is worthless). A disabled
    /// account fails exactly like a wrong password. A valid device cookie
    /// for the user moves the attempt from the address's and the account's
    /// budgets to the cookie's own.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: ClientInfo<'_>,
    ) -> Result<LoggedIn, LoginFailure> {
        let user = if username.len() > MAX_USERNAME {
            None
        } else {
            self.store()
                .find_user_by_name(username)
                .await
                .map_err(ServiceError::from)?
                // An SSO account has no password: to this form it does not exist.
                .filter(|user| user.oidc_issuer.is_none())
        };
        let device_key = self.device_key().await?;
        let device = client
            .device_cookie
            .zip(user.as_ref())
            .and_then(|(cookie, user)| device_key.device(cookie, &user.id));
        let keys = match device {
            Some(device) => ThrottleKeys::known_device(device),
            None => ThrottleKeys::new(username, client.address),
        };
        let attempt_id = uuid::Uuid::now_v7().to_string();
        // Client-supplied text goes into logs in Debug form, so control
        // characters are escaped and cannot forge lines.
        let attempted = format!("{:?}", short(username));
        match self.begin_login_attempt(&keys, &attempt_id).await {
            Err(ServiceError::RateLimited { retry_after_secs }) => {
                self.security_event(
                    SecurityEvent::LoginFailure,
                    &attempted,
                    &attempted,
                    client.request_id,
                    "throttled",
                );
                tracing::warn!(username = %attempted, client = ?client.address, "login refused: too many failed attempts");
                return Err(ServiceError::RateLimited { retry_after_secs }.into());
            }
            Err(error) => return Err(error.into()),
            Ok(admitted) if admitted.storm_started => {
                self.metrics().count_login_failure_storm();
                tracing::warn!(username = %attempted, "login failure storm: many failed attempts for one account from several addresses");
            }
            Ok(_) => {}
        }
        let hash = user
            .as_ref()
            .map(|u| u.password_hash.clone())
            .unwrap_or_else(|| dummy_hash().to_owned());
        let verified = self.check_password(password, hash).await;
        let user = match user {
            Some(user) if verified && !user.disabled => user,
            other => {
                self.end_login_attempt(&keys, &attempt_id, false).await;
                let outcome = match other {
                    Some(user) if verified && user.disabled => "disabled",
                    _ => "invalid_credentials",
                };
                self.security_event(
                    SecurityEvent::LoginFailure,
                    &attempted,
                    &attempted,
                    client.request_id,
                    outcome,
                );
                tracing::warn!(username = %attempted, client = ?client.address, "login failed");
                return Err(LoginFailure::InvalidCredentials);
            }
        };
        self.end_login_attempt(&keys, &attempt_id, true).await;
        let lifetime = self.session_policy().absolute_lifetime;
        let (secret, session_id) = self.open_session(&user.id, lifetime, client, None).await?;
        self.security_event(
            SecurityEvent::LoginSuccess,
            &user.username,
            &user.username,
            client.request_id,
            "success",
        );
        let device_cookie = device_key.issue(&user.id);
        let mut caller = caller_of(user, Scope::Admin);
        caller.session_id = Some(session_id);
        Ok(LoggedIn {
            caller,
            session: secret,
            device_cookie,
        })
    }

    /// Opens a session for a user who just proved who they are (a password,
    /// or the provider's ID token, kept for logout), for at most `lifetime`.
    /// Returns its secret and public id.
    pub(crate) async fn open_session(
        &self,
        user_id: &str,
        lifetime: Duration,
        client: ClientInfo<'_>,
        id_token: Option<String>,
    ) -> Result<(SessionSecret, String), ServiceError> {
        // Logins are rare: a good moment to drop sessions that have ended.
        let idle_since = before(self.session_policy().idle_timeout);
        if let Err(error) = self.store().delete_expired_sessions(idle_since).await {
            tracing::warn!(error = %error, "could not purge ended sessions");
        }
        let secret = SessionSecret::random();
        let session_id = uuid::Uuid::now_v7().to_string();
        self.store()
            .create_session(&NewSession {
                id: session_id.clone(),
                id_hash: sha256_hex(secret.as_str()),
                user_id: user_id.to_owned(),
                expires_at: after(lifetime),
                client_address: Some(client.address.chars().take(64).collect()),
                user_agent: client
                    .user_agent
                    .map(|ua| ua.chars().take(MAX_USER_AGENT).collect()),
                id_token,
            })
            .await?;
        if let Err(error) = self.store().record_login(user_id).await {
            tracing::warn!(error = %error, "could not record the login time");
        }
        Ok((secret, session_id))
    }

    /// The caller a session cookie stands for, if the session is live and
    /// its user is not disabled. Role and state come with the session, in
    /// the same query.
    pub async fn authenticate_session(&self, secret: &str) -> Result<Option<Caller>, ServiceError> {
        if secret.is_empty() || secret.len() > 100 {
            return Ok(None);
        }
        self.caller_for(&CredentialHash::session(secret)).await
    }

    /// Who a credential stands for now: its token or session read with its
    /// owner's role and state, as every request and every export chunk
    /// reads it (a session's last-seen time moves forward).
    pub(crate) async fn caller_for(
        &self,
        credential: &CredentialHash,
    ) -> Result<Option<Caller>, ServiceError> {
        Ok(match credential {
            CredentialHash::ApiToken(hash) => self
                .store()
                .use_api_token(hash)
                .await?
                .map(|(user, scope)| caller_of(user, scope)),
            CredentialHash::Session(hash) => {
                let idle_since = before(self.session_policy().idle_timeout);
                self.store()
                    .touch_session(hash, idle_since)
                    .await?
                    .map(|session| {
                        let mut caller = caller_of(session.user, Scope::Admin);
                        caller.session_id = Some(session.id);
                        caller
                    })
            }
        })
    }

    /// Ends the session; the provider's ID token it was opened with, when
    /// it came from SSO (so the provider's session can be ended too).
    pub async fn logout(
        &self,
        caller: Option<&Caller>,
        secret: &str,
        request_id: Option<&str>,
    ) -> Result<Option<String>, ServiceError> {
        let id_token = self.store().delete_session(&sha256_hex(secret)).await?;
        if let Some(caller) = caller {
            self.security_event(
                SecurityEvent::Logout,
                &caller.username,
                caller.session_id.as_deref().unwrap_or(""),
                request_id,
                "success",
            );
        }
        Ok(id_token)
    }

    /// The caller an API token stands for, if it is usable: known, not
    /// revoked, not expired, and its owner not disabled (one query).
    pub async fn authenticate_token(&self, token: &str) -> Result<Option<Caller>, ServiceError> {
        if !token.starts_with(API_TOKEN_PREFIX) || token.len() > 200 {
            return Ok(None);
        }
        self.caller_for(&CredentialHash::api_token(token)).await
    }

    /// Logs a security event at info level and counts it. Never pass a
    /// secret: actor and subject are names and ids.
    pub(crate) fn security_event(
        &self,
        event: SecurityEvent,
        actor: &str,
        subject: &str,
        request_id: Option<&str>,
        outcome: &str,
    ) {
        self.metrics().count_security_event(event);
        tracing::info!(
            target: "regen_admin::security",
            event = event.as_str(),
            actor,
            subject,
            request_id = request_id.unwrap_or(""),
            outcome,
            "security event"
        );
    }
}
