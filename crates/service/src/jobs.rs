use regen_domain::{Caller, JobStats, JobStatus, JobSummary, Timestamp, MAX_LABEL_LEN};
use regen_storage::{JobFilter, JobListing, KeysetPosition, PageDirection};

use crate::cursor::{page_request, trim_page, Cursor};
use crate::stats::stats_from;
use crate::{require_admin, AdminService, ServiceError};

/// A listing request as it arrives from a query string, before validation.
/// Both the REST API and the list page use these parameter names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub limit: Option<String>,
    pub cursor: Option<String>,
    pub statuses: Vec<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// RFC 3339; jobs created at or after it.
    pub created_from: Option<String>,
    /// RFC 3339; jobs created before it.
    pub created_to: Option<String>,
    pub created_by: Option<String>,
}

/// The parameters a form sends empty when they are not used.
const FORM_FILTERS: [&str; 5] = [
    "targetType",
    "targetId",
    "createdFrom",
    "createdTo",
    "createdBy",
];

impl ListQuery {
    /// Parses `application/x-www-form-urlencoded` pairs; `status` repeats.
    /// Unknown parameters are refused so that typos do not silently widen a
    /// listing.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<ListQuery, ServiceError> {
        let mut query = ListQuery::default();
        for (key, value) in pairs {
            let slot = match key {
                // Checkboxes never send an empty value: an empty status is
                // a mistake, refused by validation.
                "status" => {
                    query.statuses.push(value.to_owned());
                    continue;
                }
                "limit" => &mut query.limit,
                "cursor" => &mut query.cursor,
                "targetType" => &mut query.target_type,
                "targetId" => &mut query.target_id,
                "createdFrom" => &mut query.created_from,
                "createdTo" => &mut query.created_to,
                "createdBy" => &mut query.created_by,
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
            // An empty form field means "no filter". A page size or cursor
            // is never a form field: empty, it is simply invalid.
            if !(FORM_FILTERS.contains(&key) && value.is_empty()) {
                *slot = Some(value.to_owned());
            }
        }
        Ok(query)
    }

    /// Parses a raw (percent-encoded) query string, e.g. `status=PENDING&limit=10`.
    pub fn from_query_string(query: &str) -> Result<ListQuery, ServiceError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The query string for this listing at another cursor, with the same
    /// filters and limit.
    /// Whether anything narrows the listing (a cursor or page size does not).
    pub fn is_filtered(&self) -> bool {
        !self.statuses.is_empty()
            || [
                &self.target_type,
                &self.target_id,
                &self.created_from,
                &self.created_to,
                &self.created_by,
            ]
            .iter()
            .any(|v| v.is_some())
    }

    pub fn to_query_string(&self, cursor: Option<&str>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for status in &self.statuses {
            query.append_pair("status", status);
        }
        for (name, value) in [
            ("targetType", &self.target_type),
            ("targetId", &self.target_id),
            ("createdFrom", &self.created_from),
            ("createdTo", &self.created_to),
            ("createdBy", &self.created_by),
            ("limit", &self.limit),
        ] {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
        if let Some(cursor) = cursor {
            query.append_pair("cursor", cursor);
        }
        query.finish()
    }
}

/// One page of a listing with the cursors of its neighbours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobPage {
    pub jobs: Vec<JobSummary>,
    /// Older jobs follow.
    pub next_cursor: Option<String>,
    /// Newer jobs precede (only when this page was reached through a cursor).
    pub prev_cursor: Option<String>,
    /// The filters needed a scan, and it examined this many jobs without
    /// filling the page; the cursor in the paging direction goes on from
    /// where it stopped.
    pub searched_without_filling: Option<u32>,
}

pub(crate) struct ValidListing {
    pub(crate) filter: JobFilter,
    cursor: Option<Cursor>,
    limit: u32,
}

