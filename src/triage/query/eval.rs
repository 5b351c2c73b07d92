//! A query bound to a dataset, and evaluated over its records.
//!
//! Text terms are decided once per distinct string: compiling a term
//! tests every distinct string of the fields it names (a few thousand
//! operations, users and chat ids, not a million records) and keeps the
//! answers in a bitmap, so each record costs a few bit lookups. Both the
//! compile and the record scan watch a cancel flag, so a caller can drop
//! a query the user has already typed past.

use std::sync::atomic::{AtomicBool, Ordering};

use super::ast::{Cmp, FlagField, Initiated, Instant, Pattern, Query, Term, TextField};
use crate::triage::index::{DomainGroups, Index, Slot, TABLE_SLOTS, any_in_slots};
use crate::ual::{ClientIp, Dataset, RecordId, record_type};

/// How often (in items) the cancel flag is read.
const CHECK_EVERY: usize = 4096;

/// A set of interned strings, as a bitmap over the pool.
struct SymSet(Vec<u64>);

impl SymSet {
    fn new(len: usize) -> SymSet {
        SymSet(vec![0; len.div_ceil(64)])
    }

    fn insert(&mut self, s: crate::ual::Sym) {
        let k = s.index();
        self.0[k / 64] |= 1 << (k % 64);
    }

    #[inline]
    fn contains(&self, s: crate::ual::Sym) -> bool {
        let k = s.index();
        self.0.get(k / 64).is_some_and(|w| w & (1 << (k % 64)) != 0)
    }
}

/// A text test: case-insensitive substring or regex.
enum Matcher {
    Regex(regex::Regex),
    /// ASCII text, any case: searched in a slot's whole text at once.
    Ascii(aho_corasick::AhoCorasick),
    /// Matches everything (the empty phrase).
    Any,
}

impl Matcher {
    fn new(p: &Pattern) -> Matcher {
        let re = match p {
            Pattern::Text(t) if t.is_empty() => return Matcher::Any,
            Pattern::Text(t) if t.is_ascii() && !t.contains('\0') => {
                let ac = aho_corasick::AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build([t])
                    .expect("one short pattern builds");
                return Matcher::Ascii(ac);
            }
            Pattern::Text(t) => super::regex_for(&regex::escape(t)),
            Pattern::Regex(r) => super::regex_for(r),
        };
        // The parser already compiled every regex once.
        Matcher::Regex(re.expect("queries hold valid patterns"))
    }

    fn is_match(&self, s: &str) -> bool {
        match self {
            Matcher::Any => true,
            Matcher::Ascii(ac) => ac.is_match(s),
            Matcher::Regex(re) => re.is_match(s),
        }
    }
}

enum Node {
    All,
    /// No string matched: nothing can.
    Nothing,
    /// Decided at compile time for every record: bit `i` is record `i`.
    Bits(Vec<u64>),
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
    /// Any string of the record in the given places is in `set`: the
    /// slots of `mask` read from the record, the tables of `tables` (bits
    /// index [`TABLE_SLOTS`]), the members' hits decided at compile time.
    Strings {
        mask: u16,
        tables: u8,
        members: Option<Vec<u64>>,
        set: SymSet,
    },
    RecordType {
        numbers: Vec<u32>,
    },
    IdIs(RecordId),
    IdMatches(Matcher),
    /// A `ClientIP` packed as an IPv4 address (see
    /// [`crate::ual::ClientIp`]) whose text matches; the others are in
    /// the strings of [`Slot::Ip`].
    PackedIpMatches(Matcher),
    External(bool),
    Guest(bool),
    Marked(bool),
    Initiated(Initiated),
    Time(Cmp, Instant),
}

impl Node {
    /// How dear a test is per record: 0 reads only the record or a flag,
    /// 1 follows the record to its chat fields.
    fn cost(&self) -> u8 {
        const RECORD_ONLY: u16 = (1 << Slot::Op as u16)
            | (1 << Slot::User as u16)
            | (1 << Slot::Workload as u16)
            | (1 << Slot::Ip as u16)
            | (1 << Slot::RtName as u16);
        match self {
            Node::Strings { mask, .. } if mask & !RECORD_ONLY == 0 => 0,
            Node::Strings { .. } => 1,
            Node::IdMatches(_) | Node::PackedIpMatches(_) => 2,
            Node::Not(n) => n.cost(),
            Node::And(ns) | Node::Or(ns) => ns.iter().map(Node::cost).max().unwrap_or(0),
            _ => 0,
        }
    }
}

