//! Record writes: preparing a create or update (casting, validation, auth-record form
//! rules, relation checks, password hashing), saving it, and deleting with PocketBase's
//! relation semantics. API rules are the caller's job (they need the request); this module
//! is the single implementation every face uses.

use serde_json::{Map, Value, json};

use crate::app::App;
use crate::auth::password;
use crate::core::collection::{Collection, CollectionType};
use crate::core::field::FieldOptions;
use crate::core::files::{self, Uploads, storage::Removal, storage::Storage};
use crate::core::ids;
use crate::core::record::input::{self, Writer, to_strings, to_text};
use crate::core::record::validate::{check_text, validate};
use crate::error::ApiError;
use crate::error::{FieldErrors, field_error};
use crate::filter::sql::SqlExpr;
use crate::hooks::{Action, BoxFuture, HookResult, RecordEvent};
use crate::store::{self, Change, Committed, Db, DbHandle};
use sqlx::{Connection, SqliteConnection};

#[derive(Debug)]
pub enum RecordError {
    /// Field errors (400 `Failed to create/update record.`).
    Invalid(FieldErrors),
    /// Refused with a fixed message (400), e.g. writes to view collections.
    Refused(&'static str),
    Db(sqlx::Error),
    /// A hook handler failed the write; its error is the answer.
    Hook(ApiError),
}

impl From<ApiError> for RecordError {
    fn from(err: ApiError) -> Self {
        RecordError::Hook(err)
    }
}

impl From<sqlx::Error> for RecordError {
    fn from(err: sqlx::Error) -> Self {
        RecordError::Db(err)
    }
}

/// Who is writing: superusers and requesters satisfying `manageRule` skip the auth-record
/// form rules (§2.3).
#[derive(Debug, Clone, Copy, Default)]
pub struct Actor {
    pub superuser: bool,
    pub manager: bool,
}

impl Actor {
    pub const SUPERUSER: Actor = Actor {
        superuser: true,
        manager: true,
    };
}

/// The record a create would insert, validated; nothing is written.
pub async fn prepare_create(
    app: &App,
    db: Db<'_>,
    collection: &Collection,
    body: &Map<String, Value>,
    actor: Actor,
) -> Result<Map<String, Value>, RecordError> {
    prepare_create_with_files(app, db, collection, body, &Uploads::default(), actor).await
}

/// [`prepare_create`] with files uploaded beside the body (their names are in it).
pub async fn prepare_create_with_files(
    app: &App,
    db: Db<'_>,
    collection: &Collection,
    body: &Map<String, Value>,
    uploads: &Uploads,
    actor: Actor,
) -> Result<Map<String, Value>, RecordError> {
    refuse_views(collection)?;
    let record = input::apply(
        collection,
        None,
        body,
        Writer {
            superuser: actor.superuser,
        },
    );
    let mut errors = validate(collection, &record, None, uploads);
    if collection.is_auth() {
        auth_create_rules(collection, body, &record, actor, &mut errors);
    }
    check_relations(app, db, collection, &record, &mut errors).await?;
    let mut record = validate_chain(app, db, collection, record, errors).await?;
    hash_password(collection, &mut record, None).await?;
    Ok(record)
}

/// `onRecordValidate`: handlers see the would-be record (and may change it or fail the
/// write); the default action reports the field errors found.
async fn validate_chain(
    app: &App,
    db: Db<'_>,
    collection: &Collection,
    record: Map<String, Value>,
    errors: FieldErrors,
) -> Result<Map<String, Value>, RecordError> {
    let hook = &app.hooks().on_record_validate;
    if !hook.has_handlers() {
        return match errors.is_empty() {
            true => Ok(record),
            false => Err(RecordError::Invalid(errors)),
        };
    }
    let mut event = record_event(app, db, collection, &record);
    if !errors.is_empty() {
        event.failure = Some(RecordError::Invalid(errors));
    }
    let result = hook.trigger(&mut event, &validate_action).await;
    let failure = event.failure.take();
    if event.validated
        && let Some(failure) = failure
    {
        return Err(failure);
    }
    result.map_err(RecordError::Hook)?;
    Ok(event.record)
}

/// Fails the chain with the field errors found before it, if any.
fn validate_action(e: &mut RecordEvent) -> BoxFuture<'_, HookResult> {
    e.validated = true;
    let invalid = e.failure.is_some();
    Box::pin(async move {
        match invalid {
            true => Err(ApiError::bad_request_default()),
            false => Ok(()),
        }
    })
}

