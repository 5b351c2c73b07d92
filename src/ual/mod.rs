//! Unified Audit Log exports → normalised records.
//!
//! Pure and fast: no terminal, network or async code lives here. The shape
//! of each file is sniffed from its content, never from its name:
//!
//! | shape | how it is recognised |
//! |---|---|
//! | Purview "Audit (New search)" CSV, classic CSV, `Export-Csv` | a header row with an `AuditData` column |
//! | NDJSON (Management Activity API, SIEM exports) | a complete JSON object on the first line |
//! | JSON arrays, glued arrays, `{"value":[…]}` pages | anything else starting with `[` or `{` |
//!
//! and within JSON, each object's envelope: bare AuditData, PowerShell
//! `ConvertTo-Json` (`AuditData` string), Graph `auditLogRecord`
//! (`auditData`), Defender streaming (`properties.RawEventData`).

mod client_ip;
mod csv_rows;
mod csv_scan;
mod dataset;
pub mod fetched;
mod fields;
pub mod graph_page;
mod input;
mod json_array;
mod json_depth;
pub(crate) mod json_scan;
mod json_values;
mod normalize;
mod parsed;
mod pipeline;
mod pool;
pub mod record;
mod record_id;
pub mod record_type;
pub mod time;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

pub use client_ip::{ClientIp, IpText};
pub use dataset::{Dataset, FileFailure, Problem, RawError, SourceFile};
pub use input::Encoding;
pub use normalize::Skip;
pub use pipeline::Progress;
pub use record::{ChatFields, JsonEnvelope, Member, ParticipantInfo, Record, Sym};
pub use record_id::{IdText, RecordId, guid_text, parse_guid_any_case};

use csv_rows::CsvLayout;
use input::{Input, InputError};
use parsed::Parsed;
use pipeline::Split;

/// The shapes chatevict reads, for the message given on any other file.
pub const ACCEPTED_SHAPES: &str = "Purview Audit (New search) CSV; classic audit CSV \
(CreationDate,UserIds,Operations,AuditData); Search-UnifiedAuditLog | Export-Csv or \
ConvertTo-Json; Office 365 Management Activity API JSON or NDJSON; Microsoft Graph audit \
log query records (JSON array or {\"value\": [...]} page); Defender XDR streaming NDJSON";

/// Loading options.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Parser threads; 0 means one per core.
    pub threads: usize,
    /// Bytes read at a time; 0 means the default. Tests make it small to
    /// put record boundaries everywhere.
    pub block: usize,
}

/// Loading stopped before the end.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("loading was cancelled")]
    Cancelled,
}

/// Loads every file into one dataset. A file that cannot be read or is no
/// audit export is recorded in [`Dataset::failures`]; a broken row in
/// [`Dataset::problems`]; both leave the rest loading.
pub fn load(
    paths: &[PathBuf],
    opts: &LoadOptions,
    progress: &Progress,
) -> Result<Dataset, LoadError> {
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        opts.threads
    };
    let block = if opts.block == 0 {
        pipeline::BLOCK
    } else {
        opts.block
    };
    let mut ds = Dataset::default();
    for path in paths {
        if progress.cancelled() {
            return Err(LoadError::Cancelled);
        }
        if let Err(message) = load_file(&mut ds, path, threads, block, progress)? {
            ds.failures.push(FileFailure {
                path: path.clone(),
                message,
            });
        }
    }
    ds.freeze();
    Ok(ds)
}

/// Loads one file; the inner error is a message for a file that could
/// not be loaded at all.
fn load_file(
    ds: &mut Dataset,
    path: &Path,
    threads: usize,
    block: usize,
    progress: &Progress,
) -> Result<Result<(), String>, LoadError> {
    let mut input = match Input::open(path) {
        Ok(i) => i,
        Err(InputError::Io(e)) => return Ok(Err(format!("cannot read: {e}"))),
        Err(e) => return Ok(Err(e.to_string())),
    };
    // What opening read (a byte-order mark, the start of a UTF-16 file).
    progress
        .bytes_read
        .fetch_add(input.consumed(), std::sync::atomic::Ordering::Relaxed);
    let mut head = Vec::new();
    // Enough to see the header or the first JSON line in any real export.
    if let Err(e) = progress.track(&mut input, |i| i.read_into(&mut head, 256 << 10)) {
        return Ok(Err(format!("cannot read: {e}")));
    }
    let source = SourceFile {
        path: path.to_path_buf(),
        shape: "",
        encoding: input.encoding,
        bytes: input.file_len,
        records: 0,
        duplicates: 0,
        id_conflicts: 0,
        skipped: 0,
        envelopes: Vec::new(),
        held: None,
        sha256: input.sha256.clone(),
    };
    let sources = ds.sources.len();
    let loaded = load_shape(ds, &mut input, head, source, (threads, block), progress);
    // What a stream or a UTF-16 file held is where its records' raw text
    // is read again.
    if ds.sources.len() > sources {
        ds.sources[sources].held = input.into_held();
    }
    if let Err(message) = loaded? {
        return Ok(Err(message));
    }
    // A JSON file in which nothing looked like an audit record is no export.
    let file = ds.sources.len() - 1;
    let src = &ds.sources[file];
    let not_records = ds
        .problems
        .iter()
        .filter(|p| p.file as usize == file && p.reason == Skip::NotARecord)
        .count();
    if src.records == 0 && src.duplicates == 0 && src.skipped > 0 && not_records == src.skipped {
        ds.problems.retain(|p| p.file as usize != file);
        ds.sources[file].skipped = 0;
        return Ok(Err(format!(
            "not an audit export: no value in it is an audit record; {}",
            accepted()
        )));
    }
    Ok(Ok(()))
}

