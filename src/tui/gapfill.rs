//! A backend wrapper that writes fewer bytes over a slow link.
//!
//! ratatui sends only the cells that changed, and moves the cursor
//! (`ESC[row;colH`, 6 to 8 bytes) over every run of unchanged cells
//! between them. When the run is a few cells of the same style, writing
//! them again is cheaper than jumping over them; this wrapper keeps a copy
//! of what the screen shows so that it can do that.
//!
//! With that copy it also sees a list scroll: when a band of whole rows
//! of the new frame is the band of the screen moved up or down a few
//! rows, it asks the terminal to scroll just those rows (a scrolling
//! region, `ESC[t;br ESC[nS ESC[r`, some 15 bytes) and writes only what
//! still differs, instead of every row of the list again.

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::{Position, Rect, Size};
use unicode_width::UnicodeWidthStr;

/// Gaps up to this many cells are written over rather than jumped.
const GAP: u16 = 8;

/// Scrolls of up to this many rows are looked for (the wheel moves 3).
const MAX_SHIFT: u16 = 3;

/// A band of fewer rows than this is cheaper to write than to scroll.
const MIN_BAND: u16 = 4;

/// Rows `region` of the screen moved `by` rows (up when positive).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shift {
    region: std::ops::Range<u16>,
    by: i32,
}

/// The longest band of rows of `new` that is `old` moved up or down by
/// 1 to `MAX_SHIFT` rows, if one is long enough to be worth a scroll.
fn find_shift(old: &Buffer, new: &Buffer) -> Option<Shift> {
    let a = old.area;
    if a != new.area || a.height < MIN_BAND + 1 {
        return None;
    }
    fn row(b: &Buffer, y: u16) -> &[Cell] {
        let w = usize::from(b.area.width);
        let start = usize::from(y - b.area.y) * w;
        &b.content[start..start + w]
    }
    let mut best: Option<(u16, Shift)> = None;
    for k in 1..=MAX_SHIFT.min(a.height - 1) {
        for up in [true, false] {
            // Scrolling up by k: new row y shows old row y + k.
            let mut run = 0u16;
            for y in a.y..a.bottom() - k {
                let (n, o) = if up { (y, y + k) } else { (y + k, y) };
                // A blank row is no evidence of a scroll.
                let same =
                    row(new, n) == row(old, o) && row(old, o).iter().any(|c| c.symbol() != " ");
                run = if same { run + 1 } else { 0 };
                if run >= MIN_BAND && best.as_ref().is_none_or(|(r, _)| run > *r) {
                    let first = y + 1 - run;
                    let region = first..y + 1 + k;
                    let by = if up { i32::from(k) } else { -i32::from(k) };
                    best = Some((run, Shift { region, by }));
                }
            }
        }
    }
    best.map(|(_, s)| s)
}

pub struct GapFill<B: Backend> {
    inner: B,
    /// What the terminal shows, as far as this wrapper wrote it.
    shown: Buffer,
    /// Whether `shown` is the screen (not after a partial clear).
    known: bool,
    /// A fixed viewport: the backend's size is not the screen's.
    fixed: bool,
}

impl<B: Backend> GapFill<B> {
    pub fn new(inner: B) -> GapFill<B> {
        GapFill {
            inner,
            shown: Buffer::empty(Rect::default()),
            // As ratatui assumes: the (alternate) screen starts blank.
            known: true,
            fixed: false,
        }
    }

    /// For a fixed viewport whose size the backend cannot tell (a pipe).
    pub fn with_area(inner: B, area: Rect) -> GapFill<B> {
        GapFill {
            inner,
            shown: Buffer::empty(area),
            known: true,
            fixed: true,
        }
    }

    fn fit(&mut self) {
        if self.fixed {
            return;
        }
        if let Ok(size) = self.inner.size() {
            let area = Rect::new(0, 0, size.width, size.height);
            if self.shown.area != area {
                // The first frame's screen is blank; after a resize the
                // screen is unknown until ratatui clears it.
                let first = self.shown.area.is_empty();
                self.shown = Buffer::empty(area);
                self.known = first;
            }
        }
    }
}

