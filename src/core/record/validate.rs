//! Record field validation with PocketBase's codes, messages and params (observed against
//! 0.40.6 field by field). Checks that need the database (relation existence, uniqueness)
//! live with the record operations.

use regex::Regex;
use serde_json::{Map, Value, json};

use crate::core::collection::Collection;
use crate::core::field::{Field, FieldOptions};
use crate::core::files::{self, Uploads};
use crate::core::record::input::{to_f64, to_strings};
use crate::core::validate::is_email;
use crate::error::{FieldErrors, field_error, field_error_with};

/// PocketBase's size defaults when a field sets 0.
const DEFAULT_TEXT_MAX: i64 = 5000;
const DEFAULT_EDITOR_MAX: i64 = 5 << 20;
const DEFAULT_JSON_MAX: i64 = 1 << 20;

/// Validates every field of `record`; `old` is the stored record on update, `uploads` the
/// files sent with the write (a file field's new names must be among them).
pub fn validate(
    collection: &Collection,
    record: &Map<String, Value>,
    old: Option<&Map<String, Value>>,
    uploads: &Uploads,
) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for field in &collection.fields {
        let value = record.get(&field.name).unwrap_or(&Value::Null);
        let error = if field.name == "id" && old.is_some_and(|o| o.get("id") != Some(value)) {
            Some(field_error(
                "validation_pk_change",
                "The record primary key cannot be changed.",
            ))
        } else if matches!(field.options, FieldOptions::File { .. }) {
            let stored = old.and_then(|o| o.get(&field.name));
            files::validate::check(field, value, stored, uploads)
        } else {
            check(field, value)
        };
        if let Some(error) = error {
            errors.insert(field.name.clone(), error);
        }
    }
    errors
}

fn blank() -> Value {
    field_error("validation_required", "Cannot be blank.")
}

/// One field's value, `None` when valid.
fn check(field: &Field, value: &Value) -> Option<Value> {
    let text = value.as_str().unwrap_or_default();
    match &field.options {
        FieldOptions::Text {
            min, max, pattern, ..
        } => check_text(field.required, text, *min, *max, pattern),
        FieldOptions::Password { .. } => None, // checked on the plain text by the operation
        FieldOptions::Number { min, max, only_int } => {
            check_number(field.required, to_f64(value), *min, *max, *only_int)
        }
        FieldOptions::Bool => (field.required && value != &json!(true)).then(blank),
        FieldOptions::Email {
            except_domains,
            only_domains,
        } => {
            if text.is_empty() {
                return field.required.then(blank);
            }
            if !is_email(text) {
                return Some(field_error(
                    "validation_is_email",
                    "Must be a valid email address.",
                ));
            }
            let domain = text.rsplit('@').next().unwrap_or_default();
            (!domain_allowed(domain, except_domains, only_domains)).then(|| {
                field_error(
                    "validation_email_domain_not_allowed",
                    "Email domain is not allowed.",
                )
            })
        }
        FieldOptions::Url {
            except_domains,
            only_domains,
        } => {
            if text.is_empty() {
                return field.required.then(blank);
            }
            let Some(host) = url_host(text) else {
                return Some(field_error(
                    "validation_invalid_url",
                    "Must be a valid url.",
                ));
            };
            (!domain_allowed(&host, except_domains, only_domains)).then(|| {
                field_error(
                    "validation_url_domain_not_allowed",
                    "Url domain is not allowed.",
                )
            })
        }
        FieldOptions::Editor { max_size, .. } => {
            let max = if *max_size <= 0 {
                DEFAULT_EDITOR_MAX
            } else {
                *max_size
            };
            if text.is_empty() {
                field.required.then(blank)
            } else {
                (text.len() as i64 > max).then(|| {
                    field_error_with(
                        "validation_content_size_limit",
                        &format!("The maximum allowed content size is {max} bytes."),
                        json!({"maxSize": max}),
                    )
                })
            }
        }
        FieldOptions::Date { min, max } => check_date(field.required, text, min, max),
        FieldOptions::Autodate { .. } => None,
        FieldOptions::Select { values, max_select } => {
            let items = to_strings(value);
            if items.is_empty() {
                return field.required.then(blank);
            }
            if let Some(bad) = items.iter().find(|i| !values.contains(i)) {
                return Some(field_error_with(
                    "validation_invalid_value",
                    &format!("Invalid value {bad}."),
                    json!({"value": bad}),
                ));
            }
            too_many(items.len(), *max_select)
        }
        FieldOptions::Relation {
            min_select,
            max_select,
            ..
        } => {
            let count = to_strings(value).len();
            if count == 0 {
                return field.required.then(blank);
            }
            if (count as i64) < *min_select {
                return Some(field_error_with(
                    "validation_not_enough_values",
                    &format!("Select at least {min_select}."),
                    json!({"minSelect": min_select}),
                ));
            }
            too_many(count, *max_select)
        }
        // Checked with the uploads, in `validate`.
        FieldOptions::File { .. } => None,
        FieldOptions::Json { max_size } => {
            let empty = matches!(value, Value::Null)
                || value == &json!("")
                || value == &json!([])
                || value == &json!({});
            if empty {
                return field.required.then(blank);
            }
            let max = if *max_size <= 0 {
                DEFAULT_JSON_MAX
            } else {
                *max_size
            };
            (value.to_string().len() as i64 > max).then(|| {
                field_error_with(
                    "validation_json_size_limit",
                    &format!("The maximum allowed JSON size is {max} bytes."),
                    json!({"maxSize": max}),
                )
            })
        }
        FieldOptions::GeoPoint => {
            let (lon, lat) = (
                value.get("lon").map(to_f64).unwrap_or(0.0),
                value.get("lat").map(to_f64).unwrap_or(0.0),
            );
            if !(-180.0..=180.0).contains(&lon) {
                Some(field_error(
                    "validation_invalid_longitude",
                    "Longitude must be between -180 and 180 degrees.",
                ))
            } else if !(-90.0..=90.0).contains(&lat) {
                Some(field_error(
                    "validation_invalid_latitude",
                    "Latitude must be between -90 and 90 degrees.",
                ))
            } else {
                (field.required && lon == 0.0 && lat == 0.0).then(blank)
            }
        }
    }
}

