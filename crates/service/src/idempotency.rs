//! Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): a request
//! sent again under the same key by the same credential's owner gets the
//! first answer again instead of running twice.
//!
//! A key is claimed in the database before its request runs, so instances
//! agree on the one request that runs. The answer of a request that changed
//! jobs is kept in the transaction of its transitions (the storage's
//! `AnswerUnder`); other answers are kept after the fact, and a request that
//! failed without changing anything gives its key back.

use std::time::Duration;

use regen_domain::Caller;
use regen_storage::{IdempotencyClaim, KeyClaim, KeyPolicy, StoredAnswer};

use crate::{require_acting, AdminService, ServiceError};

/// How long a key answers replays, from when its request began.
pub const IDEMPOTENCY_KEY_KEPT: Duration = Duration::from_secs(24 * 3600);
/// How long a request holds its key while running. A request still running
/// after this (its instance died, or it is stuck far past every database
/// timeout) may be run again by a retry; the conditional status change
/// keeps that exactly-once, and a request that lost its key rolls back.
pub const IDEMPOTENCY_LEASE: Duration = Duration::from_secs(60);
/// The longest key, in characters.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// A valid `Idempotency-Key`: 1 to 255 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(text: &[u8]) -> Result<IdempotencyKey, ServiceError> {
        let printable = text.iter().all(|b| (0x20..=0x7e).contains(b));
        if text.is_empty() || text.len() > MAX_IDEMPOTENCY_KEY_LEN || !printable {
            return Err(ServiceError::InvalidInput(format!(
                "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} printable ASCII characters"
            )));
        }
        Ok(IdempotencyKey(
            String::from_utf8(text.to_vec()).expect("printable ASCII is UTF-8"),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A request that holds its key: run it, then keep its answer or give the
/// key back.
#[derive(Debug, Clone)]
pub struct KeyedRequest(IdempotencyClaim);

impl KeyedRequest {
    pub(crate) fn claim(&self) -> &IdempotencyClaim {
        &self.0
    }
}

/// What to do with a request that carries a key.
#[derive(Debug)]
pub enum Admission {
    /// Run it; it holds the key.
    Run(KeyedRequest),
    /// Send this answer again: the key's request is done.
    Replay(StoredAnswer),
}

const POLICY: KeyPolicy = KeyPolicy {
    keep: IDEMPOTENCY_KEY_KEPT,
    lease: IDEMPOTENCY_LEASE,
};

impl AdminService {
    /// Claims `key` for the caller's request whose fingerprint (a hash of
    /// its method, path and body) is `fingerprint`. Only callers who may
    /// act get this far: anyone else is refused before a key is written.
    pub async fn admit_keyed(
        &self,
        caller: Option<&Caller>,
        key: &IdempotencyKey,
        fingerprint: &str,
    ) -> Result<Admission, ServiceError> {
        let caller = require_acting(caller)?;
        match self
            .store()
            .claim_idempotency_key(&caller.user_id, key.as_str(), fingerprint, POLICY)
            .await?
        {
            KeyClaim::Claimed(claim) => Ok(Admission::Run(KeyedRequest(claim))),
            KeyClaim::Replay(answer) => Ok(Admission::Replay(answer)),
            KeyClaim::InProgress => Err(ServiceError::KeyInProgress),
            KeyClaim::Mismatch => Err(ServiceError::KeyReused),
        }
    }

    /// Keeps the answer of a keyed request that changed nothing. A failure
    /// is logged and the key released: the request changed nothing, so a
    /// retry may run it again.
    pub async fn finish_keyed(&self, request: &KeyedRequest, answer: &StoredAnswer) {
        if let Err(error) = self
            .store()
            .finish_idempotency_key(&request.0, answer)
            .await
        {
            tracing::warn!(error = %error, "an idempotent answer could not be kept");
            self.release_keyed(request).await;
        }
    }

    /// Gives the key of a request that changed nothing back, so that a
    /// retry runs afresh (the database failed, or the answer is not final).
    pub async fn release_keyed(&self, request: &KeyedRequest) {
        if let Err(error) = self.store().release_idempotency_key(&request.0).await {
            tracing::warn!(
                error = %error,
                "an idempotency key could not be released; it frees itself after its lease"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_255_printable_ascii_characters() {
        for good in ["a", "order 42/retry-1", &"k".repeat(255), "~!@#$%^&*()"] {
            assert!(IdempotencyKey::parse(good.as_bytes()).is_ok(), "{good:?}");
        }
        for bad in [
            "".as_bytes(),
            "k".repeat(256).as_bytes(),
            b"tab\there",
            b"line\nbreak",
            "caf\u{e9}".as_bytes(),
            b"\x7f",
        ] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
