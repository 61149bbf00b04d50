//! The keyboard shortcuts: the `?` dialog that lists them and the footer
//! link that opens it. The dialog's rows are also what the page script
//! (`page.js`) binds: each carries its keys and what it does, so the list
//! an admin reads is the list that runs.

use leptos::prelude::*;

/// The `id` of a listing page's filter form (jobs, audit), whose first
/// text field `/` focuses.
pub const FILTERS_FORM_ID: &str = "filters";
/// The `id` of the list page's "Go to job" field.
pub const GOTO_FIELD_ID: &str = "goto";

/// What a shortcut does, as `data-action` names it for the page script.
/// None of them submits a form or changes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShortcutAction {
    /// Focus a field on this page, else go to the page that has it.
    Focus {
        selector: &'static str,
        fallback: &'static str,
    },
    /// Go to a page.
    Go(&'static str),
    RowNext,
    RowPrevious,
    /// Follow the highlighted row's link.
    RowOpen,
    Help,
}

impl ShortcutAction {
    fn name(self) -> &'static str {
        match self {
            ShortcutAction::Focus { .. } => "focus",
            ShortcutAction::Go(_) => "go",
            ShortcutAction::RowNext => "row-next",
            ShortcutAction::RowPrevious => "row-previous",
            ShortcutAction::RowOpen => "row-open",
            ShortcutAction::Help => "help",
        }
    }
}

/// A shortcut: its keys as `KeyboardEvent.key` names them (a space
/// between the two keys of a sequence), what it does, and how to say it.
pub struct Shortcut {
    pub keys: &'static str,
    pub action: ShortcutAction,
    pub description: &'static str,
}

const FILTER_FIELD: &str = "#filters input[type=text]";
const GOTO_FIELD: &str = "#goto";

/// Every shortcut, in the order the dialog lists them.
pub static SHORTCUTS: [Shortcut; 8] = [
    Shortcut {
        keys: "/",
        action: ShortcutAction::Focus {
            selector: FILTER_FIELD,
            fallback: "/admin/regeneration-jobs#filters",
        },
        description: "Focus the filter field",
    },
    Shortcut {
        keys: "g i",
        action: ShortcutAction::Focus {
            selector: GOTO_FIELD,
            fallback: "/admin/regeneration-jobs#goto",
        },
        description: "Go to a job by its id",
    },
    Shortcut {
        keys: "g l",
        action: ShortcutAction::Go("/admin/regeneration-jobs"),
        description: "Go to the job list",
    },
    Shortcut {
        keys: "g a",
        action: ShortcutAction::Go("/admin/audit"),
        description: "Go to the audit log",
    },
    Shortcut {
        keys: "j",
        action: ShortcutAction::RowNext,
        description: "Highlight the next row of a list",
    },
    Shortcut {
        keys: "k",
        action: ShortcutAction::RowPrevious,
        description: "Highlight the previous row of a list",
    },
    Shortcut {
        keys: "Enter",
        action: ShortcutAction::RowOpen,
        description: "Open the highlighted row",
    },
    Shortcut {
        keys: "?",
        action: ShortcutAction::Help,
        description: "Show this list",
    },
];

#[component]
fn ShortcutRow(shortcut: &'static Shortcut) -> impl IntoView {
    let (focus, href) = match shortcut.action {
        ShortcutAction::Focus { selector, fallback } => (Some(selector), Some(fallback)),
        ShortcutAction::Go(href) => (None, Some(href)),
        _ => (None, None),
    };
    let keys = shortcut
        .keys
        .split(' ')
        .enumerate()
        .map(|(i, key)| {
            let then = (i > 0).then_some(" then ");
            view! { {then}<kbd>{key}</kbd> }
        })
        .collect_view();
    view! {
        <tr data-keys=shortcut.keys data-action=shortcut.action.name() data-focus=focus data-href=href>
            <th scope="row">{keys}</th>
            <td>{shortcut.description}</td>
        </tr>
    }
}

/// The `?` dialog. Closed until the page script opens it (`showModal`);
/// without JavaScript there are no shortcuts, and it stays closed.
#[component]
pub fn ShortcutsHelp(enabled: bool) -> impl IntoView {
    let rows = SHORTCUTS
        .iter()
        .map(|shortcut| view! { <ShortcutRow shortcut/> })
        .collect_view();
    let state = if enabled {
        view! {
            <p class="hint">"Ignored while typing in a field. You can turn them off on your "
                <a href="/admin/account#preferences">"account page"</a>"."</p>
        }
        .into_any()
    } else {
        view! {
            <p class="notice warning">"Keyboard shortcuts are off for your account. Turn them on on your "
                <a href="/admin/account#preferences">"account page"</a>"."</p>
        }
        .into_any()
    };
    view! {
        <dialog id="keyboard-shortcuts" class="shortcuts-dialog" aria-labelledby="keyboard-shortcuts-heading">
            <h2 id="keyboard-shortcuts-heading">"Keyboard shortcuts"</h2>
            {state}
            <table class="shortcuts">
                <thead><tr><th scope="col">"Keys"</th><th scope="col">"Does"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <button type="button" data-close="" autofocus>"Close"</button>
        </dialog>
    }
}

/// The footer's link to the dialog: hidden until the page script, which
/// opens the dialog, is running.
#[component]
pub fn ShortcutsLink() -> impl IntoView {
    view! { <a href="#keyboard-shortcuts" class="shortcuts-link" hidden>"Keyboard shortcuts"</a> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_focus_shortcuts_name_the_ids_the_pages_give_their_fields() {
        assert_eq!(FILTER_FIELD, format!("#{FILTERS_FORM_ID} input[type=text]"));
        assert_eq!(GOTO_FIELD, format!("#{GOTO_FIELD_ID}"));
        for shortcut in &SHORTCUTS {
            if let ShortcutAction::Focus { selector, fallback } = shortcut.action {
                let id = selector.trim_start_matches('#').split(' ').next().unwrap();
                assert!(fallback.ends_with(&format!("#{id}")), "{}", shortcut.keys);
            }
        }
    }

    #[test]
    fn every_key_sequence_is_bound_once_and_no_single_key_starts_a_sequence() {
        for (i, a) in SHORTCUTS.iter().enumerate() {
            for b in &SHORTCUTS[i + 1..] {
                assert_ne!(a.keys, b.keys);
                let prefix = b.keys.split(' ').next().unwrap();
                assert!(!(b.keys.contains(' ') && a.keys == prefix), "{}", a.keys);
                let prefix = a.keys.split(' ').next().unwrap();
                assert!(!(a.keys.contains(' ') && b.keys == prefix), "{}", b.keys);
            }
        }
    }
}
