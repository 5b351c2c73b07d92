//! Writing records: JSON Lines, CSV and aligned tables.

use std::io::{self, Write};

use serde::Serialize;
use unicode_width::UnicodeWidthChar;

use crate::sanitize::{SafeJson, for_terminal};
use crate::ual::{Dataset, IpText, Record, record_type, time};

/// The normalised record as the command line prints it.
#[derive(Debug, Serialize)]
pub struct RecordRow<'a> {
    pub id: String,
    pub time: String,
    pub operation: &'a str,
    pub record_type: Option<u32>,
    pub record_type_name: Option<&'a str>,
    pub workload: &'a str,
    pub user_id: &'a str,
    pub user_key: &'a str,
    pub organization_id: &'a str,
    pub user_type: Option<i16>,
    pub client_ip: IpText<'a>,
    pub object: &'a str,
    pub chat_id: &'a str,
    pub chat_name: &'a str,
    pub communication_type: &'a str,
    pub resource_tenant_id: &'a str,
    pub members: Vec<MemberRow<'a>>,
    pub external: bool,
    pub guests: bool,
    pub source: SourceRow,
}

#[derive(Debug, Serialize)]
pub struct MemberRow<'a> {
    pub upn: &'a str,
    pub display_name: &'a str,
    pub organization_id: &'a str,
    pub role: Option<i32>,
}

#[derive(Debug, Serialize)]
pub struct SourceRow {
    pub file: String,
    pub line: u32,
}

impl<'a> RecordRow<'a> {
    /// `external` and `guests` are the record's triage flags (its chat's,
    /// for chat records).
    pub fn new(ds: &'a Dataset, r: &'a Record, (external, guests): (bool, bool)) -> RecordRow<'a> {
        let c = r.chat.as_deref();
        let chat =
            |f: fn(&crate::ual::ChatFields) -> Option<crate::ual::Sym>| ds.opt(c.and_then(f));
        RecordRow {
            id: r.id.to_string(),
            time: time::format_rfc3339(&r.time),
            operation: ds.str(r.operation),
            record_type: r.record_type,
            record_type_name: r
                .record_type
                .and_then(record_type::name)
                .or(r.record_type_name.map(|s| ds.str(s))),
            workload: ds.opt(r.workload),
            user_id: ds.opt(r.user_id),
            user_key: ds.opt(r.user_key),
            organization_id: ds.opt(r.organization_id),
            user_type: r.user_type,
            client_ip: ds.client_ip(r),
            object: ds.opt(r.object),
            chat_id: chat(|c| c.chat_id),
            chat_name: chat(|c| c.chat_name),
            communication_type: chat(|c| c.communication_type),
            resource_tenant_id: chat(|c| c.resource_tenant_id),
            members: c
                .map(|c| {
                    c.members
                        .iter()
                        .map(|m| MemberRow {
                            upn: ds.opt(m.upn),
                            display_name: ds.opt(m.display_name),
                            organization_id: ds.opt(m.organization_id),
                            role: m.role,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            external,
            guests,
            source: SourceRow {
                file: ds.source_of(r).path.display().to_string(),
                line: r.source.line,
            },
        }
    }
}

/// Writes one value as a line of safe JSON.
pub fn write_json_line<W: Write, T: Serialize>(w: &mut W, v: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(&mut *w, SafeJson);
    v.serialize(&mut ser).map_err(io::Error::other)?;
    w.write_all(b"\n")
}

/// The CSV columns of `--format csv`.
pub const CSV_HEADER: &[&str] = &[
    "id",
    "time",
    "operation",
    "record_type",
    "record_type_name",
    "workload",
    "user_id",
    "user_key",
    "organization_id",
    "user_type",
    "client_ip",
    "object",
    "chat_id",
    "chat_name",
    "communication_type",
    "resource_tenant_id",
    "members",
    "external",
    "guests",
    "source_file",
    "source_line",
];

/// One record as CSV fields; `members` is a JSON array in one cell.
/// Every text cell is made safe (visible escapes, and no formula a
/// spreadsheet would run), whatever the destination.
pub fn csv_fields(row: &RecordRow) -> Vec<String> {
    let members = crate::sanitize::json_line(&row.members);
    let opt = |v: Option<i32>| v.map(|v| v.to_string()).unwrap_or_default();
    let text = |s: &str| crate::sanitize::csv_cell(s);
    vec![
        text(&row.id),
        row.time.clone(),
        text(row.operation),
        row.record_type.map(|v| v.to_string()).unwrap_or_default(),
        text(row.record_type_name.unwrap_or("")),
        text(row.workload),
        text(row.user_id),
        text(row.user_key),
        text(row.organization_id),
        opt(row.user_type.map(i32::from)),
        text(&row.client_ip),
        text(row.object),
        text(row.chat_id),
        text(row.chat_name),
        text(row.communication_type),
        text(row.resource_tenant_id),
        text(&members),
        row.external.to_string(),
        row.guests.to_string(),
        text(&row.source.file),
        row.source.line.to_string(),
    ]
}

/// The terminal's width when writing to one (`None` into a pipe or file).
pub fn terminal_width(tty: bool) -> Option<usize> {
    tty.then(|| crossterm::terminal::size().map_or(80, |(w, _)| usize::from(w)))
}

/// The last column of a table: on a terminal, cut to what the `fixed`
/// columns before it leave; into a file or a pipe, written whole.
pub fn last_column(s: &str, width: Option<usize>, fixed: usize) -> String {
    match width {
        Some(w) => fit(s, w.saturating_sub(fixed).max(12))
            .trim_end()
            .to_owned(),
        None => for_terminal(s).into_owned(),
    }
}

/// Cuts sanitised text to `width` terminal columns, with `…` when cut,
/// and pads it to exactly `width`.
pub fn fit(s: &str, width: usize) -> String {
    let safe = for_terminal(s);
    let mut out = String::new();
    let mut used = 0;
    let total: usize = safe.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= width {
        out.push_str(&safe);
        used = total;
    } else {
        for c in safe.chars() {
            let w = c.width().unwrap_or(0);
            if used + w + 1 > width {
                break;
            }
            out.push(c);
            used += w;
        }
        out.push('…');
        used += 1;
    }
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_pads_cuts_and_counts_wide_characters() {
        assert_eq!(fit("abc", 5), "abc  ");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("李王田中", 5), "李王…");
        assert_eq!(fit("a\u{1b}b", 12), "a\\u{1b}b    ");
    }

    #[test]
    fn safe_json_escapes_what_terminals_obey() {
        let mut out = Vec::new();
        write_json_line(&mut out, &"x\u{202e}y\u{1b}z\u{9b}\u{e0041}").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "\"x\\u202ey\\u001bz\\u009b\\udb40\\udc41\"\n");
        let back: String = serde_json::from_str(&text).unwrap();
        assert_eq!(back, "x\u{202e}y\u{1b}z\u{9b}\u{e0041}");
    }
}
