//! Realtime clients (pocketbase-surface.md §10): the broker the SSE endpoint registers its
//! clients with, that record changes fan out through, and that hooks push custom messages
//! with (`$app.subscriptionsBroker()`). Sending never waits: each client has a bounded
//! queue, and a client whose queue is full is dropped (its stream ends; the SDK reconnects).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::api::extract::AuthRecord;
use crate::core::collection::Collection;

/// Messages waiting for a slow client before it is dropped.
const QUEUE: usize = 512;

/// One SSE event: the topic (`event:`) and its JSON text (`data:`).
#[derive(Clone, Debug)]
pub struct Message {
    pub name: String,
    pub data: String,
}

/// A subscription: the topic as the client wrote it, and what it means.
#[derive(Clone, Debug)]
pub struct Subscription {
    /// The whole topic, options included: messages carry it as their event name.
    pub topic: String,
    /// Collection name or id.
    pub collection: String,
    /// `None` for `<collection>` and `<collection>/*` (list rule), else the record id (view
    /// rule).
    pub record: Option<String>,
    /// `options.query` (expand, fields, … for the rule check and the record's shape).
    pub query: Vec<(String, String)>,
    /// `options.headers`, seen by the rule as `@request.headers.*`.
    pub headers: Vec<(String, String)>,
}

