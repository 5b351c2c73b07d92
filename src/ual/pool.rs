//! The string pool: one copy of each repeated string of a dataset.
//!
//! Loader workers intern into a pool of their own (no locking on the hot
//! path) and hash each string with the process's string hasher; the
//! merging thread folds each worker pool into the dataset's pool with those
//! hashes, so that the one serial step of loading only looks strings up.
//!
//! The strings sit end to end in one `String`, with one end offset per
//! string. A general interner (lasso, used here before) keeps its strings
//! in arena blocks that double as they fill and a 16-byte pointer per
//! string: on the 500k-row benchmark export (657k strings, 22 MB of text)
//! that was 46 MB once loading was over, against 27 MB packed. One big
//! buffer also grows in place (the allocator remaps its pages), so the
//! pool never holds two copies of itself.

use std::num::NonZeroU32;
use std::sync::OnceLock;

use hashbrown::HashTable;

/// A handle to a string of a [`Pool`]: its index, stored plus one so that
/// `Option<Sym>` takes no more room than `Sym`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(NonZeroU32);

impl Sym {
    /// The index of the string in its pool (handles are dense from 0).
    pub fn index(self) -> usize {
        self.0.get() as usize - 1
    }

    fn from_index(i: usize) -> Sym {
        let n = u32::try_from(i + 1).expect("fewer than 4 billion distinct strings");
        Sym(NonZeroU32::new(n).expect("one more than an index is not zero"))
    }
}

impl std::fmt::Debug for Sym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sym({})", self.index())
    }
}

/// The hasher of every pool of this process: randomly seeded, so that a
/// crafted export cannot make its strings collide (interning stays linear),
/// and shared, so that a worker's hashes hold in the dataset's pool.
fn hasher() -> &'static ahash::RandomState {
    static HASHER: OnceLock<ahash::RandomState> = OnceLock::new();
    HASHER.get_or_init(ahash::RandomState::new)
}

/// Interned strings. Open while loading; [`Pool::freeze`] drops what only
/// interning needs (the lookup table and the hashes).
#[derive(Debug, Clone)]
pub struct Pool {
    text: String,
    /// Where string `i` ends in `text`; it starts where `i - 1` ends. A
    /// `u64`, so that no amount of text can overflow it.
    ends: Vec<u64>,
    lookup: Option<Lookup>,
}

#[derive(Debug, Clone, Default)]
struct Lookup {
    /// String indices, by hash.
    table: HashTable<u32>,
    /// The hash of each string, by index.
    hashes: Vec<u64>,
}

impl Default for Pool {
    fn default() -> Self {
        Pool::new()
    }
}

impl Pool {
    pub fn new() -> Pool {
        Pool {
            text: String::new(),
            ends: Vec::new(),
            lookup: Some(Lookup::default()),
        }
    }

