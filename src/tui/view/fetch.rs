//! The fetch dialog: the form, then the query's progress, the records
//! as they stream in, and where they were saved.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::widgets::{SPINNER, block, centered, safe, thousands};
use crate::graph::audit::AUDIT_PERMISSION;
use crate::tui::app::{App, FETCH_FIELDS, FetchJob, FetchPhase};
use crate::tui::keymap::Action;
use crate::tui::theme::Role;

pub(super) fn fetch_dialog(f: &mut Frame, app: &App, area: Rect) {
    let Some(job) = &app.fetch else { return };
    let inner_width = area.width.saturating_sub(4).clamp(40, 90).saturating_sub(2) as usize;
    let t = &app.theme;
    let km = &app.keymap;
    let (ok, cancel) = (km.key(Action::Confirm), km.key(Action::Cancel));
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut cursor = None;
    match &job.phase {
        FetchPhase::Editing => {
            lines.push(Line::raw(
                "Search the tenant's audit log for Teams records:",
            ));
            lines.push(Line::raw(""));
            for (i, name) in FETCH_FIELDS.iter().enumerate() {
                let input = &job.form.inputs[i];
                let focused = i == job.form.focus;
                let value = if input.value().is_empty() && !focused {
                    Span::styled(
                        match i {
                            1 => "now",
                            2 => "every Teams operation (or: MemberAdded, ChatCreated, …)",
                            3 => "every user",
                            _ => "none",
                        },
                        t.style(Role::Dim),
                    )
                } else {
                    Span::raw(safe(input.value()))
                };
                let marker = if focused { "> " } else { "  " };
                if focused {
                    cursor = Some((lines.len(), input.visual_cursor()));
                }
                lines.push(Line::from(vec![
                    Span::styled(format!("  {name:<11}"), t.style(Role::Key)),
                    Span::styled(marker, t.style(Role::Key)),
                    value,
                ]));
                if focused {
                    cursor = Some((i, input.visual_cursor()));
                }
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                "since, until: 7d, 36h, 2w back from now, or 2026-11-01, 2026-11-01T08:00 (UTC); \
                 operations, users: separated by commas",
                t.style(Role::Dim),
            ));
            if let Some(e) = &job.form.error {
                lines.push(Line::styled(format!("✗ {}", safe(e)), t.style(Role::Error)));
            }
            lines.push(Line::styled(
                format!(
                    "{ok} starts · {} next field · {cancel} closes",
                    km.key(Action::NextView)
                ),
                t.style(Role::Dim),
            ));
            lines.push(Line::styled(
                format!(
                    "Needs the permission {AUDIT_PERMISSION} (asked for at the first fetch) and \
                     an audit role in Microsoft Purview."
                ),
                t.style(Role::Dim),
            ));
        }
        FetchPhase::NeedsSignIn(why) => {
            lines.push(Line::styled(
                format!("The audit log cannot be searched yet: {}.", safe(why)),
                t.style(Role::Error),
            ));
            lines.push(Line::raw(""));
            lines.push(Line::raw(format!(
                "{ok} signs in, asking for {AUDIT_PERMISSION} too; the fetch starts once \
                 signed in · {cancel} closes"
            )));
        }
        phase => {
            query_lines(app, job, inner_width, &mut lines);
            match phase {
                FetchPhase::Starting => {
                    lines.push(Line::raw(format!(
                        "{} asking Graph to start the query…",
                        SPINNER[(app.tick % 4) as usize]
                    )));
                }
                FetchPhase::Waiting { status, elapsed } => {
                    lines.push(Line::raw(format!(
                        "{} the service: query {} · {} s (a real tenant takes minutes)",
                        SPINNER[(app.tick % 4) as usize],
                        safe(status),
                        elapsed.as_secs()
                    )));
                }
                FetchPhase::Reading { pages, records } => {
                    lines.push(Line::raw(format!(
                        "{} reading the records: {} page(s), {} record(s)",
                        SPINNER[(app.tick % 4) as usize],
                        pages,
                        thousands(*records as usize)
                    )));
                }
                FetchPhase::Done {
                    records,
                    broken,
                    limit_exceeded,
                } => {
                    lines.push(Line::styled(
                        format!(
                            "✓ {} record(s) fetched and saved",
                            thousands(*records as usize)
                        ),
                        t.style(Role::Title),
                    ));
                    for b in broken.iter().take(3) {
                        lines.push(Line::styled(
                            format!("! left out, could not be read: {}", safe(b)),
                            t.style(Role::Error),
                        ));
                    }
                    if broken.len() > 3 {
                        lines.push(Line::styled(
                            format!("! and {} more left out", broken.len() - 3),
                            t.style(Role::Error),
                        ));
                    }
                    if *limit_exceeded {
                        lines.push(Line::styled(
                            "! the query reached the service's record limit: the file holds \
                             part of what matched; narrow the period, operations or users",
                            t.style(Role::Error),
                        ));
                    }
                }
                FetchPhase::Failed(e) => {
                    lines.push(Line::styled(format!("✗ {}", safe(e)), t.style(Role::Error)));
                }
                FetchPhase::Stopped => {
                    lines.push(Line::raw(
                        "Stopped here. The query keeps running in the tenant; the records read \
                         are on the screen.",
                    ));
                    if let Some(id) = &job.query_id {
                        lines.push(Line::styled(
                            format!("To go on with it: chatevict fetch --resume {}", safe(id)),
                            t.style(Role::Dim),
                        ));
                    }
                }
                FetchPhase::Editing | FetchPhase::NeedsSignIn(_) => {}
            }
            merged_line(app, job, &mut lines);
            if let Some(w) = &job.waiting {
                lines.push(Line::styled(
                    format!("Graph: {}", safe(w)),
                    t.style(Role::Dim),
                ));
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                if phase.running() {
                    format!("{cancel} stops (the query is kept, resumable)")
                } else {
                    format!(
                        "{ok} closes · {} then {ok} fetches again",
                        km.key(Action::Fetch)
                    )
                },
                t.style(Role::Dim),
            ));
        }
    }
    let width = area.width.saturating_sub(4).clamp(40, 90);
    let inner = width.saturating_sub(2).max(1);
    let para = |ls: Vec<Line<'static>>| Paragraph::new(ls).wrap(Wrap { trim: false });
    // Where the field being typed is (the lines before it may wrap).
    let cursor_y = cursor.map(|(line, col)| (para(lines[..line].to_vec()).line_count(inner), col));
    let height = para(lines.clone()).line_count(inner);
    let r = centered(area, width, (height + 2) as u16);
    f.render_widget(Clear, r);
    f.render_widget(para(lines).block(block(app, " Fetch the audit log ")), r);
    if let Some((y, col)) = cursor_y {
        let (x, y) = (r.x + 1 + 15 + col as u16, r.y + 1 + y as u16);
        if y < r.bottom().saturating_sub(1) && x < r.right().saturating_sub(1) {
            f.set_cursor_position((x, y));
        }
    }
}

