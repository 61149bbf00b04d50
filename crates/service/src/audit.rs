//! The audit trail across all jobs: who did what, when. Keyset pages,
//! newest first, with the same parameter names on the API, the page and the
//! export.

use regen_domain::{AuditEventType, AuditRecord, Caller, JobId, MAX_LABEL_LEN};
use regen_storage::{AuditFilter, AuditPosition, KeysetPosition, PageDirection};

use crate::cursor::{page_request, trim_page, Cursor};
use crate::jobs::instant_parameter;
use crate::{require_admin, AdminService, ServiceError};

/// An audit listing request as it arrives from a query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub limit: Option<String>,
    pub cursor: Option<String>,
    pub event_types: Vec<String>,
    /// The stored actor: a user id or a producer's name.
    pub actor: Option<String>,
    /// A user name (or a producer's name, which is its own actor name).
    pub actor_name: Option<String>,
    pub job_id: Option<String>,
    /// RFC 3339; events at or after it.
    pub occurred_from: Option<String>,
    /// RFC 3339; events before it.
    pub occurred_to: Option<String>,
}

/// The parameters a form sends empty when they are not used.
const FORM_FILTERS: [&str; 5] = ["actor", "actorName", "jobId", "occurredFrom", "occurredTo"];

impl AuditQuery {
    /// Parses form pairs; `eventType` repeats; unknown names are refused.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<AuditQuery, ServiceError> {
        let mut query = AuditQuery::default();
        for (key, value) in pairs {
            let slot = match key {
                "eventType" => {
                    query.event_types.push(value.to_owned());
                    continue;
                }
                "limit" => &mut query.limit,
                "cursor" => &mut query.cursor,
                "actor" => &mut query.actor,
                "actorName" => &mut query.actor_name,
                "jobId" => &mut query.job_id,
                "occurredFrom" => &mut query.occurred_from,
                "occurredTo" => &mut query.occurred_to,
                other => {
                    return Err(ServiceError::InvalidInput(format!(
                        "unknown query parameter {other:?}"
                    )))
                }
            };
            if slot.is_some() {
                return Err(ServiceError::InvalidInput(format!(
                    "query parameter {key:?} given twice"
                )));
            }
            if !(FORM_FILTERS.contains(&key) && value.is_empty()) {
                *slot = Some(value.to_owned());
            }
        }
        Ok(query)
    }

    pub fn from_query_string(query: &str) -> Result<AuditQuery, ServiceError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The filters, without page size or cursor, in a fixed order.
    pub fn filters(&self) -> Vec<(&'static str, &str)> {
        let mut pairs: Vec<(&'static str, &str)> = self
            .event_types
            .iter()
            .map(|t| ("eventType", t.as_str()))
            .collect();
        for (name, value) in [
            ("actor", &self.actor),
            ("actorName", &self.actor_name),
            ("jobId", &self.job_id),
            ("occurredFrom", &self.occurred_from),
            ("occurredTo", &self.occurred_to),
        ] {
            if let Some(value) = value {
                pairs.push((name, value.as_str()));
            }
        }
        pairs
    }

    /// The query string for this listing at another cursor.
    pub fn to_query_string(&self, cursor: Option<&str>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in self.filters() {
            query.append_pair(name, value);
        }
        if let Some(limit) = &self.limit {
            query.append_pair("limit", limit);
        }
        if let Some(cursor) = cursor {
            query.append_pair("cursor", cursor);
        }
        query.finish()
    }
}

/// One page of audit events and the cursors of its neighbours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    pub events: Vec<AuditRecord>,
    /// Older events follow.
    pub next_cursor: Option<String>,
    /// Newer events precede.
    pub prev_cursor: Option<String>,
}

pub(crate) struct ValidAuditQuery {
    pub filter: AuditFilter,
    pub cursor: Option<Cursor>,
    pub limit: u32,
    /// `actor` and `actorName` name different people: nothing can match.
    pub matches_nothing: bool,
}

fn cursor_of(direction: PageDirection, event: &AuditRecord) -> String {
    Cursor {
        direction,
        position: KeysetPosition {
            created_at: event.occurred_at,
            id: JobId::from_uuid(event.id),
        },
    }
    .encode()
}

