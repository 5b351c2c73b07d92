//! The loader never panics, whatever it is fed, and gives the same result
//! however the file is cut into blocks.

mod common;

use std::path::PathBuf;

use chatevict::ual::{self, LoadOptions, Progress};
use common::*;
use proptest::prelude::*;

const FIXTURES: &[&str] = &[
    "purview-8col.csv",
    "purview-6col-bom.csv",
    "purview-broken-rows.csv",
    "classic.csv",
    "powershell-13col.csv",
    "powershell-10col-utf16le.csv",
    "convertto-json.json",
    "convertto-json-glued-utf16be.json",
    "mgmt-api.json",
    "mgmt-api.ndjson",
    "graph-records.json",
    "graph-page.json",
];

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let nasty = prop::sample::select(vec![
        b"\"".to_vec(),
        b"\"\"".to_vec(),
        b"\n".to_vec(),
        b"\r\n".to_vec(),
        b",".to_vec(),
        b"{".to_vec(),
        b"}".to_vec(),
        b"[".to_vec(),
        b"]".to_vec(),
        b"\\".to_vec(),
        vec![0xff, 0xfe],
        vec![0xef, 0xbb, 0xbf],
        vec![0xc3],
        b"\x00".to_vec(),
        b"{\"value\":[".to_vec(),
    ]);
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Mutation::Flip(a, b)),
        (any::<usize>(), nasty).prop_map(|(a, b)| Mutation::Insert(a, b)),
        (any::<usize>(), 1usize..200).prop_map(|(a, n)| Mutation::Delete(a, n)),
    ]
}

