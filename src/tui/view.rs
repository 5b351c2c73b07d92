//! Drawing: a pure function of the application's state. Every string that
//! came from an export goes through `for_terminal` first.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Clear, Gauge, Paragraph, Row, Table, Wrap};
use unicode_width::UnicodeWidthStr;

use super::app::{App, Dialog, View};
use super::keymap::Action;
use super::layout::{self, Areas};
use super::theme::Role;
use super::widgets::{block, centered, safe, thousands};
use crate::triage::external::is_guest_upn;
use crate::ual::Record;
use crate::ual::record::member_role_label;

pub fn draw(f: &mut Frame, app: &App) {
    let a = layout::areas(f.area());
    header(f, app, &a);
    match &app.data {
        None => loading(f, app, a.table.union(a.details)),
        Some(_) => {
            match app.view {
                View::Events => events_table(f, app, a.table),
                View::Chats => chats_table(f, app, a.table),
                View::Run => super::view_run::run_table(f, app, a.table),
            }
            match app.view {
                View::Run => super::view_run::run_details(f, app, a.details),
                _ => details(f, app, a.details),
            }
        }
    }
    filter_bar(f, app, a.filter);
    hints(f, app, a.hints);
    if let Some(d) = &app.dialog {
        dialog(f, app, d, f.area());
    }
    if app.theme.ascii {
        super::widgets::asciify(f.buffer_mut());
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
    let names: Vec<String> = app
        .files
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
        super::run::SignIn::In(acc) => Span::raw(format!(
            "{} ({}…)",
            safe(&acc.username),
            safe(&acc.tenant_id.chars().take(8).collect::<String>())
        )),
        super::run::SignIn::Checking => Span::styled("signing in…", t.style(Role::Dim)),
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
fn window(offset: usize, len: usize, rows: usize) -> std::ops::Range<usize> {
    offset.min(len)..(offset + rows).min(len)
}

fn events_table(f: &mut Frame, app: &App, area: Rect) {
    let d = app.data.as_ref().expect("loaded");
    let t = &app.theme;
    let total = d.ds.records.len();
    let title = if app.filter.applied_text.is_empty() {
        format!(" Events ({}) ", thousands(total))
    } else {
        format!(
            " Events ({} of {}) ",
            thousands(app.rows.len()),
            thousands(total)
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
            if i == app.events.sel {
                row.style(t.style(Role::Selected))
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

fn chats_table(f: &mut Frame, app: &App, area: Rect) {
    let d = app.data.as_ref().expect("loaded");
    let t = &app.theme;
    let ext = app
        .chat_rows
        .iter()
        .filter(|&&c| d.ix.chats.list[c].external)
        .count();
    let title = format!(
        " Chats ({}, {} external) ",
        thousands(app.chat_rows.len()),
        thousands(ext)
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

fn field<'a>(app: &App, name: &'a str, value: String) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{name:<18}"), app.theme.style(Role::Dim)),
        Span::raw(value),
    ])
}

fn details(f: &mut Frame, app: &App, area: Rect) {
    if app.raw
        && let Some(lines) = &app.raw_lines
    {
        let b = block(app, " AuditData (raw) ");
        let p = Paragraph::new(
            lines
                .iter()
                .map(|l| Line::raw(l.as_str()))
                .collect::<Vec<_>>(),
        )
        .block(b)
        .scroll((app.details_scroll, 0));
        f.render_widget(p, area);
        return;
    }
    match app.view {
        View::Events => record_details(f, app, area),
        View::Chats => chat_details(f, app, area),
        View::Run => super::view_run::run_details(f, app, area),
    }
}

/// A member's badge, from its UPN and tenant. The role number does not
/// decide it: exports disagree with Microsoft's table about what the
/// numbers mean.
fn member_kind(upn: &str, org: &str, home: &str) -> (&'static str, Option<Role>) {
    if is_guest_upn(upn) {
        ("guest", Some(Role::Guest))
    } else if org.is_empty() {
        ("?", Some(Role::Dim))
    } else if org.eq_ignore_ascii_case(home.trim()) {
        ("home", None)
    } else {
        ("external", Some(Role::External))
    }
}

fn record_details(f: &mut Frame, app: &App, area: Rect) {
    let d = app.data.as_ref().expect("loaded");
    let Some(i) = app.selected_record() else {
        f.render_widget(
            Paragraph::new("No record matches the filter.").block(block(app, " Details ")),
            area,
        );
        return;
    };
    let r = &d.ds.records[i];
    let ds = &d.ds;
    let mut lines = vec![
        field(
            app,
            "CreationTime",
            crate::ual::time::format_rfc3339(&r.time),
        ),
        field(app, "Id", r.id.to_string()),
        field(app, "Operation", safe(ds.str(r.operation))),
        field(app, "OrganizationId", safe(ds.opt(r.organization_id))),
        field(app, "UserId", safe(ds.opt(r.user_id))),
        field(app, "UserKey", safe(ds.opt(r.user_key))),
        field(
            app,
            "UserType",
            r.user_type.map(|u| u.to_string()).unwrap_or_default(),
        ),
        field(
            app,
            "RecordType",
            match (r.record_type, r.record_type_name) {
                (Some(n), _) => n.to_string(),
                (None, Some(s)) => safe(ds.str(s)),
                _ => String::new(),
            },
        ),
        field(app, "Workload", safe(ds.opt(r.workload))),
        field(app, "ClientIP", safe(ds.opt(r.client_ip))),
    ];
    let members = r.chat.as_deref().map(|c| &c.members[..]).unwrap_or(&[]);
    if let Some(c) = r.chat.as_deref() {
        lines.push(field(app, "ChatThreadId", safe(ds.opt(c.chat_id))));
        lines.push(field(app, "ChatName", safe(ds.opt(c.chat_name))));
        lines.push(field(
            app,
            "CommunicationType",
            safe(ds.opt(c.communication_type)),
        ));
        lines.push(field(
            app,
            "ResourceTenantId",
            safe(ds.opt(c.resource_tenant_id)),
        ));
        if let Some(p) = &c.participants {
            let yn = |b: Option<bool>| match b {
                Some(true) => "yes",
                Some(false) => "no",
                None => "?",
            };
            let doms: Vec<String> = p
                .participating_domains
                .iter()
                .map(|s| safe(ds.str(*s)))
                .collect();
            lines.push(field(
                app,
                "ParticipantInfo",
                format!(
                    "foreign tenants {} · guests {} · domains {}",
                    yn(p.has_foreign_tenant_users),
                    yn(p.has_guest_users),
                    if doms.is_empty() {
                        "-".into()
                    } else {
                        doms.join(", ")
                    }
                ),
            ));
        }
    }
    if let Some(chat) = d.ix.chats.of_record(i)
        && chat.external
    {
        lines.push(Line::styled(
            format!("Its chat is external ({} start):", chat.initiated.name()),
            app.theme.style(Role::Title),
        ));
        lines.extend(reason_lines(app, ds, chat.reasons(), 4));
    }
    let path = d.ds.path(r.source.file);
    let title = format!(
        " Record · {}:{} ",
        safe(
            &path
                .file_name()
                .unwrap_or(path.as_os_str())
                .to_string_lossy()
        ),
        r.source.line
    );
    // The table beside the record only where its columns fit whole in
    // half the width (a UPN cut short is useless); else the list below
    // the record, which wraps and cuts nothing. The badge says home,
    // external or guest; the tenant ids are in the list and the chat.
    let width_of =
        |f: &dyn Fn(&crate::ual::record::Member) -> usize| members.iter().map(f).max().unwrap_or(0);
    let name_w = width_of(&|m| safe(ds.opt(m.display_name)).width()).max(4);
    let upn_w = width_of(&|m| safe(ds.opt(m.upn)).width()).max(3);
    let role_w = width_of(&|m| m.role.map_or(0, |n| member_role_label(n).width())).max(4);
    let need = (name_w + upn_w + role_w + 8 + 3 + 2) as u16;
    let wide = !members.is_empty() && need <= area.width / 2;
    let (left, right) = if wide {
        let [l, r] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(need)]).areas(area);
        (l, Some(r))
    } else {
        (area, None)
    };
    let member_rows = |app: &App| -> Vec<Row> {
        let t = &app.theme;
        members
            .iter()
            .map(|m| {
                let upn = ds.opt(m.upn);
                let org = ds.opt(m.organization_id).trim();
                let (badge, role) = member_kind(upn, org, ds.opt(r.organization_id));
                let style = role.map_or(Style::default(), |x| t.style(x));
                Row::new(vec![
                    Cell::from(safe(ds.opt(m.display_name))),
                    Cell::from(m.role.map(member_role_label).unwrap_or_default()),
                    Cell::from(safe(upn)),
                    Cell::from(Span::styled(badge, style)),
                ])
            })
            .collect()
    };
    let member_widths = [
        Constraint::Length(name_w as u16),
        Constraint::Length(role_w as u16),
        Constraint::Length(upn_w as u16),
        Constraint::Length(8),
    ];
    let member_header = Row::new(["Name", "Role", "UPN", ""]).style(app.theme.style(Role::Title));
    if let Some(right) = right {
        f.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(block(app, title))
                .scroll((app.details_scroll, 0)),
            left,
        );
        f.render_widget(
            Table::new(member_rows(app), member_widths)
                .header(member_header)
                .block(block(app, format!(" Members ({}) ", members.len()))),
            right,
        );
    } else {
        if !members.is_empty() {
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                format!("Members ({})", members.len()),
                app.theme.style(Role::Title),
            ));
            for m in members {
                let upn = ds.opt(m.upn);
                let org = ds.opt(m.organization_id).trim();
                let (badge, _) = member_kind(upn, org, ds.opt(r.organization_id));
                let role = m
                    .role
                    .map(|n| format!(" · {}", member_role_label(n)))
                    .unwrap_or_default();
                let tenant = if org.is_empty() {
                    String::new()
                } else {
                    format!(" · tenant {}", safe(org))
                };
                lines.push(Line::raw(format!(
                    "  {badge:<8} {} <{}>{role}{tenant}",
                    safe(ds.opt(m.display_name)),
                    safe(upn)
                )));
            }
        }
        f.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(block(app, title))
                .scroll((app.details_scroll, 0)),
            left,
        );
    }
}

