//! The command-line face: the same stages as the interactive application,
//! without a screen, for scripts and for quick looks.

pub mod apply;
pub mod chats;
pub mod emulator;
pub mod events;
pub mod fetch;
mod load;
mod output;
pub mod plan;
pub mod report;
pub mod signin;
mod triage;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

pub use crate::exit;

/// `chatevict --version`: the version, the commit and the build profile.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("CHATEVICT_COMMIT"),
    ", profile ",
    env!("CHATEVICT_PROFILE"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "chatevict",
    version = VERSION,
    about = "Find externally started Microsoft Teams chats in Unified Audit Log exports \
             and remove them from your users' view.",
    after_help = "Reads Purview and classic audit CSV exports, Search-UnifiedAuditLog output \
                  (Export-Csv or ConvertTo-Json), Management Activity API JSON/NDJSON and \
                  Microsoft Graph audit log query records, in UTF-8 or UTF-16."
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub app: AppArgs,
}

/// `chatevict FILE...`: the interactive application.
#[derive(Debug, clap::Args)]
pub struct AppArgs {
    /// Audit exports to open in the interactive application.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// No colours (also: NO_COLOR set in the environment).
    #[arg(long)]
    pub no_color: bool,
    /// ASCII borders and marks.
    #[arg(long)]
    pub ascii: bool,
    /// Leave the mouse to the terminal (its own selection and copying):
    /// no clicks or wheel in the application.
    #[arg(long)]
    pub no_mouse: bool,
    /// Removal requests per second for runs started from the screen.
    #[arg(long, env = "CHATEVICT_MAX_RATE", value_name = "R")]
    pub max_rate: Option<f64>,
    /// Fetch the audit log from the tenant at once (the last 30 days of
    /// Teams records); with no FILE, the fetched records are all there is.
    #[arg(long)]
    pub fetch: bool,
    #[command(flatten)]
    pub graph: crate::config::GraphArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the records of one or more audit exports.
    Events(EventsArgs),
    /// List the chats: external or not, who started them, which home users
    /// they reach.
    Chats(ChatsArgs),
    /// Write the removal plan: one target per home user of every selected
    /// external chat.
    Plan(PlanArgs),
    /// Search the tenant's audit log through Graph (AuditLogsQuery.Read.All)
    /// and save the records as an export. Exit codes: 0 complete, 3 the
    /// file is incomplete (record limit reached, broken records), 4
    /// cancelled (the query is kept: --resume goes on with it).
    Fetch(fetch::FetchArgs),
    /// Remove chat access for every target of a plan, paced, retried and
    /// journaled. Exit codes: 0 all removed, 3 some failed, 4 cancelled.
    Apply(apply::ApplyArgs),
    /// Summarise a run's journal for a change ticket.
    Report(report::ReportArgs),
    /// Sign in to Entra ID (device code by default) and keep the session.
    Login(signin::LoginArgs),
    /// Forget the saved session.
    Logout(crate::config::GraphArgs),
    /// Show the signed-in account and check that its token works.
    Whoami(crate::config::GraphArgs),
    /// Run the local Graph and Entra ID emulator (tests, demos, training).
    Emulator(emulator::EmulatorArgs),
    /// The whole job on the bundled demo export, against a local emulated
    /// tenant: load, filter, mark, sign in, confirm, run, report.
    Demo(DemoArgs),
    /// Explain the query language of --filter.
    #[command(after_long_help = crate::triage::query::HELP)]
    Query,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// What goes wrong on the emulated server: none, flaky, throttled or
    /// hostile.
    #[arg(long, default_value = "none")]
    pub faults: String,
    /// Requests per second the emulated tenant allows (and the run uses).
    #[arg(long, default_value_t = 2.0, value_name = "R")]
    pub rate: f64,
    /// Seconds before the device code approves itself.
    #[arg(long, default_value_t = 4.0, value_name = "SECONDS")]
    pub approve_after: f64,
    /// No colours (also: NO_COLOR).
    #[arg(long)]
    pub no_color: bool,
    /// ASCII borders and marks.
    #[arg(long)]
    pub ascii: bool,
    /// Leave the mouse to the terminal: no clicks or wheel.
    #[arg(long)]
    pub no_mouse: bool,
    /// Start fetching the audit log from the emulated tenant at once.
    #[arg(long)]
    pub fetch: bool,
}

/// Options shared by every command that loads exports.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// Audit export files (any supported shape; several are merged and
    /// deduplicated on the record Id).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// How many skipped rows to list on stderr (0: all of them).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_problems: usize,
    /// Parser threads (default: one per core).
    #[arg(long, default_value_t = 0, value_name = "N", hide_short_help = true)]
    pub threads: usize,
    /// Print no summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Keep the records that match a query (`chatevict query` explains
    /// the language).
    #[arg(long, value_name = "QUERY")]
    pub filter: Option<String>,
    /// Output format [default: table].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Order of the records: newest, oldest, user, operation, chat, or
    /// file (as loaded) [default: file, stable for scripts; the
    /// application starts with newest].
    #[arg(long, value_name = "ORDER", default_value = "file")]
    pub sort: crate::triage::order::EventOrder,
    /// Print counts as one JSON object instead of the records (its format
    /// is JSON: `--format` may only say `jsonl`).
    #[arg(long)]
    pub stats: bool,
}

#[derive(Debug, clap::Args)]
pub struct ChatsArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Keep the chats with at least one record matching a query.
    #[arg(long, value_name = "QUERY")]
    pub filter: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ChatsFormat::Table)]
    pub format: ChatsFormat,
    /// Order of the chats: last-seen (latest first), records, home-users
    /// (most first) or name [default: as first seen in the exports].
    #[arg(long, value_name = "ORDER")]
    pub sort: Option<crate::triage::order::ChatOrder>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChatsFormat {
    /// Aligned columns for people.
    Table,
    /// One JSON object per chat.
    Jsonl,
    /// CSV with a header row; home users, domains and reasons as JSON in
    /// their cells.
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Plan only the external chats with at least one record matching a
    /// query (default: every external chat).
    #[arg(long, value_name = "QUERY")]
    pub filter: Option<String>,
    /// Write the plan to this file instead of standard output.
    #[arg(short, long, value_name = "PLAN.json")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON object per record.
    Jsonl,
    /// CSV with a header row.
    Csv,
}
