//! `chatevict events`: the records of the exports, as a table, JSON Lines
//! or CSV, or as counts.

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

use super::output::{self, RecordRow};
use super::{EventsArgs, Format, exit};
use crate::ual::{Dataset, Record};

/// Case-insensitive substring over operation, user, chat name and chat id
/// (until the query language arrives).
fn matches(ds: &Dataset, r: &Record, needle: &str) -> bool {
    let has = |s: &str| s.to_lowercase().contains(needle);
    let c = r.chat.as_deref();
    has(ds.str(r.operation))
        || has(ds.opt(r.user_id))
        || has(ds.opt(c.and_then(|c| c.chat_name)))
        || has(ds.opt(c.and_then(|c| c.chat_id)))
}

#[derive(Serialize)]
struct FileStats<'a> {
    path: String,
    shape: &'a str,
    encoding: &'a str,
    bytes: u64,
    records: usize,
    duplicates: usize,
    skipped: usize,
    envelopes: Vec<&'static str>,
}

#[derive(Serialize)]
struct FailedFile {
    path: String,
    error: String,
}

#[derive(Serialize)]
struct Stats<'a> {
    records: usize,
    duplicates: usize,
    skipped: usize,
    teams_records: usize,
    external_records: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    matching: Option<usize>,
    files: Vec<FileStats<'a>>,
    failed_files: Vec<FailedFile>,
}

pub fn run(args: &EventsArgs) -> u8 {
    let ds = super::load::load(&args.load);
    let needle = args.filter.as_ref().map(|f| f.to_lowercase());
    let selected = || {
        ds.records
            .iter()
            .filter(|r| needle.as_ref().is_none_or(|n| matches(&ds, r, n)))
    };
    let result = if args.stats {
        write_stats(&ds, needle.is_some().then(|| selected().count()))
    } else {
        let out = io::stdout();
        let tty = out.is_terminal();
        let mut w = io::BufWriter::new(out.lock());
        let r = match args.format {
            Format::Jsonl => selected()
                .try_for_each(|r| output::write_json_line(&mut w, &RecordRow::new(&ds, r))),
            Format::Csv => write_csv(&mut w, selected(), &ds, tty),
            Format::Table => {
                let width =
                    tty.then(|| crossterm::terminal::size().map_or(80, |(w, _)| usize::from(w)));
                write_table(&mut w, selected(), &ds, width)
            }
        };
        r.and_then(|()| w.flush())
    };
    if let Err(e) = result
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        eprintln!("chatevict: cannot write the output: {e}");
        return exit::FAILED;
    }
    if ds.records.is_empty() {
        exit::FAILED
    } else {
        exit::OK
    }
}

fn write_stats(ds: &Dataset, matching: Option<usize>) -> io::Result<()> {
    let stats = Stats {
        records: ds.records.len(),
        duplicates: ds.duplicates,
        skipped: ds.skipped(),
        teams_records: ds.teams_records(),
        external_records: ds
            .records
            .iter()
            .filter(|r| crate::triage::external::is_external(ds, r))
            .count(),
        matching,
        files: ds
            .sources
            .iter()
            .map(|s| FileStats {
                path: s.path.display().to_string(),
                shape: s.shape,
                encoding: s.encoding.name(),
                bytes: s.bytes,
                records: s.records,
                duplicates: s.duplicates,
                skipped: s.skipped,
                envelopes: s.envelopes.iter().map(|e| e.name()).collect(),
            })
            .collect(),
        failed_files: ds
            .failures
            .iter()
            .map(|f| FailedFile {
                path: f.path.display().to_string(),
                error: f.message.clone(),
            })
            .collect(),
    };
    let mut w = io::stdout().lock();
    output::write_json_line(&mut w, &stats)
}

fn write_csv<'a, W: Write>(
    w: &mut W,
    rows: impl Iterator<Item = &'a Record>,
    ds: &'a Dataset,
    tty: bool,
) -> io::Result<()> {
    let mut c = csv::Writer::from_writer(w);
    c.write_record(output::CSV_HEADER)?;
    for r in rows {
        c.write_record(output::csv_fields(&RecordRow::new(ds, r), tty))?;
    }
    c.flush()
}

/// Aligned rows. The chat-or-object column comes last: on a terminal it is
/// cut to the width left; into a file or a pipe it is written whole.
fn write_table<'a, W: Write>(
    w: &mut W,
    rows: impl Iterator<Item = &'a Record>,
    ds: &'a Dataset,
    width: Option<usize>,
) -> io::Result<()> {
    const TIME: usize = 19;
    const EXT: usize = 5;
    const OP: usize = 22;
    const USER: usize = 32;
    const FIXED: usize = TIME + EXT + OP + USER + 4 * 2;
    let last = |s: &str| match width {
        Some(w) => output::fit(s, w.saturating_sub(FIXED).max(12))
            .trim_end()
            .to_owned(),
        None => crate::sanitize::for_terminal(s).into_owned(),
    };
    writeln!(
        w,
        "{:<TIME$}  {}  {}  {}  {}",
        "TIME (UTC)",
        output::fit("EXT", EXT),
        output::fit("OPERATION", OP),
        output::fit("USER", USER),
        last("CHAT OR OBJECT")
    )?;
    for r in rows {
        let c = r.chat.as_deref();
        let object = c
            .and_then(|c| c.chat_name.or(c.chat_id))
            .or(r.object)
            .map_or("", |s| ds.str(s));
        let ext = if crate::triage::external::is_external(ds, r) {
            "ext"
        } else if crate::triage::external::has_guests(ds, r) {
            "guest"
        } else {
            ""
        };
        writeln!(
            w,
            "{}  {}  {}  {}  {}",
            r.time.format("%Y-%m-%d %H:%M:%S"),
            output::fit(ext, EXT),
            output::fit(ds.str(r.operation), OP),
            output::fit(ds.opt(r.user_id), USER),
            last(object)
        )?;
    }
    Ok(())
}