    /// A pool with room for `strings` strings of `bytes` bytes in all.
    pub fn with_capacity(strings: usize, bytes: usize) -> Pool {
        Pool {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(strings),
            lookup: Some(Lookup {
                table: HashTable::with_capacity(strings),
                hashes: Vec::with_capacity(strings),
            }),
        }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    fn at(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    /// The text of `s`.
    pub fn resolve(&self, s: Sym) -> &str {
        self.at(s.index())
    }

    /// Every string with its handle, in handle order.
    pub fn iter(&self) -> impl Iterator<Item = (Sym, &str)> {
        (0..self.len()).map(|i| (Sym::from_index(i), self.at(i)))
    }

    /// The handle of `text`, if it is in the pool (a linear search once
    /// frozen: for tests and one-off lookups, never a hot path).
    pub fn get(&self, text: &str) -> Option<Sym> {
        match &self.lookup {
            Some(l) => {
                let h = hasher().hash_one(text);
                l.table
                    .find(h, |&i| self.at(i as usize) == text)
                    .map(|&i| Sym::from_index(i as usize))
            }
            None => self.iter().find(|(_, s)| *s == text).map(|(k, _)| k),
        }
    }

    pub fn get_or_intern(&mut self, text: &str) -> Sym {
        let h = hasher().hash_one(text);
        self.intern_hashed(text, h)
    }

    /// Interns `text`, whose hash by the pool hasher is `h`.
    fn intern_hashed(&mut self, text: &str, h: u64) -> Sym {
        self.thaw();
        let Pool {
            text: all,
            ends,
            lookup,
        } = self;
        let l = lookup.as_mut().expect("thawed above");
        let at = |i: u32| {
            let i = i as usize;
            let start = if i == 0 { 0 } else { ends[i - 1] as usize };
            &all[start..ends[i] as usize]
        };
        if let Some(&i) = l.table.find(h, |&i| at(i) == text) {
            return Sym::from_index(i as usize);
        }
        let sym = Sym::from_index(ends.len());
        let index = (sym.index()) as u32;
        let hashes = &l.hashes;
        l.table.insert_unique(h, index, |&i| hashes[i as usize]);
        l.hashes.push(h);
        all.push_str(text);
        ends.push(all.len() as u64);
        sym
    }

    /// Interns every string of `local` (a worker's pool, still open); the
    /// result maps a local handle's index to the handle here.
    pub fn absorb(&mut self, local: &Pool) -> Vec<Sym> {
        let hashes = local.lookup.as_ref().map(|l| &l.hashes);
        local
            .iter()
            .map(|(k, s)| match hashes {
                Some(h) => self.intern_hashed(s, h[k.index()]),
                None => self.get_or_intern(s),
            })
            .collect()
    }

    /// Loading is over: drops the lookup table and the hashes, and the
    /// spare room of the text.
    pub fn freeze(&mut self) {
        self.lookup = None;
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }

    /// Rebuilds the lookup of a frozen pool (rare: a dataset that takes
    /// more records after loading).
    fn thaw(&mut self) {
        if self.lookup.is_some() {
            return;
        }
        let hashes: Vec<u64> = (0..self.len())
            .map(|i| hasher().hash_one(self.at(i)))
            .collect();
        let mut table = HashTable::with_capacity(hashes.len());
        for (i, &h) in hashes.iter().enumerate() {
            table.insert_unique(h, i as u32, |&j| hashes[j as usize]);
        }
        self.lookup = Some(Lookup { table, hashes });
    }
}

/// A pool sized for one parsed block, so that it does not grow as it fills.
pub fn block_pool() -> Pool {
    Pool::with_capacity(8192, 256 << 10)
}

/// The handle here for a worker's handle, given the table from
/// [`Pool::absorb`].
pub fn remap(table: &[Sym], local: Sym) -> Sym {
    table[local.index()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_is_one_handle_and_resolves_back() {
        let mut p = Pool::new();
        let a = p.get_or_intern("alpha");
        let e = p.get_or_intern("");
        let b = p.get_or_intern("beta");
        assert_eq!(p.get_or_intern("alpha"), a);
        assert_eq!(p.get_or_intern(""), e);
        assert_ne!(a, b);
        assert_eq!(
            (p.resolve(a), p.resolve(e), p.resolve(b)),
            ("alpha", "", "beta")
        );
        assert_eq!(p.get("beta"), Some(b));
        assert_eq!(p.get("gamma"), None);
        assert_eq!(p.len(), 3);
        assert_eq!(std::mem::size_of::<Option<Sym>>(), 4);
    }

    #[test]
    fn frozen_keeps_every_handle_and_thaws_on_demand() {
        let mut p = Pool::new();
        let words: Vec<String> = (0..5000).map(|i| format!("w{i}é")).collect();
        let syms: Vec<Sym> = words.iter().map(|w| p.get_or_intern(w)).collect();
        p.freeze();
        for (w, &s) in words.iter().zip(&syms) {
            assert_eq!(p.resolve(s), w);
        }
        assert_eq!(p.get("w4999é"), Some(syms[4999]));
        let copy = p.clone();
        // A frozen pool takes new strings after rebuilding its lookup.
        assert_eq!(p.get_or_intern("w17é"), syms[17]);
        let new = p.get_or_intern("new");
        assert_eq!(new.index(), 5000);
        assert_eq!(copy.resolve(syms[3]), "w3é");
        assert_eq!(copy.len(), 5000);
    }

    #[test]
    fn a_worker_pool_folds_in_with_its_hashes() {
        let mut global = Pool::new();
        let shared = global.get_or_intern("shared");
        let mut local = block_pool();
        let l_new = local.get_or_intern("new");
        let l_shared = local.get_or_intern("shared");
        let table = global.absorb(&local);
        assert_eq!(remap(&table, l_shared), shared);
        assert_eq!(global.resolve(remap(&table, l_new)), "new");
        // The same fold into a frozen pool (fetched records merged later).
        global.freeze();
        let table = global.absorb(&local);
        assert_eq!(remap(&table, l_shared), shared);
        assert_eq!(global.len(), 2);
    }
}
