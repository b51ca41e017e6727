// Re-embed `migrations/` when a file there changes (sqlx::migrate! reads it at compile time).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
