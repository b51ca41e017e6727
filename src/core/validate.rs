//! Validation of a collection about to be saved, with PocketBase's field error codes
//! (`pocketbase/pocketbase:core/collection_validate.go`), plus the small format checks
//! (email, URL) shared with settings.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::core::collection::Collection;
use crate::core::field::{Field, FieldOptions};
use crate::core::index::Index;
use crate::error::{FieldErrors, field_error, field_error_with, sentenize};
use crate::filter::{self, sql::RequestInfo, sql::Resolver};
use crate::store::sql::is_valid_identifier;

/// Names a user field may not take: they would collide with record JSON keys.
const RESERVED_FIELD_NAMES: [&str; 3] = ["expand", "collectionId", "collectionName"];

/// Validates `new` against `others` (every collection except the stored version of this
/// one); `old` is that stored version on update.
pub fn validate_collection(
    new: &Collection,
    old: Option<&Collection>,
    others: &[Arc<Collection>],
) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    if let Some(error) = check_name(new, old, others) {
        errors.insert("name".into(), error);
    }
    if old.is_some_and(|o| o.kind != new.kind) {
        errors.insert(
            "type".into(),
            field_error(
                "validation_collection_type_change",
                "Collection type cannot be changed.",
            ),
        );
    }
    let field_errors = check_fields(new, old, others);
    if !field_errors.is_empty() {
        errors.insert("fields".into(), Value::Object(field_errors));
    }
    for (key, rule) in [
        ("listRule", &new.list_rule),
        ("viewRule", &new.view_rule),
        ("createRule", &new.create_rule),
        ("updateRule", &new.update_rule),
        ("deleteRule", &new.delete_rule),
    ] {
        if let Some(error) = rule.as_deref().and_then(|r| check_rule(new, others, r)) {
            errors.insert(key.into(), error);
        }
    }
    if let Some(auth) = &new.auth {
        let auth_errors = check_auth_options(new, others, auth);
        errors.extend(auth_errors);
    }
    let index_errors = check_indexes(new, others);
    if !index_errors.is_empty() {
        errors.insert("indexes".into(), Value::Object(index_errors));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn check_name(
    new: &Collection,
    old: Option<&Collection>,
    others: &[Arc<Collection>],
) -> Option<Value> {
    let name = new.name.as_str();
    if name.is_empty() {
        return Some(required());
    }
    if name.len() > 255 {
        return Some(field_error_with(
            "validation_length_out_of_range",
            "The length must be between 1 and 255.",
            serde_json::json!({"min": 1, "max": 255}),
        ));
    }
    if !is_valid_identifier(name) || name.contains("_via_") {
        return Some(field_error(
            "validation_match_invalid",
            "Must be in a valid format.",
        ));
    }
    if old.is_some_and(|o| o.system && o.name != name) {
        return Some(field_error(
            "validation_collection_system_name_change",
            "System collection name cannot be changed.",
        ));
    }
    let taken = others.iter().any(|c| c.name.eq_ignore_ascii_case(name));
    taken.then(|| {
        field_error(
            "validation_collection_name_exists",
            "Collection name must be unique (case insensitive).",
        )
    })
}

fn check_fields(
    new: &Collection,
    old: Option<&Collection>,
    others: &[Arc<Collection>],
) -> Map<String, Value> {
    let mut errors = Map::new();
    for (i, field) in new.fields.iter().enumerate() {
        let mut field_errors = check_field(field, &new.id, others);
        let earlier = &new.fields[..i];
        if earlier.iter().any(|f| f.id == field.id) {
            field_errors.insert(
                "id".into(),
                field_error(
                    "validation_duplicated_field_id",
                    "Duplicated or invalid field id.",
                ),
            );
        }
        let system_id_clash = field.name == "id" && field.kind() != "text";
        if system_id_clash
            || earlier
                .iter()
                .any(|f| f.name.eq_ignore_ascii_case(&field.name))
        {
            let error = field_error_with(
                "validation_duplicated_field_name",
                &format!("Duplicated or invalid field name {}.", field.name),
                serde_json::json!({"fieldName": field.name}),
            );
            field_errors.insert("name".into(), error);
        }
        if let Some(before) = old.and_then(|o| o.fields.iter().find(|f| f.id == field.id)) {
            if before.kind() != field.kind() {
                field_errors.insert(
                    "type".into(),
                    field_error(
                        "validation_field_type_change",
                        "Field type cannot be changed.",
                    ),
                );
            }
            if before.system && (before.name != field.name || !field.system) {
                field_errors.insert(
                    "name".into(),
                    field_error(
                        "validation_system_field_change",
                        "System field cannot be changed.",
                    ),
                );
            }
        }
        if !field_errors.is_empty() {
            errors.insert(i.to_string(), Value::Object(field_errors));
        }
    }
    if let Some(old) = old {
        // System fields can't be removed (PocketBase re-adds by name, so check by id).
        for missing in old
            .fields
            .iter()
            .filter(|f| f.system && !new.fields.iter().any(|n| n.id == f.id))
        {
            errors.insert(
                missing.name.clone(),
                field_error(
                    "validation_system_field_change",
                    "System field cannot be deleted.",
                ),
            );
        }
    }
    errors
}

fn check_field(field: &Field, self_id: &str, others: &[Arc<Collection>]) -> Map<String, Value> {
    let mut errors = Map::new();
    if field.name.is_empty() {
        errors.insert("name".into(), required());
    } else if !is_valid_identifier(&field.name) || field.name.len() > 100 {
        errors.insert(
            "name".into(),
            field_error("validation_match_invalid", "Must be in a valid format."),
        );
    } else if RESERVED_FIELD_NAMES
        .iter()
        .any(|r| r.eq_ignore_ascii_case(&field.name))
    {
        errors.insert(
            "name".into(),
            field_error("validation_not_in_invalid", "Must not be in list."),
        );
    }
    if field.id.is_empty() || field.id.len() > 100 {
        errors.insert("id".into(), required());
    }
    match &field.options {
        FieldOptions::Text { min, max, .. } | FieldOptions::Password { min, max, .. } => {
            if *min < 0 {
                errors.insert("min".into(), min_error(0));
            }
            if *max != 0 && max < min {
                errors.insert("max".into(), min_error(*min));
            }
            if matches!(field.options, FieldOptions::Password { .. }) && *max > 71 {
                errors.insert(
                    "max".into(),
                    field_error_with(
                        "validation_max_less_equal_than_required",
                        "Must be less than or equal to 71.",
                        serde_json::json!({"threshold": 71}),
                    ),
                );
            }
        }
        FieldOptions::Number {
            min: Some(min),
            max: Some(max),
            ..
        } if max < min => {
            errors.insert(
                "max".into(),
                field_error(
                    "validation_min_greater_equal_than_required",
                    "Must be no less than min.",
                ),
            );
        }
        FieldOptions::Select { values, max_select } => {
            if values.is_empty() {
                errors.insert("values".into(), required());
            } else if *max_select > values.len() as i64 {
                errors.insert(
                    "maxSelect".into(),
                    field_error(
                        "validation_max_less_equal_than_required",
                        "Must be no more than the number of values.",
                    ),
                );
            }
        }
        FieldOptions::Relation {
            collection_id,
            min_select,
            max_select,
            ..
        } => {
            if collection_id.is_empty() {
                errors.insert("collectionId".into(), required());
            } else if !others.iter().any(|c| &c.id == collection_id) && collection_id != self_id {
                let message = "The relation collection doesn't exist.";
                errors.insert(
                    "collectionId".into(),
                    field_error("validation_field_relation_missing_collection", message),
                );
            }
            if *max_select != 0 && max_select < min_select {
                errors.insert("maxSelect".into(), min_error(*min_select));
            }
        }
        _ => {}
    }
    errors
}

/// A rule must parse and resolve against the collection (fields, relation paths,
/// back-relations, `@collection` references), as PocketBase checks it on save; the message
/// carries the raw error as PocketBase words it.
fn check_rule(collection: &Collection, others: &[Arc<Collection>], rule: &str) -> Option<Value> {
    if rule.trim().is_empty() {
        return None;
    }
    let raw = match filter::parse_with_limits(rule, &RULE_LIMITS) {
        Err(err) => err.to_string(),
        Ok(groups) => {
            let mut all: Vec<Arc<Collection>> = others.to_vec();
            all.push(Arc::new(collection.clone()));
            let request = RequestInfo::default();
            let resolver = Resolver {
                collection,
                all: &all,
                request: &request,
                main_alias: "_r",
                superuser: true,
            };
            resolver.where_sql(&groups).err()?.to_string()
        }
    };
    Some(field_error(
        "validation_invalid_rule",
        &sentenize(&format!("Invalid rule. Raw error: {raw}")),
    ))
}

/// API rules have no length limit in PocketBase (only the `filter` parameter does).
const RULE_LIMITS: filter::Limits = filter::Limits {
    max_length: usize::MAX,
    max_expressions: usize::MAX,
    max_depth: filter::MAX_DEPTH,
};

fn check_auth_options(
    collection: &Collection,
    others: &[Arc<Collection>],
    auth: &crate::core::auth_options::AuthOptions,
) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for (key, token) in auth.tokens() {
        if !(10..=94_670_856).contains(&token.duration) {
            errors.insert(key.into(), obj("duration", range_error(10, 94_670_856)));
        } else if !(30..=255).contains(&token.secret.len()) {
            errors.insert(key.into(), obj("secret", range_error(30, 255)));
        }
    }
    if auth.otp.enabled && !(10..=86_400).contains(&auth.otp.duration) {
        errors.insert("otp".into(), obj("duration", range_error(10, 86_400)));
    } else if auth.otp.enabled && auth.otp.length < 4 {
        errors.insert("otp".into(), obj("length", min_error(4)));
    }
    if auth.mfa.enabled {
        let methods = [
            auth.password_auth.enabled,
            auth.otp.enabled,
            auth.oauth2.enabled,
        ];
        if methods.iter().filter(|m| **m).count() < 2 {
            let error = field_error(
                "validation_mfa_not_enough_auths",
                "MFA requires at least 2 auth methods to be enabled.",
            );
            errors.insert("mfa".into(), obj("enabled", error));
        } else if !(10..=86_400).contains(&auth.mfa.duration) {
            errors.insert("mfa".into(), obj("duration", range_error(10, 86_400)));
        }
    }
    for (key, rule) in [
        ("authRule", &auth.auth_rule),
        ("manageRule", &auth.manage_rule),
    ] {
        if let Some(error) = rule
            .as_deref()
            .and_then(|r| check_rule(collection, others, r))
        {
            errors.insert(key.into(), error);
        }
    }
    for (i, name) in auth.password_auth.identity_fields.iter().enumerate() {
        if !collection.has_unique_index(name) {
            let error = field_error(
                "validation_missing_unique_constraint",
                "The identity field must have a UNIQUE index.",
            );
            errors.insert(
                "passwordAuth".into(),
                obj("identityFields", obj(&i.to_string(), error)),
            );
        }
    }
    errors
}