impl AdminService {
    pub(crate) async fn validate_audit_query(
        &self,
        query: &AuditQuery,
    ) -> Result<ValidAuditQuery, ServiceError> {
        let bad = |parameter: &'static str, message: String| ServiceError::InvalidParameter {
            parameter,
            message,
        };
        let (limit, cursor) = page_request(&query.limit, &query.cursor)?;
        let mut event_types = Vec::new();
        for text in &query.event_types {
            let event_type: AuditEventType = text
                .parse()
                .map_err(|e: String| bad("eventType", format!("eventType: {e}")))?;
            if !event_types.contains(&event_type) {
                event_types.push(event_type);
            }
        }
        for (name, value) in [("actor", &query.actor), ("actorName", &query.actor_name)] {
            let Some(value) = value else { continue };
            if value.chars().count() > MAX_LABEL_LEN || value.contains('\0') {
                return Err(bad(
                    name,
                    format!("{name} must be at most {MAX_LABEL_LEN} characters, without NUL"),
                ));
            }
        }
        let job_id =
            match &query.job_id {
                None => None,
                Some(text) => Some(text.parse::<JobId>().map_err(|_| {
                    bad("jobId", format!("jobId must be a job's UUID, not {text:?}"))
                })?),
            };
        let occurred_from = instant_parameter("occurredFrom", &query.occurred_from)?;
        let occurred_to = instant_parameter("occurredTo", &query.occurred_to)?;
        // A person's events carry their user id; a producer's carry its name.
        let mut actors: Vec<String> = Vec::new();
        if let Some(name) = &query.actor_name {
            actors.push(name.clone());
            actors.extend(self.store().user_ids_named(name).await?);
        }
        let mut matches_nothing = false;
        if let Some(actor) = &query.actor {
            if query.actor_name.is_some() {
                actors.retain(|a| a == actor);
                matches_nothing = actors.is_empty();
            } else {
                actors.push(actor.clone());
            }
        }
        Ok(ValidAuditQuery {
            filter: AuditFilter {
                event_types,
                actors,
                job_id,
                occurred_from,
                occurred_to,
            },
            cursor,
            limit,
            matches_nothing,
        })
    }

    /// A page of audit events across all jobs, newest first.
    pub async fn list_audit_events(
        &self,
        caller: Option<&Caller>,
        query: &AuditQuery,
    ) -> Result<AuditPage, ServiceError> {
        require_admin(caller)?;
        let valid = self.validate_audit_query(query).await?;
        let from = valid.cursor.map(|c| {
            let position = AuditPosition {
                occurred_at: c.position.created_at,
                id: c.position.id.as_uuid(),
            };
            (c.direction, position)
        });
        let mut events = if valid.matches_nothing {
            Vec::new()
        } else {
            self.store()
                .list_audit_events(&valid.filter, from, valid.limit + 1)
                .await?
        };
        let direction = from.map(|(d, _)| d).unwrap_or(PageDirection::Older);
        let order = trim_page(&mut events, valid.limit as usize, direction, from.is_some());
        self.redact_audit_details(&mut events);
        let mut next_cursor = order
            .has_older
            .then(|| events.last().map(|e| cursor_of(PageDirection::Older, e)))
            .flatten();
        let mut prev_cursor = order
            .has_newer
            .then(|| events.first().map(|e| cursor_of(PageDirection::Newer, e)))
            .flatten();
        // An empty page goes back from where it started.
        if let (true, Some(cursor)) = (events.is_empty(), valid.cursor) {
            let back = Cursor {
                direction: match cursor.direction {
                    PageDirection::Older => PageDirection::Newer,
                    PageDirection::Newer => PageDirection::Older,
                },
                position: cursor.position,
            }
            .encode();
            match cursor.direction {
                PageDirection::Older => prev_cursor = Some(back),
                PageDirection::Newer => next_cursor = Some(back),
            }
        }
        Ok(AuditPage {
            events,
            next_cursor,
            prev_cursor,
        })
    }
}
