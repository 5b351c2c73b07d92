//! Sign-in, review and run, as state of the application: what the
//! sign-in dialog, the confirmation and the run view show. The sign-in
//! dialog and the review answer their own keys ([`SignIn::key`],
//! [`Review::key`]); what follows for the rest of
//! the application, and how the runner's events change the run, is
//! `app::run_update`, part of the application's one update function.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::graph::cache::Account;
use crate::graph::check::Refusal;
use crate::graph::prepare::Prepared;
use crate::graph::runner::{Summary, TargetState};
use crate::triage::plan::{Plan, Target};
use crate::tui::keymap::{Action, Keymap};

/// Where sign-in stands.
#[derive(Debug, Clone)]
pub enum SignIn {
    /// Looking for a saved session.
    Checking,
    Out,
    /// Asking Entra for a device code.
    Starting,
    /// Waiting for the code to be entered.
    Code {
        message: String,
        user_code: String,
    },
    /// Waiting for the browser to come back (or an address to be pasted).
    Browser {
        url: String,
        port: u16,
        input: Input,
    },
    In(Account),
    Failed(String),
}

/// A run, as the run view shows it.
#[derive(Debug, Clone)]
pub struct RunState {
    /// The run's number (events of other runs are not this run's).
    pub seq: u64,
    pub targets: Vec<Target>,
    pub states: Vec<TargetState>,
    /// Targets marked but hidden by the filter when the run began.
    pub hidden: Vec<bool>,
    pub journal: Option<PathBuf>,
    /// The run's id in the journal, once started.
    pub run_id: Option<String>,
    pub dry_run: bool,
    pub paused: bool,
    pub cancelling: bool,
    /// Every target is final (the run waits for "retry failed").
    pub idle: Option<Summary>,
    pub ended: Option<Summary>,
    pub started_at: Option<std::time::Instant>,
    /// The run table's selection and scroll.
    pub cursor: super::cursor::Cursor,
}

/// Counts of a run's targets by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    pub removed: usize,
    pub failed: usize,
    pub retrying: usize,
    pub skipped: usize,
    pub would_remove: usize,
    pub left: usize,
}

impl RunState {
    /// Target `i` value by value, each whole, empty values left out: the
    /// run view's details, its detail dialog and what `y` offers to copy.
    pub fn target_fields(&self, i: usize) -> Vec<(&'static str, String)> {
        let (Some(tg), Some(st)) = (self.targets.get(i), self.states.get(i)) else {
            return vec![];
        };
        let mut out = Vec::new();
        let mut field = |name: &'static str, value: &str| {
            if !value.trim().is_empty() {
                out.push((name, value.to_owned()));
            }
        };
        field("Chat name", tg.chat_name.as_deref().unwrap_or(""));
        field("Chat id", &tg.chat_id);
        field("User", &tg.user_upn);
        let user_id = match st {
            TargetState::Resolved { user_id } => Some(user_id.as_str()),
            _ => tg.user_id.as_deref(),
        };
        field("User id", user_id.unwrap_or(""));
        field("Tenant id", &tg.tenant_id);
        let answer = crate::graph::runner::Failure::answer;
        match st {
            TargetState::Removed {
                status,
                request_id,
                date,
            } => {
                field("Answer", &format!("{status} (removed)"));
                field("Request id", request_id.as_deref().unwrap_or(""));
                field("Date", date.as_deref().unwrap_or(""));
            }
            TargetState::Failed(fl) => {
                field("Answer", &answer(fl));
                field("Request id", fl.request_id.as_deref().unwrap_or(""));
                field("Date", fl.date.as_deref().unwrap_or(""));
            }
            TargetState::Retrying {
                attempt,
                wait,
                failure,
            } => {
                field(
                    "Attempt",
                    &format!("{attempt}, again in {:.1}s", wait.as_secs_f64()),
                );
                field("Last answer", &answer(failure));
                field("Request id", failure.request_id.as_deref().unwrap_or(""));
            }
            TargetState::Skipped { run, at } => {
                field("Removed", &format!("at {at} by run {run}"));
            }
            _ => {}
        }
        if let Some(j) = &self.journal {
            field("Journal", &j.display().to_string());
        }
        out
    }

    pub fn counts(&self) -> RunCounts {
        let mut c = RunCounts::default();
        for s in &self.states {
            match s {
                TargetState::Removed { .. } => c.removed += 1,
                TargetState::Failed(_) => c.failed += 1,
                TargetState::Skipped { .. } => c.skipped += 1,
                TargetState::WouldRemove => c.would_remove += 1,
                TargetState::Retrying { .. } => {
                    c.retrying += 1;
                    c.left += 1;
                }
                _ => c.left += 1,
            }
        }
        c
    }

    pub fn active(&self) -> bool {
        self.ended.is_none()
    }
}

