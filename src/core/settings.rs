//! Application settings (pocketbase-surface.md §8): stored as one JSON document in
//! `_params` (id `settings`) exactly as PocketBase stores it, deep-merged on PATCH,
//! validated with PocketBase's field errors, secrets written but never returned.

use serde_json::{Map, Value, json};

use crate::core::collection::deep_merge;
use crate::core::validate::{is_email, is_url};
use crate::error::{FieldErrors, field_error, field_error_with};

/// The settings document, in PocketBase's key order.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings(pub Value);

/// Keys that are written but never returned (`smtp.password`, `s3.secret`, `backups.s3.secret`).
const SECRETS: [&str; 3] = ["/smtp/password", "/s3/secret", "/backups/s3/secret"];

impl Default for Settings {
    fn default() -> Self {
        let s3 = json!({"enabled": false, "bucket": "", "region": "", "endpoint": "", "accessKey": "",
            "forcePathStyle": false});
        Settings(json!({
            "superuserIPs": [],
            "smtp": {"enabled": false, "port": 587, "host": "smtp.example.com", "username": "", "password": "",
                "authMethod": "", "tls": false, "localName": ""},
            "backups": {"cron": "", "cronMaxKeep": 3, "s3": s3},
            "s3": s3,
            "meta": {"accentColor": "#1055c9", "appName": "Acme", "appURL": "http://localhost:8090",
                "senderName": "Support", "senderAddress": "support@example.com", "hideControls": false},
            "rateLimits": {"rules": [
                {"label": "*:auth", "audience": "", "duration": 3, "maxRequests": 2},
                {"label": "*:create", "audience": "", "duration": 5, "maxRequests": 20},
                {"label": "/api/batch", "audience": "", "duration": 1, "maxRequests": 3},
                {"label": "/api/", "audience": "", "duration": 10, "maxRequests": 300}],
                "excludedIPs": [], "enabled": false},
            "trustedProxy": {"headers": [], "useLeftmostIP": false},
            "batch": {"enabled": false, "maxRequests": 50, "timeout": 3, "maxBodySize": 0},
            "logs": {"maxDataSize": 0, "maxDays": 5, "minLevel": 0, "logIP": true, "logAuthId": false}
        }))
    }
}

impl Settings {
    /// Reads a stored document over the defaults, so keys added later get their default.
    pub fn from_stored(stored: &Value) -> Settings {
        let mut settings = Settings::default();
        deep_merge(&mut settings.0, stored);
        settings
    }

    /// The settings with `patch` deep-merged in (arrays replace).
    pub fn merged(&self, patch: &Value) -> Settings {
        let mut next = self.clone();
        deep_merge(&mut next.0, patch);
        next
    }

    /// The settings as the API returns them: secret keys omitted.
    pub fn api_json(&self) -> Value {
        let mut value = self.0.clone();
        for pointer in SECRETS {
            let (parent, key) = pointer.rsplit_once('/').unwrap_or_default();
            if let Some(obj) = value.pointer_mut(parent).and_then(Value::as_object_mut) {
                obj.shift_remove(key);
            }
        }
        value
    }

    /// `superuserIPs`: addresses or CIDR blocks superusers must come from (empty = any).
    pub fn superuser_ips(&self) -> Vec<String> {
        let list = self.0.get("superuserIPs").and_then(Value::as_array);
        list.map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
    }

