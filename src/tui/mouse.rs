//! The mouse: clicks and the wheel, and nothing more.
//!
//! crossterm's `EnableMouseCapture` also asks for every motion (mode
//! 1003): over SSH that is a report per cell the pointer crosses. Only
//! button presses and the wheel are asked for here (1000, with SGR
//! coordinates 1006 for wide terminals). Any mouse mode leaves the
//! terminal's own selection to Shift (most terminals), or to `--no-mouse`.

use std::io::Write;

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::layout;

const CAPTURE: &[u8] = b"\x1b[?1000h\x1b[?1006h";
const RELEASE: &[u8] = b"\x1b[?1006l\x1b[?1000l";

pub fn capture() {
    let mut out = std::io::stdout();
    let _ = out.write_all(CAPTURE);
    let _ = out.flush();
    // A panic must not leave the terminal reporting clicks: ratatui's hook
    // restores the screen; this one stops the reports first.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        release();
        previous(info);
    }));
}

pub fn release() {
    let mut out = std::io::stdout();
    let _ = out.write_all(RELEASE);
    let _ = out.flush();
}

/// What a mouse report means on the main screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pointer {
    /// The wheel over the list (rows: + down).
    ScrollList(isize),
    /// The wheel over the details pane.
    ScrollDetails(isize),
    /// A click on the list's row `n` (counted from the first shown).
    Row(usize),
    /// A click on the list's title: the next view.
    Title,
    Nothing,
}

/// Rows one notch of the wheel moves.
pub const WHEEL: isize = 3;

/// Where `m` falls on a screen of `size`.
pub fn pointer(m: &MouseEvent, size: (u16, u16)) -> Pointer {
    let a = layout::areas(Rect::new(0, 0, size.0, size.1));
    let at = Position::new(m.column, m.row);
    let notch = match m.kind {
        MouseEventKind::ScrollDown => WHEEL,
        MouseEventKind::ScrollUp => -WHEEL,
        MouseEventKind::Down(MouseButton::Left) => 0,
        _ => return Pointer::Nothing,
    };
    if a.table.contains(at) {
        if notch != 0 {
            return Pointer::ScrollList(notch);
        }
        // The border's line holds the title; then the column header.
        return match at.y - a.table.y {
            0 => Pointer::Title,
            1 => Pointer::Nothing,
            y if at.y + 1 < a.table.bottom() => Pointer::Row(usize::from(y - 2)),
            _ => Pointer::Nothing,
        };
    }
    if a.details.contains(at) && notch != 0 {
        return Pointer::ScrollDetails(notch);
    }
    Pointer::Nothing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn ev(kind: MouseEventKind, column: u16, row: u16) -> MouseEvent {
        MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }
    }

    #[test]
    fn where_a_click_and_the_wheel_fall() {
        let size = (120, 40);
        let a = layout::areas(Rect::new(0, 0, 120, 40));
        let click = |y| pointer(&ev(MouseEventKind::Down(MouseButton::Left), 10, y), size);
        assert_eq!(click(a.table.y), Pointer::Title);
        assert_eq!(click(a.table.y + 1), Pointer::Nothing, "the column header");
        assert_eq!(click(a.table.y + 2), Pointer::Row(0));
        assert_eq!(click(a.table.y + 5), Pointer::Row(3));
        assert_eq!(
            click(a.table.bottom() - 1),
            Pointer::Nothing,
            "the bottom border"
        );
        assert_eq!(click(a.details.y + 2), Pointer::Nothing);
        let wheel = |k, y| pointer(&ev(k, 10, y), size);
        assert_eq!(
            wheel(MouseEventKind::ScrollDown, a.table.y + 3),
            Pointer::ScrollList(WHEEL)
        );
        assert_eq!(
            wheel(MouseEventKind::ScrollUp, a.details.y + 3),
            Pointer::ScrollDetails(-WHEEL)
        );
        // Motion and other buttons mean nothing.
        assert_eq!(
            wheel(MouseEventKind::Moved, a.table.y + 3),
            Pointer::Nothing
        );
        assert_eq!(
            pointer(
                &ev(MouseEventKind::Down(MouseButton::Right), 10, a.table.y + 3),
                size
            ),
            Pointer::Nothing
        );
    }
}