/// A compiled query.
pub struct Filter {
    root: Node,
    /// Whether `marked:` appears: the result then changes with the marks.
    pub uses_marks: bool,
}

/// What `marked:` asks about: whether a chat (by index) has marked targets.
pub type Marked<'a> = &'a (dyn Fn(usize) -> bool + Sync);

/// No chat is marked (the command line).
pub fn no_marks(_: usize) -> bool {
    false
}

struct Compiler<'a> {
    ds: &'a Dataset,
    ix: &'a Index,
    cancel: &'a AtomicBool,
    uses_marks: bool,
}

impl Compiler<'_> {
    /// The strings of `slots` that match, and the slots where any did: a
    /// record needs looking at only there.
    fn strings(&self, slots: &[Slot], m: &Matcher) -> Option<(SymSet, u16)> {
        let mut set = SymSet::new(self.ds.pool_len());
        let mut mask = 0u16;
        for &slot in slots {
            if self.cancel.load(Ordering::Relaxed) {
                return None;
            }
            let vocab = self.ix.vocab(self.ds, slot);
            if let Matcher::Ascii(ac) = m {
                // One pass over the slot's text; after a hit, on to the next
                // string.
                let mut from = 0;
                while let Some(hit) =
                    ac.find(aho_corasick::Input::new(&vocab.text).span(from..vocab.text.len()))
                {
                    if self.cancel.load(Ordering::Relaxed) {
                        return None;
                    }
                    let k = vocab.at(hit.start());
                    set.insert(vocab.syms[k]);
                    mask |= slot.bit();
                    from = vocab
                        .starts
                        .get(k + 1)
                        .map_or(vocab.text.len(), |&s| s as usize);
                }
                continue;
            }
            for (i, &s) in vocab.syms.iter().enumerate() {
                if i % CHECK_EVERY == 0 && self.cancel.load(Ordering::Relaxed) {
                    return None;
                }
                if m.is_match(self.ds.str(s)) {
                    set.insert(s);
                    mask |= slot.bit();
                }
            }
        }
        Some((set, mask))
    }

    fn node(&mut self, q: &Query) -> Option<Node> {
        Some(match q {
            Query::All => Node::All,
            Query::Not(q) => Node::Not(Box::new(self.node(q)?)),
            Query::And(qs) => {
                let mut nodes: Vec<Node> =
                    qs.iter().map(|q| self.node(q)).collect::<Option<_>>()?;
                // Cheap tests first: most records fail one of them before a
                // dear one (reading the chat fields) is tried.
                nodes.sort_by_key(Node::cost);
                Node::And(nodes)
            }
            Query::Or(qs) => Node::Or(qs.iter().map(|q| self.node(q)).collect::<Option<_>>()?),
            Query::Term(t) => self.term(t)?,
        })
    }

    fn text(&mut self, slots: &[Slot], m: &Matcher) -> Option<Node> {
        let (set, mut mask) = self.strings(slots, m)?;
        if mask == 0 {
            return Some(Node::Nothing);
        }
        // Chat id, name and type from the per-record tables.
        let mut tables = 0u8;
        for (k, slot) in TABLE_SLOTS.iter().enumerate() {
            if mask & slot.bit() != 0 {
                self.ix.table(self.ds, k);
                tables |= 1 << k;
                mask &= !slot.bit();
            }
        }
        // Members: only the few records that list any, decided now.
        let member_slots = Slot::MemberUpn.bit() | Slot::MemberName.bit();
        let mut members = None;
        if mask & member_slots != 0 {
            members = Some(self.member_hits(mask & member_slots, &set)?);
            mask &= !member_slots;
        }
        // Participating domains: each distinct list decided once, then one
        // small table read per record.
        if mask & Slot::Domain.bit() != 0 {
            let g = self.ix.domain_groups(self.ds);
            let hit: Vec<bool> = g
                .lists
                .iter()
                .map(|l| l.iter().any(|&s| set.contains(s)))
                .collect();
            let bits =
                members.get_or_insert_with(|| vec![0u64; self.ds.records.len().div_ceil(64)]);
            for (i, &id) in g.of_record.iter().enumerate() {
                if i % (CHECK_EVERY * 64) == 0 && self.cancel.load(Ordering::Relaxed) {
                    return None;
                }
                if id != DomainGroups::NONE && hit[id as usize] {
                    bits[i / 64] |= 1 << (i % 64);
                }
            }
            mask &= !Slot::Domain.bit();
        }
        Some(Node::Strings {
            mask,
            tables,
            members,
            set,
        })
    }

    /// Which records have a member whose strings in `want` are in `set`,
    /// as a bitmap over records; each distinct member list is read once.
    fn member_hits(&self, want: u16, set: &SymSet) -> Option<Vec<u64>> {
        let upn = want & Slot::MemberUpn.bit() != 0;
        let name = want & Slot::MemberName.bit() != 0;
        let g = self.ix.member_groups(self.ds);
        // Each distinct list once.
        let mut hit = Vec::with_capacity(g.lists.len());
        for (n, l) in g.lists.iter().enumerate() {
            if n % CHECK_EVERY == 0 && self.cancel.load(Ordering::Relaxed) {
                return None;
            }
            hit.push(l.iter().any(|&(u, d)| {
                upn && u.is_some_and(|s| set.contains(s))
                    || name && d.is_some_and(|s| set.contains(s))
            }));
        }
        let mut bits = vec![0u64; self.ds.records.len().div_ceil(64)];
        for &(i, l) in &g.records {
            if hit[l as usize] {
                bits[i as usize / 64] |= 1 << (i % 64);
            }
        }
        Some(bits)
    }

    fn term(&mut self, t: &Term) -> Option<Node> {
        let (field, pattern) = match t {
            Term::Flag { field, yes } => {
                return Some(match field {
                    FlagField::Ext => Node::External(*yes),
                    FlagField::Guest => Node::Guest(*yes),
                    FlagField::Marked => {
                        self.uses_marks = true;
                        Node::Marked(*yes)
                    }
                });
            }
            Term::Initiated(i) => return Some(Node::Initiated(*i)),
            Term::Time { cmp, at } => return Some(Node::Time(*cmp, *at)),
            Term::Text { field, pattern } => (field, pattern),
        };
        let m = Matcher::new(pattern);
        let Some(field) = field else {
            return self.text(
                &[
                    Slot::Op,
                    Slot::User,
                    Slot::ChatName,
                    Slot::ChatId,
                    Slot::MemberUpn,
                    Slot::MemberName,
                ],
                &m,
            );
        };
        match field {
            TextField::Op => self.text(&[Slot::Op], &m),
            TextField::User => self.text(&[Slot::User], &m),
            TextField::Chat => self.text(&[Slot::ChatId], &m),
            TextField::Name => self.text(&[Slot::ChatName], &m),
            TextField::Member => self.text(&[Slot::MemberUpn, Slot::MemberName], &m),
            TextField::Tenant => self.text(&[Slot::Tenant], &m),
            TextField::Type => self.text(&[Slot::Type], &m),
            TextField::Workload => self.text(&[Slot::Workload], &m),
            TextField::Ip => {
                let kept = self.text(&[Slot::Ip], &m)?;
                Some(Node::Or(vec![kept, Node::PackedIpMatches(m)]))
            }
            TextField::Domain => {
                let named = self.text(&[Slot::Domain], &m)?;
                let mut upns = SymSet::new(self.ds.pool_len());
                for &s in &self.ix.vocab(self.ds, Slot::MemberUpn).syms {
                    if let Some((_, d)) = self.ds.str(s).rsplit_once('@')
                        && m.is_match(d)
                    {
                        upns.insert(s);
                    }
                }
                let members = Node::Strings {
                    mask: 0,
                    tables: 0,
                    members: Some(self.member_hits(Slot::MemberUpn.bit(), &upns)?),
                    set: upns,
                };
                Some(Node::Or(vec![named, members]))
            }
            TextField::Rt => {
                // A number is exact; text matches the record type's name.
                let numbers = match pattern {
                    Pattern::Text(t) if t.trim().parse::<u32>().is_ok() => {
                        vec![t.trim().parse().expect("checked")]
                    }
                    _ => self
                        .ix
                        .record_types
                        .iter()
                        .copied()
                        .filter(|&n| record_type::name(n).is_some_and(|name| m.is_match(name)))
                        .collect(),
                };
                let names = self.text(&[Slot::RtName], &m)?;
                Some(Node::Or(vec![Node::RecordType { numbers }, names]))
            }
            TextField::Id => Some(match pattern {
                Pattern::Text(t) if matches!(RecordId::new(t.trim()), RecordId::Guid(_)) => {
                    Node::IdIs(RecordId::new(t.trim()))
                }
                Pattern::Text(t) if t.len() == 36 => {
                    // Upper-case GUIDs: the same id, matched exactly.
                    Node::IdIs(RecordId::new(&t.trim().to_ascii_lowercase()))
                }
                _ => Node::IdMatches(m),
            }),
        }
    }
}