/// The record an update would store, validated; nothing is written.
pub async fn prepare_update(
    app: &App,
    db: Db<'_>,
    collection: &Collection,
    existing: &Map<String, Value>,
    body: &Map<String, Value>,
    actor: Actor,
) -> Result<Map<String, Value>, RecordError> {
    let none = Uploads::default();
    prepare_update_with_files(app, db, collection, existing, body, &none, actor).await
}

/// [`prepare_update`] with files uploaded beside the body (their names are in it).
pub async fn prepare_update_with_files(
    app: &App,
    db: Db<'_>,
    collection: &Collection,
    existing: &Map<String, Value>,
    body: &Map<String, Value>,
    uploads: &Uploads,
    actor: Actor,
) -> Result<Map<String, Value>, RecordError> {
    refuse_views(collection)?;
    let mut record = input::apply(
        collection,
        Some(existing),
        body,
        Writer {
            superuser: actor.superuser,
        },
    );
    let mut errors = validate(collection, &record, Some(existing), uploads);
    if collection.is_auth() {
        auth_update_rules(collection, body, existing, &mut record, actor, &mut errors).await;
    }
    check_relations(app, db, collection, &record, &mut errors).await?;
    let mut record = validate_chain(app, db, collection, record, errors).await?;
    hash_password(collection, &mut record, Some(existing)).await?;
    Ok(record)
}

/// Inserts a prepared record through the `onRecordCreate` chain; a unique index violation
/// becomes `validation_not_unique`.
pub async fn insert(
    app: &App,
    db: Db<'_>,
    collection: &Collection,
    record: &Map<String, Value>,
) -> Result<(), RecordError> {
    insert_with_files(app, db, collection, record, &Uploads::default()).await
}

/// [`insert`], storing the uploads the record names first (removed again if the row is
/// not written, or its transaction never commits).
pub async fn insert_with_files(
    app: &App,
    db: Db<'_>,
    collection: &Collection,
    record: &Map<String, Value>,
    uploads: &Uploads,
) -> Result<(), RecordError> {
    let written = files::write_new(app, collection, record, uploads)
        .await
        .map_err(|e| RecordError::Db(sqlx::Error::Io(e)))?;
    let mut event = record_event(app, db, collection, record);
    let result = run_chain(Change::Create, &mut event, &insert_action).await;
    files::settle(db, written, result.is_ok());
    result?;
    after_success(app, db, Change::Create, event).await;
    Ok(())
}

fn insert_action(e: &mut RecordEvent) -> BoxFuture<'_, HookResult> {
    Box::pin(async move {
        let collection = &e.collection;
        let result = match e.db.db(e.app.store()) {
            Db::Shared(store) => match store.writer.turn().await {
                Ok(turn) => store::records::insert_now(turn.sync(), collection, &e.record),
                Err(err) => Err(err),
            },
            Db::Tx(tx) => {
                store::records::insert(&mut **tx.lock().await, collection, &e.record).await
            }
        };
        let result = result.map_err(|err| unique_error(collection, err));
        keep_failure(e, result)
    })
}

/// Stores a prepared update of the record `id` through the `onRecordUpdate` chain. A new
/// `tokenKey` also deletes the record's OTPs (PocketBase does so whenever the key changes).
pub async fn save(
    app: &App,
    db: Db<'_>,
    collection: &Collection,
    id: &str,
    record: &Map<String, Value>,
) -> Result<(), RecordError> {
    save_with_files(app, db, collection, id, record, &Uploads::default()).await
}

