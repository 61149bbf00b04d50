use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of what the service did, read by the `/metrics` endpoint.
#[derive(Debug, Default)]
pub struct ServiceMetrics {
    triggers_ok: AtomicU64,
    triggers_conflict: AtomicU64,
    triggers_not_found: AtomicU64,
    triggers_error: AtomicU64,
    audit_write_failures: AtomicU64,
    audit_journal_failures: AtomicU64,
    login_failure_storms: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TriggerCounts {
    pub ok: u64,
    pub conflict: u64,
    pub not_found: u64,
    pub error: u64,
}

impl ServiceMetrics {
    pub(crate) fn count_trigger(&self, outcome: &Result<crate::Triggered, crate::ServiceError>) {
        use crate::ServiceError::*;
        let counter = match outcome {
            Ok(_) => &self.triggers_ok,
            Err(Conflict { .. }) => &self.triggers_conflict,
            Err(NotFound) => &self.triggers_not_found,
            Err(Unavailable(_) | Internal(_)) => &self.triggers_error,
            // Refused before reaching a job: not a trigger attempt.
            Err(_) => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_audit_write_failure(&self) {
        self.audit_write_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_audit_journal_failure(&self) {
        self.audit_journal_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_login_failure_storm(&self) {
        self.login_failure_storms.fetch_add(1, Ordering::Relaxed);
    }

    /// Times one account drew a storm of failed logins from several
    /// addresses (someone is guessing its password).
    pub fn login_failure_storms(&self) -> u64 {
        self.login_failure_storms.load(Ordering::Relaxed)
    }

    pub fn triggers(&self) -> TriggerCounts {
        TriggerCounts {
            ok: self.triggers_ok.load(Ordering::Relaxed),
            conflict: self.triggers_conflict.load(Ordering::Relaxed),
            not_found: self.triggers_not_found.load(Ordering::Relaxed),
            error: self.triggers_error.load(Ordering::Relaxed),
        }
    }

    /// Audit rows that could not be written to the database (each one was
    /// sent to the fallback journal). Alert when above zero.
    pub fn audit_write_failures(&self) -> u64 {
        self.audit_write_failures.load(Ordering::Relaxed)
    }

    /// Audit events that could be written neither to the database nor to the
    /// journal: only the error log holds them. Page someone.
    pub fn audit_journal_failures(&self) -> u64 {
        self.audit_journal_failures.load(Ordering::Relaxed)
    }
}
