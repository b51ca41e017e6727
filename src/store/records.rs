//! Row-level queries on collection tables. Rows come back as one `json_object(...)` text
//! per row (no per-column decoding), shaped into typed values by `core::record`. Filters
//! arrive as `SqlExpr`s from the filter module, written against the row alias `_r`.
//!
//! The hot reads (`find_*`, `page*`) run on the synchronous `read::Readers`; the rest goes
//! through sqlx (the async reader pool). The writes are in `write`.

use serde_json::{Map, Value};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Row, Sqlite, SqliteConnection, SqlitePool};

use crate::core::collection::Collection;
use crate::core::field::{Field, FieldOptions};
use crate::core::record::{self, Visibility};
use crate::filter::sql::{Param, SqlExpr};
use crate::store::Db;
use crate::store::read::{self, Readers};
use crate::store::sql::{Sql, quote};

mod write;

pub use write::{delete, insert, insert_now, update, update_now};

/// The alias filter expressions use for the row being filtered.
pub const ROW_ALIAS: &str = "_r";

pub(crate) type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments>;

/// `json_object('a', _r.a, …)` over every field of the collection.
fn json_columns(collection: &Collection) -> String {
    let pairs: Vec<String> = collection
        .fields
        .iter()
        .map(|f| format!("'{}', `{ROW_ALIAS}`.{}", f.name, quote(&f.name)))
        .collect();
    format!("json_object({})", pairs.join(", "))
}

fn select_sql(collection: &Collection, condition: &str, tail: &str) -> Sql {
    Sql::trusted(format!(
        "SELECT {} AS data FROM {} AS `{ROW_ALIAS}` WHERE {condition}{tail}",
        json_columns(collection),
        quote(&collection.name)
    ))
}

/// Binds a filter's `?` values to a sqlx query, in order.
pub(crate) fn bind_params<'q>(mut query: Query<'q>, params: &[Param]) -> Query<'q> {
    for param in params {
        query = match param {
            Param::Null => query.bind(None::<String>),
            Param::Integer(i) => query.bind(*i),
            Param::Real(f) => query.bind(*f),
            Param::Text(t) => query.bind(t.clone()),
        };
    }
    query
}

fn decode(collection: &Collection, row: &SqliteRow) -> Result<Map<String, Value>, sqlx::Error> {
    let text: String = row.try_get("data")?;
    let raw: Map<String, Value> = serde_json::from_str(&text).unwrap_or_default();
    Ok(record::from_raw(collection, raw))
}

/// The record with `id`, if any.
pub async fn find_by_id(
    readers: &Readers,
    collection: &Collection,
    id: &str,
) -> Result<Option<Map<String, Value>>, sqlx::Error> {
    find_by_field(readers, collection, "id", id).await
}

/// The first record whose `field` (a field of `collection`) equals `value`.
pub async fn find_by_field(
    readers: &Readers,
    collection: &Collection,
    field: &str,
    value: &str,
) -> Result<Option<Map<String, Value>>, sqlx::Error> {
    if collection.field(field).is_none() {
        return Ok(None);
    }
    let sql = select_sql(
        collection,
        &format!("`{ROW_ALIAS}`.{} = ?", quote(field)),
        " LIMIT 1",
    );
    read_one(
        readers,
        collection,
        sql,
        vec![rusqlite::types::Value::Text(value.to_string())],
    )
}

/// The first row of a `select_sql` query on the synchronous readers, typed.
fn read_one(
    readers: &Readers,
    collection: &Collection,
    sql: Sql,
    values: Vec<rusqlite::types::Value>,
) -> Result<Option<Map<String, Value>>, sqlx::Error> {
    let text = read_text(readers, sql.as_str(), values)?;
    Ok(text.map(|t| record::from_raw(collection, serde_json::from_str(&t).unwrap_or_default())))
}

/// The first column of the first row, as text.
fn read_text(
    readers: &Readers,
    sql: &str,
    values: Vec<rusqlite::types::Value>,
) -> Result<Option<String>, sqlx::Error> {
    readers.with(|conn| {
        let mut statement = conn.prepare_cached(sql)?;
        let mut rows = statement.query(rusqlite::params_from_iter(values))?;
        rows.next()?.map(|row| row.get(0)).transpose()
    })
}

/// The record `id` if it matches `filter`, already serialized as the API's JSON (the view
/// fast path, as `page_api_json` is the list's).
pub fn find_api_json(
    readers: &Readers,
    collection: &Collection,
    visibility: Visibility,
    viewer: Option<&str>,
    id: &str,
    filter: &SqlExpr,
) -> Result<Option<String>, sqlx::Error> {
    let row = api_json_sql(collection, visibility, viewer);
    let sql = format!(
        "SELECT {} FROM {} AS `{ROW_ALIAS}` WHERE `{ROW_ALIAS}`.`id` = ? AND ({}) LIMIT 1",
        row.sql,
        quote(&collection.name),
        filter.sql
    );
    let mut values = read::values(&row.params);
    values.push(rusqlite::types::Value::Text(id.to_string()));
    values.extend(read::values(&filter.params));
    read_text(readers, &sql, values)
}

