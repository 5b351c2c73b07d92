//! Fetching the audit log from the screen (`F`): the form, the job's
//! progress as the remote side reports it, and the records it reads,
//! merged into what is open a batch at a time, off the loop.
//!
//! The fetch itself is the library's (`graph::fetch`, the same as
//! `chatevict fetch`); this is what the screen keeps of it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::{App, Data, Dialog, Effect};
use crate::graph::audit::{DEFAULT_DAYS, QuerySpec, parse_when};
use crate::graph::fetch::FetchEvent;
use crate::triage::query::Query;
use crate::tui::keymap::Action;
use crate::ual::fetched::Appended;

/// What the remote side says of a fetch.
#[derive(Debug)]
pub enum FetchMsg {
    /// The saved session lacks the permission; why.
    NeedsSignIn(String),
    /// The query exists in the tenant; the records go to `output`.
    Created {
        query_id: String,
        output: PathBuf,
    },
    Status {
        status: String,
        elapsed: Duration,
    },
    /// A request is waited out (throttling, a passing failure).
    Waiting(String),
    /// A page read: its records, and how many of it were broken.
    Page {
        records: Vec<String>,
        broken: usize,
        total: u64,
    },
    Done {
        output: PathBuf,
        records: u64,
        broken: Vec<String>,
        limit_exceeded: bool,
    },
    Failed(String),
    /// This tenant's v1.0 does not serve the API: beta is used.
    Beta,
}

impl FetchMsg {
    pub fn from_event(e: FetchEvent) -> FetchMsg {
        match e {
            FetchEvent::Created { query_id, output } => FetchMsg::Created {
                query_id: query_id.to_owned(),
                output: output.to_path_buf(),
            },
            FetchEvent::Status { status, elapsed } => FetchMsg::Status {
                status: status.to_string(),
                elapsed,
            },
            FetchEvent::Waiting { why, wait } => {
                FetchMsg::Waiting(format!("{why}; waiting {:.0} s", wait.as_secs_f64()))
            }
            FetchEvent::Beta { .. } => FetchMsg::Beta,
            FetchEvent::Page {
                records,
                broken,
                total,
                ..
            } => FetchMsg::Page {
                records: records.to_vec(),
                broken: broken.len(),
                total,
            },
        }
    }
}

/// The form's fields, in order.
pub const FIELDS: [&str; 5] = ["since", "until", "operations", "users", "keyword"];

/// What is asked, as typed.
#[derive(Debug, Clone)]
pub struct FetchForm {
    pub inputs: [Input; 5],
    pub focus: usize,
    /// Why the last `enter` did not start.
    pub error: Option<String>,
}

impl Default for FetchForm {
    fn default() -> Self {
        FetchForm {
            inputs: [
                Input::new(format!("{DEFAULT_DAYS}d")),
                Input::default(),
                Input::default(),
                Input::default(),
                Input::default(),
            ],
            focus: 0,
            error: None,
        }
    }
}

fn list(text: &str) -> Vec<String> {
    text.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl FetchForm {
    /// The query the form asks for (Teams records).
    pub fn spec(&self, now: chrono::DateTime<chrono::Utc>) -> Result<QuerySpec, String> {
        let v = |i: usize| self.inputs[i].value().trim();
        let start = match v(0) {
            "" => now - chrono::Duration::days(DEFAULT_DAYS),
            s => parse_when(s, now).map_err(|e| format!("since: {e}"))?,
        };
        let end = match v(1) {
            "" => now,
            s => parse_when(s, now).map_err(|e| format!("until: {e}"))?,
        };
        let mut spec = QuerySpec::teams_since(start, end);
        spec.operations = list(v(2));
        spec.users = list(v(3));
        spec.keyword = Some(v(4).to_owned()).filter(|k| !k.is_empty());
        spec.check()?;
        Ok(spec)
    }
}

/// Where the fetch is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchPhase {
    /// The form is being filled in.
    Editing,
    /// Asked; no answer yet.
    Starting,
    /// The session lacks the permission: `enter` signs in again.
    NeedsSignIn(String),
    /// The service works on the query.
    Waiting {
        status: String,
        elapsed: Duration,
    },
    /// Pages are read.
    Reading {
        pages: u64,
        records: u64,
    },
    Done {
        records: u64,
        broken: Vec<String>,
        limit_exceeded: bool,
    },
    Failed(String),
    /// `esc` stopped it; the query is kept.
    Stopped,
}

impl FetchPhase {
    pub fn running(&self) -> bool {
        matches!(
            self,
            FetchPhase::Starting | FetchPhase::Waiting { .. } | FetchPhase::Reading { .. }
        )
    }
}

