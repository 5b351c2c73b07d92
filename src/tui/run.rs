//! Sign-in, review and run, as state of the application: what the
//! sign-in dialog, the confirmation and the run view show. How keys and
//! the runner's events change it is `app::run_update`, part of the
//! application's one update function.

use std::path::PathBuf;

use tui_input::Input;

use crate::graph::cache::Account;
use crate::graph::check::Refusal;
use crate::graph::prepare::Prepared;
use crate::graph::runner::{Summary, TargetState};
use crate::triage::plan::{Plan, Target};

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
