//! The retry policy: what one answer means for the request that got it.
//!
//! A pure function of the answer and of the request's history, so that
//! every branch is tested without a server or a clock: the runner owns
//! the waiting, the journal and the events.

use std::time::Duration;

use super::auth::AuthError;
use super::http::{Reply, SendError};

/// Why a request produced no reply.
pub(super) enum TaskError {
    Send(SendError),
    Auth(AuthError),
}

/// A failure as the server (or the network) gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: Option<u16>,
    pub code: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
    /// The reply's `Date` header: with the request id, what Microsoft
    /// support asks for.
    pub date: Option<String>,
}

impl Failure {
    /// `503 ServiceUnavailable: message`: what the server said, in one line.
    pub fn answer(&self) -> String {
        format!(
            "{}{}{}",
            self.status.map(|s| format!("{s} ")).unwrap_or_default(),
            self.code
                .as_deref()
                .map(|c| format!("{c}: "))
                .unwrap_or_default(),
            self.message
        )
    }
}

/// Why a run stops before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    pub why: String,
    /// Signing in again is the remedy (each face says how).
    pub sign_in: bool,
}

/// What a request has been through so far.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct History {
    /// Attempts sent, this one included.
    pub attempts: u32,
    /// 429 answers so far.
    pub throttled: u32,
    /// The token was refreshed after a 401 already.
    pub refreshed: bool,
    /// The request looks a user up (rather than removing access).
    pub lookup: bool,
}

/// How many tries a request gets.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub max_attempts: u32,
    pub max_throttled: u32,
}

/// What to do after an answer.
#[derive(Debug)]
pub(super) enum Verdict {
    Success(Reply),
    Retry {
        wait: Duration,
        failure: Failure,
        throttled: bool,
        /// The request may have acted although its reply was lost.
        unknown: bool,
    },
    /// Refresh the token and try again.
    Refresh(Failure),
    /// Record the failure and stop the run: every other target would be
    /// refused the same way.
    Stop(Failure, Stop),
    Fail(Failure),
}

/// The verdict on one answer. `gone`: the chat's members show the user
/// already removed (checked after a 404 to a request whose earlier reply
/// was lost). `backoff(n)` is the wait before the n-th retry when the
/// server names none.
pub(super) fn verdict(
    h: History,
    limits: Limits,
    result: Result<Reply, TaskError>,
    gone: bool,
    backoff: &mut dyn FnMut(u32) -> Duration,
) -> Verdict {
    let reply = match result {
        Ok(r) => r,
        Err(TaskError::Auth(e)) => {
            let f = Failure {
                status: None,
                code: None,
                message: e.to_string(),
                request_id: None,
                date: None,
            };
            let stop = Stop {
                why: format!("the session could not be refreshed: {e}"),
                sign_in: e.needs_login(),
            };
            return Verdict::Stop(f, stop);
        }
        Err(TaskError::Send(e)) => {
            let unknown = e.may_have_been_sent();
            let f = Failure {
                status: None,
                code: Some(if unknown { "no_reply" } else { "not_sent" }.into()),
                message: e.to_string(),
                request_id: None,
                date: None,
            };
            if h.attempts >= limits.max_attempts {
                return Verdict::Fail(f);
            }
            return Verdict::Retry {
                wait: backoff(h.attempts),
                failure: f,
                throttled: false,
                unknown,
            };
        }
    };
    if reply.is_success() || gone {
        return Verdict::Success(reply);
    }
    let f = failure_of(&reply);
    match reply.status {
        401 if !h.refreshed => Verdict::Refresh(f),
        401 => {
            let why = format!(
                "Graph refused the access token even after a refresh ({}).",
                f.message
            );
            Verdict::Stop(f, Stop { why, sign_in: true })
        }
        403 if h.lookup => {
            let why = format!(
                "Graph answered 403 Forbidden to a user lookup ({}: {}). Looking up a user id \
                 by UPN needs User.ReadBasic.All, admin-consented in the tenant. The run \
                 stopped.",
                f.code.as_deref().unwrap_or("Forbidden"),
                f.message
            );
            Verdict::Stop(
                f,
                Stop {
                    why,
                    sign_in: false,
                },
            )
        }
        403 => {
            let why = format!(
                "Graph answered 403 Forbidden ({}: {}). removeAllAccessForUser needs a \
                 delegated token with Chat.ReadWrite.All, admin-consented in the tenant, for \
                 an account allowed to manage Teams chats (a Teams or Global Administrator); \
                 app-only tokens are not accepted. The run stopped so that the remaining \
                 targets are not all refused the same way.",
                f.code.as_deref().unwrap_or("Forbidden"),
                f.message
            );
            Verdict::Stop(
                f,
                Stop {
                    why,
                    sign_in: false,
                },
            )
        }
        429 => {
            if h.throttled >= limits.max_throttled {
                return Verdict::Fail(f);
            }
            Verdict::Retry {
                wait: reply
                    .retry_after
                    .unwrap_or_else(|| backoff(h.throttled + 1)),
                failure: f,
                throttled: true,
                unknown: false,
            }
        }
        502..=504 => {
            if h.attempts >= limits.max_attempts {
                return Verdict::Fail(f);
            }
            Verdict::Retry {
                wait: reply.retry_after.unwrap_or_else(|| backoff(h.attempts)),
                failure: f,
                throttled: false,
                unknown: false,
            }
        }
        _ => Verdict::Fail(f),
    }
}