/// The confirmation before a run: the marked targets as a plan, then,
/// once the plan is checked and the journal read (a job off the loop),
/// exactly what will be sent.
#[derive(Debug)]
pub struct Review {
    /// The job that prepares it; answers of other jobs are dropped.
    pub seq: u64,
    /// The marked targets, as the plan that was checked.
    pub plan: Plan,
    pub state: ReviewState,
    pub input: Input,
    pub dry_run: bool,
    /// The selected row of the targets to send (its details are shown
    /// whole below the table).
    pub sel: usize,
    /// Why the last `enter` did nothing.
    pub note: Option<String>,
}

#[derive(Debug)]
pub enum ReviewState {
    /// Checking the plan and reading the journal.
    Preparing,
    Ready {
        prepared: Box<Prepared>,
        /// Per target of the prepared run: marked but hidden by the filter.
        hidden: Vec<bool>,
    },
    /// Targets the check refused (indices into `plan.targets`).
    Refused(Vec<Refusal>),
    Failed(String),
}

impl Review {
    /// The prepared run, once ready.
    pub fn prepared(&self) -> Option<(&Prepared, &[bool])> {
        match &self.state {
            ReviewState::Ready { prepared, hidden } => Some((prepared, hidden)),
            _ => None,
        }
    }

    /// How many requests a confirmed run sends (the number typed back).
    pub fn to_send(&self) -> Option<usize> {
        self.prepared().map(|(p, _)| p.to_send_count())
    }
}

/// What a key did to the review, for the application to follow.
#[derive(Debug)]
pub enum ReviewKey {
    /// The review stays open (changed or not).
    Stay,
    /// The review is closed; the sentence is for the status line.
    Closed(String),
    /// The count typed back matches: the run starts.
    Start {
        prepared: Box<Prepared>,
        hidden: Vec<bool>,
    },
}

