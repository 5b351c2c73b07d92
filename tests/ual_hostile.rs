//! Exports that broke loading before, each made here: nesting deep enough
//! to overflow a parser's stack, broken elements inside one-line arrays
//! and Graph pages, records that share an `Id`, UTF-16 without a
//! byte-order mark or with two, and exports from a pipe. Every one loads
//! what can be loaded, reports what cannot with its place, and never
//! aborts the process.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chatevict::ual::{self, Dataset, LoadOptions, Progress};
use common::*;
use serde_json::{Value, json};

const H: &str = "2f1a7c3e-0b5d-4c6e-9a8f-1d2e3f4a5b6c";

fn record(i: usize) -> Value {
    json!({
        "CreationTime": format!("2026-11-01T08:{:02}:{:02}", i / 60 % 60, i % 60),
        "Id": format!("{i:08x}-0000-4000-8000-000000000000"),
        "Operation": "MessageSent",
        "OrganizationId": H,
        "RecordType": 25,
        "UserKey": format!("{i:08x}-1111-4111-8111-111111111111"),
        "UserId": format!("user{i}@contoso.com"),
        "Workload": "MicrosoftTeams",
        "ChatThreadId": format!("19:{:032x}@thread.v2", i % 7),
        "CommunicationType": "GroupChat",
        "Members": [
            {"UPN": format!("user{i}@contoso.com"), "OrganizationId": H, "Role": 1},
            {"UPN": "rob@fabrikam.com", "OrganizationId": "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "Role": 1}
        ],
    })
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// `(line, element, reason)` of every skipped row.
fn skipped(ds: &Dataset) -> Vec<(u64, Option<u64>, String)> {
    ds.problems
        .iter()
        .map(|p| (p.line, p.element, p.reason.to_string()))
        .collect()
}

fn ids(ds: &Dataset) -> Vec<usize> {
    ds.records
        .iter()
        .filter_map(|r| usize::from_str_radix(r.id.to_string().get(..8)?, 16).ok())
        .collect()
}

/// A record nested `levels` deep in an unknown field.
fn deep(i: usize, levels: usize) -> String {
    let mut r = record(i).to_string();
    r.pop();
    format!(
        "{r},\"Extra\":{}{}}}",
        "[".repeat(levels),
        "]".repeat(levels)
    )
}

#[test]
fn deep_nesting_is_a_broken_row_in_every_shape() {
    let d = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..5)
        .map(|i| {
            if i == 2 {
                deep(i, 30_000)
            } else {
                record(i).to_string()
            }
        })
        .collect();
    // NDJSON, a one-line array, a pretty array, PowerShell's AuditData
    // string, a Purview CSV cell, and nesting just at the limit.
    let ndjson = write(
        d.path(),
        "deep.ndjson",
        (lines.join("\n") + "\n").as_bytes(),
    );
    let array = write(
        d.path(),
        "deep.json",
        format!("[{}]", lines.join(",")).as_bytes(),
    );
    let pretty = write(
        d.path(),
        "deep-pretty.json",
        format!("[\n  {}\n]\n", lines.join(",\n  ")).as_bytes(),
    );
    let ps: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| json!({"RecordType": "MicrosoftTeams", "Identity": format!("{i:08x}-0000-4000-8000-000000000000"), "AuditData": l}))
        .collect();
    let powershell = write(
        d.path(),
        "deep-ps.json",
        serde_json::to_string(&ps).unwrap().as_bytes(),
    );
    let audit: Vec<Vec<u8>> = lines.iter().map(|l| l.clone().into_bytes()).collect();
    let purview = write(d.path(), "deep.csv", &purview_csv(&audit));
    for (path, line) in [
        (&ndjson, 3),
        (&array, 1),
        (&pretty, 4),
        (&powershell, 1),
        (&purview, 4),
    ] {
        let ds = load(std::slice::from_ref(path));
        assert_eq!(ids(&ds), [0, 1, 3, 4], "{}", path.display());
        let s = skipped(&ds);
        assert_eq!(s.len(), 1, "{}: {s:?}", path.display());
        assert_eq!(s[0].0, line, "{}: {s:?}", path.display());
        assert!(s[0].2.contains("nested deeper than 128 levels"), "{s:?}");
    }
    let ok = write(d.path(), "limit.ndjson", (deep(9, 120) + "\n").as_bytes());
    assert_eq!(load(&[ok]).records.len(), 1, "120 levels are fine");
    // Through the binary, each command: no abort, the row named.
    for cmd in ["events", "chats", "plan"] {
        let (code, _, err) = run(&[cmd, ndjson.to_str().unwrap()]);
        assert_eq!(code, 0, "{cmd}: {err}");
        assert!(
            err.contains("deep.ndjson:3: invalid AuditData JSON (nested deeper than 128 levels)"),
            "{cmd}: {err}"
        );
    }
}

