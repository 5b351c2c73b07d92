//! The run: its table of targets and the selected target's details.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Gauge, Paragraph, Row, Table, Wrap};

use super::widgets::{SPINNER, block, safe, thousands};
use crate::graph::runner::TargetState;
use crate::tui::app::App;
use crate::tui::keymap::Action;
use crate::tui::layout::{self};
use crate::tui::theme::Role;

/// A target's state in words; `ended`: the run is over, so what was
/// never sent says so.
fn state_label(s: &TargetState, ended: bool) -> (&'static str, Role) {
    match s {
        TargetState::Queued | TargetState::Resolving | TargetState::Resolved { .. } if ended => {
            ("not sent", Role::Dim)
        }
        TargetState::Retrying { .. } | TargetState::Sending { .. } if ended => {
            ("unfinished", Role::External)
        }
        TargetState::Queued => ("queued", Role::Dim),
        TargetState::Resolving => ("looking up", Role::Key),
        TargetState::Resolved { .. } => ("resolved", Role::Key),
        TargetState::Sending { .. } => ("sending", Role::Key),
        TargetState::Retrying { .. } => ("retrying", Role::External),
        TargetState::Removed { .. } => ("removed", Role::Marked),
        TargetState::Failed(_) => ("FAILED", Role::Error),
        TargetState::Skipped { .. } => ("removed earlier", Role::Marked),
        TargetState::WouldRemove => ("would remove", Role::Marked),
    }
}

pub(super) fn run_table(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let Some(r) = &app.run else {
        f.render_widget(
            Paragraph::new("No run yet: mark targets, sign in (s), then R reviews and runs them.")
                .block(block(app, " Run ")),
            area,
        );
        return;
    };
    let rows_n = layout::table_rows(app.size);
    let end = (r.cursor.offset + rows_n).min(r.targets.len());
    let rows: Vec<Row> = (r.cursor.offset.min(end)..end)
        .map(|i| {
            let tg = &r.targets[i];
            let st = &r.states[i];
            let (label, role) = state_label(st, r.ended.is_some());
            let (detail, request_id) = match st {
                TargetState::Failed(fl) => (fl.answer(), fl.request_id.clone()),
                TargetState::Retrying {
                    attempt,
                    wait,
                    failure,
                } => (
                    format!(
                        "attempt {attempt}, again in {:.1}s: {}{}",
                        wait.as_secs_f64(),
                        failure.status.map(|s| format!("{s} ")).unwrap_or_default(),
                        failure.message
                    ),
                    failure.request_id.clone(),
                ),
                TargetState::Removed { request_id, .. } => (String::new(), request_id.clone()),
                TargetState::Skipped { at, .. } => (format!("removed at {at}"), None),
                TargetState::Sending { attempt } if *attempt > 1 => {
                    (format!("attempt {attempt}"), None)
                }
                _ => (String::new(), None),
            };
            let chat = tg
                .chat_name
                .as_deref()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or(&tg.chat_id);
            let hidden = if r.hidden.get(i).copied().unwrap_or(false) {
                " (hidden)"
            } else {
                ""
            };
            let row = Row::new(vec![
                Cell::from(Span::styled(label, t.style(role))),
                Cell::from(format!("{}{hidden}", safe(chat))),
                Cell::from(safe(&tg.user_upn)),
                Cell::from(safe(&detail)),
                Cell::from(safe(request_id.as_deref().unwrap_or(""))),
            ]);
            if i == r.cursor.sel {
                row.style(t.style(Role::Selected))
            } else {
                row
            }
        })
        .collect();
    let title = format!(
        " Run{} ({} targets) ",
        if r.dry_run { " (dry run)" } else { "" },
        thousands(r.targets.len())
    );
    let widths = [
        Constraint::Length(15),
        Constraint::Fill(2),
        Constraint::Fill(2),
        Constraint::Fill(3),
        // The request id whole where it fits; its start otherwise (y copies it).
        Constraint::Length(if area.width >= 140 { 36 } else { 13 }),
    ];
    let header = Row::new(["State", "Chat", "User", "Server's answer", "Request id"])
        .style(t.style(Role::Title));
    f.render_widget(
        Table::new(rows, widths)
            .header(header)
            .column_spacing(1)
            .block(block(app, title)),
        area,
    );
}

