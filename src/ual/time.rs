//! `AuditData.CreationTime`: ISO 8601, UTC, usually without a zone
//! (`2023-09-20T04:05:03`), sometimes with `Z`, an offset or up to seven
//! fractional digits.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// Parses a CreationTime; a value without a zone is UTC, as documented.
pub fn parse_creation_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    common_form(s.as_bytes()).or_else(|| by_chrono(s))
}

/// Any form chrono reads: with `Z` or an offset, or without a zone and
/// with a `T` or a space.
fn by_chrono(s: &str) -> Option<DateTime<Utc>> {
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

/// The form nearly every record has, `2023-09-20T04:05:03` with up to
/// nine fractional digits and an optional `Z`, read digit by digit: every
/// record's time is parsed, and chrono's general parser was a tenth of the
/// work of reading a CSV row. Anything else (a `Z`-less space form, an
/// offset, a leap second, an impossible date) is left to chrono, so the
/// two agree by construction on what this declines (a property test holds
/// them equal on what it takes).
fn common_form(s: &[u8]) -> Option<DateTime<Utc>> {
    let digit = |i: usize| -> Option<u32> {
        let d = s.get(i)?.wrapping_sub(b'0');
        (d < 10).then_some(u32::from(d))
    };
    let two = |i: usize| Some(digit(i)? * 10 + digit(i + 1)?);
    let sep = |i: usize, c: u8| s.get(i) == Some(&c);
    if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':')) {
        return None;
    }
    let year = two(0)? * 100 + two(2)?;
    let (month, day, hour, minute, second) = (two(5)?, two(8)?, two(11)?, two(14)?, two(17)?);
    let mut rest = &s[19..];
    let mut nanos = 0;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        for &b in &frac[..n] {
            nanos = nanos * 10 + u32::from(b - b'0');
        }
        nanos *= 10u32.pow(9 - n as u32);
        rest = &frac[n..];
    }
    if !matches!(rest, b"" | b"Z" | b"z") {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    Some(
        date.and_hms_nano_opt(hour, minute, second, nanos)?
            .and_utc(),
    )
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
        assert_eq!(p("2023-02-29T00:00:00"), None);
        assert_eq!(
            p("2016-12-31T23:59:60Z").as_deref(),
            Some("2016-12-31T23:59:60Z")
        );
    }

    proptest::proptest! {
        #[test]
        fn the_common_form_reads_as_chrono_does(
            y in 0u32..10000, mo in 0u32..14, d in 0u32..33, h in 0u32..26,
            mi in 0u32..62, s in 0u32..62, frac in "(\\.[0-9]{0,11})?", zone in "(Z|z|)",
        ) {
            let text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{zone}");
            if let Some(t) = common_form(text.as_bytes()) {
                proptest::prop_assert_eq!(Some(t), by_chrono(&text), "{}", text);
            }
            proptest::prop_assert_eq!(parse_creation_time(&text), by_chrono(&text), "{}", text);
        }
    }
}
