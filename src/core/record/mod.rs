//! Record values: typed per field from a stored row, bound back per field, and serialized
//! as PocketBase does (§2.2: sorted keys, `collectionId`/`collectionName`, hidden fields out).
//!
//! `input` turns request bodies into values, `validate` checks them, `autogenerate` makes
//! ids and other generated text.

pub mod autogenerate;
pub mod input;
pub mod validate;

use std::collections::BTreeMap;

use rusqlite::types::Value as Column;
use serde_json::{Map, Value, json};
use sqlx::Sqlite;
use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;

use crate::core::collection::Collection;
use crate::core::field::{Field, FieldOptions, number_json};

/// Shapes a raw `json_object` row: booleans from 0/1, JSON columns parsed, NULLs to the
/// field type's zero value.
pub fn from_raw(collection: &Collection, mut raw: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for field in &collection.fields {
        let value = raw.swap_remove(&field.name).unwrap_or(Value::Null);
        out.insert(field.name.clone(), typed_value(field, value));
    }
    out
}

fn typed_value(field: &Field, value: Value) -> Value {
    match &field.options {
        FieldOptions::Bool => {
            json!(matches!(value, Value::Bool(true)) || value.as_f64().is_some_and(|n| n != 0.0))
        }
        FieldOptions::Number { .. } => number_json(value.as_f64().unwrap_or(0.0)),
        FieldOptions::Json { .. } => match value {
            Value::String(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
            other => other,
        },
        FieldOptions::GeoPoint => match value {
            Value::String(text) => {
                serde_json::from_str(&text).unwrap_or_else(|_| json!({"lon": 0, "lat": 0}))
            }
            _ => json!({"lon": 0, "lat": 0}),
        },
        _ if field.is_multiple() => match value {
            Value::String(text) => serde_json::from_str::<Vec<Value>>(&text)
                .map(Value::Array)
                .unwrap_or(json!([])),
            _ => json!([]),
        },
        _ => match value {
            Value::Null => json!(""),
            other => other,
        },
    }
}

/// The column value stored for one typed value of `field` (JSON columns get JSON text).
pub fn column_value(field: &Field, value: Option<&Value>) -> Column {
    let value = value.unwrap_or(&Value::Null);
    match &field.options {
        FieldOptions::Bool => Column::Integer(i64::from(value.as_bool().unwrap_or(false))),
        FieldOptions::Number { .. } => Column::Real(value.as_f64().unwrap_or(0.0)),
        FieldOptions::Json { .. } if value.is_null() => Column::Null,
        FieldOptions::Json { .. } | FieldOptions::GeoPoint => Column::Text(value.to_string()),
        _ if field.is_multiple() => Column::Text(if value.is_array() {
            value.to_string()
        } else {
            "[]".into()
        }),
        _ => Column::Text(value.as_str().unwrap_or_default().to_string()),
    }
}

/// Binds one typed value for its field's column (see `column_value`).
pub fn bind_value<'q>(
    query: Query<'q, Sqlite, SqliteArguments>,
    field: &Field,
    value: Option<&Value>,
) -> Query<'q, Sqlite, SqliteArguments> {
    match column_value(field, value) {
        Column::Null => query.bind(None::<String>),
        Column::Integer(i) => query.bind(i),
        Column::Real(f) => query.bind(f),
        Column::Text(text) => query.bind(text),
        Column::Blob(bytes) => query.bind(bytes),
    }
}

/// What a requester may see of a record (§2.2).
#[derive(Debug, Clone, Copy)]
pub struct Visibility {
    /// Superusers see hidden fields.
    pub hidden: bool,
    /// An auth record's email: superusers, the owner, managers, and auth responses see it;
    /// everyone else only when `emailVisibility` is on.
    pub email: bool,
}

impl Visibility {
    pub const ALL: Visibility = Visibility {
        hidden: true,
        email: true,
    };
}

/// An auth record's `password` and `tokenKey`, which no answer ever shows.
pub fn never_shown(collection: &Collection, field: &crate::core::field::Field) -> bool {
    collection.is_auth() && (field.name == "password" || field.name == "tokenKey")
}

/// The record as the API shows it: sorted keys, hidden fields omitted unless visible, an
/// auth record's `password`/`tokenKey` never, its email per `Visibility`.
pub fn api_json(
    collection: &Collection,
    data: &Map<String, Value>,
    visibility: Visibility,
) -> Value {
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    let email_shown = visibility.email || data.get("emailVisibility") == Some(&Value::Bool(true));
    for field in &collection.fields {
        let never = never_shown(collection, field)
            || (collection.is_auth() && field.name == "email" && !email_shown);
        if never || (field.hidden && !visibility.hidden) {
            continue;
        }
        // A visible password field (e.g. `_otps.password` for superusers) shows as "".
        let value = match field.options {
            FieldOptions::Password { .. } => json!(""),
            _ => data.get(&field.name).cloned().unwrap_or(Value::Null),
        };
        out.insert(field.name.clone(), value);
    }
    out.insert("collectionId".into(), json!(collection.id));
    out.insert("collectionName".into(), json!(collection.name));
    Value::Object(out.into_iter().collect())
}
