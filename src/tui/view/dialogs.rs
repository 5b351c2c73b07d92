//! Dialogs drawn over the screen: help, copy, export, sign-in, the review before a run, cancel, quit, the report.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Clear, Paragraph, Row, Table, Wrap};
use unicode_width::UnicodeWidthStr;

use super::widgets::{SPINNER, block, centered, safe};
use crate::triage::query::Initiated;
use crate::tui::app::{App, Dialog, Export};
use crate::tui::keymap::Action;
use crate::tui::run::{Review, ReviewState, SignIn};
use crate::tui::theme::Role;

pub(super) fn dialog(f: &mut Frame, app: &App, d: &Dialog, area: Rect) {
    let t = &app.theme;
    match d {
        Dialog::SignIn => sign_in_dialog(f, app, area),
        Dialog::Fetch => super::fetch::fetch_dialog(f, app, area),
        Dialog::Review(r) => review_dialog(f, app, r, area),
        Dialog::QuitRun => quit_dialog(f, app, area),
        Dialog::CancelRun => cancel_dialog(f, app, area),
        Dialog::Report { lines, scroll } => report_dialog(f, app, lines, *scroll, area),
        Dialog::Detail {
            title,
            fields,
            scroll,
        } => {
            let r = centered(
                area,
                area.width.saturating_sub(4).min(100),
                area.height.saturating_sub(2),
            );
            let label = fields.iter().map(|(n, _)| n.width()).max().unwrap_or(0);
            let lines: Vec<Line> = fields
                .iter()
                .map(|(n, v)| {
                    Line::from(vec![
                        Span::styled(format!("{n:<label$}  "), t.style(Role::Dim)),
                        Span::raw(safe(v)),
                    ])
                })
                .collect();
            f.render_widget(Clear, r);
            f.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .scroll((*scroll, 0))
                    .block(block(
                        app,
                        format!(
                            " {} ({} scroll · {} copies a value · any other key closes) ",
                            safe(title),
                            app.keymap.pair(Action::Up, Action::Down),
                            app.keymap.key(Action::Copy)
                        ),
                    )),
                r,
            );
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
        Dialog::Export {
            input,
            replace,
            what,
        } => {
            let r = centered(area, 70, 6);
            let (asked, title, then) = match what {
                Export::Plan => (
                    format!(
                        "Write the {} marked target(s) as a plan to:",
                        app.marks.len()
                    ),
                    " Export plan ",
                    " · run it with `chatevict apply FILE`",
                ),
                Export::Report(_) => (
                    "Write the report (Markdown) to:".to_owned(),
                    " Write report ",
                    "",
                ),
            };
            let lines = vec![
                Line::raw(asked),
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
                            "{} writes · {} cancels{then}",
                            app.keymap.key(Action::Confirm),
                            app.keymap.key(Action::Cancel)
                        ),
                        t.style(Role::Dim),
                    )
                },
            ];
            f.render_widget(Clear, r);
            f.render_widget(Paragraph::new(lines).block(block(app, title)), r);
            f.set_cursor_position((r.x + 3 + input.visual_cursor() as u16, r.y + 2));
        }
    }
}

pub(super) fn sign_in_dialog(f: &mut Frame, app: &App, area: Rect) {
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

pub(super) fn review_dialog(f: &mut Frame, app: &App, rv: &Review, area: Rect) {
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

pub(super) fn cancel_dialog(f: &mut Frame, app: &App, area: Rect) {
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

pub(super) fn quit_dialog(f: &mut Frame, app: &App, area: Rect) {
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

pub(super) fn report_dialog(f: &mut Frame, app: &App, lines: &[String], scroll: u16, area: Rect) {
    let r = centered(
        area,
        area.width.saturating_sub(4),
        area.height.saturating_sub(2),
    );
    f.render_widget(Clear, r);
    // The report is Markdown: shown as text that reads well, wrapped, with
    // its tables as columns or blocks (copied and written as Markdown).
    let text = super::markdown::lines(&lines.join("\n"), r.width.saturating_sub(2), &app.theme);
    f.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(block(
                app,
                format!(
                    " Report ({} scroll · {} copies · {} writes a file · any other key closes) ",
                    app.keymap.pair(Action::Up, Action::Down),
                    app.keymap.key(Action::Copy),
                    app.keymap.key(Action::Export)
                ),
            )),
        r,
    );
}
