//! Where things go on the screen; shared by drawing and by `update`
//! (which needs the page height for PgUp/PgDn).

use ratatui::layout::{Constraint, Layout, Rect};

pub struct Areas {
    pub header: Rect,
    pub table: Rect,
    pub details: Rect,
    pub filter: Rect,
    pub hints: Rect,
}

pub fn areas(r: Rect) -> Areas {
    let [header, body, filter, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(r);
    let table_h = if body.height >= 16 {
        body.height * 11 / 20
    } else {
        body.height / 2
    };
    let [table, details] =
        Layout::vertical([Constraint::Length(table_h), Constraint::Min(0)]).areas(body);
    Areas {
        header,
        table,
        details,
        filter,
        hints,
    }
}

/// Rows of data a table shows (inside its border, under its header).
pub fn table_rows(size: (u16, u16)) -> usize {
    let a = areas(Rect::new(0, 0, size.0, size.1));
    a.table.height.saturating_sub(3) as usize
}