pub(crate) fn validate(query: &ListQuery) -> Result<ValidListing, ServiceError> {
    let invalid = |m: String| ServiceError::InvalidInput(m);
    let bad = |parameter: &'static str, message: String| ServiceError::InvalidParameter {
        parameter,
        message,
    };
    let (limit, cursor) = page_request(&query.limit, &query.cursor)?;
    let mut statuses = Vec::new();
    for text in &query.statuses {
        let status: JobStatus = text.parse().map_err(|e| invalid(format!("status: {e}")))?;
        if !statuses.contains(&status) {
            statuses.push(status);
        }
    }
    for (name, value) in [
        ("targetType", &query.target_type),
        ("targetId", &query.target_id),
        ("createdBy", &query.created_by),
    ] {
        let Some(value) = value else { continue };
        // Counted in characters, as the API description's maxLength is.
        if value.chars().count() > MAX_LABEL_LEN {
            return Err(bad(
                name,
                format!("{name} must be at most {MAX_LABEL_LEN} characters"),
            ));
        }
        if value.contains('\0') {
            return Err(bad(name, format!("{name} must not contain NUL characters")));
        }
    }
    let created_from = instant_parameter("createdFrom", &query.created_from)?;
    let created_to = instant_parameter("createdTo", &query.created_to)?;
    Ok(ValidListing {
        filter: JobFilter {
            statuses,
            target_type: query.target_type.clone(),
            target_id: query.target_id.clone(),
            created_from,
            created_to,
            created_by: query.created_by.clone(),
        },
        cursor,
        limit,
    })
}

/// An RFC 3339 instant as a stored time. Stored times have milliseconds, so
/// a finer bound is rounded up: `[from, to)` then selects exactly the jobs
/// whose true creation time lies in the window. Out of the years that
/// storage can hold (0000–9999) is no time at all.
/// An optional RFC 3339 parameter, or the 400 that names it.
pub(crate) fn instant_parameter(
    name: &'static str,
    value: &Option<String>,
) -> Result<Option<Timestamp>, ServiceError> {
    match value {
        None => Ok(None),
        Some(text) => parse_instant(text)
            .map(Some)
            .ok_or_else(|| ServiceError::InvalidParameter {
                parameter: name,
                message: format!(
                    "{name} must be an RFC 3339 time such as 2026-11-24T00:00:00Z, not {text:?}"
                ),
            }),
    }
}

pub(crate) fn parse_instant(text: &str) -> Option<Timestamp> {
    let at = chrono::DateTime::parse_from_rfc3339(text)
        .ok()?
        .with_timezone(&chrono::Utc);
    let millis = at.timestamp_millis();
    let exact = at.timestamp_subsec_nanos() % 1_000_000 == 0;
    let millis = if exact { millis } else { millis + 1 };
    let at = Timestamp::from_millis(millis)?;
    use chrono::Datelike;
    (0..=9999).contains(&at.as_datetime().year()).then_some(at)
}

impl AdminService {
    /// A page of jobs, newest first, without payloads.
    pub async fn list_jobs(
        &self,
        caller: Option<&Caller>,
        query: &ListQuery,
    ) -> Result<JobPage, ServiceError> {
        require_admin(caller)?;
        let listing = validate(query)?;
        let from = listing.cursor.map(|c| (c.direction, c.position));
        // One extra row tells whether another page exists in that direction.
        let found = self
            .store()
            .list_jobs(&listing.filter, from, listing.limit + 1)
            .await?;
        Ok(job_page(found, &listing))
    }

    /// A page of jobs, as [`AdminService::list_jobs`] reads it, and the job
    /// stats of its target type (every job's, without one), as
    /// [`AdminService::job_stats`] reads them: what the list page shows,
    /// read by one statement.
    pub async fn list_jobs_with_stats(
        &self,
        caller: Option<&Caller>,
        query: &ListQuery,
    ) -> Result<(JobPage, JobStats), ServiceError> {
        require_admin(caller)?;
        let listing = validate(query)?;
        let from = listing.cursor.map(|c| (c.direction, c.position));
        let (found, kept) = self
            .store()
            .list_jobs_with_counts(&listing.filter, from, listing.limit + 1)
            .await?;
        let stats = stats_from(kept, listing.filter.target_type.as_deref());
        Ok((job_page(found, &listing), stats))
    }
}

