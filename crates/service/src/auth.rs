use std::time::Duration;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use regen_domain::{Caller, Scope, Timestamp};
use regen_storage::{NewSession, UserRecord};
use sha2::{Digest, Sha256};

use crate::{AdminService, SecurityEvent, ServiceError};

/// Every API token starts with this, so that leaked tokens are easy to spot
/// (secret scanners, logs) and easy to tell from session ids.
pub const API_TOKEN_PREFIX: &str = "rga_";

/// The caller a stored user stands for, through a credential of `scope`.
pub(crate) fn caller_of(user: UserRecord, scope: Scope) -> Caller {
    Caller {
        user_id: user.id,
        username: user.username,
        role: user.role,
        scope,
        session_id: None,
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

/// The secret a session cookie carries. Only its SHA-256 is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecret(String);

impl SessionSecret {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionSecret(***)")
    }
}

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Hashes a password with argon2id on a blocking thread: it is deliberately
/// slow and must not stall the async runtime.
pub(crate) async fn hash_password(password: String) -> String {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .expect("argon2 accepts any password")
            .to_string()
    })
    .await
    .expect("hashing task does not panic")
}

async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash of a password nobody knows, verified for unknown users so that a
/// login takes as long whether or not the user exists.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(random_secret().as_bytes(), &salt)
            .expect("argon2 hashes")
            .to_string()
    })
}

#[derive(Debug, thiserror::Error)]
pub enum LoginFailure {
    /// Wrong user name or password; deliberately not saying which.
    #[error("invalid user name or password")]
    InvalidCredentials,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// The login throttle's budgets, applied to attempts kept in the database
/// (`login_attempts`), so that every instance counts every attempt and a
/// restart forgets nothing.
///
/// Three budgets, so that guessing is slow but nobody can lock a user out
/// from elsewhere:
/// - per client address: at most `max_failures` per sliding window,
///   whatever the user names;
/// - per (user name, client address): a few free tries, then a delay that
///   doubles with every further failure;
/// - per user name from all addresses: never blocks (that would let anyone
///   lock an admin out), but a storm of failures is logged and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    /// Failures one client address may have in the window.
    pub max_failures: usize,
    /// Failures for one (user name, address) before delays start.
    pub free_attempts: usize,
    /// Failures for one user name from all addresses that make a storm.
    pub storm_threshold: usize,
    /// The sliding window every budget counts in.
    pub window: Duration,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            max_failures: 10,
            free_attempts: 3,
            storm_threshold: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Longest user name considered; longer ones cannot exist (see `create_user`).
const MAX_USERNAME: usize = 64;

/// An attempt the throttle let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Admitted {
    /// This attempt is the one that takes a user name's failures from all
    /// addresses over the storm threshold.
    pub storm_started: bool,
}

/// The keys an attempt counts against: hashes, so that neither what was
/// typed nor the address is stored as text, and every key has one length.
pub(crate) struct ThrottleKeys {
    address: String,
    pair: String,
    user: String,
}

impl ThrottleKeys {
    pub(crate) fn new(username: &str, client: &str) -> Self {
        let username: String = username.chars().take(MAX_USERNAME).collect();
        let username = username.to_lowercase();
        ThrottleKeys {
            address: sha256_hex(&format!("addr:{client}")),
            pair: sha256_hex(&format!("pair:{client}\u{0}{username}")),
            user: sha256_hex(&format!("user:{username}")),
        }
    }

    pub(crate) fn all(&self) -> [String; 3] {
        [self.address.clone(), self.pair.clone(), self.user.clone()]
    }
}

/// Earlier attempts still inside the window, oldest first, per key.
#[derive(Debug, Default)]
pub(crate) struct RecentAttempts {
    pub by_address: Vec<Timestamp>,
    pub by_pair: Vec<Timestamp>,
    pub by_user: Vec<Timestamp>,
}

impl LoginThrottle {
    /// Admits an attempt at `now`, or refuses it with the seconds to wait.
    pub(crate) fn assess(&self, recent: &RecentAttempts, now: Timestamp) -> Result<Admitted, u64> {
        let window_ms = self.window.as_millis() as i64;
        let age = |at: &Timestamp| (now.millis() - at.millis()).max(0);
        let mut wait_ms = 0i64;
        if recent.by_address.len() >= self.max_failures {
            // The oldest failure that must leave the window first.
            let oldest = &recent.by_address[recent.by_address.len() - self.max_failures];
            wait_ms = wait_ms.max(window_ms - age(oldest));
        }
        if recent.by_pair.len() >= self.free_attempts {
            let doublings = (recent.by_pair.len() - self.free_attempts).min(20) as u32;
            let delay_ms = (1000i64 << doublings).min(window_ms);
            let last = recent.by_pair.last().expect("not empty");
            wait_ms = wait_ms.max(delay_ms - age(last));
        }
        if wait_ms > 0 {
            return Err((wait_ms as u64).div_ceil(1000).max(1));
        }
        Ok(Admitted {
            storm_started: recent.by_user.len() + 1 == self.storm_threshold,
        })
    }
}