impl Subscription {
    /// Parses `posts/*`, `posts`, `posts/ID`, each optionally with
    /// `?options=<url-encoded JSON {"query":{…},"headers":{…}}>`.
    pub fn parse(topic: &str) -> Subscription {
        let (base, options) = match topic.split_once('?') {
            Some((base, query)) => (base, options_of(query)),
            None => (topic, Map::new()),
        };
        let pairs = |key: &str| -> Vec<(String, String)> {
            options
                .get(key)
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            let text = match v {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            (k.clone(), text)
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let (collection, record) = match base.split_once('/') {
            Some((c, "*")) => (c.to_string(), None),
            Some((c, id)) => (c.to_string(), Some(id.to_string())),
            None => (base.to_string(), None),
        };
        Subscription {
            topic: topic.to_string(),
            collection,
            record,
            query: pairs("query"),
            headers: pairs("headers"),
        }
    }
}

/// The `options` parameter of a topic's query string, as JSON.
fn options_of(query: &str) -> Map<String, Value> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == "options")
        .and_then(|(_, v)| serde_json::from_str::<Value>(&v).ok())
        .and_then(|v| match v {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default()
}

/// A connected SSE client.
pub struct Client {
    pub id: String,
    /// The address it connected from: subscribing from another one is refused.
    pub ip: String,
    state: Mutex<State>,
    queue: mpsc::Sender<Message>,
}

#[derive(Default)]
struct State {
    subscriptions: Vec<Subscription>,
    /// The auth of its first authorized subscribe request; later ones must match.
    auth: Option<AuthRecord>,
}

impl Client {
    pub fn subscriptions(&self) -> Vec<Subscription> {
        self.lock().subscriptions.clone()
    }

    pub fn has_subscription(&self, topic: &str) -> bool {
        self.lock().subscriptions.iter().any(|s| s.topic == topic)
    }

    /// Replaces every subscription.
    pub fn set_subscriptions(&self, subscriptions: Vec<Subscription>) {
        self.lock().subscriptions = subscriptions;
    }

    pub fn auth(&self) -> Option<AuthRecord> {
        self.lock().auth.clone()
    }

    pub fn set_auth(&self, auth: Option<AuthRecord>) {
        self.lock().auth = auth;
    }

    /// Queues `message`; `false` when the client is gone or too slow (it is then dropped by
    /// the broker).
    fn offer(&self, message: Message) -> bool {
        self.queue.try_send(message).is_ok()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Every connected client, by id.
#[derive(Default)]
pub struct Broker {
    clients: RwLock<HashMap<String, Arc<Client>>>,
    /// Whether the record fan-out is bound to the app's hooks (once).
    bound: AtomicBool,
}

impl Broker {
    /// A new client with a fresh 40-character id, and the queue its stream reads.
    pub fn register(&self, ip: String) -> (Arc<Client>, mpsc::Receiver<Message>) {
        let (queue, messages) = mpsc::channel(QUEUE);
        let client = Arc::new(Client {
            id: crate::core::ids::random_string(40, crate::core::ids::ALNUM),
            ip,
            state: Mutex::new(State::default()),
            queue,
        });
        self.write().insert(client.id.clone(), Arc::clone(&client));
        (client, messages)
    }

    pub fn unregister(&self, id: &str) {
        self.write().remove(id);
    }

    pub fn client(&self, id: &str) -> Option<Arc<Client>> {
        self.read().get(id).cloned()
    }

    pub fn clients(&self) -> Vec<Arc<Client>> {
        self.read().values().cloned().collect()
    }

    pub fn total(&self) -> usize {
        self.read().len()
    }

    /// Sends without waiting; a client that cannot take it is dropped.
    pub fn send(&self, client: &Client, message: Message) -> bool {
        let sent = client.offer(message);
        if !sent {
            self.unregister(&client.id);
        }
        sent
    }

    /// Marks the record fan-out bound; `false` if it already was.
    pub fn mark_bound(&self) -> bool {
        !self.bound.swap(true, Ordering::AcqRel)
    }

    /// An auth record changed: clients authorized as it keep the new version, or lose their
    /// auth when its token key changed (its tokens are no longer valid, §10).
    pub fn update_auth(
        &self,
        collection: &Collection,
        record_id: &str,
        record: &Map<String, Value>,
    ) {
        for client in self.clients() {
            let Some(auth) = client.auth() else {
                continue;
            };
            if auth.collection.id != collection.id
                || auth.record.get("id").and_then(Value::as_str) != Some(record_id)
            {
                continue;
            }
            if auth.record.get("tokenKey") != record.get("tokenKey") {
                client.set_auth(None);
            } else {
                client.set_auth(Some(AuthRecord {
                    collection: Arc::new(collection.clone()),
                    record: record.clone(),
                }));
            }
        }
    }

    /// Forgets the stored auth of every client authorized as `record_id` (its token was
    /// rotated or the record deleted, §10).
    pub fn forget_auth(&self, record_id: &str) {
        for client in self.clients() {
            let matches = client
                .auth()
                .is_some_and(|a| a.record.get("id").and_then(Value::as_str) == Some(record_id));
            if matches {
                client.set_auth(None);
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Client>>> {
        self.clients.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Client>>> {
        self.clients.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_topics_with_options() {
        let s = Subscription::parse("posts/*");
        assert_eq!(
            (s.collection.as_str(), s.record.as_deref()),
            ("posts", None)
        );
        let s = Subscription::parse("posts");
        assert_eq!(
            (s.collection.as_str(), s.record.as_deref()),
            ("posts", None)
        );
        let s = Subscription::parse("posts/abc");
        assert_eq!(s.record.as_deref(), Some("abc"));
        let s = Subscription::parse(
            "posts/*?options=%7B%22query%22%3A%7B%22expand%22%3A%22author%22%7D%2C%22headers%22%3A%7B%22x%22%3A1%7D%7D",
        );
        assert_eq!(s.collection, "posts");
        assert_eq!(s.query, vec![("expand".to_string(), "author".to_string())]);
        assert_eq!(s.headers, vec![("x".to_string(), "1".to_string())]);
    }

    #[tokio::test]
    async fn a_full_queue_drops_the_client() {
        let broker = Broker::default();
        let (client, _messages) = broker.register("127.0.0.1".into());
        assert_eq!(client.id.len(), 40);
        let message = Message {
            name: "t".into(),
            data: "{}".into(),
        };
        for _ in 0..QUEUE {
            assert!(broker.send(&client, message.clone()));
        }
        assert!(!broker.send(&client, message));
        assert!(broker.client(&client.id).is_none());
    }
}
