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
        b'{' | b'[' => container_end(b, start),
        _ => {
            // A number, true, false or null (or garbage): up to what ends it.
            while i < b.len() && !matches!(b[i], b',' | b']' | b'}') && !is_ws(b[i]) {
                i += 1;
            }
            Some(i)
        }
    }
}

/// Where the object or array opened at `start` ends. Sixty-four bytes at a
/// time: bit masks of quotes, backslashes and brackets say which bytes are
/// inside strings (the way simdjson finds them), so that only the brackets
/// outside strings are looked at one by one. Text that is not JSON (a
/// backslash outside any string) is read byte by byte, by the same rules:
/// the result is always that of [`Scan::bytes`].
fn container_end(b: &[u8], start: usize) -> Option<usize> {
    let mut scan = Scan::default();
    let mut p = start;
    let mut tail = [0u8; 64];
    while p < b.len() {
        let real = (b.len() - p).min(64);
        let block: &[u8; 64] = match b[p..].first_chunk() {
            Some(block) => block,
            None => {
                // Padding with NUL adds nothing that is looked at.
                tail[..real].copy_from_slice(&b[p..]);
                tail[real..].fill(0);
                &tail
            }
        };
        if let Some(end) = scan.block(block, real) {
            return Some(p + end);
        }
        p += 64;
    }
    None
}

/// Where a scan stands between two blocks.
#[derive(Default)]
struct Scan {
    depth: usize,
    /// All ones when the block starts inside a string.
    in_string: u64,
    /// 1 when the block's first byte is escaped by a backslash before it.
    escaped: u64,
}

impl Scan {
    /// Scans a block of which the first `real` bytes are text; returns
    /// where the container closes, within it.
    fn block(&mut self, block: &[u8; 64], real: usize) -> Option<usize> {
        let [quote, backslash, open, close] = masks(block);
        let mut carry = self.escaped;
        let escaped = if backslash == 0 && carry == 0 {
            0
        } else {
            escaped(backslash, &mut carry)
        };
        // Inside a string: from an opening quote up to its closing one.
        let in_string = prefix_xor(quote & !escaped) ^ self.in_string;
        if backslash & !in_string != 0 {
            // A backslash outside strings is no JSON, and the masks assume
            // JSON: byte by byte instead.
            return self.bytes(&block[..real]);
        }
        self.escaped = carry;
        self.in_string = ((in_string as i64) >> 63) as u64;
        let mut brackets = (open | close) & !in_string;
        while brackets != 0 {
            let i = brackets.trailing_zeros() as usize;
            if open >> i & 1 == 1 {
                self.depth += 1;
            } else {
                self.depth -= 1;
                if self.depth == 0 {
                    return Some(i + 1);
                }
            }
            brackets &= brackets - 1;
        }
        None
    }

    /// The same scan, one byte at a time: a backslash in a string escapes
    /// the byte after it; outside strings only quotes and brackets count.
    fn bytes(&mut self, text: &[u8]) -> Option<usize> {
        let mut skip = self.escaped == 1;
        let mut in_string = self.in_string != 0;
        let mut found = None;
        for (i, &c) in text.iter().enumerate() {
            if skip {
                skip = false;
            } else if in_string {
                match c {
                    b'"' => in_string = false,
                    b'\\' => skip = true,
                    _ => {}
                }
            } else {
                match c {
                    b'"' => in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            found = Some(i + 1);
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
        self.escaped = u64::from(skip);
        self.in_string = if in_string { !0 } else { 0 };
        found
    }
}

/// Bit `i` set where byte `i` of the block is a quote, a backslash, an
/// opening bracket (`{` or `[`) or a closing one.
fn masks(block: &[u8; 64]) -> [u64; 4] {
    use wide::u8x16;
    let (quote, backslash) = (u8x16::splat(b'"'), u8x16::splat(b'\\'));
    // `[` and `]` differ from `{` and `}` by the 0x20 bit only.
    let (open, close, fold) = (u8x16::splat(b'{'), u8x16::splat(b'}'), u8x16::splat(0x20));
    let mut m = [0u64; 4];
    for (k, lane) in block.chunks_exact(16).enumerate() {
        let v = u8x16::new(lane.try_into().expect("16 bytes"));
        let folded = v | fold;
        let bits = |x: u8x16| u64::from(x.move_mask() as u16) << (16 * k);
        m[0] |= bits(v.cmp_eq(quote));
        m[1] |= bits(v.cmp_eq(backslash));
        m[2] |= bits(folded.cmp_eq(open));
        m[3] |= bits(folded.cmp_eq(close));
    }
    m
}

/// Bit `i` of the result is the parity of bits `0..=i` of `x`.
fn prefix_xor(mut x: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        x ^= x << shift;
    }
    x
}

/// The bytes escaped by the backslashes `backslash` (an odd run of them
/// escapes the byte after it); `carry` says whether the block's first byte
/// is escaped, and becomes whether the next block's is.
fn escaped(backslash: u64, carry: &mut u64) -> u64 {
    const EVEN: u64 = 0x5555_5555_5555_5555;
    let backslash = backslash & !*carry;
    let follows = backslash << 1 | *carry;
    let odd_starts = backslash & !EVEN & !follows;
    let (even_runs, overflow) = odd_starts.overflowing_add(backslash);
    *carry = u64::from(overflow);
    (EVEN ^ (even_runs << 1)) & follows
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
    use proptest::prelude::*;

    /// The scan as first written, byte by byte with a search over strings:
    /// what the block scan must agree with on any text.
    fn reference_end(b: &[u8], start: usize) -> Option<usize> {
        let mut i = start;
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

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

        /// Quotes, backslashes (in runs across block edges) and brackets,
        /// inside and outside strings, JSON or not.
        #[test]
        fn the_block_scan_ends_where_the_byte_scan_does(
            lead in 0usize..70,
            body in prop::collection::vec(
                prop::sample::select(b"\"\\\\\\{}[]a ,:".to_vec()), 0..600),
            open in prop::sample::select(b"{[".to_vec()),
        ) {
            let mut text = vec![b' '; lead];
            text.push(open);
            text.extend_from_slice(&body);
            prop_assert_eq!(container_end(&text, lead), reference_end(&text, lead));
        }

        /// Records as exports write them, escaped JSON in strings included.
        #[test]
        fn the_block_scan_finds_the_end_of_real_json(
            keys in prop::collection::vec("[a-zA-Z\"\\\\{}\\[\\] ]{0,40}", 1..30),
            tail in "[\\]\\[{}\" a-z]{0,80}",
        ) {
            let mut v = serde_json::Map::new();
            for (i, k) in keys.iter().enumerate() {
                let inner = serde_json::json!({ "k": k, "n": [i, { "s": k }] });
                v.insert(k.clone(), serde_json::Value::String(inner.to_string()));
                v.insert(format!("{k}{i}"), inner);
            }
            let json = serde_json::Value::Object(v).to_string();
            let text = format!("{json}{tail}");
            prop_assert_eq!(container_end(text.as_bytes(), 0), Some(json.len()));
            prop_assert_eq!(reference_end(text.as_bytes(), 0), Some(json.len()));
        }
    }

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
