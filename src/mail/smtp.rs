//! Delivery through the `settings.smtp` relay, the way PocketBase's `SMTPClient` does it.
//!
//! - `tls: true` is implicit TLS from the first byte (SMTPS, usually port 465); `tls: false` is
//!   a plain connection upgraded with STARTTLS whenever the server offers it.
//! - Credentials are used when a username or a password is set: `LOGIN` when `authMethod` says
//!   so, `PLAIN` otherwise. Like Go's `net/smtp`, they are never sent in clear text to anything
//!   but localhost: with credentials, a remote server without STARTTLS is an error.
//! - `localName` is the EHLO name; PocketBase's default is `localhost`.
//!
//! A connection is made for each message (no pool), so a settings change applies at once, and
//! the whole exchange is bounded by a timeout so a dead server fails instead of hanging.

use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::Value;

use super::MailError;

/// PocketBase's default SMTP port, used when the settings carry none (or a nonsensical one).
const DEFAULT_PORT: u16 = 587;

/// `settings.smtp`, for the fields that matter to a delivery.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    /// `""`, `"PLAIN"` or `"LOGIN"`.
    pub auth_method: String,
    /// Implicit TLS (SMTPS) rather than opportunistic STARTTLS.
    pub tls: bool,
    /// The EHLO name; empty means `localhost`.
    pub local_name: String,
}

