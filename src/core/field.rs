//! Collection fields: the fourteen field types of pocketbase-surface.md §4.4, their options,
//! defaults, JSON shape and SQLite column type.
//!
//! PocketBase serializes each field as one flat object with sorted keys (it marshals the
//! field into a map and adds `type`), so `to_json` builds a sorted map.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// One field of a collection: the properties every type shares plus its typed options.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub id: String,
    pub name: String,
    pub system: bool,
    pub hidden: bool,
    pub presentable: bool,
    pub required: bool,
    pub help: String,
    pub options: FieldOptions,
}

/// The type-specific options of a field; the variant is the field's `type`.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldOptions {
    Text {
        min: i64,
        max: i64,
        pattern: String,
        autogenerate_pattern: String,
        primary_key: bool,
    },
    Number {
        min: Option<f64>,
        max: Option<f64>,
        only_int: bool,
    },
    Bool,
    Email {
        except_domains: Vec<String>,
        only_domains: Vec<String>,
    },
    Url {
        except_domains: Vec<String>,
        only_domains: Vec<String>,
    },
    Editor {
        max_size: i64,
        convert_urls: bool,
    },
    Date {
        min: String,
        max: String,
    },
    Autodate {
        on_create: bool,
        on_update: bool,
    },
    Select {
        values: Vec<String>,
        max_select: i64,
    },
    File {
        max_select: i64,
        max_size: i64,
        mime_types: Vec<String>,
        thumbs: Vec<String>,
        protected: bool,
    },
    Relation {
        collection_id: String,
        cascade_delete: bool,
        min_select: i64,
        max_select: i64,
    },
    Json {
        max_size: i64,
    },
    Password {
        min: i64,
        max: i64,
        pattern: String,
        cost: i64,
    },
    GeoPoint,
}

/// Every field type name, in PocketBase's spelling.
pub const FIELD_TYPES: [&str; 14] = [
    "text", "number", "bool", "email", "url", "editor", "date", "autodate", "select", "file",
    "relation", "json", "password", "geoPoint",
];

impl FieldOptions {
    /// The default options of a type name, `None` for an unknown type.
    pub fn default_for(kind: &str) -> Option<Self> {
        FieldOptions::from_map(kind, &Map::new())
    }

    /// Reads a type's options from a field object; missing keys take their defaults.
    pub fn from_map(kind: &str, m: &Map<String, Value>) -> Option<Self> {
        let s = |k: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let b = |k: &str| m.get(k).and_then(Value::as_bool).unwrap_or(false);
        let i = |k: &str| {
            m.get(k)
                .and_then(Value::as_f64)
                .map(|n| n as i64)
                .unwrap_or(0)
        };
        let f = |k: &str| m.get(k).and_then(Value::as_f64);
        let list = |k: &str| string_list(m.get(k));
        Some(match kind {
            "text" => FieldOptions::Text {
                min: i("min"),
                max: i("max"),
                pattern: s("pattern"),
                autogenerate_pattern: s("autogeneratePattern"),
                primary_key: b("primaryKey"),
            },
            "number" => FieldOptions::Number {
                min: f("min"),
                max: f("max"),
                only_int: b("onlyInt"),
            },
            "bool" => FieldOptions::Bool,
            "email" => FieldOptions::Email {
                except_domains: list("exceptDomains"),
                only_domains: list("onlyDomains"),
            },
            "url" => FieldOptions::Url {
                except_domains: list("exceptDomains"),
                only_domains: list("onlyDomains"),
            },
            "editor" => FieldOptions::Editor {
                max_size: i("maxSize"),
                convert_urls: b("convertURLs"),
            },
            "date" => FieldOptions::Date {
                min: s("min"),
                max: s("max"),
            },
            "autodate" => FieldOptions::Autodate {
                on_create: b("onCreate"),
                on_update: b("onUpdate"),
            },
            "select" => FieldOptions::Select {
                values: list("values"),
                max_select: i("maxSelect"),
            },
            "file" => FieldOptions::File {
                max_select: i("maxSelect"),
                max_size: i("maxSize"),
                mime_types: list("mimeTypes"),
                thumbs: list("thumbs"),
                protected: b("protected"),
            },
            "relation" => FieldOptions::Relation {
                collection_id: s("collectionId"),
                cascade_delete: b("cascadeDelete"),
                min_select: i("minSelect"),
                max_select: i("maxSelect"),
            },
            "json" => FieldOptions::Json {
                max_size: i("maxSize"),
            },
            "password" => FieldOptions::Password {
                min: i("min"),
                max: i("max"),
                pattern: s("pattern"),
                cost: i("cost"),
            },
            "geoPoint" => FieldOptions::GeoPoint,
            _ => return None,
        })
    }

