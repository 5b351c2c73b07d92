//! `chatevict fetch` as an admin runs it: the binary against the
//! emulator's audit log query API, under faults, killed and resumed.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chatevict::emulator::{Config, Emulator, Profile};
use common::emu;
use serde_json::Value;

struct Env {
    dir: tempfile::TempDir,
    emu: Emulator,
    export: PathBuf,
}

/// An emulator whose audit log is a generated export of `chats` external
/// chats, and a session signed in by `chatevict login` (without the audit
/// permission: the fetch asks for it).
async fn env(chats: usize, cfg: Config) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let export = emu::write_export(dir.path(), chats);
    let emu = emu::start(std::slice::from_ref(&export), cfg).await;
    let e = Env { dir, emu, export };
    // `chatevict login`, as the admin runs it (the emulator approves the
    // device code by itself). It does not ask for the audit permission.
    let mut login = e.command("login");
    login.args(["--timeout", "10"]);
    let (code, err) = finish(login).await;
    assert_eq!(code, 0, "{err}");
    e
}

fn cfg(faults: Profile, page: usize, delay: Duration) -> Config {
    Config {
        audit_page_size: page,
        audit_delay: delay,
        ..emu::config(faults, 50.0)
    }
}

impl Env {
    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("fetched.json")
    }

    fn fetch(&self, extra: &[&str]) -> Command {
        let mut c = self.command("fetch");
        c.args(["--poll", "0.1", "--timeout", "2"]).args(extra);
        c
    }

    /// `chatevict COMMAND` with this test's state, against its emulator.
    fn command(&self, command: &str) -> Command {
        emu::command(&self.emu, self.dir.path(), command)
    }

    /// The saved state of the fetch under way, once there is one.
    fn saved(&self) -> Option<Value> {
        let dir = self.state().join("chatevict/fetches");
        let id = std::fs::read_to_string(dir.join("last")).ok()?;
        serde_json::from_slice(&std::fs::read(dir.join(format!("{id}.json"))).ok()?).ok()
    }
}