impl AdminService {
    /// Counts an attempt before its password is checked: it is written
    /// first and then compared with the others, so that parallel guesses,
    /// on any instance, all see each other (and are refused together rather
    /// than slipping in together). A refused attempt is forgotten.
    pub(crate) async fn begin_login_attempt(
        &self,
        keys: &ThrottleKeys,
        attempt_id: &str,
    ) -> Result<Admitted, ServiceError> {
        let throttle = self.inner.throttle;
        let now = regen_storage::now();
        let store = self.store();
        store
            .record_login_attempt(attempt_id, &keys.all(), now)
            .await?;
        let since = before(throttle.window);
        let recent = RecentAttempts {
            by_address: store
                .login_attempts_since(&keys.address, since, attempt_id)
                .await?,
            by_pair: store
                .login_attempts_since(&keys.pair, since, attempt_id)
                .await?,
            by_user: store
                .login_attempts_since(&keys.user, since, attempt_id)
                .await?,
        };
        match throttle.assess(&recent, now) {
            Ok(admitted) => Ok(admitted),
            Err(retry_after_secs) => {
                store.forget_login_attempt(attempt_id, &keys.all()).await?;
                Err(ServiceError::RateLimited { retry_after_secs })
            }
        }
    }

    /// A successful login does not count against any budget. Also a good
    /// moment to drop attempts that have left the window.
    pub(crate) async fn end_login_attempt(
        &self,
        keys: &ThrottleKeys,
        attempt_id: &str,
        succeeded: bool,
    ) {
        let store = self.store();
        let forgotten = if succeeded {
            store.forget_login_attempt(attempt_id, &keys.all()).await
        } else {
            Ok(())
        };
        let purged = store
            .purge_login_attempts(before(self.inner.throttle.window))
            .await;
        if let Err(error) = forgotten.and(purged.map(|_| ())) {
            tracing::warn!(error = %error, "could not update the login throttle");
        }
    }
}

/// A user name as logs show it: bounded, whatever was typed.
fn short(username: &str) -> String {
    username.chars().take(MAX_USERNAME).collect()
}

fn after(duration: Duration) -> Timestamp {
    let now = regen_storage::now();
    Timestamp::from_millis(now.millis() + duration.as_millis() as i64).unwrap_or(now)
}

pub(crate) fn before(duration: Duration) -> Timestamp {
    let now = regen_storage::now();
    Timestamp::from_millis(now.millis() - duration.as_millis() as i64).unwrap_or(now)
}

/// Where a login or a logout comes from, as sessions and security events
/// record it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientInfo<'a> {
    pub address: &'a str,
    pub user_agent: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

/// Longest user agent kept with a session.
const MAX_USER_AGENT: usize = 300;

impl AdminService {
    /// Checks the credentials and opens a new session (a fresh id every
    /// time, so a session id planted before login is worthless). A disabled
    /// account fails exactly like a wrong password.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: ClientInfo<'_>,
    ) -> Result<(Caller, SessionSecret), LoginFailure> {
        let keys = ThrottleKeys::new(username, client.address);
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
        let user = if username.len() > MAX_USERNAME {
            None
        } else {
            self.store()
                .find_user_by_name(username)
                .await
                .map_err(ServiceError::from)?
        };
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
        // Logins are rare: a good moment to drop sessions that have ended.
        let idle_since = before(self.session_policy().idle_timeout);
        if let Err(error) = self.store().delete_expired_sessions(idle_since).await {
            tracing::warn!(error = %error, "could not purge ended sessions");
        }
        let secret = SessionSecret(random_secret());
        let session_id = uuid::Uuid::now_v7().to_string();
        let policy = self.session_policy();
        self.store()
            .create_session(&NewSession {
                id: session_id.clone(),
                id_hash: sha256_hex(secret.as_str()),
                user_id: user.id.clone(),
                expires_at: after(policy.absolute_lifetime),
                client_address: Some(client.address.chars().take(64).collect()),
                user_agent: client
                    .user_agent
                    .map(|ua| ua.chars().take(MAX_USER_AGENT).collect()),
            })
            .await
            .map_err(ServiceError::from)?;
        if let Err(error) = self.store().record_login(&user.id).await {
            tracing::warn!(error = %error, "could not record the login time");
        }
        self.security_event(
            SecurityEvent::LoginSuccess,
            &user.username,
            &user.username,
            client.request_id,
            "success",
        );
        let mut caller = caller_of(user, Scope::Admin);
        caller.session_id = Some(session_id);
        Ok((caller, secret))
    }

    /// Verifies a password against a hash. Each verification takes ~19 MiB
    /// and a core for a while: only a few at a time, however many requests
    /// arrive.
    pub(crate) async fn check_password(&self, password: &str, hash: String) -> bool {
        let Ok(_permit) = self.inner.password_checks.acquire().await else {
            return false;
        };
        verify_password(password.to_owned(), hash).await
    }

    /// The caller a session cookie stands for, if the session is live and
    /// its user is not disabled. Role and state come with the session, in
    /// the same query.
    pub async fn authenticate_session(&self, secret: &str) -> Result<Option<Caller>, ServiceError> {
        if secret.is_empty() || secret.len() > 100 {
            return Ok(None);
        }
        let idle_since = before(self.session_policy().idle_timeout);
        let session = self
            .store()
            .touch_session(&sha256_hex(secret), idle_since)
            .await?;
        Ok(session.map(|s| {
            let mut caller = caller_of(s.user, Scope::Admin);
            caller.session_id = Some(s.id);
            caller
        }))
    }

    pub async fn logout(
        &self,
        caller: Option<&Caller>,
        secret: &str,
        request_id: Option<&str>,
    ) -> Result<(), ServiceError> {
        self.store().delete_session(&sha256_hex(secret)).await?;
        if let Some(caller) = caller {
            self.security_event(
                SecurityEvent::Logout,
                &caller.username,
                caller.session_id.as_deref().unwrap_or(""),
                request_id,
                "success",
            );
        }
        Ok(())
    }

    /// The caller an API token stands for, if it is usable: known, not
    /// revoked, not expired, and its owner not disabled (one query).
    pub async fn authenticate_token(&self, token: &str) -> Result<Option<Caller>, ServiceError> {
        if !token.starts_with(API_TOKEN_PREFIX) || token.len() > 200 {
            return Ok(None);
        }
        let found = self.store().use_api_token(&sha256_hex(token)).await?;
        Ok(found.map(|(user, scope)| caller_of(user, scope)))
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

/// A new account's name and password, checked before anything is hashed.
pub(crate) fn validate_new_user<'a>(
    username: &'a str,
    password: &str,
) -> Result<&'a str, ServiceError> {
    let username = username.trim();
    if username.is_empty()
        || username.len() > MAX_USERNAME
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
    {
        return Err(ServiceError::InvalidInput(
            "user name must be 1-64 characters of letters, digits and . _ - @".into(),
        ));
    }
    validate_password(password)?;
    Ok(username)
}

