//! Finding JSON values without parsing them: the elements of an array
//! and the members of an object, by tracking strings and nesting only.
//!
//! This is what lets a one-line array of fifty megabytes load in linear
//! time and in parallel (its elements are found once, then parsed on every
//! core), and what lets loading go on after a broken element: the element
//! is a span of its own, and the next one is found again.

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Where a value ends, or `None` when the text ends first. `start` is on
/// the value's first byte. Iterative: nesting costs no stack.
pub fn value_end(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    match *b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            while i < b.len() {
                match b[i] {
                    b'"' => {
                        i = string_end(b, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => {
            // A number, true, false or null (or garbage): up to what ends it.
            while i < b.len() && !matches!(b[i], b',' | b']' | b'}') && !is_ws(b[i]) {
                i += 1;
            }
            Some(i)
        }
    }
}

/// The end of the string whose opening quote is at `start`.
fn string_end(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        let n = memchr::memchr2(b'"', b'\\', b.get(i..)?)?;
        if b[i + n] == b'\\' {
            i += n + 2;
        } else {
            return Some(i + n + 1);
        }
    }
}

/// The elements found from the inside of an array, and where scanning
/// stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// Enough was found; go on from here (inside the array).
    More(usize),
    /// The array closed; the position after its `]`.
    Closed(usize),
    /// The text ended inside the array.
    Unclosed,
}

/// Element spans of an array, from `pos` (inside it: after `[` or after an
/// element), until about `budget` bytes of elements are found. A value
/// cut off by the end of the text is its own span, for the parser to
/// report.
pub fn elements(b: &[u8], mut pos: usize, budget: usize, out: &mut Vec<(usize, usize)>) -> Stop {
    let mut found = 0;
    loop {
        while pos < b.len() && (is_ws(b[pos]) || b[pos] == b',') {
            pos += 1;
        }
        let Some(&c) = b.get(pos) else {
            return Stop::Unclosed;
        };
        if c == b']' {
            return Stop::Closed(pos + 1);
        }
        match value_end(b, pos) {
            Some(end) if end > pos => {
                out.push((pos, end));
                found += end - pos;
                pos = end;
            }
            // A stray `}`: one byte, reported by whoever parses it.
            Some(_) => {
                out.push((pos, pos + 1));
                pos += 1;
            }
            None => {
                out.push((pos, b.len()));
                return Stop::Unclosed;
            }
        }
        if found >= budget {
            return Stop::More(pos);
        }
    }
}

/// Where the array value of the top-level member `"value"` of the object
/// at `start` begins (its `[`): a Graph page, `{"@odata.context": …,
/// "value": […]}`.
pub fn page_array(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        while i < b.len() && (is_ws(b[i]) || b[i] == b',') {
            i += 1;
        }
        if *b.get(i)? != b'"' {
            return None;
        }
        let key_end = string_end(b, i)?;
        let key = &b[i + 1..key_end - 1];
        i = key_end;
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        if *b.get(i)? != b':' {
            return None;
        }
        i += 1;
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        if key == b"value" {
            return (*b.get(i)? == b'[').then_some(i);
        }
        i = value_end(b, i)?;
    }
}

/// From inside an object, after one of its members: the position after
/// its closing `}`, stepping over the members left (a Graph page has
/// `@odata.nextLink` after `value` at times).
pub fn object_rest(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        while i < b.len() && (is_ws(b[i]) || b[i] == b',') {
            i += 1;
        }
        match *b.get(i)? {
            b'}' => return Some(i + 1),
            b'"' => {
                i = string_end(b, i)?;
                while i < b.len() && is_ws(b[i]) {
                    i += 1;
                }
                if *b.get(i)? != b':' {
                    return None;
                }
                i += 1;
                while i < b.len() && is_ws(b[i]) {
                    i += 1;
                }
                i = value_end(b, i)?;
            }
            _ => return None,
        }
    }
}

/// After a broken element that starts at `from`: the start of the next
/// element that is worth trying, an object opened right after a `,` or a
/// `[` (an unescaped `{"` never occurs inside a JSON string, so this finds
/// structure even when the broken element left a string open).
pub fn next_object_after(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(n) = memchr::memchr(b'{', b.get(i..)?) {
        let at = i + n;
        let before = b[..at].iter().rev().find(|c| !is_ws(**c));
        let after = b[at + 1..].iter().find(|c| !is_ws(**c));
        if matches!(before, Some(b',' | b'[')) && after == Some(&b'"') {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_of_one_line_and_pretty_arrays() {
        let b = br#"[{"a":"x,]}"},{"b":[1,{"c":"\"]"}]} , 7,"s"]tail"#;
        let mut spans = Vec::new();
        let stop = elements(b, 1, usize::MAX, &mut spans);
        let texts: Vec<&[u8]> = spans.iter().map(|&(s, e)| &b[s..e]).collect();
        assert_eq!(
            texts,
            [
                &br#"{"a":"x,]}"}"#[..],
                br#"{"b":[1,{"c":"\"]"}]}"#,
                b"7",
                br#""s""#
            ]
        );
        assert_eq!(stop, Stop::Closed(b.len() - 4));
        let mut spans = Vec::new();
        assert_eq!(elements(b, 1, 1, &mut spans), Stop::More(13));
        assert_eq!(spans.len(), 1);
    }

    #[test]
    fn deep_nesting_costs_no_stack() {
        let deep = format!("[{}{}]", "[".repeat(100_000), "]".repeat(100_000));
        let mut spans = Vec::new();
        assert_eq!(
            elements(deep.as_bytes(), 1, usize::MAX, &mut spans),
            Stop::Closed(deep.len())
        );
        assert_eq!(spans, [(1, deep.len() - 1)]);
    }

    #[test]
    fn a_cut_off_array_ends_in_its_last_span() {
        let b = br#"[{"a":1},{"b":"#;
        let mut spans = Vec::new();
        assert_eq!(elements(b, 1, usize::MAX, &mut spans), Stop::Unclosed);
        assert_eq!(spans, [(1, 8), (9, b.len())]);
    }

    #[test]
    fn graph_pages_and_resync_points() {
        let p = br#"{"@odata.context":"x","@odata.nextLink":"y{[","value":[{"a":1}]}"#;
        assert_eq!(page_array(p, 0), Some(54));
        assert_eq!(page_array(br#"{"Id":"1","Operation":"x"}"#, 0), None);
        let after = br#"{"value":[],"@odata.nextLink":"}"} x"#;
        assert_eq!(object_rest(after, 11), Some(after.len() - 2));
        let b = br#"[{"a":"br"oken","m":[{"u":1}]},{"Id":2}]"#;
        let first = next_object_after(b, 2).unwrap();
        assert_eq!(&b[first..first + 5], br#"{"u":"#);
        let second = next_object_after(b, first + 1).unwrap();
        assert_eq!(&b[second..second + 5], br#"{"Id""#);
    }
}
