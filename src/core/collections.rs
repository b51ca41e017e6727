//! Collection operations: create, update, delete, truncate and import. Each one validates,
//! then applies its DDL and `_collections` rows in one write transaction, so a failure at
//! any step leaves the database as it was; the cache is reloaded after the commit.

use std::sync::Arc;

use serde_json::{Map, Value};
use sqlx::Connection;

use crate::app::App;
use crate::core::collection::{Collection, CollectionType};
use crate::core::field::FieldOptions;
use crate::core::files::storage::{Removal, Storage};
use crate::core::index::Index;
use crate::core::validate::validate_collection;
use crate::core::view;
use crate::error::{ApiError, FieldErrors, field_error};
use crate::hooks::{self, BoxFuture, CollectionEvent, Hook, HookResult, Hooks};
use crate::store::{self, Change as StoreChange};

#[derive(Debug)]
pub enum CollectionError {
    /// The body could not be read as a collection (not an object, unknown field type, ...).
    Malformed,
    /// Validation failed; field errors in PocketBase's shape.
    Invalid(FieldErrors),
    /// The operation is refused for this collection (system, referenced, or a view), with
    /// PocketBase's message.
    Refused(String),
    Db(sqlx::Error),
    /// A hook handler failed the change; its error is the answer.
    Hook(ApiError),
}

impl From<sqlx::Error> for CollectionError {
    fn from(err: sqlx::Error) -> Self {
        CollectionError::Db(err)
    }
}

enum Change {
    Create(Collection),
    /// The stored version and its replacement (boxed: two collections are large).
    Update(Box<Collection>, Box<Collection>),
    Delete(Collection),
}

/// Creates a collection from an API body, through `onCollectionCreate`.
pub async fn create(
    app: &App,
    body: &Map<String, Value>,
) -> Result<Arc<Collection>, CollectionError> {
    let all = app.collections();
    let collection = prepare_new(app, body, &all).await?;
    let pick: Pick = |h| {
        (
            &h.on_collection_create,
            &h.on_collection_after_create_success,
        )
    };
    let event = run_chain(app, pick, StoreChange::Create, collection, None).await?;
    Ok(app
        .collection(&event.collection.id)
        .unwrap_or_else(|| Arc::new(event.collection)))
}

/// A collection model chain and its after-success chain.
type Pick = fn(&Hooks) -> (&Hook<CollectionEvent>, &Hook<CollectionEvent>);

/// Runs a collection model chain whose default action applies the change (`original` is
/// the stored version for an update), then its after-success chain.
async fn run_chain(
    app: &App,
    pick: Pick,
    change: StoreChange,
    collection: Collection,
    original: Option<Collection>,
) -> Result<CollectionEvent, CollectionError> {
    let mut event = CollectionEvent {
        app: app.clone(),
        collection,
        original,
        change,
        failure: None,
    };
    let (chain, after) = pick(app.hooks());
    let result = chain.trigger(&mut event, &apply_action).await;
    if let Some(failure) = event.failure.take() {
        return Err(failure);
    }
    result.map_err(CollectionError::Hook)?;
    if after.has_handlers() {
        let mut done = CollectionEvent {
            app: app.clone(),
            collection: event.collection.clone(),
            original: event.original.clone(),
            change,
            failure: None,
        };
        if let Err(err) = after.trigger(&mut done, &hooks::proceed).await {
            tracing::error!("an after-success collection hook failed: {err}");
        }
    }
    Ok(event)
}

/// The default action of `onCollectionCreate`/`Update`/`Delete`: applies the change with the
/// collection as the handlers left it. A failure is kept, typed, for the caller.
fn apply_action(e: &mut CollectionEvent) -> BoxFuture<'_, HookResult> {
    Box::pin(async move {
        let change = match (e.change, &e.original) {
            (StoreChange::Delete, _) => Change::Delete(e.collection.clone()),
            (StoreChange::Update, Some(old)) => {
                Change::Update(Box::new(old.clone()), Box::new(e.collection.clone()))
            }
            _ => Change::Create(e.collection.clone()),
        };
        if let Err(err) = apply(&e.app, vec![change]).await {
            e.failure = Some(err);
            return Err(ApiError::bad_request_default());
        }
        Ok(())
    })
}

/// Updates `old` with a partial API body (a `fields` array replaces the whole list).
pub async fn update(
    app: &App,
    old: &Collection,
    body: &Map<String, Value>,
) -> Result<Arc<Collection>, CollectionError> {
    let all = app.collections();
    let new = prepare_update(app, old, body, &all).await?;
    let pick: Pick = |h| {
        (
            &h.on_collection_update,
            &h.on_collection_after_update_success,
        )
    };
    let event = run_chain(app, pick, StoreChange::Update, new, Some(old.clone())).await?;
    Ok(app
        .collection(&event.collection.id)
        .unwrap_or_else(|| Arc::new(event.collection)))
}

