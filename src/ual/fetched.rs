//! Records fetched from the tenant (Graph `auditLogRecord`s, a page at a
//! time) taken into a loaded dataset, as records of the file the fetch
//! writes.
//!
//! The file is written only when the fetch ends; until then its text is
//! held in memory, laid out as it will be on disk (`[`, then one record
//! per line separated by `,`), so a record's details can be shown at
//! once and its place in the file is right when the file exists.

use std::path::Path;
use std::sync::Arc;

use super::dataset::{Dataset, SourceFile};
use super::input::Encoding;
use super::parsed::Parsed;
use super::record::{JsonEnvelope, RawKind, RawSpan, Source};

/// The fetch file's layout: `[`, one record per line with `,` between
/// them, `]`: a JSON array every loader reads, in which a record's place
/// is known as soon as it is appended.
pub mod layout {
    /// Before the first record.
    pub const OPEN: &[u8] = b"[\n";
    /// Between two records.
    pub const BETWEEN: &[u8] = b",\n";
    /// After the last record.
    pub const CLOSE: &[u8] = b"\n]\n";
    /// A file of no record.
    pub const EMPTY: &[u8] = b"[]\n";
}

/// What a batch of fetched records did to the dataset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Appended {
    /// New records.
    pub added: usize,
    /// Records already open (same `Id`, `CreationTime` and `Operation`).
    pub duplicates: usize,
    /// Records that could not be read as audit records.
    pub skipped: usize,
}

/// Takes `records` (compact JSON texts, each one line) in as records of
/// the fetch's file `path`, deduplicated against everything open.
pub fn append_graph_records(ds: &mut Dataset, path: &Path, records: &[String]) -> Appended {
    let file = match ds.sources.iter().position(|s| s.path == path) {
        Some(i) => u32::try_from(i).expect("fewer than 4 billion files"),
        None => ds.add_source(SourceFile {
            path: path.to_path_buf(),
            shape: "json",
            encoding: Encoding::Utf8,
            bytes: 0,
            records: 0,
            duplicates: 0,
            id_conflicts: 0,
            skipped: 0,
            envelopes: Vec::new(),
            held: Some(Arc::default()),
            sha256: None,
        }),
    };
    let src = &ds.sources[file as usize];
    let (before_records, before_dups, before_skipped) = (src.records, src.duplicates, src.skipped);
    let mut text: Vec<u8> = src.held.as_deref().cloned().unwrap_or_default();
    // Line 1 is `[`; each record taken in so far (kept, a copy or
    // skipped) has a line of its own.
    let mut line = 1 + (before_records + before_dups + before_skipped) as u64;
    let mut parsed = Parsed::with_capacity(records.len());
    for r in records {
        text.extend_from_slice(if text.is_empty() {
            layout::OPEN
        } else {
            layout::BETWEEN
        });
        line += 1;
        let offset = text.len() as u64;
        text.extend_from_slice(r.as_bytes());
        let source = Source {
            file,
            line: u32::try_from(line).unwrap_or(u32::MAX),
            raw: RawSpan {
                offset,
                len: u32::try_from(r.len()).unwrap_or(u32::MAX),
                kind: RawKind::Json(JsonEnvelope::Graph),
            },
        };
        if let Err(e) = parsed.take_json(r, source) {
            parsed.skip(line, e);
        }
    }
    parsed.bytes = records.iter().map(String::len).sum();
    ds.absorb(file, parsed);
    let src = &mut ds.sources[file as usize];
    src.bytes = text.len() as u64;
    src.held = Some(Arc::new(text));
    Appended {
        added: src.records - before_records,
        duplicates: src.duplicates - before_dups,
        skipped: src.skipped - before_skipped,
    }
}

/// Writes the fetch's file `path` as far as its records are held (a
/// fetch that stopped midway), whole or not at all; returns how many
/// records it holds.
pub fn write_held(ds: &Dataset, path: &Path) -> std::io::Result<usize> {
    let src =
        ds.sources.iter().find(|s| s.path == path).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "no fetched records")
        })?;
    let held = src.held.as_deref().map_or(&[][..], Vec::as_slice);
    let n = src.records + src.duplicates + src.skipped;
    crate::files::write_atomic_with(path, false, |w| {
        if held.is_empty() {
            return w.write_all(layout::EMPTY);
        }
        w.write_all(held)?;
        w.write_all(layout::CLOSE)
    })?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, op: &str) -> String {
        serde_json::json!({
            "id": id, "createdDateTime": "2026-11-02T09:15:04Z",
            "auditLogRecordType": "MicrosoftTeams", "operation": op,
            "organizationId": "2f1a7c3e-0b5d-4c6e-9a8f-1d2e3f4a5b6c",
            "userPrincipalName": "megan.bowen@contoso.com",
            "auditData": {"CreationTime": "2026-11-02T09:15:04", "Id": id, "Operation": op,
                "OrganizationId": "2f1a7c3e-0b5d-4c6e-9a8f-1d2e3f4a5b6c", "RecordType": 25,
                "UserId": "megan.bowen@contoso.com", "Workload": "MicrosoftTeams"}
        })
        .to_string()
    }

    #[test]
    fn fetched_pages_are_deduplicated_and_read_back_where_the_file_will_hold_them() {
        let mut ds = Dataset::default();
        let p = Path::new("fetched.json");
        let a = "a1000000-0000-4000-8000-000000000001";
        let b = "a1000000-0000-4000-8000-000000000002";
        let got = append_graph_records(&mut ds, p, &[record(a, "MemberAdded"), "{".into()]);
        assert_eq!((got.added, got.duplicates, got.skipped), (1, 0, 1));
        let got = append_graph_records(
            &mut ds,
            p,
            &[record(a, "MemberAdded"), record(b, "ChatCreated")],
        );
        assert_eq!((got.added, got.duplicates, got.skipped), (1, 1, 0));
        assert_eq!(ds.sources.len(), 1, "one file for the whole fetch");
        // The details read the held text, at the place the file will have.
        let r = &ds.records[1];
        assert!(ds.raw_audit_data(r).unwrap().contains("ChatCreated"));
        assert_eq!(r.source.line, 5, "[, a, {{, a again, then b");
        let held = ds.sources[0].held.clone().unwrap();
        let lines: Vec<&[u8]> = held.split(|&b| b == b'\n').collect();
        assert_eq!(lines[0], b"[");
        assert_eq!(
            lines[3],
            format!("{},", record(a, "MemberAdded")).as_bytes()
        );
        assert_eq!(lines[4], record(b, "ChatCreated").as_bytes());
    }
}
