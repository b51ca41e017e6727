//! The collection model (pocketbase-surface.md §4.1): its JSON shapes (API and storage),
//! defaults for each type, and the system fields every collection must keep.
//!
//! A collection is built by merging a request body over a base value (a fresh default for
//! create, the stored collection for update) and parsing the result, which is how
//! PocketBase's "unmarshal onto the model" behaves; `validate` then checks the result.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::core::auth_options::AuthOptions;
use crate::core::field::{Field, FieldOptions};
use crate::core::{datetime, ids};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionType {
    Base,
    Auth,
    View,
}

impl CollectionType {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "base" => Some(Self::Base),
            "auth" => Some(Self::Auth),
            "view" => Some(Self::View),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Base => "base",
            Self::Auth => "auth",
            Self::View => "view",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    pub id: String,
    pub name: String,
    pub kind: CollectionType,
    pub system: bool,
    pub fields: Vec<Field>,
    pub indexes: Vec<String>,
    pub list_rule: Option<String>,
    pub view_rule: Option<String>,
    pub create_rule: Option<String>,
    pub update_rule: Option<String>,
    pub delete_rule: Option<String>,
    pub view_query: String,
    pub auth: Option<AuthOptions>,
    pub created: String,
    pub updated: String,
    /// SQL the store derives from this definition, built on first use.
    pub sql_cache: SqlCache,
}

/// SQL text the store derives from a collection's definition (`store::records`: a record's
/// API JSON, per visibility), kept with the loaded collection so that hot reads do not
/// rebuild it for every request. Loaded collections are shared behind `Arc` and never
/// edited in place; code that edits one edits a clone, and a clone starts empty so that it
/// never keeps the text of the definition it was copied from. Never compared.
#[derive(Debug, Default)]
pub struct SqlCache {
    pub api_json: [OnceLock<String>; 4],
}

impl Clone for SqlCache {
    fn clone(&self) -> Self {
        SqlCache::default()
    }
}

impl PartialEq for SqlCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Why a collection body could not be read at all (before validation).
#[derive(Debug, Clone, PartialEq)]
pub enum LoadError {
    /// The body is not an object, a field is not an object or has an unknown type, or the
    /// collection type is unknown.
    Malformed,
}