    /// A text field's options with every default (no limits, no pattern).
    pub fn plain_text() -> Self {
        FieldOptions::Text {
            min: 0,
            max: 0,
            pattern: String::new(),
            autogenerate_pattern: String::new(),
            primary_key: false,
        }
    }

    /// The type name as PocketBase spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            FieldOptions::Text { .. } => "text",
            FieldOptions::Number { .. } => "number",
            FieldOptions::Bool => "bool",
            FieldOptions::Email { .. } => "email",
            FieldOptions::Url { .. } => "url",
            FieldOptions::Editor { .. } => "editor",
            FieldOptions::Date { .. } => "date",
            FieldOptions::Autodate { .. } => "autodate",
            FieldOptions::Select { .. } => "select",
            FieldOptions::File { .. } => "file",
            FieldOptions::Relation { .. } => "relation",
            FieldOptions::Json { .. } => "json",
            FieldOptions::Password { .. } => "password",
            FieldOptions::GeoPoint => "geoPoint",
        }
    }

    fn write_into(&self, m: &mut BTreeMap<&'static str, Value>) {
        match self {
            FieldOptions::Text {
                min,
                max,
                pattern,
                autogenerate_pattern,
                primary_key,
            } => {
                m.extend([
                    ("min", json!(min)),
                    ("max", json!(max)),
                    ("pattern", json!(pattern)),
                    ("autogeneratePattern", json!(autogenerate_pattern)),
                    ("primaryKey", json!(primary_key)),
                ]);
            }
            FieldOptions::Number { min, max, only_int } => {
                m.extend([
                    ("min", min.map_or(Value::Null, number_json)),
                    ("max", max.map_or(Value::Null, number_json)),
                    ("onlyInt", json!(only_int)),
                ]);
            }
            FieldOptions::Email {
                except_domains,
                only_domains,
            }
            | FieldOptions::Url {
                except_domains,
                only_domains,
            } => {
                m.extend([
                    ("exceptDomains", json!(except_domains)),
                    ("onlyDomains", json!(only_domains)),
                ]);
            }
            FieldOptions::Editor {
                max_size,
                convert_urls,
            } => {
                m.extend([
                    ("maxSize", json!(max_size)),
                    ("convertURLs", json!(convert_urls)),
                ]);
            }
            FieldOptions::Date { min, max } => {
                m.extend([("min", json!(min)), ("max", json!(max))]);
            }
            FieldOptions::Autodate {
                on_create,
                on_update,
            } => {
                m.extend([
                    ("onCreate", json!(on_create)),
                    ("onUpdate", json!(on_update)),
                ]);
            }
            FieldOptions::Select { values, max_select } => {
                m.extend([("values", json!(values)), ("maxSelect", json!(max_select))]);
            }
            FieldOptions::File {
                max_select,
                max_size,
                mime_types,
                thumbs,
                protected,
            } => {
                m.extend([
                    ("maxSelect", json!(max_select)),
                    ("maxSize", json!(max_size)),
                    ("mimeTypes", json!(mime_types)),
                    ("thumbs", json!(thumbs)),
                    ("protected", json!(protected)),
                ]);
            }
            FieldOptions::Relation {
                collection_id,
                cascade_delete,
                min_select,
                max_select,
            } => {
                m.extend([
                    ("collectionId", json!(collection_id)),
                    ("cascadeDelete", json!(cascade_delete)),
                    ("minSelect", json!(min_select)),
                    ("maxSelect", json!(max_select)),
                ]);
            }
            FieldOptions::Json { max_size } => {
                m.insert("maxSize", json!(max_size));
            }
            FieldOptions::Password {
                min,
                max,
                pattern,
                cost,
            } => {
                m.extend([
                    ("min", json!(min)),
                    ("max", json!(max)),
                    ("pattern", json!(pattern)),
                    ("cost", json!(cost)),
                ]);
            }
            FieldOptions::Bool | FieldOptions::GeoPoint => {}
        }
    }
}

