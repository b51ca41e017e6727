//! The first-run installer: while no superuser exists, `serve` prints a dashboard link
//! carrying an installer token, and that token admits exactly one action, creating the
//! first superuser (`POST /api/installer`, `api::installer`).
//!
//! PocketBase does this differently (`apis/installer.go`): it saves a placeholder superuser
//! `__pbinstaller@example.com` and prints a 30-minute *auth* token of it, so the link is a
//! full superuser session for half an hour and the placeholder row lives in `_superusers`.
//! Satchel's token is not an auth token at all: its `type` is `installer`, it names no
//! record, and its key is derived from the `_superusers` auth secret with a purpose label,
//! so it can never pass for an auth token (nor an auth token for it). It expires after 30
//! minutes like PocketBase's, and once any superuser exists it is worthless: the creation
//! checks that under a lock, so two concurrent installs cannot both succeed.
//!
//! A `pb_data` that PocketBase started but nobody installed holds its placeholder row: it
//! does not count as a superuser here either (as in PocketBase), and the first real
//! superuser's creation deletes it, so PocketBase's printed token for it dies too.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use tokio::sync::Mutex;

use crate::app::App;
use crate::auth::{superusers, token};
use crate::core::collection::Collection;
use crate::core::records::{self, Actor, RecordError};
use crate::error::FieldErrors;
use crate::filter::sql::{Param, SqlExpr};
use crate::store::{self, Db};

/// The `type` claim of an installer token.
pub const TOKEN_TYPE: &str = "installer";
/// How long a printed link works (PocketBase's installer token lasts as long).
pub const LIFETIME_SECS: i64 = 30 * 60;
/// PocketBase's placeholder superuser (`core.DefaultInstallerEmail`).
pub const PLACEHOLDER_EMAIL: &str = "__pbinstaller@example.com";

/// Serializes first-superuser creations: the "none exists yet" check and the insert must
/// not interleave.
static CREATING: Mutex<()> = Mutex::const_new(());

/// Why the first superuser was not created.
#[derive(Debug)]
pub enum InstallError {
    /// The token is malformed, wrongly signed, expired or of another type.
    BadToken,
    /// A superuser exists already: the installer is closed.
    Closed,
    /// Field errors (email, password, passwordConfirm).
    Invalid(FieldErrors),
    /// The write failed (a hook refused it, or the database).
    Record(RecordError),
}

/// A fresh installer token, or `None` when a superuser exists (nothing to install).
pub async fn token_if_needed(app: &App) -> Option<String> {
    if superuser_exists(app).await {
        return None;
    }
    issue(app)
}

/// Whether a superuser other than PocketBase's placeholder exists; a failed read counts as
/// yes, so an error never opens the installer.
pub async fn superuser_exists(app: &App) -> bool {
    let Some(collection) = app.collection(superusers::COLLECTION) else {
        return true;
    };
    let real = SqlExpr {
        sql: "`email` != ?".into(),
        params: vec![Param::Text(PLACEHOLDER_EMAIL.into())],
    };
    let no_order = SqlExpr {
        sql: String::new(),
        params: Vec::new(),
    };
    let db = Db::Shared(app.store());
    store::records::find_all(db, &collection, &real, &no_order, 1, 0)
        .await
        .map_or(true, |found| !found.is_empty())
}

/// An installer token valid for [`LIFETIME_SECS`] (regardless of whether one is needed).
pub fn issue(app: &App) -> Option<String> {
    issue_valid_for(app, LIFETIME_SECS)
}

/// An installer token that expires `seconds` from now (tests use a negative lifetime).
pub fn issue_valid_for(app: &App, seconds: i64) -> Option<String> {
    let collection = app.collection(superusers::COLLECTION)?;
    let claims = json!({
        "collectionId": collection.id,
        "exp": chrono::Utc::now().timestamp() + seconds,
        "type": TOKEN_TYPE,
    });
    Some(token::sign(&claims, &signing_key(&collection)?))
}

/// The dashboard link the banner prints for `token` (`base` = `http://host:port`).
/// PocketBase 0.40.6 prints `#/pbinstall/`; the dashboard also accepts its source's older
/// spelling `#/pbinstal/`.
pub fn link(base: &str, token: &str) -> String {
    format!("{}/_/#/pbinstall/{token}", base.trim_end_matches('/'))
}

/// Whether `raw` is a valid, unexpired installer token of this app.
pub fn verify(app: &App, raw: &str) -> bool {
    let Some(collection) = app.collection(superusers::COLLECTION) else {
        return false;
    };
    let Some(key) = signing_key(&collection) else {
        return false;
    };
    token::verify(raw, &key).is_some_and(|claims| {
        claims.get("type").and_then(Value::as_str) == Some(TOKEN_TYPE)
            && claims.get("collectionId").and_then(Value::as_str) == Some(collection.id.as_str())
    })
}

/// Creates the first superuser from `{email, password, passwordConfirm}` if `raw` is a
/// valid installer token and no superuser exists; returns the stored record.
pub async fn create_first_superuser(
    app: &App,
    raw: &str,
    body: &Map<String, Value>,
) -> Result<(Arc<Collection>, Map<String, Value>), InstallError> {
    if !verify(app, raw) {
        return Err(InstallError::BadToken);
    }
    let collection = app
        .collection(superusers::COLLECTION)
        .ok_or(InstallError::BadToken)?;
    let text = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or_default();
    let _creating = CREATING.lock().await;
    if superuser_exists(app).await {
        return Err(InstallError::Closed);
    }
    let mut input = Map::new();
    input.insert("email".into(), json!(text("email")));
    input.insert("password".into(), json!(text("password")));
    input.insert("passwordConfirm".into(), json!(text("passwordConfirm")));
    input.insert("verified".into(), json!(true));
    let db = Db::Shared(app.store());
    let record = match records::prepare_create(app, db, &collection, &input, Actor::SUPERUSER).await
    {
        Ok(record) => record,
        Err(RecordError::Invalid(errors)) => return Err(InstallError::Invalid(errors)),
        Err(err) => return Err(InstallError::Record(err)),
    };
    records::insert(app, db, &collection, &record)
        .await
        .map_err(InstallError::Record)?;
    remove_placeholder(app, &collection).await;
    Ok((collection, record))
}

async fn remove_placeholder(app: &App, collection: &Collection) {
    let reader = &app.store().read;
    let Ok(Some(found)) =
        store::records::find_by_field(reader, collection, "email", PLACEHOLDER_EMAIL).await
    else {
        return;
    };
    let id = found.get("id").and_then(Value::as_str).unwrap_or_default();
    let db = Db::Shared(app.store());
    if let Err(err) = records::delete(app, db, collection, id).await {
        tracing::warn!("could not delete PocketBase's installer placeholder: {err:?}");
    }
}

/// HMAC(auth secret of `_superusers`, purpose label): a key no other token kind uses.
fn signing_key(collection: &Collection) -> Option<String> {
    let secret = &collection.auth.as_ref()?.auth_token.secret;
    if secret.is_empty() {
        return None;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(b"satchel installer token v1");
    let key = mac.finalize().into_bytes();
    Some(key.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_use_the_binary_spelling() {
        assert_eq!(
            link("http://127.0.0.1:8090/", "abc"),
            "http://127.0.0.1:8090/_/#/pbinstall/abc"
        );
    }
}
