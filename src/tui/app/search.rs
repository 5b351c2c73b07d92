//! Search within the list: a query in the filter language whose matches
//! are found among the rows shown, without hiding the others; `n` and
//! `N` go from one to the next, as less, lnav and k9s users expect.

use super::FilterBar;

/// What a list scan feeds: the filter (which rows show) or the search
/// (which of them are found). Each has its own jobs, so neither cancels
/// nor outdates the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    Filter,
    Search,
}

/// One scan's job: answers to older jobs of the same scan are dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    pub scan: Scan,
    pub n: u64,
}

/// The records and chats a search found.
#[derive(Debug, Default)]
pub struct Hits {
    pub records: Vec<bool>,
    pub chats: Vec<bool>,
    pub count: usize,
}

impl Hits {
    /// From a scan's matching records and their chats.
    pub fn new(records: usize, chats: usize, rows: &[u32], found_chats: &[usize]) -> Hits {
        let mut h = Hits {
            records: vec![false; records],
            chats: vec![false; chats],
            count: rows.len(),
        };
        for &r in rows {
            h.records[r as usize] = true;
        }
        for &c in found_chats {
            h.chats[c] = true;
        }
        h
    }
}

/// The search bar and what it found.
#[derive(Default)]
pub struct Search {
    pub bar: FilterBar,
    pub hits: Option<Hits>,
    /// Where the selection was when the search began (record, chat):
    /// cancelling returns there, typing searches from there.
    pub(super) from: Option<(Option<usize>, Option<usize>)>,
}

/// The next row (after `sel`, or before it going back) that `hit` says
/// was found, wrapping around the end; `(row, wrapped)`. `sel` itself
/// counts only when `include` (typing searches from where it began).
pub fn next_hit(
    len: usize,
    sel: usize,
    forward: bool,
    include: bool,
    hit: impl Fn(usize) -> bool,
) -> Option<(usize, bool)> {
    if len == 0 {
        return None;
    }
    let sel = sel.min(len - 1);
    let start = if include { 0 } else { 1 };
    (start..=len).find_map(|step| {
        let (i, wrapped) = if forward {
            let i = sel + step;
            (i % len, i >= len)
        } else {
            ((sel + len - step % len) % len, step > sel)
        };
        hit(i).then_some((i, wrapped))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(set: &[usize]) -> impl Fn(usize) -> bool + '_ {
        move |i| set.contains(&i)
    }

    #[test]
    fn forward_and_back_wrapping_around() {
        let found = [2, 5];
        assert_eq!(next_hit(8, 0, true, false, hits(&found)), Some((2, false)));
        assert_eq!(next_hit(8, 2, true, false, hits(&found)), Some((5, false)));
        assert_eq!(next_hit(8, 5, true, false, hits(&found)), Some((2, true)));
        assert_eq!(next_hit(8, 5, false, false, hits(&found)), Some((2, false)));
        assert_eq!(next_hit(8, 2, false, false, hits(&found)), Some((5, true)));
        assert_eq!(next_hit(8, 7, false, false, hits(&found)), Some((5, false)));
    }

    #[test]
    fn the_only_hit_is_found_again_from_itself() {
        assert_eq!(next_hit(4, 1, true, false, hits(&[1])), Some((1, true)));
        assert_eq!(next_hit(4, 1, false, false, hits(&[1])), Some((1, true)));
    }

    #[test]
    fn typing_searches_from_where_it_began() {
        assert_eq!(next_hit(8, 2, true, true, hits(&[2, 5])), Some((2, false)));
        assert_eq!(next_hit(8, 3, true, true, hits(&[2])), Some((2, true)));
    }

    #[test]
    fn nothing_found_or_nothing_shown() {
        assert_eq!(next_hit(8, 3, true, false, hits(&[])), None);
        assert_eq!(next_hit(0, 0, true, false, hits(&[0])), None);
        // A selection past the end (rows just shrank) starts at the end.
        assert_eq!(next_hit(3, 9, false, false, hits(&[0])), Some((0, false)));
    }
}