impl Field {
    /// A new non-system field with default options and flags.
    pub fn new(name: &str, options: FieldOptions) -> Self {
        Field {
            id: String::new(),
            name: name.to_string(),
            system: false,
            hidden: false,
            presentable: false,
            required: false,
            help: String::new(),
            options,
        }
    }

    pub fn kind(&self) -> &'static str {
        self.options.kind()
    }

    /// Whether the value is a list (multi select/relation/file).
    pub fn is_multiple(&self) -> bool {
        match &self.options {
            FieldOptions::Select { max_select, .. }
            | FieldOptions::File { max_select, .. }
            | FieldOptions::Relation { max_select, .. } => *max_select > 1,
            _ => false,
        }
    }

    /// Reads a field object as the API or `_collections.fields` holds it. Unknown keys are
    /// ignored; an unknown or missing `type` is `Err` with the raw type text.
    pub fn from_json(value: &Value) -> Result<Field, String> {
        let m = value.as_object().ok_or_else(String::new)?;
        let kind = m.get("type").and_then(Value::as_str).unwrap_or_default();
        let options = FieldOptions::from_map(kind, m).ok_or_else(|| kind.to_string())?;
        let s = |k: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let b = |k: &str| m.get(k).and_then(Value::as_bool).unwrap_or(false);
        Ok(Field {
            id: s("id"),
            name: s("name"),
            system: b("system"),
            hidden: b("hidden"),
            presentable: b("presentable"),
            required: b("required"),
            help: s("help"),
            options,
        })
    }

    /// The field as PocketBase serializes it: one flat object, keys sorted.
    pub fn to_json(&self) -> Value {
        let mut m: BTreeMap<&'static str, Value> = BTreeMap::new();
        m.insert("id", json!(self.id));
        m.insert("name", json!(self.name));
        m.insert("type", json!(self.kind()));
        m.insert("system", json!(self.system));
        m.insert("hidden", json!(self.hidden));
        m.insert("presentable", json!(self.presentable));
        // Autodate fields have neither `required` nor `help` (§4.4).
        if !matches!(self.options, FieldOptions::Autodate { .. }) {
            m.insert("required", json!(self.required));
            m.insert("help", json!(self.help));
        }
        self.options.write_into(&mut m);
        Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    /// The SQLite column definition PocketBase uses for this field.
    pub fn column_type(&self) -> &'static str {
        match &self.options {
            FieldOptions::Text {
                primary_key: true, ..
            } => "TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL",
            FieldOptions::Number { .. } => "NUMERIC DEFAULT 0 NOT NULL",
            FieldOptions::Bool => "BOOLEAN DEFAULT FALSE NOT NULL",
            FieldOptions::Json { .. } => "JSON DEFAULT NULL",
            FieldOptions::GeoPoint => "JSON DEFAULT '{\"lon\":0,\"lat\":0}' NOT NULL",
            FieldOptions::Select { .. }
            | FieldOptions::File { .. }
            | FieldOptions::Relation { .. }
                if self.is_multiple() =>
            {
                "JSON DEFAULT '[]' NOT NULL"
            }
            _ => "TEXT DEFAULT '' NOT NULL",
        }
    }
}

/// A number as Go's JSON encoder writes a float64: whole values without a fraction (`3`,
/// not `3.0`).
pub fn number_json(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9e15 {
        json!(n as i64)
    } else {
        json!(n)
    }
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_json() {
        for kind in FIELD_TYPES {
            let mut field = Field::new("f", FieldOptions::default_for(kind).expect("known type"));
            field.id = format!("{kind}1");
            let back = Field::from_json(&field.to_json()).expect("parses");
            assert_eq!(back, field, "{kind}");
        }
    }

    #[test]
    fn unknown_type_is_rejected() {
        assert_eq!(
            Field::from_json(&json!({"name": "x", "type": "nope"})),
            Err("nope".to_string())
        );
    }

    #[test]
    fn json_keys_are_sorted() {
        let field = Field::new("title", FieldOptions::default_for("text").expect("text"));
        let keys: Vec<String> = field
            .to_json()
            .as_object()
            .expect("object")
            .keys()
            .cloned()
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }
}
