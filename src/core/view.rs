//! View collections: their fields are inferred from the view query (as PocketBase does):
//! `id` becomes the view's primary key, a column named like a field of the queried
//! collection is a clone of that field, anything else is a `json` field.

use std::sync::Arc;

use crate::core::collection::Collection;
use crate::core::field::{Field, FieldOptions};
use crate::core::ids;
use crate::error::{FieldErrors, field_error};
use crate::store::{self, Store};

/// Normalizes the view query and fills `collection.fields` from its columns.
pub async fn infer_fields(
    store: &Store,
    collection: &mut Collection,
    all: &[Arc<Collection>],
) -> Result<(), FieldErrors> {
    let query = collection
        .view_query
        .trim()
        .trim_end_matches(';')
        .trim()
        .to_string();
    collection.view_query = query.clone();
    let columns = if query.is_empty() {
        Err(field_error("validation_required", "Cannot be blank."))
    } else if query.contains(';') || !starts_with_select(&query) {
        Err(field_error(
            "validation_invalid_view_query",
            "Invalid query - only a single SELECT statement is allowed.",
        ))
    } else {
        let columns = match store.writer.turn().await {
            Ok(mut turn) => store::schema::view_columns(&mut turn, &query).await,
            Err(err) => Err(err.to_string()),
        };
        columns.map_err(|raw| {
            field_error(
                "validation_invalid_view_query",
                &format!("Invalid query - {raw}."),
            )
        })
    };
    let columns = columns.map_err(|query_error| {
        let mut errors = FieldErrors::new();
        errors.insert(
            "fields".into(),
            field_error("validation_required", "Cannot be blank."),
        );
        errors.insert("viewQuery".into(), query_error);
        errors
    })?;
    let source = source_collection(&query, all);
    let previous = std::mem::take(&mut collection.fields);
    for column in columns {
        let mut field = if column == "id" {
            view_id_field()
        } else if let Some(found) = source.and_then(|c| c.field(&column)) {
            let mut clone = found.clone();
            clone.id = format!("_clone_{}", ids::random_string(4, ids::ALNUM));
            clone.system = false;
            clone
        } else {
            Field::new(&column, FieldOptions::Json { max_size: 0 })
        };
        // Keep ids stable across query edits when the column keeps its name and type.
        if let Some(old) = previous
            .iter()
            .find(|f| f.name == field.name && f.kind() == field.kind())
        {
            field.id = old.id.clone();
        }
        if field.id.is_empty() {
            field.id = ids::field_id(field.kind(), &field.name);
        }
        collection.fields.push(field);
    }
    Ok(())
}

fn starts_with_select(query: &str) -> bool {
    let head: String = query
        .chars()
        .take(6)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with("select") || head.starts_with("with")
}

/// The collection named after the first `FROM` of the query, if any.
fn source_collection<'a>(query: &str, all: &'a [Arc<Collection>]) -> Option<&'a Collection> {
    let lower = query.to_ascii_lowercase();
    let at = lower.find(" from ")? + " from ".len();
    let name: String = query[at..]
        .trim_start()
        .trim_start_matches(['`', '"', '['])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    all.iter()
        .find(|c| c.name.eq_ignore_ascii_case(&name))
        .map(AsRef::as_ref)
}

fn view_id_field() -> Field {
    let mut field = Field::new(
        "id",
        FieldOptions::Text {
            min: 0,
            max: 0,
            pattern: "^[a-z0-9]+$".into(),
            autogenerate_pattern: String::new(),
            primary_key: true,
        },
    );
    field.id = ids::field_id("text", "id");
    field.system = true;
    field.required = true;
    field
}