/// A byte that is not UTF-8 (a Latin-1 `é` in a chat name, as a script
/// that wrote the file in the wrong encoding leaves it) costs its own
/// record and nothing else, in every shape, and is reported with its
/// place. (It once dropped everything after it in JSON files held whole.)
#[test]
fn a_byte_that_is_not_utf8_costs_only_its_record_in_every_shape() {
    let d = tempfile::tempdir().unwrap();
    let latin1 = |i: usize| -> Vec<u8> {
        let s = record(i).to_string();
        let mut b = Vec::new();
        let (head, tail) = s.split_once("GroupChat").unwrap();
        b.extend_from_slice(head.as_bytes());
        b.extend_from_slice(b"Caf\xe9 GroupChat");
        b.extend_from_slice(tail.as_bytes());
        b
    };
    let items: Vec<Vec<u8>> = (0..6)
        .map(|i| {
            if i == 2 {
                latin1(i)
            } else {
                record(i).to_string().into_bytes()
            }
        })
        .collect();
    let join = |sep: &[u8]| items.join(sep);
    let cat = |parts: &[&[u8]]| parts.concat();
    let shapes: Vec<(&str, Vec<u8>, u64, Option<u64>)> = vec![
        ("one-line.json", cat(&[b"[", &join(b","), b"]"]), 1, Some(3)),
        (
            "pretty.json",
            cat(&[b"[\n  ", &join(b",\n  "), b"\n]\n"]),
            4,
            Some(3),
        ),
        ("stream.json", cat(&[&join(b"\n"), b"\n"]), 3, None),
        (
            "page.json",
            cat(&[b"{\"value\":[", &join(b","), b"]}"]),
            1,
            Some(3),
        ),
        ("glued.json", cat(&[b"[", &join(b"]["), b"]"]), 1, Some(1)),
        (
            "objects.json",
            cat(&[b"{\n", &join(b"\n")[1..], b"\n"]),
            4,
            None,
        ),
        ("purview.csv", purview_csv(&items), 4, None),
        // NDJSON whose second line is a whole Graph page of five records.
        (
            "pages.ndjson",
            cat(&[
                &items[0],
                b"\n{\"value\":[",
                &items[1..].join(&b","[..]),
                b"]}\n",
            ]),
            2,
            Some(2),
        ),
    ];
    for (name, bytes, line, element) in shapes {
        let p = write(d.path(), name, &bytes);
        let ds = load(&[p]);
        let s = skipped(&ds);
        assert_eq!(ids(&ds), [0, 1, 3, 4, 5], "{name}: {s:?}");
        assert_eq!(s.len(), 1, "{name}: {s:?}");
        assert_eq!((s[0].0, s[0].1), (line, element), "{name}: {s:?}");
        assert!(s[0].2.contains("UTF-8"), "{name}: {s:?}");
    }
}

/// A Purview CSV export of these AuditData texts, bytes as they are.
fn purview_csv(audit: &[Vec<u8>]) -> Vec<u8> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record([
        "RecordId",
        "CreationDate",
        "RecordType",
        "Operation",
        "UserId",
        "AuditData",
    ])
    .unwrap();
    for (i, a) in audit.iter().enumerate() {
        let id = format!("{i:08x}-0000-4000-8000-000000000000");
        csv.write_record([
            id.as_bytes(),
            b"2026-11-01T08:00:00",
            b"25",
            b"MessageSent",
            b"u@contoso.com",
            a,
        ])
        .unwrap();
    }
    csv.into_inner().unwrap()
}

/// A one-line array of `n` records with element `k` (from 1) broken by
/// `breaker`.
/// How an element is broken.
type Breaker = fn(String) -> String;

