//! End to end in a pseudo-terminal: `chatevict demo` on a flaky emulated
//! server; filter to the external chats, mark all, sign in, confirm, run
//! to the end. Afterwards the emulator holds every marked target removed
//! and the screen says so.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
}

impl Screen {
    fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Waits until the screen shows `what`; the screen on failure.
    fn wait_for(&self, what: &str, secs: u64) -> String {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            let t = self.text();
            if t.contains(what) {
                return t;
            }
            assert!(
                Instant::now() < until,
                "waited {secs}s for {what:?}; the screen:\n{t}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn demo_filter_mark_sign_in_confirm_and_run_on_a_flaky_server() {
    let state = tempfile::tempdir().unwrap();
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 40,
            cols: 120,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(binary());
    cmd.args([
        "demo",
        "--faults",
        "flaky",
        "--rate",
        "10",
        "--approve-after",
        "1",
    ]);
    cmd.env("XDG_STATE_HOME", state.path());
    cmd.env("XDG_CONFIG_HOME", state.path());
    cmd.env("TERM", "xterm-256color");
    let mut child = pty.slave.spawn_command(cmd).unwrap();
    drop(pty.slave);
    let parser = Arc::new(Mutex::new(vt100::Parser::new(
        std::num::NonZero::new(40).unwrap(),
        std::num::NonZero::new(120).unwrap(),
        0,
    )));
    let mut reader = pty.master.try_clone_reader().unwrap();
    let p = parser.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            p.lock().unwrap().process(&buf[..n]);
        }
    });
    let mut keys = pty.master.take_writer().unwrap();
    let mut send = |s: &str| {
        keys.write_all(s.as_bytes()).unwrap();
        keys.flush().unwrap();
        std::thread::sleep(Duration::from_millis(150));
    };
    let screen = Screen { parser };

    let start = screen.wait_for("emulated tenant at http://", 30);
    let url = start
        .split("emulated tenant at ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_owned();
    screen.wait_for("Events (1,130)", 30);
    assert!(screen.text().contains("DEMO"));

    send("/");
    send("ext:yes");
    send("\r");
    screen.wait_for("Events (130 of 1,130)", 10);
    send("a");
    let marked = screen.wait_for("targets marked", 10);
    assert!(marked.contains("21 targets marked"), "{marked}");
    send("s");
    screen.wait_for("│ admin@contoso.com", 30);
    send("R");
    let review = screen.wait_for("Review the run", 10);
    assert!(review.contains("21 target(s) in 12 chat(s)"), "{review}");
    send("21");
    send("\r");
    screen.wait_for("Run (21 targets)", 10);
    let done = screen.wait_for("21 of 21 · finished", 180);
    assert!(done.contains("removed 21 · failed 0"), "{done}");

    // The emulated tenant lost exactly the marked targets, once in effect.
    let state_json: serde_json::Value = tokio::runtime::Runtime::new().unwrap().block_on(async {
        reqwest::get(format!("{url}/_emulator/state"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let removals = state_json["removals"].as_array().unwrap();
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
    assert_eq!(changed.len(), 21, "{state_json}");
    assert_eq!(removals.iter().filter(|r| r["changed"] == true).count(), 21);

    send("q");
    let until = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("the demo did not quit; the screen:\n{}", screen.text());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

/// The browser sign-in from the screen: the test plays the browser,
/// following the address shown to the loopback port.
#[test]
fn demo_browser_sign_in_comes_back_to_the_loopback_port() {
    let state = tempfile::tempdir().unwrap();
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 40,
            cols: 140,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(binary());
    cmd.args(["demo", "--approve-after", "60"]);
    cmd.env("XDG_STATE_HOME", state.path());
    cmd.env("XDG_CONFIG_HOME", state.path());
    let mut child = pty.slave.spawn_command(cmd).unwrap();
    drop(pty.slave);
    let parser = Arc::new(Mutex::new(vt100::Parser::new(
        std::num::NonZero::new(40).unwrap(),
        std::num::NonZero::new(140).unwrap(),
        0,
    )));
    let mut reader = pty.master.try_clone_reader().unwrap();
    let p = parser.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            p.lock().unwrap().process(&buf[..n]);
        }
    });
    let mut keys = pty.master.take_writer().unwrap();
    let mut send = |s: &str| {
        keys.write_all(s.as_bytes()).unwrap();
        keys.flush().unwrap();
        std::thread::sleep(Duration::from_millis(150));
    };
    let screen = Screen { parser };
    screen.wait_for("Events (1,130)", 30);
    send("s");
    screen.wait_for("waiting for you to enter it", 20);
    send("b");
    let shown = screen.wait_for("Open this address in a browser", 20);
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
    screen.wait_for("│ admin@contoso.com", 20);
    send("q");
    let until = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < until, "the demo did not quit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The binary under test: `CHATEVICT_E2E_BIN` (say, the release build),
/// else the one cargo built for the tests.
fn binary() -> String {
    match std::env::var("CHATEVICT_E2E_BIN") {
        Ok(p) => std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(p)
            .display()
            .to_string(),
        Err(_) => env!("CARGO_BIN_EXE_chatevict").to_owned(),
    }
}
