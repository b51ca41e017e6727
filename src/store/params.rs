//! `_params`: PocketBase's key/value table (settings live under id `settings`).

use serde_json::Value;
use sqlx::SqliteExecutor;

use crate::core::datetime;

/// The JSON value stored under `id`, if any (unparseable content counts as missing).
pub async fn get(db: impl SqliteExecutor<'_>, id: &str) -> Result<Option<Value>, sqlx::Error> {
    // PocketBase stores the value as a BLOB; TEXT (a hand-edited row) reads the same way.
    let bytes: Option<Option<Vec<u8>>> =
        sqlx::query_scalar("SELECT value FROM `_params` WHERE id = ?")
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(bytes
        .flatten()
        .and_then(|b| serde_json::from_slice(&b).ok()))
}

/// Stores `value` under `id` as a BLOB (as PocketBase does), keeping the row's `created`.
pub async fn set(db: impl SqliteExecutor<'_>, id: &str, value: &Value) -> Result<(), sqlx::Error> {
    let now = datetime::now();
    sqlx::query(
        "INSERT INTO `_params` (id, value, created, updated) VALUES (?, ?, ?, ?) \
         ON CONFLICT(id) DO UPDATE SET value = excluded.value, updated = excluded.updated",
    )
    .bind(id)
    .bind(value.to_string().into_bytes())
    .bind(&now)
    .bind(&now)
    .execute(db)
    .await
    .map(|_| ())
}
