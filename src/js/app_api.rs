//! `$app` for hooks: record and collection reads and writes through the engine (the same
//! validation and hook chains as the REST API, as superuser), JSON in and out. A call runs
//! on a JS worker, so engine futures are awaited with the bridge's `block_on`; writes go
//! through the event's transaction when the `$app` is bound to one.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::api::rules::{self, Access};
use crate::app::App;
use crate::auth::{password, record_tokens};
use crate::core::collection::Collection;
use crate::core::collections::{self, CollectionError};
use crate::core::field::FieldOptions;
use crate::core::record::input::{self, Writer};
use crate::core::record::{self, Visibility};
use crate::core::records::{self, Actor, RecordError};
use crate::filter::sql::{Param, RequestInfo, SqlExpr};
use crate::js::bridge::block_on;
use crate::js::host::{Answer, Failure};
use crate::mail::{Address, Message};
use crate::store::{self, DbHandle};

/// One `$app` method; `args` as the prelude passes them (collection ids already resolved).
pub fn call(app: &App, db: DbHandle, method: &str, args: Vec<Value>) -> Answer {
    let text = |i: usize| args.get(i).map(as_text).unwrap_or_default();
    let store = app.store();
    match method {
        "findCollectionByNameOrId" => collection_json(app, &text(0)),
        "findRecordById" => {
            let c = collection(app, &text(0))?;
            let found = block_on(store::records::find_matching(
                db.db(store),
                &c,
                &text(1),
                &SqlExpr::always(),
            ))?;
            found
                .map(|r| found_json(&c, r))
                .ok_or_else(Failure::no_rows)
        }
        "findRecordsByIds" => {
            let c = collection(app, &text(0))?;
            let ids: Vec<Value> = match args.get(1) {
                Some(Value::Array(ids)) => ids.clone(),
                _ => Vec::new(),
            };
            if ids.is_empty() {
                return Ok(json!([]));
            }
            let filter = (0..ids.len())
                .map(|i| format!("id = {{:id{i}}}"))
                .collect::<Vec<_>>()
                .join(" || ");
            let params: Map<String, Value> = ids
                .into_iter()
                .enumerate()
                .map(|(i, id)| (format!("id{i}"), id))
                .collect();
            let filter = bind_params(&filter, Some(&Value::Object(params)))?;
            let found = find_by_filter(app, &db, &c, &filter, "", 0, 0)?;
            Ok(Value::Array(
                found.into_iter().map(|r| found_json(&c, r)).collect(),
            ))
        }
        "findFirstRecordByData" | "findAuthRecordByEmail" => {
            let c = collection(app, &text(0))?;
            let (field, value) = match method {
                "findAuthRecordByEmail" if !c.is_auth() => {
                    return Err(Failure::new(
                        400,
                        format!("{:?} is not an auth collection", c.name),
                    ));
                }
                "findAuthRecordByEmail" => ("email".to_string(), args.get(1).cloned()),
                _ => (text(1), args.get(2).cloned()),
            };
            if c.field(&field).is_none() {
                return Err(Failure::new(400, format!("no such column: {field}")));
            }
            let params = json!({ "value": value.unwrap_or(Value::Null) });
            let filter = bind_params(&format!("{field} = {{:value}}"), Some(&params))?;
            let found = find_by_filter(app, &db, &c, &filter, "", 1, 0)?;
            found
                .into_iter()
                .next()
                .map(|r| found_json(&c, r))
                .ok_or_else(Failure::no_rows)
        }
        "findAuthRecordByToken" => {
            let kind = match text(1).as_str() {
                "verification" => record_tokens::Kind::Verification,
                "passwordReset" => record_tokens::Kind::PasswordReset,
                "emailChange" => record_tokens::Kind::EmailChange,
                "file" => record_tokens::Kind::File,
                _ => record_tokens::Kind::Auth,
            };
            let (c, record, _) = block_on(record_tokens::find_record(app, &text(0), kind))
                .ok_or_else(|| Failure::new(400, "invalid or expired token"))?;
            Ok(found_json(&c, record))
        }
        "findRecordsByFilter" | "findFirstRecordByFilter" => {
            let c = collection(app, &text(0))?;
            let first = method == "findFirstRecordByFilter";
            let params = if first { args.get(2) } else { args.get(5) };
            let filter = bind_params(&text(1), params)?;
            let (sort, limit, offset) = if first {
                (String::new(), 1, 0)
            } else {
                let number = |i: usize| args.get(i).and_then(Value::as_i64).unwrap_or(0);
                (text(2), number(3), number(4))
            };
            let found = find_by_filter(app, &db, &c, &filter, &sort, limit, offset)?;
            if first {
                return found
                    .into_iter()
                    .next()
                    .map(|r| found_json(&c, r))
                    .ok_or_else(Failure::no_rows);
            }
            Ok(Value::Array(
                found.into_iter().map(|r| found_json(&c, r)).collect(),
            ))
        }
        "recordQuery" => {
            // `$app.recordQuery(...)` with `$dbx` expressions: hook code is server code, and
            // its SQL fragments are used as written (as PocketBase's dbx does), with `?` values.
            let c = collection(app, &text(0))?;
            let spec = args.get(1).cloned().unwrap_or(Value::Null);
            let condition = match spec["where"].as_str().filter(|w| !w.trim().is_empty()) {
                Some(sql) => SqlExpr {
                    sql: sql.to_string(),
                    params: spec["params"]
                        .as_array()
                        .map(|values| values.iter().map(param).collect())
                        .unwrap_or_default(),
                },
                None => SqlExpr::always(),
            };
            let order = SqlExpr {
                sql: spec["order"].as_str().unwrap_or("").to_string(),
                params: Vec::new(),
            };
            let limit = spec["limit"].as_i64().filter(|l| *l > 0).unwrap_or(-1);
            let offset = spec["offset"].as_i64().unwrap_or(0).max(0);
            let found = block_on(store::records::find_all(
                db.db(store),
                &c,
                &condition,
                &order,
                limit,
                offset,
            ))?;
            Ok(Value::Array(
                found.into_iter().map(|r| found_json(&c, r)).collect(),
            ))
        }
        "newAuthToken" => {
            let c = collection(app, &text(0))?;
            let Some(Value::Object(record)) = args.get(1) else {
                return Err(Failure::new(400, "newAuthToken needs a record"));
            };
            if c.auth.is_none() {
                return Err(Failure::new(400, "The record is not an auth record."));
            }
            Ok(json!(crate::auth::record_tokens::auth(&c, record)))
        }
        "countRecords" => {
            let c = collection(app, &text(0))?;
            if let DbHandle::Tx(_) = db {
                return Ok(json!(find_by_filter(app, &db, &c, "", "", 0, 0)?.len()));
            }
            let (_, total) = block_on(store::records::page(
                &store.read,
                &c,
                &SqlExpr::always(),
                &SqlExpr {
                    sql: String::new(),
                    params: Vec::new(),
                },
                1,
                0,
                true,
            ))?;
            Ok(json!(total.unwrap_or(0)))
        }
        "save" => save(app, &db, &text(0), args.get(1), args.get(2), args.get(3)),
        "validate" => {
            let c = collection(app, &text(0))?;
            let data = object(args.get(1));
            let is_new = args.get(2) != Some(&Value::Bool(false));
            let existing = if is_new {
                None
            } else {
                Some(stored(app, &db, &c, &as_text(&data["id"]))?)
            };
            prepare(app, &db, &c, &data, existing.as_ref())?;
            Ok(Value::Null)
        }
        "delete" => {
            let c = collection(app, &text(0))?;
            block_on(records::delete(app, db.db(store), &c, &text(1))).map_err(record_failure)?;
            Ok(Value::Null)
        }
        "saveCollection" => {
            let body = object(args.first());
            let id = body.get("id").map(as_text).unwrap_or_default();
            let existing = app.collection(&id).filter(|_| !id.is_empty());
            let saved = match existing {
                Some(old) => block_on(collections::update(app, &old, &body)),
                None => block_on(collections::create(app, &body)),
            };
            Ok(saved.map_err(collection_failure)?.api_json())
        }
        "deleteCollection" => {
            let c = collection(app, &text(0))?;
            block_on(collections::delete(app, &c)).map_err(collection_failure)?;
            Ok(Value::Null)
        }
        "importCollections" => {
            let items = match args.first() {
                Some(Value::Array(items)) => items.clone(),
                _ => Vec::new(),
            };
            let delete_missing = args.get(1) == Some(&Value::Bool(true));
            block_on(collections::import(app, &items, delete_missing))
                .map_err(collection_failure)?;
            Ok(Value::Null)
        }
        other => Err(Failure::new(400, format!("$app.{other} is not available"))),
    }
}

