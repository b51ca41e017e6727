//! Row writes on collection tables: through sqlx (a transaction, or the writer's sqlx
//! connection), or as one statement on the writer's synchronous connection (`*_now`: no
//! hop to sqlx's thread). Values are stored as `core::record::column_value` decides.

use serde_json::{Map, Value};
use sqlx::SqliteConnection;

use crate::core::collection::Collection;
use crate::core::field::Field;
use crate::core::record;
use crate::store::sql::{Sql, quote};
use crate::store::sync;

/// Inserts a record given as typed values (every column of the collection is written).
pub async fn insert(
    conn: &mut SqliteConnection,
    collection: &Collection,
    data: &Map<String, Value>,
) -> Result<(), sqlx::Error> {
    let mut query = sqlx::query(insert_sql(collection).into_query());
    for field in &collection.fields {
        query = record::bind_value(query, field, data.get(&field.name));
    }
    query.execute(conn).await.map(|_| ())
}

/// [`insert`] on the writer's synchronous connection (outside transactions: one statement,
/// no hop to sqlx's thread).
pub fn insert_now(
    conn: &rusqlite::Connection,
    collection: &Collection,
    data: &Map<String, Value>,
) -> Result<(), sqlx::Error> {
    let values = collection
        .fields
        .iter()
        .map(|field| record::column_value(field, data.get(&field.name)));
    sync::execute(conn, &insert_sql(collection), values)
}

fn insert_sql(collection: &Collection) -> Sql {
    let names: Vec<String> = collection.fields.iter().map(|f| quote(&f.name)).collect();
    let marks = vec!["?"; names.len()].join(", ");
    Sql::trusted(format!(
        "INSERT INTO {} ({}) VALUES ({marks})",
        quote(&collection.name),
        names.join(", ")
    ))
}

/// Updates the given columns of the record with `id`.
pub async fn update(
    conn: &mut SqliteConnection,
    collection: &Collection,
    id: &str,
    data: &Map<String, Value>,
) -> Result<(), sqlx::Error> {
    let Some((sql, fields)) = update_sql(collection, data) else {
        return Ok(());
    };
    let mut query = sqlx::query(sql.into_query());
    for field in fields {
        query = record::bind_value(query, field, data.get(&field.name));
    }
    query.bind(id).execute(conn).await.map(|_| ())
}

/// [`update`] on the writer's synchronous connection (see [`insert_now`]).
pub fn update_now(
    conn: &rusqlite::Connection,
    collection: &Collection,
    id: &str,
    data: &Map<String, Value>,
) -> Result<(), sqlx::Error> {
    let Some((sql, fields)) = update_sql(collection, data) else {
        return Ok(());
    };
    let mut values: Vec<_> = fields
        .into_iter()
        .map(|field| record::column_value(field, data.get(&field.name)))
        .collect();
    values.push(rusqlite::types::Value::Text(id.to_string()));
    sync::execute(conn, &sql, values)
}

/// `UPDATE … SET` the fields present in `data`, and those fields in order; none if no
/// field is present.
fn update_sql<'c>(
    collection: &'c Collection,
    data: &Map<String, Value>,
) -> Option<(Sql, Vec<&'c Field>)> {
    let fields: Vec<&Field> = collection
        .fields
        .iter()
        .filter(|f| data.contains_key(&f.name))
        .collect();
    if fields.is_empty() {
        return None;
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
    Some((sql, fields))
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
