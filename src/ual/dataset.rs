//! The loaded dataset: records in file order, the string pool, where each
//! record came from, and every row that was skipped.

use std::path::{Path, PathBuf};

use hashbrown::HashTable;

use super::client_ip::IpText;
use super::csv_rows;
use super::input::{self, Encoding};
use super::normalize::Skip;
use super::parsed::Parsed;
use super::pool::{self, Pool};
use super::record::{JsonEnvelope, RawKind, Record, Sym};

/// One file given to the loader.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    /// Machine-readable shape id (`purview-csv`, `ndjson`, …).
    pub shape: &'static str,
    pub encoding: Encoding,
    pub bytes: u64,
    pub records: usize,
    pub duplicates: usize,
    /// Records kept although their `Id` was seen before with another
    /// `CreationTime` or `Operation` (anonymised exports reuse ids).
    pub id_conflicts: usize,
    pub skipped: usize,
    /// The JSON envelopes met (JSON shapes only).
    pub envelopes: Vec<JsonEnvelope>,
    /// The text of a UTF-16 file (decoded) or of a stream, for reading
    /// raw records again.
    pub(crate) held: Option<input::Held>,
    /// The SHA-256 of an export read from a stream (it cannot be read
    /// again to hash it).
    pub sha256: Option<String>,
}

/// A row or value that was not loaded.
#[derive(Debug, Clone)]
pub struct Problem {
    pub file: u32,
    pub line: u64,
    /// Which element of a JSON array (from 1), where lines say little (a
    /// one-line array).
    pub element: Option<u64>,
    pub reason: Skip,
}

/// A file that could not be loaded at all.
#[derive(Debug, Clone)]
pub struct FileFailure {
    pub path: PathBuf,
    pub message: String,
}

/// Everything loaded from a set of exports. Cloned only to grow a copy
/// while the screen keeps showing the original (records fetched from the
/// tenant, merged in).
#[derive(Clone)]
pub struct Dataset {
    pub records: Vec<Record>,
    pub sources: Vec<SourceFile>,
    pub problems: Vec<Problem>,
    pub failures: Vec<FileFailure>,
    /// Records dropped as copies: same `Id`, `CreationTime` and
    /// `Operation` as one loaded before (overlapping exports).
    pub duplicates: usize,
    /// Records kept whose `Id` another record has, with other content.
    pub id_conflicts: usize,
    pool: Pool,
    index: HashTable<u32>,
    hasher: ahash::RandomState,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("records", &self.records.len())
            .field("sources", &self.sources)
            .field("problems", &self.problems.len())
            .field("failures", &self.failures)
            .field("duplicates", &self.duplicates)
            .field("id_conflicts", &self.id_conflicts)
            .finish()
    }
}

impl Default for Dataset {
    fn default() -> Self {
        Dataset {
            records: Vec::new(),
            sources: Vec::new(),
            problems: Vec::new(),
            failures: Vec::new(),
            duplicates: 0,
            id_conflicts: 0,
            pool: Pool::new(),
            index: HashTable::new(),
            hasher: ahash::RandomState::new(),
        }
    }
}

/// Why the raw AuditData of a record could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum RawError {
    #[error("cannot read {path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
    #[error("{path} changed since it was loaded")]
    Changed { path: PathBuf },
}

impl Dataset {
    /// How many distinct strings the pool holds (handles are below it).
    pub fn pool_len(&self) -> usize {
        self.pool.len()
    }

    /// The text of an interned string.
    pub fn str(&self, s: Sym) -> &str {
        self.pool.resolve(s)
    }

    /// The text of an optional interned string, `""` when absent.
    pub fn opt(&self, s: Option<Sym>) -> &str {
        s.map_or("", |s| self.pool.resolve(s))
    }