/// A chat's reasons, one line each, with the record that shows it.
fn reason_lines<'a>(
    app: &App,
    ds: &crate::ual::Dataset,
    reasons: &[crate::triage::reasons::Reason],
    most: usize,
) -> Vec<Line<'a>> {
    let mut out: Vec<Line> = reasons
        .iter()
        .take(most)
        .map(|r| {
            let role = match r.kind {
                crate::triage::reasons::ReasonKind::NotATarget => Role::Error,
                k if k.is_external_evidence() => Role::External,
                _ => Role::Dim,
            };
            Line::from(vec![
                Span::styled("  • ", app.theme.style(role)),
                Span::raw(safe(&r.text())),
                Span::styled(
                    r.record
                        .map(|i| format!("  (record {})", ds.records[i as usize].id))
                        .unwrap_or_default(),
                    app.theme.style(Role::Dim),
                ),
            ])
        })
        .collect();
    if reasons.len() > most {
        out.push(Line::styled(
            format!(
                "  and {} more ({}: the chat's details)",
                reasons.len() - most,
                app.keymap.key(Action::NextView)
            ),
            app.theme.style(Role::Dim),
        ));
    }
    out
}

fn chat_details(f: &mut Frame, app: &App, area: Rect) {
    let d = app.data.as_ref().expect("loaded");
    let Some(&c) = app.chat_rows.get(app.chats.sel) else {
        f.render_widget(
            Paragraph::new("No chat matches the filter.").block(block(app, " Chat ")),
            area,
        );
        return;
    };
    let ds = &d.ds;
    let chat = &d.ix.chats.list[c];
    let mut lines = vec![
        field(app, "ChatThreadId", safe(ds.str(chat.id))),
        field(app, "ChatName", safe(ds.opt(chat.name))),
        field(
            app,
            "CommunicationType",
            safe(ds.opt(chat.communication_type)),
        ),
        field(app, "Started by", chat.initiated.name().to_owned()),
        field(app, "Home tenant", safe(ds.opt(chat.home_tenant))),
        field(
            app,
            "External tenants",
            safe(&chat.external_tenants().join(", ")),
        ),
        field(
            app,
            "External domains",
            safe(&chat.external_domains().join(", ")),
        ),
        field(
            app,
            "Seen",
            format!(
                "{} to {} · {} records",
                chat.first_seen.format("%Y-%m-%d %H:%M"),
                chat.last_seen.format("%Y-%m-%d %H:%M"),
                chat.record_count()
            ),
        ),
        Line::raw(""),
    ];
    if chat.external {
        lines.push(Line::styled(
            "Why it is external, how it started, who is no target",
            app.theme.style(Role::Title),
        ));
        lines.extend(reason_lines(app, ds, chat.reasons(), usize::MAX));
        lines.push(Line::raw(""));
    }
    let users = d.ix.chats.home_users(ds, chat);
    lines.push(Line::styled(
        format!(
            "Home users ({}){}",
            users.len(),
            if chat.external { ": the targets" } else { "" }
        ),
        app.theme.style(Role::Title),
    ));
    for u in users.iter() {
        let upn = ds.str(u.upn).trim();
        let marked = app
            .marks
            .contains(&crate::journal::Key::new(ds.str(chat.id).trim(), upn));
        lines.push(Line::from(vec![
            Span::styled(
                if marked {
                    app.theme.mark(true, true)
                } else {
                    " "
                },
                app.theme.style(Role::Marked),
            ),
            Span::raw(format!(
                " {}  {}  {} ({})",
                safe(upn),
                safe(u.display_name.map(|n| ds.str(n)).unwrap_or("")),
                u.object_id
                    .map(|o| o.to_string())
                    .unwrap_or_else(|| "id to look up".into()),
                u.id_source.name()
            )),
        ]));
        // The records that show the user in the chat.
        let evidence: Vec<String> = u
            .evidence
            .iter()
            .take(3)
            .map(|&r| ds.records[r as usize].id.to_string())
            .collect();
        if !evidence.is_empty() {
            lines.push(Line::styled(
                format!(
                    "    evidence: {}{}",
                    evidence.join(", "),
                    if u.evidence.len() > 3 {
                        format!(" and {} more", u.evidence.len() - 3)
                    } else {
                        String::new()
                    }
                ),
                app.theme.style(Role::Dim),
            ));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(
            "Records ({} shows them in the events view)",
            app.keymap.key(Action::Open)
        ),
        app.theme.style(Role::Title),
    ));
    for &r in d.ix.chats.records(chat).iter().take(50) {
        let rec: &Record = &ds.records[r as usize];
        lines.push(Line::raw(format!(
            "  {}  {:<20} {}",
            rec.time.format("%Y-%m-%d %H:%M:%S"),
            safe(ds.str(rec.operation)),
            safe(ds.opt(rec.user_id))
        )));
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(app, " Chat "))
            .scroll((app.details_scroll, 0)),
        area,
    );
}