/// `$app.save(record)`: validated as a superuser's write (no API form rules), then stored
/// through the model hooks. Returns the stored values.
fn save(
    app: &App,
    db: &DbHandle,
    collection_id: &str,
    data: Option<&Value>,
    is_new: Option<&Value>,
    validate: Option<&Value>,
) -> Answer {
    let c = collection(app, collection_id)?;
    let data = object(data);
    let is_new = is_new != Some(&Value::Bool(false));
    let existing = if is_new {
        None
    } else {
        Some(stored(app, db, &c, &as_text(&data["id"]))?)
    };
    let record = if validate == Some(&Value::Bool(false)) {
        data
    } else {
        prepare(app, db, &c, &data, existing.as_ref())?
    };
    let id = as_text(&record["id"]);
    let written = match &existing {
        None => block_on(records::insert(app, db.db(app.store()), &c, &record)),
        Some(_) => block_on(records::save(app, db.db(app.store()), &c, &id, &record)),
    };
    written.map_err(record_failure)?;
    // The stored row, with whatever the model hooks changed.
    Ok(Value::Object(stored(app, db, &c, &id).unwrap_or(record)))
}

/// Validates `data` as the would-be stored record (the engine's field rules, relation
/// checks and password hashing); auth form rules do not apply to a hook's own writes.
fn prepare(
    app: &App,
    db: &DbHandle,
    c: &Collection,
    data: &Map<String, Value>,
    existing: Option<&Map<String, Value>>,
) -> Result<Map<String, Value>, Failure> {
    let mut body = data.clone();
    if c.is_auth() {
        let unchanged = existing.is_some_and(|e| e.get("password") == body.get("password"));
        if unchanged {
            body.remove("password");
        } else if let Some(pass) = body.get("password").cloned() {
            body.insert("passwordConfirm".into(), pass);
        }
    }
    let prepared = match existing {
        None => block_on(records::prepare_create(
            app,
            db.db(app.store()),
            c,
            &body,
            Actor::SUPERUSER,
        )),
        Some(existing) => block_on(records::prepare_update(
            app,
            db.db(app.store()),
            c,
            existing,
            &body,
            Actor::SUPERUSER,
        )),
    };
    prepared.map_err(record_failure)
}