/// The fetch the screen shows: one at a time.
#[derive(Debug, Clone)]
pub struct FetchJob {
    pub form: FetchForm,
    pub phase: FetchPhase,
    pub query_id: Option<String>,
    pub output: Option<PathBuf>,
    /// A request waited out, said until the next step.
    pub waiting: Option<String>,
    /// The query is at beta (this tenant's v1.0 lacks the API).
    pub beta: bool,
    /// What the merges did, in all.
    pub merged: Appended,
    /// Records read, not merged yet.
    pending: Vec<String>,
    /// Records of the merge under way (none: no merge runs).
    merging: usize,
    /// The file is written: fingerprint the exports once merged.
    hash_due: bool,
    /// Start when the sign-in it asked for succeeds.
    after_sign_in: bool,
    /// Its number: messages of another fetch are dropped.
    pub seq: u64,
    /// Stopped or failed with records on the screen: write them once
    /// merged.
    partial_due: bool,
}

impl FetchJob {
    pub fn new(form: FetchForm) -> FetchJob {
        FetchJob {
            form,
            phase: FetchPhase::Editing,
            query_id: None,
            output: None,
            waiting: None,
            beta: false,
            merged: Appended::default(),
            pending: Vec::new(),
            merging: 0,
            hash_due: false,
            after_sign_in: false,
            seq: 0,
            partial_due: false,
        }
    }

    /// Records read and not yet on the screen.
    pub fn unmerged(&self) -> usize {
        self.pending.len() + self.merging
    }
}

impl App {
    /// `F`: the fetch dialog, with the last form (or the defaults).
    pub(super) fn open_fetch(&mut self) -> Vec<Effect> {
        let job = match self.fetch.take() {
            Some(j) if j.phase.running() || j.phase == FetchPhase::Editing => j,
            Some(j) => FetchJob::new(j.form),
            None => FetchJob::new(FetchForm::default()),
        };
        self.fetch = Some(job);
        self.dialog = Some(Dialog::Fetch);
        vec![]
    }

    /// Starts a fetch of the form's query at once (`--fetch`).
    pub fn fetch_now(&mut self) -> Vec<Effect> {
        self.open_fetch();
        self.start_fetch()
    }

    fn start_fetch(&mut self) -> Vec<Effect> {
        let Some(job) = &mut self.fetch else {
            return vec![];
        };
        match job.form.spec(chrono::Utc::now()) {
            Ok(spec) => {
                self.fetch_seq += 1;
                // A new fetch, with nothing of an earlier one.
                let mut fresh = FetchJob::new(job.form.clone());
                fresh.phase = FetchPhase::Starting;
                fresh.seq = self.fetch_seq;
                *job = fresh;
                vec![Effect::Fetch {
                    seq: self.fetch_seq,
                    spec: Box::new(spec),
                }]
            }
            Err(e) => {
                job.form.error = Some(e);
                vec![]
            }
        }
    }