fn filter_bar(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let fb = &app.filter;
    let count = match &app.data {
        Some(d) if fb.running => format!(" filtering… {} ", thousands(d.ds.records.len())),
        Some(d) => format!(
            " {} of {} ",
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
    let mut spans = vec![Span::styled("/ ", t.style(Role::Key))];
    if fb.editing || !value.is_empty() {
        spans.push(Span::raw(safe(value)));
    } else {
        spans.push(Span::styled(
            "type / to filter (? for help)",
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
        let x = left.x + 2 + fb.input.visual_cursor() as u16;
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
    if app.filter.editing {
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
        // As many hints as fit, the help key always last.
        let all = app.keymap.hints();
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

fn dialog(f: &mut Frame, app: &App, d: &Dialog, area: Rect) {
    let t = &app.theme;
    match d {
        Dialog::SignIn => super::view_run::sign_in_dialog(f, app, area),
        Dialog::Review(r) => super::view_run::review_dialog(f, app, r, area),
        Dialog::QuitRun => super::view_run::quit_dialog(f, app, area),
        Dialog::CancelRun => super::view_run::cancel_dialog(f, app, area),
        Dialog::Report { lines, scroll } => {
            super::view_run::report_dialog(f, app, lines, *scroll, area)
        }
        Dialog::Help { scroll } => {
            let r = centered(area, 76, area.height.saturating_sub(4));
            let mut lines = vec![Line::styled("Keys", t.style(Role::Title))];
            for (keys, what) in app.keymap.help() {
                lines.push(Line::from(vec![
                    Span::styled(format!("{keys:<22}"), t.style(Role::Key)),
                    Span::raw(what),
                ]));
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled("Filter language", t.style(Role::Title)));
            for l in crate::triage::query::HELP.lines() {
                lines.push(Line::raw(l.to_owned()));
            }
            f.render_widget(Clear, r);
            f.render_widget(
                Paragraph::new(lines)
                    .block(block(
                        app,
                        format!(
                            " Help ({} scroll, any other key closes) ",
                            app.keymap.pair(Action::Up, Action::Down)
                        ),
                    ))
                    .wrap(Wrap { trim: false })
                    .scroll((*scroll, 0)),
                r,
            );
        }
        Dialog::Copy { items, sel } => {
            let r = centered(area, 70, items.len() as u16 + 4);
            let lines: Vec<Line> = items
                .iter()
                .enumerate()
                .map(|(i, (label, value))| {
                    let l = Line::from(vec![
                        Span::styled(format!(" {} ", i + 1), t.style(Role::Key)),
                        Span::raw(format!("{label:<27}")),
                        Span::styled(safe(value), t.style(Role::Dim)),
                    ]);
                    if i == *sel {
                        l.style(t.style(Role::Selected))
                    } else {
                        l
                    }
                })
                .collect();
            f.render_widget(Clear, r);
            f.render_widget(
                Paragraph::new(lines).block(block(
                    app,
                    format!(
                        " Copy to the clipboard ({} or 1-9, {}) ",
                        app.keymap.key(Action::Confirm),
                        app.keymap.key(Action::Cancel)
                    ),
                )),
                r,
            );
        }
        Dialog::Export { input, replace } => {
            let r = centered(area, 70, 6);
            let lines = vec![
                Line::raw(format!(
                    "Write the {} marked target(s) as a plan to:",
                    app.marks.len()
                )),
                Line::from(vec![
                    Span::styled("> ", t.style(Role::Key)),
                    Span::raw(safe(input.value())),
                ]),
                if *replace {
                    Line::styled(
                        format!(
                            "That file exists. {} again replaces it · {} cancels · or type another name",
                            app.keymap.key(Action::Confirm),
                            app.keymap.key(Action::Cancel)
                        ),
                        t.style(Role::Error),
                    )
                } else {
                    Line::styled(
                        format!(
                            "{} writes · {} cancels · run it with `chatevict apply FILE`",
                            app.keymap.key(Action::Confirm),
                            app.keymap.key(Action::Cancel)
                        ),
                        t.style(Role::Dim),
                    )
                },
            ];
            f.render_widget(Clear, r);
            f.render_widget(Paragraph::new(lines).block(block(app, " Export plan ")), r);
            f.set_cursor_position((r.x + 3 + input.visual_cursor() as u16, r.y + 2));
        }
    }
}