/// One page of records matching `filter` in `order` (insertion order when empty), and the
/// total count unless `with_total` is false.
///
/// Everything comes back as ONE row: sqlx's SQLite driver hands each row from its worker
/// thread over a channel with a thread wake-up, which dominated the list profile, so
/// SQLite aggregates the page into a JSON array itself. The subquery's `ORDER BY … LIMIT`
/// is evaluated before the aggregate, which keeps the order.
pub async fn page(
    readers: &Readers,
    collection: &Collection,
    filter: &SqlExpr,
    order: &SqlExpr,
    limit: i64,
    offset: i64,
    with_total: bool,
) -> Result<(Vec<Map<String, Value>>, Option<i64>), sqlx::Error> {
    let row = SqlExpr {
        sql: json_columns(collection),
        params: Vec::new(),
    };
    let (items, total) = page_text(
        readers,
        collection,
        &row,
        filter,
        order,
        (limit, offset),
        with_total,
    )
    .await?;
    let raw: Vec<Map<String, Value>> = serde_json::from_str(&items).unwrap_or_default();
    Ok((
        raw.into_iter()
            .map(|r| record::from_raw(collection, r))
            .collect(),
        total,
    ))
}

/// The same page as `page`, already serialized as the API's JSON array (the list fast path:
/// no decoding, shaping or re-encoding in Rust). `viewer` is the requesting auth record's id
/// (it sees its own email).
#[allow(clippy::too_many_arguments)]
pub async fn page_api_json(
    readers: &Readers,
    collection: &Collection,
    visibility: Visibility,
    viewer: Option<&str>,
    filter: &SqlExpr,
    order: &SqlExpr,
    window: (i64, i64),
    with_total: bool,
) -> Result<(String, Option<i64>), sqlx::Error> {
    let row = api_json_sql(collection, visibility, viewer);
    page_text(readers, collection, &row, filter, order, window, with_total).await
}

