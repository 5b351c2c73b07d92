//! The string pool: one copy of each repeated string of a dataset.
//!
//! Loader workers intern into a pool of their own (no locking on the hot
//! path); the merger folds each worker pool into the dataset's pool and
//! rewrites the handles of the records it received.

use super::record::Sym;

pub type Pool = lasso::Rodeo<Sym, ahash::RandomState>;

/// A dataset's strings: open while loading, then frozen, which drops the
/// lookup table that interning needs (several MB for a big export) and
/// keeps only what resolving a handle needs.
#[derive(Debug)]
pub enum Strings {
    Open(Pool),
    Frozen(lasso::RodeoResolver<Sym>),
}

impl Clone for Strings {
    /// A frozen pool is cloned open (lasso cannot clone a resolver): its
    /// strings interned again in handle order keep their handles.
    fn clone(&self) -> Self {
        match self {
            Strings::Open(p) => Strings::Open(p.clone()),
            Strings::Frozen(r) => {
                let mut p = new_pool();
                for (k, s) in r.iter() {
                    let again = p.get_or_intern(s);
                    debug_assert_eq!(again, k);
                }
                Strings::Open(p)
            }
        }
    }
}

impl Default for Strings {
    fn default() -> Self {
        Strings::Open(new_pool())
    }
}

impl Strings {
    pub fn len(&self) -> usize {
        match self {
            Strings::Open(p) => p.len(),
            Strings::Frozen(r) => r.len(),
        }
    }

    pub fn resolve(&self, s: &Sym) -> &str {
        match self {
            Strings::Open(p) => p.resolve(s),
            Strings::Frozen(r) => r.resolve(s),
        }
    }

    /// The handle of `text`; a linear search once frozen (for tests and
    /// one-off lookups, never a hot path).
    pub fn get(&self, text: &str) -> Option<Sym> {
        match self {
            Strings::Open(p) => p.get(text),
            Strings::Frozen(r) => r.iter().find(|(_, s)| *s == text).map(|(k, _)| k),
        }
    }

    /// The pool to intern into; thaws a frozen one (rare: a dataset that
    /// takes more records after loading).
    pub fn open(&mut self) -> &mut Pool {
        if let Strings::Frozen(_) = self {
            let Strings::Frozen(r) = std::mem::take(self) else {
                unreachable!()
            };
            let mut p = new_pool();
            for (_, s) in r.iter() {
                p.get_or_intern(s);
            }
            *self = Strings::Open(p);
        }
        match self {
            Strings::Open(p) => p,
            Strings::Frozen(_) => unreachable!("thawed above"),
        }
    }

    pub fn freeze(&mut self) {
        if let Strings::Open(_) = self {
            let Strings::Open(p) = std::mem::take(self) else {
                unreachable!()
            };
            *self = Strings::Frozen(p.into_resolver());
        }
    }
}

pub fn new_pool() -> Pool {
    lasso::Rodeo::with_hasher(ahash::RandomState::new())
}

/// A pool sized for one parsed block, so that it does not rehash as it fills.
pub fn block_pool() -> Pool {
    lasso::Rodeo::with_capacity_and_hasher(
        lasso::Capacity::new(
            8192,
            std::num::NonZeroUsize::new(256 << 10).expect("non-zero"),
        ),
        ahash::RandomState::new(),
    )
}

/// Interns every string of `local` into `global`; the result maps a local
/// handle's index to the global handle.
pub fn fold_into(global: &mut Pool, local: &Pool) -> Vec<Sym> {
    use lasso::Key;
    let mut table = vec![Sym::default(); local.len()];
    for (k, s) in local.iter() {
        table[k.into_usize()] = global.get_or_intern(s);
    }
    table
}

/// The global handle for a local one, given the table from [`fold_into`].
pub fn remap(table: &[Sym], local: Sym) -> Sym {
    use lasso::Key;
    table[local.into_usize()]
}
