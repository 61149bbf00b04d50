pub mod activity_chart;
pub mod badge;
pub mod json_viewer;
pub mod layout;
pub mod time;
pub mod trigger;
