//! Row-level queries on collection tables. Rows come back as one `json_object(...)` text
//! per row (no per-column decoding), shaped into typed values by `core::record`.

use serde_json::{Map, Value};
use sqlx::{Row, SqliteConnection, SqlitePool};

use crate::core::collection::Collection;
use crate::core::record;
use crate::store::sql::{Sql, quote};

fn select_sql(collection: &Collection, condition: &str) -> Sql {
    let pairs: Vec<String> = collection
        .fields
        .iter()
        .map(|f| format!("'{}', {}", f.name, quote(&f.name)))
        .collect();
    Sql::trusted(format!(
        "SELECT json_object({}) AS data FROM {} WHERE {condition} LIMIT 1",
        pairs.join(", "),
        quote(&collection.name)
    ))
}

/// The record with `id`, if any.
pub async fn find_by_id(
    pool: &SqlitePool,
    collection: &Collection,
    id: &str,
) -> Result<Option<Map<String, Value>>, sqlx::Error> {
    find_by_field(pool, collection, "id", id).await
}

/// The first record whose `field` (a field of `collection`) equals `value`.
pub async fn find_by_field(
    pool: &SqlitePool,
    collection: &Collection,
    field: &str,
    value: &str,
) -> Result<Option<Map<String, Value>>, sqlx::Error> {
    if collection.field(field).is_none() {
        return Ok(None);
    }
    let sql = select_sql(collection, &format!("{} = ?", quote(field)));
    let row = sqlx::query(sql.into_query())
        .bind(value)
        .fetch_optional(pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let text: String = row.try_get("data")?;
    let raw: Map<String, Value> = serde_json::from_str(&text).unwrap_or_default();
    Ok(Some(record::from_raw(collection, raw)))
}

/// Inserts a record given as typed values (every column of the collection is written).
pub async fn insert(
    conn: &mut SqliteConnection,
    collection: &Collection,
    data: &Map<String, Value>,
) -> Result<(), sqlx::Error> {
    let names: Vec<String> = collection.fields.iter().map(|f| quote(&f.name)).collect();
    let marks = vec!["?"; names.len()].join(", ");
    let sql = Sql::trusted(format!(
        "INSERT INTO {} ({}) VALUES ({marks})",
        quote(&collection.name),
        names.join(", ")
    ));
    let mut query = sqlx::query(sql.into_query());
    for field in &collection.fields {
        query = record::bind_value(query, field, data.get(&field.name));
    }
    query.execute(conn).await.map(|_| ())
}

/// Updates the given columns of the record with `id`.
pub async fn update(
    conn: &mut SqliteConnection,
    collection: &Collection,
    id: &str,
    data: &Map<String, Value>,
) -> Result<(), sqlx::Error> {
    let fields: Vec<_> = collection
        .fields
        .iter()
        .filter(|f| data.contains_key(&f.name))
        .collect();
    if fields.is_empty() {
        return Ok(());
    }
    let sets: Vec<String> = fields
        .iter()
        .map(|f| format!("{} = ?", quote(&f.name)))
        .collect();
    let sql = Sql::trusted(format!(
        "UPDATE {} SET {} WHERE `id` = ?",
        quote(&collection.name),
        sets.join(", ")
    ));
    let mut query = sqlx::query(sql.into_query());
    for field in fields {
        query = record::bind_value(query, field, data.get(&field.name));
    }
    query.bind(id).execute(conn).await.map(|_| ())
}

pub async fn delete(
    conn: &mut SqliteConnection,
    collection: &Collection,
    id: &str,
) -> Result<u64, sqlx::Error> {
    let sql = Sql::trusted(format!(
        "DELETE FROM {} WHERE `id` = ?",
        quote(&collection.name)
    ));
    sqlx::query(sql.into_query())
        .bind(id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected())
}
