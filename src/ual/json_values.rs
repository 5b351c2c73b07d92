//! The JSON export shapes: NDJSON (one record per line, parsed in
//! parallel chunks) and everything else as a stream of JSON values
//! (arrays, several arrays glued together, `{"value": […]}` pages,
//! pretty-printed objects one after another), read whole. A file that is
//! one array streams instead (`json_array.rs`, which uses this module),
//! up to what it does not expect; the value stream reads on from there.

use serde_json::value::RawValue;

use super::json_scan;
use super::normalize::{self, Skip};
use super::parsed::Parsed;
use super::record::{RawKind, RawSpan, Source};

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// `b` as text: a byte that is not UTF-8 makes its record a broken row.
fn utf8(b: &[u8]) -> Result<&str, Skip> {
    std::str::from_utf8(b).map_err(|_| Skip::Json("not UTF-8 text".into()))
}

/// Where a JSON value's text is (its envelope is known once it parses).
fn source(file: u32, line: u64, offset: u64, len: usize) -> Source {
    Source {
        file,
        line: u32::try_from(line).unwrap_or(u32::MAX),
        raw: RawSpan {
            offset,
            len: u32::try_from(len).unwrap_or(u32::MAX),
            kind: RawKind::Json(super::record::JsonEnvelope::Bare),
        },
    }
}

/// Does the text start with one complete JSON object on its first line?
/// Then the file is NDJSON and can be split at newlines.
/// (A page of Graph records on one line is a value stream, whose broken
/// elements are recovered from: not NDJSON.)
pub fn looks_like_ndjson(head: &[u8]) -> bool {
    let first = match memchr::memchr(b'\n', head) {
        Some(n) => &head[..n],
        None => return false,
    };
    let t = first.trim_ascii();
    t.first() == Some(&b'{')
        && serde_json::from_slice::<&RawValue>(t).is_ok()
        && json_scan::page_array(t, 0).is_none()
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
            let offset = base_offset + (pos + lead) as u64;
            let src = source(file, line, offset, body.len());
            match utf8(body).and_then(|text| out.take_json(text, src)) {
                Ok(()) => {}
                // A Graph page on a line of its own: its records (a stray
                // byte in one costs that record only).
                Err(Skip::NotARecord | Skip::Json(_))
                    if let Some(at) = json_scan::page_array(body, 0) =>
                {
                    page_line(body, at, file, line, offset, out);
                }
                Err(e) => out.skip(line, e),
            }
        }
        pos = end + 1;
        line += 1;
    }
}

/// The records of a Graph page that fills one line of NDJSON, element
/// after element; after a broken one (reported with its number) the next
/// record is found again, as in any array.
fn page_line(b: &[u8], at: usize, file: u32, line: u64, offset: u64, out: &mut Parsed) {
    let (mut pos, mut element, mut like) = (at + 1, 0u64, None);
    let mut spans = Vec::new();
    loop {
        spans.clear();
        json_scan::elements(b, pos, usize::MAX, &mut spans);
        let mut broken = None;
        for (i, &(s, e)) in spans.iter().enumerate() {
            let number = Some(element + i as u64 + 1);
            if take_element(&b[s..e], file, line, number, offset + s as u64, out) == Took::Broken {
                broken = Some(i);
                break;
            }
            like = first_key(&b[s..e]).or(like);
        }
        let Some(k) = broken else { return };
        element += k as u64 + 1;
        let found = next_record(b, spans[k].0 + 1, b.len(), like, &mut |_, why| {
            element += 1;
            if let Some(why) = why {
                out.skip_at(line, Some(element), why);
            }
        });
        match found {
            Some(p) => pos = p,
            None => return,
        }
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
        if pos >= self.pos {
            self.line += bytecount::count(&self.buf[self.pos..pos], b'\n') as u64;
        } else {
            // Back over a batch scanned again after a broken element.
            self.line -= bytecount::count(&self.buf[pos..self.pos], b'\n') as u64;
        }
        self.pos = pos;
        self.line
    }
}

/// How an element went.
#[derive(PartialEq, Eq)]
pub(super) enum Took {
    /// A record, or a value skipped for what it is (no record, no time…).
    Done,
    /// Not JSON: the scan that found it may be out of step from here.
    Broken,
}

