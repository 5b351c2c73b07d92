//! What the triage commands share: the loaded dataset, its index and the
//! `--filter` query.

use std::sync::atomic::AtomicBool;

use crate::sanitize::for_terminal;
use crate::triage::index::Index;
use crate::triage::query::{self, Filter, Query};
use crate::ual::Dataset;

use super::{LoadArgs, exit};

pub struct Triaged {
    pub ds: Dataset,
    pub ix: Index,
    /// The parsed `--filter`, if one was given.
    pub query: Option<Query>,
    filter: Filter,
}

/// Parses a `--filter`, or explains on stderr where it is wrong.
pub fn parse_filter(text: Option<&str>) -> Result<Option<Query>, u8> {
    let Some(text) = text else { return Ok(None) };
    query::parse(text).map(Some).map_err(|e| {
        let shown = for_terminal(text);
        crate::safe_eprintln!("chatevict: bad --filter: {}", e.reason);
        crate::safe_eprintln!("  {shown}");
        crate::safe_eprintln!("  {}^", " ".repeat(e.at));
        crate::safe_eprintln!("(`chatevict query` explains the query language)");
        exit::USAGE
    })
}

/// Checks the filter first (a typo should not wait for a big load), then
/// loads and indexes.
pub fn load(args: &LoadArgs, filter: Option<&str>) -> Result<Triaged, u8> {
    let query = parse_filter(filter)?;
    let ds = super::load::load(args);
    let ix = Index::build(&ds);
    let never = AtomicBool::new(false);
    let filter = Filter::compile(query.as_ref().unwrap_or(&Query::All), &ds, &ix, &never)
        .expect("nothing cancels a command-line filter");
    Ok(Triaged {
        ds,
        ix,
        query,
        filter,
    })
}

/// Loads, runs `f` on the result and returns its exit code.
///
/// The dataset is not freed: the process ends right after, and handing a
/// million small allocations back one by one would cost a tenth of a
/// second for nothing.
pub fn with(args: &LoadArgs, filter: Option<&str>, f: impl FnOnce(&Triaged) -> u8) -> u8 {
    let t = match load(args, filter) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let code = f(&t);
    std::mem::forget(t);
    code
}

impl Triaged {
    /// The exit code of a listing command that wrote `result`: a closed
    /// pipe (`| head`) is no failure; an empty dataset is.
    pub fn exit_code(&self, result: std::io::Result<()>) -> u8 {
        if let Err(e) = result
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            crate::safe_eprintln!("chatevict: cannot write the output: {e}");
            return exit::FAILED;
        }
        if self.ds.records.is_empty() {
            exit::FAILED
        } else {
            exit::OK
        }
    }

    /// Indices of the records that match the filter (all without one).
    pub fn selected(&self) -> Vec<u32> {
        let never = AtomicBool::new(false);
        self.filter
            .select(&self.ds, &self.ix, &query::no_marks, &never)
            .expect("nothing cancels a command-line filter")
    }

    /// Indices of the chats with at least one matching record, in order
    /// of first appearance.
    pub fn selected_chats(&self) -> Vec<usize> {
        let mut hit = vec![false; self.ix.chats.list.len()];
        for i in self.selected() {
            if let Some(c) = self.ix.chats.chat_index(i as usize) {
                hit[c] = true;
            }
        }
        hit.iter()
            .enumerate()
            .filter_map(|(i, &h)| h.then_some(i))
            .collect()
    }

    /// The record's external and guest flags.
    pub fn flags(&self, i: usize) -> (bool, bool) {
        (self.ix.external[i], self.ix.guests[i])
    }
}
