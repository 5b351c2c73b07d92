//! The orders of the lists: records by time (newest first, as Purview
//! shows them), user, operation or chat; chats by last seen, records,
//! home users or name. One place for both faces: the application's sort
//! key and `--sort` of `events` and `chats`.

use std::cmp::Reverse;
use std::str::FromStr;

use super::index::Index;
use crate::ual::Dataset;

/// How records are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventOrder {
    /// As loaded: files in the order given, rows in file order.
    File,
    /// Newest first, across every file.
    #[default]
    Newest,
    Oldest,
    /// By user (`UserId`, ignoring case), newest first within.
    User,
    /// By operation, newest first within.
    Operation,
    /// By chat (name, else id), newest first within; records of no chat
    /// last.
    Chat,
}

impl EventOrder {
    pub const ALL: [EventOrder; 6] = [
        EventOrder::Newest,
        EventOrder::Oldest,
        EventOrder::User,
        EventOrder::Operation,
        EventOrder::Chat,
        EventOrder::File,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventOrder::File => "file",
            EventOrder::Newest => "newest",
            EventOrder::Oldest => "oldest",
            EventOrder::User => "user",
            EventOrder::Operation => "operation",
            EventOrder::Chat => "chat",
        }
    }

    /// How a header says it.
    pub fn label(self) -> &'static str {
        match self {
            EventOrder::File => "file order",
            EventOrder::Newest => "newest first",
            EventOrder::Oldest => "oldest first",
            EventOrder::User => "by user",
            EventOrder::Operation => "by operation",
            EventOrder::Chat => "by chat",
        }
    }

    /// The next order in the cycle of the sort key.
    pub fn next(self) -> EventOrder {
        after(&Self::ALL, self)
    }

    /// Sorts record indices; ties keep file order, so the result is the
    /// same on every run.
    pub fn sort(self, ds: &Dataset, ix: &Index, rows: &mut [u32]) {
        let time = |r: u32| ds.records[r as usize].time;
        let newest = |r: u32| (Reverse(time(r)), r);
        let lower = |s: &str| s.to_lowercase();
        match self {
            EventOrder::File => rows.sort_unstable(),
            EventOrder::Newest => rows.sort_unstable_by_key(|&r| newest(r)),
            EventOrder::Oldest => rows.sort_unstable_by_key(|&r| (time(r), r)),
            EventOrder::User => rows.sort_by_cached_key(|&r| {
                (lower(ds.opt(ds.records[r as usize].user_id)), newest(r))
            }),
            EventOrder::Operation => rows.sort_by_cached_key(|&r| {
                (
                    ds.str(ds.records[r as usize].operation).to_owned(),
                    newest(r),
                )
            }),
            EventOrder::Chat => rows.sort_by_cached_key(|&r| {
                let label = ix.chats.of_record(r as usize).map(|c| {
                    let name = c.name.map(|n| ds.str(n)).filter(|n| !n.trim().is_empty());
                    lower(name.unwrap_or_else(|| ds.str(c.id)))
                });
                (label.is_none(), label, newest(r))
            }),
        }
    }
}

impl FromStr for EventOrder {
    type Err = String;
    fn from_str(s: &str) -> Result<EventOrder, String> {
        EventOrder::ALL
            .into_iter()
            .find(|o| o.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "{s:?} is not an order: {}",
                    names(&EventOrder::ALL.map(|o| o.name()))
                )
            })
    }
}

/// How chats are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChatOrder {
    /// The latest record first.
    #[default]
    LastSeen,
    /// Most records first.
    Records,
    /// Most home users (targets) first.
    HomeUsers,
    /// By name (else id), ignoring case.
    Name,
}