/// Takes one element of an array (or one line of NDJSON): an object is a
/// record; a page, or an array (pages glued with `jq -s`, a bracket typed
/// twice), holds records; anything else is no record.
pub(super) fn take_element(
    bytes: &[u8],
    file: u32,
    line: u64,
    element: Option<u64>,
    offset: u64,
    out: &mut Parsed,
) -> Took {
    // Checked here, element by element on the parsing threads: a stray
    // byte costs its own record only, and the scan that found the element
    // is not out of step (it reads only ASCII).
    let text = match utf8(bytes) {
        Ok(text) => text,
        Err(why) => {
            out.skip_at(line, element, why);
            return Took::Done;
        }
    };
    if !text.starts_with('{') {
        // If it is not even JSON (a bracket too many), the scan that cut it
        // out is out of step.
        let valid = !super::json_depth::too_deep(text.as_bytes())
            && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
        if !valid {
            out.skip_at(line, element, Skip::Json("not a JSON value".into()));
            return Took::Broken;
        }
        if text.starts_with('[') {
            take_inner(text, 1, file, line, element, offset, out);
            return Took::Done;
        }
        // A string or a number where records are: the scan is likely out
        // of step (a stray quote swaps what is string and what is not).
        out.skip_at(line, element, Skip::NotARecord);
        return Took::Broken;
    }
    let src = source(file, line, offset, text.len());
    match out.take_json(text, src) {
        Ok(()) => Took::Done,
        Err(Skip::Json(e)) => {
            out.skip_at(line, element, Skip::Json(e));
            Took::Broken
        }
        Err(Skip::NotARecord) if let Some(at) = json_scan::page_array(text.as_bytes(), 0) => {
            take_inner(text, at + 1, file, line, element, offset, out);
            Took::Done
        }
        Err(s) => {
            out.skip_at(line, element, s);
            // A whole record inside a value skipped for its content: the
            // element was cut short and swallowed the ones after it (the
            // scan is out of step); they are found again.
            match next_record(bytes, 1, bytes.len(), None, &mut |_, _| {}) {
                Some(_) => Took::Broken,
                None => Took::Done,
            }
        }
    }
}

/// The elements of an array inside an element (valid JSON, no deeper than
/// the limit: the recursion is bounded), from `inside` (after its `[`).
/// They are reported under the outer element's number and line.
fn take_inner(
    text: &str,
    inside: usize,
    file: u32,
    line: u64,
    element: Option<u64>,
    offset: u64,
    out: &mut Parsed,
) {
    let mut spans = Vec::new();
    json_scan::elements(text.as_bytes(), inside, usize::MAX, &mut spans);
    let (mut line, mut seen) = (line, 0);
    for (s, e) in spans {
        line += bytecount::count(&text.as_bytes()[seen..s], b'\n') as u64;
        seen = s;
        take_element(
            &text.as_bytes()[s..e],
            file,
            line,
            element,
            offset + s as u64,
            out,
        );
    }
}

/// Where a value stream starts: inside a top-level array whose first
/// elements were read already (streamed, up to a broken element or the
/// array's end).
pub struct Inside {
    /// Elements before this point.
    pub element: u64,
    /// The first key of the last element that parsed.
    pub like: Option<Box<[u8]>>,
}

/// Parses a whole buffer as a stream of JSON values: arrays (glued or
/// not), `{"value": […]}` pages, objects one after another. `buf[0]` is
/// at `base_offset` of the file, on line `line`, and `inside` an array
/// when given. Array elements are found by a scan and parsed on `threads`
/// threads; `sink` gets the results in file order.
#[allow(clippy::too_many_arguments)]
pub fn parse_value_stream(
    buf: &[u8],
    base_offset: u64,
    line: u64,
    inside: Option<Inside>,
    file: u32,
    threads: usize,
    ids: &ahash::RandomState,
    sink: &mut dyn FnMut(Parsed),
) {
    // Parsing runs on its own threads while the caller takes in what is
    // parsed (as the pipeline of line-based shapes does).
    let (tx, rx) = crossbeam_channel::bounded::<Parsed>(threads.max(1) * 4);
    std::thread::scope(|sc| {
        super::json_depth::parser_thread()
            .spawn_scoped(sc, move || {
                let mut send = |p: Parsed| {
                    let _ = tx.send(p);
                };
                let at = (base_offset, line);
                stream_values(buf, at, inside, file, threads, ids, &mut send);
            })
            .expect("a thread starts");
        for p in rx {
            sink(p);
        }
    });
}

