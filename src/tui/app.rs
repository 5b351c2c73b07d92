//! The application's state and `update`: the one owner of everything the
//! screen shows. Keys become actions, background work answers with
//! messages tagged by their job, and `update` turns both into new state
//! plus effects (start a filter, copy, write a plan) for the loop to run.
//! Drawing (`view`) only reads this state.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;

use super::keymap::{Action, Keymap};
use super::layout;
use super::theme::Theme;
use crate::journal::Key;
use crate::triage::index::Index;
use crate::triage::order::{ChatOrder, EventOrder};
use crate::triage::plan::{self, Plan};

mod dialogs;
mod fetch;
mod filter_bar;
mod run_update;
mod search;
use crate::triage::query::Query;
use crate::ual::Dataset;
pub use dialogs::{Dialog, DialogKey, Export};
pub use fetch::{FIELDS as FETCH_FIELDS, FetchForm, FetchJob, FetchMsg, FetchPhase};
pub use filter_bar::{BarKey, FilterBar, not_applied};
pub use search::{Hits, Job, Scan, Search, next_hit};

/// What was loaded.
pub struct Data {
    pub ds: Dataset,
    pub ix: Index,
    pub files: Vec<PathBuf>,
    /// The marks saved by the last session on these exports:
    /// (chat id, UPN).
    pub saved_marks: Vec<(String, String)>,
    /// The records in each order, computed once each.
    pub orders: crate::triage::order::Orders,
}

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Data")
            .field("records", &self.ds.records.len())
            .field("files", &self.files)
            .finish()
    }
}

impl Data {
    pub fn new(ds: Dataset, ix: Index, files: Vec<PathBuf>) -> Data {
        Data {
            ds,
            ix,
            files,
            saved_marks: Vec::new(),
            orders: Default::default(),
        }
    }

    /// The data with records fetched from the tenant taken in (as records
    /// of the fetch's file `path`, deduplicated against what is open),
    /// the chats worked out again. The original is copied only while
    /// something else (a filter) still reads it.
    pub fn with_fetched(
        data: Arc<Data>,
        path: &std::path::Path,
        records: &[String],
    ) -> (Data, crate::ual::fetched::Appended) {
        let (mut ds, mut files, saved_marks) = match Arc::try_unwrap(data) {
            Ok(d) => (d.ds, d.files, d.saved_marks),
            Err(d) => (d.ds.clone(), d.files.clone(), d.saved_marks.clone()),
        };
        let appended = crate::ual::fetched::append_graph_records(&mut ds, path, records);
        if !files.iter().any(|f| f == path) {
            files.push(path.to_path_buf());
        }
        let ix = Index::build(&ds);
        let mut d = Data::new(ds, ix, files);
        d.saved_marks = saved_marks;
        (d, appended)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Events,
    Chats,
    /// The run's progress.
    Run,
}

pub use super::cursor::Cursor;

/// The lists' orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Order {
    pub events: EventOrder,
    pub chats: ChatOrder,
}

/// Run controls, as effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunControl {
    Pause,
    Resume,
    Cancel,
    RetryFailed,
    Finish,
}

/// What sign-in and runs report.
#[derive(Debug)]
pub enum RemoteMsg {
    NoSession,
    DeviceCode {
        message: String,
        user_code: String,
    },
    /// The browser sign-in's address, and the loopback port it comes
    /// back to.
    BrowserUrl {
        url: String,
        port: u16,
    },
    SignedIn(crate::graph::cache::Account),
    SignInFailed(String),
    SignedOut(Result<(), String>),
    /// A run prepared (for the review, or a retry): job `.0`.
    Prepared(
        u64,
        Result<Box<crate::graph::prepare::Prepared>, crate::graph::prepare::PrepareError>,
    ),
    RunStarted(PathBuf),
    RunRefused(String),
    /// An event of run number `.0` (events of an earlier run are dropped).
    Run(u64, Box<crate::graph::runner::Event>),
    /// The report of the run's journal, as Markdown lines.
    Report(Vec<String>),
    /// A step of fetch number `.0` (those of an earlier fetch are dropped).
    Fetch(u64, FetchMsg),
}

/// Marks are keyed by target (chat id, UPN), so they survive any filter.
#[derive(Debug, Default, Clone)]
pub struct Marks {
    keys: HashMap<Key, usize>,
    /// Marked targets per chat index.
    per_chat: Vec<u32>,
}

impl Marks {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn contains(&self, k: &Key) -> bool {
        self.keys.contains_key(k)
    }

    /// The chat (index) of a marked target.
    pub fn chat_of(&self, k: &Key) -> Option<usize> {
        self.keys.get(k).copied()
    }

    pub fn in_chat(&self, chat: usize) -> u32 {
        self.per_chat.get(chat).copied().unwrap_or(0)
    }

    fn set(&mut self, k: Key, chat: usize, on: bool) {
        if self.per_chat.len() <= chat {
            self.per_chat.resize(chat + 1, 0);
        }
        if on {
            if self.keys.insert(k, chat).is_none() {
                self.per_chat[chat] += 1;
            }
        } else if self.keys.remove(&k).is_some() {
            self.per_chat[chat] -= 1;
        }
    }

    fn clear(&mut self) {
        self.keys.clear();
        self.per_chat.iter_mut().for_each(|c| *c = 0);
    }

    /// Every marked target as (chat id, UPN), sorted: what is saved.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .keys
            .keys()
            .map(|k| (k.chat_id.clone(), k.user_upn.clone()))
            .collect();
        v.sort();
        v
    }

    /// Chat indices with at least one marked target.
    pub fn chats(&self) -> Vec<bool> {
        self.per_chat.iter().map(|&c| c > 0).collect()
    }

    pub fn keys(&self) -> impl Iterator<Item = (&Key, &usize)> {
        self.keys.iter()
    }
}