    /// PocketBase's settings validation; field errors nest like the document (`meta.appName`).
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        let meta = self.validate_meta();
        if !meta.is_empty() {
            errors.insert("meta".into(), Value::Object(meta));
        }
        let smtp = self.validate_smtp();
        if !smtp.is_empty() {
            errors.insert("smtp".into(), Value::Object(smtp));
        }
        let batch = self.validate_positive(
            "/batch",
            &["maxRequests", "timeout"],
            self.flag("/batch/enabled"),
        );
        if !batch.is_empty() {
            errors.insert("batch".into(), Value::Object(batch));
        }
        let max_days = self
            .0
            .pointer("/logs/maxDays")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if max_days < 0 {
            let mut logs = Map::new();
            logs.insert(
                "maxDays".into(),
                field_error_with(
                    "validation_min_greater_equal_than_required",
                    "Must be no less than 0.",
                    json!({"threshold": 0}),
                ),
            );
            errors.insert("logs".into(), Value::Object(logs));
        }
        let s3 = self.validate_s3("/s3");
        if !s3.is_empty() {
            errors.insert("s3".into(), Value::Object(s3));
        }
        let mut backups = Map::new();
        let cron = self.text("/backups/cron");
        if !cron.is_empty() && !is_cron(cron) {
            backups.insert("cron".into(), field_error(
                "validation_invalid_cron",
                "Invalid cron expression - must be a valid macro or to have exactly 5 space separated segments.",
            ));
        }
        let backups_s3 = self.validate_s3("/backups/s3");
        if !backups_s3.is_empty() {
            backups.insert("s3".into(), Value::Object(backups_s3));
        }
        if !backups.is_empty() {
            errors.insert("backups".into(), Value::Object(backups));
        }
        let superuser_ips = self.invalid_ips("/superuserIPs");
        if !superuser_ips.is_empty() {
            errors.insert("superuserIPs".into(), Value::Object(superuser_ips));
        }
        let mut rate_limits = self.validate_rate_limits();
        let excluded = self.invalid_ips("/rateLimits/excludedIPs");
        if !excluded.is_empty() {
            rate_limits.insert("excludedIPs".into(), Value::Object(excluded));
        }
        if !rate_limits.is_empty() {
            errors.insert("rateLimits".into(), Value::Object(rate_limits));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn text(&self, pointer: &str) -> &str {
        self.0
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    fn flag(&self, pointer: &str) -> bool {
        self.0
            .pointer(pointer)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    fn validate_meta(&self) -> Map<String, Value> {
        let mut errors = Map::new();
        let app_name = self.text("/meta/appName");
        if app_name.is_empty() {
            errors.insert("appName".into(), required());
        } else if app_name.chars().count() > 255 {
            errors.insert("appName".into(), length_out_of_range(1, 255));
        }
        let app_url = self.text("/meta/appURL");
        if app_url.is_empty() {
            errors.insert("appURL".into(), required());
        } else if !is_url(app_url) {
            errors.insert(
                "appURL".into(),
                field_error("validation_is_url", "Must be a valid URL."),
            );
        }
        if self.text("/meta/senderName").is_empty() {
            errors.insert("senderName".into(), required());
        }
        let sender = self.text("/meta/senderAddress");
        if sender.is_empty() {
            errors.insert("senderAddress".into(), required());
        } else if !is_email(sender) {
            errors.insert(
                "senderAddress".into(),
                field_error("validation_is_email", "Must be a valid email address."),
            );
        }
        errors
    }

    fn validate_smtp(&self) -> Map<String, Value> {
        let mut errors = Map::new();
        if !self.flag("/smtp/enabled") {
            return errors;
        }
        if self.text("/smtp/host").is_empty() {
            errors.insert("host".into(), required());
        }
        if self
            .0
            .pointer("/smtp/port")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            <= 0
        {
            errors.insert("port".into(), required());
        }
        let auth = self.text("/smtp/authMethod");
        if !["", "PLAIN", "LOGIN"].contains(&auth) {
            errors.insert(
                "authMethod".into(),
                field_error("validation_in_invalid", "Must be a valid value."),
            );
        }
        errors
    }

    fn validate_s3(&self, base: &str) -> Map<String, Value> {
        let mut errors = Map::new();
        if !self.flag(&format!("{base}/enabled")) {
            return errors;
        }
        for key in ["bucket", "region", "endpoint", "accessKey", "secret"] {
            if self.text(&format!("{base}/{key}")).is_empty() {
                errors.insert(key.into(), required());
            }
        }
        errors
    }

    fn validate_positive(&self, base: &str, keys: &[&str], enabled: bool) -> Map<String, Value> {
        let mut errors = Map::new();
        for key in keys.iter().filter(|_| enabled) {
            let pointer = format!("{base}/{key}");
            if self
                .0
                .pointer(&pointer)
                .and_then(Value::as_i64)
                .unwrap_or(0)
                <= 0
            {
                errors.insert((*key).into(), required());
            }
        }
        errors
    }

    fn validate_rate_limits(&self) -> Map<String, Value> {
        let mut rule_errors = Map::new();
        let rules = self
            .0
            .pointer("/rateLimits/rules")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut seen: Vec<(String, String)> = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            let mut errors = Map::new();
            let label = rule
                .get("label")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let audience = rule
                .get("audience")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if label.is_empty() {
                errors.insert("label".into(), required());
            } else if !is_rate_limit_label(label) {
                errors.insert(
                    "label".into(),
                    field_error("validation_match_invalid", "Must be in a valid format."),
                );
            } else if seen.iter().any(|(l, a)| l == label && a == audience) {
                errors.insert(
                    "label".into(),
                    field_error("validation_conflicting_rate_limit_rule", "Rate limit rule configuration with label {{.label}} already exists or conflicts with another rule."),
                );
            }
            seen.push((label.to_string(), audience.to_string()));
            for key in ["maxRequests", "duration"] {
                if rule.get(key).and_then(Value::as_i64).unwrap_or(0) < 1 {
                    errors.insert(key.into(), required());
                }
            }
            if !["", "@guest", "@auth"].contains(&audience) {
                errors.insert(
                    "audience".into(),
                    field_error("validation_in_invalid", "Must be a valid value."),
                );
            }
            if !errors.is_empty() {
                rule_errors.insert(i.to_string(), Value::Object(errors));
            }
        }
        let mut out = Map::new();
        if !rule_errors.is_empty() {
            out.insert("rules".into(), Value::Object(rule_errors));
        }
        out
    }

    /// The entries of the list at `pointer` that are neither an IP nor a CIDR block, by
    /// index, with PocketBase's code (typo included).
    fn invalid_ips(&self, pointer: &str) -> Map<String, Value> {
        let list = self.0.pointer(pointer).and_then(Value::as_array);
        list.into_iter()
            .flatten()
            .enumerate()
            .filter(|(_, entry)| !entry.as_str().is_some_and(is_ip_or_cidr))
            .map(|(i, _)| {
                let error = field_error(
                    "validation_invlaid_ip_or_subnet",
                    "Invalid IP or CIDR subnet.",
                );
                (i.to_string(), error)
            })
            .collect()
    }
}

/// An IP address, or `address/prefix` with a prefix that fits the address family (Go's
/// `net.ParseIP` / `net.ParseCIDR`).
fn is_ip_or_cidr(text: &str) -> bool {
    match text.split_once('/') {
        None => text.parse::<std::net::IpAddr>().is_ok(),
        Some((ip, bits)) => match (ip.parse::<std::net::IpAddr>(), bits.parse::<u8>()) {
            (Ok(std::net::IpAddr::V4(_)), Ok(bits)) => bits <= 32,
            (Ok(std::net::IpAddr::V6(_)), Ok(bits)) => bits <= 128,
            _ => false,
        },
    }
}

fn required() -> Value {
    field_error("validation_required", "Cannot be blank.")
}

fn length_out_of_range(min: usize, max: usize) -> Value {
    field_error_with(
        "validation_length_out_of_range",
        &format!("The length must be between {min} and {max}."),
        json!({"min": min, "max": max}),
    )
}

/// A cron macro (`@hourly`...) or exactly 5 space-separated segments.
fn is_cron(expr: &str) -> bool {
    const MACROS: [&str; 7] = [
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ];
    MACROS.contains(&expr) || expr.split_whitespace().count() == 5
}

/// `^(\w+ \/[\w\/-]*|\/[\w\/-]*|\w+:\w+|\*:\w+|\w+)$` (§7), without a regex engine.
fn is_rate_limit_label(label: &str) -> bool {
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let path = |s: &str| {
        s.starts_with('/')
            && s[1..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_/-".contains(c))
    };
    if let Some((method, rest)) = label.split_once(' ') {
        return word(method) && path(rest);
    }
    if let Some((left, right)) = label.split_once(':') {
        return (left == "*" || word(left)) && word(right);
    }
    path(label) || word(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_hide_secrets() {
        let settings = Settings::default();
        assert_eq!(settings.validate(), Ok(()));
        let api = settings.api_json();
        assert!(api["smtp"].get("password").is_none());
        assert!(api["s3"].get("secret").is_none());
        assert!(api["backups"]["s3"].get("secret").is_none());
        assert_eq!(api["meta"]["appName"], "Acme");
    }

    #[test]
    fn ip_lists_are_validated_like_pocketbase() {
        let settings = Settings::default().merged(&json!({
            "superuserIPs": ["127.0.0.1", "nope", "10.0.0.0/33", "::1", "fd00::/8"],
            "rateLimits": {"excludedIPs": ["1.2.3.4", "x", "127.0.0.5/8"]}
        }));
        let errors = settings.validate().expect_err("invalid entries");
        let bad = |v: &Value| v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>());
        assert_eq!(
            bad(&errors["superuserIPs"]),
            Some(vec!["1".into(), "2".into()])
        );
        assert_eq!(
            errors["superuserIPs"]["1"]["code"],
            "validation_invlaid_ip_or_subnet"
        );
        assert_eq!(
            bad(&errors["rateLimits"]["excludedIPs"]),
            Some(vec!["1".into()])
        );
    }

    #[test]
    fn rate_limit_labels() {
        for ok in [
            "*:auth",
            "users:create",
            "/api/",
            "POST /api/batch",
            "/api/x-y",
            "list",
        ] {
            assert!(is_rate_limit_label(ok), "{ok}");
        }
        for bad in ["bad label!!", "", "a:b:c", "GET api"] {
            assert!(!is_rate_limit_label(bad), "{bad}");
        }
    }

    #[test]
    fn invalid_meta_gets_field_errors() {
        let settings =
            Settings::default().merged(&json!({"meta": {"appName": "", "senderAddress": "bad"}}));
        let errors = settings.validate().expect_err("invalid");
        assert_eq!(errors["meta"]["appName"]["code"], "validation_required");
        assert_eq!(
            errors["meta"]["senderAddress"]["code"],
            "validation_is_email"
        );
    }
}