async fn finish(mut c: Command) -> (i32, String) {
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `Id`s of a file's records, each as often as it occurs.
fn ids(file: &Path) -> Vec<String> {
    let ds = common::load(&[file.to_path_buf()]);
    assert!(ds.problems.is_empty(), "{:?}", ds.problems);
    ds.records.iter().map(|r| r.id.to_string()).collect()
}

/// The fetched file holds every record of the log, none twice.
fn every_record_once(fetched: &Path, log: &Path) {
    let mut got = ids(fetched);
    let n = got.len();
    got.sort();
    got.dedup();
    assert_eq!(got.len(), n, "no record twice");
    let mut want = ids(log);
    want.sort();
    assert_eq!(got, want, "no record lost");
}

/// (chat, user, user id, tenant) of every target of `chatevict plan FILE`.
fn targets(file: &Path) -> HashSet<(String, String, Option<String>, String)> {
    let (code, out, err) = common::run(&["plan", "-q", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let plan: chatevict::triage::plan::Plan = serde_json::from_str(&out).unwrap();
    plan.targets
        .into_iter()
        .map(|t| (t.chat_id, t.user_upn, t.user_id, t.tenant_id))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_under_faults_plans_the_same_targets_as_the_seed_export() {
    let e = env(30, cfg(Profile::Flaky, 7, Duration::from_millis(600))).await;
    let out = e.out();
    let (code, err) = finish(e.fetch(&[
        "--since",
        "2026-10-01",
        "--until",
        "2026-12-01",
        "-o",
        out.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Audit log query ") && err.contains("--resume"),
        "{err}"
    );
    assert!(err.contains("Wrote 50 record(s)"), "{err}");
    every_record_once(&out, &e.export);
    assert_eq!(targets(&out), targets(&e.export));
    assert_eq!(targets(&out).len(), 60);
    // The fetch is forgotten once written; nothing to resume.
    assert!(e.saved().is_none());
    let (code, err) = finish(e.fetch(&["--resume"])).await;
    assert_ne!(code, 0);
    assert!(err.contains("no fetch to resume"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_polling_and_while_paging_then_resumed_loses_and_repeats_nothing() {
    let e = env(60, cfg(Profile::Flaky, 3, Duration::from_secs(2))).await;
    let out = e.out();
    let wait_for = |what: &str, ok: &dyn Fn(&Value) -> bool| {
        let t0 = Instant::now();
        loop {
            if let Some(s) = e.saved()
                && ok(&s)
            {
                return s;
            }
            assert!(t0.elapsed() < Duration::from_secs(60), "never {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    // Killed while the service works on the query.
    let mut child = e
        .fetch(&["--since", "2026-10-01", "-o", out.to_str().unwrap()])
        .spawn()
        .unwrap();
    let s = wait_for("polling", &|s| s["phase"] == "polling");
    child.kill().unwrap();
    child.wait().unwrap();
    let id = s["query_id"].as_str().unwrap().to_owned();
    assert!(!out.exists(), "nothing written yet");
    // Resumed, then killed while reading pages (three records a page,
    // each request delayed or failed now and then by the faults).
    let mut child = e.fetch(&["--resume", &id]).spawn().unwrap();
    let s = wait_for("paging", &|s| {
        s["phase"] == "reading" && s["pages"].as_u64() >= Some(5)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.exists(), "the file is written whole or not at all");
    let read_before = s["records"].as_u64().unwrap();
    assert!((15..80).contains(&read_before), "{s}");
    // The last fetch, without naming it: goes on to the end.
    let (code, err) = finish(e.fetch(&["--resume"])).await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("Resuming audit log query"), "{err}");
    every_record_once(&out, &e.export);
    // One query in the tenant: resuming made no other.
    assert_eq!(e.emu.shared.state.lock().unwrap().queries.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_record_costs_itself_and_a_cut_result_is_said_with_exit_3() {
    // `hostile`: the first page carries a record whose JSON is broken.
    let e = env(10, cfg(Profile::Hostile, 4, Duration::from_millis(200))).await;
    let out = e.out();
    let (code, err) =
        finish(e.fetch(&["--since", "2026-10-01", "-o", out.to_str().unwrap()])).await;
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("page 1, record 2"), "{err}");
    assert!(err.contains("left out"), "{err}");
    assert_eq!(ids(&out).len(), 29, "every other record is kept: {err}");
    assert!(!err.contains('\u{1b}'), "nothing raw reaches the terminal");

    // A query past the service's record limit: kept, and said.
    let mut c = cfg(Profile::None, 50, Duration::from_millis(100));
    c.audit_record_limit = Some(12);
    let e = env(10, c).await;
    let (code, err) = finish(e.fetch(&[
        "--since",
        "2026-10-01",
        "--api-version",
        "beta",
        "-o",
        out.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("record limit") && err.contains("Narrow it"),
        "{err}"
    );
    assert_eq!(ids(&out).len(), 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_consent_for_the_permission_the_fetch_says_why() {
    let e = env(2, cfg(Profile::None, 50, Duration::from_millis(100))).await;
    // The application is consented for removals only.
    emu::control(
        &e.emu,
        "consent",
        serde_json::json!({
            "client_id": chatevict::graph::settings::DEFAULT_CLIENT_ID,
            "scopes": ["Chat.ReadWrite.All", "User.ReadBasic.All"],
        }),
    )
    .await;
    let (code, err) = finish(e.fetch(&[])).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("AuditLogsQuery.Read.All"), "{err}");
    assert!(
        err.contains("Signing in again"),
        "it tries a new sign-in: {err}"
    );
    assert!(err.contains("consent"), "{err}");
    assert!(e.saved().is_none(), "no query was made");
}

#[test]
fn other_clouds_and_bad_periods_are_refused_before_anything_is_sent() {
    let (code, _, err) = common::run(&["fetch", "--cloud", "usgov"]);
    assert_eq!(code, 2);
    assert!(err.contains("global service only"), "{err}");
    for bad in [
        &["fetch", "--since", "yesterday"][..],
        &["fetch", "--since", "1d", "--until", "2d"],
        &["fetch", "--record-type", "Nope"],
    ] {
        let (code, _, err) = common::run(bad);
        assert_eq!(code, 2, "{bad:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_query_asks_only_for_what_the_flags_say() {
    let e = env(12, cfg(Profile::None, 50, Duration::from_millis(100))).await;
    let out = e.out();
    let fetched = |extra: &'static [&'static str]| {
        let mut args = vec!["--since", "2026-10-01", "-o", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let c = e.fetch(&args);
        let out = out.clone();
        async move {
            let (code, err) = finish(c).await;
            assert_eq!(code, 0, "{extra:?}: {err}");
            let ds = common::load(&[out]);
            ds.records
                .iter()
                .map(|r| (ds.str(r.operation).to_owned(), ds.opt(r.user_id).to_owned()))
                .collect::<Vec<_>>()
        }
    };
    // The export holds 20 sessions started by home users and 12 members
    // added by one outsider, each to a chat of its own.
    let all = fetched(&[]).await;
    assert_eq!(all.len(), 32);
    let added = fetched(&["--operation", "MemberAdded"]).await;
    assert_eq!(added.len(), 12);
    assert!(added.iter().all(|(op, _)| op == "MemberAdded"));
    let one = fetched(&["--user", "USER3@contoso.com"]).await;
    assert_eq!(
        one,
        [(
            "TeamsSessionStarted".to_owned(),
            "user3@contoso.com".to_owned()
        )]
    );
    let deal = fetched(&["--keyword", "fabrikam deal 7"]).await;
    assert_eq!(deal.len(), 1, "{deal:?}");
    // A period the log has nothing in: an empty file, complete.
    let none = fetched(&["--until", "2026-10-02"]).await;
    assert!(none.is_empty());
}

/// The assumption both ways: a tenant whose v1.0 lacks the API (as in
/// 2025) is fetched at beta, and a resumed fetch keeps to beta; where
/// v1.0 serves it, v1.0 is used (every other test).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn where_v1_lacks_the_api_beta_is_used_and_a_resume_keeps_to_it() {
    let mut c = cfg(Profile::None, 5, Duration::from_secs(2));
    c.audit_beta_only = true;
    let e = env(6, c).await;
    let out = e.out();
    let mut child = e
        .fetch(&["--since", "2026-10-01", "-o", out.to_str().unwrap()])
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let saved = loop {
        if let Some(s) = e.saved() {
            break s;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "no query was made");
        std::thread::sleep(Duration::from_millis(10));
    };
    child.kill().unwrap();
    let first = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(err.contains("using beta"), "{err}");
    assert_eq!(saved["api_version"], "beta");
    let (code, err) = finish(e.fetch(&["--resume"])).await;
    assert_eq!(code, 0, "{err}");
    every_record_once(&out, &e.export);
}
