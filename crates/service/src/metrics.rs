use std::sync::atomic::{AtomicU64, Ordering};

use crate::export::{ExportKind, ExportOutcome};
use crate::export_format::ExportFormat;

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
    security_events: [AtomicU64; SecurityEvent::ALL.len()],
    /// Per (kind, format, outcome), in `ALL` order.
    exports: [AtomicU64; EXPORT_SLOTS],
    /// Per kind.
    exported_rows: [AtomicU64; 2],
    redacted_values: AtomicU64,
}

/// One line of `regen_exports_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportCount {
    pub kind: ExportKind,
    pub format: ExportFormat,
    pub outcome: ExportOutcome,
    pub count: u64,
}

fn position<T: PartialEq>(all: &[T], x: &T) -> usize {
    all.iter().position(|y| y == x).expect("in ALL")
}

const EXPORT_SLOTS: usize =
    ExportKind::ALL.len() * ExportFormat::ALL.len() * ExportOutcome::ALL.len();

fn export_slot(kind: ExportKind, format: ExportFormat, outcome: ExportOutcome) -> usize {
    (position(&ExportKind::ALL, &kind) * ExportFormat::ALL.len()
        + position(&ExportFormat::ALL, &format))
        * ExportOutcome::ALL.len()
        + position(&ExportOutcome::ALL, &outcome)
}

/// A change to who may do what, or an attempt at one: logged at info level
/// with actor, subject, request id and outcome, and counted in
/// `regen_security_events_total{event}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityEvent {
    LoginSuccess,
    LoginFailure,
    Logout,
    PasswordChange,
    RoleChange,
    UserDisable,
    UserEnable,
    TokenCreate,
    TokenRevoke,
    SessionRevoke,
    /// A running export stopped because its credential no longer gives
    /// access (revoked, expired, ended, owner disabled or demoted).
    ExportRevoked,
}

impl SecurityEvent {
    pub const ALL: [SecurityEvent; 11] = [
        SecurityEvent::LoginSuccess,
        SecurityEvent::LoginFailure,
        SecurityEvent::Logout,
        SecurityEvent::PasswordChange,
        SecurityEvent::RoleChange,
        SecurityEvent::UserDisable,
        SecurityEvent::UserEnable,
        SecurityEvent::TokenCreate,
        SecurityEvent::TokenRevoke,
        SecurityEvent::SessionRevoke,
        SecurityEvent::ExportRevoked,
    ];

    /// The `event` label and log field.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityEvent::LoginSuccess => "login_success",
            SecurityEvent::LoginFailure => "login_failure",
            SecurityEvent::Logout => "logout",
            SecurityEvent::PasswordChange => "password_change",
            SecurityEvent::RoleChange => "role_change",
            SecurityEvent::UserDisable => "user_disable",
            SecurityEvent::UserEnable => "user_enable",
            SecurityEvent::TokenCreate => "token_create",
            SecurityEvent::TokenRevoke => "token_revoke",
            SecurityEvent::SessionRevoke => "session_revoke",
            SecurityEvent::ExportRevoked => "export_revoked",
        }
    }

    fn index(self) -> usize {
        SecurityEvent::ALL
            .iter()
            .position(|e| *e == self)
            .expect("every event is in ALL")
    }
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

    /// Each job of a bulk counts as one trigger attempt with its outcome.
    pub(crate) fn count_bulk_trigger(&self, result: &regen_domain::BulkTriggerResult) {
        for (counter, jobs) in [
            (&self.triggers_ok, result.triggered.len()),
            (&self.triggers_conflict, result.conflicts.len()),
            (&self.triggers_not_found, result.not_found.len()),
        ] {
            counter.fetch_add(jobs as u64, Ordering::Relaxed);
        }
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

    pub(crate) fn count_export(
        &self,
        kind: ExportKind,
        format: ExportFormat,
        outcome: ExportOutcome,
        rows: u64,
    ) {
        self.exports[export_slot(kind, format, outcome)].fetch_add(1, Ordering::Relaxed);
        self.exported_rows[position(&ExportKind::ALL, &kind)].fetch_add(rows, Ordering::Relaxed);
    }

    /// Every export this instance ran, by kind, format and outcome.
    pub fn exports(&self) -> Vec<ExportCount> {
        let mut counts = Vec::new();
        for kind in ExportKind::ALL {
            for format in ExportFormat::ALL {
                for outcome in ExportOutcome::ALL {
                    let count =
                        self.exports[export_slot(kind, format, outcome)].load(Ordering::Relaxed);
                    counts.push(ExportCount {
                        kind,
                        format,
                        outcome,
                        count,
                    });
                }
            }
        }
        counts
    }

    /// Rows exported, by kind.
    pub fn exported_rows(&self) -> Vec<(ExportKind, u64)> {
        ExportKind::ALL
            .iter()
            .enumerate()
            .map(|(i, kind)| (*kind, self.exported_rows[i].load(Ordering::Relaxed)))
            .collect()
    }

    pub(crate) fn count_redacted_values(&self, count: usize) {
        if count > 0 {
            self.redacted_values
                .fetch_add(count as u64, Ordering::Relaxed);
        }
    }

    /// Payload values hidden by redaction in everything this instance sent.
    pub fn redacted_values(&self) -> u64 {
        self.redacted_values.load(Ordering::Relaxed)
    }

    pub(crate) fn count_security_event(&self, event: SecurityEvent) {
        self.security_events[event.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// How many of each security event this instance saw, in `ALL` order.
    pub fn security_events(&self) -> Vec<(SecurityEvent, u64)> {
        SecurityEvent::ALL
            .iter()
            .map(|e| (*e, self.security_events[e.index()].load(Ordering::Relaxed)))
            .collect()
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
