//! The one action of the product. Without JavaScript it is a two-step HTML
//! form (open, then confirm) posting to the server, which redirects back.
//! Hydrated, the same control asks in a modal `<dialog>` and calls the
//! trigger server function once, however often it is clicked.
//!
//! The server renders all of the markup ([`TriggerControl`]); the island
//! ([`TriggerTools`]) only adds behaviour, through the `data-trigger`
//! attributes [`TriggerPart`] writes. An island with props of its own would
//! deserialise them with serde_json in the browser, which is a fifth of the
//! detail page's WASM.

use leptos::prelude::*;

/// The parts of the control the island acts on, named in the markup by
/// [`TriggerPart::ATTRIBUTE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerPart {
    /// The "Trigger job…" summary: opens the dialog.
    Open,
    /// The dialog's cancel button.
    Cancel,
    /// The dialog's form: its submit is the trigger.
    Confirm,
}

impl TriggerPart {
    pub const ATTRIBUTE: &'static str = "data-trigger";
    const ALL: [TriggerPart; 3] = [TriggerPart::Open, TriggerPart::Cancel, TriggerPart::Confirm];

    pub fn as_str(self) -> &'static str {
        match self {
            TriggerPart::Open => "open",
            TriggerPart::Cancel => "cancel",
            TriggerPart::Confirm => "confirm",
        }
    }

    pub fn parse(text: &str) -> Option<TriggerPart> {
        Self::ALL.into_iter().find(|part| part.as_str() == text)
    }
}

/// The trigger section of a PENDING job's detail page.
#[component]
pub fn TriggerControl(job_id: String, target: String) -> impl IntoView {
    let action = format!("/admin/regeneration-jobs/{job_id}/trigger");
    let id_attribute = job_id.clone();
    view! {
        <TriggerTools>
            <h2 id="trigger-heading">"Trigger"</h2>
            <p>
                "This job is PENDING. Triggering moves it to RUNNING for the executor to pick up; "
                "it cannot be undone or repeated."
            </p>
            <details class="trigger-step">
                <summary class="button primary" data-trigger=TriggerPart::Open.as_str()>"Trigger job…"</summary>
                <form method="post" action=action.clone() class="trigger-nojs">
                    <p>"Trigger job " <code>{job_id.clone()}</code> " for " <strong>{target.clone()}</strong> "?"</p>
                    <button type="submit" class="primary">"Confirm trigger"</button>
                </form>
            </details>
            <dialog aria-labelledby="trigger-dialog-title" class="trigger-dialog">
                <form method="post" action=action data-trigger=TriggerPart::Confirm.as_str() data-job-id=id_attribute>
                    <h2 id="trigger-dialog-title">"Trigger this job?"</h2>
                    <p>"Job " <code>{job_id}</code></p>
                    <p>"Target " <strong>{target}</strong></p>
                    <p>"It moves from PENDING to RUNNING. This cannot be undone."</p>
                    <p class="dialog-message" role="alert"></p>
                    <div class="dialog-actions">
                        <button type="button" autofocus data-trigger=TriggerPart::Cancel.as_str()>"Cancel"</button>
                        <button type="submit" class="primary" aria-busy="false">"Trigger job"</button>
                    </div>
                </form>
            </dialog>
        </TriggerTools>
    }
}

/// The behaviour of [`TriggerControl`]'s server-rendered markup.
#[island]
pub fn TriggerTools(children: Children) -> impl IntoView {
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    view! {
        <section class="trigger" aria-labelledby="trigger-heading"
            data-hydrated=move || hydrated.get().then_some("true")
            on:click=browser::on_click on:submit=browser::on_submit>
            {children()}
        </section>
    }
}

