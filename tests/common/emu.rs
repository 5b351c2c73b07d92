//! Helpers for the tests that talk to the emulator over loopback HTTP.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chatevict::config::{FileSettings, GraphArgs, Settings};
use chatevict::emulator::{Config, Emulator, Profile, Seed};
use chatevict::graph::auth::{Auth, Session};
use chatevict::graph::cache::TokenCache;
use chatevict::graph::client::Graph;
use chatevict::graph::http::Http;
use chatevict::graph::ids::GraphUrls;
use chatevict::triage::index::Index;
use chatevict::triage::plan::{self, Target};
use serde_json::json;

pub const HOME: &str = "2f1a7c3e-0b5d-4c6e-9a8f-1d2e3f4a5b6c";
pub const FABRIKAM: &str = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

/// The object id of home user `i` (users below `known` have one in the
/// export; the others are named only by UPN and need a lookup).
pub fn user_key(i: usize) -> String {
    format!("{i:08x}-1111-4111-8111-{i:012x}")
}

/// Writes a Management Activity API NDJSON export: `chats` external
/// group chats, each started by a Fabrikam user with two of 40 home
/// users (so `2 * chats` targets); half the home users' ids are in the
/// export.
pub fn write_export(dir: &Path, chats: usize) -> PathBuf {
    let mut lines = Vec::new();
    let mut n = 0;
    let mut id = || {
        n += 1;
        format!("{n:08x}-0000-4000-8000-{n:012x}")
    };
    for i in 0..20 {
        lines.push(json!({
            "CreationTime": "2026-11-01T08:00:00", "Id": id(), "Operation": "TeamsSessionStarted",
            "OrganizationId": HOME, "RecordType": 25, "UserKey": user_key(i), "UserType": 0,
            "Workload": "MicrosoftTeams", "UserId": format!("user{i}@contoso.com"),
        }));
    }
    for k in 0..chats {
        let (a, b) = ((2 * k) % 40, (2 * k + 1) % 40);
        let members = json!([
            {"DisplayName": "Rob Young", "UPN": "rob.young@fabrikam.com", "Role": 1, "OrganizationId": FABRIKAM},
            {"DisplayName": format!("User {a}"), "UPN": format!("user{a}@contoso.com"), "Role": 1, "OrganizationId": HOME},
            {"DisplayName": format!("User {b}"), "UPN": format!("user{b}@contoso.com"), "Role": 1, "OrganizationId": HOME},
        ]);
        lines.push(json!({
            "CreationTime": format!("2026-11-02T09:{:02}:{:02}", k / 60, k % 60), "Id": id(),
            "Operation": "MemberAdded", "OrganizationId": HOME, "RecordType": 25,
            "UserKey": "", "UserType": 0, "Workload": "MicrosoftTeams",
            "UserId": "rob.young@fabrikam.com",
            "ChatThreadId": format!("19:{k:032x}@thread.v2"), "CommunicationType": "GroupChat",
            "ChatName": format!("Fabrikam deal {k}"), "ResourceTenantId": FABRIKAM,
            "Members": members,
        }));
    }
    let path = dir.join("export.ndjson");
    let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    std::fs::write(&path, text.join("\n") + "\n").unwrap();
    path
}

/// Every target of the export, in plan order.
pub fn targets(files: &[PathBuf]) -> Vec<Target> {
    let ds = super::load(files);
    let ix = Index::build(&ds);
    plan::targets(&ds, &ix, 0..ix.chats.list.len())
}

pub async fn start(files: &[PathBuf], cfg: Config) -> Emulator {
    let seed = if files.is_empty() {
        Seed::empty()
    } else {
        Seed::from_exports(files).unwrap()
    };
    Emulator::start("127.0.0.1:0".parse().unwrap(), cfg, seed)
        .await
        .unwrap()
}