impl Collection {
    /// The value a new collection of `kind` starts from before the request body is merged in.
    pub fn default_json(kind: CollectionType) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), json!(kind.as_str()));
        m.insert("fields".into(), json!([]));
        if kind == CollectionType::Auth {
            m.insert("options".into(), json!(AuthOptions::default()));
        }
        Value::Object(m)
    }

    /// Parses a merged collection value. Missing system fields are added, field ids and the
    /// collection id are filled in; `created`/`updated` are kept if present.
    pub fn from_json(value: &Value) -> Result<Collection, LoadError> {
        let m = value.as_object().ok_or(LoadError::Malformed)?;
        let s = |k: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let rule = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
        let kind_text = m.get("type").and_then(Value::as_str).unwrap_or("base");
        let kind = CollectionType::parse(if kind_text.is_empty() {
            "base"
        } else {
            kind_text
        })
        .ok_or(LoadError::Malformed)?;
        let fields = match m.get("fields") {
            Some(Value::Array(items)) => items
                .iter()
                .map(Field::from_json)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| LoadError::Malformed)?,
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Err(LoadError::Malformed),
        };
        let indexes = match m.get("indexes") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Err(LoadError::Malformed),
        };
        let auth = match kind {
            CollectionType::Auth => {
                let options = m.get("options").cloned().unwrap_or_else(|| json!({}));
                Some(serde_json::from_value(options).map_err(|_| LoadError::Malformed)?)
            }
            _ => None,
        };
        let mut collection = Collection {
            id: s("id"),
            name: s("name"),
            kind,
            system: m.get("system").and_then(Value::as_bool).unwrap_or(false),
            fields,
            indexes,
            list_rule: rule("listRule"),
            view_rule: rule("viewRule"),
            create_rule: rule("createRule"),
            update_rule: rule("updateRule"),
            delete_rule: rule("deleteRule"),
            view_query: s("viewQuery"),
            auth,
            created: s("created"),
            updated: s("updated"),
            sql_cache: SqlCache::default(),
        };
        collection.fill_defaults();
        Ok(collection)
    }

    /// Merges an API body (flat, PocketBase's public shape) into the storage-shaped value
    /// `base`: auth options at the top level of the body go under `options`, nested objects
    /// merge key by key, arrays (such as `fields`) replace.
    pub fn merge_body(base: &mut Value, body: &Map<String, Value>) {
        for (key, value) in body {
            let slot = if Self::is_auth_option_key(key) {
                let Some(options) = base
                    .as_object_mut()
                    .map(|b| b.entry("options").or_insert_with(|| json!({})))
                else {
                    return;
                };
                options
                    .as_object_mut()
                    .map(|o| o.entry(key.clone()).or_insert(Value::Null))
            } else {
                base.as_object_mut()
                    .map(|b| b.entry(key.clone()).or_insert(Value::Null))
            };
            if let Some(slot) = slot {
                deep_merge(slot, value);
            }
        }
    }

    fn is_auth_option_key(key: &str) -> bool {
        const KEYS: [&str; 15] = [
            "authRule",
            "manageRule",
            "authAlert",
            "oauth2",
            "passwordAuth",
            "mfa",
            "otp",
            "authToken",
            "passwordResetToken",
            "emailChangeToken",
            "verificationToken",
            "fileToken",
            "verificationTemplate",
            "resetPasswordTemplate",
            "confirmEmailChangeTemplate",
        ];
        KEYS.contains(&key)
    }

    fn fill_defaults(&mut self) {
        // A field named `id` is always the system primary key (PocketBase forces the flags
        // on a user-supplied text `id`; another type is a validation error).
        if let Some(id) = self.fields.iter_mut().find(|f| f.name == "id")
            && let FieldOptions::Text {
                primary_key,
                pattern,
                ..
            } = &mut id.options
        {
            *primary_key = true;
            if pattern.is_empty() {
                *pattern = "^[a-z0-9]+$".into();
            }
            id.system = true;
            id.required = true;
        }
        if !self.is_view() {
            let required = match self.kind {
                CollectionType::Auth => auth_system_fields(),
                _ => vec![id_field()],
            };
            for (position, system_field) in required.into_iter().enumerate() {
                let present = self
                    .fields
                    .iter()
                    .any(|f| f.name == system_field.name && f.kind() == system_field.kind());
                if !present {
                    self.fields
                        .insert(position.min(self.fields.len()), system_field);
                }
            }
        }
        // Fields are keyed by id, as in PocketBase's FieldsList: a later field with the same
        // (given or generated) id replaces the earlier one in its position, so the same
        // name sent twice keeps the last definition.
        let mut unique: Vec<Field> = Vec::with_capacity(self.fields.len());
        for mut field in std::mem::take(&mut self.fields) {
            if field.id.is_empty() {
                field.id = ids::field_id(field.kind(), &field.name);
            }
            match unique.iter_mut().find(|f| f.id == field.id) {
                Some(slot) => *slot = field,
                None => unique.push(field),
            }
        }
        self.fields = unique;
        if self.id.is_empty() {
            self.id = ids::collection_id(self.kind.as_str(), &self.name);
        }
        if self.kind == CollectionType::Auth {
            self.ensure_auth_indexes();
        }
    }

    /// Auth collections always carry unique indexes on `tokenKey` and (non-empty) `email`.
    fn ensure_auth_indexes(&mut self) {
        if !self.has_unique_index("tokenKey") {
            let sql = format!(
                "CREATE UNIQUE INDEX `idx_tokenKey_{}` ON `{}` (`tokenKey`)",
                self.id, self.name
            );
            self.indexes.push(sql);
        }
        if !self.has_unique_index("email") {
            let sql = format!(
                "CREATE UNIQUE INDEX `idx_email_{}` ON `{}` (`email`) WHERE `email` != ''",
                self.id, self.name
            );
            self.indexes.push(sql);
        }
    }

    /// Whether a unique index covers exactly `column` (PocketBase's
    /// `FindSingleColumnUniqueIndex`; identity fields and single back-relations need one).
    pub fn has_unique_index(&self, column: &str) -> bool {
        self.indexes
            .iter()
            .filter_map(|sql| crate::core::index::Index::parse(sql))
            .any(|ix| {
                ix.unique
                    && ix.columns.len() == 1
                    && ix
                        .column_names()
                        .next()
                        .is_some_and(|c| c.eq_ignore_ascii_case(column))
            })
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn is_auth(&self) -> bool {
        self.kind == CollectionType::Auth
    }

    pub fn is_view(&self) -> bool {
        self.kind == CollectionType::View
    }

    /// Stamps `created` (if new) and `updated`.
    pub fn touch(&mut self) {
        let now = datetime::now();
        if self.created.is_empty() {
            self.created = now.clone();
        }
        self.updated = now;
    }

    /// The collection as the API returns it (§4.1 key order; secrets removed).
    pub fn api_json(&self) -> Value {
        let mut m = self.common_json();
        match self.kind {
            CollectionType::View => {
                m.insert("viewQuery".into(), json!(self.view_query));
            }
            CollectionType::Auth => {
                if let Some(Value::Object(options)) = self.auth.as_ref().map(AuthOptions::api_json)
                {
                    m.extend(options);
                }
            }
            CollectionType::Base => {}
        }
        Value::Object(m)
    }

    /// The collection in its storage shape (as `Collection::from_json` reads it back), with
    /// options nested and secrets kept.
    pub fn storage_json(&self) -> Value {
        let mut m = self.common_json();
        m.insert("viewQuery".into(), json!(self.view_query));
        m.insert("options".into(), self.options_json());
        Value::Object(m)
    }

    /// What `_collections.options` holds: auth options, `{viewQuery}` for views, `{}` otherwise.
    pub fn options_json(&self) -> Value {
        match (&self.auth, self.kind) {
            (Some(auth), _) => json!(auth),
            (None, CollectionType::View) => json!({"viewQuery": self.view_query}),
            _ => json!({}),
        }
    }

    pub fn fields_json(&self) -> Value {
        Value::Array(self.fields.iter().map(Field::to_json).collect())
    }

    fn common_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("listRule".into(), json!(self.list_rule));
        m.insert("viewRule".into(), json!(self.view_rule));
        m.insert("createRule".into(), json!(self.create_rule));
        m.insert("updateRule".into(), json!(self.update_rule));
        m.insert("deleteRule".into(), json!(self.delete_rule));
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(self.kind.as_str()));
        m.insert("fields".into(), self.fields_json());
        m.insert("indexes".into(), json!(self.indexes));
        m.insert("created".into(), json!(self.created));
        m.insert("updated".into(), json!(self.updated));
        m.insert("system".into(), json!(self.system));
        m
    }
}

