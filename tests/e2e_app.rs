//! End to end in a pseudo-terminal: `chatevict FILE` as a user runs it.
//! Types a filter, marks, opens the help, quits; checks the screen, that
//! the terminal was given back as it was, and how many bytes the
//! application writes when idle and per keystroke.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

#[test]
fn filter_mark_help_quit_and_the_terminal_is_restored() {
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
    cmd.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/demo-export.csv"
    ));
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
    let written = Arc::new(AtomicUsize::new(0));
    let mut reader = pty.master.try_clone_reader().unwrap();
    let (p, w) = (parser.clone(), written.clone());
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            w.fetch_add(n, Ordering::SeqCst);
            p.lock().unwrap().process(&buf[..n]);
        }
    });
    let mut keys = pty.master.take_writer().unwrap();
    let text = || parser.lock().unwrap().screen().contents();
    let wait_for = |what: &str| {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let t = text();
            if t.contains(what) {
                return t;
            }
            assert!(
                Instant::now() < until,
                "waited for {what:?}; the screen:\n{t}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let mut send = |s: &str| {
        keys.write_all(s.as_bytes()).unwrap();
        keys.flush().unwrap();
    };

    wait_for("Events (1,130)");
    assert!(parser.lock().unwrap().screen().alternate_screen());
    // Idle: nothing at all is written.
    std::thread::sleep(Duration::from_millis(700));
    let before = written.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1500));
    let idle = written.load(Ordering::SeqCst) - before;
    // One keystroke: one row down.
    let before = written.load(Ordering::SeqCst);
    send("j");
    std::thread::sleep(Duration::from_millis(500));
    let one_row = written.load(Ordering::SeqCst) - before;
    eprintln!("idle 1.5 s: {idle} bytes; one row down at 120x40: {one_row} bytes");
    assert_eq!(idle, 0, "nothing is drawn while nothing changes");

    send("/");
    send("ext:yes domain:fabrikam");
    wait_for("/ ext:yes domain:fabrikam");
    send("\r");
    wait_for("Events (29 of 1,130)");
    send(" ");
    wait_for("2 targets marked");
    send("?");
    let help = wait_for("Help (");
    assert!(help.contains("mark or unmark the targets"), "{help}");
    send("\x1b");
    std::thread::sleep(Duration::from_millis(300));
    send("q");
    let until = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < until,
            "did not quit; the screen:\n{}",
            text()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    std::thread::sleep(Duration::from_millis(200));
    let p = parser.lock().unwrap();
    let screen = p.screen();
    assert!(!screen.alternate_screen(), "the alternate screen was left");
    assert!(!screen.hide_cursor(), "the cursor is shown again");
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
