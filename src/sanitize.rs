//! Making untrusted text safe for a terminal.
//!
//! Anything that came from an export or a server may carry escape
//! sequences (which a terminal would obey), bidirectional overrides (which
//! reorder what is shown, as U+202E does), , or invisible characters that
//! make two different names look the same (a zero-width space, a no-break
//! space). Such characters are shown as visible escapes, `\u{200b}`, and
//! never sent raw.

use std::borrow::Cow;
use std::fmt::Write;

/// Is this character shown as an escape rather than as itself?
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'   // C0, DEL, C1 controls
        | '\u{a0}'                                  // no-break space
        | '\u{ad}'                                  // soft hyphen
        | '\u{34f}'                                 // combining grapheme joiner
        | '\u{61c}'                                 // Arabic letter mark
        | '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}' // Hangul fillers
        | '\u{17b4}' | '\u{17b5}'
        | '\u{180e}'                                // Mongolian vowel separator
        | '\u{2000}'..='\u{200f}'                   // odd spaces, zero-width, LRM/RLM
        | '\u{2028}'..='\u{202f}'                   // separators, bidi embeddings/overrides
        | '\u{205f}'..='\u{206f}'                   // word joiner, invisible ops, bidi isolates
        | '\u{3000}'                                // ideographic space
        | '\u{feff}'                                // zero-width no-break space / BOM
        | '\u{fff9}'..='\u{fffb}'                   // interlinear annotations
        | '\u{e0000}'..='\u{e007f}'                 // tag characters
    )
}

/// `s` with every unsafe character replaced by a visible escape.
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) || !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_unsafe(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// Text safe as a CSV cell that someone opens in a spreadsheet: a value
/// a spreadsheet would run as a formula (it starts with `=`, `+`, `-`,
/// `@`, a tab or a carriage return) gets a leading apostrophe. Chat names
/// and error texts come from outsiders; a ticket's attachment must not
/// run their formulas.
pub fn spreadsheet_cell(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

/// A CSV cell: unsafe characters as visible escapes (a CSV file is read
/// in terminals too: `cat`, `head`, `less -R`), and a leading apostrophe
/// on what a spreadsheet would run as a formula.
pub fn csv_cell(s: &str) -> String {
    spreadsheet_cell(&for_terminal(s)).into_owned()
}

/// A JSON formatter that also writes C1 controls, DEL, bidi controls and
/// invisible characters (everything [`is_unsafe`] names) as `\uXXXX`:
/// the JSON means the same, loses nothing, and a terminal that shows it
/// cannot be steered by it. (serde_json already escapes C0 controls.)
#[derive(Default)]
pub struct SafeJson;

fn write_safe_fragment<W: ?Sized + std::io::Write>(
    w: &mut W,
    fragment: &str,
) -> std::io::Result<()> {
    let mut start = 0;
    for (i, c) in fragment.char_indices() {
        if is_unsafe(c) {
            w.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                write!(w, "\\u{:04x}", u)?;
            }
            start = i + c.len_utf8();
        }
    }
    w.write_all(&fragment.as_bytes()[start..])
}

impl serde_json::ser::Formatter for SafeJson {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        write_safe_fragment(w, fragment)
    }
}

/// [`SafeJson`], indented like `serde_json::to_writer_pretty`.
#[derive(Default)]
pub struct SafeJsonPretty<'a>(serde_json::ser::PrettyFormatter<'a>);

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {
        $(fn $name<W: ?Sized + std::io::Write>(&mut self, w: &mut W $(, $arg: $ty)*) -> std::io::Result<()> {
            self.0.$name(w $(, $arg)*)
        })*
    };
}

impl serde_json::ser::Formatter for SafeJsonPretty<'_> {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        write_safe_fragment(w, fragment)
    }
    delegate!(
        begin_array(),
        end_array(),
        begin_array_value(first: bool),
        end_array_value(),
        begin_object(),
        end_object(),
        begin_object_key(first: bool),
        begin_object_value(),
        end_object_value(),
    );
}

/// `v` as one line of safe JSON (no newline).
pub fn json_line<T: serde::Serialize + ?Sized>(v: &T) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, SafeJson);
    v.serialize(&mut ser).expect("a value of ours serialises");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// `v` as indented safe JSON (no trailing newline).
pub fn json_pretty<T: serde::Serialize + ?Sized>(v: &T) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, SafeJsonPretty::default());
    v.serialize(&mut ser).expect("a value of ours serialises");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// `s` with every unsafe character but the line feed as a visible
