//! Drawing sign-in, the review before a run, and the run itself.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Clear, Gauge, Paragraph, Row, Table, Wrap};
use unicode_width::UnicodeWidthStr;

use super::app::App;
use super::keymap::Action;
use super::layout;
use super::run::{Review, ReviewState, SignIn};
use super::theme::Role;
use super::widgets::{block, centered, safe, thousands};
use crate::graph::runner::TargetState;
use crate::triage::query::Initiated;

const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

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
    let end = (r.cursor.offset + rows_n).min(r.targets.len());
    let rows: Vec<Row> = (r.cursor.offset.min(end)..end)
        .map(|i| {
            let tg = &r.targets[i];
            let st = &r.states[i];
            let (label, role) = state_label(st, r.ended.is_some());
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
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), lines_area);
}

pub fn sign_in_dialog(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let r = centered(area, 96.min(area.width), 14);
    let spin = SPINNER[(app.tick % 4) as usize];
    let k = |a: Action| app.keymap.key(a);
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
                    "{spin} waiting for the code to be typed in a browser · {} copies it · {} uses a browser instead · {} cancels",
                    k(Action::Copy),
                    k(Action::Browser),
                    k(Action::Cancel)
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
                    "{spin} waiting · {} copies the address · {} sends the pasted one · {} cancels",
                    k(Action::CopyShown),
                    k(Action::Confirm),
                    k(Action::Cancel)
                ),
                t.style(Role::Dim),
            ),
        ],
        SignIn::Failed(e) => vec![
            Line::styled("The sign-in failed:", t.style(Role::Error)),
            Line::raw(safe(e)),
            Line::raw(""),
            Line::styled(
                format!(
                    "{} tries again · {} uses a browser · {} closes",
                    k(Action::Confirm),
                    k(Action::Browser),
                    k(Action::Cancel)
                ),
                t.style(Role::Dim),
            ),
        ],
        SignIn::In(a) => vec![
            Line::raw(format!(
                "Signed in as {} (tenant {}).",
                safe(&a.username),
                safe(&a.tenant_id)
            )),
            Line::raw(""),
            Line::styled(
                format!(
                    "{} signs in again (to pick up a consent granted since) · {} signs out · {} closes",
                    k(Action::Confirm),
                    k(Action::SignOut),
                    k(Action::Cancel)
                ),
                t.style(Role::Dim),
            ),
        ],
        SignIn::Out => vec![Line::styled(
            format!(
                "Not signed in. {} signs in · {} closes",
                k(Action::Confirm),
                k(Action::Cancel)
            ),
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
    // As tall as its content (the targets table included), at most the
    // screen.
    let rows_wanted = match &rv.state {
        ReviewState::Ready { prepared, .. } => prepared.targets().len() as u16 + 18,
        ReviewState::Refused(r) => r.len() as u16 * 2 + 6,
        _ => 8,
    };
    let r = centered(
        area,
        area.width.saturating_sub(2),
        area.height.saturating_sub(2).min(rows_wanted),
    );
    f.render_widget(Clear, r);
    f.render_widget(block(app, " Review the run "), r);
    let inner = block(app, "").inner(r);
    let (prepared, hidden) = match &rv.state {
        ReviewState::Ready { prepared, hidden } => (&**prepared, hidden.as_slice()),
        ReviewState::Preparing => {
            let spin = SPINNER[(app.tick % 4) as usize];
            f.render_widget(
                Paragraph::new(format!(
                    "{spin} checking the {} marked target(s) and reading the journal…",
                    rv.plan.targets.len()
                )),
                inner,
            );
            return;
        }
        ReviewState::Failed(e) => {
            f.render_widget(
                Paragraph::new(vec![
                    Line::styled("The run cannot be prepared:", t.style(Role::Error)),
                    Line::raw(safe(e)),
                    Line::styled(
                        format!(
                            "{} closes (nothing was sent)",
                            app.keymap.key(Action::Cancel)
                        ),
                        t.style(Role::Dim),
                    ),
                ])
                .wrap(Wrap { trim: false }),
                inner,
            );
            return;
        }
        ReviewState::Refused(refusals) => {
            let mut lines = vec![Line::styled(
                format!(
                    "The plan cannot be run: {} of its {} target(s) refused, so nothing will be sent. Unmark them to go on.",
                    refusals.len(),
                    rv.plan.targets.len()
                ),
                t.style(Role::Error),
            )];
            for x in refusals {
                let tg = &rv.plan.targets[x.index];
                lines.push(Line::raw(format!(
                    "{} in {}: {}",
                    safe(&tg.user_upn),
                    safe(&tg.chat_id),
                    safe(&x.reason)
                )));
            }
            lines.push(Line::styled(
                format!("{} closes", app.keymap.key(Action::Cancel)),
                t.style(Role::Dim),
            ));
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
            return;
        }
    };
    let n = prepared.to_send_count();
    let already = prepared.already_removed();
    let hidden_n = hidden.iter().filter(|h| **h).count();
    let lookups = prepared.lookups();
    let (internal, unknown) = prepared.internal_and_unknown();
    let chats: std::collections::BTreeSet<&str> = prepared
        .to_send()
        .map(|(_, t)| t.chat_id.as_str())
        .collect();
    let mut what = format!("{n} removal(s) to send in {} chat(s)", chats.len());
    if already > 0 {
        what.push_str(&format!(
            " · {already} removed by an earlier run (not sent)"
        ));
    }
    if hidden_n > 0 {
        what.push_str(&format!(" · {hidden_n} hidden by the filter"));
    }
    if lookups > 0 {
        what.push_str(&format!(" · {lookups} user id(s) to look up first"));
    }
    let domain = app
        .account()
        .and_then(|a| a.username.rsplit_once('@').map(|(_, d)| d.to_owned()));
    let who = match app.account() {
        Some(a) => format!(
            "tenant {}{} · as {}",
            safe(&prepared.tenant_id),
            domain
                .map(|d| format!(" ({})", safe(&d)))
                .unwrap_or_default(),
            safe(&a.username)
        ),
        None => format!(
            "tenant {} · not signed in ({} signs in): only a dry run is possible",
            safe(&prepared.tenant_id),
            app.keymap.key(Action::SignIn)
        ),
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
            Span::raw(what),
        ]),
        Line::raw(who),
        Line::styled(crate::graph::prepare::WHAT_IT_DOES, t.style(Role::Dim)),
    ];
    if internal + unknown > 0 {
        head.push(Line::styled(
            format!(
                "Warning: {internal} in chats started in your tenant (internal start), {unknown} \
                 of unknown start; Microsoft's procedure is for chats started externally."
            ),
            t.style(Role::External),
        ));
    }
    let folded: usize = prepared.checked.folded().iter().map(|f| f.times - 1).sum();
    if folded > 0 {
        head.push(Line::raw(format!(
            "The marks listed {folded} target(s) twice: each is sent once."
        )));
    }
    let targets = prepared.targets();
    let sel = rv.sel.min(targets.len().saturating_sub(1));
    let detail_lines = targets
        .get(sel)
        .map(|tg| selected_target(app, tg))
        .unwrap_or_default();
    // Wrapped lines are counted by words, as Paragraph wraps them; one
    // spare row each for a word that does not fit.
    let rows_of = |ls: &[Line]| -> u16 {
        ls.iter()
            .map(|l| (l.width() as u16).div_ceil(inner.width.max(1)).max(1))
            .sum::<u16>()
    };
    let head_rows = rows_of(&head) + u16::from(inner.width < 100);
    let detail_rows = rows_of(&detail_lines) + u16::from(inner.width < 100);
    let [h, list, detail, foot] = Layout::vertical([
        Constraint::Length(head_rows),
        Constraint::Min(3),
        Constraint::Length(detail_rows),
        Constraint::Length(3),
    ])
    .areas(inner);
    f.render_widget(Paragraph::new(head).wrap(Wrap { trim: false }), h);
    let page = list.height.saturating_sub(1).max(1) as usize;
    let offset = sel.saturating_sub(page - 1);
    let label = |i: usize| -> (String, Role) {
        let tg = &targets[i];
        let mut words = Vec::new();
        let mut role = Role::Dim;
        if prepared.already[i].is_some() {
            words.push("done earlier");
            role = Role::Marked;
        }
        match tg.initiated {
            Initiated::Internal => {
                words.push("internal start");
                role = Role::External;
            }
            Initiated::Unknown => {
                words.push("unknown start");
                role = Role::External;
            }
            Initiated::External => {}
        }
        if hidden.get(i).copied().unwrap_or(false) {
            words.push("hidden");
            role = Role::External;
        }
        (words.join(", "), role)
    };
    let rows: Vec<Row> = (offset..targets.len().min(offset + page))
        .map(|i| {
            let tg = &targets[i];
            let (note, role) = label(i);
            let row = Row::new(vec![
                Cell::from(safe(&tg.user_upn)),
                Cell::from(safe(tg.user_display_name.as_deref().unwrap_or(""))),
                Cell::from(safe(
                    tg.chat_name
                        .as_deref()
                        .filter(|n| !n.trim().is_empty())
                        .unwrap_or(&tg.chat_id),
                )),
                Cell::from(Span::styled(note, t.style(role))),
            ]);
            if i == sel {
                row.style(t.style(Role::Selected))
            } else {
                row
            }
        })
        .collect();
    // Columns as wide as their longest value, so that at 120 columns a
    // UPN, a name and a chat name are whole; the chat takes what is left.
    let longest = |f: &dyn Fn(&crate::triage::plan::Target) -> usize| {
        targets.iter().map(f).max().unwrap_or(0) as u16
    };
    let upn_w = longest(&|t| safe(&t.user_upn).width()).clamp(4, inner.width / 2);
    let name_w = longest(&|t| safe(t.user_display_name.as_deref().unwrap_or("")).width())
        .clamp(4, inner.width / 4);
    let note_w = (0..targets.len())
        .map(|i| label(i).0.len())
        .max()
        .unwrap_or(0) as u16;
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(upn_w),
                Constraint::Length(name_w),
                Constraint::Fill(1),
                Constraint::Length(note_w),
            ],
        )
        .header(Row::new(["User", "Name", "Chat", ""]).style(t.style(Role::Title))),
        list,
    );
    // The selected target whole: nothing cut beyond reach.
    f.render_widget(
        Paragraph::new(detail_lines).wrap(Wrap { trim: false }),
        detail,
    );
    let mut foot_lines = if n == 0 {
        vec![Line::styled(
            format!(
                "Nothing left to send: an earlier run removed every marked target. {} closes.",
                app.keymap.key(Action::Cancel)
            ),
            t.style(Role::Marked),
        )]
    } else {
        vec![Line::from(vec![
            Span::raw(format!(
                "Type {n} and press {} to {}: ",
                app.keymap.key(Action::Confirm),
                if rv.dry_run {
                    "start the dry run (nothing is sent)"
                } else {
                    "send the removals"
                }
            )),
            Span::styled(rv.input.value().to_owned(), t.style(Role::Title)),
        ])]
    };
    if let Some(note) = &rv.note {
        foot_lines.push(Line::styled(safe(note), t.style(Role::Error)));
    }
    foot_lines.push(Line::styled(
        format!(
            "{} dry run: {} · {} select · {} cancels (nothing is sent)",
            app.keymap.key(Action::DryRun),
            if rv.dry_run { "on" } else { "off" },
            app.keymap.pair(Action::Up, Action::Down),
            app.keymap.key(Action::Cancel)
        ),
        t.style(Role::Dim),
    ));
    f.render_widget(Paragraph::new(foot_lines), foot);
}