/// What the loop must do for `update`.
#[derive(Debug)]
pub enum Effect {
    /// Keep the marks for the next session on these exports (the file,
    /// its JSON).
    SaveMarks {
        path: PathBuf,
        json: Vec<u8>,
    },
    /// Evaluate `query` (job `job`); `marked` says which chats are marked,
    /// for `marked:`.
    Filter {
        job: Job,
        query: Query,
        marked: Vec<bool>,
        order: Order,
    },
    /// Put this text on the clipboard (OSC 52).
    Copy(String),
    WritePlan {
        path: PathBuf,
        plan: Box<Plan>,
    },
    /// Write a text file (the run's report), off the loop.
    WriteText {
        path: PathBuf,
        text: String,
        what: String,
    },
    /// Start a device-code sign-in.
    SignIn,
    /// Start a browser sign-in instead.
    SignInBrowser,
    /// The address the browser ended on.
    PasteRedirect(String),
    CancelSignIn,
    /// Delete the saved session.
    SignOut,
    /// Check the plan and read its journal (job `seq`), for the review.
    Prepare {
        plan: Box<Plan>,
        dry_run: bool,
        seq: u64,
    },
    /// Prepare a run of some targets (indices) of the last run again.
    PrepareRetry {
        keep: Vec<usize>,
        dry_run: bool,
        seq: u64,
    },
    StartRun {
        prepared: Box<crate::graph::prepare::Prepared>,
        /// The run's number, which its events carry.
        seq: u64,
    },
    Control(RunControl),
    /// Build the report of a run (`None`: the journal's last).
    Report {
        journal: PathBuf,
        run: Option<String>,
    },
    /// Search the tenant's audit log (fetch number `seq`, which its
    /// messages carry).
    Fetch {
        seq: u64,
        spec: Box<crate::graph::audit::QuerySpec>,
    },
    /// Write the fetched records on the screen to the fetch's file (a
    /// fetch stopped or failed midway: what was read, so that every
    /// record shown is in a file a plan can name), then fingerprint the
    /// exports.
    SaveFetched {
        data: Arc<Data>,
        path: PathBuf,
    },
    /// Stop the fetch (its query is kept, resumable).
    CancelFetch,
    /// Sign in again asking for the audit log permission too.
    SignInForAudit,
    /// Take fetched records into the data, off the loop.
    Merge {
        data: Arc<Data>,
        path: PathBuf,
        records: Vec<String>,
    },
    /// Fingerprint the exports again (a fetched file joined them).
    Hash(Vec<(PathBuf, Option<String>)>),
    Quit,
}

/// What reaches `update`.
pub enum Msg {
    Key(KeyEvent),
    /// A click or the wheel (when the mouse is the application's).
    Mouse(crossterm::event::MouseEvent),
    Resize(u16, u16),
    Loaded(Box<Data>),
    LoadFailed(String),
    /// The exports' SHA-256, for a plan's `source_files`: computed on the
    /// load thread after loading, since reading an 800 MB export again
    /// takes seconds.
    Hashed(Result<Vec<plan::SourceFile>, String>),
    /// A filter's or a search's result: matching records, and the chats
    /// they belong to in order of first appearance.
    Filtered {
        job: Job,
        rows: Vec<u32>,
        chats: Vec<usize>,
    },
    /// A file was written (or not): `what` says what it holds.
    Wrote {
        path: PathBuf,
        what: String,
        error: Option<String>,
    },
    /// Loading progressed: bytes read of the total.
    Progress(u64, u64),
    Remote(RemoteMsg),
    /// Fetched records taken in: the new data, and what the batch did.
    Merged(Box<Data>, crate::ual::fetched::Appended),
    /// Time passed (spinners, the run's clock) while something runs.
    Tick,
}

pub struct App {
    pub data: Option<Arc<Data>>,
    pub load_error: Option<String>,
    pub files: Vec<PathBuf>,
    pub view: View,
    pub rows: Vec<u32>,
    pub chat_rows: Vec<usize>,
    /// Chats with a matching record (for "hidden by the filter").
    visible_chat: Vec<bool>,
    pub events: Cursor,
    pub chats: Cursor,
    pub raw: bool,
    pub details_scroll: u16,
    pub filter: FilterBar,
    pub search: Search,
    /// How the events and the chats are ordered.
    pub order: Order,
    pub marks: Marks,
    pub dialog: Option<Dialog>,
    pub status: Option<String>,
    pub keymap: Keymap,
    pub theme: Theme,
    pub size: (u16, u16),
    /// Something changed since the last draw.
    pub dirty: bool,
    pub demo_banner: Option<String>,
    /// The demo's emulator, shown with the run.
    pub demo_url: Option<String>,
    /// Bytes read and total while loading.
    pub load_progress: (u64, u64),
    /// The raw AuditData of `raw_record`, pretty-printed and made safe,
    /// read again from its file when shown.
    pub raw_lines: Option<Vec<String>>,
    raw_record: Option<usize>,
    pub sign_in: super::run::SignIn,
    pub run: Option<super::run::RunState>,
    /// Runs (and their preparations) started so far.
    pub run_seq: u64,
    /// The retry being prepared, if any.
    pub retry_seq: Option<u64>,
    /// Ticks so far (the spinner's frame).
    pub tick: u64,
    /// The time, set by the loop before drawing (the run's rate and time
    /// left); `None` in tests, so that screens do not depend on the clock.
    pub now: Option<std::time::Instant>,
    /// The run's pace, requests/s.
    pub max_rate: f64,
    /// The exports' fingerprints once hashed (`None`: still hashing).
    pub sources: Option<Result<Vec<plan::SourceFile>, String>>,
    /// What to do with the plan once the exports are hashed.
    after_hash: Option<PlanUse>,
    /// Where the marks of these exports are kept between sessions (none
    /// in the demo).
    pub marks_file: Option<PathBuf>,
    /// The marks before each change, newest last: `u` undoes.
    undo: Vec<Marks>,
    /// The fetch from the tenant shown in its dialog (`F`).
    pub fetch: Option<FetchJob>,
    /// Start a fetch once loaded (`--fetch`).
    pub fetch_at_start: bool,
    /// The last fetch's number.
    fetch_seq: u64,
    /// Actions on "the matching chats" typed while the filter ran: done
    /// when it answers.
    after_filter: Vec<Action>,
    /// Where `enter` on a chat came from, innermost last: `back` returns.
    back: Vec<Place>,
    /// The record and chat to select once the filter being run answers
    /// (going back to a place).
    restore_to: Option<(Option<usize>, Option<usize>)>,
    /// Said in the header when the data cannot tell home from external
    /// (an anonymised export whose tenant ids are no GUIDs).
    pub home_warning: Option<String>,
}

