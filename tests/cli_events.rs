//! `chatevict events`, run as a user runs it.

mod common;

use common::{fixture, run};

fn path(name: &str) -> String {
    fixture(name).display().to_string()
}

fn demo() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-export.csv").to_owned()
}

#[test]
fn stats_count_records_duplicates_skips_and_files() {
    let (code, out, err) = run(&[
        "events",
        "--stats",
        &path("purview-broken-rows.csv"),
        &path("mgmt-api.ndjson"),
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["records"], 5);
    assert_eq!(v["duplicates"], 4);
    assert_eq!(v["skipped"], 5);
    assert_eq!(v["teams_records"], 3);
    assert_eq!(v["files"].as_array().unwrap().len(), 2);
    assert_eq!(v["files"][0]["shape"], "purview-csv");
    assert_eq!(v["files"][1]["skipped"], 1);
    // Skipped rows are named with file and line, on stderr.
    assert!(
        err.contains("purview-broken-rows.csv:3: invalid AuditData JSON"),
        "{err}"
    );
    assert!(err.contains("mgmt-api.ndjson:3:"), "{err}");
}

#[test]
fn jsonl_has_the_documented_keys() {
    let (code, out, _) = run(&["events", "--format", "jsonl", &path("purview-8col.csv")]);
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    let a = &lines[0];
    for key in [
        "id",
        "time",
        "operation",
        "record_type",
        "workload",
        "user_id",
        "user_key",
        "organization_id",
        "chat_id",
        "chat_name",
        "communication_type",
        "resource_tenant_id",
        "members",
        "external",
        "source",
    ] {
        assert!(a.get(key).is_some(), "missing {key}");
    }
    assert_eq!(a["time"], "2026-11-02T09:15:04Z");
    assert_eq!(a["external"], true);
    assert_eq!(a["members"][1]["upn"], "rob.young@fabrikam.com");
    assert_eq!(a["members"][1]["role"], 1);
    assert_eq!(a["source"]["line"], 2);
    assert_eq!(lines[1]["external"], false);
}

#[test]
fn csv_has_a_header_and_one_row_per_record() {
    let (code, out, _) = run(&["events", "--format", "csv", &path("graph-records.json")]);
    assert_eq!(code, 0);
    let mut rdr = csv::Reader::from_reader(out.as_bytes());
    let header = rdr.headers().unwrap().clone();
    assert_eq!(&header[0], "id");
    assert!(header.iter().any(|h| h == "members"));
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 5);
    let at = header.iter().position(|h| h == "members").unwrap();
    let members: serde_json::Value = serde_json::from_str(&rows[0][at]).unwrap();
    assert_eq!(members[0]["display_name"], "Megan Bowen");
}

