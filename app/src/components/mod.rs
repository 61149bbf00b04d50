pub mod activity_chart;
pub mod badge;
pub mod bulk_trigger;
pub mod json_viewer;
pub mod layout;
pub mod listing;
pub mod time;
pub mod trigger;
