//! The terminal restored even when the process aborts.
//!
//! A panic unwinds through ratatui's hook, which restores the terminal; an
//! abort (a stack overflow, a failed allocation, `abort()` in a library)
//! runs no Rust code at all, and would leave the admin's terminal in the
//! alternate screen, in raw mode, with the cursor hidden. So a SIGABRT
//! handler, using only async-signal-safe calls, leaves the alternate
//! screen, shows the cursor, stops mouse reports and puts back the
//! terminal settings saved at start, while the application holds the
//! terminal. The abort then goes on as it would have.

use std::sync::OnceLock;
use std::sync::atomic::Ordering;

/// The terminal settings of standard input at start (cooked mode).
static SAVED: OnceLock<libc::termios> = OnceLock::new();

/// What undoes the application's terminal modes: mouse reports off,
/// bracketed paste off, cursor shown, normal screen.
const LEAVE: &[u8] = b"\x1b[?1006l\x1b[?1003l\x1b[?1002l\x1b[?1000l\x1b[?2004l\x1b[?25h\x1b[?1049l";

pub fn install() {
    // SAFETY: tcgetattr only writes the termios it is given, which is
    // plain old data; isatty has no preconditions.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::isatty(0) == 1 && libc::tcgetattr(0, &mut t) == 0 {
            let _ = SAVED.set(t);
        }
    }
    // SAFETY: `restore` calls only async-signal-safe functions (an atomic
    // load, write(2), tcsetattr(3)) and allocates nothing.
    let _ = unsafe { signal_hook::low_level::register(signal_hook::consts::SIGABRT, restore) };
}

fn restore() {
    if chatevict::tui::TERMINAL_TAKEN.load(Ordering::SeqCst) {
        // SAFETY: write(2) and tcsetattr(3) are async-signal-safe; the
        // buffer and the termios are statics.
        unsafe {
            libc::write(1, LEAVE.as_ptr().cast(), LEAVE.len());
            if let Some(t) = SAVED.get() {
                libc::tcsetattr(0, libc::TCSANOW, t);
            }
        }
    }
    // Then the abort goes on: the default action, core dump and all.
    let _ = signal_hook::low_level::emulate_default_handler(signal_hook::consts::SIGABRT);
}
