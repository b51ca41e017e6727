//! Superuser accounts (records of `_superusers`), as the `superuser` CLI manages them.
//! Messages match PocketBase's CLI word for word.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::app::App;
use crate::auth::password;
use crate::core::collection::Collection;
use crate::core::validate::is_email;
use crate::core::{datetime, ids};
use crate::store;

pub const COLLECTION: &str = "_superusers";

/// What happened, for the CLI's success line.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Saved,
    PasswordChanged,
    Deleted,
    Missing,
}

fn superusers(app: &App) -> Result<Arc<Collection>, String> {
    app.collection(COLLECTION)
        .ok_or_else(|| "missing _superusers collection".to_string())
}

fn check_password(password: &str) -> Result<(), String> {
    if password.chars().count() < 8 {
        return Err("password: Must be at least 8 character(s).".into());
    }
    if password.len() > 71 {
        return Err("password: Must be no more than 71 character(s).".into());
    }
    Ok(())
}

fn check_email(email: &str) -> Result<(), String> {
    if is_email(email) {
        Ok(())
    } else {
        Err("missing or invalid email address".into())
    }
}

async fn find(
    app: &App,
    collection: &Collection,
    email: &str,
) -> Result<Option<Map<String, Value>>, String> {
    store::records::find_by_field(&app.store().read, collection, "email", email)
        .await
        .map_err(|e| e.to_string())
}

/// `superuser create EMAIL PASSWORD`.
pub async fn create(app: &App, email: &str, pass: &str) -> Result<Outcome, String> {
    check_email(email)?;
    let collection = superusers(app)?;
    let fail = |e: String| format!("failed to create new superuser account: {e}");
    check_password(pass).map_err(fail)?;
    if find(app, &collection, email).await?.is_some() {
        return Err(fail("email: Value must be unique.".into()));
    }
    insert(app, &collection, email, pass).await.map_err(fail)?;
    Ok(Outcome::Created)
}

/// `superuser upsert EMAIL PASSWORD`: creates, or sets the password of an existing one.
pub async fn upsert(app: &App, email: &str, pass: &str) -> Result<Outcome, String> {
    check_email(email)?;
    let collection = superusers(app)?;
    let fail = |e: String| format!("failed to save superuser account: {e}");
    check_password(pass).map_err(fail)?;
    match find(app, &collection, email).await? {
        Some(record) => set_password(app, &collection, &record, pass)
            .await
            .map_err(fail)?,
        None => insert(app, &collection, email, pass).await.map_err(fail)?,
    }
    Ok(Outcome::Saved)
}

/// `superuser update EMAIL PASSWORD`: changes the password of an existing superuser.
pub async fn update(app: &App, email: &str, pass: &str) -> Result<Outcome, String> {
    let collection = superusers(app)?;
    let Some(record) = find(app, &collection, email).await? else {
        return Err(format!("superuser with email {email:?} doesn't exist"));
    };
    let fail = |e: String| format!("failed to change superuser {email:?} password: {e}");
    check_password(pass).map_err(fail)?;
    set_password(app, &collection, &record, pass)
        .await
        .map_err(fail)?;
    Ok(Outcome::PasswordChanged)
}

/// `superuser delete EMAIL`; a missing account is not an error (as in PocketBase).
pub async fn delete(app: &App, email: &str) -> Result<Outcome, String> {
    let collection = superusers(app)?;
    let Some(record) = find(app, &collection, email).await? else {
        return Ok(Outcome::Missing);
    };
    let id = record.get("id").and_then(Value::as_str).unwrap_or_default();
    let mut conn = app.store().writer.turn().await.map_err(|e| e.to_string())?;
    store::records::delete(&mut conn, &collection, id)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Outcome::Deleted)
}

async fn insert(app: &App, collection: &Collection, email: &str, pass: &str) -> Result<(), String> {
    let now = datetime::now();
    let data = json!({
        "id": ids::record_id(),
        "password": password::hash(pass.to_string(), 0).await?,
        "tokenKey": ids::secret(),
        "email": email,
        "emailVisibility": false,
        "verified": true,
        "created": now,
        "updated": now,
    });
    let data = data.as_object().cloned().unwrap_or_default();
    let mut conn = app.store().writer.turn().await.map_err(|e| e.to_string())?;
    store::records::insert(&mut conn, collection, &data)
        .await
        .map_err(|e| e.to_string())
}

/// A new password also rotates `tokenKey`, which invalidates every issued token (§2.3).
async fn set_password(
    app: &App,
    collection: &Collection,
    record: &Map<String, Value>,
    pass: &str,
) -> Result<(), String> {
    let id = record.get("id").and_then(Value::as_str).unwrap_or_default();
    let changes = json!({
        "password": password::hash(pass.to_string(), 0).await?,
        "tokenKey": ids::secret(),
        "updated": datetime::now(),
    });
    let changes = changes.as_object().cloned().unwrap_or_default();
    let mut conn = app.store().writer.turn().await.map_err(|e| e.to_string())?;
    store::records::update(&mut conn, collection, id, &changes)
        .await
        .map_err(|e| e.to_string())
}

/// Whether any superuser exists (drives the installer hint in the banner).
pub async fn any_exists(app: &App) -> bool {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM `_superusers`")
        .fetch_one(&app.store().reader)
        .await
        .is_ok_and(|n| n > 0)
}
