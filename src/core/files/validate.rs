//! A file field's value checks, in PocketBase's order (`core/field_file.go` `ValidateValue`,
//! codes and messages as 0.40.6 answers): required, names that are neither stored already
//! nor new uploads, `maxSelect`, then per new upload its size (`maxSize`, default 5 MiB)
//! and its sniffed type (`mimeTypes`).

use serde_json::{Value, json};

use crate::core::field::{Field, FieldOptions};
use crate::core::files::Uploads;
use crate::core::record::input::to_strings;
use crate::error::{field_error, field_error_with};

/// PocketBase's `maxSize` when a field sets 0.
pub const DEFAULT_MAX_SIZE: i64 = 5 << 20;

/// The field's error for `value` (`old` = the stored value on update), `None` when valid.
pub fn check(
    field: &Field,
    value: &Value,
    old: Option<&Value>,
    uploads: &Uploads,
) -> Option<Value> {
    let FieldOptions::File {
        max_select,
        max_size,
        mime_types,
        ..
    } = &field.options
    else {
        return None;
    };
    let names = to_strings(value);
    if names.is_empty() {
        return field
            .required
            .then(|| field_error("validation_required", "Cannot be blank."));
    }
    let stored = old.map(to_strings).unwrap_or_default();
    let invalid: Vec<String> = names
        .iter()
        .filter(|n| !stored.contains(n) && uploads.get(n).is_none())
        .map(|n| n.chars().take(250).collect())
        .collect();
    if !invalid.is_empty() {
        return Some(field_error_with(
            "validation_invalid_file",
            &format!("Invalid new files: [{}].", invalid.join(" ")),
            json!({"invalidFiles": invalid}),
        ));
    }
    let max_select = (*max_select).max(1);
    if names.len() as i64 > max_select {
        return Some(field_error_with(
            "validation_too_many_files",
            &format!("The maximum allowed files is {max_select}."),
            json!({"maxSelect": max_select}),
        ));
    }
    let max_size = if *max_size <= 0 {
        DEFAULT_MAX_SIZE
    } else {
        *max_size
    };
    names
        .iter()
        .filter(|n| !stored.contains(n))
        .filter_map(|n| uploads.get(n))
        .find_map(|upload| {
            if upload.data.len() as i64 > max_size {
                return Some(field_error_with(
                    "validation_file_size_limit",
                    &format!(
                        "Failed to upload {} - the maximum allowed file size is {max_size} bytes.",
                        upload.original_name
                    ),
                    json!({"file": upload.original_name, "maxSize": max_size}),
                ));
            }
            let allowed = mime_types.is_empty() || mime_types.iter().any(|t| upload.mime.is(t));
            (!allowed).then(|| {
                field_error(
                    "validation_invalid_mime_type",
                    &format!(
                        "{} mime type must be one of: {}.",
                        Value::String(upload.name.clone()),
                        mime_types.join(", ")
                    ),
                )
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::files::Upload;
    use axum::body::Bytes;

    fn field(max_select: i64, max_size: i64, mime_types: &[&str]) -> Field {
        Field::new(
            "docs",
            FieldOptions::File {
                max_select,
                max_size,
                mime_types: mime_types.iter().map(|t| t.to_string()).collect(),
                thumbs: vec![],
                protected: false,
            },
        )
    }

    #[test]
    fn errors_like_pocketbase() {
        let upload = Upload::new("docs", "big.txt", Bytes::from(vec![b'0'; 200]));
        let name = upload.name.clone();
        let uploads = Uploads::new(vec![upload]);
        let error = |f: &Field, value: Value, old: Option<Value>| {
            check(f, &value, old.as_ref(), &uploads).map(|e| e.to_string())
        };
        assert_eq!(
            error(&field(1, 100, &[]), json!(name), None).unwrap(),
            r#"{"code":"validation_file_size_limit","message":"Failed to upload big.txt - the maximum allowed file size is 100 bytes.","params":{"file":"big.txt","maxSize":100}}"#
        );
        assert_eq!(
            error(
                &field(1, 0, &["image/png", "text/plain"]),
                json!(name),
                None
            ),
            None
        );
        assert_eq!(
            error(&field(1, 0, &["image/png"]), json!(name), None).unwrap(),
            format!(
                r#"{{"code":"validation_invalid_mime_type","message":"\"{name}\" mime type must be one of: image/png."}}"#
            )
        );
        assert_eq!(
            error(&field(3, 0, &[]), json!(["nope.png", "x.txt"]), None).unwrap(),
            r#"{"code":"validation_invalid_file","message":"Invalid new files: [nope.png x.txt].","params":{"invalidFiles":["nope.png","x.txt"]}}"#
        );
        assert_eq!(
            error(
                &field(2, 0, &[]),
                json!(["a", "b", name]),
                Some(json!(["a", "b"]))
            )
            .unwrap(),
            r#"{"code":"validation_too_many_files","message":"The maximum allowed files is 2.","params":{"maxSelect":2}}"#
        );
        // Files already stored are not checked again (limits may have changed since).
        assert_eq!(
            error(
                &field(2, 1, &["image/png"]),
                json!(["a"]),
                Some(json!(["a"]))
            ),
            None
        );
    }
}
