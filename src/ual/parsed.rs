//! What parsing one piece of an export yields, before it joins the dataset.

use super::normalize::{self, Skip};
use super::pool::{Pool, block_pool};
use super::record::{JsonEnvelope, RawKind, Record, Source};

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
    /// Set by the parser of a piece of a top-level JSON array.
    pub array: Option<ArrayPiece>,
}

/// What parsing a piece of a top-level JSON array found out besides its
/// records: its elements are numbered within the piece, and whoever puts
/// the pieces in order numbers them in the file.
#[derive(Debug, Default)]
pub struct ArrayPiece {
    /// Elements taken: all of them, or those before a broken one.
    pub elements: u64,
    /// A broken element (its offset and line), after which the scan that
    /// cut the pieces may be out of step: the rest is read again from it.
    pub broken: Option<(u64, u64)>,
    /// The first key of the last element taken (what the array's records
    /// open with, to know a broken record from a broken member).
    pub last_key: Option<Box<[u8]>>,
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
            array: None,
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

    /// Parses `text` as a JSON record from `src` and takes it in, with
    /// the envelope it came in (known only once it is parsed).
    pub fn take_json(&mut self, text: &str, src: Source) -> Result<(), Skip> {
        let (mut rec, env) = normalize::from_json(text, &mut self.pool, src)?;
        rec.source.raw.kind = RawKind::Json(env);
        self.saw(env);
        self.records.push(rec);
        Ok(())
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