impl<B: Backend> GapFill<B> {
    /// Scrolls `s.region` on the terminal and in the copy of the screen;
    /// the rows scrolled in are blank, as the terminal makes them.
    fn scroll(&mut self, s: &Shift) -> Result<(), B::Error> {
        let k = s.by.unsigned_abs() as u16;
        if s.by > 0 {
            self.inner.scroll_region_up(s.region.clone(), k)?;
        } else {
            self.inner.scroll_region_down(s.region.clone(), k)?;
        }
        shift_rows(&mut self.shown, s);
        Ok(())
    }
}

/// `b`'s rows in `s.region` moved as a terminal scrolls them: the rows
/// scrolled in are blank.
fn shift_rows(b: &mut Buffer, s: &Shift) {
    let w = usize::from(b.area.width);
    let idx = |y: u16| usize::from(y - b.area.y) * w;
    let band = &mut b.content[idx(s.region.start)..idx(s.region.end)];
    let n = (s.by.unsigned_abs() as usize * w).min(band.len());
    let len = band.len();
    if s.by > 0 {
        band.rotate_left(n);
        band[len - n..].fill(Cell::EMPTY);
    } else {
        band.rotate_right(n);
        band[..n].fill(Cell::EMPTY);
    }
}

impl<B: Backend> Backend for GapFill<B> {
    type Error = B::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.fit();
        let mut updates: Vec<(u16, u16, Cell)> =
            content.map(|(x, y, c)| (x, y, c.clone())).collect();
        if self.known && updates.len() > usize::from(self.shown.area.width) * 2 {
            let mut new = self.shown.clone();
            for (x, y, c) in &updates {
                if let Some(cell) = new.cell_mut((*x, *y)) {
                    *cell = c.clone();
                }
            }
            if let Some(s) = find_shift(&self.shown, &new) {
                self.scroll(&s)?;
                // What still differs from the scrolled screen, anywhere
                // (rows ratatui saw unchanged may have moved too), by
                // ratatui's own diff (it knows wide characters).
                updates = self
                    .shown
                    .diff(&new)
                    .into_iter()
                    .map(|(x, y, c)| (x, y, c.clone()))
                    .collect();
            }
        }
        let mut out: Vec<(u16, u16, Cell)> = Vec::with_capacity(updates.len());
        let area = self.shown.area;
        for (x, y, cell) in updates {
            if let Some(&(px, py, ref prev)) = out.last()
                && self.known
            {
                let next = px + (prev.symbol().width() as u16).max(1);
                if py == y && x > next && x - next <= GAP {
                    // Fill the gap with what is shown there, if it looks
                    // the same as what comes before (no style change to
                    // pay for) and is one plain cell each.
                    let fill: Option<Vec<Cell>> = (next..x)
                        .map(|gx| {
                            let c = self.shown.cell((gx, y))?;
                            // One byte, one cell: never half of a wide
                            // character.
                            (area.contains(Position::new(gx, y))
                                && c.style() == prev.style()
                                && c.symbol().len() == 1)
                                .then(|| c.clone())
                        })
                        .collect();
                    if let Some(fill) = fill {
                        for (gx, c) in (next..x).zip(fill) {
                            out.push((gx, y, c));
                        }
                    }
                }
            }
            if let Some(c) = self.shown.cell_mut((x, y)) {
                *c = cell.clone();
            }
            // A wide character covers the cells after it on the screen,
            // and ratatui never sends those: what the copy held there is
            // gone, and must not be written back into a gap later.
            for i in 1..cell.symbol().width() as u16 {
                if let Some(c) = self.shown.cell_mut((x + i, y)) {
                    c.set_symbol("");
                }
            }
            out.push((x, y, cell));
        }
        self.inner.draw(out.iter().map(|(x, y, c)| (*x, *y, c)))
    }

    fn append_lines(&mut self, n: u16) -> Result<(), Self::Error> {
        self.inner.append_lines(n)
    }

    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> Result<(), Self::Error> {
        self.fit();
        self.shown.reset();
        self.known = true;
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        // What is left of the screen is not known cell by cell: until
        // the next full clear, gaps are jumped as usual.
        self.known = false;
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }

    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()
    }

    fn scroll_region_up(
        &mut self,
        region: std::ops::Range<u16>,
        n: u16,
    ) -> Result<(), Self::Error> {
        self.scroll(&Shift {
            region,
            by: i32::from(n),
        })
    }

    fn scroll_region_down(
        &mut self,
        region: std::ops::Range<u16>,
        n: u16,
    ) -> Result<(), Self::Error> {
        self.scroll(&Shift {
            region,
            by: -i32::from(n),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::CrosstermBackend;
    use ratatui::style::{Color, Style};
    use ratatui::widgets::Clear;

    /// A writer shared with the test.
    #[derive(Clone, Default)]
    struct Sink(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A buffer's rows as a terminal shows them (a wide character once).
    fn rows_of(b: &Buffer) -> Vec<String> {
        (0..b.area.height)
            .map(|y| {
                let mut s = String::new();
                let mut x = 0;
                while x < b.area.width {
                    let sym = b.cell((x, y)).unwrap().symbol();
                    s.push_str(if sym.is_empty() { " " } else { sym });
                    x += (sym.width() as u16).max(1);
                }
                s.trim_end().to_owned()
            })
            .collect()
    }

    /// Lists that scroll a few rows at a time, rows with wide characters
    /// (CJK, emoji) at various places, a dialog that comes and goes over
    /// them: what the terminal shows after each frame is the frame.
    #[test]
    fn every_frame_reaches_the_terminal_exactly_with_wide_characters_and_scrolls() {
        const WORDS: [&str; 10] = [
            "Kickoff 🚀 Tailspin",
            "田中 太郎",
            "8",
            "19:3ce1b347",
            "Zoë Ångström",
            "×",
            "abc",
            "🚀🚀",
            "MessageSent",
            "─",
        ];
        let (w, h) = (40u16, 12u16);
        let mut rng = fastrand::Rng::with_seed(7);
        let lines: Vec<String> = (0..200)
            .map(|_| {
                let mut s = " ".repeat(rng.usize(0..6));
                for _ in 0..rng.usize(1..6) {
                    s.push_str(WORDS[rng.usize(..WORDS.len())]);
                    s.push_str(&" ".repeat(rng.usize(0..4)));
                }
                s
            })
            .collect();
        let sink = Sink::default();
        let area = Rect::new(0, 0, w, h);
        let mut t = Terminal::with_options(
            GapFill::with_area(CrosstermBackend::new(sink.clone()), area),
            ratatui::TerminalOptions {
                viewport: ratatui::Viewport::Fixed(area),
            },
        )
        .unwrap();
        let nz = |n: u16| std::num::NonZeroU16::new(n).unwrap();
        let mut vt = vt100::Parser::new(nz(h), nz(w), 0);
        let mut offset = 0usize;
        for frame in 0..600 {
            offset = match rng.usize(0..10) {
                0 => rng.usize(0..150),
                _ => (offset as i64 + rng.i64(-3..=3)).clamp(0, 150) as usize,
            };
            let dialog = rng.usize(0..4) == 0;
            let styled = rng.bool();
            let drawn = t
                .draw(|f| {
                    let b = f.buffer_mut();
                    for y in 0..h {
                        let style = if styled && y % 3 == 0 {
                            Style::default().fg(Color::Red)
                        } else {
                            Style::default()
                        };
                        b.set_stringn(0, y, &lines[offset + y as usize], w as usize, style);
                    }
                    if dialog {
                        let r = Rect::new(3, 2, 30, 6);
                        f.render_widget(Clear, r);
                        let b = f.buffer_mut();
                        for y in 0..6 {
                            b.set_stringn(
                                4,
                                2 + y,
                                &lines[(offset + 7 * y as usize) % 200],
                                28,
                                Style::default(),
                            );
                        }
                    }
                })
                .unwrap()
                .buffer
                .clone();
            vt.process(&std::mem::take(&mut *sink.0.borrow_mut()));
            let got: Vec<String> = vt
                .screen()
                .rows(0, w)
                .map(|r| r.trim_end().to_owned())
                .collect();
            assert_eq!(got, rows_of(&drawn), "frame {frame}");
        }
    }
}
