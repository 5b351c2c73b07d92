//! End to end in a pseudo-terminal: `chatevict demo` on a flaky emulated
//! server; filter to the external chats, mark all, sign in, confirm, run
//! to the end. Afterwards the emulator holds every marked target removed
//! and the screen says so. Also the browser sign-in, with the test as the
//! browser.

mod common;

use common::pty::Pty;

/// The (chat, user, tenant) triples of the demo export's plan for `filter`,
/// as `chatevict plan` makes it.
fn planned(filter: &str) -> std::collections::BTreeSet<(String, String, String)> {
    let export = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo-export.csv");
    let (code, out, err) =
        common::run(&["plan", "-q", export.to_str().unwrap(), "--filter", filter]);
    assert_eq!(code, 0, "{err}");
    let plan: chatevict::triage::plan::Plan = serde_json::from_str(&out).unwrap();
    plan.targets
        .into_iter()
        .map(|t| {
            (
                t.chat_id,
                t.user_id.expect("the demo gives every id"),
                t.tenant_id,
            )
        })
        .collect()
}

#[test]
fn demo_filter_mark_sign_in_confirm_and_run_on_a_flaky_server() {
    let mut t = Pty::spawn(
        &[
            "demo",
            "--faults",
            "flaky",
            "--rate",
            "10",
            "--approve-after",
            "1",
        ],
        120,
        40,
    );
    let start = t.wait_for("emulated tenant at http://", 30);
    let url = start
        .split("emulated tenant at ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_owned();
    t.wait_for("Events (1,130)", 30);
    assert!(t.text().contains("DEMO"));

    t.send("/");
    // The case Microsoft's procedure is written for: chats started from
    // another tenant.
    t.send("initiated:external");
    t.send("\r");
    t.wait_for("Events (87 of 1,130)", 10);
    t.send("a");
    t.wait_for("12 targets marked", 10);
    t.send("s");
    t.wait_for("│ admin@contoso.com", 30);
    t.send("R");
    // The review appears at once and fills in when the plan is checked.
    t.wait_for("Review the run", 10);
    t.wait_for_all(
        &[
            "12 removal(s) to send in 8 chat(s)",
            "Type 12 and press enter",
        ],
        10,
    );
    t.send("12");
    t.send("\r");
    t.wait_for("Run (12 targets)", 10);
    t.wait_for_all(&["12 of 12 · finished", "removed 12 · failed 0"], 180);

    // The emulated tenant lost exactly the marked targets, once in effect.
    let state: serde_json::Value = common::emu::state_of(&url);
    let removals = state["removals"].as_array().unwrap();
    let changed: std::collections::HashSet<(String, String)> = removals
        .iter()
        .filter(|r| r["changed"] == true)
        .map(|r| {
            (
                r["chat_id"].as_str().unwrap().to_owned(),
                r["user_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(changed.len(), 12, "{state}");
    // Exactly the plan's (chat, user, tenant) triples, nothing else.
    let sent: std::collections::BTreeSet<(String, String, String)> = removals
        .iter()
        .map(|r| {
            let f = |k: &str| r[k].as_str().unwrap().to_owned();
            (f("chat_id"), f("user_id"), f("tenant_id"))
        })
        .collect();
    assert_eq!(sent, planned("initiated:external"), "{state}");
    assert_eq!(removals.iter().filter(|r| r["changed"] == true).count(), 12);

    // The same targets again: the journal knows they are removed, and
    // nothing is sent.
    t.send("R");
    t.wait_for_all(
        &[
            "Nothing left to send",
            "0 removal(s) to send",
            "12 removed by an earlier run",
        ],
        10,
    );
    t.send("\r");
    t.wait_for(
        "nothing to send: an earlier run removed every marked target",
        10,
    );
    let state2: serde_json::Value = common::emu::state_of(&url);
    assert_eq!(
        state2["removals"].as_array().unwrap().len(),
        removals.len(),
        "nothing sent again"
    );

    t.send("q");
    let status = t.wait_exit(20);
    assert!(status.success(), "{status:?}");
}

#[test]
fn demo_browser_sign_in_comes_back_to_the_loopback_port() {
    let mut t = Pty::spawn(&["demo", "--approve-after", "60"], 140, 40);
    t.wait_for("Events (1,130)", 30);
    t.send("s");
    t.wait_for("waiting for the code to be typed in a browser", 20);
    t.send("b");
    let shown = t.wait_for_all(&["Open this address in a browser", "It comes back to"], 20);
    // The address wraps inside the dialog: join its pieces.
    let mut url = String::new();
    let mut inside = false;
    for l in shown.lines() {
        if l.contains("Open this address in a browser") {
            inside = true;
            continue;
        }
        if l.contains("It comes back to") {
            break;
        }
        if inside {
            let piece = l
                .split('│')
                .nth(2)
                .or_else(|| l.split('│').nth(1))
                .unwrap_or("")
                .trim();
            url.push_str(piece);
        }
    }
    assert!(
        url.starts_with("http://127.0.0.1:") && url.contains("/oauth2/v2.0/authorize?"),
        "{url}\n{shown}"
    );
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let c = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = c.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 302, "{url}");
        let back = r.headers()["location"]
            .to_str()
            .unwrap()
            .replace("localhost", "127.0.0.1");
        let page = c.get(back).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("close this tab"));
    });
    t.wait_for("│ admin@contoso.com", 20);
    t.send("q");
    let status = t.wait_exit(20);
    assert_eq!(status.exit_code(), 0, "{status:?}");
}

#[test]
fn demo_fetches_the_audit_log_from_its_emulated_tenant_with_f() {
    let mut t = Pty::spawn(&["demo", "--approve-after", "0"], 120, 40);
    t.wait_for("Events (1,130)", 30);
    t.send("F");
    t.wait_for("Search the tenant's audit log for Teams records", 10);
    // Since the first of November: every Teams record of the demo export.
    t.send("\x7f\x7f\x7f2026-11-01");
    t.send("\r");
    // Not signed in yet: the dialog says so, and enter signs in asking
    // for the audit permission; the fetch goes on by itself after.
    t.wait_for("cannot be searched yet: not signed in", 20);
    t.send("\r");
    t.wait_for("fetched and saved", 60);
    // Every fetched record is one the demo export holds: merged, none
    // twice.
    let done = t.wait_for("0 new, 460 already open", 30);
    assert!(done.contains("460 record(s) fetched"), "{done}");
    assert!(t.text().contains("Events (1,130)"));
    t.send("\r");
    t.wait_for("fetched records saved in", 10);
    t.send("q");
    t.wait_exit(10);
}
