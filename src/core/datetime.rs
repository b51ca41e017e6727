//! PocketBase's datetime text format: UTC `YYYY-MM-DD HH:MM:SS.mmmZ` (pocketbase-surface.md §1.2).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

const FORMAT: &str = "%Y-%m-%d %H:%M:%S%.3fZ";

/// Now, formatted as PocketBase stores and serializes it.
pub fn now() -> String {
    format(Utc::now())
}

pub fn format(at: DateTime<Utc>) -> String {
    at.format(FORMAT).to_string()
}

/// Parses the inputs PocketBase accepts (its own format, RFC 3339 with any offset, a bare
/// date) into the stored format; `None` when nothing fits (PocketBase then stores `""`).
pub fn normalize(input: &str) -> Option<String> {
    let input = input.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(input) {
        return Some(format(at.with_timezone(&Utc)));
    }
    for pattern in [
        "%Y-%m-%d %H:%M:%S%.fZ",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(input, pattern) {
            return Some(format(naive.and_utc()));
        }
    }
    let date = NaiveDate::parse_from_str(input, "%Y-%m-%d").ok()?;
    Some(format(date.and_hms_opt(0, 0, 0)?.and_utc()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_accepted_inputs() {
        assert_eq!(
            normalize("2024-05-06").as_deref(),
            Some("2024-05-06 00:00:00.000Z")
        );
        assert_eq!(
            normalize("2024-05-06T10:00:00+02:00").as_deref(),
            Some("2024-05-06 08:00:00.000Z")
        );
        assert_eq!(
            normalize("2026-11-22 01:31:41.061Z").as_deref(),
            Some("2026-11-22 01:31:41.061Z")
        );
        assert_eq!(normalize("not a date"), None);
    }
}