#[test]
fn filter_is_a_case_insensitive_substring() {
    let (_, out, _) = run(&[
        "events",
        "--stats",
        "--filter",
        "FABRIKAM CONTRACT",
        &path("purview-8col.csv"),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["matching"], 1);
    let (_, out, _) = run(&[
        "events",
        "--filter",
        "chatcreated",
        &path("purview-8col.csv"),
    ]);
    assert_eq!(out.lines().count(), 2, "header and one row:\n{out}");
}

#[test]
fn table_rows_are_aligned_and_hostile_text_is_escaped() {
    let (code, out, _) = run(&["events", &demo()]);
    assert_eq!(code, 0);
    assert!(out.starts_with("TIME (UTC)"));
    assert!(
        !out.contains('\u{1b}'),
        "no raw escape reaches the terminal"
    );
    let (_, out, _) = run(&["events", "--format", "jsonl", &demo()]);
    for bad in ['\u{1b}', '\u{202e}', '\u{200b}', '\u{a0}', '\u{2066}'] {
        assert!(!out.contains(bad), "{bad:?} written raw");
    }
    assert!(
        out.contains("\\u001b[31mURGENT"),
        "escape sequences survive as JSON escapes"
    );
    assert!(out.contains("Payroll \\u202egpj.exe"));
}

#[test]
fn exit_codes() {
    assert_eq!(run(&["events", &path("not-an-export.csv")]).0, 1);
    let (code, _, err) = run(&["events", &path("not-an-export.json")]);
    assert_eq!(code, 1);
    assert!(err.contains("not an audit export"), "{err}");
    assert_eq!(run(&["events"]).0, 2);
    assert_eq!(run(&["events", "--format", "xml", &demo()]).0, 2);
    assert_eq!(run(&["no-such-command"]).0, 2);
    assert_eq!(run(&["--help"]).0, 0);
}

#[test]
fn demo_export_has_what_the_demo_needs() {
    let (_, out, _) = run(&["events", "--format", "jsonl", &demo()]);
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!((500..=2000).contains(&rows.len()));
    let chats = |pred: &dyn Fn(&serde_json::Value) -> bool| {
        rows.iter()
            .filter(|r| pred(r))
            .map(|r| r["chat_id"].as_str().unwrap().to_owned())
            .collect::<std::collections::BTreeSet<_>>()
    };
    let external = chats(&|r| r["external"] == true && r["communication_type"] != "Team");
    assert!(external.len() >= 10, "{} external chats", external.len());
    assert!(
        external.iter().any(|c| c.ends_with("@unq.gbl.spaces")),
        "one-on-one"
    );
    assert!(external.iter().any(|c| c.ends_with("@thread.v2")), "group");
    let outsider_started =
        chats(&|r| r["external"] == true && r["resource_tenant_id"] != r["organization_id"]);
    assert!(!outsider_started.is_empty());
    assert!(
        outsider_started.len() < external.len(),
        "some were started at home"
    );
    assert!(
        !chats(&|r| r["communication_type"] == "Team").is_empty(),
        "team channels"
    );
    assert!(
        rows.iter()
            .any(|r| r["members"].to_string().contains("#EXT#")),
        "guests"
    );
    for w in ["Exchange", "SharePoint", "OneDrive", "MicrosoftTeams"] {
        assert!(rows.iter().any(|r| r["workload"] == w), "{w}");
    }
}

/// The whole output, not only its keys: every record of a Purview export
/// as JSON Lines and as CSV, compared with reviewed snapshots.
#[test]
fn jsonl_and_csv_hold_exactly_the_normalised_records() {
    let file = path("purview-8col.csv");
    let (code, out, _) = run(&["events", "--format", "jsonl", &file]);
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    insta::assert_json_snapshot!("events_jsonl_purview_8col", lines, {
        "[].source.file" => "[fixtures]/purview-8col.csv"
    });
    let (code, out, _) = run(&["events", "--format", "csv", &file]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(
        "events_csv_purview_8col",
        out.replace(&file, "[fixtures]/purview-8col.csv")
    );
}

/// `--sort`: the same orders as the application's sort key, from the
/// library; file order stays the default for scripts.
#[test]
fn sort_orders_the_records_and_the_chats() {
    let lines = |args: &[&str]| -> Vec<serde_json::Value> {
        let (code, out, err) = run(args);
        assert_eq!(code, 0, "{err}");
        out.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let key = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or("").to_owned();
    let d = demo();
    let file = lines(&["events", "--format", "jsonl", &d]);
    let newest = lines(&["events", "--format", "jsonl", "--sort", "newest", &d]);
    assert_eq!(file.len(), newest.len());
    let t = |v: &serde_json::Value| key(v, "time");
    assert!(newest.windows(2).all(|w| t(&w[0]) >= t(&w[1])));
    assert!(t(&newest[0]) > t(&newest[newest.len() - 1]));
    let oldest = lines(&["events", "--format", "jsonl", "--sort", "oldest", &d]);
    assert!(oldest.windows(2).all(|w| t(&w[0]) <= t(&w[1])));
    // Purview exports newest first: file order is that, and stays.
    assert!(file == newest, "the demo export is in Purview's order");
    let user = lines(&["events", "--format", "jsonl", "--sort", "user", &d]);
    let u = |v: &serde_json::Value| key(v, "user_id").to_lowercase();
    assert!(user.windows(2).all(|w| u(&w[0]) <= u(&w[1])));
    let chats = lines(&["chats", "--format", "jsonl", "--sort", "records", &d]);
    let n = |v: &serde_json::Value| v["records"].as_u64().unwrap();
    assert!(chats.len() > 2);
    assert!(chats.windows(2).all(|w| n(&w[0]) >= n(&w[1])));
    let (code, _, err) = run(&["events", "--sort", "size", &d]);
    assert_eq!(code, 2);
    assert!(err.contains("newest, oldest"), "{err}");
}