/// The selected target of the review, every value whole.
fn selected_target<'a>(app: &App, tg: &crate::triage::plan::Target) -> Vec<Line<'a>> {
    let t = &app.theme;
    vec![
        Line::from(vec![
            Span::styled("user  ", t.style(Role::Dim)),
            Span::raw(format!(
                "{}{} · id {}",
                safe(&tg.user_upn),
                tg.user_display_name
                    .as_deref()
                    .map(|n| format!(" ({})", safe(n)))
                    .unwrap_or_default(),
                tg.user_id.as_deref().unwrap_or("(looked up first)"),
            )),
        ]),
        Line::from(vec![
            Span::styled("chat  ", t.style(Role::Dim)),
            Span::raw(format!(
                "{}{}",
                tg.chat_name
                    .as_deref()
                    .map(|n| format!("{} · ", safe(n)))
                    .unwrap_or_default(),
                safe(&tg.chat_id)
            )),
        ]),
    ]
}

pub fn cancel_dialog(f: &mut Frame, app: &App, area: Rect) {
    let r = centered(area, 64, 6);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(vec![
            Line::raw("Cancel the run? Nothing new is sent; requests in flight"),
            Line::raw("finish and are journaled. A later run of the same marks"),
            Line::raw(format!(
                "sends only what was not removed. {} cancels · any key goes on",
                app.keymap.key(Action::Yes)
            )),
        ])
        .wrap(Wrap { trim: false })
        .block(block(app, " Cancel ")),
        r,
    );
}

pub fn quit_dialog(f: &mut Frame, app: &App, area: Rect) {
    let r = centered(area, 64, 6);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(vec![
            Line::raw("A run is in progress. Quit anyway?"),
            Line::raw("Requests in flight finish and are journaled."),
            Line::raw(if app.demo_banner.is_some() {
                // The demo deletes its state directory on exit.
                "This is the demo: its tenant and journal go when it ends.".to_owned()
            } else {
                "A later run of the same marks sends only what is left.".to_owned()
            }),
            Line::raw(format!(
                "{} quits · any other key stays",
                app.keymap.key(Action::Yes)
            )),
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
                format!(
                    " Report ({} scroll · {} copies it · any other key closes) ",
                    app.keymap.pair(Action::Up, Action::Down),
                    app.keymap.key(Action::Copy)
                ),
            )),
        r,
    );
}