/// Recursive merge: objects merge key by key, anything else replaces.
pub fn deep_merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                deep_merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// The system `id` field every base and auth collection starts with (§1.3).
pub fn id_field() -> Field {
    let mut field = system_field(
        "id",
        FieldOptions::Text {
            min: 15,
            max: 15,
            pattern: "^[a-z0-9]+$".into(),
            autogenerate_pattern: "[a-z0-9]{15}".into(),
            primary_key: true,
        },
    );
    field.required = true;
    field
}

/// The six system fields of auth collections, in PocketBase's order (§4.3).
pub fn auth_system_fields() -> Vec<Field> {
    let mut password = system_field(
        "password",
        FieldOptions::Password {
            min: 8,
            max: 0,
            pattern: String::new(),
            cost: 0,
        },
    );
    password.hidden = true;
    password.required = true;
    let mut token_key = system_field(
        "tokenKey",
        FieldOptions::Text {
            min: 30,
            max: 60,
            pattern: String::new(),
            autogenerate_pattern: "[a-zA-Z0-9]{50}".into(),
            primary_key: false,
        },
    );
    token_key.hidden = true;
    token_key.required = true;
    let mut email = system_field(
        "email",
        FieldOptions::Email {
            except_domains: Vec::new(),
            only_domains: Vec::new(),
        },
    );
    email.required = true;
    vec![
        id_field(),
        password,
        token_key,
        email,
        system_field("emailVisibility", FieldOptions::Bool),
        system_field("verified", FieldOptions::Bool),
    ]
}

pub fn system_field(name: &str, options: FieldOptions) -> Field {
    let mut field = Field::new(name, options);
    field.system = true;
    field
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_base_collection_gets_the_id_field_and_default_id() {
        let mut value = Collection::default_json(CollectionType::Base);
        let body = json!({"name": "posts", "fields": [{"name": "title", "type": "text"}]});
        Collection::merge_body(&mut value, body.as_object().expect("object"));
        let c = Collection::from_json(&value).expect("parses");
        assert_eq!(c.id, "pbc_1125843985");
        assert_eq!(
            c.fields[0].to_json(),
            id_field().json_with_id("text3208210256")
        );
        assert_eq!(c.fields[1].id, "text724990059");
    }

    #[test]
    fn auth_collection_gets_system_fields_and_indexes() {
        let mut value = Collection::default_json(CollectionType::Auth);
        let body = json!({"name": "members", "type": "auth", "otp": {"enabled": true}});
        Collection::merge_body(&mut value, body.as_object().expect("object"));
        let c = Collection::from_json(&value).expect("parses");
        let names: Vec<&str> = c.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "id",
                "password",
                "tokenKey",
                "email",
                "emailVisibility",
                "verified"
            ]
        );
        assert_eq!(c.indexes.len(), 2);
        let auth = c.auth.expect("auth options");
        assert!(auth.otp.enabled);
        assert_eq!(auth.otp.length, 8);
    }

    impl Field {
        fn json_with_id(mut self, id: &str) -> Value {
            self.id = id.to_string();
            self.to_json()
        }
    }
}
