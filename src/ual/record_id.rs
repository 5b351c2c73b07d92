//! The record `Id`: nearly always a lowercase GUID, which is kept as its
//! 16 bytes instead of a 36-character heap string. At a million records
//! that is tens of megabytes saved, and deduplication hashes and compares
//! two words instead of a string. Anything else is kept as written.

use std::fmt;
use std::hash::{Hash, Hasher};

#[derive(Clone, PartialEq, Eq)]
pub enum RecordId {
    /// A GUID written in the canonical lowercase form.
    Guid([u8; 16]),
    Text(Box<str>),
}

const HEX: &[u8; 16] = b"0123456789abcdef";
/// Where the hyphens of `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` are.
const HYPHENS: [usize; 4] = [8, 13, 18, 23];

impl RecordId {
    pub fn new(text: &str) -> RecordId {
        match parse_guid(text.as_bytes()) {
            Some(g) => RecordId::Guid(g),
            None => RecordId::Text(text.into()),
        }
    }

    /// The id as it was written.
    pub fn text(&self) -> IdText<'_> {
        match self {
            RecordId::Guid(g) => guid_text(g),
            RecordId::Text(t) => IdText::Text(t),
        }
    }
}

/// Where the 32 hex digits are.
const DIGITS: [usize; 32] = {
    let mut out = [0usize; 32];
    let (mut i, mut at) = (0, 0);
    while i < 36 {
        if i != 8 && i != 13 && i != 18 && i != 23 {
            out[at] = i;
            at += 1;
        }
        i += 1;
    }
    out
};

/// The value of a lowercase hex digit, 16 for anything else.
const VALUE: [u8; 256] = {
    let mut out = [16u8; 256];
    let mut c = 0;
    while c < 10 {
        out[b'0' as usize + c] = c as u8;
        c += 1;
    }
    let mut c = 0;
    while c < 6 {
        out[b'a' as usize + c] = 10 + c as u8;
        c += 1;
    }
    out
};

/// Only the canonical lowercase form: anything else would not be written
/// back exactly as it came. (It runs once per record, hence the tables.)
fn parse_guid(s: &[u8]) -> Option<[u8; 16]> {
    let s: &[u8; 36] = s.try_into().ok()?;
    if HYPHENS.iter().any(|&i| s[i] != b'-') {
        return None;
    }
    let mut out = [0u8; 16];
    let mut bad = 0u8;
    for (k, b) in out.iter_mut().enumerate() {
        let hi = VALUE[s[DIGITS[2 * k]] as usize];
        let lo = VALUE[s[DIGITS[2 * k + 1]] as usize];
        bad |= (hi | lo) & 16;
        *b = hi << 4 | (lo & 15);
    }
    (bad == 0).then_some(out)
}

/// A GUID in any case, as its 16 bytes.
pub fn parse_guid_any_case(s: &str) -> Option<[u8; 16]> {
    let s: &[u8; 36] = s.as_bytes().try_into().ok()?;
    parse_guid(&s.map(|c| c.to_ascii_lowercase()))
}

/// The canonical (lowercase) text of a GUID.
pub fn guid_text(g: &[u8; 16]) -> IdText<'static> {
    let mut out = [b'-'; 36];
    for (k, b) in g.iter().enumerate() {
        out[DIGITS[2 * k]] = HEX[(b >> 4) as usize];
        out[DIGITS[2 * k + 1]] = HEX[(b & 15) as usize];
    }
    IdText::Guid(out)
}

/// The text of a [`RecordId`], without allocating.
pub enum IdText<'a> {
    Guid([u8; 36]),
    Text(&'a str),
}

impl std::ops::Deref for IdText<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            IdText::Guid(b) => std::str::from_utf8(b).expect("hex digits and hyphens"),
            IdText::Text(t) => t,
        }
    }
}

impl Hash for RecordId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            RecordId::Guid(g) => state.write_u128(u128::from_le_bytes(*g)),
            RecordId::Text(t) => t.hash(state),
        }
    }
}

impl PartialEq<str> for RecordId {
    fn eq(&self, other: &str) -> bool {
        match self {
            RecordId::Guid(_) => &*self.text() == other,
            RecordId::Text(t) => &**t == other,
        }
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.text(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn guids_are_packed_and_written_back() {
        let g = "59d5d1bd-657f-4330-9e0e-18245a3c1a65";
        let id = RecordId::new(g);
        assert!(matches!(id, RecordId::Guid(_)));
        assert_eq!(&*id.text(), g);
        assert_eq!(id.to_string(), g);
        assert!(id == *g);
    }

    #[test]
    fn anything_else_is_kept_as_written() {
        for t in [
            "59D5D1BD-657F-4330-9E0E-18245A3C1A65",
            "{59d5d1bd-657f-4330-9e0e-18245a3c1a65}",
            "59d5d1bd657f43309e0e18245a3c1a65",
            "59d5d1bd-657f-4330-9e0e-18245a3c1a6g",
            "x",
            "",
        ] {
            let id = RecordId::new(t);
            assert!(matches!(id, RecordId::Text(_)), "{t}");
            assert_eq!(&*id.text(), t);
        }
    }

    proptest! {
        #[test]
        fn round_trip(s in "[0-9a-fA-F-]{36}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}") {
            let id = RecordId::new(&s);
            prop_assert_eq!(&*id.text(), s.as_str());
        }
    }
}
