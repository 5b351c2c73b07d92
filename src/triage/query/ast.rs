//! What a query says, independent of any dataset, and how it is written
//! back: printing a query and parsing the text gives the same query.

use std::fmt::{self, Write as _};

use chrono::{DateTime, Utc};

/// A parsed query. The empty query matches everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    All,
    Term(Term),
    Not(Box<Query>),
    /// Terms side by side (or joined with `AND`); at least two.
    And(Vec<Query>),
    /// Terms joined with `OR`; at least two.
    Or(Vec<Query>),
}

impl Query {
    /// Whether the result depends on which chats are marked (`marked:`
    /// anywhere in it): such a filter runs again when the marks change.
    pub fn uses_marks(&self) -> bool {
        match self {
            Query::All => false,
            Query::Term(Term::Flag {
                field: FlagField::Marked,
                ..
            }) => true,
            Query::Term(_) => false,
            Query::Not(q) => q.uses_marks(),
            Query::And(qs) | Query::Or(qs) => qs.iter().any(Query::uses_marks),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// A bare word or phrase (`field` is `None`), or `field:value`.
    Text {
        field: Option<TextField>,
        pattern: Pattern,
    },
    /// `ext:`, `guest:`, `marked:` with yes or no.
    Flag {
        field: FlagField,
        yes: bool,
    },
    Initiated(Initiated),
    /// `after:`, `before:`, `time:>…`, `time:<…`.
    Time {
        cmp: Cmp,
        at: Instant,
    },
}

/// How a text field or bare word is matched: case-insensitively, as a
/// substring or as a regular expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    Text(String),
    Regex(String),
}

/// Fields matched against text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextField {
    Op,
    User,
    Chat,
    Name,
    Member,
    Domain,
    Tenant,
    Type,
    Workload,
    Rt,
    Id,
    Ip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlagField {
    Ext,
    Guest,
    Marked,
}

/// Who started a chat (DESIGN.md section 4).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Initiated {
    External,
    Internal,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

/// A point in time given in a query; `date_only` remembers that it was
/// written as a day, so that it prints the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instant {
    pub at: DateTime<Utc>,
    pub date_only: bool,
}

/// Every field, with its name and what it matches, for parsing and help.
pub const FIELDS: &[(&str, &str)] = &[
    ("op", "operation"),
    ("user", "the acting user (UserId)"),
    ("chat", "chat id (ChatThreadId)"),
    ("name", "chat name"),
    ("member", "a member's UPN or display name"),
    ("domain", "a member's or participating domain"),
    ("tenant", "any tenant id on the record"),
    ("type", "communication type (OneOnOne, GroupChat, Team…)"),
    ("workload", "workload (MicrosoftTeams, Exchange…)"),
    ("rt", "record type, number or name"),
    ("id", "record id"),
    ("ip", "client IP"),
    ("ext", "yes: the record or its chat shows another tenant"),
    ("guest", "yes: the record or its chat shows guests"),
    (
        "initiated",
        "external, internal or unknown: who started the chat",
    ),
    ("marked", "yes: the record's chat has marked targets"),
    ("after", "at or after a date or date-time (UTC)"),
    ("before", "before a date or date-time (UTC)"),
    ("time", ">, >=, < or <= a date or date-time (UTC)"),
];

impl TextField {
    pub const ALL: [TextField; 12] = [
        TextField::Op,
        TextField::User,
        TextField::Chat,
        TextField::Name,
        TextField::Member,
        TextField::Domain,
        TextField::Tenant,
        TextField::Type,
        TextField::Workload,
        TextField::Rt,
        TextField::Id,
        TextField::Ip,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TextField::Op => "op",
            TextField::User => "user",
            TextField::Chat => "chat",
            TextField::Name => "name",
            TextField::Member => "member",
            TextField::Domain => "domain",
            TextField::Tenant => "tenant",
            TextField::Type => "type",
            TextField::Workload => "workload",
            TextField::Rt => "rt",
            TextField::Id => "id",
            TextField::Ip => "ip",
        }
    }
}

