//! Drawing the application: a pure function of its state.

mod chats;
mod details;
mod dialogs;
mod events;
mod fetch;
mod markdown;
mod run;
pub mod widgets;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use self::widgets::{block, safe, thousands};
use crate::tui::app::{App, View};
use crate::tui::keymap::Action;
use crate::tui::layout::{self, Areas};
use crate::tui::theme::Role;

pub fn draw(f: &mut Frame, app: &App) {
    let a = layout::areas(f.area());
    header(f, app, &a);
    match &app.data {
        None => loading(f, app, a.table.union(a.details)),
        Some(_) => {
            match app.view {
                View::Events => events::events_table(f, app, a.table),
                View::Chats => chats::chats_table(f, app, a.table),
                View::Run => run::run_table(f, app, a.table),
            }
            match app.view {
                View::Run => run::run_details(f, app, a.details),
                _ => details::details(f, app, a.details),
            }
        }
    }
    filter_bar(f, app, a.filter);
    hints(f, app, a.hints);
    if let Some(d) = &app.dialog {
        dialogs::dialog(f, app, d, f.area());
    }
    if app.theme.ascii {
        widgets::asciify(f.buffer_mut());
    }
}

fn header(f: &mut Frame, app: &App, a: &Areas) {
    let t = &app.theme;
    let mut left = vec![Span::styled(
        " chatevict ",
        t.style(Role::Header).add_modifier(Modifier::BOLD),
    )];
    if let Some(b) = &app.demo_banner {
        left.push(Span::styled(
            format!(" {b} "),
            t.style(Role::External).add_modifier(Modifier::BOLD),
        ));
    }
    // Once loaded, the data's files: a fetched file joins them.
    let names: Vec<String> = app
        .data
        .as_ref()
        .map_or(&app.files, |d| &d.files)
        .iter()
        .map(|p| safe(&p.file_name().unwrap_or(p.as_os_str()).to_string_lossy()))
        .collect();
    let files = if names.len() > 2 {
        format!("{} and {} more", names[0], names.len() - 1)
    } else {
        names.join(", ")
    };
    let Some(d) = &app.data else {
        left.push(Span::raw(format!(" loading {files}…")));
        f.render_widget(Paragraph::new(Line::from(left)), a.header);
        return;
    };
    // What must always show, right to left: who is signed in (and to
    // which tenant), the marks, a warning about the data. The file names
    // and counts get what is left, and shorten first.
    let mut right = vec![Span::styled("│ ", t.style(Role::Dim))];
    let account = match &app.sign_in {
        crate::tui::run::SignIn::In(acc) => Span::raw(format!(
            "{} ({}…)",
            safe(&acc.username),
            safe(&acc.tenant_id.chars().take(8).collect::<String>())
        )),
        crate::tui::run::SignIn::Checking => Span::styled("signing in…", t.style(Role::Dim)),
        _ => Span::styled("not signed in", t.style(Role::Dim)),
    };
    let fixed: usize =
        left.iter().chain(&right).map(Span::width).sum::<usize>() + 2 + account.width();
    let (marked, hidden) = (app.marks.len(), app.hidden_marks());
    // The marks in as many words as the width allows.
    let marks = [
        format!("{marked} targets marked · {hidden} hidden by the filter "),
        format!("{marked} marked · {hidden} hidden "),
        format!("{marked} marked "),
    ]
    .into_iter()
    .find(|m| fixed + m.width() + 4 <= a.header.width as usize)
    .unwrap_or_else(|| format!("{marked} marked "));
    // The data warning in what room is left after the marks; the
    // program's name gives way to it on a narrow screen.
    if let Some(w) = &app.home_warning {
        let width = a.header.width as usize;
        let taken = fixed + marks.width();
        let title = left[0].width();
        let fits = |x: &str, room: usize| taken + x.width() + 2 <= room;
        let pick = [
            w.as_str(),
            "home tenant unknown (anonymised?)",
            "tenant unknown",
        ]
        .into_iter()
        .find(|x| fits(x, width));
        let pick = match pick {
            Some(p) => Some(p),
            None if fits("tenant unknown", width + title) => {
                left.remove(0);
                Some("tenant unknown")
            }
            None => None,
        };
        if let Some(text) = pick {
            right.push(Span::styled(format!("{text} "), t.style(Role::Error)));
            right.push(Span::styled("│ ", t.style(Role::Dim)));
        }
    }
    let (count, rest) = marks.split_at(marks.find(" · ").unwrap_or(marks.len() - 1));
    right.push(Span::styled(
        count.to_owned(),
        t.style(Role::Marked).add_modifier(Modifier::BOLD),
    ));
    right.push(Span::raw(rest.to_owned()));
    right.push(Span::styled("│ ", t.style(Role::Dim)));
    right.push(account);
    let used: usize = left.iter().chain(&right).map(Span::width).sum();
    let room = (a.header.width as usize).saturating_sub(used);
    let ext = d.ix.chats.external().count();
    let counts = format!(
        " {files} · {} records · {} chats ({} external) ",
        thousands(d.ds.records.len()),
        thousands(d.ix.chats.list.len()),
        thousands(ext),
    );
    // The counts are in the table's title and the filter bar as well.
    let middle = if counts.width() <= room && app.demo_banner.is_none() {
        counts
    } else if room >= 4 {
        format!(" {} ", shorten_middle(&files, room - 2))
    } else {
        " ".repeat(room)
    };
    left.push(Span::raw(middle));
    left.extend(right);
    f.render_widget(Paragraph::new(Line::from(left)), a.header);
}

