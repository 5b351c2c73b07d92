//! `chatevict apply` and `report` as a user runs them: the binary against
//! the emulator, killed with SIGKILL midway and run again.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chatevict::emulator::{Emulator, Profile};
use chatevict::journal::{self, Entry, Outcome};
use common::emu;

struct Env {
    dir: tempfile::TempDir,
    emu: Emulator,
    plan: PathBuf,
}

/// An emulator seeded from a generated export, a plan of it written by
/// the binary, and a session signed in under the test's state directory.
async fn env(chats: usize, profile: Profile, rate: f64) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let export = emu::write_export(dir.path(), chats);
    let emu = emu::start(std::slice::from_ref(&export), emu::config(profile, rate)).await;
    let plan = dir.path().join("plan.json");
    let (code, _, err) = common::run(&[
        "plan",
        "-q",
        export.to_str().unwrap(),
        "-o",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let e = Env { dir, emu, plan };
    let s = emu::settings(&e.emu, "organizations");
    emu::sign_in(&emu::auth(
        &s,
        &e.state().join("chatevict/token-cache.json"),
    ))
    .await;
    e
}

impl Env {
    /// The plan's (chat, user id, tenant) triples, as written by the
    /// binary; users named only by UPN as the emulator knows them.
    fn plan_triples(&self) -> HashSet<(String, String, String)> {
        self.plan_by_key()
            .into_iter()
            .map(|((chat, _), (id, tenant))| (chat, id, tenant))
            .collect()
    }

    /// (chat id, lowercase UPN) → (user id, tenant id) of every target of
    /// the plan the binary wrote.
    fn plan_by_key(&self) -> HashMap<(String, String), (String, String)> {
        let plan: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&self.plan).unwrap()).unwrap();
        let st = self.emu.shared.state.lock().unwrap();
        plan["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let upn = t["user_upn"].as_str().unwrap();
                let id = t["user_id"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| st.user_by_upn(upn).unwrap().id.clone());
                (
                    (
                        t["chat_id"].as_str().unwrap().to_owned(),
                        upn.to_lowercase(),
                    ),
                    (id, t["tenant_id"].as_str().unwrap().to_owned()),
                )
            })
            .collect()
    }

    /// What reached the server: (chat, user id, tenant) of every removal.
    fn sent_triples(&self) -> HashSet<(String, String, String)> {
        self.emu
            .removals()
            .iter()
            .map(|r| (r.chat_id.clone(), r.user_id.clone(), r.tenant_id.clone()))
            .collect()
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn journal(&self) -> PathBuf {
        self.dir.path().join("journal.jsonl")
    }

    fn apply(&self, extra: &[&str]) -> Command {
        let mut c = emu::command(&self.emu, self.dir.path(), "apply");
        c.arg(&self.plan)
            .args([
                "--journal",
                self.journal().to_str().unwrap(),
                "--timeout",
                "1",
            ])
            .args(extra);
        c
    }
}