fn stream_values(
    buf: &[u8],
    (base_offset, line): (u64, u64),
    inside: Option<Inside>,
    file: u32,
    threads: usize,
    ids: &ahash::RandomState,
    sink: &mut dyn FnMut(Parsed),
) {
    // UTF-8 is checked element by element as they are parsed (in
    // parallel, and a stray byte costs only its own record).
    let b = buf;
    let mut s = Stream {
        text: b,
        base_offset,
        file,
        threads: threads.max(1),
        ids,
        lines: Lines {
            buf: b,
            pos: 0,
            line,
        },
        sink,
    };
    let mut pos = match inside {
        Some(Inside { element, like }) => s.array(0, true, element, like.as_deref()),
        None => 0,
    };
    loop {
        while pos < b.len() && is_ws(b[pos]) {
            pos += 1;
        }
        if pos >= b.len() {
            break;
        }
        match b[pos] {
            b'[' => pos = s.array(pos + 1, true, 0, None),
            b'{' => pos = s.object(pos),
            // Between values, a `,` says an array goes on whose `]` came
            // early (or whose `[` is missing): its elements are read.
            b',' => {
                let mut out = Parsed::new();
                out.skip(
                    s.lines.at(pos),
                    Skip::Json(
                        "a ',' outside any array: the values after it are read as its elements"
                            .into(),
                    ),
                );
                s.emit(out);
                pos = s.array(pos + 1, true, 0, None);
            }
            _ => {
                let line = s.lines.at(pos);
                let mut out = Parsed::new();
                out.skip(line, Skip::Json("expected a JSON object or array".into()));
                s.emit(out);
                pos = resync(b, pos + 1, None);
            }
        }
    }
}

/// The state of a value stream being parsed.
struct Stream<'a, 'b> {
    text: &'a [u8],
    base_offset: u64,
    file: u32,
    threads: usize,
    ids: &'a ahash::RandomState,
    lines: Lines<'a>,
    sink: &'b mut dyn FnMut(Parsed),
}

/// Bytes of elements parsed per batch: big enough to keep every core
/// busy, small enough that a broken element wastes little.
const BATCH: usize = 4 << 20;

