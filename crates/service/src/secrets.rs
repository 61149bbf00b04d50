//! The secrets credentials carry (session ids, API tokens) and the
//! SHA-256 under which they are stored: a stolen database holds no usable
//! credential.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Every API token starts with this, so that leaked tokens are easy to spot
/// (secret scanners, logs) and easy to tell from session ids.
pub const API_TOKEN_PREFIX: &str = "rga_";

/// The secret a session cookie carries. Only its SHA-256 is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecret(String);

impl SessionSecret {
    pub(crate) fn random() -> Self {
        SessionSecret(random_secret())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionSecret(***)")
    }
}

/// The credential a request came with, kept as the hash it is stored
/// under, so that a long request (an export) can check it again while it
/// runs without holding the secret. Its Debug form shows neither.
#[derive(Clone, PartialEq, Eq)]
pub enum CredentialHash {
    ApiToken(String),
    Session(String),
}

impl CredentialHash {
    pub fn api_token(token: &str) -> Self {
        CredentialHash::ApiToken(sha256_hex(token))
    }

    pub fn session(secret: &str) -> Self {
        CredentialHash::Session(sha256_hex(secret))
    }
}

impl std::fmt::Debug for CredentialHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialHash::ApiToken(_) => f.write_str("ApiToken(***)"),
            CredentialHash::Session(_) => f.write_str("Session(***)"),
        }
    }
}

pub(crate) fn random_secret() -> String {
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

pub(crate) fn new_api_token() -> String {
    format!("{API_TOKEN_PREFIX}{}", random_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_and_hashes_are_hex() {
        assert_eq!(random_secret().len(), 43);
        assert_eq!(sha256_hex("x").len(), 64);
    }
}