fn one_line(n: usize, broken: &[(usize, Breaker)]) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| {
            let s = record(i).to_string();
            match broken.iter().find(|(k, _)| *k == i + 1) {
                Some((_, f)) => f(s),
                None => s,
            }
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// Arrays of arrays (pages glued with `jq -s`), pages inside an array,
/// a `]` too many and a string where a record should be: every record
/// loads, each oddity is reported once with its place.
#[test]
fn arrays_inside_arrays_and_stray_brackets() {
    let r = |i| record(i).to_string();
    let d = tempfile::tempdir().unwrap();
    let cases = [
        (
            "nested.json",
            format!("[[{},{}],[{}]]", r(0), r(1), r(2)),
            vec![],
        ),
        (
            "pages.json",
            format!(
                "[{{\"value\":[{},{}],\"@odata.nextLink\":\"x]\"}},{{\"value\":[{}]}}]",
                r(0),
                r(1),
                r(2)
            ),
            vec![],
        ),
        (
            "stray.json",
            format!("[{},{}],{}]", r(0), r(1), r(2)),
            vec![(1, None, "a ']' too many after element 2".to_string())],
        ),
        (
            "early.json",
            format!("[{},]{},{}]", r(0), r(1), r(2)),
            vec![(1, None, "a ',' outside any array".to_string())],
        ),
        (
            "string.json",
            format!("[{},\"x,{},{}]", r(0), r(1), r(2)),
            vec![(1, Some(2), "not an audit record".to_string())],
        ),
    ];
    for (name, text, problems) in cases {
        let p = write(d.path(), name, text.as_bytes());
        let ds = load(&[p]);
        let mut got = ids(&ds);
        got.sort_unstable();
        // In string.json the string swallows the opening of element 2,
        // which is found again.
        assert_eq!(got, [0, 1, 2], "{name}: {:?}", skipped(&ds));
        let seen = skipped(&ds);
        assert_eq!(seen.len(), problems.len(), "{name}: {seen:?}");
        for ((line, el, why), (l, e, w)) in seen.iter().zip(&problems) {
            assert_eq!((line, el), (l, e), "{name}: {seen:?}");
            assert!(why.contains(w.as_str()), "{name}: {seen:?}");
        }
    }
}

#[test]
fn a_broken_element_costs_only_itself_whatever_breaks_it() {
    let d = tempfile::tempdir().unwrap();
    let breakers: Vec<(&str, Breaker)> = vec![
        // A quote too many leaves a string open for the rest of the line.
        ("stray quote", |s| {
            s.replacen("\"MessageSent\"", "\"Mess\"ageSent\"", 1)
        }),
        ("missing comma", |s| {
            s.replacen(",\"RecordType\"", "\"RecordType\"", 1)
        }),
        ("bad number", |s| s.replacen(":25,", ":2.5.5,", 1)),
        ("cut short", |s| s[..s.len() / 2].to_owned()),
        ("a brace too many", |s| s.replacen("\"}]", "\"}}]", 1)),
        ("lost bracket", |s| s.replacen("]", "", 1)),
        ("backslash at the end of a string", |s| {
            s.replacen("MessageSent\"", "MessageSent\\\"", 1)
        }),
    ];
    for (what, f) in breakers {
        let text = one_line(1000, &[(11, f)]);
        let p = write(d.path(), "broken.json", text.as_bytes());
        let ds = load(&[p]);
        let s = skipped(&ds);
        assert_eq!(ds.records.len(), 999, "{what}: {s:?}");
        assert!(!ids(&ds).contains(&10), "{what}");
        assert_eq!(s.len(), 1, "{what}: {s:?}");
        assert_eq!((s[0].0, s[0].1), (1, Some(11)), "{what}: {s:?}");
    }
    // Several broken elements, the first and the last among them.
    let text = one_line(
        300,
        &[
            (1, |s| s.replacen("\"Id\"", "\"Id", 1)),
            (150, |s| s.replacen(":25,", ":,", 1)),
            (151, |s| s.replacen("\"MessageSent\"", "\"Mess\"age\"", 1)),
            (300, |s| s.replacen("}", "", 1)),
        ],
    );
    let p = write(d.path(), "many.json", text.as_bytes());
    let ds = load(&[p]);
    assert_eq!(ds.records.len(), 296, "{:?}", skipped(&ds));
    let elements: Vec<Option<u64>> = skipped(&ds).iter().map(|s| s.1).collect();
    assert_eq!(elements, [Some(1), Some(150), Some(151), Some(300)]);
}

#[test]
fn through_the_binary_the_broken_element_is_named_and_the_rest_loads() {
    let d = tempfile::tempdir().unwrap();
    let text = one_line(
        1000,
        &[(11, |s| {
            s.replacen("\"MessageSent\"", "\"Mess\"ageSent\"", 1)
        })],
    );
    let p = write(d.path(), "arr.json", text.as_bytes());
    let (code, out, err) = run(&["events", p.to_str().unwrap(), "--stats"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["records"].as_u64(), v["skipped"].as_u64()),
        (Some(999), Some(1))
    );
    assert!(
        err.contains("arr.json:1 (element 11): invalid AuditData JSON"),
        "{err}"
    );
    assert!(err.contains("loaded 999 records"), "{err}");
}

#[test]
fn a_graph_page_with_one_broken_record_keeps_the_others() {
    let d = tempfile::tempdir().unwrap();
    let graph = |i: usize| {
        json!({
            "id": format!("{i:08x}-0000-4000-8000-000000000000"),
            "createdDateTime": "2026-11-01T08:00:00Z",
            "auditLogRecordType": "MicrosoftTeams",
            "operation": "MessageSent",
            "organizationId": H,
            "userPrincipalName": format!("user{i}@contoso.com"),
            "auditData": record(i),
        })
        .to_string()
    };
    let mut items: Vec<String> = (0..20).map(graph).collect();
    items[4] = items[4].replacen("\"MessageSent\"", "\"Mess\"ageSent\"", 1);
    let page = format!(
        "{{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#x\",\"@odata.nextLink\":\"https://x/?$skiptoken=a\",\"value\":[{}]}}",
        items.join(",")
    );
    let p = write(d.path(), "page.json", page.as_bytes());
    let ds = load(&[p]);
    assert_eq!(ds.records.len(), 19, "{:?}", skipped(&ds));
    assert_eq!(
        skipped(&ds).iter().map(|s| s.1).collect::<Vec<_>>(),
        [Some(5)]
    );
}

#[test]
fn different_records_that_share_an_id_are_kept() {
    let d = tempfile::tempdir().unwrap();
    let mut a = record(1);
    let mut b = record(1);
    b["Operation"] = "ChatCreated".into();
    let mut c = record(1);
    c["CreationTime"] = "2026-11-02T00:00:00".into();
    // The same record again (another export of the same day) is a copy,
    // even with other fields around it.
    a["Extra"] = "x".into();
    let lines = [record(1), b, c, a, record(2)]
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    let p = write(d.path(), "ids.ndjson", lines.as_bytes());
    let ds = load(std::slice::from_ref(&p));
    assert_eq!(ds.records.len(), 4);
    assert_eq!(ds.duplicates, 1);
    assert_eq!(ds.id_conflicts, 2);
    let (code, out, _) = run(&["events", p.to_str().unwrap(), "--stats"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&v["records"], &v["duplicates"], &v["id_conflicts"]),
        (&json!(4), &json!(1), &json!(2))
    );
    assert_eq!(v["files"][0]["id_conflicts"], 2);
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    text.encode_utf16()
        .flat_map(|u| {
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        })
        .collect()
}

#[test]
fn utf16_without_a_bom_and_doubled_boms_are_read() {
    let d = tempfile::tempdir().unwrap();
    let text = format!("[{},{}]", record(1), record(2));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("le.json", utf16(&text, false), "utf-16le"),
        ("be.json", utf16(&text, true), "utf-16be"),
        (
            "le-2bom.json",
            [&[0xff, 0xfe][..], &[0xff, 0xfe], &utf16(&text, false)].concat(),
            "utf-16le",
        ),
        (
            "utf8-2bom.json",
            [
                &[0xef, 0xbb, 0xbf][..],
                &[0xef, 0xbb, 0xbf],
                text.as_bytes(),
            ]
            .concat(),
            "utf-8-bom",
        ),
    ];
    for (name, bytes, enc) in cases {
        let p = write(d.path(), name, &bytes);
        let (code, out, err) = run(&["events", p.to_str().unwrap(), "--stats"]);
        assert_eq!(code, 0, "{name}: {err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["records"], 2, "{name}: {err}");
        assert_eq!(v["files"][0]["encoding"], enc, "{name}");
    }
    // A UTF-16 CSV without a BOM (Export-Csv -Encoding Unicode, BOM lost
    // on the way).
    let csv = format!(
        "RecordId,CreationDate,RecordType,Operation,UserId,AuditData\r\n{},2026-11-01T08:00:01,25,MessageSent,u@contoso.com,\"{}\"\r\n",
        "00000001-0000-4000-8000-000000000000",
        record(1).to_string().replace('"', "\"\"")
    );
    let p = write(d.path(), "le.csv", &utf16(&csv, false));
    assert_eq!(load(&[p]).records.len(), 1);
}

#[test]
fn standard_input_and_a_fifo_are_read_as_streams() {
    let d = tempfile::tempdir().unwrap();
    let text = (0..50)
        .map(|i| record(i).to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_chatevict"))
        .args(["events", "-", "--stats"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["records"], 50);
    assert_eq!(v["files"][0]["path"], "-");
    // A plan of standard input names it, with the SHA-256 of what came.
    let mut child = Command::new(env!("CARGO_BIN_EXE_chatevict"))
        .args(["plan", "-q", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    use sha2::Digest;
    let sha: String = sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(plan["source_files"][0]["sha256"], sha);

    let fifo = d.path().join("export.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let writer = {
        let (fifo, text) = (fifo.clone(), text.clone());
        std::thread::spawn(move || std::fs::write(fifo, text).unwrap())
    };
    let ds = load(std::slice::from_ref(&fifo));
    writer.join().unwrap();
    assert_eq!(ds.records.len(), 50);
    // Its records' raw text can be shown again.
    assert!(
        ds.raw_audit_data(&ds.records[7])
            .unwrap()
            .contains("user7@")
    );
    assert!(ds.problems.is_empty(), "{:?}", skipped(&ds));
}

#[test]
fn output_options_say_what_they_do() {
    let p = fixture("triage-chats.ndjson");
    let p = p.to_str().unwrap();
    let (code, _, err) = run(&["events", p, "--stats", "--format", "csv"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--stats prints one JSON object"), "{err}");
    let (code, out, _) = run(&["events", p, "--stats", "--format", "jsonl"]);
    assert_eq!(code, 0);
    assert!(out.starts_with('{'));
    // events CSV has the record type's name; chats have a CSV too.
    let (code, out, _) = run(&["events", p, "--format", "csv", "-q"]);
    assert_eq!(code, 0);
    let mut r = csv::Reader::from_reader(out.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    let at = header.iter().position(|h| h == "record_type_name").unwrap();
    let first = r.records().next().unwrap().unwrap();
    assert_eq!(&first[at], "MicrosoftTeams");
    let (code, out, _) = run(&["chats", p, "--format", "csv", "-q"]);
    assert_eq!(code, 0);
    let mut r = csv::Reader::from_reader(out.as_bytes());
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "id",
            "name",
            "communication_type",
            "initiated",
            "external",
            "guests",
            "home_tenant",
            "external_tenants",
            "external_domains",
            "first_seen",
            "last_seen",
            "records",
            "home_users",
            "reasons"
        ]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 9);
    let x1 = rows.iter().find(|r| &r[1] == "Fabrikam contract").unwrap();
    assert_eq!(&x1[3], "external");
    let users: Value = serde_json::from_str(&x1[12]).unwrap();
    assert_eq!(users.as_array().unwrap().len(), 2);
    // A plan that cannot be written names where it was to go.
    let (code, _, err) = run(&["plan", p, "-q", "-o", "/nonexistent/dir/plan.json"]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/dir/plan.json"), "{err}");
    assert!(
        !err.contains(".tmp") && !err.contains(".chatevict"),
        "{err}"
    );
}

mod property {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Break {
        Cut(usize),
        Quote(usize),
        Delete(usize),
        Insert(usize, u8),
    }

    fn mutation() -> impl Strategy<Value = Break> {
        prop_oneof![
            any::<usize>().prop_map(Break::Cut),
            any::<usize>().prop_map(Break::Quote),
            any::<usize>().prop_map(Break::Delete),
            (any::<usize>(), prop::sample::select(b"{}[],:\"\\".to_vec()))
                .prop_map(|(a, b)| Break::Insert(a, b)),
        ]
    }

    fn apply(s: &str, m: &Break) -> String {
        let b = s.as_bytes();
        if b.is_empty() {
            return s.to_owned();
        }
        let at = |x: usize| x % b.len();
        let mut v = b.to_vec();
        match *m {
            Break::Cut(x) => v.truncate(at(x)),
            Break::Quote(x) => v.insert(at(x), b'"'),
            Break::Delete(x) => {
                v.remove(at(x));
            }
            Break::Insert(x, c) => v.insert(at(x), c),
        }
        // Stays text: the mutations only touch ASCII here.
        String::from_utf8(v).unwrap_or_default()
    }

    /// The elements laid out in one of the shapes exports come in.
    fn lay_out(items: &[String], shape: u8) -> String {
        let page = |xs: &[String]| {
            format!(
                "{{\"@odata.context\":\"x\",\"value\":[{}],\"@odata.nextLink\":\"https://g/y?$skiptoken=a]b\"}}",
                xs.join(",")
            )
        };
        match shape {
            // ConvertTo-Json -Compress, a Management Activity API blob.
            0 => format!("[{}]", items.join(",")),
            // Pretty-printed, one element per line.
            1 => format!("[\n  {}\n]\n", items.join(",\n  ")),
            // One Graph page.
            2 => page(items),
            // Graph pages, one per line.
            _ => {
                let (a, b) = items.split_at(items.len() / 2);
                format!("{}\n{}\n", page(a), page(b))
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        /// However elements of an array are broken, in whichever shape,
        /// every element left whole loads, and the process does not fail.
        #[test]
        fn every_whole_element_loads(
            n in 2usize..60,
            shape in 0u8..4,
            breaks in prop::collection::vec((any::<usize>(), mutation()), 0..6),
        ) {
            let mut items: Vec<String> = (0..n).map(|i| record(i).to_string()).collect();
            let mut broken = std::collections::BTreeSet::new();
            for (k, m) in &breaks {
                let k = k % n;
                items[k] = apply(&items[k], m);
                broken.insert(k);
            }
            let d = tempfile::tempdir().unwrap();
            let p = write(d.path(), "p.json", lay_out(&items, shape).as_bytes());
            let ds = load(&[p]);
            let loaded: std::collections::BTreeSet<usize> = ids(&ds).into_iter().collect();
            for i in (0..n).filter(|i| !broken.contains(i)) {
                prop_assert!(loaded.contains(&i), "element {} lost; problems {:?}", i + 1, skipped(&ds));
            }
            // Nothing is made up: every record loaded was in the file.
            prop_assert!(loaded.iter().all(|i| *i < n));
        }

        /// An array read a block at a time, whose elements are records,
        /// values that are no record (an object, a number, a string, an
        /// empty array) or records cut short: every record loads once, and
        /// every other element is reported under its own number, wherever
        /// the blocks end.
        #[test]
        fn elements_are_numbered_in_the_file_across_blocks(
            // Mostly records; objects that are none more often than what
            // ends streaming (a scalar, a broken record), so that both are
            // met in every part of the array.
            kinds in prop::collection::vec(
                prop::sample::select(vec![0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 4, 2, 3, 5]),
                1..200,
            ),
            pretty in any::<bool>(),
            block in 64usize..5000,
        ) {
            // A file without one record is no export (tested elsewhere).
            prop_assume!(kinds.contains(&0));
            let items: Vec<String> = kinds.iter().enumerate().map(|(i, k)| match k {
                0 => record(i).to_string(),
                1 => json!({"Kind": "not a record", "At": i}).to_string(),
                2 => i.to_string(),
                3 => format!("\"text {i}\""),
                4 => "[]".to_owned(),
                // Cut inside a string: the scan is out of step after it.
                // (Opening as exports' records do, so that it is known
                // for a record even with no record before it.)
                _ => format!("{{\"CreationTime\":\"2026-11-01T08:00:00\",\"Id\":\"{i:08x}-00"),
            }).collect();
            let text = if pretty {
                format!("[\n  {}\n]\n", items.join(",\n  "))
            } else {
                format!("[{}]", items.join(","))
            };
            let d = tempfile::tempdir().unwrap();
            let p = write(d.path(), "a.json", text.as_bytes());
            let opts = LoadOptions { threads: 2, block };
            let ds = ual::load(&[p], &opts, &Progress::default()).unwrap();
            let good: Vec<usize> = (0..kinds.len()).filter(|i| kinds[*i] == 0).collect();
            let mut loaded = ids(&ds);
            loaded.sort_unstable();
            prop_assert_eq!(loaded, good);
            // An empty array holds no record and is no problem.
            let others: Vec<Option<u64>> = (0..kinds.len())
                .filter(|i| !matches!(kinds[*i], 0 | 4))
                .map(|i| Some(i as u64 + 1))
                .collect();
            let numbers: Vec<Option<u64>> = ds.problems.iter().map(|p| p.element).collect();
            prop_assert_eq!(numbers, others, "{:?}", skipped(&ds));
        }
    }
}

/// Values that are no record, after a broken element (where they might
/// have been its own members): each is reported under its own number,
/// and the elements after them keep theirs, up to the array's end.
#[test]
fn elements_after_a_broken_one_keep_their_numbers() {
    let cut = |i: usize| record(i).to_string()[..40].to_owned();
    let items = [
        record(0).to_string(),
        cut(1),
        json!({"Kind": "no record"}).to_string(),
        "17".to_owned(),
        cut(4),
        record(5).to_string(),
        json!({"Kind": "no record"}).to_string(),
        record(7).to_string(),
        // No record after the last broken one: up to the array's end.
        cut(8),
        "\"tail\"".to_owned(),
        json!({"Kind": "no record"}).to_string(),
    ];
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "a.json",
        format!("[{}]", items.join(",")).as_bytes(),
    );
    let ds = load(&[p]);
    assert_eq!(ids(&ds), [0, 5, 7]);
    let numbers: Vec<Option<u64>> = ds.problems.iter().map(|p| p.element).collect();
    assert_eq!(
        numbers,
        [
            Some(2),
            Some(3),
            Some(4),
            Some(5),
            Some(7),
            Some(9),
            Some(10),
            Some(11)
        ],
        "{:?}",
        skipped(&ds)
    );
}

/// A last record broken in its first member: its other members are no
/// elements of the array, though a `]` and white space follow them.
#[test]
fn the_members_of_a_broken_last_record_are_not_elements() {
    let broken = record(1)
        .to_string()
        .replacen("\"Role\":", "\"Role\"\":", 1);
    let items = [record(0).to_string(), broken];
    for text in [
        format!("[{}]", items.join(",")),
        format!("[\n  {}\n]\n", items.join(",\n  ")),
    ] {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "a.json", text.as_bytes());
        let ds = load(&[p]);
        assert_eq!(ids(&ds), [0]);
        let numbers: Vec<Option<u64>> = ds.problems.iter().map(|p| p.element).collect();
        assert_eq!(numbers, [Some(2)], "{:?}", skipped(&ds));
    }
}

/// A one-line array of many batches (the next batch is scanned while one
/// is parsed), broken in several batches: every other element loads, in
/// order, and each broken one is named with its number.
#[test]
fn a_long_one_line_array_broken_in_several_batches() {
    let n = 30_000;
    let broken = [4_999usize, 20_000, 29_998];
    let items: Vec<String> = (0..n)
        .map(|i| {
            let r = record(i).to_string();
            if broken.contains(&i) {
                // Cut inside a string: the scan is out of step after it.
                r[..40].to_owned()
            } else {
                r
            }
        })
        .collect();
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "long.json",
        format!("[{}]", items.join(",")).as_bytes(),
    );
    let ds = load(&[p]);
    let got: Vec<usize> = ids(&ds);
    let want: Vec<usize> = (0..n).filter(|i| !broken.contains(i)).collect();
    let mut sorted = got.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, want);
    let numbers: Vec<Option<u64>> = ds.problems.iter().map(|p| p.element).collect();
    assert_eq!(
        numbers,
        broken
            .iter()
            .map(|i| Some(*i as u64 + 1))
            .collect::<Vec<_>>(),
        "{:?}",
        skipped(&ds)
    );
}
