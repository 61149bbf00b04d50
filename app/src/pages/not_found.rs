use leptos::prelude::*;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::ssr::set_status(http::StatusCode::NOT_FOUND);
    view! {
        <section class="error-panel" role="alert">
            <h1>"Page not found"</h1>
            <p><a href="/admin/regeneration-jobs">"Go to the job list"</a></p>
        </section>
    }
}