    /// A key in the fetch dialog.
    pub(super) fn fetch_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        self.dialog = Some(Dialog::Fetch);
        let Some(job) = &mut self.fetch else {
            self.dialog = None;
            return vec![];
        };
        let action = self.keymap.input_action(&k);
        match (&job.phase, action) {
            (FetchPhase::Editing, Some(Action::Confirm)) => self.start_fetch(),
            (FetchPhase::Editing, Some(Action::Cancel)) => {
                self.dialog = None;
                vec![]
            }
            (FetchPhase::Editing, _) => {
                let form = &mut job.form;
                // A printable character types itself, whatever it is
                // bound to; the other keys move between the fields.
                let moving = match k.code {
                    KeyCode::Char(_) => None,
                    _ => self.keymap.action(&k),
                };
                match moving {
                    Some(Action::NextView | Action::Down) => {
                        form.focus = (form.focus + 1) % FIELDS.len();
                    }
                    Some(Action::Up) => {
                        form.focus = (form.focus + FIELDS.len() - 1) % FIELDS.len();
                    }
                    _ => {
                        form.inputs[form.focus].handle_event(&crossterm::event::Event::Key(k));
                        form.error = None;
                    }
                }
                vec![]
            }
            (FetchPhase::NeedsSignIn(_), Some(Action::Confirm)) => {
                job.phase = FetchPhase::Editing;
                job.after_sign_in = true;
                self.sign_in = crate::tui::run::SignIn::Starting;
                self.dialog = Some(Dialog::SignIn);
                vec![Effect::SignInForAudit]
            }
            (phase, Some(Action::Cancel)) if phase.running() => {
                job.phase = FetchPhase::Stopped;
                job.partial_due = true;
                let mut fx = vec![Effect::CancelFetch];
                fx.extend(self.merge_next());
                fx
            }
            (phase, Some(Action::Cancel | Action::Confirm)) if !phase.running() => {
                self.dialog = None;
                if let FetchPhase::Done { .. } = phase
                    && let Some(p) = &job.output
                {
                    self.status = Some(format!("fetched records saved in {}", p.display()));
                }
                vec![]
            }
            _ => vec![],
        }
    }

    /// What the remote side says of fetch number `seq`.
    pub(super) fn fetch_msg(&mut self, seq: u64, m: FetchMsg) -> Vec<Effect> {
        let Some(job) = &mut self.fetch else {
            return vec![];
        };
        // Whatever comes of another fetch, or after a stop, is from a task
        // that was stopped.
        if seq != job.seq || job.phase == FetchPhase::Stopped {
            return vec![];
        }
        if !matches!(m, FetchMsg::Waiting(_)) {
            job.waiting = None;
        }
        match m {
            FetchMsg::Beta => job.beta = true,
            FetchMsg::NeedsSignIn(why) => job.phase = FetchPhase::NeedsSignIn(why),
            FetchMsg::Created { query_id, output } => {
                job.query_id = Some(query_id);
                job.output = Some(output);
            }
            FetchMsg::Status { status, elapsed } => {
                job.phase = FetchPhase::Waiting { status, elapsed };
            }
            FetchMsg::Waiting(w) => job.waiting = Some(w),
            FetchMsg::Page {
                records,
                broken: _,
                total,
            } => {
                let pages = match job.phase {
                    FetchPhase::Reading { pages, .. } => pages + 1,
                    _ => 1,
                };
                job.phase = FetchPhase::Reading {
                    pages,
                    records: total,
                };
                job.pending.extend(records);
                return self.merge_next();
            }
            FetchMsg::Done {
                output,
                records,
                broken,
                limit_exceeded,
            } => {
                job.output = Some(output);
                job.phase = FetchPhase::Done {
                    records,
                    broken,
                    limit_exceeded,
                };
                job.hash_due = true;
                return self.merge_next();
            }
            FetchMsg::Failed(e) => {
                job.phase = FetchPhase::Failed(e);
                job.partial_due = true;
                return self.merge_next();
            }
        }
        vec![]
    }

    /// Signed in: the fetch that needed it starts, when it was waiting.
    pub(super) fn fetch_after_sign_in(&mut self) -> Vec<Effect> {
        match &mut self.fetch {
            Some(job) if job.after_sign_in => {
                job.after_sign_in = false;
                self.dialog = Some(Dialog::Fetch);
                self.start_fetch()
            }
            _ => vec![],
        }
    }

    /// Merges the records read so far, unless a merge is under way (its
    /// answer asks again); once all are in and the file is written, has
    /// the exports fingerprinted again (the fetched file is one of them).
    fn merge_next(&mut self) -> Vec<Effect> {
        let (Some(job), Some(data)) = (&mut self.fetch, &self.data) else {
            return vec![];
        };
        if job.merging > 0 {
            return vec![];
        }
        if !job.pending.is_empty() {
            let Some(path) = job.output.clone() else {
                return vec![];
            };
            job.merging = job.pending.len();
            // The plan waits for the new file's fingerprint.
            self.sources = None;
            return vec![Effect::Merge {
                data: data.clone(),
                path,
                records: std::mem::take(&mut job.pending),
            }];
        }
        if job.hash_due {
            job.hash_due = false;
            return vec![Effect::Hash(crate::triage::plan::sources_of(&data.ds))];
        }
        if std::mem::take(&mut job.partial_due)
            && let Some(path) = job.output.clone()
            && data.ds.sources.iter().any(|s| s.path == path)
        {
            return vec![Effect::SaveFetched {
                data: data.clone(),
                path,
            }];
        }
        vec![]
    }

    /// A merge's answer: the data with the fetched records in.
    pub(super) fn merged(&mut self, d: Box<Data>, appended: Appended) -> Vec<Effect> {
        if let Some(job) = &mut self.fetch {
            job.merging = 0;
            job.merged.added += appended.added;
            job.merged.duplicates += appended.duplicates;
            job.merged.skipped += appended.skipped;
        }
        // Marks stay on the targets they name, where the new records still
        // make them targets (only the index decides who is a target).
        let pairs = self.marks.to_pairs();
        self.marks = super::Marks::default();
        self.marks.per_chat = vec![0; d.ix.chats.list.len()];
        let kept = super::restore_pairs(&mut self.marks, &d, &pairs);
        if kept < pairs.len() {
            self.status = Some(format!(
                "{} mark(s) dropped: the fetched records show they are no longer targets",
                pairs.len() - kept
            ));
        }
        self.data = Some(Arc::from(d));
        self.restore_to = Some((self.selected_record(), self.selected_chat()));
        let query: Query = self.filter.applied.clone();
        let mut fx = self.start_filter(query);
        fx.extend(self.merge_next());
        fx
    }
}
