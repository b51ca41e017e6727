//! Queries on `_collections`: PocketBase's row layout (fields, indexes and options as JSON
//! text, rules as nullable text).

use std::sync::Arc;

use serde_json::{Value, json};
use sqlx::{Row, SqliteConnection, SqlitePool};

use crate::core::collection::Collection;

macro_rules! columns {
    () => {
        "id, system, type, name, fields, indexes, listRule, viewRule, createRule, updateRule, deleteRule, options, \
         created, updated"
    };
}

/// Every collection, in creation order. A row that cannot be read is skipped and logged.
pub async fn load_all(pool: &SqlitePool) -> Result<Vec<Arc<Collection>>, sqlx::Error> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM `_collections` ORDER BY created, rowid"
    );
    let rows = sqlx::query(sql).fetch_all(pool).await?;
    let mut collections = Vec::with_capacity(rows.len());
    for row in rows {
        // JSON columns may hold TEXT or BLOB; a value that does not parse makes the whole
        // row unreadable rather than silently empty.
        let parse = |column: &str| -> Option<Value> {
            let bytes: Vec<u8> = row.try_get(column).ok()?;
            serde_json::from_slice(&bytes).ok()
        };
        let id: String = row.try_get("id")?;
        let (Some(fields), Some(indexes), Some(options)) =
            (parse("fields"), parse("indexes"), parse("options"))
        else {
            tracing::error!(%id, "collection row with unreadable JSON skipped");
            continue;
        };
        let value = json!({
            "id": id,
            "system": row.try_get::<bool, _>("system")?,
            "type": row.try_get::<String, _>("type")?,
            "name": row.try_get::<String, _>("name")?,
            "fields": fields,
            "indexes": indexes,
            "listRule": row.try_get::<Option<String>, _>("listRule")?,
            "viewRule": row.try_get::<Option<String>, _>("viewRule")?,
            "createRule": row.try_get::<Option<String>, _>("createRule")?,
            "updateRule": row.try_get::<Option<String>, _>("updateRule")?,
            "deleteRule": row.try_get::<Option<String>, _>("deleteRule")?,
            "viewQuery": options.get("viewQuery").cloned().unwrap_or(Value::Null),
            "options": options,
            "created": row.try_get::<String, _>("created")?,
            "updated": row.try_get::<String, _>("updated")?,
        });
        match Collection::from_json(&value) {
            Ok(collection) => collections.push(Arc::new(collection)),
            Err(_) => tracing::error!(id = %value["id"], "unreadable collection row skipped"),
        }
    }
    Ok(collections)
}

/// Inserts or replaces the row of `collection`.
pub async fn save(conn: &mut SqliteConnection, collection: &Collection) -> Result<(), sqlx::Error> {
    let sql = concat!(
        "INSERT OR REPLACE INTO `_collections` (",
        columns!(),
        ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    );
    sqlx::query(sql)
        .bind(&collection.id)
        .bind(collection.system)
        .bind(collection.kind.as_str())
        .bind(&collection.name)
        .bind(collection.fields_json().to_string())
        .bind(json!(collection.indexes).to_string())
        .bind(&collection.list_rule)
        .bind(&collection.view_rule)
        .bind(&collection.create_rule)
        .bind(&collection.update_rule)
        .bind(&collection.delete_rule)
        .bind(collection.options_json().to_string())
        .bind(&collection.created)
        .bind(&collection.updated)
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn delete(conn: &mut SqliteConnection, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM `_collections` WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await
        .map(|_| ())
}
