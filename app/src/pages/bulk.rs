//! The no-JavaScript bulk trigger: the confirmation page (the exact number
//! and the filter in words, one button that triggers) and the result page
//! (what was triggered, what was already running or finished, what was not
//! found). Both are server-rendered documents (`documents.rs`); the list
//! page's forms lead here, and with JavaScript its dialog skips the
//! confirmation page.

use leptos::prelude::*;
use regen_domain::{grouped, BulkTriggerResult, JobStatus};

use crate::components::badge::StatusBadge;

/// Where the list page's bulk forms go without JavaScript: this page.
pub const BULK_CONFIRM_PATH: &str = "/admin/regeneration-jobs/bulk-trigger/confirm";
/// Where the confirmation (the page's, or the dialog's) posts: the trigger.
pub const BULK_TRIGGER_PATH: &str = "/admin/regeneration-jobs/bulk-trigger";
const LIST_PATH: &str = "/admin/regeneration-jobs";

/// The list filters a bulk by filter carries, in form order, with how each
/// reads in a sentence.
pub const FILTER_FIELDS: [(&str, &str); 5] = [
    ("targetType", "target type"),
    ("targetId", "target id"),
    ("createdBy", "created by"),
    ("createdFrom", "created at or after"),
    ("createdTo", "created before"),
];

/// A bulk trigger as its form carries it: the selected ids, or the filters
/// with the number of jobs the person was shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkForm {
    pub ids: Vec<String>,
    /// Filter fields that have a value: (form name, value).
    pub filter: Vec<(&'static str, String)>,
    /// Present for a bulk by filter.
    pub expected_count: Option<u64>,
}

impl BulkForm {
    /// The number of jobs the confirmation is about.
    pub fn count(&self) -> u64 {
        self.expected_count.unwrap_or(self.ids.len() as u64)
    }

    /// "the 3 selected PENDING jobs", or "all 42 PENDING jobs with target
    /// type “insight”".
    pub fn in_words(&self) -> String {
        let count = self.count();
        let jobs = if count == 1 { "job" } else { "jobs" };
        if self.expected_count.is_none() {
            return format!("the {} selected PENDING {jobs}", grouped(count));
        }
        let conditions: Vec<String> = self
            .filter
            .iter()
            .filter_map(|(name, value)| {
                let (_, words) = FILTER_FIELDS.iter().find(|(field, _)| field == name)?;
                Some(format!("{words} “{value}”"))
            })
            .collect();
        let all = format!("all {} PENDING {jobs}", grouped(count));
        if conditions.is_empty() {
            all
        } else {
            format!("{all} with {}", conditions.join(", "))
        }
    }

    /// The form fields that carry this bulk: hidden inputs.
    pub fn hidden_fields(&self) -> impl IntoView {
        let ids = self
            .ids
            .iter()
            .map(|id| view! { <input type="hidden" name="id" value=id.clone()/> })
            .collect_view();
        let filter = self
            .filter
            .iter()
            .map(|(name, value)| view! { <input type="hidden" name=*name value=value.clone()/> })
            .collect_view();
        let expected = self.expected_count.map(|count| {
            view! { <input type="hidden" name="expectedCount" value=count.to_string()/> }
        });
        view! { {ids} {filter} {expected} }
    }

    /// The list of PENDING jobs this bulk came from.
    fn list_href(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("status", JobStatus::Pending.as_str());
        for (name, value) in &self.filter {
            query.append_pair(name, value);
        }
        format!("{LIST_PATH}?{}", query.finish())
    }
}

