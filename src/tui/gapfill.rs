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