/// escape: for text read line by line (stderr, the log). A message of ours
/// may span lines; what an outsider wrote cannot steer the terminal.
pub fn for_text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(s);
    }
    let lines: Vec<Cow<'_, str>> = s.split('\n').map(for_terminal).collect();
    Cow::Owned(lines.join("\n"))
}

/// Writes a line made safe with [`for_text`]. A closed stream is no
/// failure (`| head`): the line is dropped, the process goes on.
pub fn write_line(mut w: impl std::io::Write, args: std::fmt::Arguments<'_>) {
    let text = match args.as_str() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(args.to_string()),
    };
    let mut line = for_text(&text).into_owned();
    line.push('\n');
    let _ = w.write_all(line.as_bytes());
}

/// Like `eprintln!`, with the text made safe for the terminal
/// ([`for_text`]), and no panic when stderr is closed.
#[macro_export]
macro_rules! safe_eprintln {
    ($($arg:tt)*) => {
        $crate::sanitize::write_line(std::io::stderr().lock(), format_args!($($arg)*))
    };
}

/// Like `println!`, with the text made safe for the terminal
/// ([`for_text`]), and no panic when stdout is closed.
#[macro_export]
macro_rules! safe_println {
    ($($arg:tt)*) => {
        $crate::sanitize::write_line(std::io::stdout().lock(), format_args!($($arg)*))
    };
}

/// A writer that passes text on made safe with [`for_text`]: the log
/// file's, whose lines quote file names, server errors and chat names.
pub struct SafeWriter<W>(pub W);

impl<W: std::io::Write> std::io::Write for SafeWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // A log event arrives whole; should a character be split between
        // two writes, each half is shown as U+FFFD rather than raw.
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(for_text(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(for_terminal("Alice Müller 李"), Cow::Borrowed(_)));
    }

    #[test]
    fn hostile_text_is_escaped() {
        assert_eq!(for_terminal("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(for_terminal("evil\u{202e}gpj.exe"), "evil\\u{202e}gpj.exe");
        assert_eq!(for_terminal("Bob\u{a0}Smith"), "Bob\\u{a0}Smith");
        assert_eq!(for_terminal("zero\u{200b}width"), "zero\\u{200b}width");
        assert_eq!(for_terminal("c1\u{9b}31m"), "c1\\u{9b}31m");
        assert_eq!(for_terminal("two\nlines\t"), "two\\nlines\\t");
        assert_eq!(for_terminal("\u{2066}iso\u{2069}"), "\\u{2066}iso\\u{2069}");
    }

    /// The characters that must never reach a terminal raw, listed here
    /// from the standards rather than taken from `is_unsafe`: C0 controls,
    /// DEL, C1 controls, bidi controls and invisible characters.
    fn must_not_pass(c: char) -> bool {
        let n = c as u32;
        n < 0x20
            || (0x7f..=0x9f).contains(&n)
            || matches!(
                n,
                0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x2069 | 0xfeff
            )
    }

    #[test]
    fn nothing_that_must_not_pass_survives_any_path() {
        for c in (0u32..0x110000).filter_map(char::from_u32) {
            let s = format!("a{c}b");
            let shown = for_terminal(&s);
            assert!(!shown.chars().any(must_not_pass), "{c:?} on screen");
            let csv = csv_cell(&s);
            assert!(!csv.chars().any(must_not_pass), "{c:?} in CSV");
            let text = for_text(&s);
            assert!(
                !text.chars().any(|x| x != '\n' && must_not_pass(x)),
                "{c:?} in text"
            );
            let json = json_line(&s);
            assert!(!json.chars().any(must_not_pass), "{c:?} in JSON");
            // JSON loses nothing.
            assert_eq!(serde_json::from_str::<String>(&json).unwrap(), s, "{c:?}");
            // What is plainly printable is shown as itself.
            if c.is_ascii_graphic() || c == ' ' || "éüßØΩжд李田太郎🚀×".contains(c) {
                assert_eq!(shown, s, "{c:?} is shown as itself");
            }
        }
    }

    #[test]
    fn text_keeps_its_line_breaks_only() {
        assert_eq!(
            for_text("line one\n  What it means: \u{1b}]0;x\u{7}\r"),
            "line one\n  What it means: \\u{1b}]0;x\\u{7}\\r"
        );
    }

    #[test]
    fn spreadsheet_formulas_are_defused() {
        assert_eq!(spreadsheet_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_cell("+1"), "'+1");
        assert_eq!(spreadsheet_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_cell("Fabrikam deal"), "Fabrikam deal");
        assert_eq!(spreadsheet_cell(""), "");
    }
}