async fn page_text(
    readers: &Readers,
    collection: &Collection,
    row: &SqlExpr,
    filter: &SqlExpr,
    order: &SqlExpr,
    (limit, offset): (i64, i64),
    with_total: bool,
) -> Result<(String, Option<i64>), sqlx::Error> {
    let table = quote(&collection.name);
    let order_sql = if order.sql.is_empty() {
        String::new()
    } else {
        format!(" ORDER BY {}", order.sql)
    };
    let total_sql = if with_total {
        format!(
            "(SELECT COUNT(*) FROM {table} AS `{ROW_ALIAS}` WHERE ({}))",
            filter.sql
        )
    } else {
        "NULL".to_string()
    };
    // With an order, the page is picked by rowid first and only its rows are serialized:
    // otherwise SQLite builds the JSON of every matching row before sorting. A view has no
    // rowid, and without an order the LIMIT already stops the scan.
    let rows = if order_sql.is_empty() || collection.is_view() {
        format!(
            "SELECT {} AS data FROM {table} AS `{ROW_ALIAS}` WHERE ({}){order_sql} LIMIT ? OFFSET ?",
            row.sql, filter.sql
        )
    } else {
        format!(
            "SELECT {} AS data FROM (SELECT `{ROW_ALIAS}`.rowid AS `_k` FROM {table} AS `{ROW_ALIAS}` \
             WHERE ({}){order_sql} LIMIT ? OFFSET ?) AS `_p` CROSS JOIN {table} AS `{ROW_ALIAS}` \
             ON `{ROW_ALIAS}`.rowid = `_p`.`_k`",
            row.sql, filter.sql
        )
    };
    // Each row already is a JSON object's text: joined, not parsed again into an array.
    let sql = format!(
        "SELECT '[' || COALESCE((SELECT group_concat(data, ',') FROM ({rows})), '') || ']' AS items, \
         {total_sql} AS total"
    );
    let mut values = read::values(&row.params);
    values.extend(read::values(&filter.params));
    values.extend(read::values(&order.params));
    values.push(rusqlite::types::Value::Integer(limit));
    values.push(rusqlite::types::Value::Integer(offset));
    if with_total {
        values.extend(read::values(&filter.params));
    }
    readers.with(|conn| {
        let mut statement = conn.prepare_cached(&sql)?;
        statement.query_row(rusqlite::params_from_iter(values), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
    })
}

/// SQL producing a record's API JSON exactly as `core::record::api_json` does (sorted keys,
/// typed values, hidden fields and `password`/`tokenKey` out, an auth record's email only
/// when visible); `tests` below hold the two to the same output.
///
/// The text depends only on the collection and the visibility, and is cached with the
/// collection (`Collection::sql_cache`; building it was ~5 µs of a ~60 µs view).
fn api_json_sql(collection: &Collection, visibility: Visibility, viewer: Option<&str>) -> SqlExpr {
    let slot = usize::from(visibility.hidden) * 2 + usize::from(visibility.email);
    let sql = collection.sql_cache.api_json[slot]
        .get_or_init(|| api_json_text(collection, visibility))
        .clone();
    let params = if email_by_row(collection, visibility) {
        vec![viewer.map_or(Param::Null, |v| Param::Text(v.to_string()))]
    } else {
        Vec::new()
    };
    SqlExpr { sql, params }
}

/// Whether the email's visibility is decided per row (`emailVisibility`, or the viewer's
/// own record: the one `?` of `api_json_text`).
fn email_by_row(collection: &Collection, visibility: Visibility) -> bool {
    collection.is_auth() && !visibility.email && collection.field("email").is_some()
}

fn api_json_text(collection: &Collection, visibility: Visibility) -> String {
    let mut entries: Vec<(String, String)> = vec![
        (
            "collectionId".into(),
            format!("'{}'", collection.id.replace('\'', "''")),
        ),
        (
            "collectionName".into(),
            format!("'{}'", collection.name.replace('\'', "''")),
        ),
    ];
    for field in &collection.fields {
        if record::never_shown(collection, field) || (field.hidden && !visibility.hidden) {
            continue;
        }
        let column = format!("`{ROW_ALIAS}`.{}", quote(&field.name));
        let value = match &field.options {
            FieldOptions::Password { .. } => "''".to_string(),
            FieldOptions::Bool => format!("json(CASE WHEN {column} THEN 'true' ELSE 'false' END)"),
            FieldOptions::Number { .. } => format!("COALESCE({column}, 0)"),
            FieldOptions::Json { .. } => {
                format!("CASE WHEN json_valid({column}) THEN json({column}) END")
            }
            FieldOptions::GeoPoint => {
                format!(
                    "CASE WHEN json_valid({column}) THEN json({column}) ELSE json('{{\"lon\":0,\"lat\":0}}') END"
                )
            }
            _ if field.is_multiple() => {
                format!("CASE WHEN json_valid({column}) THEN json({column}) ELSE json('[]') END")
            }
            _ => format!("COALESCE({column}, '')"),
        };
        entries.push((field.name.clone(), value));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let pairs: Vec<String> = entries.iter().map(|(k, v)| format!("'{k}', {v}")).collect();
    let object = format!("json_object({})", pairs.join(", "));
    if !email_by_row(collection, visibility) {
        return object;
    }
    let shown = format!("`{ROW_ALIAS}`.`emailVisibility` OR `{ROW_ALIAS}`.`id` = ?");
    format!("json_remove({object}, CASE WHEN {shown} THEN '$.__none' ELSE '$.email' END)")
}

/// The records matching `filter` in `order` (`limit` < 0: all), read where `db` says: a
/// transaction sees its own writes (`$app` bound to a transaction in hooks).
pub async fn find_all(
    db: Db<'_>,
    collection: &Collection,
    filter: &SqlExpr,
    order: &SqlExpr,
    limit: i64,
    offset: i64,
) -> Result<Vec<Map<String, Value>>, sqlx::Error> {
    let tx = match db {
        Db::Shared(store) => {
            return page(&store.read, collection, filter, order, limit, offset, false)
                .await
                .map(|(items, _)| items);
        }
        Db::Tx(tx) => tx,
    };
    let order_sql = if order.sql.is_empty() {
        String::new()
    } else {
        format!(" ORDER BY {}", order.sql)
    };
    let sql = select_sql(
        collection,
        &format!("({})", filter.sql),
        &format!("{order_sql} LIMIT ? OFFSET ?"),
    );
    let mut params = filter.params.clone();
    params.extend(order.params.iter().cloned());
    let query = bind_params(sqlx::query(sql.into_query()), &params)
        .bind(limit)
        .bind(offset);
    let rows = query.fetch_all(&mut **tx.lock().await).await?;
    rows.iter().map(|row| decode(collection, row)).collect()
}

/// The record `id` if it also matches `filter`.
pub async fn find_matching(
    db: Db<'_>,
    collection: &Collection,
    id: &str,
    filter: &SqlExpr,
) -> Result<Option<Map<String, Value>>, sqlx::Error> {
    let sql = select_sql(
        collection,
        &format!("`{ROW_ALIAS}`.`id` = ? AND ({})", filter.sql),
        " LIMIT 1",
    );
    match db {
        Db::Shared(store) => {
            let mut values = vec![rusqlite::types::Value::Text(id.to_string())];
            values.extend(read::values(&filter.params));
            read_one(&store.read, collection, sql, values)
        }
        Db::Tx(tx) => {
            let query = bind_params(
                sqlx::query(sql.into_query()).bind(id.to_string()),
                &filter.params,
            );
            let row = query.fetch_optional(&mut **tx.lock().await).await?;
            row.map(|row| decode(collection, &row)).transpose()
        }
    }
}

/// Whether a would-be record (not stored yet) satisfies `filter`: its values are bound as a
/// one-row subquery under the row alias (how PocketBase checks a createRule, §2.3).
pub async fn would_match(
    db: Db<'_>,
    collection: &Collection,
    values: &Map<String, Value>,
    filter: &SqlExpr,
) -> Result<bool, sqlx::Error> {
    let columns: Vec<String> = collection
        .fields
        .iter()
        .map(|f| format!("? AS {}", quote(&f.name)))
        .collect();
    let sql = Sql::trusted(format!(
        "SELECT COUNT(*) FROM (SELECT {}) AS `{ROW_ALIAS}` WHERE ({})",
        columns.join(", "),
        filter.sql
    ));
    let mut query = sqlx::query(sql.into_query());
    for field in &collection.fields {
        query = record::bind_value(query, field, values.get(&field.name));
    }
    let query = bind_params(query, &filter.params);
    let row = match db {
        Db::Shared(store) => query.fetch_one(&store.reader).await?,
        Db::Tx(tx) => query.fetch_one(&mut **tx.lock().await).await?,
    };
    Ok(row.try_get::<i64, _>(0)? > 0)
}

/// How many of `ids` exist in the collection.
pub async fn count_ids(
    db: Db<'_>,
    collection: &Collection,
    ids: &[String],
) -> Result<i64, sqlx::Error> {
    let marks = vec!["?"; ids.len()].join(", ");
    let sql = Sql::trusted(format!(
        "SELECT COUNT(*) FROM {} WHERE `id` IN ({marks})",
        quote(&collection.name)
    ));
    let mut query = sqlx::query(sql.into_query());
    for id in ids {
        query = query.bind(id.clone());
    }
    let row = match db {
        Db::Shared(store) => query.fetch_one(&store.reader).await?,
        Db::Tx(tx) => query.fetch_one(&mut **tx.lock().await).await?,
    };
    row.try_get(0)
}

/// Records of `collection` whose relation `field` holds `id`.
pub async fn referencing(
    conn: &mut SqliteConnection,
    collection: &Collection,
    field: &Field,
    id: &str,
) -> Result<Vec<Map<String, Value>>, sqlx::Error> {
    let column = format!("`{ROW_ALIAS}`.{}", quote(&field.name));
    let condition = if field.is_multiple() {
        format!(
            "EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid({column}) THEN {column} ELSE '[]' END) WHERE value = ?)"
        )
    } else {
        format!("{column} = ?")
    };
    let sql = select_sql(collection, &condition, "");
    let rows = sqlx::query(sql.into_query())
        .bind(id.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter().map(|row| decode(collection, row)).collect()
}

/// The records with these ids that also match `filter`.
pub async fn by_ids(
    pool: &SqlitePool,
    collection: &Collection,
    ids: &[String],
    filter: &SqlExpr,
) -> Result<Vec<Map<String, Value>>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; ids.len()].join(", ");
    let sql = select_sql(
        collection,
        &format!("`{ROW_ALIAS}`.`id` IN ({marks}) AND ({})", filter.sql),
        "",
    );
    let mut query = sqlx::query(sql.into_query());
    for id in ids {
        query = query.bind(id.clone());
    }
    let rows = bind_params(query, &filter.params).fetch_all(pool).await?;
    rows.iter().map(|row| decode(collection, row)).collect()
}

/// Records whose relation `field` holds any of `ids` and that match `filter`, at most
/// `limit` (back-relation expands).
pub async fn by_reference(
    pool: &SqlitePool,
    collection: &Collection,
    field: &Field,
    ids: &[String],
    filter: &SqlExpr,
    limit: i64,
) -> Result<Vec<Map<String, Value>>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; ids.len()].join(", ");
    let column = format!("`{ROW_ALIAS}`.{}", quote(&field.name));
    let condition = if field.is_multiple() {
        format!(
            "EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid({column}) THEN {column} ELSE '[]' END) \
             WHERE value IN ({marks}))"
        )
    } else {
        format!("{column} IN ({marks})")
    };
    let sql = select_sql(
        collection,
        &format!("{condition} AND ({})", filter.sql),
        " LIMIT ?",
    );
    let mut query = sqlx::query(sql.into_query());
    for id in ids {
        query = query.bind(id.clone());
    }
    let rows = bind_params(query, &filter.params)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(|row| decode(collection, row)).collect()
}