/// Marks the saved targets that are still targets of these exports;
/// returns how many. A saved pair that names no target (the export
/// changed, the chat is not external) is dropped: only the index decides
/// who is a target.
fn restore_marks(marks: &mut Marks, d: &Data) -> usize {
    restore_pairs(marks, d, &d.saved_marks)
}

/// Marks the pairs (chat id, UPN) that are targets of `d`; returns how
/// many.
fn restore_pairs(marks: &mut Marks, d: &Data, pairs: &[(String, String)]) -> usize {
    if pairs.is_empty() {
        return 0;
    }
    let by_id: HashMap<&str, usize> =
        d.ix.chats
            .list
            .iter()
            .enumerate()
            .filter(|(_, c)| c.external)
            .map(|(i, c)| (d.ds.str(c.id).trim(), i))
            .collect();
    let mut n = 0;
    for (chat, upn) in pairs {
        let Some(&c) = by_id.get(chat.trim()) else {
            continue;
        };
        let chat_ref = &d.ix.chats.list[c];
        if let Some(u) = chat_ref
            .targets()
            .iter()
            .find(|u| d.ds.str(u.upn).trim().eq_ignore_ascii_case(upn.trim()))
        {
            marks.set(Key::new(chat.trim(), d.ds.str(u.upn).trim()), c, true);
            n += 1;
        }
    }
    n
}

/// The header's warning when chats have no home tenant that is a GUID:
/// then nobody can be told home from external, and every member of such
/// a chat shows as external.
fn home_warning(d: &Data) -> Option<String> {
    let unknown =
        d.ix.chats
            .list
            .iter()
            .filter(|c| !crate::triage::chats::is_guid(d.ds.opt(c.home_tenant).trim()))
            .count();
    (unknown > 0).then(|| {
        format!(
            "home tenant unknown in {unknown} of {} chats (anonymised export?)",
            d.ix.chats.list.len()
        )
    })
}

/// A view, its filter and selection, to go back to.
#[derive(Debug, Clone)]
struct Place {
    view: View,
    filter: String,
    record: Option<usize>,
    chat: Option<usize>,
}

/// What a plan is asked for: kept, when asked before the exports were
/// hashed, until they are (see [`App::plan_or_wait`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PlanUse {
    Review,
    Export(PathBuf),
}

/// Why the marks cannot be made a plan yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanNotReady {
    NoData,
    /// The exports are still being hashed.
    Hashing,
    /// An export could not be read again to hash it.
    Unreadable(String),
}

impl App {
    pub fn new(files: Vec<PathBuf>, keymap: Keymap, theme: Theme, size: (u16, u16)) -> App {
        App {
            data: None,
            load_error: None,
            files,
            view: View::Events,
            rows: Vec::new(),
            chat_rows: Vec::new(),
            visible_chat: Vec::new(),
            events: Cursor::default(),
            chats: Cursor::default(),
            raw: false,
            details_scroll: 0,
            filter: FilterBar::default(),
            search: Search::default(),
            order: Order::default(),
            marks: Marks::default(),
            dialog: None,
            status: None,
            keymap,
            theme,
            size,
            dirty: true,
            demo_banner: None,
            demo_url: None,
            load_progress: (0, 0),
            raw_lines: None,
            raw_record: None,
            sign_in: super::run::SignIn::Out,
            run: None,
            run_seq: 0,
            retry_seq: None,
            tick: 0,
            now: None,
            max_rate: crate::config::DEFAULT_MAX_RATE,
            sources: None,
            after_hash: None,
            home_warning: None,
            back: Vec::new(),
            after_filter: Vec::new(),
            restore_to: None,
            marks_file: None,
            undo: Vec::new(),
            fetch: None,
            fetch_at_start: false,
            fetch_seq: 0,
        }
    }

    fn page(&self) -> usize {
        layout::table_rows(self.size)
    }

    pub(super) fn chat_visible(&self, c: usize) -> bool {
        self.visible_chat.get(c).copied().unwrap_or(false)
    }

    /// Wants `Tick`s: a sign-in is being polled or a run is going.
    pub fn wants_ticks(&self) -> bool {
        matches!(
            self.sign_in,
            super::run::SignIn::Starting
                | super::run::SignIn::Code { .. }
                | super::run::SignIn::Checking
        ) || self.run_active()
    }

    /// Targets marked whose chat has no record matching the filter.
    pub fn hidden_marks(&self) -> usize {
        self.marks
            .keys()
            .filter(|(_, c)| !self.visible_chat.get(**c).copied().unwrap_or(false))
            .count()
    }

    /// The record selected in the events view.
    pub fn selected_record(&self) -> Option<usize> {
        self.rows.get(self.events.sel).map(|&r| r as usize)
    }

    /// The chat of the selected row, in either view.
    pub fn selected_chat(&self) -> Option<usize> {
        let d = self.data.as_ref()?;
        match self.view {
            View::Events => d.ix.chats.chat_index(self.selected_record()?),
            View::Chats => self.chat_rows.get(self.chats.sel).copied(),
            View::Run => None,
        }
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        self.dirty = true;
        let effects = self.handle(msg);
        self.refresh_raw();
        effects
    }

    /// Keeps the raw AuditData of the selected record at hand while it is
    /// shown.
    fn refresh_raw(&mut self) {
        let want = if self.raw && self.view == View::Events {
            self.selected_record()
        } else {
            None
        };
        if want == self.raw_record && (want.is_none() || self.raw_lines.is_some()) {
            return;
        }
        self.raw_record = want;
        self.raw_lines = want.and_then(|i| {
            let d = self.data.as_ref()?;
            let text = match d.ds.raw_audit_data(&d.ds.records[i]) {
                Ok(t) => t,
                Err(e) => return Some(vec![format!("(cannot read the raw record again: {e})")]),
            };
            let pretty = serde_json::from_str::<serde_json::Value>(&text)
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or(text);
            Some(
                pretty
                    .lines()
                    .map(|l| crate::sanitize::for_terminal(l).into_owned())
                    .collect(),
            )
        });
    }

