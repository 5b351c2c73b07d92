//! The chats list.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table};

use super::widgets::{block, safe, thousands};
use super::window;
use crate::tui::app::App;
use crate::tui::layout::{self};
use crate::tui::theme::Role;

pub(super) fn chats_table(f: &mut Frame, app: &App, area: Rect) {
    let d = app.data.as_ref().expect("loaded");
    let t = &app.theme;
    let ext = app
        .chat_rows
        .iter()
        .filter(|&&c| d.ix.chats.list[c].external)
        .count();
    let title = format!(
        " Chats ({}, {} external) · {} ",
        thousands(app.chat_rows.len()),
        thousands(ext),
        app.order.chats.label()
    );
    let w = window(
        app.chats.offset,
        app.chat_rows.len(),
        layout::table_rows(app.size),
    );
    let rows: Vec<Row> = w
        .clone()
        .map(|i| {
            let c = app.chat_rows[i];
            let chat = &d.ix.chats.list[c];
            let marked = app.marks.in_chat(c);
            let targets = chat.targets().len();
            let name = chat
                .name
                .map(|n| d.ds.str(n))
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| d.ds.str(chat.id));
            let home = if chat.external {
                targets.to_string()
            } else {
                "-".into()
            };
            let row = Row::new(vec![
                Cell::from(Span::styled(
                    t.mark(marked > 0 && marked as usize == targets, marked > 0),
                    t.style(Role::Marked),
                )),
                Cell::from(safe(name)),
                Cell::from(safe(d.ds.opt(chat.communication_type))),
                Cell::from(Span::styled(
                    chat.initiated.name(),
                    if chat.external {
                        t.style(Role::External)
                    } else {
                        Style::default()
                    },
                )),
                Cell::from(safe(&chat.external_domains().join(", "))),
                Cell::from(home),
                Cell::from(thousands(chat.record_count())),
                Cell::from(chat.last_seen.format("%Y-%m-%d %H:%M").to_string()),
            ]);
            if i == app.chats.sel {
                row.style(t.style(Role::Selected))
            } else if app.search.hits.as_ref().is_some_and(|h| h.chats[c]) {
                row.style(t.style(Role::Match))
            } else {
                row
            }
        })
        .collect();
    let widths = [
        Constraint::Length(1),
        Constraint::Fill(2),
        Constraint::Length(10),
        Constraint::Length(9),
        Constraint::Fill(1),
        Constraint::Length(5),
        Constraint::Length(7),
        Constraint::Length(16),
    ];
    let header = Row::new([
        "",
        "Chat",
        "Type",
        "Started",
        "External domains",
        "Home",
        "Records",
        "Last seen (UTC)",
    ])
    .style(t.style(Role::Title));
    f.render_widget(
        Table::new(rows, widths)
            .header(header)
            .column_spacing(1)
            .block(block(app, title)),
        area,
    );
}
