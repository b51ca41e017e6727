//! Hook chains (DESIGN.md "One engine, three faces"): every operation PocketBase exposes as
//! a hook runs as a chain of handlers with the engine's default action last. A handler gets
//! the event and `next`; awaiting `next.run(e)` continues the chain, returning without it
//! stops it (the default action does not run), an `Err` fails the operation.
//!
//! Handlers are Rust closures for now; the JS hooks bind the same chains. Each handler has a
//! priority (lower runs first, ties in bind order) and optional tags: collection names or
//! ids, matched against the event's collection (untagged handlers see every event).

mod events;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

pub use events::{
    AppEvent, CollectionEvent, MailerRecordEvent, RealtimeConnectEvent, RealtimeMessageEvent,
    RealtimeSubscribeEvent, RecordAuthEvent, RecordAuthWithOtpEvent, RecordEnrichEvent,
    RecordEvent, RecordFlowEvent, RecordOtpRequestEvent, RecordRequestEvent,
    RecordsListRequestEvent, Written,
};

use crate::core::collection::Collection;
use crate::error::ApiError;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
pub type HookResult = Result<(), ApiError>;

/// A handler: `|e, next| Box::pin(async move { …; next.run(e).await })`.
pub type HandlerFn<E> =
    Arc<dyn for<'e> Fn(&'e mut E, Next<'e, E>) -> BoxFuture<'e, HookResult> + Send + Sync>;

/// The default action at the end of a chain.
pub type Action<'a, E> = &'a (dyn for<'e> Fn(&'e mut E) -> BoxFuture<'e, HookResult> + Send + Sync);

/// Picks one of the auth flow request chains.
pub type FlowHook = fn(&Hooks) -> &Hook<RecordFlowEvent>;

/// Runs an auth flow's request chain as a gate before its operation: `Ok(Some(event))` to
/// go on (with the record and extra fields as the handlers left them), `Ok(None)` when a
/// handler stopped the chain (the endpoint answers an empty 200).
pub async fn flow_gate(
    app: &crate::app::App,
    hook: FlowHook,
    collection: &crate::core::collection::Collection,
    record: Option<serde_json::Map<String, serde_json::Value>>,
    extra: serde_json::Map<String, serde_json::Value>,
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<RecordFlowEvent>, ApiError> {
    let chain = hook(app.hooks());
    let mut event = RecordFlowEvent {
        app: app.clone(),
        collection: collection.clone(),
        record,
        extra,
        request: crate::filter::sql::RequestInfo {
            auth: None,
            body: body.clone(),
            query: serde_json::Map::new(),
            headers: Default::default(),
            method: "POST".into(),
            context: "default".into(),
        },
        proceed: !chain.has_handlers(),
    };
    if chain.has_handlers() {
        chain.trigger(&mut event, &flow_proceed).await?;
    }
    Ok(event.proceed.then_some(event))
}

/// [`flow_gate`] for a flow with a record and no extra fields: the record as the handlers
/// left it, or `None` when a handler stopped the chain.
pub async fn flow_gate_record(
    app: &crate::app::App,
    hook: FlowHook,
    collection: &crate::core::collection::Collection,
    record: serde_json::Map<String, serde_json::Value>,
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, ApiError> {
    let event = flow_gate(
        app,
        hook,
        collection,
        Some(record),
        serde_json::Map::new(),
        body,
    )
    .await?;
    Ok(event.map(|e| e.record.unwrap_or_default()))
}

fn flow_proceed(e: &mut RecordFlowEvent) -> BoxFuture<'_, HookResult> {
    e.proceed = true;
    Box::pin(async { Ok(()) })
}

/// A default action with nothing more to do (lifecycle events).
pub fn proceed<E>(_: &mut E) -> BoxFuture<'_, HookResult> {
    Box::pin(async { Ok(()) })
}

/// What an event exposes to tag matching.
pub trait Event: Send + 'static {
    /// The collection the event is about, if any.
    fn collection(&self) -> Option<&Collection> {
        None
    }
}

/// Where some handlers must run (the JS workers): a chain holding such a handler runs whole
/// there, so everything it triggers in turn runs inline on the same thread.
pub trait Executor: Send + Sync {
    /// Whether the calling thread is one of the executor's own.
    fn is_current(&self) -> bool;
    /// Runs `chain` to completion on the executor and returns its result.
    fn run<'a>(&'a self, chain: BoxFuture<'a, HookResult>) -> BoxFuture<'a, HookResult>;
}

struct Entry<E> {
    id: u64,
    priority: i32,
    tags: Vec<String>,
    run: HandlerFn<E>,
    executor: Option<Arc<dyn Executor>>,
}

impl<E> Clone for Entry<E> {
    fn clone(&self) -> Self {
        Entry {
            id: self.id,
            priority: self.priority,
            tags: self.tags.clone(),
            run: Arc::clone(&self.run),
            executor: self.executor.clone(),
        }
    }
}

/// One event's chain.
pub struct Hook<E> {
    entries: RwLock<Arc<Vec<Entry<E>>>>,
}

