//! `chatevict chats`, `plan`, `query` and `--filter`, run as a user runs them.

mod common;

use common::{fixture, run};

fn triage_fixture() -> String {
    fixture("triage-chats.ndjson").display().to_string()
}

fn demo() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-export.csv").to_owned()
}

#[test]
fn stats_count_chats_and_targets() {
    let (code, out, _) = run(&["events", "--stats", "-q", &triage_fixture()]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["chats"], 9);
    assert_eq!(v["external_chats"], 7);
    assert_eq!(v["targets"], 10);
    let (_, out, _) = run(&["events", "--stats", "-q", &demo()]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["external_chats"].as_u64().unwrap() >= 10, "{v}");
}

#[test]
fn chats_as_json_lines() {
    let (code, out, _) = run(&[
        "chats",
        "--format",
        "jsonl",
        "--filter",
        "ext:yes initiated:external",
        &triage_fixture(),
    ]);
    assert_eq!(code, 0);
    let chats: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(chats.len(), 4);
    for c in &chats {
        assert_eq!(c["external"], true);
        assert_eq!(c["initiated"], "external");
        for k in [
            "id",
            "name",
            "communication_type",
            "external_domains",
            "first_seen",
            "last_seen",
            "records",
            "home_users",
        ] {
            assert!(c.get(k).is_some(), "{k} in {c}");
        }
    }
    let x5 = chats
        .iter()
        .find(|c| c["id"].as_str().unwrap().starts_with("19:8e9f0a1b"))
        .unwrap();
    assert_eq!(x5["home_users"][0]["upn"], "grady.archie@contoso.com");
    assert_eq!(x5["home_users"][0]["id_source"], "chat_id");
}

#[test]
fn chats_table_shows_every_chat_with_its_home_users() {
    let (code, out, _) = run(&["chats", "-q", &triage_fixture()]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("EXT  STARTED"), "{}", lines[0]);
    assert_eq!(lines.len(), 10, "a header and nine chats");
    // Internal chats list their home users too (gathered on demand).
    let internal = lines
        .iter()
        .find(|l| l.contains("Proseware review"))
        .unwrap();
    assert!(internal.contains("  2: ann_proseware"), "{internal}");
}

#[test]
fn plan_writes_a_complete_file() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("plan.json");
    let (code, out, err) = run(&[
        "plan",
        &triage_fixture(),
        "--filter",
        "domain:fabrikam",
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "the plan goes to the file only");
    assert!(
        err.contains("plan: 7 target(s) in 5 external chat(s); 1 user id(s) to look up"),
        "{err}"
    );
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
    assert_eq!(plan["version"], 1);
    assert_eq!(plan["filter"], "domain:fabrikam");
    assert_eq!(
        plan["source_files"][0]["sha256"].as_str().unwrap().len(),
        64
    );
    let targets = plan["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 7);
    // Sorted by chat id, then UPN.
    let keys: Vec<(String, String)> = targets
        .iter()
        .map(|t| {
            (
                t["chat_id"].as_str().unwrap().to_owned(),
                t["user_upn"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    for t in targets {
        assert_eq!(t["tenant_id"], "2f1a7c3e-0b5d-4c6e-9a8f-1d2e3f4a5b6c");
        assert!(t["evidence"].as_array().is_some_and(|e| !e.is_empty()));
    }
}

#[test]
fn plan_to_stdout_without_a_file() {
    let (code, out, _) = run(&["plan", "-q", &triage_fixture(), "--filter", "name:rollout"]);
    assert_eq!(code, 0);
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    let users: Vec<&str> = plan["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["user_upn"].as_str().unwrap())
        .collect();
    assert_eq!(
        users,
        ["diego.siciliani@contoso.com", "megan.bowen@contoso.com"]
    );
    assert_eq!(plan["targets"][0]["user_id"], serde_json::Value::Null);
    assert_eq!(plan["targets"][0]["user_id_source"], "lookup");
}

#[test]
fn a_bad_filter_points_at_the_mistake_before_loading() {
    let (code, out, err) = run(&[
        "events",
        "--filter",
        "ext:yes op:",
        "/nonexistent/never-read.csv",
    ]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("`op:` needs a value"), "{err}");
    assert!(err.contains("  ext:yes op:\n          ^"), "{err}");
    assert!(!err.contains("never-read"), "the file is not read: {err}");
}

#[test]
fn query_help_is_printed() {
    let (code, out, _) = run(&["query"]);
    assert_eq!(code, 0);
    assert!(out.contains("initiated:external|internal|unknown"));
    let (code, out, _) = run(&["help", "query"]);
    assert_eq!(code, 0);
    assert!(out.contains("after:2026-10-01"), "{out}");
}

#[test]
fn filters_use_the_query_language() {
    let (code, out, _) = run(&[
        "events",
        "-q",
        "--format",
        "jsonl",
        "--filter",
        "op:MemberAdded -ext:no",
        &triage_fixture(),
    ]);
    assert_eq!(code, 0);
    let n = out.lines().count();
    assert_eq!(n, 5);
    for l in out.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["operation"], "MemberAdded");
        assert_eq!(v["external"], true);
    }
}

/// The chats of the triage fixture as JSON Lines and CSV, whole,
/// compared with reviewed snapshots.
#[test]
fn chats_jsonl_and_csv_hold_exactly_the_chats() {
    let (code, out, _) = run(&["chats", "-q", "--format", "jsonl", &triage_fixture()]);
    assert_eq!(code, 0);
    let chats: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    insta::assert_json_snapshot!("chats_jsonl_triage", chats);
    let (code, out, _) = run(&["chats", "-q", "--format", "csv", &triage_fixture()]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("chats_csv_triage", out);
}