async fn finish(c: &mut Command) -> (i32, String) {
    let mut c = std::mem::replace(c, Command::new("true"));
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_midway_then_run_again_finishes_without_resending() {
    let e = env(60, Profile::Flaky, 20.0).await;
    let mut child = e.apply(&["--yes", "--max-rate", "20"]).spawn().unwrap();
    let t0 = Instant::now();
    while e.emu.removals().len() < 40 {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the run does not progress"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let first = journal::read(&e.journal()).unwrap();
    let removed_first: HashSet<_> = first.removed().into_keys().collect();
    assert!(!removed_first.is_empty() && removed_first.len() < 120);
    let first_crids: HashSet<String> = crids(&first.entries);

    let (code, err) = finish(&mut e.apply(&["--yes", "--max-rate", "20"])).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("skipped {}", removed_first.len())),
        "{err}"
    );

    // Exactly the plan's triples reached the server, nothing else, each
    // request as its journaled attempt says.
    assert_eq!(e.sent_triples(), e.plan_triples());
    emu::assert_requests_match_plan(
        &e.emu.removals(),
        &journal::read(&e.journal()).unwrap(),
        &e.plan_by_key(),
    );
    assert!(e.emu.refused().is_empty(), "{:?}", e.emu.refused());
    // Every target is removed on the server, once in effect.
    let removals = e.emu.removals();
    let changed: HashSet<_> = removals
        .iter()
        .filter(|r| r.changed)
        .map(|r| (r.chat_id.clone(), r.user_id.clone()))
        .collect();
    assert_eq!(changed.len(), 120);
    // Nothing the first run's journal shows as removed was sent again.
    let all = journal::read(&e.journal()).unwrap();
    let second_crids: HashSet<String> = crids(&all.entries)
        .difference(&first_crids)
        .cloned()
        .collect();
    let user_of: HashMap<String, (String, String)> = all
        .entries
        .iter()
        .filter_map(|x| match x {
            Entry::Attempt {
                key,
                client_request_id,
                ..
            } => Some((
                client_request_id.clone(),
                (key.chat_id.clone(), key.user_upn.clone()),
            )),
            _ => None,
        })
        .collect();
    for c in &second_crids {
        let (chat, upn) = &user_of[c];
        assert!(
            !removed_first.contains(&journal::Key::new(chat, upn)),
            "{chat} {upn} was sent again"
        );
    }
    assert_eq!(all.removed().len(), 120);

    // The report says so, for a ticket.
    // The report of the last run: what it removed, and what the killed
    // run had removed before it.
    let (code, md, _) = common::run(&["report", e.journal().to_str().unwrap()]);
    assert_eq!(code, 0);
    let n = removed_first.len();
    assert!(md.contains("- Run 2 of 2"), "{md}");
    assert!(md.contains(&format!("| removed | {} |", 120 - n)), "{md}");
    assert!(md.contains(&format!("| skipped | {n} |")), "{md}");
    assert!(md.contains("interrupted"), "the killed run is named: {md}");
    let (code, md1, _) = common::run(&["report", "--run", "1", e.journal().to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(
        md1.contains("- Run 1 of 2") && md1.contains("interrupted"),
        "{md1}"
    );
    assert!(md1.contains(&format!("| removed | {n} |")), "{md1}");
    let (code, csv, _) = common::run(&["report", "--format", "csv", e.journal().to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(csv.lines().count(), 121);
}

fn crids(entries: &[Entry]) -> HashSet<String> {
    entries
        .iter()
        .filter_map(|x| match x {
            Entry::Attempt {
                client_request_id, ..
            } => Some(client_request_id.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmation_is_needed_and_a_dry_run_sends_nothing() {
    let e = env(3, Profile::None, 20.0).await;
    // No terminal to confirm on, and no --yes: nothing is sent.
    let (code, err) = finish(&mut e.apply(&[])).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--yes"), "{err}");
    assert!(
        err.contains("About to remove 6 target(s) in 3 chat(s)"),
        "{err}"
    );
    let (code, err) = finish(&mut e.apply(&["--dry-run"])).await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("would remove 6"), "{err}");
    assert!(e.emu.removals().is_empty());
    let (code, err) = finish(&mut e.apply(&["--yes"])).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(e.emu.removals().len(), 6);
    assert_eq!(e.sent_triples(), e.plan_triples());
    emu::assert_requests_match_plan(
        &e.emu.removals(),
        &journal::read(&e.journal()).unwrap(),
        &e.plan_by_key(),
    );
    let r = journal::read(&e.journal()).unwrap();
    assert_eq!(
        r.entries
            .iter()
            .filter(|x| matches!(
                x,
                Entry::Outcome {
                    result: Outcome::WouldRemove,
                    ..
                }
            ))
            .count(),
        6
    );
    // Tokens never reach the journal.
    let text = std::fs::read_to_string(e.journal()).unwrap();
    assert!(!text.contains("eyJ"), "no JWT in the journal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn some_failures_exit_3_and_a_plan_for_another_tenant_is_refused() {
    let e = env(3, Profile::None, 20.0).await;
    {
        let mut st = e.emu.shared.state.lock().unwrap();
        let c = st.chats.values_mut().next().unwrap();
        c.chat.members.retain(|m| !m.upn.starts_with("user"));
    }
    let (code, err) = finish(&mut e.apply(&["--yes"])).await;
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("FAILED") && err.contains("HTTP 404"), "{err}");
    assert!(err.contains("request-id"), "{err}");

    let mut plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&e.plan).unwrap()).unwrap();
    plan["targets"][0]["tenant_id"] = emu::FABRIKAM.into();
    std::fs::write(&e.plan, plan.to_string()).unwrap();
    let before = e.emu.removals().len();
    let (code, err) = finish(&mut e.apply(&["--yes"])).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nothing was sent"), "{err}");
    assert!(
        err.contains("target 1: ") && err.contains("not the signed-in tenant"),
        "{err}"
    );
    assert_eq!(e.emu.removals().len(), before, "nothing was sent");
}

/// Each way a plan can be tampered with: refused whole by the binary,
/// exit 2, every refused target listed, the emulator untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_plan_is_refused_whole_with_every_reason() {
    let e = env(3, Profile::None, 20.0).await;
    let good: serde_json::Value = serde_json::from_slice(&std::fs::read(&e.plan).unwrap()).unwrap();
    let uid = good["targets"][0]["user_id"].as_str().unwrap().to_owned();
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        ("chat_id", "not-a-chat".into(), "not a Teams chat id"),
        (
            "chat_id",
            "19:ab\u{202e}cd@thread.v2".into(),
            "not a Teams chat id",
        ),
        (
            "user_id",
            format!("{{{uid}}}").into(),
            "not an Entra object id",
        ),
        ("tenant_id", "contoso.com".into(), "not a tenant id"),
        (
            "user_upn",
            "mallory@fabrikam.com".into(),
            "an outsider is never a target",
        ),
    ];
    for (field, value, why) in cases {
        let mut plan = good.clone();
        plan["targets"][0][field] = value.clone();
        plan["targets"][2][field] = value.clone();
        std::fs::write(&e.plan, plan.to_string()).unwrap();
        let (code, err) = finish(&mut e.apply(&["--yes"])).await;
        assert_eq!(code, 2, "{field}={value}: {err}");
        assert!(
            err.contains("2 of its 6 target(s) refused"),
            "{field}: {err}"
        );
        assert!(
            err.contains("target 1: ") && err.contains("target 3: "),
            "{err}"
        );
        assert_eq!(err.matches(why).count(), 2, "{field}: {err}");
        assert!(
            !err.contains('\u{202e}'),
            "the reason is shown safe: {err:?}"
        );
        assert!(e.emu.removals().is_empty(), "{field}: something was sent");
        assert!(!e.journal().exists(), "{field}: a run was journaled");
    }
    // A target listed twice is said and sent once.
    let mut plan = good.clone();
    let first = plan["targets"][0].clone();
    plan["targets"].as_array_mut().unwrap().push(first);
    std::fs::write(&e.plan, plan.to_string()).unwrap();
    let (code, err) = finish(&mut e.apply(&["--yes"])).await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2 times: it is sent once"), "{err}");
    let removals = e.emu.removals();
    assert_eq!(removals.len(), 6, "{err}");
    let distinct: HashSet<_> = removals.iter().map(|r| (&r.chat_id, &r.user_id)).collect();
    assert_eq!(distinct.len(), 6);
    // Once all are removed, a new run says so instead of asking.
    let (code, err) = finish(&mut e.apply(&[])).await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("Nothing to send"), "{err}");
}

#[test]
fn not_signed_in_says_how_to_sign_in() {
    let d = tempfile::tempdir().unwrap();
    let plan = d.path().join("plan.json");
    std::fs::write(
        &plan,
        r#"{"version":1,"created":"2026-11-29T00:00:00Z","source_files":[],"filter":null,"targets":[]}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_chatevict"))
        .args(["apply", plan.to_str().unwrap(), "--yes"])
        .env("XDG_STATE_HOME", d.path())
        .env("XDG_CONFIG_HOME", d.path())
        .env("CHATEVICT_LOGIN_URL", "http://127.0.0.1:9/")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("chatevict login"), "{err}");
}

#[test]
fn the_emulator_command_says_where_it_listens() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_chatevict"))
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--faults",
            "flaky",
            "--auto-approve",
        ])
        .arg("--seed-export")
        .arg(common::fixture("triage-chats.ndjson"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let state: serde_json::Value = common::emu::state_of(&url);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(state["faults"], "flaky");
    assert_eq!(
        state["tenants"][0]["id"],
        "2f1a7c3e-0b5d-4c6e-9a8f-1d2e3f4a5b6c"
    );
    assert!(state["removals"].as_array().unwrap().is_empty());
    assert!(state["chats"].as_u64().unwrap() > 5);
}
