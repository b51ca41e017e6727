//! Outgoing mail, as PocketBase's `tools/mailer` sends it.
//!
//! A [`Message`] is built into one RFC 5322 message (multipart/alternative, plain text first,
//! then HTML) and handed to a [`Transport`]:
//!
//! - [`Transport::Smtp`]: the `settings.smtp` relay, connected afresh for every send because
//!   the settings may change at any time (see [`smtp`]);
//! - [`Transport::Outbox`]: a directory that receives each message as an `.eml` file, for when
//!   SMTP is disabled (PocketBase falls back to `sendmail`; Satchel keeps the mail inspectable
//!   instead, see [`outbox`]).
//!
//! Templates are plain strings: [`render`] fills PocketBase's `{KEY}` placeholders, [`layout`]
//! wraps a body in PocketBase's standard mail layout, and [`html_to_text`] derives the plain-text
//! alternative when a message has none.

mod html2text;
mod html_tokens;
mod layout;
mod message;
mod outbox;
mod smtp;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use html2text::html_to_text;
pub use layout::layout;
pub use smtp::SmtpConfig;

/// How long one SMTP delivery may take, connection included, before it counts as failed.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// A mailbox: a display name (may be empty) and an email address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub name: String,
    pub email: String,
}

impl Address {
    /// An address without a display name.
    pub fn new(email: impl Into<String>) -> Address {
        Address {
            name: String::new(),
            email: email.into(),
        }
    }
}

/// One mail to send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub from: Address,
    pub to: Vec<Address>,
    pub subject: String,
    /// The full HTML body.
    pub html: String,
    /// The plain-text alternative; empty means "generate it from `html`" ([`html_to_text`]).
    pub text: String,
}

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Smtp(SmtpConfig),
    Outbox(PathBuf),
}

/// What became of a message that was delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The SMTP server accepted it.
    Sent,
    /// It was written to this `.eml` file.
    Written(PathBuf),
}

/// Why a message could not be built or delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailError(pub String);

impl fmt::Display for MailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MailError {}

/// Builds `message` and delivers it through `transport`.
pub async fn send(transport: &Transport, message: &Message) -> Result<Delivery, MailError> {
    let email = message::build(message)?;
    match transport {
        Transport::Smtp(config) => smtp::deliver(config, &email, SEND_TIMEOUT)
            .await
            .map(|()| Delivery::Sent),
        Transport::Outbox(dir) => {
            let recipient = message.to.first().map_or("", |to| to.email.as_str());
            outbox::write(dir, &email, recipient)
                .await
                .map(Delivery::Written)
        }
    }
}

/// Replaces each `{KEY}` placeholder in `template` with its value, in one pass.
///
/// Keys are given without braces (`("APP_NAME", "Acme")`); keys that already carry them are
/// accepted too. Replaced text is never scanned again, so a value that itself contains a
/// placeholder (a user-chosen name like `{TOKEN}`) cannot pull in another value. Unknown
/// placeholders are left as they are.
pub fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let candidate = &rest[open..];
        let value = candidate
            .find('}')
            .map(|close| &candidate[..=close])
            .and_then(|placeholder| lookup(vars, placeholder).map(|v| (placeholder.len(), v)));
        match value {
            Some((len, value)) => {
                out.push_str(value);
                rest = &candidate[len..];
            }
            None => {
                out.push('{');
                rest = &candidate[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Go's `html.EscapeString`, which is also ejs's `escapeXML` map: `& < > " '` →
/// `&amp; &lt; &gt; &#34; &#39;` (mail placeholders and page templates use it).
pub fn escape_html(text: &str) -> String {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// The value for `placeholder` (`{KEY}`, braces included), if one of `vars` names it.
fn lookup<'a>(vars: &[(&str, &'a str)], placeholder: &str) -> Option<&'a str> {
    let bare = &placeholder[1..placeholder.len() - 1];
    vars.iter()
        .find(|(key, _)| *key == bare || *key == placeholder)
        .map(|(_, value)| *value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html_as_go_and_ejs() {
        assert_eq!(escape_html("<b>&\"'"), "&lt;b&gt;&amp;&#34;&#39;");
        assert_eq!(escape_html("plain"), "plain");
    }

    #[test]
    fn render_replaces_every_occurrence() {
        let out = render(
            "{APP_NAME}: hi {NAME}, {APP_NAME} says {UNKNOWN} {",
            &[("APP_NAME", "Acme"), ("NAME", "Ann")],
        );
        assert_eq!(out, "Acme: hi Ann, Acme says {UNKNOWN} {");
    }

    #[test]
    fn render_accepts_braced_keys_and_does_not_rescan_values() {
        let out = render(
            "{NAME} {TOKEN}",
            &[("{NAME}", "{TOKEN}"), ("TOKEN", "secret")],
        );
        assert_eq!(out, "{TOKEN} secret");
    }

    #[test]
    fn render_handles_nested_and_unicode_text() {
        assert_eq!(render("{{A}}é{A}", &[("A", "x")]), "{x}éx");
        assert_eq!(render("", &[("A", "x")]), "");
        assert_eq!(render("{}", &[("", "empty")]), "empty");
    }

    #[test]
    fn mail_error_displays_its_message() {
        assert_eq!(MailError("boom".into()).to_string(), "boom");
    }
}
