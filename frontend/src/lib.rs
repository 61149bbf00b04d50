//! Hydrates the islands on pages rendered by the server. Nothing else runs
//! in the browser.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Linking `app` registers its islands.
    #[allow(unused_imports)]
    use app::*;
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
