//! `chatevict events`: the records of the exports, as a table, JSON Lines
//! or CSV, or as counts.

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

use super::output::{self, RecordRow};
use super::triage::{self, Triaged};
use super::{EventsArgs, Format};

#[derive(Serialize)]
struct FileStats<'a> {
    path: String,
    shape: &'a str,
    encoding: &'a str,
    bytes: u64,
    records: usize,
    duplicates: usize,
    id_conflicts: usize,
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
    id_conflicts: usize,
    skipped: usize,
    teams_records: usize,
    external_records: usize,
    chats: usize,
    external_chats: usize,
    targets: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    matching: Option<usize>,
    files: Vec<FileStats<'a>>,
    failed_files: Vec<FailedFile>,
}

pub fn run(args: &EventsArgs) -> u8 {
    if args.stats && matches!(args.format, Some(Format::Table | Format::Csv)) {
        crate::safe_eprintln!(
            "chatevict: --stats prints one JSON object; it cannot be a {} (leave out --format)",
            if args.format == Some(Format::Csv) {
                "CSV"
            } else {
                "table"
            }
        );
        return super::exit::USAGE;
    }
    triage::with(&args.load, args.filter.as_deref(), |t| {
        // Counting needs no list of every record when nothing is filtered.
        let mut selected = if args.stats && t.query.is_none() {
            Vec::new()
        } else {
            t.selected()
        };
        args.sort.sort(&t.ds, &t.ix, &mut selected);
        let rows = || selected.iter().map(|&i| i as usize);
        let result = if args.stats {
            write_stats(t, t.query.is_some().then_some(selected.len()))
        } else {
            let out = io::stdout();
            let tty = out.is_terminal();
            let mut w = io::BufWriter::new(out.lock());
            let row = |i: usize| RecordRow::new(&t.ds, &t.ds.records[i], t.flags(i));
            let r = match args.format.unwrap_or(Format::Table) {
                Format::Jsonl => rows().try_for_each(|i| output::write_json_line(&mut w, &row(i))),
                Format::Csv => write_csv(&mut w, rows().map(row)),
                Format::Table => write_table(&mut w, rows(), t, output::terminal_width(tty)),
            };
            r.and_then(|()| w.flush())
        };
        t.exit_code(result)
    })
}

fn write_stats(t: &Triaged, matching: Option<usize>) -> io::Result<()> {
    let ds = &t.ds;
    let stats = Stats {
        records: ds.records.len(),
        duplicates: ds.duplicates,
        id_conflicts: ds.id_conflicts,
        skipped: ds.skipped(),
        teams_records: ds.teams_records(),
        external_records: t.ix.external.iter().filter(|&&e| e).count(),
        chats: t.ix.chats.list.len(),
        external_chats: t.ix.chats.external().count(),
        targets: t.ix.chats.targets(),
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
                id_conflicts: s.id_conflicts,
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

fn write_csv<'a, W: Write>(w: &mut W, rows: impl Iterator<Item = RecordRow<'a>>) -> io::Result<()> {
    let mut c = csv::Writer::from_writer(w);
    c.write_record(output::CSV_HEADER)?;
    for r in rows {
        c.write_record(output::csv_fields(&r))?;
    }
    c.flush()
}

/// Aligned rows. The chat-or-object column comes last: on a terminal it is
/// cut to the width left; into a file or a pipe it is written whole.
fn write_table<W: Write>(
    w: &mut W,
    rows: impl Iterator<Item = usize>,
    t: &Triaged,
    width: Option<usize>,
) -> io::Result<()> {
    let ds = &t.ds;
    const TIME: usize = 19;
    const EXT: usize = 5;
    const OP: usize = 22;
    const USER: usize = 32;
    const FIXED: usize = TIME + EXT + OP + USER + 4 * 2;
    let last = |s: &str| output::last_column(s, width, FIXED);
    writeln!(
        w,
        "{:<TIME$}  {}  {}  {}  {}",
        "TIME (UTC)",
        output::fit("EXT", EXT),
        output::fit("OPERATION", OP),
        output::fit("USER", USER),
        last("CHAT OR OBJECT")
    )?;
    for i in rows {
        let r = &ds.records[i];
        let c = r.chat.as_deref();
        let object = c
            .and_then(|c| c.chat_name.or(c.chat_id))
            .or(r.object)
            .map_or("", |s| ds.str(s));
        let ext = if t.ix.external[i] {
            "ext"
        } else if t.ix.guests[i] {
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
