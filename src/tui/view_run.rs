//! Drawing sign-in, the review before a run, and the run itself.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Clear, Gauge, Paragraph, Row, Table, Wrap};

use super::app::App;
use super::layout;
use super::run::{Review, SignIn};
use super::theme::Role;
use super::view::{block, centered, safe, thousands};
use crate::graph::runner::TargetState;

const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

fn state_label(s: &TargetState) -> (&'static str, Role) {
    match s {
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

pub fn run_table(f: &mut Frame, app: &App, area: Rect) {
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
    let end = (r.offset + rows_n).min(r.targets.len());
    let rows: Vec<Row> = (r.offset.min(end)..end)
        .map(|i| {
            let tg = &r.targets[i];
            let st = &r.states[i];
            let (label, role) = state_label(st);
            let (detail, request_id) = match st {
                TargetState::Failed(fl) => (
                    format!(
                        "{}{}{}",
                        fl.status.map(|s| format!("{s} ")).unwrap_or_default(),
                        fl.code
                            .as_deref()
                            .map(|c| format!("{c}: "))
                            .unwrap_or_default(),
                        fl.message
                    ),
                    fl.request_id.clone(),
                ),
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
            if i == r.sel {
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

pub fn run_details(f: &mut Frame, app: &App, area: Rect) {
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
            " · failed {} · retrying {} · left {}",
            c.failed, c.retrying, c.left
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
    lines.push(Line::styled(
        if r.ended.is_some() {
            "o report · y copy an id · tab back to the events · R starts a new run of the marks"
        } else if r.idle.is_some() {
            "t retry the failed · o report · x end the run"
        } else {
            "p pause/resume · x cancel (requests in flight finish) · t retry failed · o report"
        },
        t.style(Role::Dim),
    ));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), lines_area);
}

pub fn sign_in_dialog(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let r = centered(area, 96.min(area.width), 14);
    let spin = SPINNER[(app.tick % 4) as usize];
    let lines: Vec<Line> = match &app.sign_in {
        SignIn::Checking | SignIn::Starting => {
            vec![Line::raw(format!("{spin} asking Entra ID for a code…"))]
        }
        SignIn::Code { message, user_code } => vec![
            Line::raw(safe(message)),
            Line::raw(""),
            Line::from(vec![
                Span::raw("code  "),
                Span::styled(
                    safe(user_code),
                    t.style(Role::Title).add_modifier(Modifier::BOLD),
                ),
            ]),
            Line::raw(""),
            Line::styled(
                format!(
                    "{spin} waiting for you to enter it · y copies the code · b uses a browser instead · esc cancels"
                ),
                t.style(Role::Dim),
            ),
        ],
        SignIn::Browser { url, port, input } => vec![
            Line::raw("Open this address in a browser:"),
            Line::styled(safe(url), t.style(Role::Key)),
            Line::raw(format!(
                "It comes back to http://localhost:{port}/. From another machine, forward the port \
                 first: ssh -L {port}:localhost:{port} <this host>"
            )),
            Line::raw("or paste here the address the browser ends on:"),
            Line::from(vec![
                Span::styled("> ", t.style(Role::Key)),
                Span::raw(safe(input.value())),
            ]),
            Line::styled(
                format!(
                    "{spin} waiting · ctrl-y copies the address · enter sends the pasted one · esc cancels"
                ),
                t.style(Role::Dim),
            ),
        ],
        SignIn::Failed(e) => vec![
            Line::styled("The sign-in failed:", t.style(Role::Error)),
            Line::raw(safe(e)),
            Line::raw(""),
            Line::styled(
                "enter tries again · b uses a browser · esc closes",
                t.style(Role::Dim),
            ),
        ],
        SignIn::In(a) => vec![Line::raw(format!(
            "Signed in as {} (tenant {}).",
            safe(&a.username),
            safe(&a.tenant_id)
        ))],
        SignIn::Out => vec![Line::styled(
            "Not signed in. enter signs in · esc closes",
            t.style(Role::Dim),
        )],
    };
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(app, " Sign in to Entra ID ")),
        r,
    );
}

pub fn review_dialog(f: &mut Frame, app: &App, rv: &Review, area: Rect) {
    let t = &app.theme;
    let r = centered(
        area,
        area.width.saturating_sub(4).min(110),
        area.height.saturating_sub(2),
    );
    let n = rv.plan.targets.len();
    let hidden = rv.hidden.iter().filter(|h| **h).count();
    let lookups = rv.plan.lookups();
    let chats: std::collections::BTreeSet<&str> =
        rv.plan.targets.iter().map(|t| t.chat_id.as_str()).collect();
    let who = match app.account() {
        Some(a) => format!("{} · tenant {}", safe(&a.username), safe(&a.tenant_id)),
        None => "not signed in (s signs in): only a dry run is possible".into(),
    };
    let mut head = vec![
        Line::from(vec![
            Span::styled(
                if rv.dry_run {
                    "Dry run: "
                } else {
                    "Remove chat access: "
                },
                t.style(Role::Title),
            ),
            Span::raw(format!(
                "{n} target(s) in {} chat(s){}; {lookups} user id(s) to look up first",
                chats.len(),
                if hidden > 0 {
                    format!(", {hidden} hidden by the filter")
                } else {
                    String::new()
                }
            )),
        ]),
        Line::raw(format!("signed in as {who}")),
    ];
    if !rv.refusals.is_empty() {
        head.push(Line::styled(
            format!(
                "{} target(s) cannot be run: {} (unmark them to go on)",
                rv.refusals.len(),
                safe(&rv.refusals[0].reason)
            ),
            t.style(Role::Error),
        ));
    }
    // Room for the head lines to wrap on a narrow screen.
    let head_rows = if r.width < 100 {
        2 * head.len() as u16
    } else {
        head.len() as u16 + 1
    };
    let [h, list, foot] = Layout::vertical([
        Constraint::Length(head_rows),
        Constraint::Min(3),
        Constraint::Length(3),
    ])
    .areas(block(app, "").inner(r));
    f.render_widget(Clear, r);
    f.render_widget(block(app, " Review the run "), r);
    f.render_widget(Paragraph::new(head).wrap(Wrap { trim: false }), h);
    let rows: Vec<Row> = rv
        .plan
        .targets
        .iter()
        .enumerate()
        .skip(rv.scroll as usize)
        .map(|(i, tg)| {
            let chat = tg
                .chat_name
                .as_deref()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or(&tg.chat_id);
            Row::new(vec![
                Cell::from(safe(chat)),
                Cell::from(safe(&tg.user_upn)),
                Cell::from(tg.user_id.clone().unwrap_or_else(|| "(look up)".into())),
                Cell::from(Span::styled(
                    if rv.hidden[i] {
                        "hidden by the filter"
                    } else {
                        ""
                    },
                    t.style(Role::External),
                )),
            ])
        })
        .collect();
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Fill(2),
                Constraint::Fill(2),
                Constraint::Length(36),
                Constraint::Length(20),
            ],
        )
        .header(Row::new(["Chat", "User", "User id", ""]).style(t.style(Role::Title))),
        list,
    );
    let ok = rv.refusals.is_empty();
    let foot_lines = vec![
        Line::from(vec![
            Span::raw(format!(
                "Type {n} and press enter to {}: ",
                if rv.dry_run {
                    "start the dry run"
                } else {
                    "send the removals"
                }
            )),
            Span::styled(rv.input.value().to_owned(), t.style(Role::Title)),
            Span::styled(if ok { "" } else { "  (cannot run)" }, t.style(Role::Error)),
        ]),
        Line::styled(
            format!(
                "d dry run: {} · ↑↓ scroll · esc cancels (nothing is sent)",
                if rv.dry_run { "on" } else { "off" }
            ),
            t.style(Role::Dim),
        ),
    ];
    f.render_widget(Paragraph::new(foot_lines), foot);
}

pub fn quit_dialog(f: &mut Frame, app: &App, area: Rect) {
    let r = centered(area, 64, 6);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(vec![
            Line::raw("A run is in progress. Quit anyway?"),
            Line::raw("Requests in flight finish; the journal keeps every one,"),
            Line::raw("and a later run on these exports resumes. y quits · any key stays"),
        ])
        .wrap(Wrap { trim: false })
        .block(block(app, " Quit ")),
        r,
    );
}

pub fn report_dialog(f: &mut Frame, app: &App, lines: &[String], scroll: u16, area: Rect) {
    let r = centered(
        area,
        area.width.saturating_sub(4),
        area.height.saturating_sub(2),
    );
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines.iter().map(|l| Line::raw(safe(l))).collect::<Vec<_>>())
            .scroll((scroll, 0))
            .block(block(
                app,
                " Report (↑↓ scroll · y copies it · esc closes) ",
            )),
        r,
    );
}