fn too_many(count: usize, max_select: i64) -> Option<Value> {
    let max = max_select.max(1);
    (count as i64 > max).then(|| {
        field_error_with(
            "validation_too_many_values",
            &format!("Select no more than {max}."),
            json!({"maxSelect": max}),
        )
    })
}

/// Text checks; also used for passwords (with their own min/max) by the operation.
pub fn check_text(required: bool, text: &str, min: i64, max: i64, pattern: &str) -> Option<Value> {
    if text.is_empty() {
        return required.then(blank);
    }
    let length = text.chars().count() as i64;
    let max = if max <= 0 { DEFAULT_TEXT_MAX } else { max };
    if length < min {
        return Some(field_error_with(
            "validation_min_text_constraint",
            &format!("Must be at least {min} character(s)."),
            json!({"min": min}),
        ));
    }
    if length > max {
        return Some(field_error_with(
            "validation_max_text_constraint",
            &format!("Must be no more than {max} character(s)."),
            json!({"max": max}),
        ));
    }
    let matches = pattern.is_empty() || compiled(pattern).is_some_and(|re| re.is_match(text));
    (!matches).then(|| field_error("validation_invalid_format", "Invalid value format."))
}

/// A field pattern compiled once (every record's `id` has one): compiling a regex costs far
/// more than matching it. The cache is cleared if patterns pile up (they come from
/// collection definitions, so there are few).
fn compiled(pattern: &str) -> Option<Regex> {
    static CACHE: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<String, Option<Regex>>>,
    > = std::sync::LazyLock::new(Default::default);
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(found) = cache.get(pattern) {
        return found.clone();
    }
    if cache.len() >= 1024 {
        cache.clear();
    }
    let built = Regex::new(pattern).ok();
    cache.insert(pattern.to_string(), built.clone());
    built
}