/// The page the client sees of the `limit + 1` jobs the store found: its
/// jobs, and the cursors to the pages on either side.
fn job_page(found: JobListing, listing: &ValidListing) -> JobPage {
    let from = listing.cursor.map(|c| (c.direction, c.position));
    let stopped_at = found.scan_stopped_at;
    let mut jobs = found.jobs;
    let direction = from.map(|(d, _)| d).unwrap_or(PageDirection::Older);
    let neighbours = trim_page(&mut jobs, listing.limit as usize, direction, from.is_some());
    let cursor = |direction, position| {
        Some(
            Cursor {
                direction,
                position,
            }
            .encode(),
        )
    };
    let cursor_at = |job: Option<&JobSummary>, direction| {
        job.and_then(|job| cursor(direction, KeysetPosition::from(job)))
    };
    let mut next_cursor = neighbours
        .has_older
        .then(|| cursor_at(jobs.last(), PageDirection::Older))
        .flatten();
    let mut prev_cursor = neighbours
        .has_newer
        .then(|| cursor_at(jobs.first(), PageDirection::Newer))
        .flatten();
    // A scan that stopped at its budget goes on from where it stopped.
    if let Some(position) = stopped_at {
        match direction {
            PageDirection::Older => next_cursor = cursor(PageDirection::Older, position),
            PageDirection::Newer => prev_cursor = cursor(PageDirection::Newer, position),
        }
    }
    // An empty page has no rows to take the way back from: go back from
    // where this page started.
    if let (true, Some((direction, position))) = (jobs.is_empty(), from) {
        match direction {
            PageDirection::Older => prev_cursor = cursor(PageDirection::Newer, position),
            PageDirection::Newer => next_cursor = cursor(PageDirection::Older, position),
        }
    }
    let short = jobs.len() < listing.limit as usize;
    JobPage {
        next_cursor,
        prev_cursor,
        searched_without_filling: stopped_at
            .filter(|_| short)
            .map(|_| regen_storage::SCAN_BUDGET),
        jobs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_parse_with_repeated_status() {
        let q = ListQuery::from_pairs([
            ("status", "PENDING"),
            ("status", "FAILED"),
            ("targetType", "insight"),
            ("targetId", ""),
        ])
        .unwrap();
        assert_eq!(q.statuses, vec!["PENDING", "FAILED"]);
        assert_eq!(q.target_type.as_deref(), Some("insight"));
        assert_eq!(q.target_id, None);
    }

    #[test]
    fn raw_query_strings_are_decoded() {
        let q = ListQuery::from_query_string("status=PENDING&targetId=a+b%26c").unwrap();
        assert_eq!(q.target_id.as_deref(), Some("a b&c"));
        assert_eq!(q.statuses, vec!["PENDING"]);
    }

    #[test]
    fn unknown_or_repeated_parameters_are_refused() {
        assert!(ListQuery::from_pairs([("sort", "x")]).is_err());
        assert!(ListQuery::from_pairs([("limit", "1"), ("limit", "2")]).is_err());
    }

    #[test]
    fn invalid_values_are_refused() {
        for (k, v) in [
            ("limit", "0"),
            ("limit", "501"),
            ("limit", "ten"),
            ("status", "DONE"),
            ("cursor", "nope"),
            ("targetId", "a\0b"),
            ("limit", ""),
            ("cursor", ""),
        ] {
            let q = ListQuery::from_pairs([(k, v)]).unwrap();
            assert!(validate(&q).is_err(), "{k}={v}");
        }
    }

    #[test]
    fn time_bounds_are_rfc_3339_rounded_up_to_the_millisecond() {
        let bound = |text: &str| parse_instant(text).map(|t| t.to_string());
        assert_eq!(
            bound("2026-11-24T00:00:00Z").unwrap(),
            "2026-11-24T00:00:00.000Z"
        );
        assert_eq!(
            bound("2026-11-24T01:00:00+01:00").unwrap(),
            "2026-11-24T00:00:00.000Z"
        );
        assert_eq!(
            bound("2026-11-24T00:00:00.0005Z").unwrap(),
            "2026-11-24T00:00:00.001Z"
        );
        for bad in ["2026-11-24", "yesterday", "2026-11-24 00:00:00", ""] {
            assert_eq!(bound(bad), None, "{bad}");
        }
    }

    #[test]
    fn query_strings_keep_filters_and_encode_values() {
        let q = ListQuery::from_pairs([("status", "PENDING"), ("targetId", "a b&c")]).unwrap();
        let text = q.to_query_string(Some("o1.x"));
        assert_eq!(text, "status=PENDING&targetId=a+b%26c&cursor=o1.x");
        assert_eq!(
            ListQuery::from_query_string(&text).unwrap().target_id,
            q.target_id
        );
    }
}
