//! What parsing one piece of an export yields, before it joins the dataset.

use super::normalize::Skip;
use super::pool::{Pool, block_pool};
use super::record::{JsonEnvelope, Record};

/// Records (with handles into their own pool) and the rows skipped.
pub struct Parsed {
    pub records: Vec<Record>,
    /// The hash of each record's id, computed by the worker that parsed
    /// it so that the merging thread only looks it up.
    pub id_hashes: Vec<u64>,
    /// (line, element of its array, why).
    pub skipped: Vec<(u64, Option<u64>, Skip)>,
    pub pool: Pool,
    pub envelopes: Vec<JsonEnvelope>,
    /// Size of the text parsed, to estimate how many records a file holds.
    pub bytes: usize,
}

impl Parsed {
    pub fn new() -> Parsed {
        Parsed::with_capacity(0)
    }

    /// Room for about `records` records.
    pub fn with_capacity(records: usize) -> Parsed {
        Parsed {
            records: Vec::with_capacity(records),
            id_hashes: Vec::new(),
            skipped: Vec::new(),
            pool: block_pool(),
            envelopes: Vec::new(),
            bytes: 0,
        }
    }

    /// Hashes every record id with the dataset's hasher.
    pub fn hash_ids(&mut self, hasher: &ahash::RandomState) {
        self.id_hashes = self
            .records
            .iter()
            .map(|r| hasher.hash_one(&r.id))
            .collect();
    }

    pub fn skip(&mut self, line: u64, why: Skip) {
        self.skipped.push((line, None, why));
    }

    /// A skipped element of a JSON array (`element` counts from 1).
    pub fn skip_at(&mut self, line: u64, element: Option<u64>, why: Skip) {
        self.skipped.push((line, element, why));
    }

    pub fn saw(&mut self, env: JsonEnvelope) {
        if !self.envelopes.contains(&env) {
            self.envelopes.push(env);
        }
    }
}

impl Default for Parsed {
    fn default() -> Self {
        Parsed::new()
    }
}
