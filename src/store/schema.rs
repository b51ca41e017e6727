//! DDL for collections: each base/auth collection is a real table (columns sorted by name,
//! PocketBase's column types), each view collection a real view. Changes are applied on
//! the caller's transaction, so a failing step rolls the whole change back.
//!
//! The update order follows PocketBase's table sync: drop the old indexes, rename the
//! table, drop removed columns, rename columns through temporary names (so swaps work),
//! rebuild columns whose storage changed, add new columns, recreate the indexes.

use sqlx::{Sqlite, SqliteConnection};

use crate::core::collection::Collection;
use crate::core::field::Field;
use crate::core::index::Index;
use crate::store::sql::{Sql, quote};

async fn exec(conn: &mut SqliteConnection, text: String) -> Result<(), sqlx::Error> {
    sqlx::query::<Sqlite>(Sql::trusted(text).into_query())
        .execute(conn)
        .await
        .map(|_| ())
}

/// Creates the table (or view) and the indexes of a new collection.
pub async fn create(
    conn: &mut SqliteConnection,
    collection: &Collection,
) -> Result<(), sqlx::Error> {
    if collection.is_view() {
        return exec(conn, create_view_sql(collection)).await;
    }
    let mut fields: Vec<&Field> = collection.fields.iter().collect();
    fields.sort_by(|a, b| a.name.cmp(&b.name));
    let columns: Vec<String> = fields
        .iter()
        .map(|f| format!("{} {}", quote(&f.name), f.column_type()))
        .collect();
    exec(
        conn,
        format!(
            "CREATE TABLE {} ({})",
            quote(&collection.name),
            columns.join(", ")
        ),
    )
    .await?;
    create_indexes(conn, collection).await
}

/// Applies the difference between the stored `old` and the validated `new` definition.
pub async fn update(
    conn: &mut SqliteConnection,
    old: &Collection,
    new: &Collection,
) -> Result<(), sqlx::Error> {
    if new.is_view() {
        exec(conn, format!("DROP VIEW IF EXISTS {}", quote(&old.name))).await?;
        return exec(conn, create_view_sql(new)).await;
    }
    drop_indexes(conn, old).await?;
    let table = quote(&new.name);
    if old.name != new.name {
        exec(
            conn,
            format!("ALTER TABLE {} RENAME TO {table}", quote(&old.name)),
        )
        .await?;
    }
    for field in old
        .fields
        .iter()
        .filter(|f| !new.fields.iter().any(|n| n.id == f.id))
    {
        exec(
            conn,
            format!("ALTER TABLE {table} DROP COLUMN {}", quote(&field.name)),
        )
        .await?;
    }
    let kept: Vec<(&Field, &Field)> = new
        .fields
        .iter()
        .filter_map(|n| old.fields.iter().find(|o| o.id == n.id).map(|o| (o, n)))
        .collect();
    for (before, after) in kept.iter().filter(|(o, n)| o.name != n.name) {
        let temp = quote(&format!("_tmp_{}", after.id));
        exec(
            conn,
            format!(
                "ALTER TABLE {table} RENAME COLUMN {} TO {temp}",
                quote(&before.name)
            ),
        )
        .await?;
    }
    for (_, after) in kept.iter().filter(|(o, n)| o.name != n.name) {
        let temp = quote(&format!("_tmp_{}", after.id));
        exec(
            conn,
            format!(
                "ALTER TABLE {table} RENAME COLUMN {temp} TO {}",
                quote(&after.name)
            ),
        )
        .await?;
    }
    for (before, after) in kept
        .iter()
        .filter(|(o, n)| o.column_type() != n.column_type())
    {
        rebuild_column(conn, &table, before, after).await?;
    }
    for field in new
        .fields
        .iter()
        .filter(|f| !old.fields.iter().any(|o| o.id == f.id))
    {
        exec(
            conn,
            format!(
                "ALTER TABLE {table} ADD COLUMN {} {}",
                quote(&field.name),
                field.column_type()
            ),
        )
        .await?;
    }
    create_indexes(conn, new).await
}

