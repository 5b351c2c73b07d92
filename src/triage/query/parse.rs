//! Text → [`Query`]. Never panics; a half-typed or wrong query gives a
//! [`QueryError`] with the position (in characters) and a short reason,
//! so that a filter bar can point at it and keep the last good result.

use chrono::{NaiveDate, NaiveDateTime};

use super::ast::{
    Cmp, FIELDS, FlagField, Initiated, Instant, Pattern, Query, Term, TextField, looks_like_field,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at {at}: {reason}")]
pub struct QueryError {
    /// Position in characters from the start of the query.
    pub at: usize,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Neg,
    Or,
    And,
    /// A bare word, phrase or regex.
    Value(Pattern),
    /// `name:value`.
    Field(String, Pattern),
}

struct Lexer<'a> {
    src: &'a str,
    /// Byte position.
    pos: usize,
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && c != '(' && c != ')'
}

impl<'a> Lexer<'a> {
    fn at(&self, byte: usize) -> usize {
        self.src[..byte].chars().count()
    }

    fn err(&self, byte: usize, reason: impl Into<String>) -> QueryError {
        QueryError {
            at: self.at(byte),
            reason: reason.into(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    /// The next token and its byte position.
    fn next(&mut self) -> Result<Option<(usize, Tok)>, QueryError> {
        let rest = &self.src[self.pos..];
        let skipped = rest.len() - rest.trim_start().len();
        self.pos += skipped;
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Ok(None);
        };
        let tok = match c {
            '(' => {
                self.pos += 1;
                Tok::Open
            }
            ')' => {
                self.pos += 1;
                Tok::Close
            }
            '-' => {
                self.pos += 1;
                match self.peek() {
                    Some(c) if !c.is_whitespace() && c != ')' => Tok::Neg,
                    _ => return Err(self.err(start, "`-` needs a term right after it")),
                }
            }
            '"' | '/' => Tok::Value(self.pattern()?),
            _ => {
                let word_end = self.src[start..]
                    .find(|c: char| !is_word_char(c))
                    .map_or(self.src.len(), |n| start + n);
                let word = &self.src[start..word_end];
                match word.split_once(':') {
                    Some((name, _)) if looks_like_field(name) => {
                        let lower = name.to_ascii_lowercase();
                        if !FIELDS.iter().any(|(f, _)| *f == lower) {
                            return Err(self.err(
                                start,
                                format!(
                                    "unknown field `{name}:` (fields: {}); put text with a colon in quotes",
                                    FIELDS.iter().map(|(f, _)| *f).collect::<Vec<_>>().join(", ")
                                ),
                            ));
                        }
                        self.pos = start + name.len() + 1;
                        match self.peek() {
                            Some(c) if is_word_char(c) => {}
                            _ => {
                                return Err(self.err(start, format!("`{lower}:` needs a value")));
                            }
                        }
                        Tok::Field(lower, self.pattern()?)
                    }
                    _ => {
                        self.pos = word_end;
                        match word {
                            "OR" => Tok::Or,
                            "AND" => Tok::And,
                            _ => Tok::Value(Pattern::Text(word.to_owned())),
                        }
                    }
                }
            }
        };
        Ok(Some((start, tok)))
    }

    /// A phrase, a regex or a word, at the current position.
    fn pattern(&mut self) -> Result<Pattern, QueryError> {
        let start = self.pos;
        let mut chars = self.src[start..].char_indices();
        match chars.next() {
            Some((_, '"')) => {
                let mut text = String::new();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '"' => {
                            self.pos = start + i + 1;
                            return Ok(Pattern::Text(text));
                        }
                        '\\' => match chars.next() {
                            Some((_, e @ ('"' | '\\'))) => text.push(e),
                            Some((_, e)) => {
                                text.push('\\');
                                text.push(e);
                            }
                            None => break,
                        },
                        c => text.push(c),
                    }
                }
                Err(self.err(start, "unclosed quote"))
            }
            Some((_, '/')) => {
                let mut re = String::new();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '/' => {
                            self.pos = start + i + 1;
                            if let Err(e) = regex_for(&re) {
                                return Err(self.err(start, e));
                            }
                            return Ok(Pattern::Regex(re));
                        }
                        '\\' => match chars.next() {
                            Some((_, '/')) => re.push('/'),
                            Some((_, e)) => {
                                re.push('\\');
                                re.push(e);
                            }
                            None => break,
                        },
                        c => re.push(c),
                    }
                }
                Err(self.err(start, "unclosed regex: end it with `/`"))
            }
            _ => {
                let end = self.src[start..]
                    .find(|c: char| !is_word_char(c))
                    .map_or(self.src.len(), |n| start + n);
                self.pos = end;
                Ok(Pattern::Text(self.src[start..end].to_owned()))
            }
        }
    }
}