impl SmtpConfig {
    /// Reads `settings.smtp`; `None` when `smtp.enabled` is not `true`.
    pub fn from_settings(settings: &Value) -> Option<SmtpConfig> {
        let smtp = settings.get("smtp")?;
        if smtp.get("enabled").and_then(Value::as_bool) != Some(true) {
            return None;
        }
        let text = |key: &str| {
            smtp.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let port = smtp
            .get("port")
            .and_then(Value::as_u64)
            .and_then(|port| u16::try_from(port).ok())
            .filter(|&port| port != 0)
            .unwrap_or(DEFAULT_PORT);
        Some(SmtpConfig {
            host: text("host"),
            port,
            username: text("username"),
            password: text("password"),
            auth_method: text("authMethod"),
            tls: smtp.get("tls").and_then(Value::as_bool).unwrap_or(false),
            local_name: text("localName"),
        })
    }

    fn host(&self) -> &str {
        self.host.trim()
    }

    fn has_credentials(&self) -> bool {
        !self.username.is_empty() || !self.password.is_empty()
    }

    fn mechanism(&self) -> Mechanism {
        if self.auth_method.eq_ignore_ascii_case("LOGIN") {
            Mechanism::Login
        } else {
            Mechanism::Plain
        }
    }

    /// How the connection is secured (see the module docs).
    fn tls(&self) -> Result<Tls, MailError> {
        let parameters = TlsParameters::new(self.host().to_owned())
            .map_err(|e| MailError(format!("invalid SMTP host {:?}: {e}", self.host)))?;
        Ok(if self.tls {
            Tls::Wrapper(parameters)
        } else if self.has_credentials() && !is_localhost(self.host()) {
            Tls::Required(parameters)
        } else {
            Tls::Opportunistic(parameters)
        })
    }

    fn transport(
        &self,
        timeout: Duration,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
        if self.host().is_empty() {
            return Err(MailError("the SMTP host is not set".into()));
        }
        let hello = match self.local_name.trim() {
            "" => "localhost",
            // It goes verbatim into the EHLO line: a space or line break would inject commands.
            name if name.contains(|c: char| c.is_whitespace() || c.is_control()) => {
                return Err(MailError(format!("invalid SMTP local name {name:?}")));
            }
            name => name,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(self.host())
            .port(self.port)
            .tls(self.tls()?)
            .timeout(Some(timeout))
            .hello_name(ClientId::Domain(hello.to_owned()));
        if self.has_credentials() {
            builder = builder
                .credentials(Credentials::new(
                    self.username.clone(),
                    self.password.clone(),
                ))
                .authentication(vec![self.mechanism()]);
        }
        Ok(builder.build())
    }
}

/// The hosts Go's `net/smtp` trusts with credentials over a plain connection.
fn is_localhost(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}

/// Sends `email` through the relay in `config`, giving up after `timeout`.
pub(super) async fn deliver(
    config: &SmtpConfig,
    email: &lettre::Message,
    timeout: Duration,
) -> Result<(), MailError> {
    let transport = config.transport(timeout)?;
    let bytes = email.formatted();
    let exchange = transport.send_raw(email.envelope(), &bytes);
    match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(_response)) => Ok(()),
        Ok(Err(e)) => Err(MailError(format!("failed to send the email: {e}"))),
        Err(_) => Err(MailError(format!(
            "failed to send the email: no answer from {}:{} within {}s",
            config.host,
            config.port,
            timeout.as_secs()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tokio::net::TcpListener;

    #[test]
    fn reads_settings_smtp() {
        let settings = json!({"smtp": {
            "enabled": true, "host": "smtp.example.com", "port": 465, "username": "u",
            "password": "p", "authMethod": "LOGIN", "tls": true, "localName": "me.example.com"
        }});
        let config = SmtpConfig::from_settings(&settings).expect("enabled");
        assert_eq!(
            config,
            SmtpConfig {
                host: "smtp.example.com".into(),
                port: 465,
                username: "u".into(),
                password: "p".into(),
                auth_method: "LOGIN".into(),
                tls: true,
                local_name: "me.example.com".into(),
            }
        );
        assert_eq!(config.mechanism(), Mechanism::Login);
    }

    #[test]
    fn disabled_or_missing_smtp_is_none() {
        for settings in [
            json!({}),
            json!({"smtp": {"enabled": false, "host": "h"}}),
            json!({"smtp": {"enabled": "true"}}),
            json!(null),
        ] {
            assert_eq!(SmtpConfig::from_settings(&settings), None, "{settings}");
        }
    }

    #[test]
    fn odd_values_fall_back_to_defaults() {
        let settings = json!({"smtp": {"enabled": true, "host": 1, "port": 70000, "tls": "yes"}});
        let config = SmtpConfig::from_settings(&settings).expect("enabled");
        assert_eq!(config.port, DEFAULT_PORT);
        assert_eq!(config.host, "");
        assert!(!config.tls);
        assert_eq!(config.mechanism(), Mechanism::Plain);
        assert!(!config.has_credentials());
    }

    #[test]
    fn credentials_to_a_remote_host_require_tls() {
        let mut config = SmtpConfig {
            host: "smtp.example.com".into(),
            port: 587,
            password: "p".into(),
            ..SmtpConfig::default()
        };
        assert!(matches!(config.tls(), Ok(Tls::Required(_))));
        config.host = "127.0.0.1".into();
        assert!(matches!(config.tls(), Ok(Tls::Opportunistic(_))));
        config.tls = true;
        assert!(matches!(config.tls(), Ok(Tls::Wrapper(_))));
    }

    fn message() -> lettre::Message {
        let message = crate::mail::Message {
            from: crate::mail::Address::new("a@example.com"),
            to: vec![crate::mail::Address::new("b@example.com")],
            subject: "s".into(),
            html: "<p>x</p>".into(),
            text: String::new(),
        };
        crate::mail::message::build(&message).expect("valid message")
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        // Accept and hold connections without ever greeting.
        let holder = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let config = SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            ..SmtpConfig::default()
        };
        let started = std::time::Instant::now();
        let result = deliver(&config, &message(), Duration::from_millis(300)).await;
        assert!(result.is_err(), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        holder.abort();
    }

    #[tokio::test]
    async fn a_local_name_cannot_inject_commands() {
        let config = SmtpConfig {
            host: "127.0.0.1".into(),
            port: 1,
            local_name: "x\r\nRSET".into(),
            ..SmtpConfig::default()
        };
        let result = deliver(&config, &message(), Duration::from_secs(1)).await;
        assert!(matches!(result, Err(MailError(m)) if m.contains("local name")));
    }

    #[tokio::test]
    async fn an_empty_host_is_an_error() {
        let result = deliver(&SmtpConfig::default(), &message(), Duration::from_secs(1)).await;
        assert!(result.is_err());
    }
}