impl<'a> Stream<'a, '_> {
    fn emit(&mut self, mut p: Parsed) {
        if p.records.is_empty() && p.skipped.is_empty() && p.envelopes.is_empty() {
            return;
        }
        p.hash_ids(self.ids);
        (self.sink)(p);
    }

    /// A top-level object: a record, a page, or a broken value. Returns
    /// the position after it.
    fn object(&mut self, pos: usize) -> usize {
        let b = self.text;
        let line = self.lines.at(pos);
        let end = json_scan::value_end(b, pos);
        let text = &self.text[pos..end.unwrap_or(b.len())];
        let mut out = Parsed::new();
        out.bytes = text.len();
        let offset = self.base_offset + pos as u64;
        let src = source(self.file, line, offset, text.len());
        // A stray byte that is not UTF-8 leaves the scan in step.
        let valid = utf8(text);
        let in_step = valid.is_ok();
        match valid.and_then(|text| out.take_json(text, src)) {
            Ok(()) => {
                self.emit(out);
                end.unwrap_or(b.len())
            }
            Err(e) => {
                // A Graph page holds records in its "value" array, however
                // the page as a whole parses.
                if let Some(at) = json_scan::page_array(b, pos) {
                    let after = self.array(at + 1, false, 0, None);
                    return json_scan::object_rest(b, after).unwrap_or(after);
                }
                let why = match e {
                    Skip::Json(_) if end.is_none() => {
                        Skip::Json("the object is not closed: the file looks truncated".into())
                    }
                    e => e,
                };
                let broken = matches!(why, Skip::Json(_)) && in_step;
                out.skip(line, why);
                self.emit(out);
                match end {
                    Some(end) if !broken => end,
                    _ => {
                        // The next value at the start of a line, or a
                        // record after a `,` before it (one-line text).
                        let line_start = resync(b, pos + 1, None);
                        self.resync_element(pos + 1, line_start, None, None)
                            .unwrap_or(line_start)
                    }
                }
            }
        }
    }

    /// The elements of the array whose inside starts at `pos` (`top`: not
    /// inside a page), numbered after `element` (those before it were
    /// read already, the last that parsed opening with key `like`);
    /// returns the position after it. Elements are found a batch at a
    /// time, then parsed on every thread; a broken element is reported
    /// with its number, and the next record is found again, so that
    /// loading goes on.
    fn array<'k>(
        &mut self,
        mut pos: usize,
        top: bool,
        mut element: u64,
        mut like: Option<&'k [u8]>,
    ) -> usize
    where
        'a: 'k,
    {
        let b = self.text;
        let mut budget = BATCH;
        let mut spans = Vec::new();
        loop {
            spans.clear();
            let stop = json_scan::elements(b, pos, budget, &mut spans);
            let lines: Vec<u64> = spans.iter().map(|&(s, _)| self.lines.at(s)).collect();
            let (results, broken) = self.parse_batch(&spans, &lines, element);
            for r in results {
                self.emit(r);
            }
            let good = broken.unwrap_or(spans.len());
            if let Some(&(s, e)) = spans[..good].last() {
                like = first_key(&b[s..e]).or(like);
            }
            match broken {
                None => {
                    element += spans.len() as u64;
                    budget = (budget * 2).min(BATCH);
                    match stop {
                        json_scan::Stop::More(p) => pos = p,
                        json_scan::Stop::Closed(p) => {
                            // `],` is never JSON: a `]` too many closed the
                            // array early, and its elements go on.
                            let q = p + b[p..].iter().take_while(|c| is_ws(**c)).count();
                            if !top || b.get(q) != Some(&b',') {
                                return p;
                            }
                            let mut out = Parsed::new();
                            out.skip(
                                self.lines.at(p - 1),
                                Skip::Json(format!(
                                    "a ']' too many after element {element}: the elements after it are read"
                                )),
                            );
                            self.emit(out);
                            pos = q + 1;
                        }
                        json_scan::Stop::Unclosed => {
                            let mut out = Parsed::new();
                            out.skip(
                                self.lines.at(b.len()),
                                Skip::Json(
                                    "the array is not closed: the file looks truncated".into(),
                                ),
                            );
                            self.emit(out);
                            return b.len();
                        }
                    }
                }
                Some(k) => {
                    // The scan may be out of step after a broken element (a
                    // string left open): find the next record again, with
                    // little in each batch until loading runs clean.
                    element += k as u64 + 1;
                    budget = 64 << 10;
                    match self.resync_element(spans[k].0 + 1, b.len(), Some(&mut element), like) {
                        Some(p) => pos = p,
                        None => return b.len(),
                    }
                }
            }
        }
    }

    /// Parses the spans of a batch, split among the threads. Returns the
    /// results in order, and the index of the first broken span (the
    /// results stop after it: what follows it is scanned again).
    fn parse_batch(
        &self,
        spans: &[(usize, usize)],
        lines: &[u64],
        first: u64,
    ) -> (Vec<Parsed>, Option<usize>) {
        let (text, file, base) = (self.text, self.file, self.base_offset);
        let one = |range: std::ops::Range<usize>| -> (Parsed, Option<usize>) {
            let mut out = Parsed::with_capacity(range.len());
            for i in range {
                let (s, e) = spans[i];
                out.bytes += e - s;
                let took = take_element(
                    &text[s..e],
                    file,
                    lines[i],
                    Some(first + i as u64 + 1),
                    base + s as u64,
                    &mut out,
                );
                if took == Took::Broken {
                    return (out, Some(i));
                }
            }
            (out, None)
        };
        let n = spans.len();
        let threads = self.threads.min(n.div_ceil(64)).max(1);
        let parts: Vec<(Parsed, Option<usize>)> = if threads == 1 {
            vec![one(0..n)]
        } else {
            let per = n.div_ceil(threads);
            std::thread::scope(|sc| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let one = &one;
                        super::json_depth::parser_thread()
                            .spawn_scoped(sc, move || one(t * per..((t + 1) * per).min(n)))
                            .expect("a thread starts")
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("parsing does not panic"))
                    .collect()
            })
        };
        let mut out = Vec::new();
        for (p, broken) in parts {
            out.push(p);
            if broken.is_some() {
                return (out, broken);
            }
        }
        (out, None)
    }

    /// From inside a broken element: the start of the next record (see
    /// [`next_record`]); broken ones on the way are reported, numbered
    /// after `element` when inside an array.
    fn resync_element(
        &mut self,
        from: usize,
        until: usize,
        mut element: Option<&mut u64>,
        like: Option<&[u8]>,
    ) -> Option<usize> {
        let mut out = Parsed::new();
        let lines = &mut self.lines;
        let found = next_record(self.text, from, until, like, &mut |at, why| {
            let number = element.as_deref_mut().map(|n| {
                *n += 1;
                *n
            });
            if let Some(why) = why {
                out.skip_at(lines.at(at), number, why);
            }
        });
        self.emit(out);
        found
    }
}

