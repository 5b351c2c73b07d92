//! The JSON export shapes: NDJSON (one record per line, parsed in
//! parallel chunks) and everything else as a stream of JSON values
//! (arrays, several arrays glued together, `{"value": […]}` pages,
//! pretty-printed objects one after another).

use serde_json::value::RawValue;

use super::normalize::{self, Page, Skip};
use super::parsed::Parsed;
use super::record::{RawKind, RawSpan, Source};

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn source(
    file: u32,
    line: u64,
    offset: u64,
    len: usize,
    env: super::record::JsonEnvelope,
) -> Source {
    Source {
        file,
        line: u32::try_from(line).unwrap_or(u32::MAX),
        raw: RawSpan {
            offset,
            len: u32::try_from(len).unwrap_or(u32::MAX),
            kind: RawKind::Json(env),
        },
    }
}

/// One JSON object: a record of any envelope, or a `{"value": […]}` page
/// of them. The page is only looked for when the object is no record, so
/// records (the hot path) are parsed once.
fn take_object(text: &str, file: u32, line: u64, offset: u64, out: &mut Parsed) {
    let src = source(
        file,
        line,
        offset,
        text.len(),
        super::record::JsonEnvelope::Bare,
    );
    match normalize::from_json(text, &mut out.pool, src) {
        Ok((mut rec, env)) => {
            // The envelope is only known after parsing.
            rec.source.raw.kind = RawKind::Json(env);
            out.saw(env);
            out.records.push(rec);
        }
        Err(Skip::NotARecord) => match serde_json::from_str::<Page>(text) {
            Ok(page) => take_page(text, page, file, line, offset, out),
            Err(_) => out.skip(line, Skip::NotARecord),
        },
        Err(s) => out.skip(line, s),
    }
}

fn take_page(text: &str, page: Page, file: u32, line: u64, offset: u64, out: &mut Parsed) {
    let mut lines = Lines {
        buf: text.as_bytes(),
        pos: 0,
        line,
    };
    for item in page.value {
        let s = item.get();
        let at = s.as_ptr() as usize - text.as_ptr() as usize;
        let l = lines.at(at);
        if s.starts_with('{') {
            take_object(s, file, l, offset + at as u64, out);
        } else {
            out.skip(l, Skip::NotARecord);
        }
    }
}

/// Does the text start with one complete JSON object on its first line?
/// Then the file is NDJSON and can be split at newlines.
pub fn looks_like_ndjson(head: &[u8]) -> bool {
    let first = match memchr::memchr(b'\n', head) {
        Some(n) => &head[..n],
        None => return false,
    };
    let t = first.trim_ascii();
    t.first() == Some(&b'{') && serde_json::from_slice::<&RawValue>(t).is_ok()
}

/// Parses whole lines of NDJSON.
pub fn parse_ndjson_chunk(
    chunk: &[u8],
    base_offset: u64,
    base_line: u64,
    file: u32,
    out: &mut Parsed,
) {
    let mut line = base_line;
    let mut pos = 0;
    while pos < chunk.len() {
        let end = memchr::memchr(b'\n', &chunk[pos..]).map_or(chunk.len(), |n| pos + n);
        let raw = &chunk[pos..end];
        let lead = raw.iter().take_while(|b| is_ws(**b)).count();
        let body = raw[lead..].trim_ascii_end();
        if !body.is_empty() {
            match std::str::from_utf8(body) {
                Ok(text) => take_object(text, file, line, base_offset + (pos + lead) as u64, out),
                Err(_) => out.skip(line, Skip::Json("not UTF-8 text".into())),
            }
        }
        pos = end + 1;
        line += 1;
    }
}

/// Tracks line numbers while moving forward through a buffer.
struct Lines<'a> {
    buf: &'a [u8],
    pos: usize,
    line: u64,
}

impl Lines<'_> {
    fn at(&mut self, pos: usize) -> u64 {
        debug_assert!(pos >= self.pos);
        self.line += bytecount::count(&self.buf[self.pos..pos], b'\n') as u64;
        self.pos = pos;
        self.line
    }
}

