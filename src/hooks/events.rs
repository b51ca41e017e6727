//! The event objects of the chains bound so far (PocketBase §9.4 field names in the docs).
//! Events own their data, so a handler may keep or change any of it.

use serde_json::{Map, Value};

use crate::app::App;
use crate::core::collection::Collection;
use crate::core::records::RecordError;
use crate::filter::sql::RequestInfo;
use crate::hooks::Event;
use crate::mail::Message;
use crate::store::DbHandle;
use crate::store::auth::Otp;

/// `onRecordRequestOTPRequest`: a code was generated for `email`; `record` is `None` for an
/// unknown email. A handler may change `password` (the code) before the default action
/// stores and mails it; the default action sets `otp_id`.
pub struct RecordOtpRequestEvent {
    pub app: App,
    pub collection: Collection,
    pub record: Option<Map<String, Value>>,
    /// The plain code (`e.password` in PocketBase).
    pub password: String,
    /// Satchel's `otp.securityPhrase` words for the mail ("" when off).
    pub phrase: String,
    /// The answer's `otpId`, set by the default action.
    pub otp_id: String,
    /// What `e.requestInfo()` shows (the submitted body; no `e.email`, as PocketBase).
    pub request: RequestInfo,
}

impl Event for RecordOtpRequestEvent {
    fn collection(&self) -> Option<&Collection> {
        Some(&self.collection)
    }
}

/// `onRecordAuthWithOTPRequest`: the code matched; the default action consumes the OTP
/// (exactly once) and verifies the record when the code went to its email.
pub struct RecordAuthWithOtpEvent {
    pub app: App,
    pub collection: Collection,
    pub record: Map<String, Value>,
    pub otp: Otp,
}

impl Event for RecordAuthWithOtpEvent {
    fn collection(&self) -> Option<&Collection> {
        Some(&self.collection)
    }
}

/// `onMailerRecordOTPSend` (and later the other record mails): the default action sends
/// `message`; `meta` holds `otpId` and `password` for the OTP mail.
pub struct MailerRecordEvent {
    pub app: App,
    pub collection: Collection,
    pub record: Map<String, Value>,
    pub message: Message,
    pub meta: Map<String, Value>,
}

impl Event for MailerRecordEvent {
    fn collection(&self) -> Option<&Collection> {
        Some(&self.collection)
    }
}

/// `onRecordAuthRequest`: an authentication succeeded (`auth_method` "password", "otp", or ""
/// for refresh and impersonation). Handlers may change `record` or `token`, or fail the
/// request; the default action lets the answer proceed (MFA, login alert, response). A
/// chain stopped before the default action answers 204 with no token.
pub struct RecordAuthEvent {
    pub app: App,
    pub collection: Collection,
    pub record: Map<String, Value>,
    pub token: String,
    pub auth_method: String,
    /// Set by the default action.
    pub proceed: bool,
}

impl Event for RecordAuthEvent {
    fn collection(&self) -> Option<&Collection> {
        Some(&self.collection)
    }
}

/// The record model events, fired by every write whatever its face (REST, batch, the auth
/// flows): `onRecordCreate`/`onRecordUpdate`/`onRecordDelete` wrap the write (their default
/// action performs it, with `record` as the handlers left it; it was validated before the
/// chain), and `onRecordAfterCreateSuccess`/`…Update…`/`…Delete…` run once it is committed
/// (after the whole batch, for a batch).
pub struct RecordEvent {
    pub app: App,
    /// Where the write goes (a batch's transaction, or the shared connections).
    pub db: DbHandle,
    pub collection: Collection,
    pub record: Map<String, Value>,
    /// The stored row's id (PocketBase's last saved primary key): updates and deletes write
    /// this row even if a handler changes `record.id`.
    pub(crate) id: String,
    /// The stored version before an update (`record.original()`), when a handler is bound.
    pub original: Option<Map<String, Value>>,
    /// Why the write failed (`e.error`, for the `onRecordAfter…Error` hooks).
    pub error: Option<String>,
    /// The write's own failure, kept for the engine (set by the default action).
    pub(crate) failure: Option<RecordError>,
    /// `onRecordValidate`: set by its default action (a chain stopped before it skips the
    /// field errors, as PocketBase's does).
    pub(crate) validated: bool,
}

impl Event for RecordEvent {
    fn collection(&self) -> Option<&Collection> {
        Some(&self.collection)
    }
}