fn apply(mut bytes: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        if bytes.is_empty() {
            break;
        }
        let at = |i: usize| i % (bytes.len() + 1);
        match m {
            Mutation::Truncate(i) => bytes.truncate(at(*i)),
            Mutation::Flip(i, b) => {
                let i = i % bytes.len();
                bytes[i] ^= b | 1;
            }
            Mutation::Insert(i, s) => {
                let i = at(*i);
                bytes.splice(i..i, s.iter().copied());
            }
            Mutation::Delete(i, n) => {
                let i = i % bytes.len();
                let end = (i + n).min(bytes.len());
                bytes.drain(i..end);
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn mutated_exports_never_panic(
        which in 0..FIXTURES.len(),
        muts in prop::collection::vec(mutation(), 1..6),
        block in prop::sample::select(vec![0usize, 97, 1024]),
    ) {
        let bytes = apply(std::fs::read(fixture(FIXTURES[which])).unwrap(), &muts);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mutated");
        std::fs::write(&path, &bytes).unwrap();
        let opts = LoadOptions { threads: 2, block };
        let ds = ual::load(&[path], &opts, &Progress::default()).unwrap();
        // Every record that loaded can be shown again (or says why not).
        for r in &ds.records {
            let _ = ds.raw_audit_data(r);
            prop_assert!(r.source.line >= 1);
        }
        prop_assert!(ds.failures.len() <= 1);
    }
}

/// Every record (id, line, operation, members, where its raw text is and
/// what it says) and every problem (with its line and element), in order.
/// JSON arrays (streamed a block at a time, cut between elements) and
/// broken in any way: the records, their raw text and the problems named
/// with their element are the same however small the blocks are, as when
/// the whole file is one block.
mod arrays_cut_anywhere {
    use super::*;

    const ARRAYS: &[&str] = &[
        "mgmt-api.json",
        "graph-records.json",
        "convertto-json.json",
        "truncated-array.json",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn the_same_records_and_problems_at_any_block_size(
            which in 0..ARRAYS.len(),
            muts in prop::collection::vec(mutation(), 0..4),
            one_line in any::<bool>(),
            block in 1usize..700,
        ) {
            let mut bytes = std::fs::read(fixture(ARRAYS[which])).unwrap();
            if one_line {
                // ConvertTo-Json -Compress: the same array on one line (a
                // fixture that does not parse, cut short, stays as it is).
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                    bytes = v.to_string().into_bytes();
                }
            }
            let bytes = apply(bytes, &muts);
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("array.json");
            std::fs::write(&path, &bytes).unwrap();
            let whole = summary(std::slice::from_ref(&path), &LoadOptions { threads: 1, block: 0 });
            let cut = summary(std::slice::from_ref(&path), &LoadOptions { threads: 2, block });
            prop_assert_eq!(cut, whole);
        }
    }
}

fn summary(paths: &[PathBuf], opts: &LoadOptions) -> Vec<(String, u64, String, usize)> {
    let ds = ual::load(paths, opts, &Progress::default()).unwrap();
    let mut v: Vec<_> = ds
        .records
        .iter()
        .map(|r| {
            let members = r.chat.as_deref().map_or(0, |c| c.members.len());
            let raw = ds
                .raw_audit_data(r)
                .unwrap_or_else(|e| format!("no raw text: {e}"));
            (
                format!("{} at {} {raw}", r.id, r.source.raw.offset),
                u64::from(r.source.line),
                ds.str(r.operation).to_owned(),
                members,
            )
        })
        .collect();
    v.extend(ds.problems.iter().map(|p| {
        let what = format!("problem {} (element {:?})", p.reason, p.element);
        (what, p.line, String::new(), 0)
    }));
    v.extend(
        ds.failures
            .iter()
            .map(|f| (format!("failure {}", f.message), 0, String::new(), 0)),
    );
    v
}

#[test]
fn small_blocks_and_many_threads_give_the_same_records() {
    let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/demo-export.csv");
    for files in [
        vec![demo.clone()],
        vec![
            fixture("purview-8col.csv"),
            fixture("purview-broken-rows.csv"),
        ],
        vec![fixture("mgmt-api.ndjson")],
        vec![fixture("mgmt-api.json"), fixture("graph-records.json")],
        vec![
            fixture("convertto-json.json"),
            fixture("truncated-array.json"),
            fixture("convertto-json-glued-utf16be.json"),
        ],
    ] {
        let whole = summary(
            &files,
            &LoadOptions {
                threads: 1,
                block: 0,
            },
        );
        for block in [64, 1000, 4096] {
            let cut = summary(&files, &LoadOptions { threads: 3, block });
            assert_eq!(cut, whole, "block {block} of {files:?}");
        }
    }
}

/// The gauge ends full, never past full: what loading says it has read is
/// the files' size on disk, in every shape and encoding, when a broken
/// element makes it read part of a file again, and at any block size.
#[test]
fn progress_counts_each_byte_of_the_files_once() {
    let dir = tempfile::tempdir().unwrap();
    let broken = {
        let text = std::fs::read_to_string(fixture("mgmt-api.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        // One line, its second record cut short, read a block at a time:
        // the part after it is read again by the whole-text parser.
        let line = v.to_string();
        let second = line[2..].find("{\"").unwrap() + 2;
        let cut = format!("{}{}", &line[..second + 30], &line[second..]);
        let p = dir.path().join("broken.json");
        std::fs::write(&p, cut).unwrap();
        p
    };
    let mut files: Vec<PathBuf> = FIXTURES.iter().map(|f| fixture(f)).collect();
    files.push(broken);
    for file in &files {
        for block in [0, 97] {
            let progress = Progress::default();
            let opts = LoadOptions { threads: 2, block };
            let ds = ual::load(std::slice::from_ref(file), &opts, &progress).unwrap();
            assert!(ds.failures.is_empty(), "{file:?}");
            let size = std::fs::metadata(file).unwrap().len();
            let read = progress
                .bytes_read
                .load(std::sync::atomic::Ordering::Relaxed);
            assert_eq!(read, size, "{file:?} at block {block}");
        }
    }
}

#[test]
fn raw_text_is_found_again_for_every_demo_record() {
    let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/demo-export.csv");
    let ds = load(&[demo]);
    for r in &ds.records {
        let raw = ds.raw_audit_data(r).unwrap();
        let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(v["Id"].as_str(), Some(&*r.id.text()));
    }
}