/// `s` cut to its last `n` columns, with `…` in front when cut.
fn tail(s: &str, n: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= n {
        return s.to_owned();
    }
    let keep = n.saturating_sub(1);
    format!(
        "…{}",
        chars[chars.len() - keep..].iter().collect::<String>()
    )
}

/// The query and where its records go.
fn query_lines(app: &App, job: &FetchJob, width: usize, lines: &mut Vec<Line<'static>>) {
    let t = &app.theme;
    if let Some(id) = &job.query_id {
        lines.push(Line::from(vec![
            Span::styled("query   ", t.style(Role::Key)),
            Span::raw(tail(&safe(id), width.saturating_sub(8))),
        ]));
    }
    if job.beta {
        lines.push(Line::from(vec![
            Span::styled("api     ", t.style(Role::Key)),
            Span::raw("beta (this tenant's v1.0 does not serve the audit log query API)"),
        ]));
    }
    if let Some(p) = &job.output {
        lines.push(Line::from(vec![
            Span::styled("file    ", t.style(Role::Key)),
            Span::raw(tail(
                &safe(&p.display().to_string()),
                width.saturating_sub(8),
            )),
        ]));
    }
}

/// What the records did to the screen.
fn merged_line(app: &App, job: &FetchJob, lines: &mut Vec<Line<'static>>) {
    let m = job.merged;
    if m.added + m.duplicates + m.skipped == 0 && job.unmerged() == 0 {
        return;
    }
    let mut s = format!(
        "on the screen: {} new, {} already open",
        thousands(m.added),
        thousands(m.duplicates)
    );
    if m.skipped > 0 {
        s.push_str(&format!(", {} not audit records", m.skipped));
    }
    if job.unmerged() > 0 {
        s.push_str(&format!(" · {} coming", thousands(job.unmerged())));
    }
    lines.push(Line::styled(s, app.theme.style(Role::Dim)));
}
