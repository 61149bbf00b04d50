//! Passwords: what a user name and a password may be, and how a password
//! is hashed (argon2id) and verified, off the async runtime and only a few
//! at a time.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use regen_domain::PasswordRule;
use std::collections::HashSet;
use std::sync::LazyLock;

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

/// The 10,000 most common passwords (zxcvbn-ts' ranked list, MIT: see
/// `data/common-passwords.LICENSE.txt`), lower-cased, read once.
fn common_passwords() -> &'static HashSet<String> {
    static COMMON: LazyLock<HashSet<String>> = LazyLock::new(|| {
        include_str!("../data/common-passwords.txt")
            .lines()
            .map(str::to_lowercase)
            .collect()
    });
    &COMMON
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
    validate_password(username, password).map_err(ServiceError::WeakPassword)?;
    Ok(username)
}

/// The first rule a new password for `username` breaks: 8 characters to
/// 1,024 bytes (argon2 is slow enough), not only whitespace, not the user
/// name, not a common password (the last two in any case).
pub(crate) fn validate_password(username: &str, password: &str) -> Result<(), PasswordRule> {
    let lower = password.to_lowercase();
    if password.chars().count() < 8 || password.len() > 1024 {
        Err(PasswordRule::Length)
    } else if password.trim().is_empty() {
        Err(PasswordRule::Whitespace)
    } else if lower == username.to_lowercase() {
        Err(PasswordRule::UserName)
    } else if common_passwords().contains(&lower) {
        Err(PasswordRule::Common)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_uncommon_password_passes() {
        assert_eq!(validate_password("ada", "correct horse battery"), Ok(()));
        assert_eq!(validate_password("admin", "regen-admin-demo"), Ok(()));
    }

    #[test]
    fn a_password_of_fewer_than_8_characters_or_over_1024_bytes_breaks_the_length_rule() {
        assert_eq!(
            validate_password("ada", "xq7#pL2"),
            Err(PasswordRule::Length)
        );
        assert_eq!(
            validate_password("ada", &"é".repeat(513)),
            Err(PasswordRule::Length)
        );
    }

    #[test]
    fn a_password_of_only_whitespace_is_refused() {
        assert_eq!(
            validate_password("ada", "        "),
            Err(PasswordRule::Whitespace)
        );
        assert_eq!(
            validate_password("ada", "\t \u{a0}\u{3000}\n    "),
            Err(PasswordRule::Whitespace)
        );
    }

    #[test]
    fn the_user_name_in_any_case_is_refused_as_a_password() {
        assert_eq!(
            validate_password("grace.hopper", "Grace.Hopper"),
            Err(PasswordRule::UserName)
        );
    }

    #[test]
    fn a_common_password_in_any_case_is_refused() {
        assert_eq!(
            validate_password("ada", "PassWord"),
            Err(PasswordRule::Common)
        );
        assert_eq!(
            validate_password("ada", "12345678"),
            Err(PasswordRule::Common)
        );
        assert_eq!(common_passwords().len(), 10_000);
    }
}