/// Drops the collection's table or view (its indexes go with it).
pub async fn delete(
    conn: &mut SqliteConnection,
    collection: &Collection,
) -> Result<(), sqlx::Error> {
    let kind = if collection.is_view() {
        "VIEW"
    } else {
        "TABLE"
    };
    exec(
        conn,
        format!("DROP {kind} IF EXISTS {}", quote(&collection.name)),
    )
    .await
}

/// Deletes every row of a collection's table.
pub async fn truncate(
    conn: &mut SqliteConnection,
    collection: &Collection,
) -> Result<(), sqlx::Error> {
    exec(conn, format!("DELETE FROM {}", quote(&collection.name))).await
}

fn create_view_sql(collection: &Collection) -> String {
    format!(
        "CREATE VIEW {} AS {}",
        quote(&collection.name),
        collection.view_query.trim().trim_end_matches(';')
    )
}

async fn create_indexes(
    conn: &mut SqliteConnection,
    collection: &Collection,
) -> Result<(), sqlx::Error> {
    for sql in &collection.indexes {
        // Validation guarantees every entry parses; re-target it at the current table name.
        if let Some(mut index) = Index::parse(sql) {
            index.table = collection.name.clone();
            exec(conn, index.to_sql()).await?;
        }
    }
    Ok(())
}

async fn drop_indexes(
    conn: &mut SqliteConnection,
    collection: &Collection,
) -> Result<(), sqlx::Error> {
    for index in collection
        .indexes
        .iter()
        .filter_map(|sql| Index::parse(sql))
    {
        exec(conn, format!("DROP INDEX IF EXISTS {}", quote(&index.name))).await?;
    }
    Ok(())
}

/// A column whose storage changed (single ↔ multiple value): copy it into a column of the
/// new type, converting each value, then swap the new column in.
async fn rebuild_column(
    conn: &mut SqliteConnection,
    table: &str,
    before: &Field,
    after: &Field,
) -> Result<(), sqlx::Error> {
    let name = quote(&after.name);
    let temp = quote(&format!("_new_{}", after.id));
    exec(
        conn,
        format!(
            "ALTER TABLE {table} ADD COLUMN {temp} {}",
            after.column_type()
        ),
    )
    .await?;
    let converted = match (before.is_multiple(), after.is_multiple()) {
        (false, true) => format!(
            "CASE WHEN COALESCE({name}, '') = '' THEN '[]' \
             WHEN json_valid({name}) AND json_type({name}) = 'array' THEN {name} ELSE json_array({name}) END"
        ),
        (true, false) => format!(
            "CASE WHEN json_valid({name}) AND json_type({name}) = 'array' \
             THEN COALESCE(json_extract({name}, '$[#-1]'), '') ELSE COALESCE({name}, '') END"
        ),
        _ => name.clone(),
    };
    exec(conn, format!("UPDATE {table} SET {temp} = {converted}")).await?;
    exec(conn, format!("ALTER TABLE {table} DROP COLUMN {name}")).await?;
    exec(
        conn,
        format!("ALTER TABLE {table} RENAME COLUMN {temp} TO {name}"),
    )
    .await
}

/// The column names a view query yields, found by creating it as a temporary view in a
/// transaction that is rolled back. `Err` carries SQLite's message.
pub async fn view_columns(
    conn: &mut sqlx::SqliteConnection,
    query: &str,
) -> Result<Vec<String>, String> {
    let mut tx = sqlx::Connection::begin(conn)
        .await
        .map_err(|e| e.to_string())?;
    let probe = format!("CREATE TEMP VIEW `_satchel_view_probe` AS SELECT * FROM ({query})");
    let created = exec(&mut tx, probe).await;
    let columns = match created {
        Ok(()) => sqlx::query_scalar::<_, String>(
            "SELECT name FROM pragma_table_info('_satchel_view_probe', 'temp')",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| sqlite_message(&e)),
        Err(err) => Err(sqlite_message(&err)),
    };
    let _ = tx.rollback().await;
    columns
}

/// SQLite's own message for a failed statement, without sqlx's wrapping.
fn sqlite_message(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    }
}
