//! `chatevict report JOURNAL`: a run summarised for a change ticket.

use std::path::PathBuf;

use clap::ValueEnum;

use crate::journal::report;

use super::exit;
use super::signin::fail;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The journal of a run (`chatevict apply` prints its path).
    #[arg(value_name = "JOURNAL")]
    pub journal: PathBuf,
    /// Which run of the journal: its number (as the report lists them) or
    /// its id [default: the last].
    #[arg(long, value_name = "N|ID")]
    pub run: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
    pub format: ReportFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Markdown, for a ticket.
    Md,
    /// One row per target.
    Csv,
    /// Everything, for scripts.
    Json,
}

pub fn run(args: &ReportArgs) -> u8 {
    if !args.journal.exists() {
        return fail(&format!("{}: no such journal", args.journal.display()));
    }
    let which = match args.run.as_deref() {
        None => report::Which::Last,
        Some(n) => match n.parse::<usize>() {
            Ok(n) => report::Which::Number(n),
            Err(_) => report::Which::Id(n.to_owned()),
        },
    };
    let r = match report::build(&args.journal, &which) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let text = match args.format {
        ReportFormat::Md => r.markdown(),
        ReportFormat::Csv => match r.csv() {
            Ok(t) => t,
            Err(e) => return fail(&e),
        },
        ReportFormat::Json => {
            let mut t = crate::sanitize::json_pretty(&r);
            t.push('\n');
            t
        }
    };
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => exit::OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
        Err(e) => fail(&e),
    }
}
