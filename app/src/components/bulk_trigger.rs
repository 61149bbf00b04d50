//! The list page's bulk trigger. Without JavaScript, its forms post to the
//! confirmation page (`pages/bulk.rs`). Hydrated, the same forms ask in a
//! modal `<dialog>` that states the exact number and the filter in words,
//! "Trigger selected" counts the ticked rows, and the confirm button is
//! disabled while the trigger runs (the form then posts straight to the
//! trigger, whose answer is the result page).
//!
//! As with `trigger.rs`, the server renders all of the markup and the
//! island ([`BulkTriggerTools`]) only adds behaviour, through the
//! `data-bulk` attributes [`BulkPart`] writes.

use leptos::prelude::*;

/// The parts of the bulk controls the island acts on, named in the markup
/// by [`BulkPart::ATTRIBUTE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkPart {
    /// A form whose submit opens the dialog (its `data-final` is where the
    /// dialog's confirmation sends it; `data-description`, when present,
    /// says what it triggers).
    Choose,
    /// Where "Trigger selected" shows how many rows are ticked.
    Count,
    /// The dialog's sentence about what will be triggered.
    Description,
    /// The dialog's cancel button.
    Cancel,
    /// The dialog's confirm button.
    Confirm,
}

impl BulkPart {
    pub const ATTRIBUTE: &'static str = "data-bulk";
    const ALL: [BulkPart; 5] = [
        BulkPart::Choose,
        BulkPart::Count,
        BulkPart::Description,
        BulkPart::Cancel,
        BulkPart::Confirm,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BulkPart::Choose => "choose",
            BulkPart::Count => "count",
            BulkPart::Description => "description",
            BulkPart::Cancel => "cancel",
            BulkPart::Confirm => "confirm",
        }
    }

    pub fn parse(text: &str) -> Option<BulkPart> {
        Self::ALL.into_iter().find(|part| part.as_str() == text)
    }
}

/// The dialog the island opens; the server renders it closed.
#[component]
pub fn BulkDialog() -> impl IntoView {
    view! {
        <dialog aria-labelledby="bulk-dialog-title" class="bulk-dialog">
            <h2 id="bulk-dialog-title">"Trigger these jobs?"</h2>
            <p data-bulk=BulkPart::Description.as_str()></p>
            <p>"Each moves from PENDING to RUNNING, with its own audit row. This cannot be undone."</p>
            <p class="dialog-message" role="alert"></p>
            <div class="dialog-actions">
                <button type="button" autofocus data-bulk=BulkPart::Cancel.as_str()>"Cancel"</button>
                <button type="button" class="primary" aria-busy="false" data-bulk=BulkPart::Confirm.as_str()>"Trigger"</button>
            </div>
        </dialog>
    }
}

/// The behaviour of the bulk controls' server-rendered markup.
#[island]
pub fn BulkTriggerTools(children: Children) -> impl IntoView {
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    view! {
        <div class="bulk-trigger"
            data-hydrated=move || hydrated.get().then_some("true")
            on:change=browser::on_change on:click=browser::on_click on:submit=browser::on_submit>
            {children()}
        </div>
    }
}

#[cfg(not(feature = "hydrate"))]
mod browser {
    pub fn on_change(_: leptos::ev::Event) {}
    pub fn on_click(_: leptos::ev::MouseEvent) {}
    pub fn on_submit(_: leptos::ev::SubmitEvent) {}
}

#[cfg(feature = "hydrate")]
mod browser {
    use wasm_bindgen::JsCast;
    use web_sys::{Element, HtmlDialogElement, HtmlFormElement};

    use super::BulkPart;

    const PENDING: &str = "data-pending";
    const ROOT: &str = "div.bulk-trigger";

    fn part_of(event: &web_sys::Event) -> Option<(BulkPart, Element)> {
        let target = event.target()?.dyn_into::<Element>().ok()?;
        let element = target
            .closest(&format!("[{}]", BulkPart::ATTRIBUTE))
            .ok()??;
        let part = BulkPart::parse(&element.get_attribute(BulkPart::ATTRIBUTE)?)?;
        Some((part, element))
    }

    fn root_of(element: &Element) -> Option<Element> {
        element.closest(ROOT).ok()?
    }

    fn find(root: &Element, selector: &str) -> Option<Element> {
        root.query_selector(selector).ok()?
    }

