//! `sqlx::migrate!` embeds the migration files at compile time but cannot
//! tell cargo about a new file; this makes adding one rebuild the crate.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
