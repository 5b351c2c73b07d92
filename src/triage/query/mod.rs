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
mod parse;

pub use ast::{Cmp, FIELDS, FlagField, Initiated, Instant, Pattern, Query, Term, TextField};
pub use parse::{QueryError, parse, regex_for};

#[cfg(test)]
mod tests;
