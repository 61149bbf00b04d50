use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use regen_domain::Timestamp;
use regen_storage::{NewSession, Role, StorageError, UserRecord};
use sha2::{Digest, Sha256};

use crate::{AdminService, ServiceError};

/// Every API token starts with this, so that leaked tokens are easy to spot
/// (secret scanners, logs) and easy to tell from session ids.
pub const API_TOKEN_PREFIX: &str = "rga_";

/// Who is calling: an authenticated user. Anonymous callers are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub username: String,
    pub role: Role,
}

impl From<UserRecord> for Caller {
    fn from(user: UserRecord) -> Self {
        Self {
            user_id: user.id,
            username: user.username,
            role: user.role,
        }
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

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Hashes a password with argon2id on a blocking thread: it is deliberately
/// slow and must not stall the async runtime.
pub async fn hash_password(password: String) -> String {
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

/// Failed-login counters per user name and per client address, in memory.
/// Each instance limits on its own, which bounds guessing to N × instances.
#[derive(Debug)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
    max_failures: usize,
    window: Duration,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            failures: Mutex::default(),
            max_failures: 10,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Longest user name considered; longer ones cannot exist (see `create_user`).
const MAX_USERNAME: usize = 64;

impl LoginThrottle {
    fn keys(username: &str, client: &str) -> [String; 2] {
        let username: String = username.chars().take(MAX_USERNAME).collect();
        [
            format!("user:{}", username.to_lowercase()),
            format!("addr:{client}"),
        ]
    }

    /// Counts an attempt before its password is checked, so that parallel
    /// guesses cannot all slip in before the first failure is recorded.
    /// Refused with the seconds to wait when either key is over budget.
    fn begin_attempt(&self, username: &str, client: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut failures = self.failures.lock().expect("throttle lock");
        if failures.len() > 100_000 {
            // Bounded memory under a spray of distinct names or addresses.
            failures.retain(|_, times| times.iter().any(|t| now.duration_since(*t) < self.window));
        }
        let keys = Self::keys(username, client);
        let mut wait = None;
        for key in &keys {
            if let Some(times) = failures.get_mut(key) {
                times.retain(|t| now.duration_since(*t) < self.window);
                if times.len() >= self.max_failures {
                    let secs = (self.window - now.duration_since(times[0]))
                        .as_secs()
                        .max(1);
                    wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
                }
            }
        }
        if let Some(secs) = wait {
            return Err(secs);
        }
        for key in keys {
            failures.entry(key).or_default().push(now);
        }
        Ok(())
    }

    /// A successful login does not count against either budget.
    fn succeeded(&self, username: &str, client: &str) {
        let mut failures = self.failures.lock().expect("throttle lock");
        for key in Self::keys(username, client) {
            if let Some(times) = failures.get_mut(&key) {
                times.pop();
            }
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

fn before(duration: Duration) -> Timestamp {
    let now = regen_storage::now();
    Timestamp::from_millis(now.millis() - duration.as_millis() as i64).unwrap_or(now)
}

impl AdminService {
    /// Checks the credentials and opens a new session (a fresh id every
    /// time, so a session id planted before login is worthless).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: &str,
    ) -> Result<(Caller, SessionSecret), LoginFailure> {
        if let Err(retry_after_secs) = self.inner.throttle.begin_attempt(username, client) {
            tracing::warn!(username = %short(username), client, "login refused: too many failed attempts");
            return Err(ServiceError::RateLimited { retry_after_secs }.into());
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
        // Each verification takes ~19 MiB and a core for a while: only a few
        // at a time, however many requests arrive.
        let verified = {
            let _permit = self
                .inner
                .password_checks
                .acquire()
                .await
                .map_err(|_| LoginFailure::InvalidCredentials)?;
            verify_password(password.to_owned(), hash).await
        };
        let user = match user {
            Some(user) if verified => user,
            _ => {
                tracing::warn!(username = %short(username), client, "login failed");
                return Err(LoginFailure::InvalidCredentials);
            }
        };
        self.inner.throttle.succeeded(username, client);
        // Logins are rare: a good moment to drop sessions that have ended.
        let idle_since = before(self.session_policy().idle_timeout);
        if let Err(error) = self.store().delete_expired_sessions(idle_since).await {
            tracing::warn!(error = %error, "could not purge ended sessions");
        }
        let secret = SessionSecret(random_secret());
        let policy = self.session_policy();
        self.store()
            .create_session(&NewSession {
                id_hash: sha256_hex(secret.as_str()),
                user_id: user.id.clone(),
                expires_at: after(policy.absolute_lifetime),
            })
            .await
            .map_err(ServiceError::from)?;
        tracing::info!(username = %user.username, user_id = %user.id, client, "login succeeded");
        Ok((Caller::from(user), secret))
    }

    /// The caller a session cookie stands for, if the session is live.
    pub async fn authenticate_session(&self, secret: &str) -> Result<Option<Caller>, ServiceError> {
        if secret.is_empty() || secret.len() > 100 {
            return Ok(None);
        }
        let idle_since = before(self.session_policy().idle_timeout);
        let session = self
            .store()
            .touch_session(&sha256_hex(secret), idle_since)
            .await?;
        Ok(session.map(|s| Caller::from(s.user)))
    }

    pub async fn logout(&self, secret: &str) -> Result<(), ServiceError> {
        self.store().delete_session(&sha256_hex(secret)).await?;
        Ok(())
    }

    /// The caller an API token stands for, if it is known.
    pub async fn authenticate_token(&self, token: &str) -> Result<Option<Caller>, ServiceError> {
        if !token.starts_with(API_TOKEN_PREFIX) || token.len() > 200 {
            return Ok(None);
        }
        let user = self.store().use_api_token(&sha256_hex(token)).await?;
        Ok(user.map(Caller::from))
    }

    /// Creates a user (operator CLI).
    pub async fn create_user(
        &self,
        username: &str,
        role: Role,
        password: &str,
    ) -> Result<Caller, ServiceError> {
        let username = username.trim();
        if username.is_empty()
            || username.len() > 64
            || !username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
        {
            return Err(ServiceError::InvalidInput(
                "user name must be 1-64 characters of letters, digits and . _ - @".into(),
            ));
        }
        if password.chars().count() < 8 {
            return Err(ServiceError::InvalidInput(
                "password must be at least 8 characters".into(),
            ));
        }
        let hash = hash_password(password.to_owned()).await;
        match self.store().create_user(username, role, &hash).await {
            Ok(user) => Ok(Caller::from(user)),
            Err(StorageError::Duplicate(_)) => Err(ServiceError::InvalidInput(format!(
                "user {username:?} already exists"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates an API token for a user and returns it; only its hash is kept.
    pub async fn create_api_token(&self, username: &str) -> Result<String, ServiceError> {
        let user = self
            .store()
            .find_user_by_name(username)
            .await?
            .ok_or_else(|| ServiceError::InvalidInput(format!("unknown user {username:?}")))?;
        let token = format!("{API_TOKEN_PREFIX}{}", random_secret());
        self.store()
            .create_api_token(&user.id, &sha256_hex(&token))
            .await?;
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_blocks_after_too_many_failures_per_user_or_address() {
        let throttle = LoginThrottle {
            max_failures: 3,
            ..LoginThrottle::default()
        };
        for _ in 0..3 {
            assert!(throttle.begin_attempt("ada", "1.1.1.1").is_ok());
        }
        assert!(throttle.begin_attempt("ada", "2.2.2.2").is_err());
        assert!(throttle.begin_attempt("bob", "1.1.1.1").is_err());
        assert!(throttle.begin_attempt("bob", "2.2.2.2").is_ok());
    }

    #[test]
    fn successful_attempts_do_not_count() {
        let throttle = LoginThrottle {
            max_failures: 2,
            ..LoginThrottle::default()
        };
        for _ in 0..5 {
            assert!(throttle.begin_attempt("ada", "1.1.1.1").is_ok());
            throttle.succeeded("ada", "1.1.1.1");
        }
    }

    #[test]
    fn secrets_are_long_and_hashes_are_hex() {
        assert_eq!(random_secret().len(), 43);
        assert_eq!(sha256_hex("x").len(), 64);
    }
}
