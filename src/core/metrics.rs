//! In-process counters, exported at `GET /api/metrics` in Prometheus' text format. Keyed by
//! metric name and collection; cheap enough to bump on every request.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// The OTP counters (issue: "observability"), in export order with their help text.
pub const OTP_COUNTERS: [(&str, &str); 7] = [
    (
        "satchel_otp_requested_total",
        "OTP codes requested (known emails).",
    ),
    (
        "satchel_otp_mailed_total",
        "OTP mails handed to SMTP or the outbox.",
    ),
    (
        "satchel_otp_mail_failed_total",
        "OTP mails that failed to send (their OTP is deleted).",
    ),
    (
        "satchel_otp_verified_total",
        "Successful OTP verifications.",
    ),
    (
        "satchel_otp_wrong_code_total",
        "auth-with-otp calls with a wrong, unknown or expired code.",
    ),
    (
        "satchel_otp_attempts_limited_total",
        "auth-with-otp calls refused by the 5 per 180 s attempt limit.",
    ),
    (
        "satchel_otp_rate_limited_total",
        "requestOTP/authWithOTP calls refused by the rate limiter.",
    ),
];

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
}

impl Metrics {
    /// Adds one to `name` for `collection`.
    pub fn inc(&self, name: &'static str, collection: &str) {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        *counters.entry((name, collection.to_string())).or_default() += 1;
    }

    pub fn get(&self, name: &str, collection: &str) -> u64 {
        let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        counters
            .iter()
            .find(|((n, c), _)| *n == name && c == collection)
            .map(|(_, v)| *v)
            .unwrap_or(0)
    }

    /// Every counter in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        for (name, help) in OTP_COUNTERS {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
            for ((_, collection), value) in counters.iter().filter(|((n, _), _)| *n == name) {
                let label = collection.replace('\\', "\\\\").replace('"', "\\\"");
                out.push_str(&format!("{name}{{collection=\"{label}\"}} {value}\n"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let metrics = Metrics::default();
        metrics.inc("satchel_otp_requested_total", "users");
        metrics.inc("satchel_otp_requested_total", "users");
        let text = metrics.render();
        assert!(text.contains("# TYPE satchel_otp_requested_total counter\n"));
        assert!(text.contains("satchel_otp_requested_total{collection=\"users\"} 2\n"));
        assert_eq!(metrics.get("satchel_otp_requested_total", "users"), 2);
    }
}
