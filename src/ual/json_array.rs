//! A top-level JSON array (`ConvertTo-Json`, a Management Activity API
//! content blob, Graph records saved as one array), streamed through the
//! pipeline like the line-based shapes: read a block at a time, cut
//! between elements, parsed on every core.
//!
//! The cut scans strings and nesting only, from a place it knows (inside
//! the array, between elements), so it needs no line breaks: fifty
//! megabytes on one line stream as well as one record per line. What this
//! fast path does not expect (the array's end, a scalar or a stray bracket
//! at its level, a broken element after which the scan may be out of step)
//! hands the rest of the file to the whole-text parser of JSON values,
//! which resynchronises and reports, numbering elements on from here.

use std::ops::ControlFlow;

use super::dataset::Dataset;
use super::json_scan;
use super::json_values::{Inside, Took, first_key, take_element};
use super::parsed::{ArrayPiece, Parsed};
use super::pipeline::{Piece, Split};

/// Where to cut text that starts inside the array between two elements:
/// after its last whole object or array element, or the first one that
/// ends past `want` bytes; the elements go to `spans`. Anything else at
/// the array's level stops the streaming there.
pub fn split(b: &[u8], want: usize, spans: &mut Vec<(usize, usize)>) -> Split {
    let mut i = 0;
    let mut last = 0;
    while last < want {
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n' | b',') {
            i += 1;
        }
        let Some(&c) = b.get(i) else { break };
        if !matches!(c, b'{' | b'[') {
            return Split::Stop(i);
        }
        match json_scan::value_end(b, i) {
            Some(end) => {
                spans.push((i, end));
                i = end;
                last = end;
            }
            None => break,
        }
    }
    if last == 0 {
        Split::Need
    } else {
        Split::At(last)
    }
}

/// Parses a piece cut by [`split`], whose elements the cut found: they are
/// numbered from 1 within it. At a broken element it stops, reporting
/// nothing of that element: the rest of the file is read again from it.
pub fn parse_piece(piece: &Piece, file: u32, out: &mut Parsed) {
    let (b, offset, spans) = (&piece.bytes[..], piece.offset, &piece.spans);
    let mut info = ArrayPiece::default();
    let (mut line, mut seen) = (piece.line, 0);
    let mut last_taken = None;
    for (i, &(s, e)) in spans.iter().enumerate() {
        line += bytecount::count(&b[seen..s], b'\n') as u64;
        seen = s;
        let reported = out.skipped.len();
        let number = Some(i as u64 + 1);
        if take_element(&b[s..e], file, line, number, offset + s as u64, out) == Took::Broken {
            out.skipped.truncate(reported);
            info.broken = Some((offset + s as u64, line));
            break;
        }
        info.elements += 1;
        last_taken = Some((s, e));
    }
    info.last_key = last_taken.and_then(|(s, e)| first_key(&b[s..e]).map(Box::from));
    out.array = Some(info);
}

/// Takes the parsed pieces in file order into the dataset, numbering their
/// elements in the file; stops at the first piece with a broken element.
#[derive(Default)]
pub struct Order {
    elements: u64,
    like: Option<Box<[u8]>>,
    /// Where the first broken element is (offset, line).
    pub broken: Option<(u64, u64)>,
}

impl Order {
    pub fn take(&mut self, ds: &mut Dataset, file: u32, mut p: Parsed) -> ControlFlow<()> {
        let info = p.array.take().unwrap_or_default();
        for (_, element, _) in &mut p.skipped {
            if let Some(n) = element {
                *n += self.elements;
            }
        }
        self.elements += info.elements;
        self.like = info.last_key.or(self.like.take());
        ds.absorb(file, p);
        match info.broken {
            Some(at) => {
                self.broken = Some(at);
                ControlFlow::Break(())
            }
            None => ControlFlow::Continue(()),
        }
    }

    /// Where the whole-text parser takes over.
    pub fn inside(self) -> Inside {
        Inside {
            element: self.elements,
            like: self.like,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_after_the_last_whole_element() {
        let b = br#" {"a":"},{"}, [1,{"b":2}] ,{"c":"#;
        let mut spans = Vec::new();
        assert_eq!(split(b, 100, &mut spans), Split::At(25));
        assert_eq!(&b[..25], br#" {"a":"},{"}, [1,{"b":2}]"#);
        assert_eq!(spans, [(1, 12), (14, 25)]);
        assert_eq!(split(b, 12, &mut Vec::new()), Split::At(12));
        assert_eq!(split(b, 13, &mut Vec::new()), Split::At(25));
        assert_eq!(split(br#",{"c":"#, 100, &mut Vec::new()), Split::Need);
        assert_eq!(split(b"", 100, &mut Vec::new()), Split::Need);
    }

    #[test]
    fn stops_at_what_it_does_not_stream() {
        assert_eq!(
            split(br#"{"a":1},{"b":2}]"#, 100, &mut Vec::new()),
            Split::Stop(15)
        );
        assert_eq!(
            split(br#"{"a":1}, 7, {"b":2}"#, 100, &mut Vec::new()),
            Split::Stop(9)
        );
        assert_eq!(
            split(br#"{"a":1}}{"b":2}"#, 100, &mut Vec::new()),
            Split::Stop(7)
        );
        assert_eq!(split(b"\n]\n", 100, &mut Vec::new()), Split::Stop(1));
    }

    #[test]
    fn a_broken_element_is_left_for_the_whole_text_parser() {
        let b = br#"{"Id":"1","x":nope},{"Id":"2"}"#;
        let mut spans = Vec::new();
        split(b, 100, &mut spans);
        let piece = Piece {
            seq: 0,
            offset: 100,
            line: 7,
            bytes: b.to_vec(),
            spans,
        };
        let mut out = Parsed::new();
        parse_piece(&piece, 0, &mut out);
        let info = out.array.unwrap();
        assert_eq!(info.elements, 0);
        assert_eq!(info.broken, Some((100, 7)));
        assert!(out.skipped.is_empty());
    }
}
