//! Small drawing helpers that every screen shares.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders};

use crate::sanitize::for_terminal;
use crate::tui::app::App;
use crate::tui::theme::Role;

/// The spinner's frames, one per tick.
pub(crate) const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

/// Text from a file or a server, made safe for the terminal.
pub(crate) fn safe(s: &str) -> String {
    for_terminal(s).into_owned()
}

/// `1234567` as `1,234,567`.
pub(crate) fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A bordered block in the theme's colours.
pub(crate) fn block<'a>(app: &App, title: impl Into<Line<'a>>) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_set(app.theme.border())
        .border_style(app.theme.style(Role::Dim))
        .title(title)
        .title_style(app.theme.style(Role::Title))
}

/// A `w`×`h` rectangle in the middle of `area` (clipped to it).
pub(crate) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// `--ascii`: the finished frame in pure ASCII, for terminals (or fonts)
/// that cannot draw more. The glyphs the screens use get look-alikes in
/// the same one cell (`│` `|`, `·` `-`, `…` `~`, arrows `^ v < >`, the
/// gauge's blocks `#`, the marks `* +`); any other character, from the
/// data, shows as `?` (a wide one as `?` and a space).
pub(super) fn asciify(buf: &mut Buffer) {
    for cell in buf.content.iter_mut() {
        let sym = cell.symbol();
        if sym.is_ascii() {
            continue;
        }
        let first = sym.chars().next().unwrap_or(' ');
        let ascii = match first {
            '│' | '┃' | '║' | '╎' => "|",
            '─' | '━' | '═' | '╌' | '–' | '—' | '·' | '•' => "-",
            '╭' | '╮' | '╰' | '╯' | '┌' | '┐' | '└' | '┘' | '┼' | '├' | '┤' | '┬' | '┴' => {
                "+"
            }
            '…' => "~",
            '↑' => "^",
            '↓' => "v",
            '←' => "<",
            '→' => ">",
            '×' | '✗' => "x",
            '●' => "*",
            '◐' => "+",
            '█' | '▉' | '▊' | '▋' | '▌' | '▍' | '▎' | '▏' | '▐' | '░' | '▒' | '▓' => {
                "#"
            }
            _ => "?",
        };
        cell.set_symbol(ascii);
    }
}
