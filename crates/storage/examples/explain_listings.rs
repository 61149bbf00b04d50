//! Prints the database's plan for one page of every documented filter shape:
//! how the listing indexes were chosen and are checked at scale.
//!
//! `cargo run --release -p regen-storage --features testing --example explain_listings -- DATABASE_URL`
//!
//! SQLite prints `EXPLAIN QUERY PLAN`; PostgreSQL prints `EXPLAIN (ANALYZE,
//! BUFFERS)`, which runs each query. Markdown on stdout.

use regen_storage::{Store, StoreOptions};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .ok_or("usage: explain_listings DATABASE_URL")?;
    let store = Store::connect(&url, &StoreOptions::default()).await?;
    for (shape, filter) in regen_storage::testing::documented_filter_shapes() {
        // Once to warm the cache, then the plan that is printed.
        store.explain_list_jobs(&filter, 50).await?;
        let started = std::time::Instant::now();
        let plan = store.explain_list_jobs(&filter, 50).await?;
        let took = started.elapsed();
        println!(
            "**{shape}** ({:.1} ms to plan and explain)\n",
            took.as_secs_f64() * 1000.0
        );
        println!("```\n{}\n```\n", plan.join("\n"));
    }
    Ok(())
}
