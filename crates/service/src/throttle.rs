//! The login throttle: its budgets, the keys an attempt counts against,
//! and the policy that admits or refuses an attempt. Attempts are kept in the
//! database (`login_attempts`), so every instance counts every attempt.

use std::time::Duration;

use regen_domain::Timestamp;
use regen_storage::{StorageError, Store};

use crate::passwords::MAX_USERNAME;
use crate::secrets::sha256_hex;
use crate::{before, AdminService, ServiceError};

/// The login throttle's budgets, applied to attempts kept in the database
/// (`login_attempts`), so that every instance counts every attempt and a
/// restart forgets nothing.
///
/// Three budgets, so that guessing is slow but nobody can lock a user out
/// of a browser they have logged in with before:
/// - per client address: at most `max_failures` per sliding window,
///   whatever the user names;
/// - per (user name, client address): a few free tries, then a delay that
///   doubles with every further failure;
/// - per user name from all addresses: once `storm_threshold` failures make
///   a storm (logged and counted), one attempt per `storm_spacing` for that
///   account, so distributed guessing is slowed and not only seen.
///
/// An attempt carrying a valid device cookie for its user counts against
/// that cookie alone, with the per-pair rule: free tries, then doubling
/// delays. Neither a busy address nor a storm holds it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    /// Failures one client address may have in the window.
    pub max_failures: usize,
    /// Failures for one (user name, address) before delays start.
    pub free_attempts: usize,
    /// Failures for one user name from all addresses that make a storm.
    pub storm_threshold: usize,
    /// During a storm, the least time between two attempts for the account
    /// (from browsers without its device cookie).
    pub storm_spacing: Duration,
    /// The sliding window every budget counts in.
    pub window: Duration,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            max_failures: 10,
            free_attempts: 3,
            storm_threshold: 20,
            storm_spacing: Duration::from_secs(2),
            window: Duration::from_secs(15 * 60),
        }
    }
}

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
    /// The client address; none for a known device.
    address: Option<String>,
    /// The (user name, address) pair, or the known device.
    pair: String,
    /// The user name; none for a known device.
    user: Option<String>,
}

impl ThrottleKeys {
    pub(crate) fn new(username: &str, client: &str) -> Self {
        let username: String = username.chars().take(MAX_USERNAME).collect();
        let username = username.to_lowercase();
        ThrottleKeys {
            address: Some(sha256_hex(&format!("addr:{client}"))),
            pair: sha256_hex(&format!("pair:{client}\u{0}{username}")),
            user: Some(sha256_hex(&format!("user:{username}"))),
        }
    }

    /// The keys of an attempt from a browser whose device cookie for the
    /// user checked out: `device` is the cookie's nonce.
    pub(crate) fn known_device(device: &str) -> Self {
        ThrottleKeys {
            address: None,
            pair: sha256_hex(&format!("device:{device}")),
            user: None,
        }
    }

    pub(crate) fn all(&self) -> Vec<String> {
        [Some(&self.pair), self.address.as_ref(), self.user.as_ref()]
            .into_iter()
            .flatten()
            .cloned()
            .collect()
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
        if recent.by_user.len() >= self.storm_threshold {
            let last = recent.by_user.last().expect("not empty");
            wait_ms = wait_ms.max(self.storm_spacing.as_millis() as i64 - age(last));
        }
        if wait_ms > 0 {
            return Err((wait_ms as u64).div_ceil(1000).max(1));
        }
        Ok(Admitted {
            storm_started: recent.by_user.len() + 1 == self.storm_threshold,
        })
    }
}

/// Earlier attempts against `key` since `since`; none for a budget the
/// attempt does not count against.
async fn attempts_since(
    store: &Store,
    key: Option<&str>,
    since: Timestamp,
    except: &str,
) -> Result<Vec<Timestamp>, StorageError> {
    match key {
        Some(key) => store.login_attempts_since(key, since, except).await,
        None => Ok(Vec::new()),
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
            by_address: attempts_since(store, keys.address.as_deref(), since, attempt_id).await?,
            by_pair: attempts_since(store, Some(&keys.pair), since, attempt_id).await?,
            by_user: attempts_since(store, keys.user.as_deref(), since, attempt_id).await?,
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
            .map(|n| t.assess(&user(n), at(10)).unwrap().storm_started)
            .collect();
        assert_eq!(storms, [false, false, false, true, false, false]);
    }

    #[test]
    fn during_a_storm_the_account_takes_one_attempt_per_spacing() {
        let t = throttle();
        let user = |n: usize, last: i64| RecentAttempts {
            by_user: (0..n).map(|i| at(last - (n - 1 - i) as i64)).collect(),
            ..RecentAttempts::default()
        };
        // Below the storm threshold: no spacing, however recent.
        assert!(t.assess(&user(3, 100), at(100)).is_ok());
        // In a storm: the last attempt a second ago, 2 s spacing.
        assert_eq!(t.assess(&user(4, 99), at(100)), Err(1));
        assert!(t.assess(&user(4, 98), at(100)).is_ok());
    }

    #[test]
    fn a_known_device_counts_against_its_own_key_only() {
        let device = ThrottleKeys::known_device("nonce");
        let stranger = ThrottleKeys::new("ada", "1.1.1.1");

        assert_eq!(device.all().len(), 1);
        assert!(!stranger.all().contains(&device.all()[0]));
        assert_ne!(ThrottleKeys::known_device("other").all(), device.all());
    }

    #[test]
    fn keys_are_fixed_length_hashes_and_ignore_case_of_the_name() {
        let a = ThrottleKeys::new("Ada", "1.1.1.1");
        let b = ThrottleKeys::new("ada", "1.1.1.1");
        assert_eq!(a.all(), b.all());
        assert!(a.all().iter().all(|k| k.len() == 64));
        assert_ne!(ThrottleKeys::new("ada", "2.2.2.2").pair, a.pair);
    }
}
