//! The interactive application: browse, filter, inspect and mark.
//!
//! One owner of state (`app::App`); keys map to actions (`keymap`);
//! background work (loading, filtering) answers with messages tagged by
//! the job they belong to; `update` changes state and asks for effects;
//! `view::draw` is a pure function of the state, called only when
//! something changed, inside a synchronized update.

pub mod app;
pub mod cursor;
pub mod gapfill;
pub mod keymap;
pub mod layout;
pub mod mouse;
pub mod osc52;
pub mod remote;
pub mod run;
mod start;
pub mod theme;

pub use start::{StartError, run_application};
pub mod view;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use crossterm::event::{Event, KeyEventKind};

use app::{App, Data, Effect, Msg};
use keymap::Keymap;
use ratatui::backend::CrosstermBackend;

/// The screen's backend: crossterm on stdout, writing fewer bytes.
pub type Screen = gapfill::GapFill<CrosstermBackend<std::io::Stdout>>;
type Term = ratatui::Terminal<Screen>;
use theme::Theme;

use crate::config::FileSettings;
use crate::triage::index::Index;
use crate::triage::query::Filter;
use crate::ual::{self, LoadOptions, Progress};

/// Whether the application holds the terminal (alternate screen, raw
/// mode): the binary's abort guard restores it only then.
pub static TERMINAL_TAKEN: AtomicBool = AtomicBool::new(false);

/// How the application starts.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub files: Vec<PathBuf>,
    pub no_color: bool,
    pub ascii: bool,
    /// Leave the mouse to the terminal.
    pub no_mouse: bool,
    /// Where sign-in and Graph are (flags and environment).
    pub graph: crate::config::GraphArgs,
    pub max_rate: Option<f64>,
    /// `chatevict demo`: the bundled export against an in-process
    /// emulator.
    pub demo: Option<Demo>,
    /// `--fetch`: start fetching the audit log from the tenant at once.
    pub fetch: bool,
}

/// The demo's settings.
#[derive(Debug, Clone)]
pub struct Demo {
    pub faults: crate::emulator::Profile,
    /// The emulator's per-user limit, and the run's pace.
    pub rate: f64,
    /// Seconds before the device code approves itself.
    pub approve_after: f64,
}

/// The demo export, built into the binary so the demo runs anywhere.
pub const DEMO_EXPORT: &[u8] = include_bytes!("../../assets/demo-export.csv");

/// Keymap and theme from the options, the environment and the config
/// file; what the file got wrong is returned to be shown.
pub fn setup(opts: &Options, file: &FileSettings) -> (Keymap, Theme, Vec<String>) {
    let overrides = file
        .keys
        .iter()
        .map(|(k, v)| (k.clone(), v.to_vec()))
        .collect();
    let (keymap, mut problems) = Keymap::with_overrides(&overrides);
    let no_color = opts.no_color
        || file.no_color.unwrap_or(false)
        || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let ascii = opts.ascii || file.ascii.unwrap_or(false);
    let (theme, p) = Theme::new(!no_color, ascii).with_colors(&file.colors);
    problems.extend(p);
    (keymap, theme, problems)
}