/// The regex a query's `/…/` stands for: case-insensitive, like the rest.
pub fn regex_for(src: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(src)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            let detail = e.to_string();
            let last = detail
                .lines()
                .rfind(|l| l.starts_with("error:"))
                .unwrap_or("invalid regex")
                .trim_start_matches("error: ")
                .to_owned();
            format!("bad regex: {last}")
        })
}

/// Parses a query. Blank text is [`Query::All`].
pub fn parse(src: &str) -> Result<Query, QueryError> {
    let mut lexer = Lexer { src, pos: 0 };
    let mut toks = Vec::new();
    while let Some(t) = lexer.next()? {
        toks.push(t);
    }
    let mut p = Parser {
        lexer: &lexer,
        toks,
        i: 0,
        end: src.len(),
    };
    if p.toks.is_empty() {
        return Ok(Query::All);
    }
    let q = p.or()?;
    match p.toks.get(p.i) {
        None => Ok(q),
        Some((at, Tok::Close)) => Err(p.lexer.err(*at, "`)` without a matching `(`")),
        Some((at, _)) => Err(p.lexer.err(*at, "unexpected text")),
    }
}

struct Parser<'a> {
    lexer: &'a Lexer<'a>,
    toks: Vec<(usize, Tok)>,
    i: usize,
    end: usize,
}

