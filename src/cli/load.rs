//! Loading for the commands: the dataset plus plain-words reports of
//! what could not be loaded, on stderr.

use std::io::Write;

use crate::sanitize::for_terminal;
use crate::ual::{self, Dataset, LoadOptions, Progress};

use super::LoadArgs;

/// Loads the files and reports failures and skipped rows on stderr.
pub fn load(args: &LoadArgs) -> Dataset {
    let progress = Progress::default();
    let opts = LoadOptions {
        threads: args.threads,
        ..LoadOptions::default()
    };
    let ds = ual::load(&args.files, &opts, &progress).expect("nothing cancels a command-line load");
    let mut err = std::io::stderr().lock();
    for f in &ds.failures {
        let _ = writeln!(
            err,
            "chatevict: {}: {}",
            for_terminal(&f.path.display().to_string()),
            for_terminal(&f.message)
        );
    }
    let limit = if args.max_problems == 0 {
        usize::MAX
    } else {
        args.max_problems
    };
    for p in ds.problems.iter().take(limit) {
        let path = ds.path(p.file).display().to_string();
        let mut place = if p.line == 0 {
            for_terminal(&path).into_owned()
        } else {
            format!("{}:{}", for_terminal(&path), p.line)
        };
        if let Some(n) = p.element {
            place.push_str(&format!(" (element {n})"));
        }
        let _ = writeln!(
            err,
            "chatevict: skipped {place}: {}",
            for_terminal(&p.reason.to_string())
        );
    }
    if ds.problems.len() > limit {
        let _ = writeln!(
            err,
            "chatevict: … and {} more skipped rows (--max-problems 0 lists them all)",
            ds.problems.len() - limit
        );
    }
    if !args.quiet {
        let _ = writeln!(
            err,
            "chatevict: loaded {} records from {} file(s); {} duplicate(s), {} skipped",
            ds.records.len(),
            ds.sources.len(),
            ds.duplicates,
            ds.skipped()
        );
    }
    ds
}
