//! Fault profiles: what can go wrong between chatevict and Graph, on
//! purpose, so that the runner is seen to cope.
//!
//! - `none`: every request is answered at once, within the rate limits.
//! - `flaky`: latency, 502/503/504 answers, connections dropped before or
//!   after the removal is done, and replies that stall past the client's
//!   timeout (after the removal is done: the outcome is unknown to the
//!   client).
//! - `throttled`: extra 429 answers whose `Retry-After` comes as whole
//!   seconds, fractional seconds or an HTTP date.
//! - `hostile`: all of the above, plus access tokens that expire within
//!   seconds, error texts carrying terminal escape sequences and bidi
//!   overrides, and HTML error pages instead of JSON.

use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    #[default]
    None,
    Flaky,
    Throttled,
    Hostile,
}

impl Profile {
    pub const NAMES: &'static str = "none, flaky, throttled, hostile";
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "none" => Profile::None,
            "flaky" => Profile::Flaky,
            "throttled" => Profile::Throttled,
            "hostile" => Profile::Hostile,
            other => {
                return Err(format!(
                    "unknown fault profile {other:?}; expected one of {}",
                    Profile::NAMES
                ));
            }
        })
    }
}

/// What to do with one Graph request.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Proceed,
    /// Answer with this status (502, 503 or 504) without acting.
    Unavailable {
        status: u16,
        retry_after: Option<String>,
    },
    /// Answer 429 without acting.
    Throttle {
        retry_after: String,
    },
    /// Close the connection without a reply, without acting.
    DropBefore,
    /// Act, then close the connection without a reply.
    DropAfter,
    /// Act, then wait this long before replying (past a client timeout).
    Stall(Duration),
}

/// The fault decision for one request: an added delay and an action.
pub fn decide(p: Profile, rng: &mut fastrand::Rng) -> (Duration, Action) {
    let latency = match p {
        Profile::None => Duration::ZERO,
        _ => Duration::from_millis(rng.u64(5..80)),
    };
    let roll = rng.f64();
    let unavailable = |rng: &mut fastrand::Rng| Action::Unavailable {
        status: [502, 503, 504][rng.usize(..3)],
        retry_after: rng.bool().then(|| "1".to_owned()),
    };
    let throttle = |rng: &mut fastrand::Rng| Action::Throttle {
        retry_after: match rng.usize(..3) {
            0 => "1".to_owned(),
            1 => "0.5".to_owned(),
            _ => httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2)),
        },
    };
    let action = match p {
        Profile::None => Action::Proceed,
        Profile::Flaky | Profile::Hostile if roll < 0.06 => unavailable(rng),
        Profile::Flaky | Profile::Hostile if roll < 0.09 => Action::DropBefore,
        Profile::Flaky | Profile::Hostile if roll < 0.12 => Action::DropAfter,
        Profile::Flaky | Profile::Hostile if roll < 0.14 => Action::Stall(Duration::from_secs(3)),
        Profile::Hostile if roll < 0.18 => throttle(rng),
        Profile::Throttled if roll < 0.06 => throttle(rng),
        _ => Action::Proceed,
    };
    (latency, action)
}

/// An error text as a hostile server might send it.
pub fn hostile_text(rng: &mut fastrand::Rng) -> &'static str {
    const TEXTS: [&str; 4] = [
        "Service unavailable\u{1b}[2J\u{1b}[31m (screen cleared)",
        "Try again \u{202e}retal\u{202c} later",
        "Gateway\u{7}\u{8}\u{8} timeout\r\nInjected: header",
        "Back\u{200b}end\u{a0}busy \u{1b}]52;c;cHduZWQ=\u{7}",
    ];
    TEXTS[rng.usize(..TEXTS.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_never_faults_and_flaky_sometimes_does() {
        let mut rng = fastrand::Rng::with_seed(1);
        for _ in 0..1000 {
            assert_eq!(
                decide(Profile::None, &mut rng),
                (Duration::ZERO, Action::Proceed)
            );
        }
        let faults = (0..1000)
            .filter(|_| decide(Profile::Flaky, &mut rng).1 != Action::Proceed)
            .count();
        assert!((60..250).contains(&faults), "{faults}");
        assert!("china".parse::<Profile>().is_err());
    }
}
