//! `/api/realtime` (pocketbase-surface.md §10): the SSE stream (`GET`), the subscriptions
//! (`POST`), and the fan-out of record changes to the clients whose subscription and API
//! rule let them see the record, shaped as the records API would show it to them.
//!
//! Writers never wait for clients: a committed change is queued to one background task,
//! which checks the rules and queues each message on its client without blocking (a client
//! too slow to keep up is dropped, see `crate::realtime`). Deletes are the exception that
//! PocketBase makes too: who may see a record is decided before it is gone, and the
//! messages are sent once the delete commits.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use http_body::Frame;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};

use crate::api::extract::{Auth, AuthRecord, Body as JsonBody, ClientIp, Query};
use crate::api::records;
use crate::api::rules::{self, Access};
use crate::app::App;
use crate::core::collection::Collection;
use crate::error::{ApiError, field_error, field_error_with};
use crate::hooks::{
    HandlerFn, RealtimeConnectEvent, RealtimeMessageEvent, RealtimeSubscribeEvent, RecordEvent,
};
use crate::realtime::{Client, Message, Subscription};
use crate::store::{self, Db};

/// A connection without messages for this long is closed (the SDK reconnects).
const IDLE: Duration = Duration::from_secs(5 * 60);
/// And any connection after this long.
const LIFETIME: Duration = Duration::from_secs(30 * 60);

/// `GET /api/realtime`: registers a client and streams its messages, `PB_CONNECT` first.
pub async fn connect(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    Auth(auth): Auth,
    query: Query,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (client, messages) = app.realtime().register(ip);
    let hook = &app.hooks().on_realtime_connect_request;
    if hook.has_handlers() {
        let mut event = RealtimeConnectEvent {
            app: app.clone(),
            client: client.id.clone(),
            request: Access::new(auth, &query, Method::GET, &headers).request,
        };
        if let Err(err) = hook
            .trigger(&mut event, &|_| Box::pin(async { Ok(()) }))
            .await
        {
            app.realtime().unregister(&client.id);
            return Err(err);
        }
    }
    let connect = Message {
        name: "PB_CONNECT".into(),
        data: json!({ "clientId": client.id }).to_string(),
    };
    // PB_CONNECT goes through `onRealtimeMessageSend` too; a handler may drop it.
    let first = match before_send(&app, &client.id, connect).await {
        Ok(Some(message)) => Some(event(&client.id, &message)),
        Ok(None) => None,
        Err(err) => {
            app.realtime().unregister(&client.id);
            return Err(err);
        }
    };
    let stream = Stream {
        first,
        messages,
        client: client.id.clone(),
        app: app.clone(),
        idle: Box::pin(tokio::time::sleep(IDLE)),
        lifetime: Box::pin(tokio::time::sleep(LIFETIME)),
    };
    let mut response = Response::new(Body::new(stream));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    Ok(response)
}

/// Runs `onRealtimeMessageSend` for `message`: what to send, if anything.
async fn before_send(
    app: &App,
    client: &str,
    message: Message,
) -> Result<Option<Message>, ApiError> {
    let hook = &app.hooks().on_realtime_message_send;
    if !hook.has_handlers() {
        return Ok(Some(message));
    }
    let mut event = RealtimeMessageEvent {
        app: app.clone(),
        client: client.to_string(),
        message,
        sent: false,
    };
    hook.trigger(&mut event, &|e| {
        e.sent = true;
        Box::pin(async { Ok(()) })
    })
    .await?;
    Ok(event.sent.then_some(event.message))
}

/// Queues `message` for `client` after `onRealtimeMessageSend` (never waiting for it).
pub async fn deliver(app: &App, client: &Client, message: Message) {
    match before_send(app, &client.id, message).await {
        Ok(Some(message)) => {
            app.realtime().send(client, message);
        }
        Ok(None) => {}
        Err(err) => tracing::debug!("realtime message to {} dropped: {}", client.id, err),
    }
}

/// One SSE event as PocketBase writes it (the `id` is always the client's).
fn event(client: &str, message: &Message) -> Bytes {
    Bytes::from(format!(
        "id:{client}\nevent:{}\ndata:{}\n\n",
        message.name, message.data
    ))
}

/// The SSE body: the client's queue until it closes, goes idle, or lives too long; the
/// client is unregistered when the body is dropped (the connection closed).
struct Stream {
    first: Option<Bytes>,
    messages: mpsc::Receiver<Message>,
    client: String,
    app: App,
    idle: Pin<Box<Sleep>>,
    lifetime: Pin<Box<Sleep>>,
}