impl Review {
    /// Answers a key: the count typed back, moving through the targets,
    /// the dry-run switch (only with a session), confirming or closing.
    pub fn key(&mut self, k: KeyEvent, keymap: &Keymap, signed_in: bool) -> ReviewKey {
        let rows = self.prepared().map_or(0, |(p, _)| p.targets().len());
        self.note = None;
        let dialog = keymap.dialog_action(&k);
        let list = keymap.action(&k);
        let typing = matches!(k.code, KeyCode::Char(c) if c.is_ascii_digit())
            || matches!(
                k.code,
                KeyCode::Backspace | KeyCode::Delete | KeyCode::Left | KeyCode::Right
            );
        if typing {
            self.input.handle_event(&crossterm::event::Event::Key(k));
            return ReviewKey::Stay;
        }
        let used = matches!(
            dialog,
            Some(Action::Cancel | Action::DryRun | Action::Confirm)
        ) || matches!(
            list,
            Some(Action::Up | Action::Down | Action::PageUp | Action::PageDown)
        );
        if !used && let KeyCode::Char(c) = k.code {
            // Said, not swallowed: only the count is typed here.
            self.note = Some(match self.to_send() {
                Some(n) if n > 0 => {
                    format!("{c:?} is not a digit: type {n}, the number of removals to send")
                }
                _ => format!("{c:?} does nothing here"),
            });
            return ReviewKey::Stay;
        }
        let last = rows.saturating_sub(1);
        match (dialog, list) {
            (Some(Action::Cancel), _) => {
                return ReviewKey::Closed("review closed: nothing was sent".into());
            }
            (_, Some(Action::Up)) => self.sel = self.sel.saturating_sub(1),
            (_, Some(Action::Down)) => self.sel = (self.sel + 1).min(last),
            (_, Some(Action::PageUp)) => self.sel = self.sel.saturating_sub(10),
            (_, Some(Action::PageDown)) => self.sel = (self.sel + 10).min(last),
            // Without a session only a dry run is possible.
            (Some(Action::DryRun), _) if signed_in => {
                self.dry_run = !self.dry_run;
                if let ReviewState::Ready { prepared, .. } = &mut self.state {
                    prepared.dry_run = self.dry_run;
                }
            }
            (Some(Action::DryRun), _) => {
                self.note = Some("not signed in: only a dry run is possible".into());
            }
            (Some(Action::Confirm), _) => return self.confirm(keymap),
            _ => {}
        }
        ReviewKey::Stay
    }

    /// `enter`: starts the run when the count typed back is the number
    /// of requests it sends, else says why not.
    fn confirm(&mut self, keymap: &Keymap) -> ReviewKey {
        let typed = self.input.value().trim().to_owned();
        match (&self.state, self.to_send()) {
            (_, Some(0)) => {
                return ReviewKey::Closed(
                    "nothing to send: an earlier run removed every marked target".into(),
                );
            }
            (_, Some(n)) if typed == n.to_string() => {
                let ReviewState::Ready { prepared, hidden } =
                    std::mem::replace(&mut self.state, ReviewState::Preparing)
                else {
                    unreachable!("to_send is Some only when ready")
                };
                return ReviewKey::Start { prepared, hidden };
            }
            (_, Some(n)) => {
                self.note = Some(if typed.is_empty() {
                    format!(
                        "type {n}, the number of removals to send, then {}",
                        keymap.key(Action::Confirm)
                    )
                } else {
                    format!("{typed} is not {n}: type the number of removals to send")
                });
            }
            (ReviewState::Preparing, None) => {
                self.note = Some("still checking the plan…".into());
            }
            (_, None) => {
                self.note = Some(format!(
                    "this plan cannot be run (see above); {} closes",
                    keymap.key(Action::Cancel)
                ));
            }
        }
        ReviewKey::Stay
    }
}

