//! The string pool: one copy of each repeated string of a dataset.
//!
//! Loader workers intern into a pool of their own (no locking on the hot
//! path); the merger folds each worker pool into the dataset's pool and
//! rewrites the handles of the records it received.

use super::record::Sym;

pub type Pool = lasso::Rodeo<Sym, ahash::RandomState>;

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
