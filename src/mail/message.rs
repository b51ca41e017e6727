//! Turns a [`Message`] into lettre's RFC 5322 message, the one form both transports use.
//!
//! The shape follows PocketBase's mailer (mailyak): `From` with the display name only when
//! there is one, a `To` per recipient, multipart/alternative with the plain text first, and a
//! `Message-ID` of 15 random alphanumerics at the sender's domain. lettre adds the `Date`.

use lettre::message::{Mailbox, MultiPart};
use rand::RngExt;
use rand::distr::Alphanumeric;

use super::{Address, MailError, Message, html_to_text};

/// Builds the wire form of `message`; fails on an invalid address or when there is no recipient.
pub(super) fn build(message: &Message) -> Result<lettre::Message, MailError> {
    if message.to.is_empty() {
        return Err(MailError("the message has no recipients".into()));
    }
    let from = mailbox(&message.from)?;
    let mut builder = lettre::Message::builder()
        .message_id(Some(message_id(&from)))
        .from(from)
        // lettre encodes the subject; line breaks in it would only ever be header injection.
        .subject(message.subject.replace(['\r', '\n'], " "));
    for to in &message.to {
        builder = builder.to(mailbox(to)?);
    }
    let text = if message.text.is_empty() {
        html_to_text(&message.html)
    } else {
        message.text.clone()
    };
    builder
        .multipart(MultiPart::alternative_plain_html(
            text,
            message.html.clone(),
        ))
        .map_err(|e| MailError(format!("failed to build the message: {e}")))
}

/// `address` as a lettre mailbox; the display name is dropped when empty.
fn mailbox(address: &Address) -> Result<Mailbox, MailError> {
    let email = address
        .email
        .trim()
        .parse()
        .map_err(|e| MailError(format!("invalid email address {:?}: {e}", address.email)))?;
    let name = Some(address.name.trim())
        .filter(|name| !name.is_empty())
        .map(str::to_owned);
    Ok(Mailbox::new(name, email))
}

/// `<15 random alphanumerics@sender's domain>`, as PocketBase makes it.
fn message_id(from: &Mailbox) -> String {
    let random: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(15)
        .map(char::from)
        .collect();
    format!("<{random}@{}>", from.email.domain())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        Message {
            from: Address {
                name: "Acme Support".into(),
                email: "support@acme.test".into(),
            },
            to: vec![Address::new("ann@example.com")],
            subject: "Hello".into(),
            html: "<p>Hi</p>".into(),
            text: String::new(),
        }
    }

    fn formatted(message: &Message) -> String {
        let email = build(message).expect("valid message");
        String::from_utf8_lossy(&email.formatted()).into_owned()
    }

    #[test]
    fn builds_the_headers_pocketbase_sends() {
        let raw = formatted(&message());
        assert!(
            raw.contains("From: \"Acme Support\" <support@acme.test>\r\n"),
            "{raw}"
        );
        assert!(raw.contains("To: ann@example.com\r\n"), "{raw}");
        assert!(raw.contains("Subject: Hello\r\n"), "{raw}");
        assert!(raw.contains("\r\nDate: "), "{raw}");
        assert!(raw.contains("@acme.test>\r\n"), "{raw}");
        assert!(
            raw.contains("Content-Type: multipart/alternative;"),
            "{raw}"
        );
        let plain = raw.find("text/plain").expect("plain part");
        let html = raw.find("text/html").expect("html part");
        assert!(plain < html, "the plain part comes first");
    }

    #[test]
    fn from_without_a_name_is_just_the_address() {
        let mut m = message();
        m.from.name = String::new();
        assert!(formatted(&m).contains("From: support@acme.test\r\n"));
    }

    #[test]
    fn empty_text_is_generated_from_html() {
        let raw = formatted(&message());
        let plain = raw.find("text/plain").expect("plain part");
        assert!(raw[plain..].contains("\r\n\r\nHi\r\n"), "{raw}");
    }

    #[test]
    fn invalid_input_is_an_error_not_a_panic() {
        let mut m = message();
        m.to = vec![Address::new("not an address")];
        assert!(build(&m).is_err());
        let mut m = message();
        m.from.email = String::new();
        assert!(build(&m).is_err());
        let mut m = message();
        m.to.clear();
        assert!(build(&m).is_err());
        let mut m = message();
        m.subject = "evil\r\nBcc: x@y.z".into();
        assert!(!formatted(&m).contains("\r\nBcc:"));
    }
}
