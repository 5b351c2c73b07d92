//! The `chatevict` binary: parses the command line, installs the hooks
//! and the log, and hands each command to its face (the library's command
//! line or its application). It also holds the one piece that needs
//! `unsafe` (the library forbids it): putting the terminal back when the
//! process aborts.

mod abort_guard;

use std::path::Path;
use std::process::ExitCode;

use chatevict::cli::{self, AppArgs, Cli, Command, DemoArgs};
use chatevict::config::Dirs;
use chatevict::exit;
use chatevict::sanitize::for_terminal;
use chatevict::{safe_eprintln, tui};
use clap::{CommandFactory, Parser};

fn main() -> ExitCode {
    abort_guard::install();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    ExitCode::from(match cli.command {
        None => application(cli.app),
        Some(command) => dispatch(command),
    })
}

/// A command of the command line; the demo opens the application.
fn dispatch(command: Command) -> u8 {
    match command {
        Command::Events(a) => cli::events::run(&a),
        Command::Chats(a) => cli::chats::run(&a),
        Command::Plan(a) => cli::plan::run(&a),
        Command::Fetch(a) => cli::fetch::run(&a),
        Command::Apply(a) => cli::apply::run(&a),
        Command::Report(a) => cli::report::run(&a),
        Command::Login(a) => cli::signin::login(&a),
        Command::Logout(a) => cli::signin::logout(&a),
        Command::Whoami(a) => cli::signin::whoami(&a),
        Command::Emulator(a) => cli::emulator::run(&a),
        Command::Demo(a) => demo(a),
        Command::Query => {
            print!("{}", chatevict::triage::query::HELP);
            exit::OK
        }
    }
}

/// `chatevict FILE...`: the application on the user's exports.
fn application(app: AppArgs) -> u8 {
    if app.files.is_empty() && !app.fetch {
        let _ = Cli::command().print_help();
        return exit::USAGE;
    }
    if app.files.iter().any(|f| f.as_os_str() == "-") {
        safe_eprintln!(
            "chatevict: the application reads its keys from the terminal, not an export from \
             standard input: save the export to a file (`chatevict events -` reads one from a pipe)"
        );
        return exit::USAGE;
    }
    // A word that is neither a command nor a file is most likely a
    // mistyped command.
    if let Some(missing) = app.files.iter().find(|f| !f.exists()) {
        safe_eprintln!(
            "chatevict: {}: no such file, and not a command (chatevict --help lists them)",
            for_terminal(&missing.display().to_string())
        );
        return exit::USAGE;
    }
    open(tui::Options {
        files: app.files,
        no_color: app.no_color,
        ascii: app.ascii,
        no_mouse: app.no_mouse,
        graph: app.graph,
        max_rate: app.max_rate,
        demo: None,
        fetch: app.fetch,
    })
}

/// `chatevict demo`: the application on the bundled export, against an
/// emulated tenant.
fn demo(a: DemoArgs) -> u8 {
    let faults = match a.faults.parse() {
        Ok(f) => f,
        Err(e) => {
            safe_eprintln!("chatevict: {e}");
            return exit::USAGE;
        }
    };
    if !(a.rate.is_finite() && a.rate > 0.0 && a.rate <= 100.0) {
        safe_eprintln!("chatevict: --rate must be between 0 and 100 requests per second");
        return exit::USAGE;
    }
    open(tui::Options {
        no_color: a.no_color,
        ascii: a.ascii,
        no_mouse: a.no_mouse,
        demo: Some(tui::Demo {
            faults,
            rate: a.rate,
            approve_after: a.approve_after.max(0.0),
        }),
        fetch: a.fetch,
        ..Default::default()
    })
}

/// Runs the application with its log in the state directory (the screen
/// is the terminal's, so nothing may be written to it).
fn open(opts: tui::Options) -> u8 {
    let _log = Dirs::from_env().ok().and_then(|d| start_log(&d.logs()));
    match tui::run_application(opts) {
        Ok(code) => code,
        Err(e) => {
            safe_eprintln!("chatevict: {e}");
            e.exit_code()
        }
    }
}

/// Logs to `chatevict.log` (0600, in a private directory), every line
/// made safe for a terminal: the log holds what files and servers said.
fn start_log(dir: &Path) -> Option<()> {
    chatevict::files::create_private_dir(dir).ok()?;
    let file = chatevict::files::open_private_append(&dir.join("chatevict.log")).ok()?;
    tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(chatevict::sanitize::SafeWriter(file)))
        .with_ansi(false)
        .try_init()
        .ok()
}