    /// A record's `ClientIP` as written, `""` when absent.
    pub fn client_ip(&self, r: &Record) -> IpText<'_> {
        match &r.client_ip {
            Some(ip) => ip.text(&self.pool),
            None => IpText::Text(""),
        }
    }

    /// The handle of a string, if any record uses it (a linear search
    /// once loading is over: for tests and one-off lookups).
    pub fn sym(&self, text: &str) -> Option<Sym> {
        self.pool.get(text)
    }

    /// Loading is over: drop what only interning needed.
    pub fn freeze(&mut self) {
        self.pool.freeze();
    }

    /// Records whose `RecordType` is Microsoft Teams.
    pub fn teams_records(&self) -> usize {
        self.records.iter().filter(|r| r.is_teams()).count()
    }

    pub fn skipped(&self) -> usize {
        self.problems.len()
    }

    pub fn source_of(&self, r: &Record) -> &SourceFile {
        &self.sources[r.source.file as usize]
    }

    pub(crate) fn add_source(&mut self, src: SourceFile) -> u32 {
        self.sources.push(src);
        u32::try_from(self.sources.len() - 1).expect("fewer than 4 billion files")
    }

    /// Takes in one parsed piece of file `file`, in file order: its
    /// strings join the pool, and a record with the `Id`, `CreationTime`
    /// and `Operation` of one already loaded is a duplicate (the first one
    /// wins); the same `Id` with other content is kept, and counted as an
    /// id conflict.
    /// The hasher of record ids, for [`Parsed::hash_ids`].
    pub(crate) fn id_hasher(&self) -> ahash::RandomState {
        self.hasher.clone()
    }

    pub(crate) fn absorb(&mut self, file: u32, mut parsed: Parsed) {
        if parsed.id_hashes.len() != parsed.records.len() {
            parsed.hash_ids(&self.hasher);
        }
        let table = self.pool.absorb(&parsed.pool);
        let src = &mut self.sources[file as usize];
        for env in parsed.envelopes {
            if !src.envelopes.contains(&env) {
                src.envelopes.push(env);
            }
        }
        src.skipped += parsed.skipped.len();
        self.problems.extend(
            parsed
                .skipped
                .into_iter()
                .map(|(line, element, reason)| Problem {
                    file,
                    line,
                    element,
                    reason,
                }),
        );
        if src.records == 0 && parsed.bytes > 0 && parsed.records.len() > 100 {
            // First block of a file: size the record vector for the whole file
            // once, rather than doubling it (and copying it) as it grows.
            let per_byte = parsed.records.len() as f64 / parsed.bytes as f64;
            let expect = (src.bytes as f64 * per_byte * 1.02) as usize;
            self.records
                .reserve(expect.saturating_sub(self.records.capacity() - self.records.len()));
            let hasher = &self.hasher;
            let records = &self.records;
            self.index
                .reserve(expect, |&i| hasher.hash_one(&records[i as usize].id));
        }
        self.records.reserve(parsed.records.len());
        for (mut r, h) in parsed.records.into_iter().zip(parsed.id_hashes) {
            r.remap_syms(&|s| pool::remap(&table, s));
            let records = &self.records;
            // Most records are new: one lookup by id says so.
            if self
                .index
                .find(h, |&i| records[i as usize].id == r.id)
                .is_some()
            {
                let same = |i: &u32| {
                    let o = &records[*i as usize];
                    o.id == r.id && o.time == r.time && o.operation == r.operation
                };
                if self.index.find(h, same).is_some() {
                    self.duplicates += 1;
                    self.sources[file as usize].duplicates += 1;
                    continue;
                }
                self.id_conflicts += 1;
                self.sources[file as usize].id_conflicts += 1;
            }
            let idx = u32::try_from(self.records.len()).expect("fewer than 4 billion records");
            let hasher = &self.hasher;
            self.index
                .insert_unique(h, idx, |&i| hasher.hash_one(&records[i as usize].id));
            self.records.push(r);
            self.sources[file as usize].records += 1;
        }
    }

    /// The record's `AuditData` as it stands in its file (for a details
    /// pane), read again on demand rather than kept in memory.
    pub fn raw_audit_data(&self, r: &Record) -> Result<String, RawError> {
        let src = self.source_of(r);
        let span = r.source.raw;
        let bytes = input::read_span(
            &src.path,
            src.held.as_deref().map(Vec::as_slice),
            span.offset,
            span.len as usize,
        )
        .map_err(|err| RawError::Io {
            path: src.path.clone(),
            err,
        })?;
        let changed = || RawError::Changed {
            path: src.path.clone(),
        };
        let text = match span.kind {
            RawKind::CsvRow { column } => {
                csv_rows::audit_data_of_row(&bytes, column as usize).ok_or_else(changed)?
            }
            RawKind::Json(env) => {
                let text = std::str::from_utf8(&bytes).map_err(|_| changed())?;
                audit_data_of_json(text, env).ok_or_else(changed)?
            }
        };
        // A record that no longer parses to the same id means the file moved on.
        let id = r.id.text();
        let plain = id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if plain && !text.contains(&*id) {
            return Err(changed());
        }
        Ok(text)
    }

    /// Path of a source, for messages.
    pub fn path(&self, file: u32) -> &Path {
        &self.sources[file as usize].path
    }
}

fn audit_data_of_json(text: &str, env: JsonEnvelope) -> Option<String> {
    use serde_json::value::RawValue;
    #[derive(serde::Deserialize)]
    struct Ps<'a> {
        #[serde(rename = "AuditData", borrow)]
        audit_data: &'a RawValue,
    }
    #[derive(serde::Deserialize)]
    struct Graph<'a> {
        #[serde(rename = "auditData", borrow)]
        audit_data: &'a RawValue,
    }
    #[derive(serde::Deserialize)]
    struct Def<'a> {
        #[serde(borrow)]
        properties: &'a RawValue,
    }
    match env {
        JsonEnvelope::Bare => Some(text.to_owned()),
        JsonEnvelope::PowerShell => {
            let v: Ps = serde_json::from_str(text).ok()?;
            let raw = v.audit_data.get();
            if raw.starts_with('"') {
                serde_json::from_str::<String>(raw).ok()
            } else {
                Some(raw.to_owned())
            }
        }
        JsonEnvelope::Graph => {
            let v: Graph = serde_json::from_str(text).ok()?;
            Some(v.audit_data.get().to_owned())
        }
        JsonEnvelope::DefenderStream => {
            let v: Def = serde_json::from_str(text).ok()?;
            #[derive(serde::Deserialize)]
            struct Props<'a> {
                #[serde(rename = "RawEventData", borrow)]
                raw: &'a RawValue,
            }
            let p: Props = serde_json::from_str(v.properties.get()).ok()?;
            Some(p.raw.get().to_owned())
        }
    }
}