fn check_indexes(collection: &Collection, others: &[Arc<Collection>]) -> Map<String, Value> {
    let mut errors = Map::new();
    let mut names: Vec<String> = Vec::new();
    for (i, sql) in collection.indexes.iter().enumerate() {
        let error = match Index::parse(sql) {
            None => Some(field_error(
                "validation_invalid_index_expression",
                "Invalid CREATE INDEX expression.",
            )),
            Some(ix) if !is_valid_identifier(&ix.name) => Some(field_error(
                "validation_invalid_index_expression",
                "Invalid CREATE INDEX expression.",
            )),
            Some(ix)
                if names.iter().any(|n| n.eq_ignore_ascii_case(&ix.name))
                    || index_name_taken(&ix, others) =>
            {
                Some(field_error(
                    "validation_existing_index_name",
                    "The index name is already used.",
                ))
            }
            Some(ix)
                if !collection.is_view()
                    && ix
                        .column_names()
                        .any(|c| !is_valid_identifier(c) || collection.field(c).is_none()) =>
            {
                Some(field_error(
                    "validation_invalid_index_column",
                    "Index references an unknown column.",
                ))
            }
            Some(ix) => {
                names.push(ix.name);
                None
            }
        };
        if let Some(error) = error {
            errors.insert(i.to_string(), error);
        }
    }
    errors
}