impl Filter {
    /// Binds `q` to a dataset; `None` when cancelled.
    pub fn compile(q: &Query, ds: &Dataset, ix: &Index, cancel: &AtomicBool) -> Option<Filter> {
        let mut c = Compiler {
            ds,
            ix,
            cancel,
            uses_marks: false,
        };
        let root = c.node(q)?;
        let root = fold(root, ds, ix, cancel)?;
        Some(Filter {
            root,
            uses_marks: c.uses_marks,
        })
    }

    /// Whether record `i` matches.
    pub fn matches(&self, ds: &Dataset, ix: &Index, i: usize, marked: Marked) -> bool {
        eval(&self.root, ds, ix, i, marked)
    }

    /// The indices of matching records, in order; `None` when cancelled.
    /// Large datasets are scanned on every core.
    pub fn select(
        &self,
        ds: &Dataset,
        ix: &Index,
        marked: Marked,
        cancel: &AtomicBool,
    ) -> Option<Vec<u32>> {
        if matches!(self.root, Node::All) {
            return Some((0..ds.records.len() as u32).collect());
        }
        if let Node::Bits(b) = &self.root {
            if cancel.load(Ordering::Relaxed) {
                return None;
            }
            return Some(ones(b, ds.records.len()));
        }
        let n = ds.records.len();
        let threads = if n < 200_000 {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |t| t.get().min(8))
        };
        let scan = |range: std::ops::Range<usize>| -> Option<Vec<u32>> {
            let mut out = Vec::new();
            for chunk_start in range.clone().step_by(CHECK_EVERY) {
                if cancel.load(Ordering::Relaxed) {
                    return None;
                }
                let end = (chunk_start + CHECK_EVERY).min(range.end);
                out.extend(
                    (chunk_start..end)
                        .filter(|&i| eval(&self.root, ds, ix, i, marked))
                        .map(|i| i as u32),
                );
            }
            Some(out)
        };
        if threads == 1 {
            return scan(0..n);
        }
        let per = n.div_ceil(threads);
        let parts: Vec<Option<Vec<u32>>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let range = (t * per).min(n)..((t + 1) * per).min(n);
                    s.spawn(move || scan(range))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("the scan does not panic"))
                .collect()
        });
        let mut out = Vec::new();
        for p in parts {
            out.extend(p?);
        }
        Some(out)
    }
}

