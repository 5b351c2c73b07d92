//! The events list.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};

use super::widgets::{block, safe, thousands};
use super::window;
use crate::tui::app::App;
use crate::tui::layout::{self};
use crate::tui::theme::Role;

pub(super) fn events_table(f: &mut Frame, app: &App, area: Rect) {
    let d = app.data.as_ref().expect("loaded");
    let t = &app.theme;
    let total = d.ds.records.len();
    let title = if app.filter.applied_text.is_empty() {
        format!(
            " Events ({}) · {} ",
            thousands(total),
            app.order.events.label()
        )
    } else {
        format!(
            " Events ({} of {}) · {} ",
            thousands(app.rows.len()),
            thousands(total),
            app.order.events.label()
        )
    };
    let wide = area.width >= 110;
    let widths = if wide {
        [
            Constraint::Length(1),
            Constraint::Length(19),
            Constraint::Length(20),
            Constraint::Percentage(28),
            Constraint::Fill(1),
            Constraint::Length(9),
        ]
    } else {
        [
            Constraint::Length(1),
            Constraint::Length(11),
            Constraint::Length(16),
            Constraint::Fill(1),
            Constraint::Fill(1),
            Constraint::Length(9),
        ]
    };
    let time_format = if wide {
        "%Y-%m-%d %H:%M:%S"
    } else {
        "%m-%d %H:%M"
    };
    let rows_visible = layout::table_rows(app.size);
    let w = window(app.events.offset, app.rows.len(), rows_visible);
    let rows: Vec<Row> = w
        .clone()
        .map(|i| {
            let r = app.rows[i] as usize;
            let rec = &d.ds.records[r];
            let chat = d.ix.chats.chat_index(r);
            let marked = chat.map_or(0, |c| app.marks.in_chat(c));
            let targets = chat.map_or(0, |c| d.ix.chats.list[c].targets().len());
            let mark = t.mark(marked > 0 && marked as usize == targets, marked > 0);
            let chat_label = rec
                .chat
                .as_deref()
                .map(|c| {
                    let n = d.ds.opt(c.chat_name);
                    if n.trim().is_empty() {
                        d.ds.opt(c.chat_id)
                    } else {
                        n
                    }
                })
                .unwrap_or_else(|| d.ds.opt(rec.object));
            let mut badges = Vec::new();
            if d.ix.external[r] {
                badges.push(Span::styled("EXT", t.style(Role::External)));
            }
            if d.ix.guests[r] {
                if !badges.is_empty() {
                    badges.push(Span::raw(" "));
                }
                badges.push(Span::styled("GUEST", t.style(Role::Guest)));
            }
            let row = Row::new(vec![
                Cell::from(Span::styled(mark, t.style(Role::Marked))),
                Cell::from(rec.time.format(time_format).to_string()),
                Cell::from(safe(d.ds.str(rec.operation))),
                Cell::from(safe(d.ds.opt(rec.user_id))),
                Cell::from(safe(chat_label)),
                Cell::from(Line::from(badges)),
            ]);
            let found = app.search.hits.as_ref().is_some_and(|h| h.records[r]);
            if i == app.events.sel {
                row.style(t.style(Role::Selected))
            } else if found {
                row.style(t.style(Role::Match))
            } else {
                row
            }
        })
        .collect();

    let header = Row::new([
        "",
        if wide { "Time (UTC)" } else { "UTC" },
        "Operation",
        "User",
        "Chat or object",
        "",
    ])
    .style(t.style(Role::Title));
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(block(app, title));
    f.render_widget(table, area);
}
