//! `_params`: PocketBase's key/value table (settings live under id `settings`).

use serde_json::Value;
use sqlx::SqlitePool;

use crate::core::datetime;

/// The JSON value stored under `id`, if any (unparseable text counts as missing).
pub async fn get(pool: &SqlitePool, id: &str) -> Result<Option<Value>, sqlx::Error> {
    let text: Option<Option<String>> =
        sqlx::query_scalar("SELECT value FROM `_params` WHERE id = ?")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(text.flatten().and_then(|t| serde_json::from_str(&t).ok()))
}

/// Stores `value` under `id`, keeping the row's `created`.
pub async fn set(pool: &SqlitePool, id: &str, value: &Value) -> Result<(), sqlx::Error> {
    let now = datetime::now();
    sqlx::query(
        "INSERT INTO `_params` (id, value, created, updated) VALUES (?, ?, ?, ?) \
         ON CONFLICT(id) DO UPDATE SET value = excluded.value, updated = excluded.updated",
    )
    .bind(id)
    .bind(value.to_string())
    .bind(&now)
    .bind(&now)
    .execute(pool)
    .await
    .map(|_| ())
}