impl<E> Default for Hook<E> {
    fn default() -> Self {
        Hook {
            entries: RwLock::new(Arc::new(Vec::new())),
        }
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl<E: Event> Hook<E> {
    /// Adds a handler; returns its id for `unbind`.
    pub fn bind(&self, priority: i32, tags: &[&str], run: HandlerFn<E>) -> u64 {
        self.bind_on(None, priority, tags, run)
    }

    /// Adds a handler that must run on `executor` (see [`Executor`]).
    pub fn bind_on(
        &self,
        executor: Option<Arc<dyn Executor>>,
        priority: i32,
        tags: &[&str],
        run: HandlerFn<E>,
    ) -> u64 {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let mut slot = self.entries.write().unwrap_or_else(|p| p.into_inner());
        let mut entries: Vec<Entry<E>> = slot.as_ref().clone();
        entries.push(Entry {
            id,
            priority,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            run,
            executor,
        });
        // Stable: equal priorities keep their bind order.
        entries.sort_by_key(|e| e.priority);
        *slot = Arc::new(entries);
        id
    }

    pub fn unbind(&self, id: u64) {
        let mut slot = self.entries.write().unwrap_or_else(|p| p.into_inner());
        let entries: Vec<Entry<E>> = slot.iter().filter(|e| e.id != id).cloned().collect();
        *slot = Arc::new(entries);
    }

    /// Whether any handler would see `event` (callers can skip building costly state).
    pub fn has_handlers(&self) -> bool {
        !self
            .entries
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }

    /// Runs the chain for `event` with `action` last.
    pub async fn trigger(&self, event: &mut E, action: Action<'_, E>) -> HookResult {
        let snapshot = Arc::clone(&self.entries.read().unwrap_or_else(|p| p.into_inner()));
        let matching: Vec<&Entry<E>> = snapshot
            .iter()
            .filter(|entry| tags_match(&entry.tags, event.collection()))
            .collect();
        let next = Next {
            rest: &matching,
            action,
        };
        let executor = matching.iter().find_map(|e| e.executor.as_ref());
        match executor {
            Some(executor) if !executor.is_current() => executor.run(next.run(event)).await,
            _ => next.run(event).await,
        }
    }
}

fn tags_match(tags: &[String], collection: Option<&Collection>) -> bool {
    if tags.is_empty() {
        return true;
    }
    collection.is_some_and(|c| tags.iter().any(|t| *t == c.id || *t == c.name))
}

/// The rest of a chain.
pub struct Next<'a, E> {
    rest: &'a [&'a Entry<E>],
    action: Action<'a, E>,
}

impl<'a, E> Next<'a, E> {
    /// Runs the next handler (or the default action) with `event`.
    pub fn run<'e>(self, event: &'e mut E) -> BoxFuture<'e, HookResult>
    where
        'a: 'e,
    {
        match self.rest.split_first() {
            Some((entry, rest)) => (entry.run)(
                event,
                Next {
                    rest,
                    action: self.action,
                },
            ),
            None => (self.action)(event),
        }
    }
}