/// A response a request hook wrote itself (`e.json(…)` and friends): it replaces the answer,
/// as in PocketBase, whether or not the chain went on.
#[derive(Debug, Clone)]
pub struct Written {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// The record request events: `onRecordViewRequest`, `onRecordCreateRequest`,
/// `onRecordUpdateRequest`, `onRecordDeleteRequest`. They run once the request passed its API
/// rule (and, for writes, validation): `record` is the record to show or store. The default
/// action performs the write (through the model events above); the answer is built from
/// `record` after the chain. A chain stopped before the default action writes nothing and
/// answers an empty 200 (§9.3).
pub struct RecordRequestEvent {
    pub app: App,
    pub db: DbHandle,
    pub collection: Collection,
    pub record: Map<String, Value>,
    /// What rules see of the request (`e.requestInfo()`: auth, body, query, headers).
    pub request: RequestInfo,
    /// The id the request names: an update or delete writes this row, whatever a handler
    /// does to `record`.
    pub(crate) id: String,
    /// The stored version, for an update (`record.original()`).
    pub original: Option<Map<String, Value>>,
    /// Set by the default action.
    pub(crate) done: bool,
    /// A response written by a handler.
    pub written: Option<Written>,
}

impl Event for RecordRequestEvent {
    fn collection(&self) -> Option<&Collection> {
        Some(&self.collection)
    }
}

/// `onRecordsListRequest`: a page of records passed the list rule and filter; handlers may
/// change `records` before they are serialized. A chain stopped before the default action
/// answers an empty 200 (§9.3).
pub struct RecordsListRequestEvent {
    pub app: App,
    pub collection: Collection,
    pub records: Vec<Map<String, Value>>,
    pub request: RequestInfo,
    /// Set by the default action.
    pub(crate) done: bool,
    /// A response written by a handler.
    pub written: Option<Written>,
}

impl Event for RecordsListRequestEvent {
    fn collection(&self) -> Option<&Collection> {
        Some(&self.collection)
    }
}

/// `onRecordEnrich`: each record about to be serialized in an answer (list, view, create,
/// update); handlers may change or remove its values.
pub struct RecordEnrichEvent {
    pub app: App,
    pub collection: Collection,
    pub record: Map<String, Value>,
    pub request: RequestInfo,
    /// Fields a handler hid (`true`) or unhid (`false`) for this answer (`record.hide()`).
    pub hidden: Vec<(String, bool)>,
    /// `record.withCustomData(true)`: values that are not fields are shown too.
    pub custom_data: bool,
}

impl Event for RecordEnrichEvent {
    fn collection(&self) -> Option<&Collection> {
        Some(&self.collection)
    }
}

/// `onRealtimeConnectRequest`: a client opened `/api/realtime` (before `PB_CONNECT`; an
/// error refuses the connection).
pub struct RealtimeConnectEvent {
    pub app: App,
    pub client: String,
    pub request: RequestInfo,
}

impl Event for RealtimeConnectEvent {}

/// `onRealtimeSubscribeRequest`: a client replaces its subscriptions; the default action
/// stores them (as the handlers left them) and the request's auth.
pub struct RealtimeSubscribeEvent {
    pub app: App,
    pub client: String,
    pub subscriptions: Vec<String>,
    pub request: RequestInfo,
}

impl Event for RealtimeSubscribeEvent {}

/// `onRealtimeMessageSend`: a message is about to be queued for a client; the default
/// action queues it (as the handlers left it), so a chain that stops drops it.
pub struct RealtimeMessageEvent {
    pub app: App,
    pub client: String,
    pub message: crate::realtime::Message,
    /// Set by the default action.
    pub sent: bool,
}

impl Event for RealtimeMessageEvent {}

/// The app lifecycle events (`onBootstrap`, `onTerminate`, `onSettingsReload`).
pub struct AppEvent {
    pub app: App,
}

impl Event for AppEvent {}

/// The collection model events (`onCollectionCreate`/`Update`/`Delete`, whose default action
/// applies the change with `collection` as the handlers left it, and the
/// `onCollectionAfter…Success` events once it is committed). Collections changed by an
/// import do not fire them.
pub struct CollectionEvent {
    pub app: App,
    pub collection: Collection,
    /// The stored version, for updates and deletes.
    pub original: Option<Collection>,
    pub(crate) change: crate::store::Change,
    /// The change's own failure, kept for the engine (set by the default action).
    pub(crate) failure: Option<crate::core::collections::CollectionError>,
}

impl Event for CollectionEvent {
    fn collection(&self) -> Option<&Collection> {
        Some(&self.collection)
    }
}

/// The request events of the auth flows (`onRecordAuthWithPasswordRequest`,
/// `onRecordAuthRefreshRequest`, `onRecordRequestVerificationRequest`,
/// `onRecordConfirmVerificationRequest`, `onRecordRequestPasswordResetRequest`,
/// `onRecordConfirmPasswordResetRequest`, `onRecordRequestEmailChangeRequest`,
/// `onRecordConfirmEmailChangeRequest`). They run once the request is validated and its
/// record found, before the operation; the default action lets it proceed. `extra` holds the
/// flow's own fields (`identity`, `identityField`, `password`, `newEmail`). A chain stopped
/// before the default action answers an empty 200.
pub struct RecordFlowEvent {
    pub app: App,
    pub collection: Collection,
    /// `None` for a password login with an unknown identity (PocketBase: `e.record` null).
    pub record: Option<Map<String, Value>>,
    pub extra: Map<String, Value>,
    pub request: RequestInfo,
    /// Set by the default action.
    pub proceed: bool,
}

impl Event for RecordFlowEvent {
    fn collection(&self) -> Option<&Collection> {
        Some(&self.collection)
    }
}