fn check_number(
    required: bool,
    n: f64,
    min: Option<f64>,
    max: Option<f64>,
    only_int: bool,
) -> Option<Value> {
    if n == 0.0 {
        return required.then(blank);
    }
    if only_int && n.fract() != 0.0 {
        return Some(field_error(
            "validation_only_int_constraint",
            "Decimal numbers are not allowed.",
        ));
    }
    let show = crate::core::field::number_json;
    if let Some(min) = min.filter(|m| n < *m) {
        return Some(field_error_with(
            "validation_min_number_constraint",
            &format!("Must be greater or equal than {}.", show(min)),
            json!({"min": show(min)}),
        ));
    }
    if let Some(max) = max.filter(|m| n > *m) {
        return Some(field_error_with(
            "validation_max_number_constraint",
            &format!("Must be less or equal than {}.", show(max)),
            json!({"max": show(max)}),
        ));
    }
    None
}

/// Dates compare as PocketBase's text format sorts; messages show Go's time formatting.
fn check_date(required: bool, text: &str, min: &str, max: &str) -> Option<Value> {
    if text.is_empty() {
        return required.then(blank);
    }
    let go = |d: &str| d.get(..19).unwrap_or(d).to_string();
    if !min.is_empty() && text < min {
        return Some(field_error_with(
            "validation_min_greater_equal_than_required",
            &format!("Must be no less than {} +0000 UTC.", go(min)),
            json!({"threshold": format!("{}Z", go(min).replace(' ', "T"))}),
        ));
    }
    if !max.is_empty() && text > max {
        return Some(field_error_with(
            "validation_max_less_equal_than_required",
            &format!("Must be no greater than {} +0000 UTC.", go(max)),
            json!({"threshold": format!("{}Z", go(max).replace(' ', "T"))}),
        ));
    }
    None
}

fn domain_allowed(domain: &str, except: &[String], only: &[String]) -> bool {
    let domain = domain.to_ascii_lowercase();
    let listed = |list: &[String]| list.iter().any(|d| d.eq_ignore_ascii_case(&domain));
    if !only.is_empty() {
        listed(only)
    } else {
        !listed(except)
    }
}

/// The host of an absolute URL with a scheme, `None` if it is not one.
fn url_host(text: &str) -> Option<String> {
    let (scheme, rest) = text.split_once("://")?;
    let valid_scheme = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let host = rest
        .split(['/', '?', '#'])
        .next()?
        .rsplit('@')
        .next()?
        .split(':')
        .next()?;
    (valid_scheme && !host.is_empty() && !text.chars().any(char::is_whitespace))
        .then(|| host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_number_messages() {
        assert_eq!(
            check_text(false, "ab", 3, 10, ""),
            Some(field_error_with(
                "validation_min_text_constraint",
                "Must be at least 3 character(s).",
                json!({"min": 3})
            ))
        );
        assert_eq!(
            check_text(false, "ABC", 0, 0, "^[a-z]+$"),
            Some(field_error(
                "validation_invalid_format",
                "Invalid value format."
            ))
        );
        assert_eq!(
            check_number(false, 101.0, Some(1.0), Some(100.0), true),
            Some(field_error_with(
                "validation_max_number_constraint",
                "Must be less or equal than 100.",
                json!({"max": 100})
            ))
        );
        assert_eq!(
            check_number(false, 0.5, None, None, true),
            Some(field_error(
                "validation_only_int_constraint",
                "Decimal numbers are not allowed."
            ))
        );
    }

    #[test]
    fn dates_and_urls() {
        let error = check_date(
            false,
            "2023-01-01 00:00:00.000Z",
            "2024-01-01 00:00:00.000Z",
            "",
        )
        .expect("error");
        assert_eq!(
            error["message"],
            "Must be no less than 2024-01-01 00:00:00 +0000 UTC."
        );
        assert_eq!(error["params"]["threshold"], "2024-01-01T00:00:00Z");
        assert_eq!(url_host("https://bad.com/x").as_deref(), Some("bad.com"));
        assert_eq!(url_host("nope"), None);
    }
}
