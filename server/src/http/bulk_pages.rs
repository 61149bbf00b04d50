//! The list page's bulk trigger without JavaScript: its forms post to the
//! confirmation page, whose button posts to the trigger, which answers with
//! the result page. Both are plain form POSTs, behind the same CSRF guard as
//! every form; the trigger is the service's, as for the REST API.

use app::documents;
use app::pages::bulk::{BulkForm, FILTER_FIELDS};
use app::ssr::RequestInfo;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;
use regen_service::{BulkFilter, BulkSelection, ServiceError};
use serde::Deserialize;

use super::problem::Problem;
use super::state::AppState;

/// The fields the list page's bulk forms (and the confirmation page's
/// hidden fields) send.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkFields {
    #[serde(default)]
    id: Vec<String>,
    target_type: Option<String>,
    target_id: Option<String>,
    created_by: Option<String>,
    created_from: Option<String>,
    created_to: Option<String>,
    expected_count: Option<String>,
}

/// The form as the pages show it, or why it cannot be read.
fn read_form(body: &[u8]) -> Result<BulkForm, String> {
    let fields: BulkFields = serde_html_form::from_bytes(body)
        .map_err(|e| format!("The form could not be read: {e}."))?;
    let expected_count = match fields.expected_count.as_deref() {
        None => None,
        Some(text) => Some(
            text.parse::<u64>()
                .map_err(|_| format!("expectedCount must be a number, not {text:?}."))?,
        ),
    };
    let values = [
        fields.target_type,
        fields.target_id,
        fields.created_by,
        fields.created_from,
        fields.created_to,
    ];
    let filter = FILTER_FIELDS
        .iter()
        .zip(values)
        .filter_map(|((name, _), value)| value.filter(|v| !v.is_empty()).map(|v| (*name, v)))
        .collect();
    if expected_count.is_none() && fields.id.is_empty() {
        return Err("Select at least one job to trigger.".to_owned());
    }
    Ok(BulkForm {
        ids: if expected_count.is_some() {
            Vec::new()
        } else {
            fields.id
        },
        filter,
        expected_count,
    })
}

/// The service's request for a form.
fn selection_of(form: &BulkForm) -> BulkSelection {
    let Some(expected_count) = form.expected_count else {
        return BulkSelection::Ids(form.ids.clone());
    };
    let value = |name: &str| {
        form.filter
            .iter()
            .find(|(field, _)| *field == name)
            .map(|(_, value)| value.clone())
    };
    BulkSelection::Filter {
        filter: BulkFilter {
            status: None,
            target_type: value("targetType"),
            target_id: value("targetId"),
            created_by: value("createdBy"),
            created_from: value("createdFrom"),
            created_to: value("createdTo"),
        },
        expected_count,
    }
}

fn refused(state: &AppState, info: &RequestInfo, status: StatusCode, reason: &str) -> Response {
    let page = documents::bulk_refused_document(&state.ui, info.caller.as_ref(), reason);
    (status, Html(page)).into_response()
}

/// The confirmation page: the exact number and the filter in words. It
/// changes nothing.
pub async fn confirm(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    body: Bytes,
) -> Response {
    match read_form(&body) {
        Ok(form) => Html(documents::bulk_confirm_document(
            &state.ui,
            info.caller.as_ref(),
            &form,
            None,
        ))
        .into_response(),
        Err(reason) => refused(&state, &info, StatusCode::BAD_REQUEST, &reason),
    }
}

/// The trigger, answered with the result page; when the filter's count
/// changed, the confirmation page again with the new count.
pub async fn trigger(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    body: Bytes,
) -> Response {
    let form = match read_form(&body) {
        Ok(form) => form,
        Err(reason) => return refused(&state, &info, StatusCode::BAD_REQUEST, &reason),
    };
    let caller = info.caller.as_ref();
    let result = state
        .service
        .bulk_trigger(caller, &selection_of(&form), Some(&info.request_id), None)
        .await;
    match result {
        Ok(result) => {
            Html(documents::bulk_result_document(&state.ui, caller, &result)).into_response()
        }
        Err(ServiceError::CountChanged { current_count: 0 }) => refused(
            &state,
            &info,
            StatusCode::CONFLICT,
            "No PENDING job matches these filters any more.",
        ),
        Err(ServiceError::CountChanged { current_count }) => {
            let notice = format!(
                "The number of matching PENDING jobs changed from {} to {current_count} \
                 since you looked; nothing was triggered. Confirm the new number, or cancel.",
                form.count()
            );
            let form = BulkForm {
                expected_count: Some(current_count),
                ..form
            };
            let page = documents::bulk_confirm_document(&state.ui, caller, &form, Some(notice));
            (StatusCode::CONFLICT, Html(page)).into_response()
        }
        Err(ServiceError::TooManyJobs { max }) => refused(
            &state,
            &info,
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("One bulk trigger takes at most {max} jobs. Narrow the filters."),
        ),
        Err(
            ServiceError::InvalidInput(message) | ServiceError::InvalidParameter { message, .. },
        ) => refused(&state, &info, StatusCode::BAD_REQUEST, &message),
        Err(ServiceError::Unavailable(_)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Html(documents::unavailable_document(&state.ui, caller)),
        )
            .into_response(),
        Err(error) => Problem::from(error).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_is_ids_or_filters_with_their_count_and_never_both() {
        let ids = read_form(b"id=a&id=b").unwrap();
        assert_eq!(ids.ids, ["a", "b"]);
        assert_eq!(
            selection_of(&ids),
            BulkSelection::Ids(vec!["a".into(), "b".into()])
        );
        let all = read_form(b"targetType=insight&targetId=&expectedCount=12&id=x").unwrap();
        assert!(all.ids.is_empty());
        assert_eq!(all.filter, [("targetType", "insight".to_owned())]);
        assert_eq!(
            selection_of(&all),
            BulkSelection::Filter {
                filter: BulkFilter {
                    target_type: Some("insight".into()),
                    ..BulkFilter::default()
                },
                expected_count: 12,
            }
        );
        assert!(read_form(b"").is_err());
        assert!(read_form(b"expectedCount=many").is_err());
    }
}
