//! The query language of `--filter` and the filter bar.
//!
//! ```text
//! word "a phrase"      case-insensitive substring of operation, user, chat
//!                      name, chat id, member UPNs and names
//! field:value          op user chat name member domain tenant type workload
//!                      rt id ip; value is a word, "a phrase" or /regex/
//! ext:yes guest:no     flags; marked:yes in the application
//! initiated:external   external | internal | unknown
//! after:2026-10-01     before:… time:>… time:<=… (UTC)
//! /regex/              case-insensitive, over the same text as a word
//! -term                not
//! a b                  and (AND may be written)
//! a OR b  (a OR b) c   or, grouping
//! ```

mod ast;
mod eval;
mod parse;

pub use ast::{Cmp, FIELDS, FlagField, Initiated, Instant, Pattern, Query, Term, TextField};
pub use eval::{Filter, Marked, no_marks};
pub use parse::{QueryError, parse, regex_for};

#[cfg(test)]
mod tests;

/// The query language, for `chatevict query` and the application's help.
pub const HELP: &str = "\
A query selects records. Terms are separated by spaces and must all match.

  alice  \"Payroll update\"   a word or phrase: case-insensitive substring of the
                            operation, user, chat name, chat id, member UPNs and
                            member display names
  field:value               the same, in one field (value: word, \"phrase\", /regex/)
      op        operation                user      acting user (UserId)
      chat      chat id (ChatThreadId)   name      chat name
      member    member UPN or name       domain    member or participating domain
      tenant    any tenant id            type      OneOnOne, GroupChat, Team…
      workload  MicrosoftTeams, …        rt        record type: 25 or MicrosoftTeams
      id        record id                ip        client IP
  ext:yes|no                the record or its chat shows another tenant
  guest:yes|no              the record or its chat shows guests (#EXT#)
  initiated:external|internal|unknown
                            who started the record's chat
  marked:yes|no             the chat has marked targets (in the application)
  after:2026-10-01          at or after (UTC); a date or 2026-10-01T14:30[:00][Z]
  before:2026-10-01         before
  time:>…  time:>=…  time:<…  time:<=…
  /regex/  field:/regex/    a case-insensitive regular expression
  -term  -(…)               not
  a OR b   (a OR b) c       either; parentheses group; AND may be written

Quote text that has spaces, parentheses or a colon after letters
(\"https://…\"), or that is OR or AND. Chat ids like 19:…@thread.v2 need no quotes.

Examples:
  ext:yes initiated:external             chats outsiders started
  ext:yes domain:fabrikam.com after:2026-10-01
  op:MemberAdded -guest:yes
  (name:payroll OR name:password) ext:yes
";