fn stored(
    app: &App,
    db: &DbHandle,
    c: &Collection,
    id: &str,
) -> Result<Map<String, Value>, Failure> {
    block_on(store::records::find_matching(
        db.db(app.store()),
        c,
        id,
        &SqlExpr::always(),
    ))?
    .ok_or_else(Failure::no_rows)
}

/// `$app.findRecordsByFilter`: the filter and sort as a superuser's (hidden fields allowed,
/// `@request.*` empty), read through `db` (a transaction sees its own writes).
fn find_by_filter(
    app: &App,
    db: &DbHandle,
    c: &Collection,
    filter: &str,
    sort: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<Map<String, Value>>, Failure> {
    let access = Access {
        superuser: true,
        auth: None,
        request: RequestInfo {
            auth: None,
            body: Map::new(),
            query: Map::new(),
            headers: Default::default(),
            method: String::new(),
            context: "default".into(),
        },
    };
    let invalid = |_| Failure::new(400, format!("invalid filter or sort: {filter:?} {sort:?}"));
    let condition = rules::compile(app, c, &access, None, Some(filter)).map_err(invalid)?;
    let order = rules::order(app, c, &access, sort).map_err(invalid)?;
    let limit = if limit > 0 { limit } else { -1 };
    let found = block_on(store::records::find_all(
        db.db(app.store()),
        c,
        &condition,
        &order,
        limit,
        offset.max(0),
    ))?;
    Ok(found)
}

/// Replaces `{:name}` placeholders with `params.name` as a filter literal, in one pass over
/// the filter (a value is never scanned for placeholders itself). PocketBase binds them as
/// dbx params; quoting them here keeps them values, never syntax. A text is quoted with a
/// quote it does not contain when it can be (the filter language has no escape for a
/// backslash before the closing quote).
fn bind_params(filter: &str, params: Option<&Value>) -> Result<String, Failure> {
    let Some(Value::Object(params)) = params else {
        return Ok(filter.to_string());
    };
    let mut out = String::with_capacity(filter.len());
    let mut rest = filter;
    while let Some(start) = rest.find("{:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        match params.get(&after[..end]) {
            Some(value) => out.push_str(&literal(value)?),
            None => out.push_str(&rest[start..start + 2 + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn literal(value: &Value) -> Result<String, Failure> {
    let text = match value {
        Value::Number(n) => return Ok(n.to_string()),
        Value::Bool(b) => return Ok(b.to_string()),
        Value::Null => return Ok("null".into()),
        other => as_text(other),
    };
    if text.ends_with('\\') {
        return Err(Failure::new(
            400,
            "a filter param may not end with a backslash",
        ));
    }
    Ok(if !text.contains('\'') {
        format!("'{text}'")
    } else if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        format!("'{}'", text.replace('\'', "\\'"))
    })
}

pub fn collection(app: &App, id_or_name: &str) -> Result<Arc<Collection>, Failure> {
    app.collection(id_or_name).ok_or_else(Failure::no_rows)
}

/// The collection as JS sees it (its API JSON).
pub fn collection_json(app: &App, id_or_name: &str) -> Answer {
    Ok(collection(app, id_or_name)?.api_json())
}

/// A found record for the prelude: its collection (by id) and values.
fn found_json(c: &Collection, record: Map<String, Value>) -> Value {
    json!({"collection": c.id, "record": record})
}

/// `new Record(collection)`: every field's zero value, an id generated.
pub fn new_record(app: &App, collection_id: &str) -> Answer {
    let c = collection(app, collection_id)?;
    let record = input::apply(&c, None, &Map::new(), Writer { superuser: true });
    Ok(Value::Object(record))
}

/// `record.set(key, value)` / `record.load(data)`: the values cast by field type, with the
/// `+`/`-` modifiers, as a form submission would.
pub fn cast_record(app: &App, collection_id: &str, data: Value, changes: Value) -> Answer {
    let c = collection(app, collection_id)?;
    let current = data.as_object().cloned().unwrap_or_default();
    let changes = changes.as_object().cloned().unwrap_or_default();
    let mut record = input::apply(&c, Some(&current), &changes, Writer { superuser: true });
    // Autodate values change when the record is saved, not when a value is set.
    for field in &c.fields {
        if matches!(field.options, FieldOptions::Autodate { .. })
            && let Some(value) = current.get(&field.name)
        {
            record.insert(field.name.clone(), value.clone());
        }
    }
    // Keys that are not fields are kept as custom data (PocketBase's `record.Set` does).
    for (key, value) in changes {
        let plain = key.trim_end_matches(['+', '-']).trim_start_matches('+');
        if c.field(plain).is_none() && !key.contains(':') {
            record.insert(key, value);
        }
    }
    Ok(Value::Object(record))
}

/// `JSON.stringify(record)`: the public export (hidden fields and secrets omitted).
pub fn export_record(app: &App, collection_id: &str, data: Value, hidden: Value) -> Answer {
    let c = collection(app, collection_id)?;
    let data = data.as_object().cloned().unwrap_or_default();
    let mut out = record::api_json(
        &c,
        &data,
        Visibility {
            hidden: false,
            email: true,
        },
    );
    if let (Value::Object(out), Value::Object(hidden)) = (&mut out, hidden) {
        for (name, hide) in hidden {
            if hide == Value::Bool(true) {
                out.remove(&name);
            } else if let Some(value) = data.get(&name)
                && !c.field(&name).is_some_and(|f| record::never_shown(&c, f))
            {
                out.insert(name, value.clone());
            }
        }
    }
    Ok(out)
}

pub fn validate_password(app: &App, collection_id: &str, data: Value, plain: &str) -> Answer {
    let c = collection(app, collection_id)?;
    let hash = data.get("password").map(as_text).unwrap_or_default();
    if !c.is_auth() || hash.is_empty() {
        return Ok(json!(false));
    }
    Ok(json!(block_on(password::verify(plain.to_string(), hash))))
}

/// `$app.newMailClient().send(message)`: PocketBase's `MailerMessage` shape.
pub fn send_mail(app: &App, message: Value) -> Answer {
    let address = |v: &Value| Address {
        name: v.get("name").map(as_text).unwrap_or_default(),
        email: v.get("address").map(as_text).unwrap_or_default(),
    };
    let to = match message.get("to") {
        Some(Value::Array(items)) => items.iter().map(address).collect(),
        _ => Vec::new(),
    };
    let message = Message {
        from: message
            .get("from")
            .map(address)
            .unwrap_or_else(|| Address::new("")),
        to,
        subject: message.get("subject").map(as_text).unwrap_or_default(),
        html: message.get("html").map(as_text).unwrap_or_default(),
        text: message.get("text").map(as_text).unwrap_or_default(),
    };
    block_on(app.send_mail(&message)).map_err(|e| Failure::new(400, e.to_string()))?;
    Ok(Value::Null)
}

fn collection_failure(err: CollectionError) -> Failure {
    match err {
        CollectionError::Malformed => Failure::new(400, "invalid collection data"),
        CollectionError::Invalid(errors) => record_failure(RecordError::Invalid(errors)),
        CollectionError::Refused(reason) => Failure::new(400, reason),
        CollectionError::Db(err) => err.into(),
        CollectionError::Hook(err) => err.into(),
    }
}

/// `$mails.sendRecord…(app, record, …)`: the collection's mail, through its mailer hook.
pub fn send_record_mail(
    app: &App,
    kind: &str,
    collection_id: &str,
    data: Value,
    extra: &[Value],
) -> Answer {
    use crate::auth::mails::{self, MailerHook};
    let c = collection(app, collection_id)?;
    let record = data.as_object().cloned().unwrap_or_default();
    let arg = |i: usize| extra.get(i).map(as_text).unwrap_or_default();
    let (message, hook): (Message, MailerHook) = match kind {
        "sendRecordVerification" => (mails::verification(app, &c, &record), |h| {
            &h.on_mailer_record_verification_send
        }),
        "sendRecordPasswordReset" => (mails::password_reset(app, &c, &record), |h| {
            &h.on_mailer_record_password_reset_send
        }),
        "sendRecordChangeEmail" => (mails::email_change(app, &c, &record, &arg(0)), |h| {
            &h.on_mailer_record_email_change_send
        }),
        "sendRecordOTP" => (mails::otp(app, &c, &record, &arg(0), &arg(1), ""), |h| {
            &h.on_mailer_record_otp_send
        }),
        "sendRecordAuthAlert" => (mails::auth_alert(app, &c, &record, &arg(0)), |h| {
            &h.on_mailer_record_auth_alert_send
        }),
        other => {
            return Err(Failure::new(
                400,
                format!("$mails.{other} is not available"),
            ));
        }
    };
    block_on(mails::send(app, hook, &c, &record, message))?;
    Ok(Value::Null)
}

/// A failed write as Go's validation error would read, with the field errors as data.
pub fn record_failure(err: RecordError) -> Failure {
    match err {
        RecordError::Invalid(errors) => {
            let mut names: Vec<&String> = errors.keys().collect();
            names.sort();
            let text = names
                .iter()
                .map(|n| {
                    let message = errors[*n]["message"].as_str().unwrap_or("invalid value");
                    format!("{n}: {}", message.trim_end_matches('.').to_lowercase())
                })
                .collect::<Vec<_>>()
                .join("; ");
            Failure {
                status: 400,
                message: format!("{text}."),
                data: Value::Object(errors),
                api: false,
            }
        }
        RecordError::Refused(message) => Failure::new(400, message),
        RecordError::Db(err) => err.into(),
        RecordError::Hook(err) => err.into(),
    }
}

/// A JSON value bound to a `?` of a hook's SQL.
fn param(value: &Value) -> Param {
    match value {
        Value::Null => Param::Null,
        Value::Bool(b) => Param::Integer(i64::from(*b)),
        Value::Number(n) => n
            .as_i64()
            .map_or(Param::Real(n.as_f64().unwrap_or(0.0)), Param::Integer),
        Value::String(s) => Param::Text(s.clone()),
        other => Param::Text(other.to_string()),
    }
}

fn object(value: Option<&Value>) -> Map<String, Value> {
    value
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(filter: &str, params: Value) -> String {
        bind_params(filter, Some(&params)).expect("binds")
    }

    #[test]
    fn params_become_literals_in_one_pass() {
        assert_eq!(
            bound(
                "a = {:a} && b = {:b} && n = {:n}",
                json!({"a": "x", "b": true, "n": 2})
            ),
            "a = 'x' && b = true && n = 2"
        );
        // A value is never scanned for placeholders itself.
        assert_eq!(
            bound(
                "a = {:a} && b = {:b}",
                json!({"a": "{:b}", "b": "' || 1=1 || '"})
            ),
            r#"a = '{:b}' && b = "' || 1=1 || '""#
        );
        assert_eq!(
            bound("a = {:a}", json!({"a": "it's \"x\""})),
            r#"a = 'it\'s "x"'"#
        );
        assert_eq!(bound("a = {:missing}", json!({})), "a = {:missing}");
        assert!(bind_params("a = {:a}", Some(&json!({"a": "ends\\"}))).is_err());
    }

    #[test]
    fn quoted_params_parse_back_to_the_same_text() {
        for text in [
            "plain",
            "it's",
            "say \"hi\"",
            "both ' and \"",
            "back\\slash",
        ] {
            let filter = bound("title = {:t}", json!({ "t": text }));
            let parsed = crate::filter::parse(&filter).expect("parses");
            assert!(
                format!("{parsed:?}").contains(&format!("{text:?}")),
                "{filter} -> {parsed:?}"
            );
        }
    }
}