/// The set bits of `b` below `n`, in order.
fn ones(b: &[u64], n: usize) -> Vec<u32> {
    let mut out = Vec::new();
    for (w, &word) in b.iter().enumerate() {
        let mut x = word;
        while x != 0 {
            let i = w * 64 + x.trailing_zeros() as usize;
            if i >= n {
                break;
            }
            out.push(i as u32);
            x &= x - 1;
        }
    }
    out
}

fn bits_of(v: &[bool]) -> Vec<u64> {
    let mut b = vec![0u64; v.len().div_ceil(64)];
    for (w, chunk) in v.chunks(64).enumerate() {
        let mut word = 0u64;
        for (k, &x) in chunk.iter().enumerate() {
            word |= (x as u64) << k;
        }
        b[w] = word;
    }
    b
}

/// Turns what can be decided for all records at once into bitmaps, and
/// combines bitmaps with whole-word operations: a query of flags and
/// precomputed hits then costs a few thousand word operations instead of
/// a pass over the records.
fn fold(node: Node, ds: &Dataset, ix: &Index, cancel: &AtomicBool) -> Option<Node> {
    if cancel.load(Ordering::Relaxed) {
        return None;
    }
    let n = ds.records.len();
    let words = n.div_ceil(64);
    let tail = |b: &mut Vec<u64>| {
        if !n.is_multiple_of(64)
            && let Some(last) = b.last_mut()
        {
            *last &= (1u64 << (n % 64)) - 1;
        }
    };
    Some(match node {
        Node::Strings {
            mask: 0,
            tables: 0,
            members,
            ..
        } => Node::Bits(members.unwrap_or_else(|| vec![0; words])),
        Node::Nothing => Node::Bits(vec![0; words]),
        Node::External(yes) => {
            let mut b = bits_of(&ix.external);
            if !yes {
                b.iter_mut().for_each(|w| *w = !*w);
                tail(&mut b);
            }
            Node::Bits(b)
        }
        Node::Guest(yes) => {
            let mut b = bits_of(&ix.guests);
            if !yes {
                b.iter_mut().for_each(|w| *w = !*w);
                tail(&mut b);
            }
            Node::Bits(b)
        }
        Node::Not(inner) => match fold(*inner, ds, ix, cancel)? {
            Node::Bits(mut b) => {
                b.iter_mut().for_each(|w| *w = !*w);
                tail(&mut b);
                Node::Bits(b)
            }
            other => Node::Not(Box::new(other)),
        },
        Node::And(ns) => {
            let ns: Vec<Node> = ns
                .into_iter()
                .map(|x| fold(x, ds, ix, cancel))
                .collect::<Option<_>>()?;
            combine(ns, true)
        }
        Node::Or(ns) => {
            let ns: Vec<Node> = ns
                .into_iter()
                .map(|x| fold(x, ds, ix, cancel))
                .collect::<Option<_>>()?;
            combine(ns, false)
        }
        other => other,
    })
}