impl http_body::Body for Stream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        if this.lifetime.as_mut().poll(cx).is_ready() || this.idle.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        match this.messages.poll_recv(cx) {
            Poll::Ready(Some(message)) => {
                this.idle.as_mut().reset(Instant::now() + IDLE);
                Poll::Ready(Some(Ok(Frame::data(event(&this.client, &message)))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.app.realtime().unregister(&self.client);
    }
}

/// `POST /api/realtime`: replaces the client's subscriptions and stores the request's auth.
pub async fn subscribe(
    State(app): State<App>,
    Auth(auth): Auth,
    ClientIp(ip): ClientIp,
    query: Query,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<StatusCode, ApiError> {
    let client_id = body
        .get("clientId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let topics: Vec<String> = match body.get("subscriptions") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let mut errors = Map::new();
    if client_id.is_empty() {
        errors.insert(
            "clientId".into(),
            field_error("validation_required", "Cannot be blank."),
        );
    }
    if topics.len() > 1000 {
        errors.insert("subscriptions".into(), too_long(1000));
    } else {
        let long: Map<String, Value> = topics
            .iter()
            .enumerate()
            .filter(|(_, t)| t.chars().count() > 2500)
            .map(|(i, _)| (i.to_string(), too_long(2500)))
            .collect();
        if !long.is_empty() {
            errors.insert("subscriptions".into(), Value::Object(long));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::bad_request_default().with_data(errors));
    }
    let client = app
        .realtime()
        .client(client_id)
        .ok_or_else(|| ApiError::not_found("Missing or invalid client id."))?;
    if client.ip != ip {
        return Err(ApiError::bad_request("Invalid realtime client."));
    }
    let id_of = |a: &Option<AuthRecord>| {
        a.as_ref()
            .and_then(|a| {
                a.record
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default()
    };
    let previous = id_of(&client.auth());
    if !previous.is_empty() && previous != id_of(&auth) {
        return Err(ApiError::forbidden(
            "The current and the previous request authorization don't match.",
        ));
    }
    let hook = &app.hooks().on_realtime_subscribe_request;
    if !hook.has_handlers() {
        client.set_auth(auth);
        client.set_subscriptions(topics.iter().map(|t| Subscription::parse(t)).collect());
        return Ok(StatusCode::NO_CONTENT);
    }
    let mut event = RealtimeSubscribeEvent {
        app: app.clone(),
        client: client.id.clone(),
        subscriptions: topics,
        request: Access::new(auth.clone(), &query, Method::POST, &headers).request,
    };
    hook.trigger(&mut event, &|e| {
        client.set_auth(auth.clone());
        client.set_subscriptions(
            e.subscriptions
                .iter()
                .map(|t| Subscription::parse(t))
                .collect(),
        );
        Box::pin(async { Ok(()) })
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn too_long(max: usize) -> Value {
    field_error_with(
        "validation_length_too_long",
        &format!("The length must be no more than {max}."),
        json!({"max": max, "min": 0}),
    )
}

/// Messages decided for their clients.
type Deliveries = Vec<(Arc<Client>, Message)>;

/// A record change on its way to the clients.
enum Change {
    /// A committed create or update: rules are checked when it is sent.
    Saved {
        action: &'static str,
        collection: Box<Collection>,
        id: String,
    },
    /// A committed delete's messages, decided before the delete.
    Deliver(Deliveries),
}

/// Binds the fan-out to the record hooks (once per app).
pub fn bind(app: &App) {
    if !app.realtime().mark_bound() {
        return;
    }
    let (queue, mut changes) = mpsc::unbounded_channel::<Change>();
    let sender = app.clone();
    tokio::spawn(async move {
        while let Some(change) = changes.recv().await {
            match change {
                Change::Saved {
                    action,
                    collection,
                    id,
                } => {
                    for (client, message) in messages(&sender, action, &collection, &id).await {
                        deliver(&sender, &client, message).await;
                    }
                }
                Change::Deliver(messages) => {
                    for (client, message) in messages {
                        deliver(&sender, &client, message).await;
                    }
                }
            }
        }
    });
    let hooks = app.hooks();
    for (hook, action) in [
        (&hooks.on_record_after_create_success, "create"),
        (&hooks.on_record_after_update_success, "update"),
    ] {
        hook.bind(0, &[], saved(queue.clone(), action));
    }
    // Deletes: decide before (the record must still be there for the rules), send after.
    let pending: Arc<Mutex<HashMap<String, Deliveries>>> = Arc::default();
    let decide = Arc::clone(&pending);
    let before: HandlerFn<RecordEvent> = Arc::new(move |e, next| {
        let decide = Arc::clone(&decide);
        Box::pin(async move {
            if e.app.realtime().total() > 0 {
                let found = messages(&e.app, "delete", &e.collection, &e.id).await;
                if !found.is_empty() {
                    lock(&decide).insert(key(&e.collection, &e.id), found);
                }
            }
            next.run(e).await
        })
    });
    hooks.on_record_delete.bind(0, &[], before);
    let sent = Arc::clone(&pending);
    let after: HandlerFn<RecordEvent> = Arc::new(move |e, next| {
        let found = lock(&sent).remove(&key(&e.collection, &e.id));
        if let Some(found) = found {
            let _ = queue.send(Change::Deliver(found));
        }
        // A deleted auth record's clients lose their auth (§10).
        if e.collection.is_auth() {
            e.app.realtime().forget_auth(&e.id);
        }
        next.run(e)
    });
    hooks.on_record_after_delete_success.bind(0, &[], after);
    let failed: HandlerFn<RecordEvent> = Arc::new(move |e, next| {
        lock(&pending).remove(&key(&e.collection, &e.id));
        next.run(e)
    });
    hooks.on_record_after_delete_error.bind(0, &[], failed);
}

fn saved(queue: mpsc::UnboundedSender<Change>, action: &'static str) -> HandlerFn<RecordEvent> {
    Arc::new(move |e, next| {
        if action == "update" && e.collection.is_auth() {
            e.app
                .realtime()
                .update_auth(&e.collection, &e.id, &e.record);
        }
        if e.app.realtime().total() > 0 {
            let _ = queue.send(Change::Saved {
                action,
                collection: Box::new(e.collection.clone()),
                id: e.id.clone(),
            });
        }
        next.run(e)
    })
}

fn key(collection: &Collection, id: &str) -> String {
    format!("{}/{id}", collection.id)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The messages about record `id` for every client subscribed to it that may see it. The
/// record is read once; a rule is queried only when it is not public; clients that see the
/// record the same way (same auth, same options) share one rendering.
async fn messages(app: &App, action: &str, collection: &Collection, id: &str) -> Deliveries {
    let mut out = Vec::new();
    let watching: Vec<(Arc<Client>, Subscription)> = app
        .realtime()
        .clients()
        .into_iter()
        .flat_map(|client| {
            client
                .subscriptions()
                .into_iter()
                .filter(|s| s.collection == collection.name || s.collection == collection.id)
                .filter(|s| s.record.as_deref().is_none_or(|r| r == id))
                .map(move |s| (Arc::clone(&client), s))
                .collect::<Vec<_>>()
        })
        .collect();
    if watching.is_empty() {
        return out;
    }
    let row = match store::records::find_matching(
        Db::Shared(app.store()),
        collection,
        id,
        &crate::filter::sql::SqlExpr::always(),
    )
    .await
    {
        Ok(Some(row)) => row,
        Ok(None) => return out,
        Err(err) => {
            tracing::warn!("realtime: cannot read {}/{id}: {err}", collection.name);
            return out;
        }
    };
    let mut rendered: HashMap<String, Option<String>> = HashMap::new();
    for (client, subscription) in watching {
        let auth = client.auth();
        let auth_id = auth
            .as_ref()
            .map(|a| {
                format!(
                    "{}/{}",
                    a.collection.id,
                    a.record.get("id").and_then(Value::as_str).unwrap_or("")
                )
            })
            .unwrap_or_default();
        let view = subscription.record.is_some();
        let key = format!(
            "{auth_id}\n{view}\n{:?}\n{:?}",
            subscription.query, subscription.headers
        );
        if !rendered.contains_key(&key) {
            let shaped = shaped(app, auth, &subscription, collection, &row)
                .await
                .unwrap_or_else(|err| {
                    tracing::debug!("realtime: {} skipped: {}", subscription.topic, err);
                    None
                })
                .map(|record| json!({ "action": action, "record": record }).to_string());
            rendered.insert(key.clone(), shaped);
        }
        if let Some(Some(data)) = rendered.get(&key) {
            out.push((
                client,
                Message {
                    name: subscription.topic.clone(),
                    data: data.clone(),
                },
            ));
        }
    }
    out
}

/// `row` as a client with `auth` may see it under `subscription` (`None` when the rule hides
/// it): the list or view rule evaluated with the client's auth and the subscription's query
/// and headers, the record shaped as the records API shapes it (hidden fields, email
/// visibility, `expand`, `fields`).
async fn shaped(
    app: &App,
    auth: Option<AuthRecord>,
    subscription: &Subscription,
    collection: &Collection,
    row: &Map<String, Value>,
) -> Result<Option<Value>, ApiError> {
    let mut headers = HeaderMap::new();
    for (name, value) in &subscription.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    let query = Query(subscription.query.clone());
    let access = Access::new(auth, &query, Method::GET, &headers);
    let rule = match subscription.record {
        None => &collection.list_rule,
        Some(_) => &collection.view_rule,
    };
    let Ok(rule) = access.rule(rule) else {
        return Ok(None);
    };
    // A public rule (or a superuser) needs no query.
    if let Some(rule) = rule.filter(|r| !r.trim().is_empty()) {
        let filter = rules::compile(app, collection, &access, Some(&rule), None)?;
        let id = row.get("id").and_then(Value::as_str).unwrap_or_default();
        let visible =
            store::records::find_matching(Db::Shared(app.store()), collection, id, &filter).await?;
        if visible.is_none() {
            return Ok(None);
        }
    }
    records::shape(app, collection, access, query, row.clone())
        .await
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_written_as_pocketbase_does() {
        let message = Message {
            name: "posts/*".into(),
            data: "{}".into(),
        };
        assert_eq!(event("abc", &message), "id:abc\nevent:posts/*\ndata:{}\n\n");
    }
}
