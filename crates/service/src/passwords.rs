//! Passwords: what a user name and a password may be, and how a password
//! is hashed (argon2id) and verified, off the async runtime and only a few
//! at a time.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

use crate::secrets::random_secret;
use crate::{AdminService, ServiceError};

/// Longest user name considered; longer ones cannot exist (see `create_user`).
pub(crate) const MAX_USERNAME: usize = 64;

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
pub(crate) fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(random_secret().as_bytes(), &salt)
            .expect("argon2 hashes")
            .to_string()
    })
}

impl AdminService {
    /// Verifies a password against a hash. Each verification takes ~19 MiB
    /// and a core for a while: only a few at a time, however many requests
    /// arrive.
    pub(crate) async fn check_password(&self, password: &str, hash: String) -> bool {
        let Ok(_permit) = self.inner.password_checks.acquire().await else {
            return false;
        };
        verify_password(password.to_owned(), hash).await
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