/// [`save`], storing the uploads the record names first; files it no longer names are
/// removed once the update is durable.
pub async fn save_with_files(
    app: &App,
    db: Db<'_>,
    collection: &Collection,
    id: &str,
    record: &Map<String, Value>,
    uploads: &Uploads,
) -> Result<(), RecordError> {
    let mut record = record.clone();
    record.insert("id".into(), json!(id));
    let mut event = record_event(app, db, collection, &record);
    if app.hooks().on_record_update.has_handlers() || files::has_file_fields(collection) {
        event.original =
            store::records::find_matching(db, collection, id, &SqlExpr::always()).await?;
    }
    let written = files::write_new(app, collection, &record, uploads)
        .await
        .map_err(|e| RecordError::Db(sqlx::Error::Io(e)))?;
    let result = run_chain(Change::Update, &mut event, &save_action).await;
    files::settle(db, written, result.is_ok());
    result?;
    if let Some(original) = &event.original
        && let Some(dropped) = files::dropped(app, collection, original, &event.record)
    {
        files::remove_when_durable(db, dropped);
    }
    after_success(app, db, Change::Update, event).await;
    Ok(())
}

fn save_action(e: &mut RecordEvent) -> BoxFuture<'_, HookResult> {
    Box::pin(async move {
        let (collection, record, id) = (&e.collection, &e.record, e.id.clone());
        let result = match e.db.db(e.app.store()) {
            // One statement unless a new `tokenKey` also drops the record's OTPs.
            Db::Shared(store) if !collection.is_auth() => match store.writer.turn().await {
                Ok(turn) => store::records::update_now(turn.sync(), collection, &id, record)
                    .map_err(|e| unique_error(collection, e)),
                Err(err) => Err(RecordError::Db(err)),
            },
            Db::Shared(store) => {
                async {
                    let mut turn = store.writer.turn().await?;
                    let mut tx = turn.begin().await?;
                    save_in(&mut tx, collection, &id, record).await?;
                    Ok(tx.commit().await?)
                }
                .await
            }
            Db::Tx(tx) => save_in(&mut **tx.lock().await, collection, &id, record).await,
        };
        keep_failure(e, result)
    })
}

async fn save_in(
    conn: &mut SqliteConnection,
    collection: &Collection,
    id: &str,
    record: &Map<String, Value>,
) -> Result<(), RecordError> {
    if let Some(key) = record.get("tokenKey").and_then(Value::as_str)
        && collection.is_auth()
    {
        store::auth::delete_otps_if_key_changes(conn, collection, id, key).await?;
    }
    store::records::update(conn, collection, id, record)
        .await
        .map_err(|e| unique_error(collection, e))
}

/// Changes an auth record as the engine's own flows do (verification, password reset,
/// email change, OTP): no form rules; a `password` in `changes` is plain text and gets
/// hashed, and a new password or email rotates `tokenKey` (revoking every token and OTP).
/// Returns the stored record.
pub async fn update_auth(
    app: &App,
    collection: &Collection,
    existing: &Map<String, Value>,
    changes: Map<String, Value>,
) -> Result<Map<String, Value>, RecordError> {
    let mut record = input::apply(
        collection,
        Some(existing),
        &Map::new(),
        Writer { superuser: true },
    );
    let rotates = changes.contains_key("password")
        || changes
            .get("email")
            .is_some_and(|e| Some(e) != existing.get("email"));
    record.extend(changes);
    if rotates {
        record.insert("tokenKey".into(), json!(ids::secret()));
    }
    hash_password(collection, &mut record, Some(existing)).await?;
    let id = existing.get("id").map(to_text).unwrap_or_default();
    save(app, Db::Shared(app.store()), collection, &id, &record).await?;
    Ok(record)
}

/// Deletes a record: relations pointing at it with `cascadeDelete` delete their records,
/// other references are removed from their lists; a required single reference refuses.
pub async fn delete(
    app: &App,
    db: Db<'_>,
    collection: &Collection,
    id: &str,
) -> Result<(), RecordError> {
    refuse_views(collection)?;
    let existing = store::records::find_matching(db, collection, id, &SqlExpr::always())
        .await?
        .unwrap_or_else(|| {
            let mut record = Map::new();
            record.insert("id".into(), json!(id));
            record
        });
    let mut event = record_event(app, db, collection, &existing);
    run_chain(Change::Delete, &mut event, &delete_action).await?;
    after_success(app, db, Change::Delete, event).await;
    Ok(())
}

