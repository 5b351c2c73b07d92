//! `AuditData.CreationTime`: ISO 8601, UTC, usually without a zone
//! (`2023-09-20T04:05:03`), sometimes with `Z`, an offset or up to seven
//! fractional digits.

use chrono::{DateTime, NaiveDateTime, Utc};

/// Parses a CreationTime; a value without a zone is UTC, as documented.
pub fn parse_creation_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let has_zone = s.ends_with(['Z', 'z']) || s.get(19..).is_some_and(|t| t.contains(['+', '-']));
    if has_zone {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    } else {
        // `FromStr` uses pre-built format items (fast); it wants the `T`.
        let parsed = if s.as_bytes().get(10) == Some(&b' ') {
            format!("{}T{}", &s[..10], &s[11..]).parse::<NaiveDateTime>()
        } else {
            s.parse::<NaiveDateTime>()
        };
        parsed.ok().map(|n| n.and_utc())
    }
}

/// RFC 3339 with a `Z`, seconds precision unless the record had more.
pub fn format_rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_seen_in_exports() {
        let p = |s| parse_creation_time(s).map(|t| format_rfc3339(&t));
        assert_eq!(
            p("2023-09-20T04:05:03").as_deref(),
            Some("2023-09-20T04:05:03Z")
        );
        assert_eq!(
            p("2026-07-17T08:28:17Z").as_deref(),
            Some("2026-07-17T08:28:17Z")
        );
        assert_eq!(
            p("2024-10-01T08:25:13.7165282Z").as_deref(),
            Some("2024-10-01T08:25:13.716528200Z")
        );
        assert_eq!(
            p("2023-09-20T06:05:03+02:00").as_deref(),
            Some("2023-09-20T04:05:03Z")
        );
        assert_eq!(
            p(" 2023-09-20 04:05:03 ").as_deref(),
            Some("2023-09-20T04:05:03Z")
        );
        assert_eq!(p("9/20/2023 4:05:03 AM"), None);
        assert_eq!(p(""), None);
        assert_eq!(p("2023-13-40T99:00:00"), None);
    }
}
