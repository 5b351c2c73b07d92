//! One page of Graph `auditLogRecord`s as the audit log query API sends
//! it (`{"@odata.nextLink": …, "value": [ … ]}`), split into its records
//! without trusting it to be valid JSON.
//!
//! Users of the API report pages whose JSON breaks inside one record (a
//! stray control character, a cut string). `serde_json` would lose the
//! whole page; here the page's structure is found by tracking strings
//! and nesting only (as the export loader does), each record is parsed
//! on its own, and a broken one costs that record alone: the rest of the
//! page and the next link are kept.

use serde_json::Value;

use super::json_scan::{object_rest, page_array, value_end};

/// A page's records, the ones that broke, and where the next page is.
#[derive(Debug, Default, PartialEq)]
pub struct Page {
    /// Each record as compact JSON (one line).
    pub records: Vec<String>,
    pub broken: Vec<Broken>,
    /// `@odata.nextLink`, when there are more pages.
    pub next_link: Option<String>,
}

/// A record of the page that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Broken {
    /// Its place in the page's `value` array, from 1.
    pub element: usize,
    /// Its first byte in the page body.
    pub offset: usize,
    pub reason: String,
}

/// A Graph `auditLogRecord`: an object with an `id` and the record's
/// own fields (what an object nested in a record never has both of).
fn is_record(v: &Value) -> bool {
    v.get("id").is_some_and(Value::is_string)
        && (v.get("auditData").is_some() || v.get("createdDateTime").is_some())
}

/// Splits a page. `Err` when the body is not a page at all (no `value`
/// array): that is the server's error, not one broken record.
pub fn split(body: &[u8]) -> Result<Page, String> {
    // The common case: the page is valid JSON.
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let Some(items) = v.get("value").and_then(Value::as_array) else {
            return Err("the page has no \"value\" array of records".into());
        };
        let mut page = Page {
            next_link: next_link_of(&v),
            ..Page::default()
        };
        for (i, item) in items.iter().enumerate() {
            if is_record(item) {
                page.records.push(item.to_string());
            } else {
                page.broken.push(Broken {
                    element: i + 1,
                    offset: 0,
                    reason: "not an auditLogRecord (no id and record fields)".into(),
                });
            }
        }
        return Ok(page);
    }
    split_broken(body)
}

fn next_link_of(v: &Value) -> Option<String> {
    v.get("@odata.nextLink")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// The slow path, for a page that is not valid JSON.
fn split_broken(b: &[u8]) -> Result<Page, String> {
    let start = b
        .iter()
        .position(|c| !is_ws(*c))
        .filter(|&i| b[i] == b'{')
        .ok_or("the page is not a JSON object")?;
    let open = page_array(b, start).ok_or("the page has no \"value\" array of records")?;
    let mut page = Page {
        // The members before `value` (Graph often sends the next link first).
        next_link: member_string(&b[start..open], b"@odata.nextLink"),
        ..Page::default()
    };
    let mut pos = open + 1;
    let mut element = 0;
    let closed = loop {
        while pos < b.len() && (is_ws(b[pos]) || b[pos] == b',') {
            pos += 1;
        }
        match b.get(pos) {
            None => break None,
            Some(b']') => break Some(pos + 1),
            Some(_) => {}
        }
        element += 1;
        let end = value_end(b, pos);
        let parsed = end.and_then(|e| serde_json::from_slice::<Value>(&b[pos..e]).ok());
        match (end, parsed) {
            (Some(e), Some(v)) if is_record(&v) => {
                page.records.push(v.to_string());
                pos = e;
            }
            (Some(e), Some(_)) => {
                page.broken.push(Broken {
                    element,
                    offset: pos,
                    reason: "not an auditLogRecord (no id and record fields)".into(),
                });
                pos = e;
            }
            (end, _) => {
                let reason = match serde_json::from_slice::<Value>(&b[pos..end.unwrap_or(b.len())])
                {
                    Err(e) => format!("broken JSON: {e}"),
                    Ok(_) => "broken JSON".into(),
                };
                page.broken.push(Broken {
                    element,
                    offset: pos,
                    reason,
                });
                // Go on at the next record that parses whole: the broken
                // one may have left a string open, so its own end cannot
                // be trusted.
                match next_record(b, pos + 1) {
                    Some(at) => pos = at,
                    None => break None,
                }
            }
        }
    };
    if page.next_link.is_none()
        && let Some(after) = closed
    {
        // The members after `value`.
        let rest = object_rest(b, after).map_or(b.len(), |e| e);
        page.next_link = member_string(&b[after..rest], b"@odata.nextLink");
    }
    Ok(page)
}

/// The start of the next element, after `from`, that parses whole as a
/// record: an object opened right after a `,` or `[` and followed by a
/// key. An object that parses but is not a record is stepped over whole,
/// so its own inner objects are not tried one by one.
fn next_record(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        let at = super::json_scan::next_object_after(b, i)?;
        match value_end(b, at) {
            Some(e) => match serde_json::from_slice::<Value>(&b[at..e]) {
                Ok(v) if is_record(&v) => return Some(at),
                Ok(_) => i = e,
                Err(_) => i = at + 1,
            },
            None => i = at + 1,
        }
    }
}

