//! Running the binary in a pseudo-terminal and reading its screen back
//! (portable-pty for the terminal, vt100 for the screen).

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// The binary under test: `CHATEVICT_E2E_BIN` (say, the release build),
/// else the one cargo built for the tests.
pub fn binary() -> String {
    match std::env::var("CHATEVICT_E2E_BIN") {
        Ok(p) => std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(p)
            .display()
            .to_string(),
        Err(_) => env!("CARGO_BIN_EXE_chatevict").to_owned(),
    }
}

pub struct Pty {
    parser: Arc<Mutex<vt100::Parser>>,
    /// Bytes the program wrote so far.
    pub written: Arc<AtomicUsize>,
    keys: Box<dyn Write + Send>,
    pub child: Box<dyn Child + Send + Sync>,
    _master: Box<dyn MasterPty + Send>,
    _state: Option<tempfile::TempDir>,
}

impl Pty {
    /// Starts `chatevict ARGS` in a `cols`x`rows` terminal, with state and
    /// config in a directory of its own.
    pub fn spawn(args: &[&str], cols: u16, rows: u16) -> Pty {
        let state = tempfile::tempdir().unwrap();
        let mut t = Pty::spawn_in(args, cols, rows, state.path());
        t._state = Some(state);
        t
    }

    /// As [`Pty::spawn`], with state and config in `state` (kept between
    /// runs, for a test that quits and opens again).
    pub fn spawn_in(args: &[&str], cols: u16, rows: u16, state: &std::path::Path) -> Pty {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(binary());
        cmd.args(args);
        cmd.env("XDG_STATE_HOME", state);
        cmd.env("XDG_CONFIG_HOME", state);
        cmd.env("TERM", "xterm-256color");
        let child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZero::new(rows).unwrap(),
            std::num::NonZero::new(cols).unwrap(),
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
        let keys = pty.master.take_writer().unwrap();
        Pty {
            parser,
            written,
            keys,
            child,
            _master: pty.master,
            _state: None,
        }
    }

    pub fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Whether the alternate screen is on, and whether the cursor is hidden.
    pub fn modes(&self) -> (bool, bool) {
        let p = self.parser.lock().unwrap();
        (p.screen().alternate_screen(), p.screen().hide_cursor())
    }

    /// The mouse reports the program asked of the terminal.
    #[allow(dead_code)]
    pub fn mouse(&self) -> (vt100::MouseProtocolMode, vt100::MouseProtocolEncoding) {
        let p = self.parser.lock().unwrap();
        (
            p.screen().mouse_protocol_mode(),
            p.screen().mouse_protocol_encoding(),
        )
    }

    /// Waits until the screen shows `what`; the screen on failure.
    pub fn wait_for(&self, what: &str, secs: u64) -> String {
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

    /// Waits until the screen shows every one of `all` (a frame may arrive
    /// in several reads: what a test reads must have arrived whole).
    pub fn wait_for_all(&self, all: &[&str], secs: u64) -> String {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            let t = self.text();
            if all.iter().all(|w| t.contains(w)) {
                return t;
            }
            assert!(
                Instant::now() < until,
                "waited {secs}s for {all:?}; the screen:\n{t}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types `s`. Nothing is waited for: a test waits for what it expects
    /// to see ([`Pty::wait_for`], [`Pty::wait_quiet`]).
    pub fn send(&mut self, s: &str) {
        self.keys.write_all(s.as_bytes()).unwrap();
        self.keys.flush().unwrap();
    }

    /// Waits until the program has written nothing for `quiet_ms` (the
    /// screen has settled); gives up after `secs`.
    pub fn wait_quiet(&self, quiet_ms: u64, secs: u64) {
        let until = Instant::now() + Duration::from_secs(secs);
        let mut last = self.written.load(Ordering::SeqCst);
        let mut since = Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(20));
            let now = self.written.load(Ordering::SeqCst);
            if now != last {
                (last, since) = (now, Instant::now());
            } else if since.elapsed() >= Duration::from_millis(quiet_ms) {
                return;
            }
            assert!(Instant::now() < until, "the program never went quiet");
        }
    }

    /// Waits until the terminal's modes are `want` (after an exit, the
    /// reader may still be taking in the last bytes).
    pub fn wait_modes(&self, want: (bool, bool), secs: u64) {
        let until = Instant::now() + Duration::from_secs(secs);
        while self.modes() != want {
            assert!(
                Instant::now() < until,
                "modes {:?}, not {want:?}",
                self.modes()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the program to exit; its status.
    pub fn wait_exit(&mut self, secs: u64) -> portable_pty::ExitStatus {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            if Instant::now() > until {
                let _ = self.child.kill();
                panic!("the program did not exit; the screen:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