/// The seed of the emulator's random choices: `CHATEVICT_TEST_SEED`, or a
/// fixed one. It is printed, so a failing test shows how to replay its
/// fault sequence (cargo shows a test's output when it fails).
pub fn seed() -> u64 {
    let seed = std::env::var("CHATEVICT_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x00c4_a7e7);
    eprintln!("emulator seed {seed} (CHATEVICT_TEST_SEED={seed} replays its faults)");
    seed
}

pub fn config(faults: Profile, rate: f64) -> Config {
    Config {
        seed: Some(seed()),
        faults,
        rate_limit: rate,
        auto_approve: Some(Duration::ZERO),
        device_interval: 1,
        access_token_lifetime: if faults == Profile::Hostile {
            Duration::from_secs(3)
        } else {
            Duration::from_secs(3600)
        },
        ..Config::default()
    }
}

/// Settings pointing at the emulator; one-second request timeout.
pub fn settings(emu: &Emulator, tenant: &str) -> Settings {
    let args = GraphArgs {
        login_url: Some(emu.url()),
        graph_url: Some(emu.url()),
        tenant: Some(tenant.into()),
        timeout: Some(1.0),
        ..GraphArgs::default()
    };
    Settings::merge(&args, None, &FileSettings::default()).unwrap()
}

/// Sign-in and refresh with a generous timeout: a loaded 2-core machine
/// must not fail a sign-in (Graph requests keep the settings' short one,
/// which the stall faults need).
pub fn auth(s: &Settings, cache: &Path) -> Auth {
    Auth::new(
        s,
        Http::new(s.timeout.max(Duration::from_secs(30)), s.ca_cert.as_ref()).unwrap(),
        TokenCache::new(cache.to_path_buf()),
    )
}

pub fn graph(s: &Settings) -> Graph {
    Graph::new(
        Http::new(s.timeout, s.ca_cert.as_ref()).unwrap(),
        GraphUrls::new(&s.graph_url, s.api_version),
    )
}

/// Signs in through the browser flow, as a browser would: follows the
/// authorize URL to its redirect and hands the address back.
pub async fn sign_in(auth: &Auth) -> Session {
    let flow = auth.browser_start("http://localhost:1/").unwrap();
    let back = browser(flow.url.as_str()).await;
    auth.browser_finish(flow, &back).await.unwrap()
}

/// Where the authorize endpoint sends the browser.
pub async fn browser(url: &str) -> String {
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = c.get(url).send().await.unwrap();
    assert_eq!(r.status(), 302, "{}", r.text().await.unwrap_or_default());
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// `chatevict COMMAND` as an admin runs it against `emu`: state and
/// config under `dir` (`state`, `config`), no input, output captured.
pub fn command(emu: &Emulator, dir: &Path, command: &str) -> std::process::Command {
    use std::process::Stdio;
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_chatevict"));
    c.arg(command)
        .current_dir(dir)
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("CHATEVICT_LOGIN_URL", emu.url())
        .env("CHATEVICT_GRAPH_URL", emu.url())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// `POST /_emulator/…` with a JSON body.
pub async fn control(emu: &Emulator, path: &str, body: serde_json::Value) {
    let r = reqwest::Client::new()
        .post(format!("{}_emulator/{path}", emu.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

/// `GET {base}/_emulator/state`, from a test without a runtime of its own.
pub fn state_of(base: &str) -> serde_json::Value {
    let base = base.trim_end_matches('/').to_owned();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            reqwest::get(format!("{base}/_emulator/state"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        })
}

/// Every removal the server carried out was asked for by a journaled
/// attempt (same client-request-id) for a target of the plan, and carried
/// that target's own chat, user id and tenant: request by request, not
/// only as a set (a runner that swapped the user ids of two targets in one
/// chat would leave the set unchanged). `plan` maps (chat id, lowercase
/// UPN) to the user id the plan (or the lookup) gives.
pub fn assert_requests_match_plan(
    removals: &[chatevict::emulator::Removal],
    journal: &chatevict::journal::Read,
    plan: &std::collections::HashMap<(String, String), (String, String)>,
) {
    use chatevict::journal::Entry;
    let attempts: std::collections::HashMap<&str, (&str, &str)> = journal
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Attempt {
                key,
                client_request_id,
                ..
            } => Some((
                client_request_id.as_str(),
                (key.chat_id.as_str(), key.user_upn.as_str()),
            )),
            _ => None,
        })
        .collect();
    for r in removals {
        let crid = r.client_request_id.as_deref().expect("a client-request-id");
        let (chat, upn) = attempts
            .get(crid)
            .unwrap_or_else(|| panic!("no journaled attempt for request {crid}: {r:?}"));
        let (user_id, tenant_id) = plan
            .get(&(chat.to_string(), upn.to_lowercase()))
            .unwrap_or_else(|| panic!("{chat} {upn} is no target of the plan"));
        assert_eq!(
            (r.chat_id.as_str(), r.user_id.as_str(), r.tenant_id.as_str()),
            (*chat, user_id.as_str(), tenant_id.as_str()),
            "request {crid} for {upn} sent another target's ids"
        );
    }
}