impl FlagField {
    pub fn name(self) -> &'static str {
        match self {
            FlagField::Ext => "ext",
            FlagField::Guest => "guest",
            FlagField::Marked => "marked",
        }
    }
}

impl Initiated {
    pub fn name(self) -> &'static str {
        match self {
            Initiated::External => "external",
            Initiated::Internal => "internal",
            Initiated::Unknown => "unknown",
        }
    }
}

impl Cmp {
    pub fn holds<T: PartialOrd>(self, a: &T, b: &T) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.date_only {
            write!(f, "{}", self.at.format("%Y-%m-%d"))
        } else {
            f.write_str(&crate::ual::time::format_rfc3339(&self.at))
        }
    }
}

/// Whether `s` can be written without quotes where a value is expected
/// (`bare`: as a term of its own, where `name:` would start a field).
fn plain_word(s: &str, bare: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if matches!(first, '-' | '/' | '"') || s == "OR" || s == "AND" {
        return false;
    }
    if s.chars()
        .any(|c| c.is_whitespace() || matches!(c, '(' | ')' | '"') || c.is_control())
    {
        return false;
    }
    if bare && let Some((prefix, _)) = s.split_once(':') {
        // `word:` would be read as a field (or an unknown one).
        return !looks_like_field(prefix);
    }
    true
}

/// Whether `prefix:` is meant as a field: letters only, like every field
/// name. Chat ids (`19:…`) and other text with a colon stay words.
pub(crate) fn looks_like_field(prefix: &str) -> bool {
    !prefix.is_empty() && prefix.chars().all(|c| c.is_ascii_alphabetic())
}

fn write_pattern(f: &mut fmt::Formatter<'_>, p: &Pattern, bare: bool) -> fmt::Result {
    match p {
        Pattern::Text(t) if plain_word(t, bare) => f.write_str(t),
        Pattern::Text(t) => {
            f.write_char('"')?;
            for c in t.chars() {
                if matches!(c, '"' | '\\') {
                    f.write_char('\\')?;
                }
                f.write_char(c)?;
            }
            f.write_char('"')
        }
        Pattern::Regex(r) => {
            f.write_char('/')?;
            for c in r.chars() {
                if c == '/' {
                    f.write_char('\\')?;
                }
                f.write_char(c)?;
            }
            f.write_char('/')
        }
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Text {
                field: None,
                pattern,
            } => write_pattern(f, pattern, true),
            Term::Text {
                field: Some(field),
                pattern,
            } => {
                write!(f, "{}:", field.name())?;
                write_pattern(f, pattern, false)
            }
            Term::Flag { field, yes } => {
                write!(f, "{}:{}", field.name(), if *yes { "yes" } else { "no" })
            }
            Term::Initiated(i) => write!(f, "initiated:{}", i.name()),
            Term::Time { cmp, at } => match cmp {
                Cmp::Ge => write!(f, "after:{at}"),
                Cmp::Lt => write!(f, "before:{at}"),
                Cmp::Gt => write!(f, "time:>{at}"),
                Cmp::Le => write!(f, "time:<={at}"),
            },
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = |f: &mut fmt::Formatter<'_>, q: &Query, wrap: bool| {
            if wrap {
                write!(f, "({q})")
            } else {
                write!(f, "{q}")
            }
        };
        match self {
            Query::All => Ok(()),
            Query::Term(t) => write!(f, "{t}"),
            Query::Not(q) => {
                f.write_char('-')?;
                group(f, q, !matches!(**q, Query::Term(_) | Query::Not(_)))
            }
            Query::And(qs) => {
                for (i, q) in qs.iter().enumerate() {
                    if i > 0 {
                        f.write_char(' ')?;
                    }
                    group(f, q, matches!(q, Query::And(_) | Query::Or(_) | Query::All))?;
                }
                Ok(())
            }
            Query::Or(qs) => {
                for (i, q) in qs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" OR ")?;
                    }
                    group(f, q, matches!(q, Query::Or(_) | Query::All))?;
                }
                Ok(())
            }
        }
    }
}
