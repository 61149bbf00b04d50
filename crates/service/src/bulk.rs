//! The bulk trigger: many PENDING jobs in one explicit action, chosen by id
//! or by the list filters, each moved PENDING → RUNNING exactly once with
//! its own audit row that names the bulk.

use regen_domain::{BulkConflict, BulkTriggerResult, Caller, JobId, JobStatus, JsonText};
use regen_storage::{
    AnswerUnder, BulkOutcome, BulkSelection as StoredSelection, BulkTrigger, BulkTriggered,
    StoredAnswer,
};
use serde::Serialize;
use uuid::Uuid;

use crate::idempotency::KeyedRequest;
use crate::jobs::{validate, ListQuery};
use crate::{require_acting, AdminService, ServiceError};

/// Which jobs to trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkSelection {
    /// These ids; duplicates count once, ids no job has are reported.
    Ids(Vec<String>),
    /// The PENDING jobs the list filters select, when they are exactly
    /// `expected_count` (what the person confirming was shown).
    Filter {
        filter: BulkFilter,
        expected_count: u64,
    },
}

/// The list filters of a bulk trigger, as the list uses them. Status is
/// always PENDING: any other is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_to: Option<String>,
}

impl BulkFilter {
    /// The filter as the list applies it: empty values are no filter (as
    /// in the list's form) and the status is PENDING.
    fn as_list_query(&self) -> Result<ListQuery, ServiceError> {
        let pending = JobStatus::Pending.as_str();
        if self.status.as_deref().is_some_and(|s| s != pending) {
            return Err(ServiceError::InvalidParameter {
                parameter: "status",
                message: format!("a bulk trigger selects {pending} jobs only; leave status out or set it to {pending}"),
            });
        }
        let set = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        Ok(ListQuery {
            statuses: vec![pending.to_owned()],
            target_type: set(&self.target_type),
            target_id: set(&self.target_id),
            created_by: set(&self.created_by),
            created_from: set(&self.created_from),
            created_to: set(&self.created_to),
            ..ListQuery::default()
        })
    }

    /// The filter as the audit rows record it: the values applied.
    fn applied(query: &ListQuery) -> BulkFilter {
        BulkFilter {
            status: Some(JobStatus::Pending.as_str().to_owned()),
            target_type: query.target_type.clone(),
            target_id: query.target_id.clone(),
            created_by: query.created_by.clone(),
            created_from: query.created_from.clone(),
            created_to: query.created_to.clone(),
        }
    }
}

/// The `details` of each audit row of a bulk: its id, and its filter or the
/// number of distinct ids it was given.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BulkDetails<'a> {
    bulk_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    filter: Option<&'a BulkFilter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_count: Option<usize>,
}

/// The answer: what storage did, plus the ids that are no job id at all.
fn result_of(bulk_id: Uuid, done: &BulkTriggered, malformed: &[String]) -> BulkTriggerResult {
    BulkTriggerResult {
        bulk_id,
        triggered: done.triggered.clone(),
        conflicts: done
            .conflicts
            .iter()
            .map(|&(id, current_status)| BulkConflict { id, current_status })
            .collect(),
        not_found: done
            .not_found
            .iter()
            .map(JobId::to_string)
            .chain(malformed.iter().cloned())
            .collect(),
    }
}

impl AdminService {
    /// The most jobs one bulk trigger may name or select
    /// (`REGEN_BULK_TRIGGER_MAX`).
    pub fn bulk_trigger_max(&self) -> usize {
        self.inner.bulk_trigger_max
    }

    /// Triggers every PENDING job of the selection, in one transaction,
    /// within the request. By filter: nothing changes unless the filter
    /// selects exactly `expected_count` PENDING jobs, at most the maximum.
    /// Under a key, the answer is kept in that transaction.
    pub async fn bulk_trigger(
        &self,
        caller: Option<&Caller>,
        selection: &BulkSelection,
        request_id: Option<&str>,
        key: Option<&KeyedRequest>,
    ) -> Result<BulkTriggerResult, ServiceError> {
        let caller = require_acting(caller)?;
        let max = self.bulk_trigger_max();
        let bulk_id = Uuid::now_v7();
        let mut ids = Vec::new();
        let mut malformed: Vec<String> = Vec::new();
        let filter;
        let listing;
        let (stored_selection, details) = match selection {
            BulkSelection::Ids(given) => {
                for text in given {
                    match text.parse::<JobId>() {
                        Ok(id) if !ids.contains(&id) => ids.push(id),
                        Ok(_) => {}
                        Err(_) if !malformed.contains(text) => malformed.push(text.clone()),
                        Err(_) => {}
                    }
                }
                let count = ids.len() + malformed.len();
                if count == 0 {
                    return Err(ServiceError::InvalidParameter {
                        parameter: "ids",
                        message: format!("ids must list 1 to {max} job ids"),
                    });
                }
                if count > max {
                    return Err(ServiceError::TooManyJobs { max });
                }
                let details = BulkDetails {
                    bulk_id,
                    filter: None,
                    expected_count: None,
                    id_count: Some(count),
                };
                (StoredSelection::Ids(&ids), details)
            }
            BulkSelection::Filter {
                filter: given,
                expected_count,
            } => {
                let query = given.as_list_query()?;
                listing = validate(&query)?;
                filter = BulkFilter::applied(&query);
                let details = BulkDetails {
                    bulk_id,
                    filter: Some(&filter),
                    expected_count: Some(*expected_count),
                    id_count: None,
                };
                let selection = StoredSelection::Filter {
                    filter: &listing.filter,
                    expected_count: *expected_count,
                    max,
                };
                (selection, details)
            }
        };
        let request = BulkTrigger {
            selection: stored_selection,
            actor: &caller.user_id,
            request_id,
            details: JsonText::parse(serde_json::to_string(&details).expect("details serialise"))
                .expect("serde_json writes JSON"),
        };
        let answer = |done: &BulkTriggered| StoredAnswer {
            status: 200,
            body: serde_json::to_string(&result_of(bulk_id, done, &malformed))
                .expect("a bulk result serialises"),
        };
        let key = key.map(|key| AnswerUnder {
            claim: key.claim(),
            answer: &answer,
        });
        let done = match self.store().bulk_trigger(&request, key).await? {
            BulkOutcome::Done(done) => done,
            BulkOutcome::TooMany => return Err(ServiceError::TooManyJobs { max }),
            BulkOutcome::CountChanged { current } => {
                return Err(ServiceError::CountChanged {
                    current_count: current,
                })
            }
            BulkOutcome::ClaimLost => return Err(ServiceError::KeyInProgress),
        };
        let result = result_of(bulk_id, &done, &malformed);
        self.metrics().count_bulk_trigger(&result);
        if let Err(failure) = done.audit {
            self.keep_failed_audit_events(&failure.events, &failure.error)
                .await;
        }
        Ok(result)
    }
}