/// The string value of the member `key` among the members in `b` (a slice
/// of a page object's text that holds whole members, or the start of
/// one). Found by its quoted key, as a page's top-level members are short.
fn member_string(b: &[u8], key: &[u8]) -> Option<String> {
    let mut quoted = Vec::with_capacity(key.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(key);
    quoted.push(b'"');
    let at = memchr::memmem::find(b, &quoted)? + quoted.len();
    let mut i = at;
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    if b.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    let end = value_end(b, i)?;
    serde_json::from_slice::<String>(&b[i..end])
        .ok()
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> String {
        format!(
            r#"{{"id":"{id}","createdDateTime":"2026-11-02T09:15:04Z","auditData":{{"Id":"{id}","Members":[{{"UPN":"a@b.c"}}]}}}}"#
        )
    }

    #[test]
    fn a_valid_page_gives_its_records_and_next_link() {
        let body = format!(
            r#"{{"@odata.context":"x","value":[{},{}],"@odata.nextLink":"https://g/next"}}"#,
            record("1"),
            record("2")
        );
        let p = split(body.as_bytes()).unwrap();
        assert_eq!(p.records.len(), 2);
        assert!(p.broken.is_empty());
        assert_eq!(p.next_link.as_deref(), Some("https://g/next"));
        let last = format!(r#"{{"value":[{}]}}"#, record("3"));
        assert_eq!(split(last.as_bytes()).unwrap().next_link, None);
    }

    #[test]
    fn a_broken_record_costs_itself_only_wherever_the_next_link_is() {
        // A control character in a string, then a string left open: each
        // costs its own record, the others and the link are kept.
        let bad_ctl = r#"{"id":"b1","createdDateTime":"x","auditData":{"Name":"tab	here"}}"#;
        let bad_open = r#"{"id":"b2","createdDateTime":"x","auditData":{"Name":"open}}"#;
        for link_first in [true, false] {
            let members = format!(
                "[{}, {bad_ctl}, {}, {bad_open}, {}]",
                record("1"),
                record("2"),
                record("3")
            );
            let body = if link_first {
                format!(r#"{{"@odata.nextLink":"https://g/n?$skiptoken=2","value":{members}}}"#)
            } else {
                format!(r#"{{"value":{members},"@odata.nextLink":"https://g/n?$skiptoken=2"}}"#)
            };
            let p = split(body.as_bytes()).unwrap();
            let ids: Vec<String> = p
                .records
                .iter()
                .map(|r| serde_json::from_str::<Value>(r).unwrap()["id"].to_string())
                .collect();
            assert_eq!(ids, ["\"1\"", "\"2\"", "\"3\""], "link first: {link_first}");
            let at: Vec<usize> = p.broken.iter().map(|b| b.element).collect();
            assert_eq!(at, [2, 4]);
            assert!(p.broken[0].reason.contains("broken JSON"), "{:?}", p.broken);
            assert_eq!(p.next_link.as_deref(), Some("https://g/n?$skiptoken=2"));
        }
    }

    #[test]
    fn a_page_cut_short_keeps_what_came_and_has_no_next_link() {
        let body = format!(r#"{{"value":[{},{}"#, record("1"), &record("2")[..30]);
        let p = split(body.as_bytes()).unwrap();
        assert_eq!(p.records.len(), 1);
        assert_eq!(p.broken.len(), 1);
        assert_eq!(p.next_link, None);
    }

    #[test]
    fn what_is_not_a_page_is_an_error_not_an_empty_page() {
        assert!(split(b"<html>503</html>").is_err());
        assert!(split(br#"{"error":{"code":"x"}}"#).is_err());
        assert!(split(br#"{"error":{"code":"x"}"#).is_err());
    }

    #[test]
    fn objects_nested_in_a_broken_record_are_not_taken_for_records() {
        // The broken record holds member objects; the resync must not
        // surface them as records of their own.
        let bad = r#"{"id":"b","createdDateTime":"x","auditData":{"Members":[{"UPN":"m@x.y","Role":1},{"UPN":"n@x.y"}],"Bad":"a	b"}}"#;
        let body = format!(r#"{{"value":[{bad},{}]}}"#, record("ok"));
        let p = split(body.as_bytes()).unwrap();
        assert_eq!(p.records.len(), 1);
        assert!(p.records[0].contains("\"ok\""));
        assert_eq!(p.broken.len(), 1);
    }
}
