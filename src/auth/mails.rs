//! The record mails (verification, password reset, email change, OTP, login alert): a
//! collection template with PocketBase's placeholders, wrapped in the standard layout and
//! sent from `meta.senderName <meta.senderAddress>`.
//!
//! Placeholders: `{APP_NAME}`, `{APP_URL}`, `{RECORD:<field>}` for every non-hidden field
//! (HTML-escaped), plus the ones a mail adds (`{TOKEN}`, `{OTP}`, `{OTP_ID}`,
//! `{ALERT_INFO}`). Plain string replacement in subject and body, as PocketBase does.

use serde_json::{Map, Value};

use serde_json::json;

use crate::app::App;
use crate::auth::record_tokens::{self, Kind};
use crate::core::auth_options::{AuthOptions, EmailTemplate};
use crate::core::collection::Collection;
use crate::core::record::input::to_text;
use crate::error::ApiError;
use crate::hooks::{BoxFuture, Hook, HookResult, Hooks, MailerRecordEvent};
use crate::mail::{self, Address, Message};

fn options(collection: &Collection) -> AuthOptions {
    collection.auth.clone().unwrap_or_default()
}

fn email_of(record: &Map<String, Value>) -> String {
    record
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The verification mail, with a fresh verification token.
pub fn verification(app: &App, collection: &Collection, record: &Map<String, Value>) -> Message {
    let email = email_of(record);
    let token = record_tokens::issue(
        collection,
        record,
        Kind::Verification,
        None,
        &[("email", json!(email))],
    );
    let template = options(collection).verification_template;
    record_message(
        app,
        collection,
        record,
        &template,
        &email,
        &[("{TOKEN}", &token)],
    )
}

/// The password reset mail, with a fresh reset token.
pub fn password_reset(app: &App, collection: &Collection, record: &Map<String, Value>) -> Message {
    let email = email_of(record);
    let token = record_tokens::issue(
        collection,
        record,
        Kind::PasswordReset,
        None,
        &[("email", json!(email))],
    );
    let template = options(collection).reset_password_template;
    record_message(
        app,
        collection,
        record,
        &template,
        &email,
        &[("{TOKEN}", &token)],
    )
}

/// The email change confirmation, sent to the new address.
pub fn email_change(
    app: &App,
    collection: &Collection,
    record: &Map<String, Value>,
    new_email: &str,
) -> Message {
    let claims = [
        ("email", json!(email_of(record))),
        ("newEmail", json!(new_email)),
    ];
    let token = record_tokens::issue(collection, record, Kind::EmailChange, None, &claims);
    let template = options(collection).confirm_email_change_template;
    record_message(
        app,
        collection,
        record,
        &template,
        new_email,
        &[("{TOKEN}", &token)],
    )
}

/// The OTP mail: the code, its id and (with `otp.securityPhrase`) the phrase.
pub fn otp(
    app: &App,
    collection: &Collection,
    record: &Map<String, Value>,
    otp_id: &str,
    code: &str,
    phrase: &str,
) -> Message {
    let template = options(collection).otp.email_template;
    let vars = [("{OTP}", code), ("{OTP_ID}", otp_id), ("{PHRASE}", phrase)];
    record_message(app, collection, record, &template, &email_of(record), &vars)
}

/// The "login from a new location" alert; `info` is "<time> - <ip> <user agent>".
pub fn auth_alert(
    app: &App,
    collection: &Collection,
    record: &Map<String, Value>,
    info: &str,
) -> Message {
    let template = options(collection).auth_alert.email_template;
    let info = mail::escape_html(info);
    record_message(
        app,
        collection,
        record,
        &template,
        &email_of(record),
        &[("{ALERT_INFO}", &info)],
    )
}

/// The message for `template`, to `to`, about `record`.
pub fn record_message(
    app: &App,
    collection: &Collection,
    record: &Map<String, Value>,
    template: &EmailTemplate,
    to: &str,
    vars: &[(&str, &str)],
) -> Message {
    let settings = app.settings();
    let meta = |key: &str| {
        settings
            .0
            .pointer(&format!("/meta/{key}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (app_name, app_url) = (meta("appName"), meta("appURL"));
    let fields: Vec<(String, String)> = collection
        .fields
        .iter()
        .filter(|f| !f.hidden)
        .map(|f| {
            let value = record.get(&f.name).map(to_text).unwrap_or_default();
            (format!("{{RECORD:{}}}", f.name), mail::escape_html(&value))
        })
        .collect();
    let mut all: Vec<(&str, &str)> = vec![("{APP_NAME}", &app_name), ("{APP_URL}", &app_url)];
    all.extend(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    all.extend_from_slice(vars);
    Message {
        from: Address {
            name: meta("senderName"),
            email: meta("senderAddress"),
        },
        to: vec![Address {
            name: String::new(),
            email: to.to_string(),
        }],
        subject: mail::render(&template.subject, &all),
        html: mail::layout(&mail::render(&template.body, &all)),
        text: String::new(),
    }
}

/// Picks one of the `onMailerRecord…Send` chains.
pub type MailerHook = fn(&Hooks) -> &Hook<MailerRecordEvent>;

/// Sends a record mail through its mailer hook; the default action sends `e.message` as the
/// handlers left it (a send failure fails the chain).
pub async fn send(
    app: &App,
    hook: MailerHook,
    collection: &Collection,
    record: &Map<String, Value>,
    message: Message,
) -> HookResult {
    let mut event = MailerRecordEvent {
        app: app.clone(),
        collection: collection.clone(),
        record: record.clone(),
        message,
        meta: Map::new(),
    };
    hook(app.hooks()).trigger(&mut event, &send_action).await
}

/// [`send`] in the background; `then` gets the outcome.
pub fn send_later<F, Fut>(
    app: &App,
    hook: MailerHook,
    collection: &Collection,
    record: &Map<String, Value>,
    message: Message,
    then: F,
) where
    F: FnOnce(App, HookResult) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let (app, collection, record) = (app.clone(), collection.clone(), record.clone());
    tokio::spawn(async move {
        let result = send(&app, hook, &collection, &record, message).await;
        then(app, result).await;
    });
}

fn send_action(e: &mut MailerRecordEvent) -> BoxFuture<'_, HookResult> {
    Box::pin(async move {
        e.app
            .send_mail(&e.message)
            .await
            .map(|_| ())
            .map_err(|err| ApiError::bad_request(format!("Failed to send the email: {err}")))
    })
}
