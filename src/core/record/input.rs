//! Turning a request body into record values (pocketbase-surface.md §2.3): casting per
//! field type the way PocketBase does (`"12.5"` → 12.5, `"abc"` → 0, a string → `[x]` for
//! multi values, the last item for single ones), the `+`/`-` modifiers, `:autogenerate`,
//! and the server-owned values (ids, autodates, token keys).

use serde_json::{Map, Value, json};

use crate::core::collection::Collection;
use crate::core::datetime;
use crate::core::field::{Field, FieldOptions, number_json};
use crate::core::record::autogenerate;

/// Who is writing, as far as input handling cares.
#[derive(Debug, Clone, Copy)]
pub struct Writer {
    /// Superusers may set hidden fields.
    pub superuser: bool,
}

/// The full record after applying `body` to `existing` (or to zero values for a new record).
/// Keys that name no field are ignored, as PocketBase ignores them.
pub fn apply(
    collection: &Collection,
    existing: Option<&Map<String, Value>>,
    body: &Map<String, Value>,
    writer: Writer,
) -> Map<String, Value> {
    let now = datetime::now();
    let mut record = existing.cloned().unwrap_or_else(|| zero_record(collection));
    for field in &collection.fields {
        // Non-superusers' values for hidden fields are dropped, except an auth password.
        let writable = !field.hidden
            || writer.superuser
            || matches!(field.options, FieldOptions::Password { .. });
        if let FieldOptions::Autodate {
            on_create,
            on_update,
        } = field.options
        {
            if (existing.is_none() && on_create) || (existing.is_some() && on_update) {
                record.insert(field.name.clone(), json!(now));
            }
            continue;
        }
        if !writable {
            continue;
        }
        let current = record.get(&field.name).cloned().unwrap_or(Value::Null);
        if let Some(next) = submitted_value(field, &current, body) {
            record.insert(field.name.clone(), next);
        }
    }
    if existing.is_none() {
        fill_generated(collection, &mut record);
    }
    record
}

/// A new record's values before the body: every field at its zero value (§2.2).
pub fn zero_record(collection: &Collection) -> Map<String, Value> {
    collection
        .fields
        .iter()
        .map(|f| (f.name.clone(), zero_value(f)))
        .collect()
}

pub fn zero_value(field: &Field) -> Value {
    match &field.options {
        FieldOptions::Number { .. } => json!(0),
        FieldOptions::Bool => json!(false),
        FieldOptions::Json { .. } => Value::Null,
        FieldOptions::GeoPoint => json!({"lon": 0, "lat": 0}),
        _ if field.is_multiple() => json!([]),
        _ => json!(""),
    }
}

