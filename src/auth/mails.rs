//! The record mails (verification, password reset, email change, OTP, login alert): a
//! collection template with PocketBase's placeholders, wrapped in the standard layout and
//! sent from `meta.senderName <meta.senderAddress>`.
//!
//! Placeholders: `{APP_NAME}`, `{APP_URL}`, `{RECORD:<field>}` for every non-hidden field
//! (HTML-escaped), plus the ones a mail adds (`{TOKEN}`, `{OTP}`, `{OTP_ID}`,
//! `{ALERT_INFO}`). Plain string replacement in subject and body, as PocketBase does.

use serde_json::{Map, Value};

use crate::app::App;
use crate::core::auth_options::EmailTemplate;
use crate::core::collection::Collection;
use crate::core::record::input::to_text;
use crate::mail::{self, Address, Message};

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
            (format!("{{RECORD:{}}}", f.name), escape_html(&value))
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

/// Go's `html.EscapeString`.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '"' => out.push_str("&#34;"),
            _ => out.push(ch),
        }
    }
    out
}