fn index_name_taken(ix: &Index, others: &[Arc<Collection>]) -> bool {
    others
        .iter()
        .flat_map(|c| &c.indexes)
        .filter_map(|sql| Index::parse(sql))
        .any(|o| o.name.eq_ignore_ascii_case(&ix.name))
}

/// A pragmatic email check: one `@`, a non-empty local part and a dotted domain, no spaces.
pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && text.len() <= 254
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(char::is_whitespace)
}

/// An absolute http(s) URL with a host.
pub fn is_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty() && !r.starts_with('/') && !r.chars().any(char::is_whitespace)
    })
}

fn required() -> Value {
    field_error("validation_required", "Cannot be blank.")
}

fn min_error(min: i64) -> Value {
    field_error_with(
        "validation_min_greater_equal_than_required",
        &format!("Must be no less than {min}."),
        serde_json::json!({"threshold": min}),
    )
}

fn range_error(min: i64, max: i64) -> Value {
    field_error_with(
        "validation_out_of_range",
        &format!("Must be between {min} and {max}."),
        serde_json::json!({"min": min, "max": max}),
    )
}

fn obj(key: &str, value: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.into(), value);
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_urls() {
        assert!(is_email("a@b.co"));
        assert!(!is_email("bad"));
        assert!(!is_email("a@b"));
        assert!(is_url("http://localhost:8090"));
        assert!(!is_url("localhost"));
    }
}
