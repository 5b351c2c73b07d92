//! A CSV row reader for whole rows already in memory.
//!
//! It reads exactly what the `csv` crate reads with `flexible(true)` and
//! the default dialect (comma, `"` quotes doubled inside quoted fields,
//! CR, LF or CRLF ending a row, blank lines skipped, bytes after a closing
//! quote kept literally, a quote inside an unquoted field kept literally)
//! — a property test holds it to that. It exists because audit rows are
//! one huge quoted field full of doubled quotes: jumping from quote to
//! quote with `memchr` reads them about twice as fast as the crate's
//! byte-at-a-time state machine, and loading is bound by that.

use std::ops::Range;

/// One row's fields, unescaped, in a single buffer.
#[derive(Debug, Default, Clone)]
pub struct Row {
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl Row {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.buf[start..end])
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
    }

    fn end_field(&mut self) {
        self.ends.push(self.buf.len());
    }
}

/// Reads rows one after another from `src`.
pub struct Rows<'a> {
    src: &'a [u8],
    pos: usize,
}

impl<'a> Rows<'a> {
    pub fn new(src: &'a [u8]) -> Rows<'a> {
        Rows { src, pos: 0 }
    }

    /// Reads the next row into `row` and returns where it lies in the
    /// source (from its first byte to after its line ending), or `None`
    /// at the end. Blank lines before a row are skipped.
    pub fn next_row(&mut self, row: &mut Row) -> Option<Range<usize>> {
        let src = self.src;
        let mut i = self.pos;
        while matches!(src.get(i), Some(b'\r' | b'\n')) {
            i += 1;
        }
        if i >= src.len() {
            self.pos = i;
            return None;
        }
        let start = i;
        row.clear();
        loop {
            // At the start of a field.
            if src.get(i) == Some(&b'"') {
                i = quoted(src, i + 1, &mut row.buf);
            }
            // The unquoted rest of the field (all of it, for an unquoted one).
            let rest = &src[i..];
            let stop = memchr::memchr3(b',', b'\n', b'\r', rest).unwrap_or(rest.len());
            row.buf.extend_from_slice(&rest[..stop]);
            i += stop;
            row.end_field();
            match src.get(i) {
                Some(b',') => i += 1,
                Some(b'\r') => {
                    i += 1;
                    if src.get(i) == Some(&b'\n') {
                        i += 1;
                    }
                    break;
                }
                Some(_) => {
                    i += 1;
                    break;
                }
                None => break,
            }
        }
        self.pos = i;
        Some(start..i)
    }
}

/// Bytes looked at per step inside a quoted field.
const LANE: usize = 16;

/// Reads the inside of a quoted field that starts at `i` (just after the
/// opening quote) into `out`, and returns the position after the closing
/// quote (or the end of `src`).
///
/// Audit JSON has a doubled quote every few bytes, so this looks at 16
/// bytes at a time: copy them all, find the first quote (LLVM turns the
/// loop into one vector compare), and keep only what comes before it.
fn quoted(src: &[u8], mut i: usize, out: &mut Vec<u8>) -> usize {
    while let Some(lane) = src.get(i..i + LANE) {
        let lane: &[u8; LANE] = lane.try_into().expect("LANE bytes");
        let mut quotes = 0u32;
        for (j, &b) in lane.iter().enumerate() {
            quotes |= u32::from(b == b'"') << j;
        }
        let kept = out.len();
        out.extend_from_slice(lane);
        if quotes == 0 {
            i += LANE;
            continue;
        }
        let q = quotes.trailing_zeros() as usize;
        if src.get(i + q + 1) == Some(&b'"') {
            // A doubled quote: keep one.
            out.truncate(kept + q + 1);
            i += q + 2;
        } else {
            out.truncate(kept + q);
            return i + q + 1;
        }
    }
    // The last few bytes of the text.
    loop {
        match memchr::memchr(b'"', &src[i..]) {
            None => {
                out.extend_from_slice(&src[i..]);
                return src.len();
            }
            Some(k) => {
                let q = i + k;
                if src.get(q + 1) == Some(&b'"') {
                    out.extend_from_slice(&src[i..=q]);
                    i = q + 2;
                } else {
                    out.extend_from_slice(&src[i..q]);
                    return q + 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ours(src: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut rows = Rows::new(src);
        let mut row = Row::default();
        let mut out = Vec::new();
        while rows.next_row(&mut row).is_some() {
            out.push(row.iter().map(<[u8]>::to_vec).collect());
        }
        out
    }

    fn theirs(src: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(src);
        let mut rec = csv::ByteRecord::new();
        let mut out = Vec::new();
        while rdr.read_byte_record(&mut rec).unwrap() {
            out.push(rec.iter().map(<[u8]>::to_vec).collect());
        }
        out
    }

    #[test]
    fn reads_quotes_lines_and_blanks() {
        let src = b"a,\"b\"\"c\",d\r\n\r\n\"x\ny\",,\"\"\nlast";
        let rows = ours(src);
        assert_eq!(rows, theirs(src));
        assert_eq!(
            rows[0],
            vec![b"a".to_vec(), b"b\"c".to_vec(), b"d".to_vec()]
        );
        assert_eq!(rows[1], vec![b"x\ny".to_vec(), vec![], vec![]]);
        assert_eq!(rows[2], vec![b"last".to_vec()]);
    }

    #[test]
    fn spans_cover_the_row_and_its_line_ending() {
        let src = b"\n\na,b\r\nc\n";
        let mut rows = Rows::new(src);
        let mut row = Row::default();
        assert_eq!(rows.next_row(&mut row), Some(2..7));
        assert_eq!(rows.next_row(&mut row), Some(7..9));
        assert_eq!(rows.next_row(&mut row), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn same_rows_as_the_csv_crate(
            bytes in proptest::collection::vec(
                prop_oneof![
                    Just(b'"'), Just(b','), Just(b'\n'), Just(b'\r'), Just(b'a'), Just(b' '),
                ],
                0..200,
            )
        ) {
            prop_assert_eq!(ours(&bytes), theirs(&bytes));
        }

        /// Random bytes seldom make a quoted field longer than a few bytes;
        /// audit rows are one quoted field of a kilobyte or two with a
        /// doubled quote every few bytes. These are built that way: runs of
        /// text (commas and line breaks included) and doubled quotes, so
        /// that pairs fall on every place of the 16-byte lanes and across
        /// their ends, and the field ends anywhere (or never).
        #[test]
        fn long_quoted_fields_read_as_the_csv_crate_reads_them(
            fields in proptest::collection::vec(
                (
                    any::<bool>(),
                    proptest::collection::vec(
                        prop_oneof![
                            3 => "[a-z,\n\r é{}:]{0,40}",
                            1 => Just("\"\"".to_owned()),
                        ],
                        0..60,
                    ),
                ),
                1..4,
            ),
            tail in "[a\"]{0,3}",
        ) {
            let mut src = Vec::new();
            for (n, (quoted, parts)) in fields.iter().enumerate() {
                if n > 0 {
                    src.push(b',');
                }
                let text = parts.concat();
                if *quoted {
                    src.push(b'"');
                    src.extend_from_slice(text.as_bytes());
                    src.extend_from_slice(tail.as_bytes());
                } else {
                    src.extend(text.bytes().filter(|b| !b"\",\n\r".contains(b)));
                }
            }
            src.extend_from_slice(b"\nnext,row\n");
            prop_assert_eq!(ours(&src), theirs(&src));
        }
    }
}