/// `text` in at most `width` columns, its middle replaced by `…` when it
/// does not fit (the ends of a file name say the most).
fn shorten_middle(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let keep = width - 1;
    let (head_w, tail_w) = (keep - keep / 2, keep / 2);
    let mut head = String::new();
    for c in text.chars() {
        if head.width() + c.to_string().width() > head_w {
            break;
        }
        head.push(c);
    }
    let mut tail: Vec<char> = Vec::new();
    for c in text.chars().rev() {
        let w: usize = tail.iter().map(|c| c.to_string().width()).sum();
        if w + c.to_string().width() > tail_w {
            break;
        }
        tail.push(c);
    }
    tail.reverse();
    format!("{head}…{}", tail.into_iter().collect::<String>())
}

fn loading(f: &mut Frame, app: &App, area: Rect) {
    let b = block(app, " Loading ");
    let inner = b.inner(area);
    f.render_widget(b, area);
    if let Some(e) = &app.load_error {
        let p = Paragraph::new(vec![
            Line::styled(
                "The exports could not be loaded:",
                app.theme.style(Role::Error),
            ),
            Line::raw(safe(e)),
            Line::raw(""),
            Line::raw(format!("{} quits.", app.keymap.key(Action::Quit))),
        ])
        .wrap(Wrap { trim: false });
        f.render_widget(p, inner);
        return;
    }
    let (read, total) = app.load_progress;
    let ratio = if total == 0 {
        0.0
    } else {
        (read as f64 / total as f64).min(1.0)
    };
    let [_, g, note] = Layout::vertical([
        Constraint::Length(inner.height / 3),
        Constraint::Length(1),
        Constraint::Length(2),
    ])
    .areas(inner);
    let label = format!(
        "{:.1} of {:.1} MB read",
        read as f64 / 1e6,
        total as f64 / 1e6
    );
    f.render_widget(
        Gauge::default()
            .ratio(ratio)
            .label(label)
            .gauge_style(app.theme.style(Role::Key)),
        g,
    );
    f.render_widget(
        Paragraph::new(format!(
            "\n{} quits at any moment.",
            app.keymap.key(Action::Quit)
        )),
        note,
    );
}

/// `(first, visible rows)` of a table.
pub(super) fn window(offset: usize, len: usize, rows: usize) -> std::ops::Range<usize> {
    offset.min(len)..(offset + rows).min(len)
}

