//! End to end in a pseudo-terminal: `chatevict FILE` as a user runs it.
//! Types a filter, marks, opens the help, quits; checks the screen, that
//! the terminal was given back as it was, and how many bytes the
//! application writes when idle and per keystroke.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::pty::Pty;

#[test]
fn filter_mark_help_quit_and_the_terminal_is_restored() {
    let export = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-export.csv");
    let mut t = Pty::spawn(&[export], 120, 40);
    t.wait_for("Events (1,130)", 30);
    assert!(t.modes().0, "the alternate screen is used");
    // Idle: once the screen has settled, nothing at all is written.
    t.wait_quiet(300, 20);
    let before = t.written.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1500));
    let idle = t.written.load(Ordering::SeqCst) - before;
    assert_eq!(idle, 0, "nothing is drawn while nothing changes");
    // One keystroke: one row down, and only the rows that changed.
    let before = t.written.load(Ordering::SeqCst);
    t.send("j");
    t.wait_for("Record · demo-export.csv:3", 10);
    t.wait_quiet(200, 10);
    let one_row = t.written.load(Ordering::SeqCst) - before;
    eprintln!("one row down at 120x40: {one_row} bytes");
    assert!(
        (100..4096).contains(&one_row),
        "one row down redraws little, not the screen (3.5 KB+): {one_row} bytes"
    );

    t.send("/");
    t.send("ext:yes domain:fabrikam");
    t.wait_for("/ ext:yes domain:fabrikam", 10);
    t.send("\r");
    t.wait_for("Events (29 of 1,130)", 10);
    t.send(" ");
    t.wait_for("2 targets marked", 10);
    t.send("?");
    // Waited for whole: a frame may arrive in several reads.
    let help = t.wait_for("mark or unmark the targets", 10);
    assert!(help.contains("Help ("), "{help}");
    // Esc and q in one read (a slow link does this) are not Alt-q: the
    // help closes, then the application quits.
    t.send("\x1bq");
    let status = t.wait_exit(20);
    assert!(status.success(), "{status:?}");
    assert_eq!(status.exit_code(), 0);
    // Normal screen, cursor shown again.
    t.wait_modes((false, false), 10);
}

/// An abort runs no Rust code: the binary's SIGABRT handler leaves the
/// alternate screen, shows the cursor and puts the terminal back.
#[test]
fn an_abort_still_restores_the_terminal() {
    let mut t = Pty::spawn(
        &[common::fixture("triage-chats.ndjson").to_str().unwrap()],
        100,
        30,
    );
    t.wait_for("Events (15)", 30);
    assert_eq!(t.modes(), (true, true), "alternate screen, cursor hidden");
    let pid = t.child.process_id().expect("a pid");
    let killed = std::process::Command::new("kill")
        .args(["-ABRT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = t.wait_exit(20);
    assert!(!status.success(), "{status:?}");
    // Normal screen, cursor shown.
    t.wait_modes((false, false), 10);
}

/// Marks last: marked, quit, opened again on the same exports, the marks
/// are back (and said so); `u` undoes the restore, and that lasts too.
#[test]
fn marks_survive_quitting_and_undo_works() {
    let export = common::fixture("triage-chats.ndjson");
    let export = export.to_str().unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut t = Pty::spawn_in(&[export], 120, 40, state.path());
    t.wait_for("0 targets marked", 30);
    t.send("a");
    t.wait_for("10 targets marked", 10);
    t.send("q");
    assert_eq!(t.wait_exit(20).exit_code(), 0);

    let mut t = Pty::spawn_in(&[export], 120, 40, state.path());
    t.wait_for_all(&["10 targets marked", "restored 10 mark(s)"], 30);
    t.send("u");
    t.wait_for("0 targets marked", 10);
    t.send("q");
    assert_eq!(t.wait_exit(20).exit_code(), 0);

    // Another set of exports has marks of its own.
    let other = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-export.csv");
    let mut t = Pty::spawn_in(&[other], 120, 40, state.path());
    t.wait_for("0 targets marked", 30);
    t.send("q");
    assert_eq!(t.wait_exit(20).exit_code(), 0);

    let mut t = Pty::spawn_in(&[export], 120, 40, state.path());
    t.wait_for("0 targets marked", 30);
    assert!(!t.text().contains("restored"), "{}", t.text());
    t.send("q");
    assert_eq!(t.wait_exit(20).exit_code(), 0);
}

/// The application asks for clicks and the wheel only (no motion, which
/// floods a slow link), in SGR coordinates; a click selects the row under
/// it; quitting gives the mouse back. `--no-mouse` never takes it.
#[test]
fn the_mouse_is_taken_for_clicks_only_and_given_back() {
    use vt100::{MouseProtocolEncoding as E, MouseProtocolMode as M};
    let export = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-export.csv");
    let mut t = Pty::spawn(&[export], 120, 40);
    t.wait_for("Events (1,130)", 30);
    assert_eq!(t.mouse(), (M::PressRelease, E::Sgr));
    // A left click on the third row of the list (screen line 6, 1-based:
    // header line, title, column names, rows): its record is shown.
    t.send("\x1b[<0;30;6M\x1b[<0;30;6m");
    t.wait_for("Record · demo-export.csv:4", 10);
    t.send("q");
    assert!(t.wait_exit(20).success());
    assert_eq!(t.mouse(), (M::None, E::Default));
    let mut t = Pty::spawn(&["--no-mouse", export], 120, 40);
    t.wait_for("Events (1,130)", 30);
    assert_eq!(t.mouse().0, M::None);
    t.send("q");
    assert!(t.wait_exit(20).success());
}