    fn selector(part: BulkPart) -> String {
        format!("[{}=\"{}\"]", BulkPart::ATTRIBUTE, part.as_str())
    }

    fn dialog_of(root: &Element) -> Option<HtmlDialogElement> {
        find(root, "dialog")?.dyn_into().ok()
    }

    /// Ticked rows of the form that holds the row checkboxes.
    fn ticked(root: &Element) -> u32 {
        root.query_selector_all("input[name=\"id\"]:checked")
            .map(|list| list.length())
            .unwrap_or(0)
    }

    pub fn on_change(ev: leptos::ev::Event) {
        let Some(root) = ev
            .target()
            .and_then(|t| t.dyn_into::<Element>().ok())
            .and_then(|e| root_of(&e))
        else {
            return;
        };
        if let Some(count) = find(&root, &selector(BulkPart::Count)) {
            count.set_text_content(Some(&format!("({})", ticked(&root))));
        }
    }

    pub fn on_submit(ev: leptos::ev::SubmitEvent) {
        let Some((BulkPart::Choose, form)) = part_of(&ev) else {
            return;
        };
        let Some(root) = root_of(&form) else {
            return;
        };
        let Some(dialog) = dialog_of(&root) else {
            return;
        };
        // The dialog instead of the confirmation page.
        ev.prevent_default();
        let description = match form.get_attribute("data-description") {
            Some(text) => Some(format!("You are about to trigger {text}.")),
            None => match ticked(&root) {
                0 => None,
                1 => Some("You are about to trigger the 1 selected PENDING job.".to_owned()),
                n => Some(format!(
                    "You are about to trigger the {n} selected PENDING jobs."
                )),
            },
        };
        if let Ok(pending) = root.query_selector_all(&format!("[{PENDING}]")) {
            for element in (0..pending.length()).filter_map(|i| pending.item(i)) {
                if let Ok(element) = element.dyn_into::<Element>() {
                    let _ = element.remove_attribute(PENDING);
                }
            }
        }
        let confirm = find(&root, &selector(BulkPart::Confirm));
        match description {
            Some(text) => {
                let _ = form.set_attribute(PENDING, "");
                set_text(&root, BulkPart::Description, &text);
                say(&root, "");
                if let Some(confirm) = &confirm {
                    let _ = confirm.remove_attribute("hidden");
                }
            }
            None => {
                set_text(&root, BulkPart::Description, "");
                say(&root, "Select at least one job first.");
                if let Some(confirm) = &confirm {
                    let _ = confirm.set_attribute("hidden", "");
                }
            }
        }
        let _ = dialog.show_modal();
    }

    pub fn on_click(ev: leptos::ev::MouseEvent) {
        let Some((part, element)) = part_of(&ev) else {
            return;
        };
        let Some(root) = root_of(&element) else {
            return;
        };
        let Some(dialog) = dialog_of(&root) else {
            return;
        };
        match part {
            BulkPart::Cancel => dialog.close(),
            BulkPart::Confirm => {
                // Once, however often it is clicked.
                if element.has_attribute("disabled") {
                    return;
                }
                let Some(form) = find(&root, &format!("form[{PENDING}]"))
                    .and_then(|f| f.dyn_into::<HtmlFormElement>().ok())
                else {
                    return;
                };
                let Some(action) = form.get_attribute("data-final") else {
                    return;
                };
                set_busy(&root, &element);
                form.set_action(&action);
                // A plain form submission: the result page is the answer.
                if form.submit().is_err() {
                    say(
                        &root,
                        "The trigger could not be sent. Reload the page and try again.",
                    );
                }
            }
            BulkPart::Choose | BulkPart::Count | BulkPart::Description => {}
        }
    }

    fn set_busy(root: &Element, confirm: &Element) {
        if let Some(cancel) = find(root, &selector(BulkPart::Cancel)) {
            let _ = cancel.set_attribute("disabled", "");
        }
        let _ = confirm.set_attribute("disabled", "");
        let _ = confirm.set_attribute("aria-busy", "true");
        confirm.set_text_content(Some("Triggering…"));
    }

    fn set_text(root: &Element, part: BulkPart, text: &str) {
        if let Some(element) = find(root, &selector(part)) {
            element.set_text_content(Some(text));
        }
    }

    fn say(root: &Element, message: &str) {
        if let Some(line) = find(root, "dialog .dialog-message") {
            line.set_text_content(Some(message));
        }
    }
}