/// At least 8 characters and at most 1,024 bytes (argon2 is slow enough).
pub(crate) fn validate_password(password: &str) -> Result<(), ServiceError> {
    if password.chars().count() < 8 || password.len() > 1024 {
        return Err(ServiceError::InvalidInput(
            "password must be 8 to 1024 characters".into(),
        ));
    }
    Ok(())
}

pub(crate) fn new_api_token() -> String {
    format!("{API_TOKEN_PREFIX}{}", random_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> LoginThrottle {
        LoginThrottle {
            max_failures: 5,
            free_attempts: 2,
            storm_threshold: 4,
            ..LoginThrottle::default()
        }
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_millis(1_800_000_000_000 + seconds * 1000).unwrap()
    }

    #[test]
    fn free_attempts_then_a_delay_that_doubles_per_failure() {
        let t = throttle();
        let now = at(100);
        let pair = |times: &[i64]| RecentAttempts {
            by_pair: times.iter().map(|s| at(*s)).collect(),
            ..RecentAttempts::default()
        };
        assert!(t.assess(&pair(&[99]), now).is_ok(), "one earlier: free");
        // Two earlier, the last just now: 2^0 = 1 s.
        assert_eq!(t.assess(&pair(&[10, 99]), at(99)), Err(1));
        // Four failures, the last 3 s ago: 2 free, then 2^2 = 4 s.
        assert_eq!(t.assess(&pair(&[1, 2, 3, 97]), now), Err(1));
        assert!(t.assess(&pair(&[1, 2, 3, 96]), now).is_ok());
    }

    #[test]
    fn an_address_has_a_budget_per_sliding_window() {
        let t = throttle();
        let address = |times: &[i64]| RecentAttempts {
            by_address: times.iter().map(|s| at(*s)).collect(),
            ..RecentAttempts::default()
        };
        assert!(t.assess(&address(&[1, 2, 3, 4]), at(10)).is_ok());
        // Five in the window: wait until the oldest leaves it (15 min).
        assert_eq!(t.assess(&address(&[1, 2, 3, 4, 5]), at(10)), Err(900 - 9));
    }

    #[test]
    fn a_storm_against_one_account_is_reported_once() {
        let t = throttle();
        let user = |n: usize| RecentAttempts {
            by_user: vec![at(1); n],
            ..RecentAttempts::default()
        };
        let storms: Vec<bool> = (0..6)
            .map(|n| t.assess(&user(n), at(2)).unwrap().storm_started)
            .collect();
        assert_eq!(storms, [false, false, false, true, false, false]);
    }

    #[test]
    fn keys_are_fixed_length_hashes_and_ignore_case_of_the_name() {
        let a = ThrottleKeys::new("Ada", "1.1.1.1");
        let b = ThrottleKeys::new("ada", "1.1.1.1");
        assert_eq!(a.all(), b.all());
        assert!(a.all().iter().all(|k| k.len() == 64));
        assert_ne!(ThrottleKeys::new("ada", "2.2.2.2").pair, a.pair);
    }

    #[test]
    fn secrets_are_long_and_hashes_are_hex() {
        assert_eq!(random_secret().len(), 43);
        assert_eq!(sha256_hex("x").len(), 64);
    }
}
