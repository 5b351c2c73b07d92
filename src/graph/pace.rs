//! Pacing: how fast requests may go, and how long to wait after a
//! failure.
//!
//! Teams limits a signed-in user's writes to about one request per second
//! (sustained ~0.8/s) and any one chat to one request per second. The
//! pacer spaces request starts evenly at the configured rate (no bursts,
//! and no credit saved up while idle), keeps a second between two
//! requests on the same chat, and holds everything back when the server
//! says `Retry-After`.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// The longest wait taken from a `Retry-After` header; a larger (or
/// hostile) value is clamped so a run cannot hang for hours.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(900);
/// The gap between two requests on one chat.
pub const PER_CHAT_GAP: Duration = Duration::from_secs(1);

/// `Retry-After` as seconds (fractional allowed) or an HTTP date, as a
/// delay from `now`. Garbage, negative or non-finite values are `None`.
pub fn parse_retry_after(v: &str, now: SystemTime) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if !secs.is_finite() || secs < 0.0 {
            return None;
        }
        return Some(Duration::from_secs_f64(
            secs.min(MAX_RETRY_AFTER.as_secs_f64()),
        ));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(
        at.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

/// Exponential backoff with jitter for attempt `n` (1 = the first retry):
/// 1 s, 2 s, 4 s … up to 60 s, each scaled by a random factor in
/// [0.5, 1.0] so that clients that failed together do not retry together.
pub fn backoff(n: u32, rng: &mut fastrand::Rng) -> Duration {
    let base = 2f64.powi(n.saturating_sub(1).min(6) as i32).min(60.0);
    Duration::from_secs_f64(base * (0.5 + 0.5 * rng.f64()))
}

/// Spaces request starts.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Instant,
    hold_until: Instant,
    last_by_chat: HashMap<String, Instant>,
}

impl Pacer {
    /// `rate` in requests per second.
    pub fn new(rate: f64) -> Pacer {
        let now = Instant::now();
        Pacer {
            interval: Duration::from_secs_f64(1.0 / rate),
            next: now,
            hold_until: now,
            last_by_chat: HashMap::new(),
        }
    }

    /// The earliest start for a request on `chat` (or any request, if
    /// `None`).
    pub fn ready_at(&self, chat: Option<&str>) -> Instant {
        let mut at = self.next.max(self.hold_until);
        if let Some(last) = chat.and_then(|c| self.last_by_chat.get(c)) {
            at = at.max(*last + PER_CHAT_GAP);
        }
        at
    }

    /// A request on `chat` starts `now`.
    ///
    /// A start a little late (a timer that fired a few milliseconds after
    /// its time) keeps the schedule, so the average rate is the one asked
    /// for; a start after a longer idle time begins a new schedule, so no
    /// burst is saved up.
    pub fn started(&mut self, chat: Option<&str>, now: Instant) {
        let slack = (self.interval / 4).min(Duration::from_millis(50));
        self.next = if now <= self.next + slack {
            self.next.max(now.min(self.next)) + self.interval
        } else {
            now + self.interval
        };
        if let Some(c) = chat {
            self.last_by_chat.insert(c.to_owned(), now);
        }
    }

    /// The server asked for quiet until `until`.
    pub fn hold(&mut self, until: Instant) {
        self.hold_until = self.hold_until.max(until);
    }

    /// Until when the server asked for quiet.
    pub fn held_until(&self) -> Instant {
        self.hold_until
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_dates_and_garbage() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(" 0.25 ", now),
            Some(Duration::from_millis(250))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(7)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("1e12", now), Some(MAX_RETRY_AFTER));
        for bad in ["", "-1", "NaN", "inf", "soon", "\u{1b}[2J"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let mut rng = fastrand::Rng::with_seed(7);
        for n in 1..20 {
            let d = backoff(n, &mut rng).as_secs_f64();
            let base = 2f64.powi((n - 1).min(6) as i32).min(60.0);
            assert!(d >= base * 0.5 && d <= base, "{n}: {d}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn pacer_spaces_starts_and_keeps_a_second_per_chat() {
        let mut p = Pacer::new(4.0);
        let t0 = Instant::now();
        assert_eq!(p.ready_at(Some("a")), t0);
        p.started(Some("a"), t0);
        // The next request waits a quarter second, on another chat.
        assert_eq!(p.ready_at(Some("b")), t0 + Duration::from_millis(250));
        // The same chat waits a second.
        assert_eq!(p.ready_at(Some("a")), t0 + Duration::from_secs(1));
        p.hold(t0 + Duration::from_secs(5));
        assert_eq!(p.ready_at(Some("b")), t0 + Duration::from_secs(5));
        // Idle time is not saved up as a burst.
        let late = t0 + Duration::from_secs(60);
        p.started(Some("c"), late);
        assert_eq!(p.ready_at(None), late + Duration::from_millis(250));
        // A start a few milliseconds late keeps the schedule.
        let slightly = late + Duration::from_millis(253);
        p.started(Some("d"), slightly);
        assert_eq!(p.ready_at(None), late + Duration::from_millis(500));
    }
}