/// Deletes a collection and its table; system and referenced collections are refused.
pub async fn delete(app: &App, collection: &Collection) -> Result<(), CollectionError> {
    let all = app.collections();
    if collection.system {
        return Err(CollectionError::Refused(
            "Failed to delete collection.".into(),
        ));
    }
    // A view reading this collection would break (SQLite lets the table go and fails later).
    if all
        .iter()
        .any(|c| c.is_view() && mentions(&c.view_query, &collection.name))
    {
        return Err(CollectionError::Refused(
            "Failed to delete collection.".into(),
        ));
    }
    if let Some(other) = referencing(
        collection,
        all.iter()
            .map(AsRef::as_ref)
            .filter(|c| c.id != collection.id),
    ) {
        let message = format!(
            "Failed to delete collection probably due to existing reference in {}.",
            other.name
        );
        return Err(CollectionError::Refused(message));
    }
    let pick: Pick = |h| {
        (
            &h.on_collection_delete,
            &h.on_collection_after_delete_success,
        )
    };
    let original = Some(collection.clone());
    run_chain(app, pick, StoreChange::Delete, collection.clone(), original).await?;
    remove_files(app, collection);
    Ok(())
}

/// The collection's stored files (every record dir), once its records are gone.
fn remove_files(app: &App, collection: &Collection) {
    if let Some(dir) = Storage::of(app).collection_dir(&collection.id) {
        Removal::Dir(dir).run();
    }
}

/// Deletes every record of a base or auth collection.
pub async fn truncate(app: &App, collection: &Collection) -> Result<(), CollectionError> {
    if collection.is_view() {
        let message =
            "View collections cannot be truncated since they don't store their own records.";
        return Err(CollectionError::Refused(message.into()));
    }
    if collection.name == crate::auth::superusers::COLLECTION {
        // PocketBase refuses too: deleting every superuser would lock the dashboard out.
        let message = "Failed to truncate collection (most likely due to required cascade delete record references).";
        return Err(CollectionError::Refused(message.into()));
    }
    let mut turn = app.store().writer.turn().await?;
    let mut tx = turn.begin().await?;
    store::schema::truncate(&mut tx, collection).await?;
    tx.commit().await?;
    remove_files(app, collection);
    Ok(())
}

/// Creates or updates every collection of `items` (matched by id, then name); with
/// `delete_missing`, deletes the non-system collections not listed. All or nothing.
pub async fn import(
    app: &App,
    items: &[Value],
    delete_missing: bool,
) -> Result<(), CollectionError> {
    let mut working: Vec<Arc<Collection>> = app.collections().to_vec();
    let mut changes = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let body = item.as_object().ok_or(CollectionError::Malformed)?;
        let key = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (id, name) = (key("id"), key("name"));
        let existing = working
            .iter()
            .find(|c| !id.is_empty() && c.id == id)
            .or_else(|| {
                working
                    .iter()
                    .find(|c| !name.is_empty() && c.name.eq_ignore_ascii_case(&name))
            });
        let result = match existing.cloned() {
            Some(old) => prepare_update(app, &old, body, &working)
                .await
                .map(|new| Change::Update(Box::new((*old).clone()), Box::new(new))),
            None => prepare_new(app, body, &working).await.map(Change::Create),
        };
        let change = result.map_err(|err| import_error(i, err))?;
        match &change {
            Change::Create(c) => working.push(Arc::new(c.clone())),
            Change::Update(_, c) => {
                if let Some(slot) = working.iter_mut().find(|w| w.id == c.id) {
                    *slot = Arc::new((**c).clone());
                }
            }
            Change::Delete(_) => {}
        }
        changes.push(change);
    }
    if delete_missing {
        let listed = |c: &Collection| {
            changes.iter().any(|ch| match ch {
                Change::Create(n) => n.id == c.id,
                Change::Update(_, n) => n.id == c.id,
                Change::Delete(_) => false,
            })
        };
        let doomed: Vec<Collection> = working
            .iter()
            .filter(|c| !c.system && !listed(c))
            .map(|c| (**c).clone())
            .collect();
        let kept: Vec<&Collection> = working
            .iter()
            .filter(|c| !doomed.iter().any(|d| d.id == c.id))
            .map(AsRef::as_ref)
            .collect();
        if doomed
            .iter()
            .any(|d| referencing(d, kept.iter().copied()).is_some())
        {
            return Err(CollectionError::Refused(
                "Failed to import collections.".into(),
            ));
        }
        changes.extend(doomed.into_iter().map(Change::Delete));
    }
    apply(app, changes).await
}

fn import_error(index: usize, err: CollectionError) -> CollectionError {
    match err {
        CollectionError::Invalid(fields) => {
            let mut errors = FieldErrors::new();
            let mut inner = Map::new();
            inner.insert(index.to_string(), Value::Object(fields));
            errors.insert("collections".into(), Value::Object(inner));
            CollectionError::Invalid(errors)
        }
        other => other,
    }
}

