use leptos::prelude::*;

#[cfg(feature = "hydrate")]
use crate::server_fns::trigger_job;
#[cfg(feature = "hydrate")]
use regen_domain::TriggerOutcome;

/// The one action of the product. Without JavaScript it is a two-step HTML
/// form (open, then confirm) posting to the server, which redirects back.
/// Hydrated, the same control asks in a modal `<dialog>` and calls the
/// trigger server function once, however often it is clicked.
#[island]
pub fn TriggerControl(job_id: String, target: String) -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    let (hydrated, set_hydrated) = signal(false);
    let (busy, set_busy) = signal(false);
    let (message, set_message) = signal(String::new());
    Effect::new(move |_| set_hydrated.set(true));

    let action = format!("/admin/regeneration-jobs/{job_id}/trigger");
    let open_dialog = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        if let Some(dialog) = dialog.get_untracked() {
            let _ = dialog.show_modal();
        }
    };
    let close_dialog = move |_| {
        if let Some(dialog) = dialog.get_untracked() {
            dialog.close();
        }
    };
    let confirm = {
        let job_id = job_id.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            if busy.get_untracked() {
                return;
            }
            set_busy.set(true);
            set_message.set(String::new());
            submit(job_id.clone(), set_busy, set_message);
        }
    };
    view! {
        <section class="trigger" aria-labelledby="trigger-heading"
            data-hydrated=move || hydrated.get().then_some("true")>
            <h2 id="trigger-heading">"Trigger"</h2>
            <p>
                "This job is PENDING. Triggering moves it to RUNNING for the executor to pick up; "
                "it cannot be undone or repeated."
            </p>
            <details class="trigger-step">
                <summary class="button primary" on:click=open_dialog>"Trigger job…"</summary>
                <form method="post" action=action.clone() class="trigger-nojs">
                    <p>"Trigger job " <code>{job_id.clone()}</code> " for " <strong>{target.clone()}</strong> "?"</p>
                    <button type="submit" class="primary">"Confirm trigger"</button>
                </form>
            </details>
            <dialog node_ref=dialog aria-labelledby="trigger-dialog-title" class="trigger-dialog">
                <form method="post" action=action on:submit=confirm>
                    <h2 id="trigger-dialog-title">"Trigger this job?"</h2>
                    <p>"Job " <code>{job_id}</code></p>
                    <p>"Target " <strong>{target}</strong></p>
                    <p>"It moves from PENDING to RUNNING. This cannot be undone."</p>
                    <p class="dialog-message" role="alert">{move || message.get()}</p>
                    <div class="dialog-actions">
                        <button type="button" autofocus on:click=close_dialog disabled=move || busy.get()>"Cancel"</button>
                        <button type="submit" class="primary" disabled=move || busy.get() aria-busy=move || busy.get().to_string()>
                            {move || if busy.get() { "Triggering…" } else { "Trigger job" }}
                        </button>
                    </div>
                </form>
            </dialog>
        </section>
    }
}

#[cfg(feature = "hydrate")]
fn submit(job_id: String, set_busy: WriteSignal<bool>, set_message: WriteSignal<String>) {
    leptos::task::spawn_local(async move {
        match trigger_job(job_id.clone()).await {
            Ok(outcome) => {
                // Reload the page's data from the server, with the outcome.
                let href = format!(
                    "/admin/regeneration-jobs/{job_id}?outcome={}",
                    outcome.as_str()
                );
                if outcome == TriggerOutcome::Unavailable {
                    set_busy.set(false);
                    set_message.set(
                        "The database is unavailable; nothing was triggered. Try again.".into(),
                    );
                } else {
                    let _ = window().location().set_href(&href);
                }
            }
            Err(error) => {
                set_busy.set(false);
                set_message.set(format!("The trigger failed: {error}"));
            }
        }
    });
}

#[cfg(not(feature = "hydrate"))]
fn submit(_job_id: String, _set_busy: WriteSignal<bool>, _set_message: WriteSignal<String>) {}
