use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{JobId, JsonText, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AuditEventType {
    #[serde(rename = "REGEN_JOB_CREATED")]
    Created,
    #[serde(rename = "REGEN_JOB_TRIGGERED")]
    Triggered,
    #[serde(rename = "REGEN_JOB_COMPLETED")]
    Completed,
    #[serde(rename = "REGEN_JOB_FAILED")]
    Failed,
}

impl AuditEventType {
    pub const ALL: [AuditEventType; 4] = [
        AuditEventType::Created,
        AuditEventType::Triggered,
        AuditEventType::Completed,
        AuditEventType::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditEventType::Created => "REGEN_JOB_CREATED",
            AuditEventType::Triggered => "REGEN_JOB_TRIGGERED",
            AuditEventType::Completed => "REGEN_JOB_COMPLETED",
            AuditEventType::Failed => "REGEN_JOB_FAILED",
        }
    }
}

impl fmt::Display for AuditEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditEventType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown audit event type {s:?}"))
    }
}

/// One lifecycle event of a job. Audit rows are insert-only, like jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub id: Uuid,
    pub event_type: AuditEventType,
    pub job_id: JobId,
    pub actor: String,
    pub occurred_at: Timestamp,
    pub request_id: Option<String>,
    pub details: Option<JsonText>,
}

/// An audit event as shown next to its job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEventView {
    pub id: Uuid,
    pub event_type: AuditEventType,
    /// The stored actor: a user id, or a producer's name.
    pub actor: String,
    /// The user's name when `actor` is a user id, else `actor` itself.
    pub actor_name: String,
    pub occurred_at: Timestamp,
    pub request_id: Option<String>,
}

impl From<AuditRecord> for AuditEventView {
    fn from(event: AuditRecord) -> Self {
        Self {
            id: event.id,
            event_type: event.event_type,
            actor: event.actor,
            actor_name: event.actor_name,
            occurred_at: event.occurred_at,
            request_id: event.request_id,
        }
    }
}

/// An audit event as the audit API, its page and its exports show it: the
/// stored event with a readable actor name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub id: Uuid,
    pub event_type: AuditEventType,
    pub job_id: JobId,
    /// The stored actor: a user id, or a producer's name (`editor-bot`).
    pub actor: String,
    /// The user's name when `actor` is a user id, else `actor` itself.
    pub actor_name: String,
    pub occurred_at: Timestamp,
    pub request_id: Option<String>,
    /// Any JSON value, as stored, or null.
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub details: Option<JsonText>,
}