#[cfg(not(feature = "hydrate"))]
mod browser {
    pub fn on_click(_: leptos::ev::MouseEvent) {}
    pub fn on_submit(_: leptos::ev::SubmitEvent) {}
}

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use regen_domain::TriggerOutcome;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{Element, HtmlDialogElement, HtmlFormElement, Request, RequestInit, Response};

    use super::TriggerPart;
    use crate::server_fns::trigger_job_wire;

    fn part_of(event: &web_sys::Event) -> Option<(TriggerPart, Element)> {
        let target = event.target()?.dyn_into::<Element>().ok()?;
        let element = target
            .closest(&format!("[{}]", TriggerPart::ATTRIBUTE))
            .ok()??;
        let part = TriggerPart::parse(&element.get_attribute(TriggerPart::ATTRIBUTE)?)?;
        Some((part, element))
    }

    fn dialog_of(element: &Element) -> Option<HtmlDialogElement> {
        element
            .closest("section.trigger")
            .ok()??
            .query_selector("dialog")
            .ok()??
            .dyn_into()
            .ok()
    }

    pub fn on_click(ev: leptos::ev::MouseEvent) {
        let Some((part, element)) = part_of(&ev) else {
            return;
        };
        let Some(dialog) = dialog_of(&element) else {
            return;
        };
        match part {
            TriggerPart::Open => {
                // The dialog instead of the no-JS form the summary unfolds.
                ev.prevent_default();
                let _ = dialog.show_modal();
            }
            TriggerPart::Cancel => dialog.close(),
            TriggerPart::Confirm => {}
        }
    }

    pub fn on_submit(ev: leptos::ev::SubmitEvent) {
        let Some((TriggerPart::Confirm, form)) = part_of(&ev) else {
            return;
        };
        ev.prevent_default();
        let Ok(form) = form.dyn_into::<HtmlFormElement>() else {
            return;
        };
        // Once, however often it is clicked: the buttons are disabled too,
        // but a second submit can be queued before they are.
        if form.has_attribute("data-busy") {
            return;
        }
        let Some(job_id) = form.get_attribute("data-job-id") else {
            return;
        };
        set_busy(&form, true);
        say(&form, "");
        leptos::task::spawn_local(async move {
            match send(&job_id).await {
                Ok(TriggerOutcome::Unavailable) => {
                    set_busy(&form, false);
                    say(
                        &form,
                        "The database is unavailable; nothing was triggered. Try again.",
                    );
                }
                Ok(outcome) => {
                    // Reload the page's data from the server, with the outcome.
                    let href = format!(
                        "/admin/regeneration-jobs/{job_id}?outcome={}",
                        outcome.as_str()
                    );
                    let _ = window().location().set_href(&href);
                }
                Err(message) => {
                    set_busy(&form, false);
                    say(&form, &message);
                }
            }
        });
    }

    fn set_busy(form: &HtmlFormElement, busy: bool) {
        let _ = if busy {
            form.set_attribute("data-busy", "")
        } else {
            form.remove_attribute("data-busy")
        };
        let Ok(buttons) = form.query_selector_all("button") else {
            return;
        };
        for button in (0..buttons.length()).filter_map(|i| buttons.item(i)) {
            let Ok(button) = button.dyn_into::<Element>() else {
                continue;
            };
            let _ = if busy {
                button.set_attribute("disabled", "")
            } else {
                button.remove_attribute("disabled")
            };
            if button.get_attribute("type").as_deref() == Some("submit") {
                let _ = button.set_attribute("aria-busy", if busy { "true" } else { "false" });
                button.set_text_content(Some(if busy { "Triggering…" } else { "Trigger job" }));
            }
        }
    }

    fn say(form: &HtmlFormElement, message: &str) {
        if let Ok(Some(line)) = form.query_selector(".dialog-message") {
            line.set_text_content(Some(message));
        }
    }

    /// Calls the `trigger_job` server function with a plain `fetch`, in its
    /// own wire format (see `trigger_job_wire`).
    async fn send(job_id: &str) -> Result<TriggerOutcome, String> {
        let failed = |_: JsValue| {
            "The trigger could not be sent. Check the connection and try again.".to_owned()
        };
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_body(&JsValue::from_str(&trigger_job_wire::request_body(job_id)));
        let request =
            Request::new_with_str_and_init(trigger_job_wire::PATH, &init).map_err(failed)?;
        let headers = request.headers();
        headers
            .set("Content-Type", "application/json")
            .map_err(failed)?;
        headers.set("Accept", "application/json").map_err(failed)?;
        let response: Response = JsFuture::from(window().fetch_with_request(&request))
            .await
            .and_then(JsCast::dyn_into)
            .map_err(failed)?;
        match response.status() {
            200 => {}
            401 => return Err("Your session has ended: sign in again, then trigger.".into()),
            403 => return Err("Your account may not trigger jobs.".into()),
            status => {
                return Err(format!(
                    "The trigger failed (HTTP {status}). Reload the page to see the job's status."
                ))
            }
        }
        let body = JsFuture::from(response.text().map_err(failed)?)
            .await
            .map_err(failed)?
            .as_string()
            .unwrap_or_default();
        trigger_job_wire::outcome(&body).ok_or_else(|| {
            "The server's answer was not understood. Reload the page to see the job's status."
                .into()
        })
    }
}
