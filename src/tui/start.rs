//! Starting the application: the terminal, the settings, the demo's
//! emulated tenant, and what can go wrong before the first frame.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crossbeam_channel::{Sender, unbounded};
use ratatui::backend::CrosstermBackend;

use super::app::{App, Msg};
use super::mouse;
use super::{
    DEMO_EXPORT, Options, Screen, TERMINAL_TAKEN, event_loop, keymap, marks_file, remote, run,
    setup, spawn_input, spawn_load, spawn_marks_saver,
};
use crate::config::{ConfigError, Dirs, FileSettings};
use crate::exit;
use crate::ual::Progress;

/// Why the application could not start (before it takes the terminal,
/// or as it does).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The config file, the flags or the environment are wrong.
    #[error(transparent)]
    Config(ConfigError),
    #[error("cannot make the demo's directory: {0}")]
    DemoDir(std::io::Error),
    #[error("cannot write the demo export: {0}")]
    DemoExport(std::io::Error),
    /// The demo's export or emulator.
    #[error("{0}")]
    Demo(String),
    /// The HTTP client could not be built (a CA certificate, a proxy).
    #[error("{0}")]
    Network(String),
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot use the terminal: {0}")]
    Terminal(std::io::Error),
}

impl StartError {
    /// The process exit code: what the user must change is a usage
    /// error, what the machine refused is a failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            StartError::Config(_) | StartError::Demo(_) | StartError::Network(_) => exit::USAGE,
            StartError::DemoDir(_)
            | StartError::DemoExport(_)
            | StartError::Runtime(_)
            | StartError::Terminal(_) => exit::FAILED,
        }
    }
}

