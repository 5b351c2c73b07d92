//! How keys and the runner's events change the sign-in, review and run
//! state (`tui::run`): part of `App::update`.

use crossterm::event::KeyEvent;
use tui_input::Input;

use super::{App, Dialog, Effect, PlanUse, RemoteMsg, RunControl, View};
use crate::graph::cache::Account;
use crate::graph::prepare::{PrepareError, Prepared};
use crate::graph::runner::{Event, TargetState};
use crate::journal::{EndReason, Key};
use crate::tui::keymap::Action;
use crate::tui::layout;
use crate::tui::run::{Review, ReviewKey, ReviewState, RunState, SignIn, SignInKey};

impl App {
    pub fn account(&self) -> Option<&Account> {
        match &self.sign_in {
            SignIn::In(a) => Some(a),
            _ => None,
        }
    }

    /// A run has work queued or in flight (an idle run, every target
    /// final, only waits for "retry failed").
    pub fn run_active(&self) -> bool {
        self.run
            .as_ref()
            .is_some_and(|r| r.active() && r.idle.is_none())
    }

    /// A run that has not ended yet, busy or idle.
    pub fn run_open(&self) -> bool {
        self.run.as_ref().is_some_and(RunState::active)
    }

    /// Keys of the run-related actions.
    pub(super) fn run_action(&mut self, a: Action) -> Vec<Effect> {
        match a {
            Action::SignIn => {
                if let SignIn::In(_) = &self.sign_in {
                    // Offers to sign in again (a consent granted since) or out.
                    self.dialog = Some(Dialog::SignIn);
                    return vec![];
                }
                self.sign_in = SignIn::Starting;
                self.dialog = Some(Dialog::SignIn);
                vec![Effect::SignIn]
            }
            Action::Review => {
                if self.run_active() {
                    self.view = View::Run;
                    self.status = Some("a run is in progress".into());
                    return vec![];
                }
                // An idle run (failures not retried) ends before a new one.
                let mut fx = Vec::new();
                if self.run_open() {
                    fx.push(Effect::Control(RunControl::Finish));
                }
                if self.marks.is_empty() {
                    self.status = Some(format!(
                        "no target is marked ({} marks the selected chat)",
                        self.keymap.key(Action::Mark)
                    ));
                    return vec![];
                }
                let Some(plan) = self.plan_or_wait(PlanUse::Review) else {
                    return vec![];
                };
                if plan.targets.is_empty() {
                    self.status = Some(format!(
                        "no target is marked ({} marks the selected chat)",
                        self.keymap.key(Action::Mark)
                    ));
                    return vec![];
                }
                self.run_seq += 1;
                let dry_run = self.account().is_none();
                fx.push(Effect::Prepare {
                    plan: Box::new(plan.clone()),
                    dry_run,
                    seq: self.run_seq,
                });
                self.dialog = Some(Dialog::Review(Box::new(Review {
                    seq: self.run_seq,
                    plan,
                    state: ReviewState::Preparing,
                    input: Input::default(),
                    dry_run,
                    sel: 0,
                    note: None,
                })));
                fx
            }
            Action::Pause => match &mut self.run {
                Some(r) if r.active() && r.idle.is_none() => {
                    if r.paused {
                        vec![Effect::Control(RunControl::Resume)]
                    } else {
                        vec![Effect::Control(RunControl::Pause)]
                    }
                }
                _ => vec![],
            },
            Action::CancelRun => match &self.run {
                Some(r) if r.active() => {
                    if r.idle.is_some() {
                        vec![Effect::Control(RunControl::Finish)]
                    } else {
                        // Irreversible either way: ask first.
                        self.dialog = Some(Dialog::CancelRun);
                        vec![]
                    }
                }
                _ => vec![],
            },
            Action::RetryFailed => match &self.run {
                Some(r) if r.active() && r.counts().failed > 0 => {
                    vec![Effect::Control(RunControl::RetryFailed)]
                }
                // The run stopped or ended with failures: a new run of
                // those targets, in the same journal.
                Some(r) if !r.active() && r.counts().failed > 0 => {
                    let keep: Vec<usize> = r
                        .states
                        .iter()
                        .enumerate()
                        .filter(|(_, s)| matches!(s, TargetState::Failed(_)))
                        .map(|(i, _)| i)
                        .collect();
                    if !r.dry_run && self.account().is_none() {
                        self.status = Some("sign in first (s): retrying sends requests".into());
                        return vec![];
                    }
                    let dry_run = r.dry_run;
                    self.run_seq += 1;
                    self.retry_seq = Some(self.run_seq);
                    self.status = Some(format!("retrying {} failed target(s)…", keep.len()));
                    vec![Effect::PrepareRetry {
                        keep,
                        dry_run,
                        seq: self.run_seq,
                    }]
                }
                Some(_) => {
                    self.status = Some("no failed target to retry in this run".into());
                    vec![]
                }
                None => vec![],
            },
            Action::Report => match self.run.as_ref().and_then(|r| r.journal.clone()) {
                Some(j) => vec![Effect::Report {
                    journal: j,
                    run: self.run.as_ref().and_then(|r| r.run_id.clone()),
                }],
                None => {
                    self.status = Some("no run yet".into());
                    vec![]
                }
            },
            _ => vec![],
        }
    }