/// Every hook of the engine, one field per event (PocketBase's `app.OnX()` binders).
#[derive(Default)]
pub struct Hooks {
    /// `onRecordRequestOTPRequest`
    pub on_record_request_otp_request: Hook<RecordOtpRequestEvent>,
    /// `onRecordAuthWithOTPRequest`
    pub on_record_auth_with_otp_request: Hook<RecordAuthWithOtpEvent>,
    /// `onMailerRecordOTPSend`
    pub on_mailer_record_otp_send: Hook<MailerRecordEvent>,
    /// `onMailerRecordVerificationSend`
    pub on_mailer_record_verification_send: Hook<MailerRecordEvent>,
    /// `onMailerRecordPasswordResetSend`
    pub on_mailer_record_password_reset_send: Hook<MailerRecordEvent>,
    /// `onMailerRecordEmailChangeSend`
    pub on_mailer_record_email_change_send: Hook<MailerRecordEvent>,
    /// `onMailerRecordAuthAlertSend`
    pub on_mailer_record_auth_alert_send: Hook<MailerRecordEvent>,
    /// `onCollectionCreate`
    pub on_collection_create: Hook<CollectionEvent>,
    /// `onCollectionUpdate`
    pub on_collection_update: Hook<CollectionEvent>,
    /// `onCollectionDelete`
    pub on_collection_delete: Hook<CollectionEvent>,
    /// `onCollectionAfterCreateSuccess`
    pub on_collection_after_create_success: Hook<CollectionEvent>,
    /// `onCollectionAfterUpdateSuccess`
    pub on_collection_after_update_success: Hook<CollectionEvent>,
    /// `onCollectionAfterDeleteSuccess`
    pub on_collection_after_delete_success: Hook<CollectionEvent>,
    /// `onBootstrap`: the app is open (the default action does nothing more).
    pub on_bootstrap: Hook<AppEvent>,
    /// `onTerminate`: the server is stopping (before the database closes).
    pub on_terminate: Hook<AppEvent>,
    /// `onSettingsReload`: new settings were saved and swapped in.
    pub on_settings_reload: Hook<AppEvent>,
    /// `onRecordAuthRequest`
    pub on_record_auth_request: Hook<RecordAuthEvent>,
    /// `onRecordAuthWithPasswordRequest`
    pub on_record_auth_with_password_request: Hook<RecordFlowEvent>,
    /// `onRecordAuthRefreshRequest`
    pub on_record_auth_refresh_request: Hook<RecordFlowEvent>,
    /// `onRecordRequestVerificationRequest`
    pub on_record_request_verification_request: Hook<RecordFlowEvent>,
    /// `onRecordConfirmVerificationRequest`
    pub on_record_confirm_verification_request: Hook<RecordFlowEvent>,
    /// `onRecordRequestPasswordResetRequest`
    pub on_record_request_password_reset_request: Hook<RecordFlowEvent>,
    /// `onRecordConfirmPasswordResetRequest`
    pub on_record_confirm_password_reset_request: Hook<RecordFlowEvent>,
    /// `onRecordRequestEmailChangeRequest`
    pub on_record_request_email_change_request: Hook<RecordFlowEvent>,
    /// `onRecordConfirmEmailChangeRequest`
    pub on_record_confirm_email_change_request: Hook<RecordFlowEvent>,
    /// `onRecordsListRequest`
    pub on_records_list_request: Hook<RecordsListRequestEvent>,
    /// `onRecordEnrich`
    pub on_record_enrich: Hook<RecordEnrichEvent>,
    /// `onRecordViewRequest`
    pub on_record_view_request: Hook<RecordRequestEvent>,
    /// `onRecordCreateRequest`
    pub on_record_create_request: Hook<RecordRequestEvent>,
    /// `onRecordUpdateRequest`
    pub on_record_update_request: Hook<RecordRequestEvent>,
    /// `onRecordDeleteRequest`
    pub on_record_delete_request: Hook<RecordRequestEvent>,
    /// `onRecordValidate`
    pub on_record_validate: Hook<RecordEvent>,
    /// `onRecordCreate`
    pub on_record_create: Hook<RecordEvent>,
    /// `onRecordUpdate`
    pub on_record_update: Hook<RecordEvent>,
    /// `onRecordDelete`
    pub on_record_delete: Hook<RecordEvent>,
    /// `onRecordAfterCreateSuccess`
    pub on_record_after_create_success: Hook<RecordEvent>,
    /// `onRecordAfterUpdateSuccess`
    pub on_record_after_update_success: Hook<RecordEvent>,
    /// `onRecordAfterDeleteSuccess`
    pub on_record_after_delete_success: Hook<RecordEvent>,
    /// `onRecordAfterCreateError`
    pub on_record_after_create_error: Hook<RecordEvent>,
    /// `onRecordAfterUpdateError`
    pub on_record_after_update_error: Hook<RecordEvent>,
    /// `onRecordAfterDeleteError`
    pub on_record_after_delete_error: Hook<RecordEvent>,
    /// `onRealtimeConnectRequest`
    pub on_realtime_connect_request: Hook<RealtimeConnectEvent>,
    /// `onRealtimeSubscribeRequest`
    pub on_realtime_subscribe_request: Hook<RealtimeSubscribeEvent>,
    /// `onRealtimeMessageSend`
    pub on_realtime_message_send: Hook<RealtimeMessageEvent>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Probe {
        log: Vec<String>,
    }

    impl Event for Probe {}

    fn push(name: &'static str, call_next: bool) -> HandlerFn<Probe> {
        Arc::new(move |e: &mut Probe, next| {
            Box::pin(async move {
                e.log.push(format!("{name}:before"));
                if call_next {
                    next.run(&mut *e).await?;
                }
                e.log.push(format!("{name}:after"));
                Ok(())
            })
        })
    }

    fn action(e: &mut Probe) -> BoxFuture<'_, HookResult> {
        Box::pin(async move {
            e.log.push("action".into());
            Ok(())
        })
    }

    #[tokio::test]
    async fn runs_by_priority_around_the_action() {
        let hook = Hook::<Probe>::default();
        hook.bind(10, &[], push("late", true));
        hook.bind(0, &[], push("first", true));
        hook.bind(0, &[], push("second", true));
        let mut probe = Probe::default();
        hook.trigger(&mut probe, &action).await.unwrap();
        assert_eq!(
            probe.log,
            [
                "first:before",
                "second:before",
                "late:before",
                "action",
                "late:after",
                "second:after",
                "first:after"
            ]
        );
    }

    #[tokio::test]
    async fn not_calling_next_stops_the_chain_and_errors_propagate() {
        let hook = Hook::<Probe>::default();
        let id = hook.bind(0, &[], push("stop", false));
        let mut probe = Probe::default();
        hook.trigger(&mut probe, &action).await.unwrap();
        assert_eq!(probe.log, ["stop:before", "stop:after"]);
        hook.unbind(id);
        hook.bind(
            0,
            &[],
            Arc::new(|_: &mut Probe, _| Box::pin(async { Err(ApiError::bad_request("no")) })),
        );
        let mut probe = Probe::default();
        let err = hook.trigger(&mut probe, &action).await.unwrap_err();
        assert_eq!(err.message, "No.");
        assert!(probe.log.is_empty());
    }
}
