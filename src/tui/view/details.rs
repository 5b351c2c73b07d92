//! The details pane: a record as Purview shows it, with its members, or a chat.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};
use unicode_width::UnicodeWidthStr;

use super::widgets::{block, safe};
use crate::triage::external::{MemberKind, member_kind};
use crate::tui::app::{App, View};
use crate::tui::keymap::Action;
use crate::tui::theme::Role;
use crate::ual::Record;
use crate::ual::record::member_role_label;

fn field<'a>(app: &App, name: &'a str, value: String) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{name:<18}"), app.theme.style(Role::Dim)),
        Span::raw(value),
    ])
}

pub(super) fn details(f: &mut Frame, app: &App, area: Rect) {
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
        View::Run => super::run::run_details(f, app, area),
    }
}

/// A member's badge and its colour.
fn member_badge(upn: &str, org: &str, home: &str) -> (&'static str, Option<Role>) {
    let kind = member_kind(upn, org, home);
    let role = match kind {
        MemberKind::Home => None,
        MemberKind::External => Some(Role::External),
        MemberKind::Guest => Some(Role::Guest),
        MemberKind::Unknown => Some(Role::Dim),
    };
    (kind.label(), role)
}

pub(super) fn record_details(f: &mut Frame, app: &App, area: Rect) {
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
        field(app, "ClientIP", safe(&ds.client_ip(r))),
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
                .participating_domains()
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
                let (badge, role) = member_badge(upn, org, ds.opt(r.organization_id));
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
                let (badge, _) = member_badge(upn, org, ds.opt(r.organization_id));
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

pub(super) fn chat_details(f: &mut Frame, app: &App, area: Rect) {
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