fn filter_bar(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    // The search's bar takes the line while it is typed.
    let searching = app.search.bar.editing;
    let fb = if searching {
        &app.search.bar
    } else {
        &app.filter
    };
    let found = match (&app.search.hits, app.search.bar.running) {
        (_, true) => " · searching…".to_owned(),
        (Some(h), _) => format!(" · {} found", thousands(h.count)),
        (None, _) => String::new(),
    };
    let count = match &app.data {
        Some(d) if app.filter.running => {
            format!(" filtering… {}{found} ", thousands(d.ds.records.len()))
        }
        Some(d) => format!(
            " {} of {}{found} ",
            thousands(app.rows.len()),
            thousands(d.ds.records.len())
        ),
        None => String::new(),
    };
    let [left, right] = Layout::horizontal([
        Constraint::Min(10),
        Constraint::Length(count.chars().count() as u16),
    ])
    .areas(area);
    f.render_widget(
        Paragraph::new(Span::styled(count, t.style(Role::Dim))),
        right,
    );
    let value = fb.input.value();
    let prompt = if searching {
        format!("{} ", app.keymap.key(Action::Search))
    } else {
        format!("{} ", app.keymap.key(Action::Filter))
    };
    let prompt_width = prompt.width() as u16;
    let mut spans = vec![Span::styled(prompt, t.style(Role::Key))];
    if fb.editing || !value.is_empty() {
        spans.push(Span::raw(safe(value)));
    } else {
        spans.push(Span::styled(
            // After the filter's key as prompt: "/ to filter, …".
            format!(
                "to filter, {} to search, {} for help",
                app.keymap.key(Action::Search),
                app.keymap.key(Action::Help)
            ),
            t.style(Role::Dim),
        ));
    }
    if let Some(e) = &fb.error {
        spans.push(Span::styled(
            format!("   ✗ {} (column {})", safe(&e.reason), e.at + 1),
            t.style(Role::Error),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), left);
    if fb.editing && app.dialog.is_none() {
        let x = left.x + prompt_width + fb.input.visual_cursor() as u16;
        f.set_cursor_position((x.min(left.right().saturating_sub(1)), left.y));
    }
}

fn hints(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    if let Some(s) = &app.status {
        f.render_widget(
            Paragraph::new(Span::styled(safe(s), t.style(Role::Marked))),
            area,
        );
        return;
    }
    let mut spans = Vec::new();
    if app.filter.editing || app.search.bar.editing {
        let km = &app.keymap;
        let updown = km.pair(Action::Up, Action::Down);
        for (k, w) in [
            (km.key(Action::Confirm), "keep"),
            (km.key(Action::Cancel), "undo"),
            (updown, "history"),
        ] {
            spans.push(Span::styled(k, t.style(Role::Key)));
            spans.push(Span::raw(format!(" {w}  ")));
        }
    } else {
        // As many hints as fit, the help key always last; while a search
        // is held, how to walk what it found comes first.
        let mut all = app.keymap.hints();
        if app.search.hits.is_some() {
            let km = &app.keymap;
            all.insert(
                0,
                (km.pair(Action::SearchNext, Action::SearchPrev), "found"),
            );
            all.insert(1, (km.key(Action::Back), "forget search"));
        }
        let (help, rest): (Vec<_>, Vec<_>) = all.into_iter().partition(|(_, w)| *w == "help");
        let width = |k: &str, w: &str| k.chars().count() + w.chars().count() + 3;
        let mut room = area.width as usize;
        room = room.saturating_sub(help.iter().map(|(k, w)| width(k, w)).sum());
        for (k, w) in rest.iter().chain(help.iter()) {
            let need = width(k, w);
            if *w != "help" {
                if need > room {
                    continue;
                }
                room -= need;
            }
            spans.push(Span::styled(k.clone(), t.style(Role::Key)));
            spans.push(Span::raw(format!(" {w}  ")));
        }
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