fn delete_action(e: &mut RecordEvent) -> BoxFuture<'_, HookResult> {
    Box::pin(async move {
        let (app, collection, id) = (&e.app, &e.collection, e.id.clone());
        let db = e.db.db(app.store());
        let deleted = match db {
            Db::Shared(store) => {
                async {
                    let mut turn = store.writer.turn().await?;
                    let mut tx = turn.begin().await?;
                    let deleted = delete_in(app, &mut tx, collection, &id).await?;
                    tx.commit().await?;
                    Ok(deleted)
                }
                .await
            }
            Db::Tx(tx) => delete_in(app, &mut **tx.lock().await, collection, &id).await,
        };
        // The deleted records' files (cascades included) go once the delete is durable.
        let result = deleted.map(|deleted| {
            let storage = Storage::of(app);
            for (collection_id, record_id) in deleted {
                if let Some(dir) = storage.record_dir(&collection_id, &record_id) {
                    files::remove_when_durable(db, Removal::Dir(dir));
                }
            }
        });
        keep_failure(e, result)
    })
}

fn record_event(
    app: &App,
    db: Db<'_>,
    collection: &Collection,
    record: &Map<String, Value>,
) -> RecordEvent {
    RecordEvent {
        app: app.clone(),
        db: db.handle(),
        collection: collection.clone(),
        id: record.get("id").map(to_text).unwrap_or_default(),
        record: record.clone(),
        original: None,
        error: None,
        failure: None,
        validated: false,
    }
}

/// Runs a model chain. A failure of the default action (the write) comes back as its own
/// `RecordError` (field errors, refusals); a handler's error as `RecordError::Hook`.
async fn run_chain(
    change: Change,
    event: &mut RecordEvent,
    action: Action<'_, RecordEvent>,
) -> Result<(), RecordError> {
    let app = event.app.clone();
    let hooks = app.hooks();
    let (hook, after_error) = match change {
        Change::Create => (&hooks.on_record_create, &hooks.on_record_after_create_error),
        Change::Update => (&hooks.on_record_update, &hooks.on_record_after_update_error),
        Change::Delete => (&hooks.on_record_delete, &hooks.on_record_after_delete_error),
    };
    let result = hook.trigger(event, action).await;
    let outcome = match event.failure.take() {
        Some(failure) => Err(failure),
        None => result.map_err(RecordError::Hook),
    };
    if let Err(err) = &outcome
        && after_error.has_handlers()
    {
        let mut failed = RecordEvent {
            app: event.app.clone(),
            db: event.db.clone(),
            collection: event.collection.clone(),
            record: event.record.clone(),
            id: event.id.clone(),
            original: event.original.clone(),
            error: Some(error_text(err)),
            failure: None,
            validated: false,
        };
        if let Err(hook_err) = after_error.trigger(&mut failed, &noop).await {
            tracing::warn!("after-error hook failed: {}", hook_err.message);
        }
    }
    outcome
}

/// A write failure as `e.error` shows it to the after-error hooks.
fn error_text(err: &RecordError) -> String {
    match err {
        RecordError::Invalid(errors) => serde_json::Value::Object(errors.clone()).to_string(),
        RecordError::Refused(message) => message.to_string(),
        RecordError::Db(err) => err.to_string(),
        RecordError::Hook(err) => err.message.clone(),
    }
}

/// Parks the write's own error in the event, and fails the chain.
fn keep_failure(e: &mut RecordEvent, result: Result<(), RecordError>) -> HookResult {
    result.map_err(|err| {
        e.failure = Some(err);
        ApiError::bad_request_default()
    })
}

/// The "after success" chain now, or when the batch's transaction commits.
async fn after_success(app: &App, db: Db<'_>, change: Change, event: RecordEvent) {
    match db {
        Db::Tx(tx) => tx.defer(Committed {
            change,
            collection: event.collection,
            record: event.record,
        }),
        Db::Shared(_) => {
            committed(
                app,
                Committed {
                    change,
                    collection: event.collection,
                    record: event.record,
                },
            )
            .await
        }
    }
}

