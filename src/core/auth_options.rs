//! The options of an `auth` collection (pocketbase-surface.md §4.1–§4.2), stored in
//! `_collections.options` in exactly PocketBase's key order and defaults.
//!
//! Token secrets live here too; the API view strips them (`api_json`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::ids;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AuthOptions {
    pub auth_rule: Option<String>,
    pub manage_rule: Option<String>,
    pub auth_alert: AuthAlert,
    pub oauth2: OAuth2,
    pub password_auth: PasswordAuth,
    pub mfa: Mfa,
    pub otp: Otp,
    pub auth_token: TokenConfig,
    pub password_reset_token: TokenConfig,
    pub email_change_token: TokenConfig,
    pub verification_token: TokenConfig,
    pub file_token: TokenConfig,
    pub verification_template: EmailTemplate,
    pub reset_password_template: EmailTemplate,
    pub confirm_email_change_template: EmailTemplate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AuthAlert {
    pub enabled: bool,
    pub email_template: EmailTemplate,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OAuth2 {
    /// Provider configs are kept as given; only `clientSecret` is special (never returned).
    pub providers: Vec<Value>,
    pub mapped_fields: MappedFields,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MappedFields {
    pub id: String,
    pub name: String,
    pub username: String,
    #[serde(rename = "avatarURL")]
    pub avatar_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PasswordAuth {
    pub enabled: bool,
    pub identity_fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Mfa {
    pub enabled: bool,
    pub duration: i64,
    pub rule: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Otp {
    pub enabled: bool,
    pub duration: i64,
    pub length: i64,
    pub email_template: EmailTemplate,
    /// Satchel: a new code invalidates the record's earlier ones (docs/otp.md). Written to
    /// the collection JSON only when on, so PocketBase clients see PocketBase's shape.
    #[serde(skip_serializing_if = "is_false")]
    pub single_active: bool,
    /// Satchel: `request-otp` also answers a `phrase` that the mail repeats (`{PHRASE}`).
    #[serde(skip_serializing_if = "is_false")]
    pub security_phrase: bool,
    /// Satchel: an unknown email gets an unverified record (if the createRule admits a
    /// guest), then the normal flow.
    #[serde(skip_serializing_if = "is_false")]
    pub auto_create: bool,
}

fn is_false(value: &bool) -> bool {
    !value
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenConfig {
    pub secret: String,
    pub duration: i64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailTemplate {
    pub subject: String,
    pub body: String,
}

impl Default for AuthOptions {
    fn default() -> Self {
        let token = |duration| TokenConfig {
            secret: ids::secret(),
            duration,
        };
        AuthOptions {
            auth_rule: Some(String::new()),
            manage_rule: None,
            auth_alert: AuthAlert::default(),
            oauth2: OAuth2::default(),
            password_auth: PasswordAuth::default(),
            mfa: Mfa::default(),
            otp: Otp::default(),
            auth_token: token(432_000),
            password_reset_token: token(1800),
            email_change_token: token(1800),
            verification_token: token(86_400),
            file_token: token(180),
            verification_template: template(VERIFICATION_SUBJECT, VERIFICATION_BODY),
            reset_password_template: template(RESET_SUBJECT, RESET_BODY),
            confirm_email_change_template: template(EMAIL_CHANGE_SUBJECT, EMAIL_CHANGE_BODY),
        }
    }
}

impl Default for AuthAlert {
    fn default() -> Self {
        AuthAlert {
            enabled: true,
            email_template: template(ALERT_SUBJECT, ALERT_BODY),
        }
    }
}

impl Default for PasswordAuth {
    fn default() -> Self {
        PasswordAuth {
            enabled: true,
            identity_fields: vec!["email".to_string()],
        }
    }
}

impl Default for Mfa {
    fn default() -> Self {
        Mfa {
            enabled: false,
            duration: 600,
            rule: String::new(),
        }
    }
}

impl Default for Otp {
    fn default() -> Self {
        Otp {
            enabled: false,
            duration: 180,
            length: 8,
            email_template: template(OTP_SUBJECT, OTP_BODY),
            single_active: false,
            security_phrase: false,
            auto_create: false,
        }
    }
}

impl AuthOptions {
    /// The options as the API shows them: token secrets and OAuth2 client secrets removed.
    pub fn api_json(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        for (key, _) in self.tokens() {
            if let Some(token) = value.get_mut(key).and_then(Value::as_object_mut) {
                token.shift_remove("secret");
            }
        }
        if let Some(providers) = value
            .pointer_mut("/oauth2/providers")
            .and_then(Value::as_array_mut)
        {
            for provider in providers.iter_mut().filter_map(Value::as_object_mut) {
                provider.insert("clientSecret".into(), Value::String(String::new()));
            }
        }
        value
    }

    /// Every token config with its JSON key, for validation.
    pub fn tokens(&self) -> [(&'static str, &TokenConfig); 5] {
        [
            ("authToken", &self.auth_token),
            ("passwordResetToken", &self.password_reset_token),
            ("emailChangeToken", &self.email_change_token),
            ("verificationToken", &self.verification_token),
            ("fileToken", &self.file_token),
        ]
    }
}

fn template(subject: &str, body: &str) -> EmailTemplate {
    EmailTemplate {
        subject: subject.to_string(),
        body: body.to_string(),
    }
}

const ALERT_SUBJECT: &str = "Login from a new location";
const ALERT_BODY: &str = concat!(
    "<p>Hello,</p>\n<p>We noticed a login to your {APP_NAME} account from a new location:</p>\n",
    "<p><em>{ALERT_INFO}</em></p>\n<p><strong>If this wasn't you, you should immediately change your {APP_NAME} ",
    "account password to revoke access from all other locations.</strong></p>\n",
    "<p>If this was you, you may disregard this email.</p>\n<p>\n  Thanks,<br/>\n  {APP_NAME} team\n</p>"
);
const OTP_SUBJECT: &str = "OTP for {APP_NAME}";
const OTP_BODY: &str = concat!(
    "<p>Hello,</p>\n<p>Your one-time password is: <strong>{OTP}</strong></p>\n",
    "<p><i>If you didn't ask for the one-time password, you can ignore this email.</i></p>\n",
    "<p>\n  Thanks,<br/>\n  {APP_NAME} team\n</p>"
);
const VERIFICATION_SUBJECT: &str = "Verify your {APP_NAME} email";
const VERIFICATION_BODY: &str = concat!(
    "<p>Hello,</p>\n<p>Thank you for joining us at {APP_NAME}.</p>\n",
    "<p>Click on the button below to verify your email address.</p>\n<p>\n  <a class=\"btn\" ",
    "href=\"{APP_URL}/_/#/auth/confirm-verification/{TOKEN}\" target=\"_blank\" rel=\"noopener\">Verify</a>\n</p>\n",
    "<p><i>If you didn't recently register, please ignore this email.</i></p>\n",
    "<p>\n  Thanks,<br/>\n  {APP_NAME} team\n</p>"
);
const RESET_SUBJECT: &str = "Reset your {APP_NAME} password";
const RESET_BODY: &str = concat!(
    "<p>Hello,</p>\n<p>Click on the button below to reset your password.</p>\n<p>\n  <a class=\"btn\" ",
    "href=\"{APP_URL}/_/#/auth/confirm-password-reset/{TOKEN}\" target=\"_blank\" rel=\"noopener\">Reset password</a>\n",
    "</p>\n<p><i>If you didn't ask to reset your password, please ignore this email.</i></p>\n",
    "<p>\n  Thanks,<br/>\n  {APP_NAME} team\n</p>"
);
const EMAIL_CHANGE_SUBJECT: &str = "Confirm your {APP_NAME} new email address";
const EMAIL_CHANGE_BODY: &str = concat!(
    "<p>Hello,</p>\n<p>Click on the button below to confirm your new email address.</p>\n<p>\n  <a class=\"btn\" ",
    "href=\"{APP_URL}/_/#/auth/confirm-email-change/{TOKEN}\" target=\"_blank\" rel=\"noopener\">Confirm new email</a>\n",
    "</p>\n<p><i>If you didn't ask to change your email address, please ignore this email.</i></p>\n",
    "<p>\n  Thanks,<br/>\n  {APP_NAME} team\n</p>"
);

#[cfg(test)]
mod tests {
    use super::*;

    const THANKS: &str = "<p>\n  Thanks,<br/>\n  {APP_NAME} team\n</p>";

    #[test]
    fn templates_end_with_the_shared_signature() {
        for body in [
            ALERT_BODY,
            OTP_BODY,
            VERIFICATION_BODY,
            RESET_BODY,
            EMAIL_CHANGE_BODY,
        ] {
            assert!(body.ends_with(THANKS));
        }
    }

    #[test]
    fn api_json_hides_secrets() {
        let json = AuthOptions::default().api_json();
        assert_eq!(json["authToken"], serde_json::json!({"duration": 432000}));
        assert_eq!(json["otp"]["length"], 8);
        assert!(!json.to_string().contains("secret"));
    }
}
