//! The record tokens of §5.3: which secret and duration each kind uses, the claims each
//! carries (keys sorted, no `iat`), and finding the record a token was issued for.
//! Signing key = the record's `tokenKey` + the collection's secret for that kind, so rotating
//! `tokenKey` revokes every token of the record.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::app::App;
use crate::auth::token;
use crate::core::auth_options::{AuthOptions, TokenConfig};
use crate::core::collection::Collection;
use crate::store;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Auth,
    Verification,
    PasswordReset,
    EmailChange,
    File,
}

impl Kind {
    /// The `type` claim.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Auth => "auth",
            Kind::Verification => "verification",
            Kind::PasswordReset => "passwordReset",
            Kind::EmailChange => "emailChange",
            Kind::File => "file",
        }
    }

    fn config(self, options: &AuthOptions) -> &TokenConfig {
        match self {
            Kind::Auth => &options.auth_token,
            Kind::Verification => &options.verification_token,
            Kind::PasswordReset => &options.password_reset_token,
            Kind::EmailChange => &options.email_change_token,
            Kind::File => &options.file_token,
        }
    }
}

/// A token of `kind` for `record`. `extra` claims (`email`, `newEmail`, `refreshable`) are
/// merged in; `duration` overrides the collection's (impersonation).
pub fn issue(
    collection: &Collection,
    record: &Map<String, Value>,
    kind: Kind,
    duration: Option<i64>,
    extra: &[(&str, Value)],
) -> String {
    let options = collection.auth.clone().unwrap_or_default();
    let config = kind.config(&options);
    let seconds = duration.unwrap_or(config.duration);
    let mut claims = std::collections::BTreeMap::new();
    claims.insert("collectionId", json!(collection.id));
    claims.insert("exp", json!(chrono::Utc::now().timestamp() + seconds));
    claims.insert("id", record.get("id").cloned().unwrap_or(json!("")));
    claims.insert("type", json!(kind.name()));
    for (key, value) in extra {
        claims.insert(key, value.clone());
    }
    let claims: Map<String, Value> = claims
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    token::sign(&Value::Object(claims), &signing_key(record, config))
}

/// A refreshable auth token with the collection's duration.
pub fn auth(collection: &Collection, record: &Map<String, Value>) -> String {
    issue(
        collection,
        record,
        Kind::Auth,
        None,
        &[("refreshable", json!(true))],
    )
}

/// The record a valid, unexpired token of `kind` was issued for, with its collection and
/// claims: read the unverified claims, load the record they name, check the signature with
/// that record's key (PocketBase's `FindAuthRecordByToken`).
pub async fn find_record(
    app: &App,
    raw: &str,
    kind: Kind,
) -> Option<(Arc<Collection>, Map<String, Value>, Map<String, Value>)> {
    let claims = token::unverified_claims(raw)?;
    if claims.get("type").and_then(Value::as_str) != Some(kind.name()) {
        return None;
    }
    let collection = app.collection(claims.get("collectionId").and_then(Value::as_str)?)?;
    let options = collection.auth.clone()?;
    let id = claims.get("id").and_then(Value::as_str)?;
    let record = store::records::find_by_id(&app.store().read, &collection, id)
        .await
        .ok()??;
    let claims = token::verify(raw, &signing_key(&record, kind.config(&options)))?;
    Some((collection, record, claims))
}

fn signing_key(record: &Map<String, Value>, config: &TokenConfig) -> String {
    let token_key = record
        .get("tokenKey")
        .and_then(Value::as_str)
        .unwrap_or_default();
    format!("{token_key}{}", config.secret)
}