    pub(super) fn review_key(&mut self, mut r: Box<Review>, k: KeyEvent) -> Vec<Effect> {
        let signed_in = self.account().is_some();
        match r.key(k, &self.keymap, signed_in) {
            ReviewKey::Stay => {
                self.dialog = Some(Dialog::Review(r));
                vec![]
            }
            ReviewKey::Closed(why) => {
                self.status = Some(why);
                vec![]
            }
            ReviewKey::Start { prepared, hidden } => self.start_run(*prepared, hidden, r.seq),
        }
    }

    /// The run view for a prepared run, and the effect that starts it.
    fn start_run(&mut self, prepared: Prepared, hidden: Vec<bool>, seq: u64) -> Vec<Effect> {
        let targets = prepared.targets().to_vec();
        self.run = Some(RunState {
            seq,
            states: vec![TargetState::Queued; targets.len()],
            hidden,
            targets,
            journal: None,
            run_id: None,
            dry_run: prepared.dry_run,
            paused: false,
            cancelling: false,
            idle: None,
            ended: None,
            started_at: None,
            cursor: crate::tui::cursor::Cursor::default(),
        });
        self.view = View::Run;
        vec![Effect::StartRun {
            prepared: Box::new(prepared),
            seq,
        }]
    }

    /// A prepared run came back: the review shows it, or a retry starts.
    fn prepared(&mut self, seq: u64, result: Result<Box<Prepared>, PrepareError>) -> Vec<Effect> {
        let for_review = matches!(&self.dialog, Some(Dialog::Review(r)) if r.seq == seq);
        if for_review {
            let state = match result {
                Ok(p) => {
                    let hidden = p
                        .targets()
                        .iter()
                        .map(|t| {
                            self.marks
                                .chat_of(&Key::new(&t.chat_id, &t.user_upn))
                                .is_some_and(|c| !self.chat_visible(c))
                        })
                        .collect();
                    ReviewState::Ready {
                        prepared: p,
                        hidden,
                    }
                }
                Err(PrepareError::Refused(refusals)) => ReviewState::Refused(refusals),
                Err(e) => ReviewState::Failed(e.to_string()),
            };
            if let Some(Dialog::Review(r)) = &mut self.dialog {
                r.state = state;
            }
            return vec![];
        }
        if self.retry_seq == Some(seq) {
            self.retry_seq = None;
            return match result {
                Ok(p) => {
                    let n = p.targets().len();
                    self.status = Some(format!("retrying {n} failed target(s)"));
                    self.start_run(*p, vec![false; n], seq)
                }
                Err(e) => {
                    self.status = Some(format!("cannot retry: {e}"));
                    vec![]
                }
            };
        }
        vec![]
    }