/// What a key did in the sign-in dialog, for the application to follow.
#[derive(Debug, PartialEq, Eq)]
pub enum SignInKey {
    /// Nothing to do beyond keeping the dialog open.
    Stay,
    /// The dialog stays; the sentence is for the status line.
    Said(String),
    /// The dialog closes; the session (or none) stays as it is.
    Close,
    /// The sign-in under way is given up (the dialog closes).
    Cancelled,
    /// Sign in (again) with a device code.
    Start,
    /// Sign in in a browser on this machine.
    StartBrowser,
    /// Forget the session (the dialog closes).
    SignOut,
    /// Copy the code or the address (`what` names it).
    Copy { text: String, what: &'static str },
    /// The address the browser ended on, typed or pasted.
    Paste(String),
}

impl SignIn {
    /// Answers a key in the sign-in dialog. `run_open`: a run that has
    /// not ended forbids signing out (its requests need the session).
    pub fn key(&mut self, k: KeyEvent, keymap: &Keymap, run_open: bool) -> SignInKey {
        if let SignIn::Browser { url, input, .. } = self {
            // Typing the address the browser ended on.
            return match keymap.input_action(&k) {
                Some(Action::Cancel) => {
                    *self = SignIn::Out;
                    SignInKey::Cancelled
                }
                Some(Action::CopyShown) => SignInKey::Copy {
                    text: url.clone(),
                    what: "address",
                },
                Some(Action::Confirm) => {
                    let text = input.value().trim().to_owned();
                    if text.is_empty() {
                        return SignInKey::Stay;
                    }
                    *input = Input::default();
                    SignInKey::Paste(text)
                }
                _ => {
                    input.handle_event(&crossterm::event::Event::Key(k));
                    SignInKey::Stay
                }
            };
        }
        let dialog = keymap.dialog_action(&k);
        let copy = dialog == Some(Action::CopyShown) || keymap.action(&k) == Some(Action::Copy);
        match (dialog, &*self) {
            (Some(Action::Confirm), SignIn::In(_) | SignIn::Failed(_) | SignIn::Out) => {
                *self = SignIn::Starting;
                SignInKey::Start
            }
            (Some(Action::SignOut), SignIn::In(_)) if run_open => {
                SignInKey::Said("a run is open: end it before signing out".into())
            }
            (Some(Action::SignOut), SignIn::In(_)) => SignInKey::SignOut,
            (Some(Action::Cancel), SignIn::Code { .. } | SignIn::Starting) => {
                *self = SignIn::Out;
                SignInKey::Cancelled
            }
            // Closing the dialog leaves a session (or none) as it is.
            (Some(Action::Cancel), _) => SignInKey::Close,
            (_, SignIn::Code { user_code, .. }) if copy => SignInKey::Copy {
                text: user_code.clone(),
                what: "code",
            },
            (Some(Action::Browser), SignIn::Code { .. } | SignIn::Failed(_) | SignIn::Out) => {
                *self = SignIn::Starting;
                SignInKey::StartBrowser
            }
            _ => SignInKey::Stay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn k(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn signed_in() -> SignIn {
        SignIn::In(Account {
            username: "admin@contoso.example".into(),
            name: None,
            tenant_id: "t".into(),
            object_id: None,
        })
    }

    #[test]
    fn signing_out_waits_for_an_open_run_to_end() {
        let km = Keymap::default();
        let out = km.keys(Action::SignOut)[0];
        let out = KeyEvent::new(out.code, KeyModifiers::NONE);
        let mut s = signed_in();
        assert!(matches!(s.key(out, &km, true), SignInKey::Said(w) if w.contains("run is open")));
        assert!(matches!(s, SignIn::In(_)), "still signed in");
        assert_eq!(s.key(out, &km, false), SignInKey::SignOut);
    }

    #[test]
    fn esc_gives_up_a_sign_in_under_way_and_only_closes_otherwise() {
        let km = Keymap::default();
        let mut s = SignIn::Code {
            message: "go".into(),
            user_code: "ABCD".into(),
        };
        assert_eq!(s.key(k(KeyCode::Esc), &km, false), SignInKey::Cancelled);
        assert!(matches!(s, SignIn::Out));
        let mut s = signed_in();
        assert_eq!(s.key(k(KeyCode::Esc), &km, false), SignInKey::Close);
        assert!(matches!(s, SignIn::In(_)), "closing keeps the session");
    }

    #[test]
    fn the_browser_address_is_typed_then_pasted_and_an_empty_one_is_not() {
        let km = Keymap::default();
        let mut s = SignIn::Browser {
            url: "https://login.example/authorize".into(),
            port: 1,
            input: Input::default(),
        };
        assert_eq!(s.key(k(KeyCode::Enter), &km, false), SignInKey::Stay);
        // A letter bound to an action types itself here.
        for c in "http://localhost:1/?code=q".chars() {
            assert_eq!(s.key(k(KeyCode::Char(c)), &km, false), SignInKey::Stay);
        }
        assert_eq!(
            s.key(k(KeyCode::Enter), &km, false),
            SignInKey::Paste("http://localhost:1/?code=q".into())
        );
    }
}
