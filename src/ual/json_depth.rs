//! A bound on JSON nesting, checked before any parser sees a record.
//!
//! The parsers recurse once per level, and a record nested thirty
//! thousand levels deep (60 KB of `[[[[…`) would overflow the stack and
//! abort the process. Audit records nest a handful of levels; anything
//! deeper than [`MAX_DEPTH`] is a broken row, reported and skipped.

/// The deepest nesting accepted (serde_json's own limit).
pub const MAX_DEPTH: usize = 128;

/// The stack of a thread that parses records. Parsers recurse once per
/// level of nesting, and an unoptimised build spends kilobytes a level:
/// a record at the limit must not overflow a thread's default 2 MiB.
/// (Only the pages touched are ever committed.)
pub const PARSER_STACK: usize = 32 << 20;

/// A builder of parser threads.
pub fn parser_thread() -> std::thread::Builder {
    std::thread::Builder::new().stack_size(PARSER_STACK)
}

/// Does `json` nest deeper than [`MAX_DEPTH`]? Brackets inside strings do
/// not count. Linear, and nearly free for real records: a text with fewer
/// opening brackets than the limit cannot exceed it, and counting them is
/// a vectorised pass.
pub fn too_deep(json: &[u8]) -> bool {
    if bytecount::count(json, b'[') + bytecount::count(json, b'{') <= MAX_DEPTH {
        return false;
    }
    let mut depth = 0usize;
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            b'"' => {
                // Skip the string: to the next quote not escaped.
                i += 1;
                loop {
                    match memchr::memchr2(b'"', b'\\', &json[i.min(json.len())..]) {
                        None => return false,
                        Some(n) if json[i + n] == b'\\' => i += n + 2,
                        Some(n) => {
                            i += n;
                            break;
                        }
                    }
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_counted_outside_strings_only() {
        let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
        assert!(too_deep(deep.as_bytes()));
        let ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert!(!too_deep(ok.as_bytes()));
        // Many brackets side by side, or inside strings, are not deep.
        let wide = "[]".repeat(1000);
        assert!(!too_deep(wide.as_bytes()));
        let quoted = format!("{{\"a\":\"{}\\\"{}\"}}", "[".repeat(500), "{".repeat(500));
        assert!(!too_deep(quoted.as_bytes()));
        // An unclosed string or escape at the end does not run past it.
        assert!(too_deep(
            format!("{{\"x\":{}", "[".repeat(30000)).as_bytes()
        ));
    }
}