/// The confirmation page: what will be triggered, in numbers and words.
/// `notice` says why it is shown again (the count changed).
#[component]
pub fn BulkConfirm(form: BulkForm, notice: Option<String>) -> impl IntoView {
    let count = form.count();
    let jobs = if count == 1 { "job" } else { "jobs" };
    let words = form.in_words();
    let notice = notice.map(|text| view! { <p class="notice warning" role="alert">{text}</p> });
    let ids = (!form.ids.is_empty()).then(|| {
        let items = form
            .ids
            .iter()
            .map(|id| view! { <li><code>{id.clone()}</code></li> })
            .collect_view();
        view! { <ul class="bulk-ids" aria-label="Selected jobs">{items}</ul> }
    });
    let fields = form.hidden_fields();
    let back = form.list_href();
    view! {
        <section class="bulk-confirm" aria-labelledby="bulk-confirm-title">
            <h1 id="bulk-confirm-title">{format!("Trigger {} {jobs}?", grouped(count))}</h1>
            {notice}
            <p>"You are about to trigger " <strong>{words}</strong> "."</p>
            <p>
                "Each moves from PENDING to RUNNING for the executor to pick up, with its own audit row. "
                "This cannot be undone. A job that is no longer PENDING by then is left as it is and reported."
            </p>
            {ids}
            <form method="post" action=BULK_TRIGGER_PATH class="bulk-confirm-form">
                {fields}
                <div class="dialog-actions">
                    <a href=back class="button">"Cancel"</a>
                    <button type="submit" class="primary">{format!("Trigger {} {jobs}", grouped(count))}</button>
                </div>
            </form>
        </section>
    }
}

/// The result page of a bulk trigger.
#[component]
pub fn BulkResultView(result: BulkTriggerResult) -> impl IntoView {
    let BulkTriggerResult {
        bulk_id,
        triggered,
        conflicts,
        not_found,
    } = result;
    let asked = triggered.len() + conflicts.len() + not_found.len();
    let summary = format!(
        "Triggered {} of {} {}.",
        grouped(triggered.len() as u64),
        grouped(asked as u64),
        if asked == 1 { "job" } else { "jobs" }
    );
    let job_link = |id: String| {
        let href = format!("{LIST_PATH}/{id}");
        view! { <a href=href><code>{id}</code></a> }
    };
    let triggered_items = triggered
        .iter()
        .map(|id| view! { <li>{job_link(id.to_string())}</li> })
        .collect_view();
    let conflict_items = conflicts
        .iter()
        .map(|conflict| {
            let status: JobStatus = conflict.current_status;
            view! { <li>{job_link(conflict.id.to_string())} " " <StatusBadge status/></li> }
        })
        .collect_view();
    let not_found_items = not_found
        .iter()
        .map(|id| view! { <li><code>{id.clone()}</code></li> })
        .collect_view();
    let section = |id: &'static str,
                   title: &'static str,
                   count: usize,
                   empty: &'static str,
                   items: AnyView| {
        let heading = format!("{title} ({})", grouped(count as u64));
        let body = if count == 0 {
            view! { <p class="empty-state">{empty}</p> }.into_any()
        } else {
            view! { <ul>{items}</ul> }.into_any()
        };
        view! {
            <section class="bulk-outcome" aria-labelledby=id>
                <h2 id=id>{heading}</h2>
                {body}
            </section>
        }
    };
    view! {
        <section class="bulk-result" aria-labelledby="bulk-result-title">
            <h1 id="bulk-result-title">"Bulk trigger"</h1>
            <p class="notice" role="status">{summary}</p>
            <p>"Bulk id " <code>{bulk_id.to_string()}</code> " (in the audit row of every job it triggered)."</p>
            {section("bulk-triggered", "Triggered", triggered.len(), "None.", triggered_items.into_any())}
            {section("bulk-conflicts", "Already running or finished", conflicts.len(), "None.", conflict_items.into_any())}
            {section("bulk-not-found", "Not found", not_found.len(), "None.", not_found_items.into_any())}
            <p><a href=format!("{LIST_PATH}?status=PENDING")>"Back to the PENDING jobs"</a></p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bulk_reads_as_its_number_and_its_filter_in_words() {
        let selected = BulkForm {
            ids: vec!["a".into(), "b".into()],
            ..BulkForm::default()
        };
        let all = BulkForm {
            filter: vec![
                ("targetType", "insight".into()),
                ("createdBy", "bot".into()),
            ],
            expected_count: Some(1200),
            ..BulkForm::default()
        };
        let one = BulkForm {
            expected_count: Some(1),
            ..BulkForm::default()
        };
        assert_eq!(selected.in_words(), "the 2 selected PENDING jobs");
        assert_eq!(
            all.in_words(),
            "all 1,200 PENDING jobs with target type “insight”, created by “bot”"
        );
        assert_eq!(one.in_words(), "all 1 PENDING job");
        assert_eq!(
            all.list_href(),
            "/admin/regeneration-jobs?status=PENDING&targetType=insight&createdBy=bot"
        );
    }
}