/// From inside a broken element: the start of the next element of the
/// array worth loading, before `until`. Objects found on the way that
/// parse but are no record are passed over: the broken element's own
/// members, or elements of their own that are no record, which `found`
/// gets (to count, and report if it has a reason) once what follows them
/// shows which. One that does not parse but opens like a record is the
/// next element, broken too: `found` gets its place and reason, and the
/// search goes on after it.
fn next_record(
    text: &[u8],
    from: usize,
    until: usize,
    like: Option<&[u8]>,
    found: &mut dyn FnMut(usize, Option<Skip>),
) -> Option<usize> {
    let b = &text[..until];
    let mut at = from;
    // Values passed over, and where the element before them began.
    let mut passed = Vec::new();
    let mut floor = from;
    loop {
        let Some(c) = json_scan::next_object_after(b, at) else {
            // No record follows: the values up to the array's end (when it
            // is found in step) are elements all the same.
            let after = passed
                .last()
                .map_or(floor, |p: &(usize, usize)| p.1.max(floor));
            if let Some(close) = array_close(b, after) {
                elements_before(b, floor, close, &passed, found, false);
            }
            return None;
        };
        let end = json_scan::value_end(b, c).unwrap_or(b.len());
        let mut scratch = Parsed::new();
        let src = source(0, 0, 0, end - c);
        match utf8(&text[c..end]).and_then(|t| normalize::from_json(t, &mut scratch.pool, src)) {
            Err(Skip::NotARecord) => {
                passed.push((c, end));
                at = end;
            }
            Err(Skip::Json(e)) if opens_like_a_record(&b[c..end], like) => {
                elements_before(b, floor, c, &passed, found, true);
                passed.clear();
                found(c, Some(Skip::Json(e)));
                at = c + 1;
                floor = at;
            }
            Err(Skip::Json(_)) => at = c + 1,
            // A record, or one skipped for its content: an element.
            _ => {
                elements_before(b, floor, c, &passed, found, true);
                return Some(c);
            }
        }
    }
}