impl Parser<'_> {
    fn here(&self) -> usize {
        self.toks.get(self.i).map_or(self.end, |t| t.0)
    }

    fn or(&mut self) -> Result<Query, QueryError> {
        let mut parts = vec![self.and()?];
        while let Some((at, Tok::Or)) = self.toks.get(self.i) {
            let at = *at;
            self.i += 1;
            if matches!(
                self.toks.get(self.i),
                None | Some((_, Tok::Close | Tok::Or))
            ) {
                return Err(self.lexer.err(at, "`OR` needs a term after it"));
            }
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Query::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Query, QueryError> {
        let mut parts = Vec::new();
        loop {
            match self.toks.get(self.i) {
                None | Some((_, Tok::Close | Tok::Or)) => break,
                Some((at, Tok::And)) => {
                    let at = *at;
                    self.i += 1;
                    if parts.is_empty()
                        || matches!(
                            self.toks.get(self.i),
                            None | Some((_, Tok::Close | Tok::Or | Tok::And))
                        )
                    {
                        return Err(self.lexer.err(at, "`AND` needs a term on each side"));
                    }
                }
                Some(_) => parts.push(self.unary()?),
            }
        }
        match parts.len() {
            0 => {
                let at = self.here();
                Err(self.lexer.err(
                    at,
                    if matches!(self.toks.get(self.i), Some((_, Tok::Or))) {
                        "`OR` needs a term before it"
                    } else {
                        "a term is missing here"
                    },
                ))
            }
            1 => Ok(parts.pop().expect("one part")),
            _ => Ok(Query::And(parts)),
        }
    }

    fn unary(&mut self) -> Result<Query, QueryError> {
        let Some((at, tok)) = self.toks.get(self.i).cloned() else {
            return Err(self.lexer.err(self.end, "a term is missing here"));
        };
        self.i += 1;
        match tok {
            Tok::Neg => Ok(Query::Not(Box::new(self.unary()?))),
            Tok::Open => {
                if matches!(self.toks.get(self.i), Some((_, Tok::Close))) {
                    return Err(self.lexer.err(at, "empty `()`"));
                }
                if self.i >= self.toks.len() {
                    return Err(self.lexer.err(at, "`(` is never closed"));
                }
                let q = self.or()?;
                match self.toks.get(self.i) {
                    Some((_, Tok::Close)) => {
                        self.i += 1;
                        Ok(q)
                    }
                    _ => Err(self.lexer.err(at, "`(` is never closed")),
                }
            }
            Tok::Value(pattern) => Ok(Query::Term(Term::Text {
                field: None,
                pattern,
            })),
            Tok::Field(name, pattern) => self.field(at, &name, pattern).map(Query::Term),
            Tok::Close | Tok::Or | Tok::And => Err(self.lexer.err(at, "a term is missing here")),
        }
    }

    fn field(&self, at: usize, name: &str, pattern: Pattern) -> Result<Term, QueryError> {
        let err = |reason: String| self.lexer.err(at, reason);
        let word = |what: &str| match &pattern {
            Pattern::Text(t) => Ok(t.clone()),
            Pattern::Regex(_) => Err(err(format!("`{name}:` takes {what}, not a regex"))),
        };
        if let Some(field) = TextField::ALL.iter().find(|f| f.name() == name) {
            return Ok(Term::Text {
                field: Some(*field),
                pattern,
            });
        }
        let flag = |field: FlagField| {
            let v = word("yes or no")?;
            match v.to_ascii_lowercase().as_str() {
                "yes" | "y" | "true" => Ok(Term::Flag { field, yes: true }),
                "no" | "n" | "false" => Ok(Term::Flag { field, yes: false }),
                _ => Err(err(format!("`{name}:` takes yes or no, not `{v}`"))),
            }
        };
        match name {
            "ext" => flag(FlagField::Ext),
            "guest" => flag(FlagField::Guest),
            "marked" => flag(FlagField::Marked),
            "initiated" => {
                let v = word("external, internal or unknown")?;
                match v.to_ascii_lowercase().as_str() {
                    "external" => Ok(Term::Initiated(Initiated::External)),
                    "internal" => Ok(Term::Initiated(Initiated::Internal)),
                    "unknown" => Ok(Term::Initiated(Initiated::Unknown)),
                    _ => Err(err(format!(
                        "`initiated:` takes external, internal or unknown, not `{v}`"
                    ))),
                }
            }
            "after" | "before" => {
                let v = word("a date")?;
                let at = instant(&v).ok_or_else(|| err(bad_date(&v)))?;
                let cmp = if name == "after" { Cmp::Ge } else { Cmp::Lt };
                Ok(Term::Time { cmp, at })
            }
            "time" => {
                let v = word("a comparison")?;
                let (cmp, rest) = if let Some(r) = v.strip_prefix(">=") {
                    (Cmp::Ge, r)
                } else if let Some(r) = v.strip_prefix("<=") {
                    (Cmp::Le, r)
                } else if let Some(r) = v.strip_prefix('>') {
                    (Cmp::Gt, r)
                } else if let Some(r) = v.strip_prefix('<') {
                    (Cmp::Lt, r)
                } else {
                    return Err(err(
                        "`time:` takes >, >=, < or <= and a date, as in time:>2026-10-01".into(),
                    ));
                };
                let at = instant(rest).ok_or_else(|| err(bad_date(rest)))?;
                Ok(Term::Time { cmp, at })
            }
            _ => Err(err(format!("unknown field `{name}:`"))),
        }
    }
}

fn bad_date(v: &str) -> String {
    format!("`{v}` is no date: write 2026-10-01 or 2026-10-01T14:30 (UTC)")
}

/// A date (midnight UTC) or a date-time (UTC unless it says otherwise).
fn instant(v: &str) -> Option<Instant> {
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Some(Instant {
            at: d.and_hms_opt(0, 0, 0)?.and_utc(),
            date_only: true,
        });
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M") {
        return Some(Instant {
            at: t.and_utc(),
            date_only: false,
        });
    }
    // Whole seconds at least: the loader's parser wants them.
    if v.len() >= 19 && v.as_bytes().get(10) == Some(&b'T') {
        return crate::ual::time::parse_creation_time(v).map(|at| Instant {
            at,
            date_only: false,
        });
    }
    None
}
