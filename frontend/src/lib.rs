//! Hydrates the islands on pages rendered by the server. Nothing else runs
//! in the browser.
//!
//! No panic hook: it costs more WASM than the detail page's budget allows,
//! and a panic still surfaces as a console error (`unreachable`), which the
//! end-to-end suite fails on.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Linking `app` registers its islands.
    #[allow(unused_imports)]
    use app::*;
    leptos::mount::hydrate_islands();
}