fn spawn_input(tx: Sender<Msg>) {
    std::thread::spawn(move || {
        loop {
            let msg = match crossterm::event::read() {
                Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => Msg::Key(k),
                Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
                Ok(Event::Mouse(m)) => Msg::Mouse(m),
                Ok(_) => continue,
                Err(_) => return,
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
    });
}

/// Where the marks of a set of exports are kept: one file per set (the
/// same files, in any order, by absolute path).
pub fn marks_file(state: &std::path::Path, files: &[PathBuf]) -> PathBuf {
    use sha2::Digest;
    let mut names: Vec<String> = files
        .iter()
        .map(|p| {
            std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string()
        })
        .collect();
    names.sort();
    let h = sha2::Sha256::digest(names.join("\n").as_bytes());
    let hex: String = h.iter().take(8).map(|b| format!("{b:02x}")).collect();
    state.join("marks").join(format!("marks-{hex}.json"))
}

/// The (chat id, UPN) pairs of a saved marks file; nothing when there is
/// none or it cannot be read (the marks are a convenience, never a plan).
fn read_saved_marks(path: &std::path::Path) -> Vec<(String, String)> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        tracing::warn!(path = %path.display(), "unreadable marks file ignored");
        return Vec::new();
    };
    v["marks"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| {
                    Some((
                        m["chat_id"].as_str()?.to_owned(),
                        m["user_upn"].as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Writes marks files in order, off the loop; only the newest waiting
/// one is written.
fn spawn_marks_saver() -> (
    std::sync::mpsc::Sender<(PathBuf, Vec<u8>)>,
    std::thread::JoinHandle<()>,
) {
    let (tx, rx) = std::sync::mpsc::channel::<(PathBuf, Vec<u8>)>();
    let handle = std::thread::spawn(move || {
        while let Ok(mut job) = rx.recv() {
            while let Ok(newer) = rx.try_recv() {
                job = newer;
            }
            let (path, json) = job;
            if let Some(dir) = path.parent()
                && let Err(e) = crate::files::create_private_dir(dir)
            {
                tracing::warn!(error = %e, "cannot keep the marks");
                continue;
            }
            if let Err(e) = crate::files::write_atomic(&path, &json, true) {
                tracing::warn!(error = %e, "cannot keep the marks");
            }
        }
    });
    (tx, handle)
}

fn spawn_load(
    files: Vec<PathBuf>,
    marks_file: Option<PathBuf>,
    progress: Arc<Progress>,
    tx: Sender<Msg>,
) {
    std::thread::spawn(
        move || match ual::load(&files, &LoadOptions::default(), &progress) {
            Ok(ds) => {
                if let Some(f) = ds.failures.first()
                    && ds.records.is_empty()
                {
                    let _ = tx.send(Msg::LoadFailed(format!(
                        "{}: {}",
                        f.path.display(),
                        f.message
                    )));
                    return;
                }
                for f in &ds.failures {
                    tracing::warn!("{}: {}", f.path.display(), f.message);
                }
                tracing::info!(records = ds.records.len(), skipped = ds.skipped(), "loaded");
                let ix = Index::build(&ds);
                let sources = crate::triage::plan::sources_of(&ds);
                let mut data = Data::new(ds, ix, files);
                if let Some(p) = &marks_file {
                    data.saved_marks = read_saved_marks(p);
                }
                let _ = tx.send(Msg::Loaded(Box::new(data)));
                // Once, here: a plan names its exports by SHA-256, and
                // reading them again must not hold up the screen.
                let hashed = crate::triage::plan::hash_sources(&sources)
                    .map_err(|(p, e)| format!("cannot read {} again: {e}", p.display()));
                let _ = tx.send(Msg::Hashed(hashed));
            }
            Err(e) => {
                let _ = tx.send(Msg::LoadFailed(e.to_string()));
            }
        },
    );
}

/// Runs a filter job on its own thread; `cancel` drops it when a newer
/// one starts.
pub fn spawn_filter(
    data: Arc<Data>,
    job: app::Job,
    query: crate::triage::query::Query,
    marked: Vec<bool>,
    order: app::Order,
    cancel: Arc<AtomicBool>,
    tx: Sender<Msg>,
) {
    std::thread::spawn(move || {
        if let Some(m) = filter_now(&data, job, &query, &marked, order, &cancel) {
            let _ = tx.send(m);
        }
    });
}

/// Evaluates a filter; `None` when cancelled.
pub fn filter_now(
    data: &Data,
    job: app::Job,
    query: &crate::triage::query::Query,
    marked: &[bool],
    order: app::Order,
    cancel: &AtomicBool,
) -> Option<Msg> {
    let f = Filter::compile(query, &data.ds, &data.ix, cancel)?;
    let is_marked = |c: usize| marked.get(c).copied().unwrap_or(false);
    let mut rows = f.select(&data.ds, &data.ix, &is_marked, cancel)?;
    // The filter's rows in the list's order; a search's are a set.
    if job.scan == app::Scan::Filter {
        rows = data.orders.arrange(&data.ds, &data.ix, order.events, rows);
        if cancel.load(Ordering::Relaxed) {
            return None;
        }
    }
    let mut seen = vec![false; data.ix.chats.list.len()];
    let mut chats = Vec::new();
    for &r in &rows {
        if let Some(c) = data.ix.chats.chat_index(r as usize)
            && !seen[c]
        {
            seen[c] = true;
            chats.push(c);
        }
    }
    if job.scan == app::Scan::Filter {
        order.chats.sort(&data.ds, &data.ix, &mut chats);
    }
    Some(Msg::Filtered { job, rows, chats })
}

// The loop's parts, each owned by `run_application`.
#[allow(clippy::too_many_arguments)]
fn event_loop(
    terminal: &mut Term,
    app: &mut App,
    remote: &mut remote::Remote,
    rx: &Receiver<Msg>,
    tx: &Sender<Msg>,
    saver: &std::sync::mpsc::Sender<(PathBuf, Vec<u8>)>,
    progress: &Progress,
    total: u64,
) -> u8 {
    // One cancel flag per scan: a newer filter drops the older filter,
    // a newer search the older search.
    let mut cancel = [
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    ];
    let mut last_read = u64::MAX;
    loop {
        if app.dirty {
            app.now = Some(std::time::Instant::now());
            if draw(terminal, app).is_err() {
                return 1;
            }
            app.dirty = false;
        }
        let msg = if app.data.is_none() && app.load_error.is_none() {
            // While loading, wake up to move the gauge (only when it moved).
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(m) => m,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    let read = progress.bytes_read.load(Ordering::Relaxed);
                    if read == last_read {
                        continue;
                    }
                    last_read = read;
                    Msg::Progress(read, total)
                }
                Err(_) => return 1,
            }
        } else if app.wants_ticks() {
            // A spinner and the run's clock: a few frames a second, only
            // while something runs.
            match rx.recv_timeout(Duration::from_millis(250)) {
                Ok(m) => m,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => Msg::Tick,
                Err(_) => return 1,
            }
        } else {
            match rx.recv() {
                Ok(m) => m,
                Err(_) => return 1,
            }
        };
        for effect in app.update(msg) {
            match effect {
                Effect::Quit => {
                    if app.run_open() {
                        // Let requests in flight finish and be journaled,
                        // and the run's end be written.
                        remote.control(if app.run_active() {
                            app::RunControl::Cancel
                        } else {
                            app::RunControl::Finish
                        });
                        // Say what the wait is for: it can take seconds.
                        app.status = Some(
                            "quitting: waiting for the requests in flight to be answered and \
                             journaled (at most 10 s)…"
                                .into(),
                        );
                        let _ = draw(terminal, app);
                        let until = std::time::Instant::now() + Duration::from_secs(10);
                        while let Ok(m) = rx.recv_deadline(until) {
                            if let Msg::Remote(app::RemoteMsg::Run(_, e)) = &m
                                && matches!(**e, crate::graph::runner::Event::Ended(_))
                            {
                                break;
                            }
                        }
                    }
                    return 0;
                }
                Effect::SignIn => remote.sign_in(),
                Effect::SignInBrowser => remote.sign_in_browser(),
                Effect::PasteRedirect(text) => remote.paste(text),
                Effect::CancelSignIn => remote.cancel_sign_in(),
                Effect::SignOut => remote.sign_out(),
                Effect::Fetch { seq, spec } => remote.fetch(seq, *spec, None),
                Effect::SaveFetched { data, path } => {
                    let tx = tx.clone();
                    std::thread::spawn(move || {
                        let (error, n) = match crate::ual::fetched::write_held(&data.ds, &path) {
                            Ok(n) => (None, n),
                            Err(e) => (Some(e.to_string()), 0),
                        };
                        let _ = tx.send(Msg::Wrote {
                            path,
                            what: format!(
                                "the {n} fetched record(s) read so far (incomplete: \
                                 `chatevict fetch --resume` completes the file)"
                            ),
                            error,
                        });
                        let hashed = crate::triage::plan::hash_sources(
                            &crate::triage::plan::sources_of(&data.ds),
                        )
                        .map_err(|(p, e)| format!("cannot read {} again: {e}", p.display()));
                        let _ = tx.send(Msg::Hashed(hashed));
                    });
                }
                Effect::CancelFetch => remote.cancel_fetch(),
                Effect::SignInForAudit => remote.sign_in_for_audit(),
                Effect::Merge {
                    data,
                    path,
                    records,
                } => {
                    // Copying and indexing a large dataset takes a while:
                    // off the loop, answered by a message.
                    let tx = tx.clone();
                    std::thread::spawn(move || {
                        let (d, appended) = Data::with_fetched(data, &path, &records);
                        let _ = tx.send(Msg::Merged(Box::new(d), appended));
                    });
                }
                Effect::Hash(sources) => {
                    let tx = tx.clone();
                    std::thread::spawn(move || {
                        let hashed = crate::triage::plan::hash_sources(&sources)
                            .map_err(|(p, e)| format!("cannot read {} again: {e}", p.display()));
                        let _ = tx.send(Msg::Hashed(hashed));
                    });
                }
                Effect::Prepare { plan, dry_run, seq } => {
                    remote.prepare(*plan, dry_run, app.account().cloned(), seq)
                }
                Effect::PrepareRetry { keep, dry_run, seq } => {
                    remote.prepare_retry(keep, dry_run, app.account().cloned(), seq)
                }
                Effect::StartRun { prepared, seq } => {
                    let m = match remote.start_run(*prepared, seq) {
                        Ok(path) => app::RemoteMsg::RunStarted(path),
                        Err(e) => app::RemoteMsg::RunRefused(e),
                    };
                    let _ = tx.send(Msg::Remote(m));
                }
                Effect::Control(c) => remote.control(c),
                Effect::Report { journal, run } => {
                    // A journal of many runs is read whole: off the loop.
                    let tx = tx.clone();
                    std::thread::spawn(move || {
                        let which = match run {
                            Some(id) => crate::journal::report::Which::Id(id),
                            None => crate::journal::report::Which::Last,
                        };
                        let lines = match crate::journal::report::build(&journal, &which) {
                            Ok(r) => r.markdown().lines().map(str::to_owned).collect(),
                            Err(e) => vec![e.to_string()],
                        };
                        let _ = tx.send(Msg::Remote(app::RemoteMsg::Report(lines)));
                    });
                }
                Effect::Filter {
                    job,
                    query,
                    marked,
                    order,
                } => {
                    let slot = &mut cancel[job.scan as usize];
                    slot.store(true, Ordering::Relaxed);
                    *slot = Arc::new(AtomicBool::new(false));
                    if let Some(d) = app.data.clone() {
                        spawn_filter(d, job, query, marked, order, slot.clone(), tx.clone());
                    }
                }
                Effect::SaveMarks { path, json } => {
                    let _ = saver.send((path, json));
                }
                Effect::Copy(text) => {
                    let mut out = std::io::stdout();
                    let _ = out.write_all(osc52::sequence(&text).as_bytes());
                    let _ = out.flush();
                    tracing::info!("copied {} bytes with OSC 52", text.len());
                }
                Effect::WritePlan { path, plan } => {
                    // A slow disk or a network mount must not freeze the
                    // screen: written off the loop, answered by a message.
                    let tx = tx.clone();
                    std::thread::spawn(move || {
                        let error = plan.write_atomic(&path).err().map(|e| e.to_string());
                        tracing::info!(path = %path.display(), targets = plan.targets.len(), ?error, "plan written");
                        let _ = tx.send(Msg::Wrote {
                            path,
                            what: format!("{} target(s)", plan.targets.len()),
                            error,
                        });
                    });
                }
                Effect::WriteText { path, text, what } => {
                    let tx = tx.clone();
                    std::thread::spawn(move || {
                        let error = crate::files::write_atomic(&path, text.as_bytes(), false)
                            .err()
                            .map(|e| e.to_string());
                        tracing::info!(path = %path.display(), ?error, "{what} written");
                        let _ = tx.send(Msg::Wrote { path, what, error });
                    });
                }
            }
        }
    }
}

/// One frame, inside a synchronized update so the terminal shows it whole.
fn draw(terminal: &mut Term, app: &App) -> std::io::Result<()> {
    crossterm::execute!(
        std::io::stdout(),
        crossterm::terminal::BeginSynchronizedUpdate
    )?;
    terminal.draw(|f| view::draw(f, app))?;
    crossterm::execute!(
        std::io::stdout(),
        crossterm::terminal::EndSynchronizedUpdate
    )?;
    Ok(())
}