async fn prepare_new(
    app: &App,
    body: &Map<String, Value>,
    all: &[Arc<Collection>],
) -> Result<Collection, CollectionError> {
    let kind_text = body.get("type").and_then(Value::as_str).unwrap_or("base");
    let Some(kind) = CollectionType::parse(if kind_text.is_empty() {
        "base"
    } else {
        kind_text
    }) else {
        let mut errors = FieldErrors::new();
        errors.insert(
            "type".into(),
            field_error("validation_in_invalid", "Must be a valid value."),
        );
        return Err(CollectionError::Invalid(errors));
    };
    let mut value = Collection::default_json(kind);
    Collection::merge_body(&mut value, body);
    let mut collection = Collection::from_json(&value).map_err(|_| CollectionError::Malformed)?;
    collection.created = String::new();
    check(app, &mut collection, None, all).await?;
    collection.touch();
    Ok(collection)
}

async fn prepare_update(
    app: &App,
    old: &Collection,
    body: &Map<String, Value>,
    all: &[Arc<Collection>],
) -> Result<Collection, CollectionError> {
    let mut value = old.storage_json();
    Collection::merge_body(&mut value, body);
    let mut new = Collection::from_json(&value).map_err(|_| CollectionError::Malformed)?;
    new.id = old.id.clone();
    new.created = old.created.clone();
    new.system = old.system;
    retarget_indexes(old, &mut new);
    check(app, &mut new, Some(old), all).await?;
    new.touch();
    Ok(new)
}

/// Infers a view's fields, then validates; both sets of field errors are reported together.
async fn check(
    app: &App,
    collection: &mut Collection,
    old: Option<&Collection>,
    all: &[Arc<Collection>],
) -> Result<(), CollectionError> {
    let mut errors = FieldErrors::new();
    if collection.is_view()
        && let Err(view_errors) = view::infer_fields(app.store(), collection, all).await
    {
        errors.extend(view_errors);
    }
    let others: Vec<Arc<Collection>> = all
        .iter()
        .filter(|c| old.is_none_or(|o| o.id != c.id))
        .cloned()
        .collect();
    if let Err(invalid) = validate_collection(collection, old, &others) {
        for (key, value) in invalid {
            errors.entry(key).or_insert(value);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CollectionError::Invalid(errors))
    }
}

/// After a collection or column rename, indexes follow the new names (PocketBase does the
/// same); untouched index statements keep their original text.
fn retarget_indexes(old: &Collection, new: &mut Collection) {
    let renamed: Vec<(String, String)> = new
        .fields
        .iter()
        .filter_map(|n| {
            old.fields
                .iter()
                .find(|o| o.id == n.id && o.name != n.name)
                .map(|o| (o.name.clone(), n.name.clone()))
        })
        .collect();
    for sql in new.indexes.iter_mut() {
        let Some(mut index) = Index::parse(sql) else {
            continue;
        };
        let mut changed = false;
        if index.table.eq_ignore_ascii_case(&old.name) && old.name != new.name {
            index.table = new.name.clone();
            changed = true;
        }
        for column in index.columns.iter_mut() {
            let name = column
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            if let Some((_, to)) = renamed
                .iter()
                .find(|(from, _)| from.eq_ignore_ascii_case(&name))
            {
                *column = format!("{to}{}", &column[name.len()..]);
                changed = true;
            }
        }
        if changed {
            *sql = index.to_sql();
        }
    }
}

/// Whether `query` mentions `name` as a whole identifier (case-insensitive).
fn mentions(query: &str, name: &str) -> bool {
    query
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|word| word.eq_ignore_ascii_case(name))
}

/// The first collection with a relation field pointing at `target`.
fn referencing<'a>(
    target: &Collection,
    mut others: impl Iterator<Item = &'a Collection>,
) -> Option<&'a Collection> {
    others.find(|c| {
        c.fields.iter().any(|f| matches!(&f.options, FieldOptions::Relation { collection_id, .. } if collection_id == &target.id))
    })
}

async fn apply(app: &App, changes: Vec<Change>) -> Result<(), CollectionError> {
    let mut turn = app.store().writer.turn().await?;
    let mut tx = turn.begin().await?;
    for change in &changes {
        match change {
            Change::Create(c) => {
                store::schema::create(&mut tx, c).await?;
                store::collections::save(&mut tx, c).await?;
            }
            Change::Update(old, new) => {
                store::schema::update(&mut tx, old, new).await?;
                store::collections::save(&mut tx, new).await?;
            }
            Change::Delete(c) => {
                store::schema::delete(&mut tx, c).await?;
                store::collections::delete(&mut tx, &c.id).await?;
            }
        }
    }
    tx.commit().await?;
    app.reload_collections().await?;
    Ok(())
}