/// Merges the bitmaps among `ns` (AND or OR); the rest stay per record,
/// the bitmap first since it is the cheapest test.
fn combine(ns: Vec<Node>, and: bool) -> Node {
    let mut acc: Option<Vec<u64>> = None;
    let mut rest = Vec::new();
    for x in ns {
        match x {
            Node::Bits(b) => match &mut acc {
                None => acc = Some(b),
                Some(a) => {
                    for (x, y) in a.iter_mut().zip(&b) {
                        if and {
                            *x &= *y;
                        } else {
                            *x |= *y;
                        }
                    }
                }
            },
            other => rest.push(other),
        }
    }
    match (acc, rest.is_empty()) {
        (Some(b), true) => Node::Bits(b),
        (acc, _) => {
            let mut all: Vec<Node> = acc.map(Node::Bits).into_iter().collect();
            all.extend(rest);
            if and { Node::And(all) } else { Node::Or(all) }
        }
    }
}

fn eval(node: &Node, ds: &Dataset, ix: &Index, i: usize, marked: Marked) -> bool {
    let r = &ds.records[i];
    match node {
        Node::All => true,
        Node::Nothing => false,
        Node::Bits(b) => b[i / 64] & (1 << (i % 64)) != 0,
        Node::Not(n) => !eval(n, ds, ix, i, marked),
        Node::And(ns) => ns.iter().all(|n| eval(n, ds, ix, i, marked)),
        Node::Or(ns) => ns.iter().any(|n| eval(n, ds, ix, i, marked)),
        Node::Strings {
            mask,
            tables,
            members,
            set,
        } => {
            (*mask != 0 && any_in_slots(r, *mask, |s| set.contains(s)))
                || (0..TABLE_SLOTS.len()).any(|k| {
                    tables & (1 << k) != 0 && ix.table(ds, k)[i].is_some_and(|s| set.contains(s))
                })
                || members
                    .as_ref()
                    .is_some_and(|m| m[i / 64] & (1 << (i % 64)) != 0)
        }
        Node::RecordType { numbers } => r.record_type.is_some_and(|n| numbers.contains(&n)),
        Node::IdIs(id) => r.id == *id,
        Node::IdMatches(m) => m.is_match(&r.id.text()),
        Node::PackedIpMatches(m) => {
            matches!(r.client_ip, Some(ClientIp::V4 { .. })) && m.is_match(&ds.client_ip(r))
        }
        Node::External(yes) => ix.external[i] == *yes,
        Node::Guest(yes) => ix.guests[i] == *yes,
        Node::Marked(yes) => ix.chats.chat_index(i).is_some_and(&marked) == *yes,
        Node::Initiated(want) => ix.chats.of_record(i).is_some_and(|c| c.initiated == *want),
        Node::Time(cmp, at) => cmp.holds(&r.time, &at.at),
    }
}
