//! What parsing one piece of an export yields, before it joins the dataset.

use super::normalize::Skip;
use super::pool::{Pool, new_pool};
use super::record::{JsonEnvelope, Record};

/// Records (with handles into their own pool) and the rows skipped.
pub struct Parsed {
    pub records: Vec<Record>,
    pub skipped: Vec<(u64, Skip)>,
    pub pool: Pool,
    pub envelopes: Vec<JsonEnvelope>,
}

impl Parsed {
    pub fn new() -> Parsed {
        Parsed {
            records: Vec::new(),
            skipped: Vec::new(),
            pool: new_pool(),
            envelopes: Vec::new(),
        }
    }

    pub fn skip(&mut self, line: u64, why: Skip) {
        self.skipped.push((line, why));
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