/// Parses a whole buffer as a stream of JSON values.
/// `base_offset` is the file offset of `buf[0]`.
pub fn parse_value_stream(buf: &[u8], base_offset: u64, file: u32, out: &mut Parsed) {
    let text = match std::str::from_utf8(buf) {
        Ok(t) => t,
        Err(e) => {
            // Keep what is valid; report where the text stops being UTF-8.
            let good = e.valid_up_to();
            let line = 1 + bytecount::count(&buf[..good], b'\n') as u64;
            out.skip(line, Skip::Json("not UTF-8 text from here on".into()));
            std::str::from_utf8(&buf[..good]).unwrap_or_default()
        }
    };
    let b = text.as_bytes();
    let mut lines = Lines {
        buf: b,
        pos: 0,
        line: 1,
    };
    let mut pos = 0;
    loop {
        while pos < b.len() && is_ws(b[pos]) {
            pos += 1;
        }
        if pos >= b.len() {
            break;
        }
        match b[pos] {
            b'[' => {
                pos = parse_array(text, pos, base_offset, file, &mut lines, out);
            }
            b'{' => {
                let line = lines.at(pos);
                match one_value(&text[pos..]) {
                    Ok((raw, used)) => {
                        take_object(raw.get(), file, line, base_offset + pos as u64, out);
                        pos += used;
                    }
                    Err(e) => {
                        out.skip(line, Skip::Json(e));
                        pos = resync(b, pos + 1, None);
                    }
                }
            }
            _ => {
                let line = lines.at(pos);
                out.skip(line, Skip::Json("expected a JSON object or array".into()));
                pos = resync(b, pos + 1, None);
            }
        }
    }
}

/// Parses `[ … ]` starting at `pos`; returns the position after it.
fn parse_array(
    text: &str,
    mut pos: usize,
    base_offset: u64,
    file: u32,
    lines: &mut Lines,
    out: &mut Parsed,
) -> usize {
    let b = text.as_bytes();
    pos += 1;
    loop {
        while pos < b.len() && is_ws(b[pos]) {
            pos += 1;
        }
        if pos >= b.len() {
            let line = lines.at(pos);
            out.skip(
                line,
                Skip::Json("the array is not closed: the file looks truncated".into()),
            );
            return pos;
        }
        match b[pos] {
            b']' => return pos + 1,
            b',' => {
                pos += 1;
                continue;
            }
            _ => {}
        }
        let line = lines.at(pos);
        let indent = indent_of(b, pos);
        match one_value(&text[pos..]) {
            Ok((raw, used)) => {
                let s = raw.get();
                if s.starts_with('{') {
                    take_object(s, file, line, base_offset + pos as u64, out);
                } else {
                    out.skip(line, Skip::NotARecord);
                }
                pos += used;
            }
            Err(e) => {
                out.skip(line, Skip::Json(e));
                pos = resync(b, pos + 1, Some(indent));
                if pos >= b.len() {
                    return pos;
                }
            }
        }
    }
}

/// One JSON value at the start of `text` and how many bytes it used.
fn one_value(text: &str) -> Result<(&RawValue, usize), String> {
    let mut it = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    match it.next() {
        Some(Ok(v)) => Ok((v, it.byte_offset())),
        Some(Err(e)) => Err(e.to_string()),
        None => Err("no value".into()),
    }
}

/// How far the line holding `pos` is indented.
fn indent_of(b: &[u8], pos: usize) -> usize {
    let start = memchr::memrchr(b'\n', &b[..pos]).map_or(0, |n| n + 1);
    b[start..pos]
        .iter()
        .take_while(|c| **c == b' ' || **c == b'\t')
        .count()
}

/// After a broken value: the start of the next line that opens an object
/// (at the same indentation as the broken element when known), so that one
/// bad record does not take the rest of the file with it.
fn resync(b: &[u8], from: usize, indent: Option<usize>) -> usize {
    let mut p = from;
    while let Some(n) = memchr::memchr(b'\n', &b[p.min(b.len())..]) {
        let start = p + n + 1;
        let ind = b[start..]
            .iter()
            .take_while(|c| **c == b' ' || **c == b'\t')
            .count();
        let at = start + ind;
        if at < b.len()
            && (b[at] == b'{' || (indent.is_none() && b[at] == b'['))
            && indent.is_none_or(|i| i == ind)
        {
            return at;
        }
        p = start;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndjson_detection() {
        assert!(looks_like_ndjson(b"{\"Id\":1}\n{\"Id\":2}\n"));
        assert!(!looks_like_ndjson(b"{\n  \"Id\": 1\n}\n"));
        assert!(!looks_like_ndjson(b"[{\"Id\":1}]\n"));
    }

    #[test]
    fn resync_finds_next_element_at_same_indent() {
        let b = b"[\n  {\"a\": \n    {\"x\":1}\n  {\"b\":2}\n]";
        let at = resync(b, 4, Some(2));
        assert_eq!(&b[at..at + 6], b"{\"b\":2");
    }
}
