//! A backend wrapper that writes fewer bytes over a slow link.
//!
//! ratatui sends only the cells that changed, and moves the cursor
//! (`ESC[row;colH`, 6 to 8 bytes) over every run of unchanged cells
//! between them. When the run is a few cells of the same style, writing
//! them again is cheaper than jumping over them; this wrapper keeps a copy
//! of what the screen shows so that it can do that.

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::{Position, Rect, Size};
use unicode_width::UnicodeWidthStr;

/// Gaps up to this many cells are written over rather than jumped.
const GAP: u16 = 8;

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

impl<B: Backend> Backend for GapFill<B> {
    type Error = B::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.fit();
        let updates: Vec<(u16, u16, Cell)> = content.map(|(x, y, c)| (x, y, c.clone())).collect();
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
}