/// Loads the text of a file (whose first bytes, `head`, are read) in the
/// shape its first bytes say. The inner error is a message for a file
/// that could not be loaded at all.
fn load_shape(
    ds: &mut Dataset,
    input: &mut Input,
    mut head: Vec<u8>,
    mut source: SourceFile,
    (threads, block): (usize, usize),
    progress: &Progress,
) -> Result<Result<(), String>, LoadError> {
    let lead = head.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let first = head.get(lead).copied();
    let base = input.start;
    match first {
        None => {
            return Ok(Err(format!("the file is empty; {}", accepted())));
        }
        Some(b'{') if json_values::looks_like_ndjson(&head[lead..]) => {
            source.shape = "ndjson";
            let file = ds.add_source(source);
            let ids = ds.id_hasher();
            let parse = move |p: &pipeline::Piece, out: &mut Parsed| {
                json_values::parse_ndjson_chunk(&p.bytes, p.offset, p.line, file, out);
                out.hash_ids(&ids);
            };
            let at = Start {
                carry: head,
                offset: base,
                line: 1,
            };
            let rows = |b: &[u8], _, _: &mut _| {
                memchr::memrchr(b'\n', b).map_or(Split::Need, |n| Split::At(n + 1))
            };
            run_rows(
                ds,
                input,
                at,
                rows,
                &parse,
                file,
                (threads, block),
                progress,
            )?;
        }
        Some(b'[') => {
            source.shape = "json";
            let file = ds.add_source(source);
            let ids = ds.id_hasher();
            let parse = move |p: &pipeline::Piece, out: &mut Parsed| {
                json_array::parse_piece(p, file, out);
                out.hash_ids(&ids);
            };
            let cut = pipeline::Cut {
                split: json_array::split,
                block,
                tail_is_a_piece: false,
            };
            // The pieces start inside the array, after its `[`.
            let carry = head.split_off(lead + 1);
            let at = Start {
                carry,
                offset: base + head.len() as u64,
                line: 1 + bytecount::count(&head, b'\n') as u64,
            };
            let mut order = json_array::Order::default();
            let mut sink = |ds: &mut Dataset, p| order.take(ds, file, p);
            let ended = run(
                ds, input, at, cut, &parse, file, threads, progress, &mut sink,
            )?;
            // The rest is read whole: the array's end and whatever follows
            // it, or everything from a broken element on.
            let (offset, line) = match ended {
                Some(pipeline::Ended::Stopped { offset, line }) => (offset, line),
                Some(pipeline::Ended::BySink) => order.broken.expect("the sink stopped at a break"),
                Some(pipeline::Ended::Eof) | None => return Ok(Ok(())),
            };
            let inside = Some(order.inside());
            if let Err(e) = progress.track(input, |i| i.rewind(offset)) {
                return Ok(Err(format!("cannot read: {e}")));
            }
            let at = Start {
                carry: Vec::new(),
                offset,
                line,
            };
            if let Err(e) = whole_text(ds, input, at, inside, file, threads, progress) {
                return Ok(Err(e));
            }
        }
        Some(b'{') => {
            source.shape = "json";
            let file = ds.add_source(source);
            let at = Start {
                carry: head,
                offset: base,
                line: 1,
            };
            if let Err(e) = whole_text(ds, input, at, None, file, threads, progress) {
                return Ok(Err(e));
            }
        }
        Some(_) => {
            let header = progress.track(input, |i| csv_header(i, &mut head));
            let Some((layout, header_end, header_lines)) = header else {
                return Ok(Err(format!(
                    "not an audit export: no AuditData column in the header; {}",
                    accepted()
                )));
            };
            source.shape = layout.shape.id();
            let file = ds.add_source(source);
            let rest = head.split_off(header_end);
            let ids = ds.id_hasher();
            let parse = move |p: &pipeline::Piece, out: &mut Parsed| {
                csv_rows::parse_chunk(&layout, &p.bytes, p.offset, p.line, file, out);
                out.hash_ids(&ids);
            };
            let at = Start {
                carry: rest,
                offset: base + header_end as u64,
                line: 1 + header_lines,
            };
            let rows =
                |b: &[u8], _, _: &mut _| csv_rows::last_row_end(b).map_or(Split::Need, Split::At);
            run_rows(
                ds,
                input,
                at,
                rows,
                &parse,
                file,
                (threads, block),
                progress,
            )?;
        }
    }
    Ok(Ok(()))
}