    fn handle(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(k) => self.key_or_esc_then_key(k),
            Msg::Mouse(m) => self.mouse(m),
            Msg::Resize(w, h) => {
                self.size = (w, h);
                let p = self.page();
                self.events.fit(self.rows.len(), p);
                self.chats.fit(self.chat_rows.len(), p);
                vec![]
            }
            Msg::Progress(read, total) => {
                self.load_progress = (read, total);
                vec![]
            }
            Msg::Tick => {
                self.tick += 1;
                vec![]
            }
            Msg::Remote(m) => self.remote(m),
            Msg::LoadFailed(e) => {
                self.load_error = Some(e);
                vec![]
            }
            Msg::Loaded(d) => {
                self.marks.per_chat = vec![0; d.ix.chats.list.len()];
                let restored = restore_marks(&mut self.marks, &d);
                self.home_warning = home_warning(&d);
                if let Some(w) = &self.home_warning {
                    self.status = Some(format!(
                        "{w}: members cannot be told home from external in those chats"
                    ));
                } else if restored > 0 {
                    self.undo.push(Marks {
                        keys: HashMap::new(),
                        per_chat: vec![0; d.ix.chats.list.len()],
                    });
                    self.status = Some(format!(
                        "restored {restored} mark(s) from your last session on these exports ({} undoes)",
                        self.keymap.key(Action::Undo)
                    ));
                }
                self.data = Some(Arc::from(d));
                let mut fx = self.start_filter(Query::All);
                if std::mem::take(&mut self.fetch_at_start) {
                    fx.extend(self.fetch_now());
                }
                fx
            }
            Msg::Merged(d, appended) => self.merged(d, appended),
            Msg::Hashed(r) => {
                self.sources = Some(r);
                match self.after_hash.take() {
                    // Only where nothing else was opened since.
                    Some(PlanUse::Review) if self.dialog.is_none() => {
                        self.status = None;
                        self.run_action(Action::Review)
                    }
                    Some(PlanUse::Export(path)) if self.dialog.is_none() => {
                        self.status = None;
                        self.export_plan(path)
                    }
                    Some(_) => {
                        self.status = Some("the exports are fingerprinted: ask again".into());
                        vec![]
                    }
                    None => vec![],
                }
            }
            Msg::Filtered { job, rows, chats } if job.scan == Scan::Search => {
                self.found(job, &rows, &chats);
                vec![]
            }
            Msg::Filtered { job, rows, chats } => {
                if job.n != self.filter.job {
                    self.dirty = false;
                    return vec![];
                }
                self.filter.running = false;
                let (keep, keep_chat) = self.restore_to.take().unwrap_or_else(|| {
                    (
                        self.selected_record(),
                        self.chat_rows.get(self.chats.sel).copied(),
                    )
                });
                self.rows = rows;
                let n = self.data.as_ref().map_or(0, |d| d.ix.chats.list.len());
                let mut vis = vec![false; n];
                for &c in &chats {
                    vis[c] = true;
                }
                self.visible_chat = vis;
                self.chat_rows = chats;
                // Keep the selection on the same record or chat when it
                // still matches.
                self.select_place(keep, keep_chat);
                let mut fx = Vec::new();
                // In order; one that reruns a filter depending on the
                // marks makes the next wait again.
                for a in std::mem::take(&mut self.after_filter) {
                    fx.extend(self.act(a));
                }
                fx
            }
            Msg::Wrote { path, what, error } => {
                self.status = Some(match error {
                    None => format!("wrote {what} to {}", path.display()),
                    Some(e) => format!("could not write {}: {e}", path.display()),
                });
                vec![]
            }
        }
    }

    fn start_filter(&mut self, query: Query) -> Vec<Effect> {
        self.filter.job += 1;
        self.filter.running = true;
        self.filter.applied_text = if query == Query::All {
            String::new()
        } else {
            query.to_string()
        };
        self.filter.applied = query.clone();
        vec![Effect::Filter {
            job: Job {
                scan: Scan::Filter,
                n: self.filter.job,
            },
            query,
            marked: self.marks.chats(),
            order: self.order,
        }]
    }

    /// Keeps the marks as they are now, for `u`.
    fn remember_marks(&mut self) {
        // Each step is a whole copy of the marks: bounded by steps and by
        // the marks they hold together, so that undoing on a tenant-wide
        // selection cannot grow without end.
        const KEEP: usize = 100;
        const MOST_KEYS: usize = 200_000;
        self.undo.push(self.marks.clone());
        let mut held: usize = self.undo.iter().map(Marks::len).sum();
        while self.undo.len() > 1 && (self.undo.len() > KEEP || held > MOST_KEYS) {
            held -= self.undo.remove(0).len();
        }
    }

    /// Saves the marks and re-runs the filter when it depends on them.
    fn marks_changed(&mut self) -> Vec<Effect> {
        let mut fx = Vec::new();
        if let Some(path) = &self.marks_file {
            let pairs: Vec<serde_json::Value> = self
                .marks
                .to_pairs()
                .into_iter()
                .map(|(c, u)| serde_json::json!({"chat_id": c, "user_upn": u}))
                .collect();
            let files: Vec<String> = self.files.iter().map(|p| p.display().to_string()).collect();
            let json = serde_json::to_vec_pretty(&serde_json::json!({
                "version": 1,
                "exports": files,
                "marks": pairs,
            }))
            .expect("marks serialise");
            fx.push(Effect::SaveMarks {
                path: path.clone(),
                json,
            });
        }
        if self.search.hits.is_some() && self.search.bar.applied.uses_marks() {
            // Found again with the new marks, where the selection is.
            self.search.from = None;
            fx.extend(self.start_search(self.search.bar.applied.clone()));
        }
        if self.filter.applied.uses_marks() {
            fx.extend(self.start_filter(self.filter.applied.clone()));
        }
        fx
    }

    /// Esc followed at once by a key arrives as Alt+key (an SSH link
    /// sends both in one packet): unless Alt+key means something of its
    /// own, it is taken as the two keys a person typed.
    fn key_or_esc_then_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        let alt_only = k.modifiers == KeyModifiers::ALT;
        // The filter's line editor has Alt bindings of its own (words).
        if !alt_only
            || !matches!(k.code, KeyCode::Char(_))
            || self.filter.editing
            || self.search.bar.editing
            || self.keymap.action(&k).is_some()
            || (self.dialog.is_some() && self.keymap.dialog_action(&k).is_some())
        {
            return self.key(k);
        }
        let mut effects = self.key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        if effects.iter().any(|e| matches!(e, Effect::Quit)) {
            return effects;
        }
        effects.extend(self.key(KeyEvent::new(k.code, KeyModifiers::NONE)));
        effects
    }

    fn key(&mut self, k: KeyEvent) -> Vec<Effect> {
        self.status = self.waiting_for_hash();
        if self.data.is_none() {
            // While loading (or after a failed load) only quitting works.
            return match self.keymap.action(&k) {
                Some(Action::Quit | Action::Back) => vec![Effect::Quit],
                _ => vec![],
            };
        }
        if let Some(d) = self.dialog.take() {
            return self.dialog_key(d, k);
        }
        if self.filter.editing {
            return self.filter_key(k);
        }
        if self.search.bar.editing {
            return self.search_key(k);
        }
        let Some(a) = self.keymap.action(&k) else {
            self.dirty = false;
            return vec![];
        };
        self.act(a)
    }

    pub fn act(&mut self, a: Action) -> Vec<Effect> {
        // "The matching chats" are the filter's answer: marking them typed
        // ahead of it (a fast typist, a paste, a slow link) waits for it
        // rather than act on the rows of the filter before, and what uses
        // the marks waits behind such a marking, in the order typed.
        let on_matching = matches!(a, Action::MarkAll | Action::Invert);
        let on_marks = matches!(
            a,
            Action::Mark | Action::UnmarkAll | Action::Undo | Action::Export | Action::Review
        );
        if (on_matching && self.filter.running) || (on_marks && !self.after_filter.is_empty()) {
            if on_matching {
                self.status = Some("the filter is still running: marking when it answers".into());
            }
            self.after_filter.push(a);
            return vec![];
        }
        if matches!(
            a,
            Action::SignIn
                | Action::Review
                | Action::Pause
                | Action::CancelRun
                | Action::RetryFailed
                | Action::Report
        ) {
            return self.run_action(a);
        }
        if a == Action::Fetch {
            return self.open_fetch();
        }
        if a == Action::Quit && self.run_active() {
            self.dialog = Some(Dialog::QuitRun);
            return vec![];
        }
        if self.view == View::Run && self.run_move(a) {
            return vec![];
        }
        let page = self.page();
        let (cur, len) = match self.view {
            View::Events => (&mut self.events, self.rows.len()),
            View::Chats | View::Run => (&mut self.chats, self.chat_rows.len()),
        };
        let before = *cur;
        match a {
            Action::Up => cur.step(-1, len, page),
            Action::Down => cur.step(1, len, page),
            Action::PageUp => cur.step(-(page as isize), len, page),
            Action::PageDown => cur.step(page as isize, len, page),
            Action::Top => cur.step(isize::MIN / 2, len, page),
            Action::Bottom => cur.step(isize::MAX / 2, len, page),
            Action::NextView => {
                self.view = match (self.view, self.run.is_some()) {
                    (View::Events, _) => View::Chats,
                    (View::Chats, true) => View::Run,
                    _ => View::Events,
                };
                self.details_scroll = 0;
            }
            Action::Filter => self.filter.open(),
            Action::Back => {
                // Back out of the innermost thing: a plan waiting for the
                // hash, the raw view, the search's highlights, the place
                // `enter` on a chat came from, then the filter.
                if let Some(gone) = self.after_hash.take() {
                    self.status = Some(match gone {
                        PlanUse::Review => "the review will not open by itself".into(),
                        PlanUse::Export(p) => {
                            format!("the plan will not be written to {}", p.display())
                        }
                    });
                } else if self.raw {
                    self.raw = false;
                } else if self.search.hits.is_some() {
                    self.end_search();
                } else if let Some(p) = self.back.pop() {
                    self.view = p.view;
                    self.restore_to = Some((p.record, p.chat));
                    self.filter.input = Input::new(p.filter);
                    self.filter.error = None;
                    let fx = self.filter_changed();
                    if fx.is_empty() {
                        // The same filter: nothing runs, select now.
                        self.restore_to = None;
                        self.select_place(p.record, p.chat);
                    }
                    return fx;
                } else if !self.filter.input.value().is_empty() {
                    self.filter.input = Input::default();
                    self.filter.error = None;
                    return self.start_filter(Query::All);
                }
            }
            Action::Quit => return vec![Effect::Quit],
            Action::Sort => {
                match self.view {
                    View::Events => self.order.events = self.order.events.next(),
                    View::Chats => self.order.chats = self.order.chats.next(),
                    View::Run => return vec![],
                }
                // The same filter again, in the new order, on the same row.
                self.restore_to = Some((self.selected_record(), self.selected_chat()));
                return self.start_filter(self.filter.applied.clone());
            }
            Action::Search => {
                self.search.bar.open();
                self.search.from = Some((self.selected_record(), self.selected_chat()));
            }
            Action::SearchNext | Action::SearchPrev => {
                self.jump_to_hit(a == Action::SearchNext, false);
            }
            Action::Mark => {
                // As in a file manager: mark, then on to the next row.
                let before = self.marks.len();
                let mut fx = self.mark_selected();
                if self.marks.len() != before {
                    fx.extend(self.act(Action::Down));
                }
                return fx;
            }
            Action::MarkAll => return self.mark_matching(Some(true)),
            Action::Invert => return self.mark_matching(None),
            Action::UnmarkAll => {
                let n = self.marks.len();
                self.remember_marks();
                self.marks.clear();
                self.status = Some(format!(
                    "unmarked {n} target(s) ({} undoes)",
                    self.keymap.key(Action::Undo)
                ));
                return self.marks_changed();
            }
            Action::Undo => {
                let Some(before) = self.undo.pop() else {
                    self.status = Some("nothing to undo".into());
                    return vec![];
                };
                self.marks = before;
                self.status = Some(format!("undone: {} target(s) marked", self.marks.len()));
                return self.marks_changed();
            }
            Action::Open if self.view == View::Run => {
                if let Some(r) = &self.run {
                    let i = r.cursor.sel;
                    let fields = r.target_fields(i);
                    if !fields.is_empty() {
                        self.dialog = Some(Dialog::Detail {
                            title: format!("Target {} of {}", i + 1, r.targets.len()),
                            fields: fields.into_iter().map(|(n, v)| (n.to_owned(), v)).collect(),
                            scroll: 0,
                        });
                    }
                }
            }
            Action::Open => return self.open_chat(),
            Action::Raw => {
                self.raw = !self.raw;
                self.details_scroll = 0;
            }
            Action::DetailsUp => self.details_scroll = self.details_scroll.saturating_sub(3),
            Action::DetailsDown => self.details_scroll = self.details_scroll.saturating_add(3),
            Action::Copy => {
                let items = self.copy_items();
                if items.is_empty() {
                    self.status = Some("nothing to copy here".into());
                } else {
                    self.dialog = Some(Dialog::Copy { items, sel: 0 });
                }
            }
            Action::Export => {
                if self.marks.is_empty() {
                    self.status = Some(format!(
                        "no target is marked ({} marks the selected chat)",
                        self.keymap.key(Action::Mark)
                    ));
                } else {
                    self.dialog = Some(Dialog::Export {
                        input: Input::new("chatevict-plan.json".into()),
                        replace: false,
                        what: Export::Plan,
                    });
                }
            }
            Action::Help => self.dialog = Some(Dialog::Help { scroll: 0 }),
            _ => {}
        }
        let after = match self.view {
            View::Events => self.events,
            View::Chats | View::Run => self.chats,
        };
        if after != before {
            self.details_scroll = 0;
        }
        vec![]
    }

    fn filter_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        match self.filter.key(k, &self.keymap) {
            BarKey::Nothing => vec![],
            BarKey::Changed => self.filter_changed(),
            BarKey::NotApplied { reason, kept } => {
                self.status = Some(not_applied("filter", &reason, &kept));
                let fx = self.filter_changed();
                self.dirty = true;
                fx
            }
            BarKey::Quit => vec![Effect::Quit],
        }
    }

    /// A click selects a row, a click on the list's title switches the
    /// view, the wheel scrolls the list or the details under it; in a
    /// dialog the wheel acts as its scrolling keys. Typing in a bar
    /// ignores the mouse.
    fn mouse(&mut self, m: crossterm::event::MouseEvent) -> Vec<Effect> {
        use super::mouse::{Pointer, pointer};
        use crossterm::event::MouseEventKind;
        if self.data.is_none() || self.filter.editing || self.search.bar.editing {
            self.dirty = false;
            return vec![];
        }
        if let Some(d) = &self.dialog {
            let scrolls = matches!(
                d,
                Dialog::Help { .. } | Dialog::Report { .. } | Dialog::Detail { .. }
            );
            let a = match m.kind {
                MouseEventKind::ScrollDown => Some(Action::Down),
                MouseEventKind::ScrollUp => Some(Action::Up),
                _ => None,
            };
            let key = a
                .filter(|_| scrolls)
                .and_then(|a| self.keymap.keys(a).first().copied());
            let Some(k) = key else {
                self.dirty = false;
                return vec![];
            };
            let mut fx = Vec::new();
            for _ in 0..super::mouse::WHEEL {
                if let Some(d) = self.dialog.take() {
                    fx.extend(self.dialog_key(d, k.to_event()));
                }
            }
            return fx;
        }
        match pointer(&m, self.size) {
            Pointer::ScrollList(n) => {
                let a = if n > 0 { Action::Down } else { Action::Up };
                (0..n.unsigned_abs()).flat_map(|_| self.act(a)).collect()
            }
            Pointer::ScrollDetails(n) => {
                let a = if n > 0 {
                    Action::DetailsDown
                } else {
                    Action::DetailsUp
                };
                (0..n.unsigned_abs()).flat_map(|_| self.act(a)).collect()
            }
            Pointer::Title => self.act(Action::NextView),
            Pointer::Row(i) => {
                let page = self.page();
                match self.view {
                    View::Events if self.events.offset + i < self.rows.len() => {
                        self.events.sel = self.events.offset + i;
                        self.events.fit(self.rows.len(), page);
                    }
                    View::Chats if self.chats.offset + i < self.chat_rows.len() => {
                        self.chats.sel = self.chats.offset + i;
                        self.chats.fit(self.chat_rows.len(), page);
                    }
                    View::Run => {
                        if let Some(r) = &mut self.run
                            && r.cursor.offset + i < r.targets.len()
                        {
                            r.cursor.sel = r.cursor.offset + i;
                        }
                    }
                    _ => {
                        self.dirty = false;
                        return vec![];
                    }
                }
                self.details_scroll = 0;
                self.refresh_raw();
                vec![]
            }
            Pointer::Nothing => {
                self.dirty = false;
                vec![]
            }
        }
    }

    fn search_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        match self.search.bar.key(k, &self.keymap) {
            BarKey::Nothing => {
                if !self.search.bar.editing {
                    // Kept: the search's text stays for n and N.
                    self.search.from = None;
                }
                vec![]
            }
            BarKey::Changed if !self.search.bar.editing => {
                // Cancelled: back to where the search began, nothing found.
                let from = self.search.from.take();
                self.end_search();
                if let Some((record, chat)) = from {
                    self.select_place(record, chat);
                }
                vec![]
            }
            BarKey::Changed => self.search_changed(),
            BarKey::NotApplied { reason, kept } => {
                self.status = Some(not_applied("search", &reason, &kept));
                self.search.from = None;
                self.dirty = true;
                self.search_changed()
            }
            BarKey::Quit => vec![Effect::Quit],
        }
    }

    /// The search's text changed: find it if it is a query.
    fn search_changed(&mut self) -> Vec<Effect> {
        if self.search.bar.input.value().trim().is_empty() {
            self.search.bar.error = None;
            self.search.hits = None;
            self.search.bar.running = false;
            self.search.bar.applied = Query::All;
            return vec![];
        }
        match self.search.bar.wanted() {
            Some(query) => self.start_search(query),
            None => vec![],
        }
    }

    fn start_search(&mut self, query: Query) -> Vec<Effect> {
        self.search.bar.job += 1;
        self.search.bar.running = true;
        self.search.bar.applied_text = query.to_string();
        self.search.bar.applied = query.clone();
        vec![Effect::Filter {
            job: Job {
                scan: Scan::Search,
                n: self.search.bar.job,
            },
            query,
            marked: self.marks.chats(),
            order: self.order,
        }]
    }

    /// Forgets the search: its text, its highlights.
    fn end_search(&mut self) {
        self.search.hits = None;
        self.search.bar.clear();
    }

    /// A search's answer: keep what it found; while typing, go to the
    /// first row found from where the search began.
    fn found(&mut self, job: Job, rows: &[u32], chats: &[usize]) {
        if job.n != self.search.bar.job || !self.search.bar.running {
            self.dirty = false;
            return;
        }
        self.search.bar.running = false;
        let Some(d) = &self.data else { return };
        self.search.hits = Some(Hits::new(
            d.ds.records.len(),
            d.ix.chats.list.len(),
            rows,
            chats,
        ));
        if self.search.bar.editing {
            if let Some((record, chat)) = self.search.from {
                self.select_place(record, chat);
            }
            self.jump_to_hit(true, true);
        }
    }

    /// Moves to the next (or previous) row the search found in the list
    /// shown, and says when it wrapped or found nothing.
    fn jump_to_hit(&mut self, forward: bool, include: bool) {
        let Some(h) = &self.search.hits else {
            if !include {
                self.status = Some(format!(
                    "nothing searched yet: {} searches",
                    self.keymap.key(Action::Search)
                ));
            }
            return;
        };
        let found = match self.view {
            View::Events => next_hit(self.rows.len(), self.events.sel, forward, include, |i| {
                h.records[self.rows[i] as usize]
            }),
            View::Chats => next_hit(
                self.chat_rows.len(),
                self.chats.sel,
                forward,
                include,
                |i| h.chats[self.chat_rows[i]],
            ),
            View::Run => return,
        };
        match found {
            None => {
                self.status = Some(format!(
                    "not found in this list: `{}`",
                    self.search.bar.applied_text
                ))
            }
            Some((i, wrapped)) => {
                let page = self.page();
                match self.view {
                    View::Events => {
                        self.events.sel = i;
                        self.events.fit(self.rows.len(), page);
                    }
                    _ => {
                        self.chats.sel = i;
                        self.chats.fit(self.chat_rows.len(), page);
                    }
                }
                self.details_scroll = 0;
                self.refresh_raw();
                if wrapped && !include {
                    self.status = Some(if forward {
                        "search wrapped to the top".into()
                    } else {
                        "search wrapped to the bottom".into()
                    });
                }
            }
        }
    }

    /// The text changed: run it if it is a query (the bar keeps why not).
    fn filter_changed(&mut self) -> Vec<Effect> {
        match self.filter.wanted() {
            Some(q) => self.start_filter(q),
            None => vec![],
        }
    }

    fn dialog_key(&mut self, d: Dialog, k: KeyEvent) -> Vec<Effect> {
        match d.key(k, &self.keymap) {
            DialogKey::Open(d) => {
                self.dialog = Some(d);
                vec![]
            }
            DialogKey::Closed { status, effects } => {
                self.status = status;
                effects
            }
            DialogKey::Export(path, Export::Plan) => self.export_plan(path),
            DialogKey::Export(path, Export::Report(lines)) => vec![Effect::WriteText {
                path,
                text: lines.join("\n") + "\n",
                what: "the report".into(),
            }],
            DialogKey::Unhandled(Dialog::SignIn) => self.sign_in_key(k),
            DialogKey::Unhandled(Dialog::Review(r)) => self.review_key(r, k),
            DialogKey::Unhandled(Dialog::Fetch) => self.fetch_key(k),
            DialogKey::Unhandled(d) => {
                self.dialog = Some(d);
                vec![]
            }
        }
    }

    /// The keys of the targets of chat `c` (none unless it is external).
    fn chat_keys(&self, c: usize) -> Vec<Key> {
        let Some(d) = &self.data else { return vec![] };
        let chat = &d.ix.chats.list[c];
        if !chat.external {
            return vec![];
        }
        let id = d.ds.str(chat.id).trim();
        chat.targets()
            .iter()
            .map(|u| Key::new(id, d.ds.str(u.upn).trim()))
            .collect()
    }

    fn mark_selected(&mut self) -> Vec<Effect> {
        let Some(c) = self.selected_chat() else {
            self.status = Some("this record belongs to no chat".into());
            return vec![];
        };
        let keys = self.chat_keys(c);
        if keys.is_empty() {
            self.status = Some("this chat is not external: it has no targets to mark".into());
            return vec![];
        }
        let all = keys.iter().all(|k| self.marks.contains(k));
        let n = keys.len();
        self.remember_marks();
        for k in keys {
            self.marks.set(k, c, !all);
        }
        self.status = Some(format!(
            "{} {n} target(s) of this chat",
            if all { "unmarked" } else { "marked" }
        ));
        self.marks_changed()
    }

    /// Marks (`Some(true)`) or inverts (`None`) the targets of every
    /// external chat that has a matching record.
    fn mark_matching(&mut self, set: Option<bool>) -> Vec<Effect> {
        let mut n = 0;
        self.remember_marks();
        for c in self.chat_rows.clone() {
            for k in self.chat_keys(c) {
                let on = set.unwrap_or(!self.marks.contains(&k));
                self.marks.set(k, c, on);
                n += 1;
            }
        }
        self.status = Some(format!(
            "{} {n} target(s) of the matching external chats",
            if set.is_some() { "marked" } else { "inverted" }
        ));
        self.marks_changed()
    }

    /// Chats view: the chat's records in the events view.
    fn open_chat(&mut self) -> Vec<Effect> {
        if self.view != View::Chats {
            return vec![];
        }
        let Some(d) = &self.data else { return vec![] };
        let Some(&c) = self.chat_rows.get(self.chats.sel) else {
            return vec![];
        };
        let id = d.ds.str(d.ix.chats.list[c].id).trim().replace('"', "");
        let text = format!("chat:\"{id}\"");
        let prev = self.filter.input.value().trim().to_owned();
        self.back.push(Place {
            view: self.view,
            filter: prev.clone(),
            record: self.selected_record(),
            chat: Some(c),
        });
        if !prev.is_empty() {
            self.filter.history.retain(|h| *h != prev);
            self.filter.history.push(prev);
        }
        self.filter.input = Input::new(text);
        self.view = View::Events;
        self.events = Cursor::default();
        self.filter_changed()
    }

    /// Selects `record` in the events and `chat` in the chats, where
    /// they are listed.
    fn select_place(&mut self, record: Option<usize>, chat: Option<usize>) {
        // Rows are in the list's order, not the records': found by a
        // scan (a few hundred microseconds at 500,000 rows).
        if let Some(r) = record
            && let Some(i) = self.rows.iter().position(|&x| x == r as u32)
        {
            self.events.sel = i;
        }
        if let Some(c) = chat
            && let Some(i) = self.chat_rows.iter().position(|&x| x == c)
        {
            self.chats.sel = i;
        }
        let p = self.page();
        self.events.fit(self.rows.len(), p);
        self.chats.fit(self.chat_rows.len(), p);
    }

    fn copy_items(&self) -> Vec<(String, String)> {
        let Some(d) = &self.data else { return vec![] };
        let mut out = Vec::new();
        let mut add = |label: &str, v: &str| {
            let v = v.trim();
            if !v.is_empty() {
                out.push((label.to_owned(), v.to_owned()));
            }
        };
        match self.view {
            View::Events => {
                let Some(i) = self.selected_record() else {
                    return vec![];
                };
                let r = &d.ds.records[i];
                if let Some(c) = r.chat.as_deref() {
                    add("Chat id", d.ds.opt(c.chat_id));
                }
                add("User id (UserKey)", d.ds.opt(r.user_key));
                add("Tenant id (OrganizationId)", d.ds.opt(r.organization_id));
                add("Record id", &r.id.to_string());
                add("User (UserId)", d.ds.opt(r.user_id));
            }
            View::Run => {
                let Some(r) = &self.run else { return vec![] };
                for (name, value) in r.target_fields(r.cursor.sel) {
                    add(name, &value);
                }
            }
            View::Chats => {
                let Some(&c) = self.chat_rows.get(self.chats.sel) else {
                    return vec![];
                };
                let chat = &d.ix.chats.list[c];
                add("Chat id", d.ds.str(chat.id));
                add("Tenant id", d.ds.opt(chat.home_tenant));
                let ids: Vec<String> =
                    d.ix.chats
                        .home_users(&d.ds, chat)
                        .iter()
                        .filter_map(|u| u.object_id.map(|o| o.to_string()))
                        .collect();
                add("Home user ids", &ids.join(","));
            }
        }
        out
    }

    /// The marked targets as a plan: the library's one way from a
    /// selection to a plan, the same as `chatevict plan` writes.
    pub fn plan_of_marks(&self) -> Result<Plan, PlanNotReady> {
        let d = self.data.as_ref().ok_or(PlanNotReady::NoData)?;
        let sources = match &self.sources {
            None => return Err(PlanNotReady::Hashing),
            Some(Err(e)) => return Err(PlanNotReady::Unreadable(e.clone())),
            Some(Ok(s)) => s.clone(),
        };
        let keys = self
            .marks
            .keys()
            .map(|(key, &c)| (c, key.user_upn.as_str()));
        let targets = plan::targets_of_keys(&d.ds, &d.ix, keys);
        let filter =
            (!self.filter.applied_text.is_empty()).then(|| self.filter.applied_text.clone());
        Ok(Plan::new(chrono::Utc::now(), sources, filter, targets))
    }

    /// The plan of the marks, or why not now: while the exports are being
    /// hashed, `then` is kept and done when they are.
    pub(super) fn plan_or_wait(&mut self, then: PlanUse) -> Option<Plan> {
        match self.plan_of_marks() {
            Ok(p) => Some(p),
            Err(PlanNotReady::NoData) => None,
            Err(PlanNotReady::Hashing) => {
                self.after_hash = Some(then);
                self.status = self.waiting_for_hash();
                None
            }
            Err(PlanNotReady::Unreadable(e)) => {
                self.status = Some(format!("no plan: {e}"));
                None
            }
        }
    }

    /// What the status line says while a plan waits for the hash: kept
    /// over every key until the hash answers or the wait is given up.
    fn waiting_for_hash(&self) -> Option<String> {
        let then = match self.after_hash.as_ref()? {
            PlanUse::Review => "the review opens",
            PlanUse::Export(_) => "the plan is written",
        };
        Some(format!(
            "fingerprinting the exports for the plan (SHA-256); {then} when done · {} gives up",
            self.keymap.key(Action::Back)
        ))
    }

    /// Writes the plan of the marks to `path` (off the loop).
    fn export_plan(&mut self, path: PathBuf) -> Vec<Effect> {
        match self.plan_or_wait(PlanUse::Export(path.clone())) {
            Some(plan) => vec![Effect::WritePlan {
                path,
                plan: Box::new(plan),
            }],
            None => vec![],
        }
    }
}