/// Fires the "after success" chain of a committed change (handler errors are logged: the
/// change stands).
pub async fn committed(app: &App, change: Committed) {
    let hooks = app.hooks();
    let hook = match change.change {
        Change::Create => &hooks.on_record_after_create_success,
        Change::Update => &hooks.on_record_after_update_success,
        Change::Delete => &hooks.on_record_after_delete_success,
    };
    let mut event = RecordEvent {
        app: app.clone(),
        db: DbHandle::Shared,
        collection: change.collection,
        id: change.record.get("id").map(to_text).unwrap_or_default(),
        record: change.record,
        original: None,
        error: None,
        failure: None,
        validated: false,
    };
    if let Err(err) = hook.trigger(&mut event, &noop).await {
        tracing::warn!(
            "after-success hook of {} failed: {}",
            event.collection.name,
            err.message
        );
    }
}

fn noop(_: &mut RecordEvent) -> BoxFuture<'_, HookResult> {
    Box::pin(std::future::ready(Ok(())))
}

/// Deletes the record and what cascades from it; returns every deleted `(collection id,
/// record id)`.
async fn delete_in(
    app: &App,
    tx: &mut SqliteConnection,
    collection: &Collection,
    id: &str,
) -> Result<Vec<(String, String)>, RecordError> {
    let mut deleted = vec![(collection.id.clone(), id.to_string())];
    let all = app.collections();
    for other in all.iter().filter(|c| !c.is_view()) {
        for field in other.fields.iter() {
            let FieldOptions::Relation {
                collection_id,
                cascade_delete,
                ..
            } = &field.options
            else {
                continue;
            };
            if collection_id != &collection.id {
                continue;
            }
            let referencing = store::records::referencing(tx, other, field, id).await?;
            for mut row in referencing {
                let row_id = row.get("id").map(to_text).unwrap_or_default();
                let remaining: Vec<String> =
                    to_strings(row.get(&field.name).unwrap_or(&Value::Null))
                        .into_iter()
                        .filter(|r| r != id)
                        .collect();
                if *cascade_delete {
                    store::records::delete(tx, other, &row_id).await?;
                    deleted.push((other.id.clone(), row_id));
                } else if field.required && remaining.is_empty() {
                    return Err(RecordError::Refused(
                        "Failed to delete record. Make sure that the record is not part of a required relation reference.",
                    ));
                } else {
                    row.insert(field.name.clone(), input::cast(field, &json!(remaining)));
                    store::records::update(tx, other, &row_id, &row).await?;
                }
            }
        }
    }
    store::records::delete(tx, collection, id).await?;
    if collection.is_auth() {
        store::auth::delete_for_record(tx, &collection.id, id).await?;
    }
    Ok(deleted)
}

fn refuse_views(collection: &Collection) -> Result<(), RecordError> {
    match collection.kind {
        CollectionType::View => Err(RecordError::Refused("Unsupported collection type.")),
        _ => Ok(()),
    }
}

fn mismatch() -> Value {
    field_error("validation_values_mismatch", "Values don't match.")
}

fn text(body: &Map<String, Value>, key: &str) -> String {
    body.get(key).map(to_text).unwrap_or_default()
}

/// Create: `password` + matching `passwordConfirm`; only managers may create verified records.
fn auth_create_rules(
    collection: &Collection,
    body: &Map<String, Value>,
    record: &Map<String, Value>,
    actor: Actor,
    errors: &mut FieldErrors,
) {
    let pass = text(body, "password");
    check_password(collection, &pass, true, errors);
    if !pass.is_empty() && text(body, "passwordConfirm") != pass {
        errors.insert("passwordConfirm".into(), mismatch());
    }
    if !actor.manager && record.get("verified") == Some(&Value::Bool(true)) {
        errors.insert("verified".into(), mismatch());
    }
}

