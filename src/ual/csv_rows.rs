//! The CSV export shapes: the header decides the columns (by name,
//! case-insensitively, never by position), then each row's AuditData is
//! parsed with the other columns as fallback.

use super::csv_scan::{Row, Rows};
use super::normalize::{self, Fallback};
use super::parsed::Parsed;
use super::record::{RawKind, RawSpan, Source};

/// Where the useful columns are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvLayout {
    pub audit_data: usize,
    pub record_id: Option<usize>,
    pub operation: Option<usize>,
    pub user_id: Option<usize>,
    pub record_type: Option<usize>,
    pub columns: usize,
    pub shape: CsvShape,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvShape {
    /// Purview "Audit (New search)": RecordId, CreationDate, RecordType,
    /// Operation, UserId, AuditData[, AssociatedAdminUnits…].
    Purview,
    /// Classic portal: CreationDate, UserIds, Operations, AuditData[, RecordType].
    Classic,
    /// `Search-UnifiedAuditLog | Export-Csv`.
    PowerShell,
    /// Some other CSV that has an AuditData column.
    Other,
}

impl CsvShape {
    pub fn id(self) -> &'static str {
        match self {
            CsvShape::Purview => "purview-csv",
            CsvShape::Classic => "classic-csv",
            CsvShape::PowerShell => "powershell-csv",
            CsvShape::Other => "csv",
        }
    }
}

impl CsvLayout {
    /// The layout of a header row, or `None` when it has no AuditData column.
    pub fn from_header<'a>(header: impl IntoIterator<Item = &'a [u8]>) -> Option<CsvLayout> {
        let names: Vec<String> = header
            .into_iter()
            .map(|f| {
                String::from_utf8_lossy(f)
                    .trim()
                    .trim_matches('"')
                    .to_ascii_lowercase()
            })
            .collect();
        let find = |want: &[&str]| names.iter().position(|n| want.contains(&n.as_str()));
        let audit_data = find(&["auditdata"])?;
        let has = |n: &str| names.iter().any(|x| x == n);
        let shape = if has("recordid") {
            CsvShape::Purview
        } else if has("runspaceid") || has("resultindex") || has("identity") {
            CsvShape::PowerShell
        } else if has("userids") && has("operations") {
            CsvShape::Classic
        } else {
            CsvShape::Other
        };
        Some(CsvLayout {
            audit_data,
            record_id: find(&["recordid", "identity", "id"]),
            operation: find(&["operation", "operations"]),
            user_id: find(&["userid", "userids"]),
            record_type: find(&["recordtype"]),
            columns: names.len(),
            shape,
        })
    }
}

/// Parses a run of whole CSV rows. `base_offset` and `base_line` place
/// the chunk in its file.
pub fn parse_chunk(
    layout: &CsvLayout,
    chunk: &[u8],
    base_offset: u64,
    base_line: u64,
    file: u32,
    out: &mut Parsed,
) {
    let mut rows = Rows::new(chunk);
    let mut row = Row::default();
    // Lines are counted from byte offsets, moving forward only: a quoted
    // AuditData may span several lines.
    let mut counted = 0usize;
    let mut line = base_line;
    while let Some(span) = rows.next_row(&mut row) {
        line += bytecount::count(&chunk[counted..span.start], b'\n') as u64;
        counted = span.start;
        let source = Source {
            file,
            line: u32::try_from(line).unwrap_or(u32::MAX),
            raw: RawSpan {
                offset: base_offset + span.start as u64,
                len: u32::try_from(span.len()).unwrap_or(u32::MAX),
                kind: RawKind::CsvRow {
                    column: u16::try_from(layout.audit_data).unwrap_or(u16::MAX),
                },
            },
        };
        let Some(audit) = row.get(layout.audit_data) else {
            out.skip(
                line,
                normalize::Skip::ShortRow {
                    fields: row.len(),
                    needed: layout.audit_data + 1,
                },
            );
            continue;
        };
        let col = |i: Option<usize>| {
            i.and_then(|i| row.get(i))
                .and_then(|b| std::str::from_utf8(b).ok())
        };
        let fb = Fallback {
            id: col(layout.record_id),
            operation: col(layout.operation),
            user_id: col(layout.user_id),
            record_type: col(layout.record_type),
            ..Fallback::default()
        };
        match normalize::from_csv_audit_data(audit, &fb, &mut out.pool, source) {
            Ok(r) => out.records.push(r),
            Err(s) => out.skip(line, s),
        }
    }
}

/// Reads one row's AuditData column again from its raw text.
pub fn audit_data_of_row(raw: &[u8], column: usize) -> Option<String> {
    let mut row = Row::default();
    Rows::new(raw).next_row(&mut row)?;
    row.get(column)
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

/// The end of the last whole CSV row in `block`, which starts at a row
/// boundary: the position after the last newline outside quotes. RFC 4180
/// doubles quotes inside quoted fields, so quote parity tells inside from
/// outside.
pub fn last_row_end(block: &[u8]) -> Option<usize> {
    let total = bytecount::count(block, b'"');
    let mut quotes_after = 0usize;
    let mut end = block.len();
    while let Some(nl) = memchr::memrchr(b'\n', &block[..end]) {
        quotes_after += bytecount::count(&block[nl + 1..end], b'"');
        if (total - quotes_after).is_multiple_of(2) {
            return Some(nl + 1);
        }
        end = nl;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_end_skips_newlines_inside_quotes() {
        let b = b"a,\"x\ny\"\nb,\"p\nq";
        assert_eq!(last_row_end(b), Some(8));
        assert_eq!(last_row_end(b"no newline"), None);
        assert_eq!(last_row_end(b"a,\"open\n"), None);
        assert_eq!(last_row_end(b"a,\"\"\"\"\n"), Some(7));
    }

    #[test]
    fn layout_by_name_not_position() {
        let h: [&[u8]; 4] = [b"AuditData", b"operations", b"CreationDate", b"UserIds"];
        let l = CsvLayout::from_header(h).unwrap();
        assert_eq!(l.audit_data, 0);
        assert_eq!(l.operation, Some(1));
        assert_eq!(l.shape, CsvShape::Classic);
        assert!(CsvLayout::from_header([&b"a"[..], b"b"]).is_none());
    }
}
