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
use regen_domain::{Caller, Timestamp};
use regen_storage::{NewSession, UserRecord};
use sha2::{Digest, Sha256};

use crate::{AdminService, ServiceError};

/// Every API token starts with this, so that leaked tokens are easy to spot
/// (secret scanners, logs) and easy to tell from session ids.
pub const API_TOKEN_PREFIX: &str = "rga_";

/// The caller a stored user stands for.
pub(crate) fn caller_of(user: UserRecord) -> Caller {
    Caller {
        user_id: user.id,
        username: user.username,
        role: user.role,
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

/// Failed-login counters, in memory (each instance limits on its own).
///
/// Three budgets, so that guessing is slow but nobody can lock a user out
/// from elsewhere:
/// - per client address: at most `max_failures` per window, whatever the
///   user names;
/// - per (user name, client address): a few free tries, then a delay that
///   doubles with every further failure;
/// - per user name from all addresses: never blocks (that would let anyone
///   lock an admin out), but a storm of failures is logged and counted.
#[derive(Debug)]
pub(crate) struct LoginThrottle {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
    max_failures: usize,
    free_attempts: usize,
    storm_threshold: usize,
    window: Duration,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            failures: Mutex::default(),
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

struct ThrottleKeys {
    address: String,
    pair: String,
    user: String,
}

impl LoginThrottle {
    fn keys(username: &str, client: &str) -> ThrottleKeys {
        let username: String = username.chars().take(MAX_USERNAME).collect();
        let username = username.to_lowercase();
        ThrottleKeys {
            address: format!("addr:{client}"),
            pair: format!("pair:{client}\u{0}{username}"),
            user: format!("user:{username}"),
        }
    }

    /// Counts an attempt before its password is checked, so that parallel
    /// guesses cannot all slip in before the first failure is recorded.
    /// Refused with the seconds to wait when over budget.
    pub(crate) fn begin_attempt(&self, username: &str, client: &str) -> Result<Admitted, u64> {
        let now = Instant::now();
        let window = self.window;
        let mut failures = self.failures.lock().expect("throttle lock");
        if failures.len() > 100_000 {
            // Bounded memory under a spray of distinct names or addresses.
            failures.retain(|_, times| times.iter().any(|t| now.duration_since(*t) < window));
        }
        let keys = Self::keys(username, client);
        let mut recent = |key: &str| -> Vec<Instant> {
            let times = failures.entry(key.to_owned()).or_default();
            times.retain(|t| now.duration_since(*t) < window);
            times.clone()
        };
        let by_address = recent(&keys.address);
        let by_pair = recent(&keys.pair);
        let by_user = recent(&keys.user);
        let mut wait = Duration::ZERO;
        if by_address.len() >= self.max_failures {
            wait = wait.max(window.saturating_sub(now.duration_since(by_address[0])));
        }
        if by_pair.len() >= self.free_attempts {
            let doublings = (by_pair.len() - self.free_attempts).min(20) as u32;
            let delay = Duration::from_secs(1u64 << doublings).min(window);
            let last = *by_pair.last().expect("not empty");
            wait = wait.max(delay.saturating_sub(now.duration_since(last)));
        }
        if !wait.is_zero() {
            return Err(wait.as_secs().max(1));
        }
        for key in [&keys.address, &keys.pair, &keys.user] {
            failures.entry(key.clone()).or_default().push(now);
        }
        Ok(Admitted {
            storm_started: by_user.len() + 1 == self.storm_threshold,
        })
    }

    /// A successful login does not count against any budget.
    pub(crate) fn succeeded(&self, username: &str, client: &str) {
        let mut failures = self.failures.lock().expect("throttle lock");
        let keys = Self::keys(username, client);
        for key in [keys.address, keys.pair, keys.user] {
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
        // Client-supplied text goes into logs in Debug form, so control
        // characters are escaped and cannot forge lines.
        match self.inner.throttle.begin_attempt(username, client) {
            Err(retry_after_secs) => {
                tracing::warn!(username = ?short(username), client = ?client, "login refused: too many failed attempts");
                return Err(ServiceError::RateLimited { retry_after_secs }.into());
            }
            Ok(admitted) if admitted.storm_started => {
                self.metrics().count_login_failure_storm();
                tracing::warn!(username = ?short(username), "login failure storm: many failed attempts for one account from several addresses");
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
                tracing::warn!(username = ?short(username), client = ?client, "login failed");
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
        tracing::info!(username = %user.username, user_id = %user.id, client = ?client, "login succeeded");
        Ok((caller_of(user), secret))
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
        Ok(session.map(|s| caller_of(s.user)))
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
        Ok(user.map(caller_of))
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
    if password.chars().count() < 8 {
        return Err(ServiceError::InvalidInput(
            "password must be at least 8 characters".into(),
        ));
    }
    Ok(username)
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

    #[test]
    fn failures_from_one_address_do_not_lock_the_user_out_elsewhere() {
        let throttle = throttle();
        for _ in 0..2 {
            assert!(throttle.begin_attempt("ada", "1.1.1.1").is_ok());
        }
        assert!(throttle.begin_attempt("ada", "1.1.1.1").is_err());
        assert!(throttle.begin_attempt("ada", "2.2.2.2").is_ok());
    }

    #[test]
    fn delays_double_per_failure_for_one_user_at_one_address() {
        let throttle = throttle();
        let start = Instant::now() - Duration::from_secs(60);
        {
            let mut failures = throttle.failures.lock().unwrap();
            let keys = LoginThrottle::keys("ada", "1.1.1.1");
            // Four failures, the last one 3 s ago: 2 free, then 2^2 = 4 s.
            failures.insert(
                keys.pair,
                vec![start, start, start, Instant::now() - Duration::from_secs(3)],
            );
        }
        assert_eq!(throttle.begin_attempt("ada", "1.1.1.1"), Err(1));
    }

    #[test]
    fn an_address_has_a_budget_whatever_names_it_tries() {
        let throttle = throttle();
        for name in ["a", "b", "c", "d", "e"] {
            assert!(throttle.begin_attempt(name, "1.1.1.1").is_ok());
        }
        assert!(throttle.begin_attempt("f", "1.1.1.1").is_err());
        assert!(throttle.begin_attempt("f", "2.2.2.2").is_ok());
    }

    #[test]
    fn a_storm_against_one_account_is_reported_once() {
        let throttle = throttle();
        let storms: Vec<bool> = (0..6)
            .map(|i| {
                throttle
                    .begin_attempt("ada", &format!("10.0.0.{i}"))
                    .unwrap()
                    .storm_started
            })
            .collect();
        assert_eq!(storms, [false, false, false, true, false, false]);
    }

    #[test]
    fn successful_attempts_do_not_count() {
        let throttle = throttle();
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