/// Empty text fields with an autogenerate pattern (the id, an auth `tokenKey`) get one.
fn fill_generated(collection: &Collection, record: &mut Map<String, Value>) {
    for field in &collection.fields {
        if let FieldOptions::Text {
            autogenerate_pattern,
            ..
        } = &field.options
            && !autogenerate_pattern.is_empty()
            && record
                .get(&field.name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .is_empty()
        {
            record.insert(
                field.name.clone(),
                json!(autogenerate::generate(autogenerate_pattern)),
            );
        }
    }
}

/// The field's value after the body's plain key and modifier keys, `None` if untouched.
fn submitted_value(field: &Field, current: &Value, body: &Map<String, Value>) -> Option<Value> {
    let name = &field.name;
    let mut value = body.get(name).map(|v| cast(field, v));
    let base = || value.clone().unwrap_or_else(|| current.clone());
    match &field.options {
        FieldOptions::Number { .. } => {
            let add = body.get(&format!("{name}+")).map(to_f64);
            let sub = body.get(&format!("{name}-")).map(to_f64);
            if add.is_some() || sub.is_some() {
                let n = to_f64(&base()) + add.unwrap_or(0.0) - sub.unwrap_or(0.0);
                value = Some(number_json(n));
            }
        }
        FieldOptions::Select { .. } | FieldOptions::Relation { .. } | FieldOptions::File { .. } => {
            let append = body.get(&format!("{name}+")).map(to_strings);
            let prepend = body.get(&format!("+{name}")).map(to_strings);
            let remove = body.get(&format!("{name}-")).map(to_strings);
            if append.is_some() || prepend.is_some() || remove.is_some() {
                let mut items = prepend.unwrap_or_default();
                items.extend(to_strings(&base()));
                items.extend(append.unwrap_or_default());
                let remove = remove.unwrap_or_default();
                items.retain(|item| !remove.contains(item));
                value = Some(cast(field, &json!(items)));
            }
        }
        FieldOptions::Text {
            autogenerate_pattern,
            ..
        } => {
            if let Some(prefix) = body.get(&format!("{name}:autogenerate")) {
                let generated = if autogenerate_pattern.is_empty() {
                    String::new()
                } else {
                    autogenerate::generate(autogenerate_pattern)
                };
                value = Some(json!(format!("{}{generated}", to_text(prefix))));
            }
        }
        _ => {}
    }
    value
}

/// Casts one submitted value to the field's type.
pub fn cast(field: &Field, value: &Value) -> Value {
    match &field.options {
        FieldOptions::Number { .. } => number_json(to_f64(value)),
        FieldOptions::Bool => json!(to_bool(value)),
        // A string that is JSON text is that JSON (forms send JSON fields as text), any
        // other string is a JSON string (PocketBase's `JSONField.PrepareValue`).
        FieldOptions::Json { .. } => match value {
            Value::String(text) => serde_json::from_str(text).unwrap_or_else(|_| value.clone()),
            other => other.clone(),
        },
        FieldOptions::GeoPoint => geo_point(value),
        FieldOptions::Date { .. } => {
            json!(datetime::normalize(&to_text(value)).unwrap_or_default())
        }
        FieldOptions::Select { .. } | FieldOptions::Relation { .. } | FieldOptions::File { .. } => {
            let mut items = to_strings(value);
            let mut seen = Vec::with_capacity(items.len());
            items.retain(|item| {
                !item.is_empty() && !seen.contains(item) && {
                    seen.push(item.clone());
                    true
                }
            });
            if field.is_multiple() {
                json!(items)
            } else {
                json!(items.pop().unwrap_or_default())
            }
        }
        // Go's `cast.ToString`: a list or an object is no text.
        _ => match value {
            Value::Array(_) | Value::Object(_) => json!(""),
            other => json!(to_text(other)),
        },
    }
}

/// Go's `cast.ToFloat64`: numbers, numeric strings, booleans; anything else is 0.
pub fn to_f64(value: &Value) -> f64 {
    match value {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => s.trim().parse().unwrap_or(0.0),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

/// Go's `cast.ToBool`: `1, t, T, TRUE, true, True` and non-zero numbers are true.
pub fn to_bool(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => matches!(s.as_str(), "1" | "t" | "T" | "TRUE" | "true" | "True"),
        _ => false,
    }
}

pub fn to_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// A list of strings from a string, an array or a JSON array text; empty strings are not
/// items (a single relation or select holds `""` when unset).
pub fn to_strings(value: &Value) -> Vec<String> {
    let mut items: Vec<String> = match value {
        Value::Array(items) => items.iter().map(to_text).collect(),
        Value::Null => Vec::new(),
        Value::String(s) if s.starts_with('[') => serde_json::from_str::<Vec<Value>>(s)
            .map(|v| v.iter().map(to_text).collect())
            .unwrap_or_else(|_| vec![s.clone()]),
        other => vec![to_text(other)],
    };
    items.retain(|item| !item.is_empty());
    items
}

fn geo_point(value: &Value) -> Value {
    let parsed;
    let object = match value {
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
            &parsed
        }
        other => other,
    };
    let coordinate = |key: &str| number_json(object.get(key).map(to_f64).unwrap_or(0.0));
    json!({"lon": coordinate("lon"), "lat": coordinate("lat")})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::field::FieldOptions;

    fn field(kind: &str) -> Field {
        Field::new("f", FieldOptions::default_for(kind).expect("type"))
    }

    #[test]
    fn casts_like_pocketbase() {
        assert_eq!(cast(&field("number"), &json!("12.5")), json!(12.5));
        assert_eq!(cast(&field("number"), &json!("abc")), json!(0));
        assert_eq!(cast(&field("bool"), &json!("true")), json!(true));
        assert_eq!(cast(&field("bool"), &json!("1")), json!(true));
        assert_eq!(cast(&field("json"), &json!("{bad")), json!("{bad"));
        assert_eq!(cast(&field("text"), &json!(["a", "b"])), json!(""));
        assert_eq!(cast(&field("text"), &json!({"a": 1})), json!(""));
        assert_eq!(cast(&field("text"), &json!(12.5)), json!("12.5"));
        assert_eq!(cast(&field("json"), &json!("[1,2]")), json!([1, 2]));
        assert_eq!(cast(&field("json"), &json!("\"a\"")), json!("a"));
        assert_eq!(cast(&field("json"), &json!("")), json!(""));
        assert_eq!(cast(&field("date"), &json!("garbage")), json!(""));
        let mut single = field("select");
        assert_eq!(cast(&single, &json!(["a", "b"])), json!("b"));
        if let FieldOptions::Select { max_select, .. } = &mut single.options {
            *max_select = 3;
        }
        assert_eq!(cast(&single, &json!("a")), json!(["a"]));
        assert_eq!(cast(&single, &json!(["a", "a", "b"])), json!(["a", "b"]));
    }
}
