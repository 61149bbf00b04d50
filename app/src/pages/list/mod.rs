//! `/admin/regeneration-jobs`: `load` gathers what the page shows on the
//! server, `view` draws it.

mod load;
mod view;

use leptos::prelude::*;

use super::ErrorPanel;
use load::load;
use view::JobList;

/// `/admin/regeneration-jobs`: a filterable, keyset-paginated table. Plain
/// links and a GET form, and, on a list of PENDING jobs only, the bulk
/// trigger's forms (which lead to a confirmation page, or with WASM to a
/// dialog); nothing on this page itself changes anything.
#[component]
pub fn JobListPage() -> impl IntoView {
    view! {
        <Suspense fallback=|| ()>
            {Suspend::new(async move {
                match load().await {
                    Ok(data) => view! { <JobList data/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