    pub(super) fn remote(&mut self, m: RemoteMsg) -> Vec<Effect> {
        match m {
            RemoteMsg::Prepared(seq, result) => return self.prepared(seq, result),
            RemoteMsg::SignedOut(result) => {
                self.status = Some(match result {
                    Ok(()) => "signed out: the saved session is deleted".into(),
                    Err(e) => format!("could not sign out: {e}"),
                });
                self.sign_in = SignIn::Out;
            }
            RemoteMsg::NoSession => self.sign_in = SignIn::Out,
            RemoteMsg::DeviceCode { message, user_code } => {
                self.sign_in = SignIn::Code { message, user_code };
            }
            RemoteMsg::BrowserUrl { url, port } => {
                self.sign_in = SignIn::Browser {
                    url,
                    port,
                    input: Input::default(),
                };
            }
            RemoteMsg::SignedIn(a) => {
                self.status = Some(format!(
                    "signed in as {} (tenant {})",
                    a.username, a.tenant_id
                ));
                self.sign_in = SignIn::In(a);
                if matches!(self.dialog, Some(Dialog::SignIn)) {
                    self.dialog = None;
                    // A fetch that asked for this sign-in goes on.
                    return self.fetch_after_sign_in();
                }
            }
            RemoteMsg::SignInFailed(e) => {
                self.sign_in = SignIn::Failed(e);
            }
            RemoteMsg::RunStarted(journal) => {
                if let Some(r) = &mut self.run {
                    r.journal = Some(journal);
                    r.started_at = Some(std::time::Instant::now());
                }
            }
            RemoteMsg::RunRefused(e) => {
                self.status = Some(format!("the run did not start: {e}"));
                self.run = None;
                self.view = View::Events;
            }
            RemoteMsg::Report(lines) => {
                self.dialog = Some(Dialog::Report { lines, scroll: 0 });
            }
            RemoteMsg::Fetch(seq, m) => return self.fetch_msg(seq, m),
            RemoteMsg::Run(seq, e) => {
                let Some(r) = self.run.as_mut().filter(|r| r.seq == seq) else {
                    return vec![];
                };
                match *e {
                    Event::Target { index, state } => {
                        if let Some(s) = r.states.get_mut(index) {
                            *s = state;
                        }
                        r.idle = None;
                    }
                    Event::Paused => r.paused = true,
                    Event::Resumed => r.paused = false,
                    Event::Cancelling => r.cancelling = true,
                    Event::Idle(s) => {
                        let failed = s.counts.failed;
                        r.idle = Some(s);
                        let k = |a: Action| self.keymap.key(a);
                        self.status = Some(if failed > 0 {
                            format!(
                                "finished with {failed} failed: {} retries them, {} shows the report, {} ends the run",
                                k(Action::RetryFailed),
                                k(Action::Report),
                                k(Action::CancelRun)
                            )
                        } else {
                            format!("finished: {} shows the report", k(Action::Report))
                        });
                        if failed == 0 {
                            return vec![Effect::Control(RunControl::Finish)];
                        }
                    }
                    Event::Ended(s) => {
                        if let EndReason::Stopped(why) = &s.reason {
                            self.status = Some(if s.sign_in_needed {
                                format!(
                                    "the run stopped: {why} {} signs in again",
                                    self.keymap.key(Action::SignIn)
                                )
                            } else {
                                format!("the run stopped: {why}")
                            });
                        }
                        r.ended = Some(s);
                    }
                    Event::Started { run, .. } => r.run_id = Some(run),
                    Event::Throttled { .. } => {}
                }
            }
        }
        vec![]
    }

    pub(super) fn sign_in_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        let run_open = self.run_open();
        let answer = self.sign_in.key(k, &self.keymap, run_open);
        if !matches!(
            answer,
            SignInKey::Close | SignInKey::Cancelled | SignInKey::SignOut
        ) {
            self.dialog = Some(Dialog::SignIn);
        }
        match answer {
            SignInKey::Stay | SignInKey::Close => vec![],
            SignInKey::Said(why) => {
                self.status = Some(why);
                vec![]
            }
            SignInKey::Cancelled => {
                self.status = Some("sign-in cancelled".into());
                vec![Effect::CancelSignIn]
            }
            SignInKey::Start => vec![Effect::SignIn],
            SignInKey::StartBrowser => vec![Effect::SignInBrowser],
            SignInKey::SignOut => vec![Effect::SignOut],
            SignInKey::Copy { text, what } => {
                self.status = Some(format!("copied the {what} to the clipboard"));
                vec![Effect::Copy(text)]
            }
            SignInKey::Paste(text) => vec![Effect::PasteRedirect(text)],
        }
    }

    pub(super) fn run_move(&mut self, a: Action) -> bool {
        let page = layout::table_rows(self.size);
        let Some(r) = &mut self.run else { return false };
        let len = r.targets.len();
        if len == 0 {
            return false;
        }
        let delta = match a {
            Action::Up => -1,
            Action::Down => 1,
            Action::PageUp => -(page as isize),
            Action::PageDown => page as isize,
            Action::Top => isize::MIN / 2,
            Action::Bottom => isize::MAX / 2,
            _ => return false,
        };
        r.cursor.step(delta, len, page);
        true
    }
}