/// The values right before the element at `c` (after a `,`), or before
/// the array's `]` at `c` (`after_comma` false), that are elements of the
/// array too, not members of the broken element before them: a chain of
/// `value,` back from `c` (objects `passed` over, arrays or scalars) whose
/// first follows a `,`, as elements do (members follow the `[` of their
/// own array). Each goes to `found`, in order. Nothing before `floor`
/// (the broken element's start) is looked at.
fn elements_before(
    b: &[u8],
    floor: usize,
    c: usize,
    passed: &[(usize, usize)],
    found: &mut dyn FnMut(usize, Option<Skip>),
    after_comma: bool,
) {
    let before = |i: usize| {
        b[floor..i]
            .iter()
            .rposition(|c| !is_ws(*c))
            .map(|k| floor + k)
    };
    let mut chain = Vec::new();
    let mut next = c;
    let mut comma = after_comma;
    loop {
        let stop = if comma {
            match before(next).filter(|&i| b[i] == b',') {
                Some(i) => i,
                None => break,
            }
        } else {
            next
        };
        comma = true;
        let Some(end) = before(stop).map(|i| i + 1) else {
            break;
        };
        let start = match passed.binary_search_by_key(&end, |p| p.1) {
            Ok(k) => passed[k].0,
            Err(_) => match scalar_before(b, floor, end) {
                Some(s) => s,
                None => break,
            },
        };
        chain.push(start);
        next = start;
    }
    if chain
        .last()
        .is_some_and(|&first| before(first).is_some_and(|i| b[i] == b','))
    {
        for &s in chain.iter().rev() {
            // An array holds no record here (a record in it would have
            // been found): it counts, and is no problem when empty.
            let why = (b[s] != b'[').then_some(Skip::NotARecord);
            found(s, why);
        }
    }
}

/// From `from`, in step (between elements): where the array closes, its
/// `]`, when nothing but white space follows it (a `]` with more after it
/// may close a broken element's own member list); `None` if what comes
/// first is not a value.
fn array_close(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        while i < b.len() && (is_ws(b[i]) || b[i] == b',') {
            i += 1;
        }
        match *b.get(i)? {
            b']' => return b[i + 1..].iter().all(|c| is_ws(*c)).then_some(i),
            b'}' => return None,
            _ => i = json_scan::value_end(b, i)?.max(i + 1),
        }
    }
}

/// The start of a JSON array, number, string, `true`, `false` or `null`
/// that ends at `end`, wholly after `floor` (what touches it may be a
/// broken element's tail).
fn scalar_before(b: &[u8], floor: usize, end: usize) -> Option<usize> {
    let start = if b[end - 1] == b']' {
        // An array: the nearest `[` from which a value runs to `end` (a
        // few tried, nearest first: past them it is no element's).
        let mut tried = 0;
        (floor + 1..end - 1).rev().find(|&j| {
            if b[j] != b'[' || tried > 8 {
                return false;
            }
            tried += 1;
            json_scan::value_end(b, j) == Some(end)
        })?
    } else if b[end - 1] == b'"' {
        // The opening quote: one not escaped by the backslashes before it.
        (floor..end - 1).rev().find(|&j| {
            b[j] == b'"'
                && b[floor..j]
                    .iter()
                    .rev()
                    .take_while(|c| **c == b'\\')
                    .count()
                    % 2
                    == 0
        })?
    } else {
        let token = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'+' | b'-');
        end - b[floor..end].iter().rev().take_while(|c| token(c)).count()
    };
    let whole = start > floor
        && json_scan::value_end(b, start) == Some(end)
        && !super::json_depth::too_deep(&b[start..end])
        && serde_json::from_slice::<serde::de::IgnoredAny>(&b[start..end]).is_ok();
    whole.then_some(start)
}

/// Does a value that does not parse begin like an audit record (rather
/// than like one of a record's own members)? By its first key: the first
/// key of the array's last good element (one export writes its records'
/// keys in one order), or one that begins records in the export shapes (a
/// member's is `DisplayName`, `UPN`, `OrganizationId`…).
fn opens_like_a_record(text: &[u8], like: Option<&[u8]>) -> bool {
    const KEYS: [&[u8]; 14] = [
        b"CreationTime",
        b"CreationDate",
        b"Id",
        b"id",
        b"Identity",
        b"AuditData",
        b"auditData",
        b"Operation",
        b"Operations",
        b"RecordType",
        b"RunspaceId",
        b"PSComputerName",
        b"@odata.type",
        b"properties",
    ];
    first_key(text).is_some_and(|key| KEYS.contains(&key) || like == Some(key))
}

/// The first key of an object's text.
pub(super) fn first_key(text: &[u8]) -> Option<&[u8]> {
    let rest = text.get(1..)?;
    let q = rest.iter().position(|c| !c.is_ascii_whitespace())?;
    let k = rest[q..].strip_prefix(b"\"")?;
    k.iter().position(|c| *c == b'"').map(|e| &k[..e])
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
}