impl ChatOrder {
    pub const ALL: [ChatOrder; 4] = [
        ChatOrder::LastSeen,
        ChatOrder::Records,
        ChatOrder::HomeUsers,
        ChatOrder::Name,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ChatOrder::LastSeen => "last-seen",
            ChatOrder::Records => "records",
            ChatOrder::HomeUsers => "home-users",
            ChatOrder::Name => "name",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ChatOrder::LastSeen => "last seen first",
            ChatOrder::Records => "most records first",
            ChatOrder::HomeUsers => "most home users first",
            ChatOrder::Name => "by name",
        }
    }

    pub fn next(self) -> ChatOrder {
        after(&Self::ALL, self)
    }

    /// Sorts chat indices; ties by chat id, so the result is stable.
    pub fn sort(self, ds: &Dataset, ix: &Index, chats: &mut [usize]) {
        let list = &ix.chats.list;
        let id = |c: usize| ds.str(list[c].id);
        match self {
            ChatOrder::LastSeen => chats.sort_by(|&a, &b| {
                list[b]
                    .last_seen
                    .cmp(&list[a].last_seen)
                    .then(id(a).cmp(id(b)))
            }),
            ChatOrder::Records => chats.sort_by(|&a, &b| {
                list[b]
                    .record_count()
                    .cmp(&list[a].record_count())
                    .then(id(a).cmp(id(b)))
            }),
            ChatOrder::HomeUsers => chats.sort_by(|&a, &b| {
                list[b]
                    .targets()
                    .len()
                    .cmp(&list[a].targets().len())
                    .then(list[b].last_seen.cmp(&list[a].last_seen))
                    .then(id(a).cmp(id(b)))
            }),
            ChatOrder::Name => chats.sort_by_cached_key(|&c| {
                let name = list[c]
                    .name
                    .map(|n| ds.str(n))
                    .filter(|n| !n.trim().is_empty());
                (
                    name.is_none(),
                    name.unwrap_or_else(|| id(c)).to_lowercase(),
                    id(c).to_owned(),
                )
            }),
        }
    }
}

impl FromStr for ChatOrder {
    type Err = String;
    fn from_str(s: &str) -> Result<ChatOrder, String> {
        ChatOrder::ALL
            .into_iter()
            .find(|o| o.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "{s:?} is not an order: {}",
                    names(&ChatOrder::ALL.map(|o| o.name()))
                )
            })
    }
}

fn names(all: &[&str]) -> String {
    all.join(", ")
}

/// The whole dataset in each order, computed once when first asked (on
/// the filter's thread) and kept: a filter's rows are then put in order
/// in one linear pass, not sorted again on every keystroke.
#[derive(Debug, Default)]
pub struct Orders {
    cache: [std::sync::OnceLock<Vec<u32>>; EventOrder::ALL.len()],
}

impl Orders {
    /// `rows` (ascending record indices, as a filter gives them) in
    /// `order`.
    pub fn arrange(&self, ds: &Dataset, ix: &Index, order: EventOrder, rows: Vec<u32>) -> Vec<u32> {
        if order == EventOrder::File {
            return rows;
        }
        let n = ds.records.len();
        let slot = EventOrder::ALL
            .iter()
            .position(|&o| o == order)
            .unwrap_or(0);
        let all = self.cache[slot].get_or_init(|| {
            let mut all: Vec<u32> = (0..n as u32).collect();
            order.sort(ds, ix, &mut all);
            all
        });
        if rows.len() == n {
            return all.clone();
        }
        let mut keep = vec![false; n];
        for &r in &rows {
            keep[r as usize] = true;
        }
        all.iter().copied().filter(|&r| keep[r as usize]).collect()
    }
}

/// The one after `x` in `all`, round the cycle.
fn after<T: Copy + PartialEq>(all: &[T], x: T) -> T {
    let i = all.iter().position(|&o| o == x).unwrap_or(0);
    all[(i + 1) % all.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_the_cycles_visit_every_order() {
        for o in EventOrder::ALL {
            assert_eq!(o.name().parse::<EventOrder>(), Ok(o));
        }
        for o in ChatOrder::ALL {
            assert_eq!(o.name().parse::<ChatOrder>(), Ok(o));
        }
        let err = "size".parse::<EventOrder>().unwrap_err();
        assert!(err.contains("newest") && err.contains("file"), "{err}");
        let mut o = EventOrder::default();
        let mut seen = vec![o];
        for _ in 1..EventOrder::ALL.len() {
            o = o.next();
            seen.push(o);
        }
        assert_eq!(o.next(), EventOrder::default());
        seen.sort_by_key(|o| o.name());
        seen.dedup();
        assert_eq!(seen.len(), EventOrder::ALL.len());
        assert_eq!(ChatOrder::Name.next(), ChatOrder::LastSeen);
    }
}