/// Update: non-managers may not change `email` or `verified`, and need `oldPassword` to
/// change the password; a new password or email rotates `tokenKey` (revoking tokens).
async fn auth_update_rules(
    collection: &Collection,
    body: &Map<String, Value>,
    existing: &Map<String, Value>,
    record: &mut Map<String, Value>,
    actor: Actor,
    errors: &mut FieldErrors,
) {
    let changed = |key: &str| record.get(key) != existing.get(key);
    if !actor.manager && changed("email") {
        errors.insert("email".into(), mismatch());
    }
    if !actor.manager && changed("verified") {
        errors.insert("verified".into(), mismatch());
    }
    let email_changed = changed("email");
    let pass = text(body, "password");
    if pass.is_empty() {
        // Keep the stored hash: the plain value never replaces it with "".
        record.insert(
            "password".into(),
            existing.get("password").cloned().unwrap_or(json!("")),
        );
    } else {
        check_password(collection, &pass, false, errors);
        if text(body, "passwordConfirm") != pass {
            errors.insert("passwordConfirm".into(), mismatch());
        }
        if !actor.manager {
            let old = text(body, "oldPassword");
            let stored = existing.get("password").map(to_text).unwrap_or_default();
            if old.is_empty() {
                errors.insert(
                    "oldPassword".into(),
                    field_error("validation_required", "Cannot be blank."),
                );
            } else if !password::verify(old, stored).await {
                errors.insert(
                    "oldPassword".into(),
                    field_error(
                        "validation_invalid_old_password",
                        "Missing or invalid old password.",
                    ),
                );
            }
        }
    }
    if email_changed || !pass.is_empty() {
        record.insert("tokenKey".into(), json!(ids::secret()));
    }
}

fn check_password(collection: &Collection, pass: &str, required: bool, errors: &mut FieldErrors) {
    let Some(FieldOptions::Password {
        min, max, pattern, ..
    }) = collection.field("password").map(|f| &f.options)
    else {
        return;
    };
    let max = if *max <= 0 { 71 } else { *max };
    if let Some(error) = check_text(required, pass, *min, max, pattern) {
        errors.insert("password".into(), error);
    }
}

/// Replaces a new plain-text password with its bcrypt hash (the field's cost).
async fn hash_password(
    collection: &Collection,
    record: &mut Map<String, Value>,
    existing: Option<&Map<String, Value>>,
) -> Result<(), RecordError> {
    for field in &collection.fields {
        let FieldOptions::Password { cost, .. } = field.options else {
            continue;
        };
        let value = record.get(&field.name).map(to_text).unwrap_or_default();
        let unchanged =
            existing.and_then(|e| e.get(&field.name)).map(to_text) == Some(value.clone());
        if value.is_empty() || unchanged {
            continue;
        }
        let hash = password::hash(value, cost as u32)
            .await
            .map_err(|e| RecordError::Db(sqlx::Error::Protocol(e)))?;
        record.insert(field.name.clone(), json!(hash));
    }
    Ok(())
}

/// Every id in a relation field must exist in its collection.
async fn check_relations(
    app: &App,
    db: Db<'_>,
    collection: &Collection,
    record: &Map<String, Value>,
    errors: &mut FieldErrors,
) -> Result<(), RecordError> {
    for field in &collection.fields {
        let FieldOptions::Relation { collection_id, .. } = &field.options else {
            continue;
        };
        if errors.contains_key(&field.name) {
            continue;
        }
        let ids = to_strings(record.get(&field.name).unwrap_or(&Value::Null));
        if ids.is_empty() {
            continue;
        }
        let target = app.collection(collection_id);
        let found = match &target {
            Some(target) => store::records::count_ids(db, target, &ids).await?,
            None => 0,
        };
        if found != ids.len() as i64 {
            errors.insert(
                field.name.clone(),
                field_error(
                    "validation_missing_rel_records",
                    "Failed to find all relation records with the provided ids.",
                ),
            );
        }
    }
    Ok(())
}

/// `UNIQUE constraint failed: posts.email` → `{"email": validation_not_unique}`.
fn unique_error(collection: &Collection, err: sqlx::Error) -> RecordError {
    if let sqlx::Error::Database(db) = &err {
        let message = db.message();
        if let Some(columns) = message.strip_prefix("UNIQUE constraint failed: ") {
            let mut errors = FieldErrors::new();
            for column in columns.split(", ") {
                let name = column.rsplit('.').next().unwrap_or(column);
                if collection.field(name).is_some() {
                    errors.insert(
                        name.to_string(),
                        field_error("validation_not_unique", "Value must be unique."),
                    );
                }
            }
            if !errors.is_empty() {
                return RecordError::Invalid(errors);
            }
        }
    }
    RecordError::Db(err)
}