/// The failure a non-success reply records: Graph's error code, message
/// and request id when the body has them, else the status and headers.
fn failure_of(reply: &Reply) -> Failure {
    let ge = reply.error();
    Failure {
        status: Some(reply.status),
        code: ge
            .as_ref()
            .map(|g| g.code.clone())
            .filter(|c| !c.is_empty()),
        message: ge
            .as_ref()
            .map(|g| g.message.clone())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| status_text(reply.status)),
        request_id: ge
            .as_ref()
            .and_then(|g| g.request_id().map(str::to_owned))
            .or(reply.request_id.clone()),
        date: reply.date.clone(),
    }
}

/// `HTTP 503 Service Unavailable`.
pub(super) fn status_text(status: u16) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("HTTP {status} {reason}").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_attempts: 3,
        max_throttled: 2,
    };

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            request_id: Some("hdr-rid".into()),
            date: Some("Thu, 03 Dec 2026 10:00:00 GMT".into()),
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    fn graph_error(code: &str, message: &str) -> String {
        serde_json::json!({"error": {"code": code, "message": message,
            "innerError": {"request-id": "body-rid", "date": "2026-12-03T10:00:00"}}})
        .to_string()
    }

    fn tries(attempts: u32) -> History {
        History {
            attempts,
            ..History::default()
        }
    }

    /// The verdict, with a backoff that says which retry it was asked for.
    fn judge(h: History, result: Result<Reply, TaskError>, gone: bool) -> (Verdict, Vec<u32>) {
        let mut asked = Vec::new();
        let v = verdict(h, LIMITS, result, gone, &mut |n| {
            asked.push(n);
            Duration::from_secs(u64::from(n) * 100)
        });
        (v, asked)
    }

    #[test]
    fn success_and_a_confirmed_removal_succeed() {
        assert!(matches!(
            judge(tries(1), Ok(reply(204, "")), false).0,
            Verdict::Success(_)
        ));
        // A 404 after a lost reply, with the user gone from the members:
        // the earlier attempt acted.
        let (v, _) = judge(
            tries(2),
            Ok(reply(404, &graph_error("NotFound", "x"))),
            true,
        );
        assert!(matches!(v, Verdict::Success(_)));
        let (v, _) = judge(
            tries(2),
            Ok(reply(404, &graph_error("NotFound", "x"))),
            false,
        );
        assert!(matches!(v, Verdict::Fail(_)));
    }

    #[test]
    fn a_failure_keeps_graphs_code_message_and_request_id() {
        let (v, _) = judge(
            tries(1),
            Ok(reply(400, &graph_error("BadRequest", "bad id"))),
            false,
        );
        let Verdict::Fail(f) = v else { panic!("{v:?}") };
        assert_eq!(f.status, Some(400));
        assert_eq!(f.code.as_deref(), Some("BadRequest"));
        assert_eq!(f.message, "bad id");
        assert_eq!(f.request_id.as_deref(), Some("body-rid"));
        assert!(f.date.is_some());
        // No body: the status in words and the header's request id.
        let (v, _) = judge(tries(1), Ok(reply(409, "")), false);
        let Verdict::Fail(f) = v else { panic!("{v:?}") };
        assert_eq!(f.code, None);
        assert_eq!(f.message, "HTTP 409 Conflict");
        assert_eq!(f.request_id.as_deref(), Some("hdr-rid"));
    }

    #[test]
    fn server_errors_retry_until_the_attempts_run_out() {
        for status in [502, 503, 504] {
            let (v, asked) = judge(tries(1), Ok(reply(status, "")), false);
            let Verdict::Retry {
                wait,
                throttled,
                unknown,
                ..
            } = v
            else {
                panic!("{v:?}")
            };
            assert_eq!(
                (wait, throttled, unknown),
                (Duration::from_secs(100), false, false)
            );
            assert_eq!(asked, [1]);
            let (v, _) = judge(tries(LIMITS.max_attempts), Ok(reply(status, "")), false);
            assert!(matches!(v, Verdict::Fail(_)), "{status}");
        }
        // A 500 is not retried: Graph does not say it is transient.
        assert!(matches!(
            judge(tries(1), Ok(reply(500, "")), false).0,
            Verdict::Fail(_)
        ));
    }

    #[test]
    fn retry_after_wins_over_the_backoff() {
        let mut r = reply(503, "");
        r.retry_after = Some(Duration::from_secs(7));
        let (v, asked) = judge(tries(1), Ok(r), false);
        let Verdict::Retry { wait, .. } = v else {
            panic!("{v:?}")
        };
        assert_eq!(wait, Duration::from_secs(7));
        assert!(asked.is_empty());
    }

    #[test]
    fn throttling_counts_apart_from_attempts() {
        // Many attempts spent, but throttling has its own budget.
        let h = History {
            attempts: LIMITS.max_attempts,
            throttled: 1,
            ..History::default()
        };
        let (v, asked) = judge(h, Ok(reply(429, "")), false);
        assert!(
            matches!(
                v,
                Verdict::Retry {
                    throttled: true,
                    ..
                }
            ),
            "{v:?}"
        );
        assert_eq!(asked, [2]);
        let h = History {
            throttled: LIMITS.max_throttled,
            ..tries(1)
        };
        assert!(matches!(
            judge(h, Ok(reply(429, "")), false).0,
            Verdict::Fail(_)
        ));
    }

    #[test]
    fn a_401_refreshes_once_then_stops_for_a_sign_in() {
        let (v, _) = judge(tries(1), Ok(reply(401, "")), false);
        assert!(matches!(v, Verdict::Refresh(_)), "{v:?}");
        let h = History {
            refreshed: true,
            ..tries(2)
        };
        let (v, _) = judge(
            h,
            Ok(reply(401, &graph_error("InvalidAuthenticationToken", "x"))),
            false,
        );
        let Verdict::Stop(f, stop) = v else {
            panic!("{v:?}")
        };
        assert_eq!(f.status, Some(401));
        assert!(stop.sign_in);
        assert!(!stop.why.contains("chatevict"), "{}", stop.why);
    }

    #[test]
    fn a_403_stops_with_the_permission_it_needs() {
        let (v, _) = judge(
            tries(1),
            Ok(reply(403, &graph_error("Forbidden", "no"))),
            false,
        );
        let Verdict::Stop(_, stop) = v else {
            panic!("{v:?}")
        };
        assert!(stop.why.contains("Chat.ReadWrite.All"), "{}", stop.why);
        assert!(!stop.sign_in);
        let h = History {
            lookup: true,
            ..tries(1)
        };
        let (v, _) = judge(h, Ok(reply(403, "")), false);
        let Verdict::Stop(_, stop) = v else {
            panic!("{v:?}")
        };
        assert!(stop.why.contains("User.ReadBasic.All"), "{}", stop.why);
    }

    #[test]
    fn a_request_without_a_reply_retries_and_says_whether_it_may_have_acted() {
        let send = |e| Err(TaskError::Send(e));
        let (v, _) = judge(tries(1), send(SendError::NotSent("refused".into())), false);
        let Verdict::Retry {
            failure, unknown, ..
        } = v
        else {
            panic!("{v:?}")
        };
        assert!(!unknown);
        assert_eq!(failure.code.as_deref(), Some("not_sent"));
        let (v, _) = judge(
            tries(1),
            send(SendError::Unknown("timed out".into())),
            false,
        );
        let Verdict::Retry {
            failure, unknown, ..
        } = v
        else {
            panic!("{v:?}")
        };
        assert!(unknown);
        assert_eq!(failure.code.as_deref(), Some("no_reply"));
        let (v, _) = judge(
            tries(LIMITS.max_attempts),
            send(SendError::Unknown("timed out".into())),
            false,
        );
        assert!(matches!(v, Verdict::Fail(_)));
    }

    #[test]
    fn a_session_that_cannot_be_refreshed_stops_the_run() {
        let e = AuthError::NotSignedIn(String::new());
        let (v, _) = judge(tries(1), Err(TaskError::Auth(e)), false);
        let Verdict::Stop(f, stop) = v else {
            panic!("{v:?}")
        };
        assert_eq!(f.status, None);
        assert!(stop.sign_in);
        let e = AuthError::Network("down".into());
        let (v, _) = judge(tries(1), Err(TaskError::Auth(e)), false);
        let Verdict::Stop(_, stop) = v else {
            panic!("{v:?}")
        };
        assert!(!stop.sign_in);
    }
}