pub(super) fn run_details(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let b = block(app, " Progress ");
    let inner = b.inner(area);
    f.render_widget(b, area);
    let Some(r) = &app.run else { return };
    let c = r.counts();
    let total = r.targets.len().max(1);
    let done = total - c.left;
    let [g, lines_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let phase = if let Some(s) = &r.ended {
        match &s.reason {
            crate::journal::EndReason::Finished => "finished".to_owned(),
            crate::journal::EndReason::Cancelled => "cancelled".to_owned(),
            crate::journal::EndReason::Stopped(_) => "stopped".to_owned(),
        }
    } else if r.idle.is_some() {
        "finished".into()
    } else if r.cancelling {
        "cancelling…".into()
    } else if r.paused {
        "paused".into()
    } else {
        format!("running {}", SPINNER[(app.tick % 4) as usize])
    };
    f.render_widget(
        Gauge::default()
            .ratio(done as f64 / total as f64)
            .label(format!("{done} of {total} · {phase}"))
            .gauge_style(t.style(Role::Marked)),
        g,
    );
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("removed {}", c.removed),
            t.style(Role::Marked).add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(
            " · failed {} · retrying {} · {} {}",
            c.failed,
            c.retrying,
            if r.ended.is_some() {
                "not sent"
            } else {
                "left"
            },
            c.left
        )),
        Span::raw(if c.skipped > 0 {
            format!(" · removed by an earlier run {}", c.skipped)
        } else {
            String::new()
        }),
        Span::raw(if c.would_remove > 0 {
            format!(" · would remove {}", c.would_remove)
        } else {
            String::new()
        }),
    ])];
    let summary = r.ended.as_ref().or(r.idle.as_ref());
    let rate = summary.and_then(|s| s.achieved_rate).or_else(|| {
        let started = r.started_at?;
        let now = app.now?;
        let secs = now.saturating_duration_since(started).as_secs_f64();
        (secs > 1.0).then(|| (c.removed + c.failed) as f64 / secs)
    });
    let mut pace = match rate {
        Some(x) => format!("{x:.2} removals/s"),
        None => "rate: –".to_owned(),
    };
    if summary.is_none()
        && let Some(x) = rate.filter(|x| *x > 0.0)
    {
        pace.push_str(&format!(" · about {:.0}s left", c.left as f64 / x));
    }
    pace.push_str(&format!(" · at most {} requests/s", app.max_rate));
    lines.push(Line::raw(pace));
    if let Some(u) = &app.demo_url {
        lines.push(Line::from(vec![
            Span::styled("demo tenant ", t.style(Role::Dim)),
            Span::raw(format!("{u} (its state: {u}/_emulator/state)")),
        ]));
    }
    if let Some(j) = &r.journal {
        lines.push(Line::from(vec![
            Span::styled("journal ", t.style(Role::Dim)),
            Span::raw(safe(&j.display().to_string())),
        ]));
    }
    if let Some(s) = &r.ended
        && let crate::journal::EndReason::Stopped(why) = &s.reason
    {
        lines.push(Line::styled(safe(why), t.style(Role::Error)));
    }
    let k = |a: Action| app.keymap.key(a);
    lines.push(Line::styled(
        if r.ended.is_some() {
            format!(
                "{} retries the failed · {} report · {} copies an id · {} back to the events · {} reviews a new run",
                k(Action::RetryFailed),
                k(Action::Report),
                k(Action::Copy),
                k(Action::NextView),
                k(Action::Review)
            )
        } else if r.idle.is_some() {
            format!(
                "{} retry the failed · {} report · {} end the run",
                k(Action::RetryFailed),
                k(Action::Report),
                k(Action::CancelRun)
            )
        } else {
            format!(
                "{} pause/resume · {} cancel (requests in flight finish) · {} retry failed · {} report",
                k(Action::Pause),
                k(Action::CancelRun),
                k(Action::RetryFailed),
                k(Action::Report)
            )
        },
        t.style(Role::Dim),
    ));
    // The selected target with every value whole (the table above cuts
    // them to fit): what a ticket or Microsoft support asks for.
    lines.extend(selected_target(app, r));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), lines_area);
}

/// The selected row of the run table, value by value, nothing cut.
fn selected_target<'a>(app: &App, r: &crate::tui::run::RunState) -> Vec<Line<'a>> {
    let t = &app.theme;
    let i = r.cursor.sel;
    let (Some(_), Some(st)) = (r.targets.get(i), r.states.get(i)) else {
        return vec![];
    };
    let (label, role) = state_label(st, r.ended.is_some());
    let mut out = vec![
        Line::raw(""),
        Line::from(vec![
            Span::styled(
                format!("Target {} of {} ", i + 1, r.targets.len()),
                t.style(Role::Title),
            ),
            Span::styled(label, t.style(role)),
            Span::styled(
                format!("  ({} copies its ids)", app.keymap.key(Action::Copy)),
                t.style(Role::Dim),
            ),
        ]),
    ];
    for (name, value) in r.target_fields(i) {
        if name == "Journal" {
            continue; // said above
        }
        out.push(Line::from(vec![
            Span::styled(format!("{name:<12}"), t.style(Role::Dim)),
            Span::raw(safe(&value)),
        ]));
    }
    out
}