/// Takes over the terminal, loads the exports and runs the application
/// until the user quits; returns the exit code, or why it could not
/// start. (Not `run`: `tui::run` is the run's state.) Logging is the
/// caller's: the binary sends it to the state directory's log file.
pub fn run_application(mut opts: Options) -> Result<u8, StartError> {
    let dirs = Dirs::from_env().ok();
    // The demo keeps everything (export copy, session, journals) in a
    // directory of its own, never in the user's real state.
    let demo_dir = match &opts.demo {
        Some(_) => match tempfile::Builder::new().prefix("chatevict-demo").tempdir() {
            Ok(d) => Some(d),
            Err(e) => return Err(StartError::DemoDir(e)),
        },
        None => None,
    };
    if let Some(d) = &demo_dir {
        let export = d.path().join("demo-export.csv");
        std::fs::write(&export, DEMO_EXPORT).map_err(StartError::DemoExport)?;
        opts.files = vec![export];
    }
    let file = match (&opts.graph.config, &dirs) {
        (Some(p), _) => FileSettings::read(p, true),
        (None, Some(d)) => FileSettings::read(&d.config_file(), false),
        (None, None) => Ok(FileSettings::default()),
    };
    let file = file.map_err(StartError::Config)?;
    let (keymap, theme, problems) = setup(&opts, &file);
    for p in &problems {
        tracing::warn!("config: {p}");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(StartError::Runtime)?;
    let (tx, rx) = unbounded::<Msg>();
    let remote = remote_for(
        &opts,
        rt,
        &dirs,
        demo_dir.as_ref().map(|d| d.path()),
        &file,
        tx.clone(),
    )?;
    // ratatui sets the terminal up (raw mode, alternate screen, the panic
    // hook that restores it); the frames go through GapFill.
    let mut terminal = ratatui::try_init()
        .and_then(|_| ratatui::Terminal::new(Screen::new(CrosstermBackend::new(std::io::stdout()))))
        .map_err(|e| {
            // Half set up (raw mode without a screen) is put back too.
            ratatui::restore();
            StartError::Terminal(e)
        })?;
    TERMINAL_TAKEN.store(true, Ordering::SeqCst);
    let mouse = !opts.no_mouse && file.mouse.unwrap_or(true);
    if mouse {
        mouse::capture();
    }
    let size = terminal
        .size()
        .map(|s| (s.width, s.height))
        .unwrap_or((80, 24));
    let mut app = App::new(opts.files.clone(), keymap, theme, size);
    app.max_rate = remote.settings.max_rate;
    app.fetch_at_start = opts.fetch;
    if let Some(e) = &remote.emulator {
        app.demo_banner = Some("DEMO".into());
        let k = |a: keymap::Action| app.keymap.key(a);
        let status = format!(
            "demo: an emulated tenant at {} (nothing leaves this machine); {} ext:yes, {} marks all, {} signs in, {} runs",
            e.url().trim_end_matches('/'),
            k(keymap::Action::Filter),
            k(keymap::Action::MarkAll),
            k(keymap::Action::SignIn),
            k(keymap::Action::Review)
        );
        app.status = Some(status);
        app.demo_url = Some(e.url().trim_end_matches('/').to_owned());
    }
    if !problems.is_empty() {
        app.status = Some(format!("config file: {}", problems.join("; ")));
    }
    let mut remote = remote;
    app.sign_in = run::SignIn::Checking;
    remote.resume();
    spawn_input(tx.clone());
    let progress = Arc::new(Progress::default());
    let total: u64 = opts
        .files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    // The marks of this set of exports, kept between sessions (not in
    // the demo, whose state goes when it ends).
    app.marks_file = match (&dirs, &opts.demo) {
        (Some(d), None) => Some(marks_file(&d.state, &opts.files)),
        _ => None,
    };
    spawn_load(
        opts.files.clone(),
        app.marks_file.clone(),
        progress.clone(),
        tx.clone(),
    );
    let (saver, saving) = spawn_marks_saver();
    let code = event_loop(
        &mut terminal,
        &mut app,
        &mut remote,
        &rx,
        &tx,
        &saver,
        &progress,
        total,
    );
    // The last marks reach the disk before the process ends.
    drop(saver);
    let _ = saving.join();
    progress.cancel.store(true, Ordering::Relaxed);
    if mouse {
        mouse::release();
    }
    ratatui::restore();
    TERMINAL_TAKEN.store(false, Ordering::SeqCst);
    Ok(code)
}

/// Sign-in and Graph for the application: the user's settings, or the
/// demo's emulator.
fn remote_for(
    opts: &Options,
    rt: tokio::runtime::Runtime,
    dirs: &Option<Dirs>,
    demo_dir: Option<&std::path::Path>,
    file: &FileSettings,
    tx: Sender<Msg>,
) -> Result<remote::Remote, StartError> {
    let mut args = opts.graph.clone();
    let mut emulator = None;
    let mut max_rate = opts.max_rate;
    if let Some(demo) = &opts.demo {
        let seed = crate::emulator::Seed::from_exports(&opts.files).map_err(StartError::Demo)?;
        let cfg = crate::emulator::Config {
            faults: demo.faults,
            rate_limit: demo.rate,
            auto_approve: Some(Duration::from_secs_f64(demo.approve_after)),
            device_interval: 1,
            ..crate::emulator::Config::default()
        };
        let emu = rt
            .block_on(crate::emulator::Emulator::start(
                "127.0.0.1:0".parse().expect("address"),
                cfg,
                seed,
            ))
            .map_err(|e| StartError::Demo(format!("cannot start the demo's emulator: {e}")))?;
        args = crate::config::GraphArgs {
            login_url: Some(emu.url()),
            graph_url: Some(emu.url()),
            timeout: Some(5.0),
            ..crate::config::GraphArgs::default()
        };
        max_rate = Some(demo.rate);
        emulator = Some(emu);
    }
    let settings =
        crate::config::Settings::merge(&args, max_rate, file).map_err(StartError::Config)?;
    let (cache, journals) = match (demo_dir, dirs) {
        (Some(d), _) => (d.join("token-cache.json"), d.join("journals")),
        (None, Some(d)) => (d.token_cache(), d.journals()),
        (None, None) => return Err(StartError::Config(ConfigError::NoHome)),
    };
    let mut r =
        remote::Remote::new(rt, settings, cache, journals, tx).map_err(StartError::Network)?;
    r.emulator = emulator;
    if let Some(d) = demo_dir {
        r.out_dir = d.to_path_buf();
    }
    Ok(r)
}