/// Where the text not yet parsed starts: `carry` (read already), at
/// `offset` of the file, on `line`.
struct Start {
    carry: Vec<u8>,
    offset: u64,
    line: u64,
}

/// Parses the rest of a JSON export, from `at`, as a stream of values
/// read whole (or where it is already held); `inside` an array whose
/// first elements were streamed. The error is a message for a file that
/// cannot be read.
fn whole_text(
    ds: &mut Dataset,
    input: &mut Input,
    at: Start,
    inside: Option<json_values::Inside>,
    file: u32,
    threads: usize,
    progress: &Progress,
) -> Result<(), String> {
    let Start {
        carry: mut text,
        offset,
        line,
    } = at;
    // Text in memory (read from a stream, decoded from UTF-16) is read
    // where it is, not copied.
    let cannot = |e: std::io::Error| format!("cannot read: {e}");
    let held = progress.track(input, Input::hold).map_err(cannot)?;
    let text: &[u8] = match &held {
        Some(held) => held
            .get(usize::try_from(offset).unwrap_or(usize::MAX)..)
            .unwrap_or_default(),
        None => {
            progress
                .track(input, |i| i.read_rest(&mut text))
                .map_err(cannot)?;
            &text
        }
    };
    let ids = ds.id_hasher();
    json_values::parse_value_stream(text, offset, line, inside, file, threads, &ids, &mut |p| {
        ds.absorb(file, p)
    });
    Ok(())
}

fn accepted() -> String {
    format!("chatevict reads: {ACCEPTED_SHAPES}")
}

/// Streams a line-based shape (CSV, NDJSON) into the dataset: `rows`
/// finds the end of the last whole row, and a last row without its line
/// break is a row all the same.
#[allow(clippy::too_many_arguments)]
fn run_rows(
    ds: &mut Dataset,
    input: &mut Input,
    at: Start,
    rows: pipeline::SplitAt,
    parse: &(dyn Fn(&pipeline::Piece, &mut Parsed) + Sync),
    file: u32,
    (threads, block): (usize, usize),
    progress: &Progress,
) -> Result<(), LoadError> {
    let cut = pipeline::Cut {
        split: rows,
        block,
        tail_is_a_piece: true,
    };
    let mut sink = |ds: &mut Dataset, p| {
        ds.absorb(file, p);
        ControlFlow::Continue(())
    };
    run(
        ds, input, at, cut, parse, file, threads, progress, &mut sink,
    )
    .map(drop)
}

/// Streams the rest of a file through the pipeline. `None` when reading
/// failed part way: what was read stays loaded, and the error is a
/// problem of the file.
#[allow(clippy::too_many_arguments)]
fn run(
    ds: &mut Dataset,
    input: &mut Input,
    at: Start,
    cut: pipeline::Cut,
    parse: &(dyn Fn(&pipeline::Piece, &mut Parsed) + Sync),
    file: u32,
    threads: usize,
    progress: &Progress,
    sink: &mut dyn FnMut(&mut Dataset, Parsed) -> ControlFlow<()>,
) -> Result<Option<pipeline::Ended>, LoadError> {
    let mut sink = |p: Parsed| sink(ds, p);
    let Start {
        carry,
        offset,
        line,
    } = at;
    match pipeline::run(
        input, carry, offset, line, cut, parse, threads, progress, &mut sink,
    ) {
        Ok(ended) => Ok(Some(ended)),
        Err(pipeline::PipelineError::Cancelled) => Err(LoadError::Cancelled),
        Err(pipeline::PipelineError::Io(e)) => {
            // What was read before the error stays loaded; the error is
            // reported as a problem of the file.
            ds.sources[file as usize].skipped += 1;
            ds.problems.push(Problem {
                file,
                line: 0,
                element: None,
                reason: Skip::Read(e.to_string()),
            });
            Ok(None)
        }
    }
}

/// Finds the CSV header (after PowerShell's `#TYPE` line, if any).
/// Returns the layout, the offset after the header row in `head`, and
/// how many lines precede the first data row.
fn csv_header(input: &mut Input, head: &mut Vec<u8>) -> Option<(CsvLayout, usize, u64)> {
    // Make sure the header line is complete.
    while !head.contains(&b'\n') {
        match input.read_into(head, 64 << 10) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let mut pos = 0;
    let mut lines = 0u64;
    loop {
        let rest = &head[pos..];
        let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |n| n + 1);
        let line = rest[..end].trim_ascii();
        if line.is_empty() && end < rest.len()
            || line.starts_with(b"#TYPE")
            || line.starts_with(b"#") && !line.contains(&b',')
        {
            pos += end;
            lines += 1;
            if end == 0 || pos >= head.len() {
                return None;
            }
            continue;
        }
        break;
    }
    let mut row = csv_scan::Row::default();
    let span = csv_scan::Rows::new(&head[pos..]).next_row(&mut row)?;
    let layout = CsvLayout::from_header(row.iter())?;
    let end = pos + span.end;
    lines += bytecount::count(&head[pos..end], b'\n') as u64;
    Some((layout, end, lines))
}
