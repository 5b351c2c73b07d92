//! A journal summarised for a change ticket: what was asked, what was
//! done, what failed and the ids Microsoft support would ask for.
//!
//! A target's result is its last word across all runs of the journal,
//! except that a confirmed removal stays the result: later runs skip it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::{Counts, EndReason, Entry, JournalError, Key, Outcome};
use crate::sanitize::{csv_cell as sc, for_terminal};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunInfo {
    /// The run's place in the journal, from 1 (`report --run N`).
    pub number: usize,
    pub run: String,
    pub started: String,
    pub ended: Option<String>,
    pub dry_run: bool,
    pub account: Option<String>,
    pub tenant_id: Option<String>,
    pub plan_path: String,
    pub plan_sha256: String,
    pub plan_targets: usize,
    /// `finished`, `cancelled`, `stopped: …`, or `interrupted` when the
    /// run has no end line (a crash or a dropped session).
    pub end: String,
    pub counts: Option<Counts>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TargetRow {
    pub chat_id: String,
    pub chat_name: Option<String>,
    pub user_upn: String,
    pub user_id: Option<String>,
    pub tenant_id: String,
    /// removed, failed, unfinished, skipped, would_remove, or not_tried
    /// (the run ended before trying it).
    pub result: String,
    pub at: String,
    pub status: Option<u16>,
    pub code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
    pub client_request_id: Option<String>,
    pub attempts: u32,
    pub run: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub journal: String,
    /// Every run in the journal, oldest first (numbered from 1).
    pub runs: Vec<RunInfo>,
    /// The run this report is about.
    pub run: RunInfo,
    pub totals: HashMap<String, usize>,
    /// The run's targets: every one it set out to do (journals written
    /// before runs listed their targets: those it journaled).
    pub targets: Vec<TargetRow>,
    /// Lines that could not be read (cut off by a crash, or damaged).
    pub unreadable_lines: Vec<usize>,
}

/// Which run to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Which {
    Last,
    /// 1-based, in journal order.
    Number(usize),
    /// The run's id.
    Id(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("{0}: the journal holds no run")]
    NoRun(String),
    #[error("{journal}: there is no run {which}; the journal holds {count} run(s)")]
    NoSuchRun {
        journal: String,
        which: String,
        count: usize,
    },
}

/// Reads the journal at `path` and summarises one of its runs.
pub fn build(path: &Path, which: &Which) -> Result<Report, ReportError> {
    let read = super::read(path)?;
    let journal = path.display().to_string();
    let mut runs: Vec<RunInfo> = Vec::new();
    for e in &read.entries {
        match e {
            Entry::RunStarted {
                run,
                at,
                plan,
                dry_run,
                tenant_id,
                account,
                ..
            } => runs.push(RunInfo {
                number: runs.len() + 1,
                run: run.clone(),
                started: at.clone(),
                ended: None,
                dry_run: *dry_run,
                account: account.clone(),
                tenant_id: tenant_id.clone(),
                plan_path: plan.path.clone(),
                plan_sha256: plan.sha256.clone(),
                plan_targets: plan.targets,
                end: "interrupted".into(),
                counts: None,
            }),
            Entry::RunEnded {
                run,
                at,
                reason,
                counts,
            } => {
                if let Some(r) = runs.iter_mut().rev().find(|r| r.run == *run) {
                    r.ended = Some(at.clone());
                    r.counts = Some(*counts);
                    r.end = match reason {
                        EndReason::Finished => "finished".into(),
                        EndReason::Cancelled => "cancelled".into(),
                        EndReason::Stopped(why) => format!("stopped: {why}"),
                    };
                }
            }
            _ => {}
        }
    }
    let chosen = match which {
        Which::Last => runs.last(),
        Which::Number(n) => n.checked_sub(1).and_then(|i| runs.get(i)),
        Which::Id(id) => runs.iter().find(|r| r.run == *id),
    };
    let run = match chosen {
        Some(r) => r.clone(),
        None if runs.is_empty() => return Err(ReportError::NoRun(journal)),
        None => {
            return Err(ReportError::NoSuchRun {
                journal,
                which: match which {
                    Which::Last => "last".into(),
                    Which::Number(n) => n.to_string(),
                    Which::Id(id) => id.clone(),
                },
                count: runs.len(),
            });
        }
    };
    let mut rows: HashMap<Key, TargetRow> = HashMap::new();
    let mut order: Vec<Key> = Vec::new();
    let mut attempts: HashMap<Key, u32> = HashMap::new();
    let mut add = |key: &Key, row: TargetRow, rows: &mut HashMap<Key, TargetRow>| {
        if !rows.contains_key(key) {
            order.push(key.clone());
        }
        rows.insert(key.clone(), row);
    };
    for e in read.entries.iter().filter(|e| e.run() == run.run) {
        match e {
            Entry::Planned {
                run: id,
                key,
                user_id,
                tenant_id,
                chat_name,
            } => add(
                key,
                TargetRow {
                    chat_id: key.chat_id.clone(),
                    chat_name: chat_name.clone(),
                    user_upn: key.user_upn.clone(),
                    user_id: user_id.clone(),
                    tenant_id: tenant_id.clone(),
                    result: "not_tried".into(),
                    at: String::new(),
                    status: None,
                    code: None,
                    message: None,
                    request_id: None,
                    client_request_id: None,
                    attempts: 0,
                    run: id.clone(),
                },
                &mut rows,
            ),
            Entry::Attempt { key, .. } => {
                *attempts.entry(key.clone()).or_default() += 1;
                // Sent, and no answer journaled (a crash right after).
                if let Some(r) = rows.get_mut(key)
                    && r.result == "not_tried"
                {
                    r.result = "unfinished".into();
                    r.attempts = attempts[key];
                }
            }
            Entry::Outcome {
                run: id,
                at,
                key,
                user_id,
                tenant_id,
                chat_name,
                client_request_id,
                result,
                status,
                code,
                message,
                request_id,
                ..
            } => {
                let result_name = match result {
                    Outcome::Removed => "removed",
                    Outcome::Failed => "failed",
                    Outcome::Unknown | Outcome::Retrying => "unfinished",
                    Outcome::Skipped => "skipped",
                    Outcome::WouldRemove => "would_remove",
                };
                // A confirmed removal stays the result.
                if rows.get(key).is_some_and(|r| r.result == "removed") {
                    continue;
                }
                add(
                    key,
                    TargetRow {
                        chat_id: key.chat_id.clone(),
                        chat_name: chat_name.clone(),
                        user_upn: key.user_upn.clone(),
                        user_id: user_id.clone(),
                        tenant_id: tenant_id.clone(),
                        result: result_name.into(),
                        at: at.clone(),
                        status: *status,
                        code: code.clone(),
                        message: message.clone(),
                        request_id: request_id.clone(),
                        client_request_id: client_request_id.clone(),
                        attempts: attempts.get(key).copied().unwrap_or(0),
                        run: id.clone(),
                    },
                    &mut rows,
                );
            }
            _ => {}
        }
    }
    let targets: Vec<TargetRow> = order.into_iter().filter_map(|k| rows.remove(&k)).collect();
    let mut totals: HashMap<String, usize> = HashMap::new();
    for t in &targets {
        *totals.entry(t.result.clone()).or_default() += 1;
    }
    Ok(Report {
        journal,
        runs,
        run,
        totals,
        targets,
        unreadable_lines: read.bad_lines,
    })
}

/// Text safe in a Markdown table cell and on a terminal.
fn cell(s: &str) -> String {
    for_terminal(s).replace('|', "\\|")
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map(cell).unwrap_or_default()
}

const RESULT_ORDER: [&str; 6] = [
    "removed",
    "skipped",
    "failed",
    "unfinished",
    "not_tried",
    "would_remove",
];

impl Report {
    pub fn markdown(&self) -> String {
        let mut o = String::new();
        let r = &self.run;
        let _ = writeln!(o, "# chatevict removal report\n");
        let _ = writeln!(o, "- Journal: `{}`", cell(&self.journal));
        let _ = writeln!(
            o,
            "- Run {} of {} (`{}`){}: {} to {}, {}",
            r.number,
            self.runs.len(),
            cell(&r.run),
            if r.dry_run { ", a dry run" } else { "" },
            cell(&r.started),
            r.ended.as_deref().map(cell).unwrap_or_else(|| "?".into()),
            cell(&r.end)
        );
        let _ = writeln!(
            o,
            "- Plan: `{}` (SHA-256 {}, {} targets)",
            cell(&r.plan_path),
            cell(&r.plan_sha256),
            r.plan_targets
        );
        let _ = writeln!(
            o,
            "- Tenant: {} · signed in as: {}",
            opt(&r.tenant_id),
            opt(&r.account)
        );
        if self.runs.len() > 1 {
            let _ = writeln!(o, "- Other runs in this journal (`--run N` reports one):");
            for x in self.runs.iter().filter(|x| x.number != r.number) {
                let _ = writeln!(
                    o,
                    "  - {}: {}{}, plan `{}`, {}",
                    x.number,
                    cell(&x.started),
                    if x.dry_run { " (dry run)" } else { "" },
                    cell(&x.plan_path),
                    cell(&x.end)
                );
            }
        }
        if !self.unreadable_lines.is_empty() {
            let _ = writeln!(
                o,
                "- Unreadable journal lines (cut off by a crash?): {:?}",
                self.unreadable_lines
            );
        }
        let _ = writeln!(o, "\n| Result | Targets |\n|---|---:|");
        for name in RESULT_ORDER {
            if let Some(n) = self.totals.get(name) {
                let _ = writeln!(o, "| {name} | {n} |");
            }
        }
        let failed: Vec<&TargetRow> = self
            .targets
            .iter()
            .filter(|t| matches!(t.result.as_str(), "failed" | "unfinished" | "not_tried"))
            .collect();
        if !failed.is_empty() {
            let _ = writeln!(
                o,
                "\n## Not removed\n\n| Chat | User | Result | Status | Error | Request id | Client request id |\n|---|---|---|---|---|---|---|"
            );
            for t in failed {
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    cell(&t.chat_id),
                    cell(&t.user_upn),
                    t.result.replace('_', " "),
                    t.status.map(|s| s.to_string()).unwrap_or_default(),
                    cell(&format!(
                        "{}{}",
                        t.code
                            .as_deref()
                            .map(|c| format!("{c}: "))
                            .unwrap_or_default(),
                        t.message.as_deref().unwrap_or("")
                    )),
                    opt(&t.request_id),
                    opt(&t.client_request_id)
                );
            }
        }
        let _ = writeln!(
            o,
            "\n## Targets\n\n| Chat | Chat name | User | User id | Result | When (UTC) | Request id |\n|---|---|---|---|---|---|---|"
        );
        for t in &self.targets {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell(&t.chat_id),
                opt(&t.chat_name),
                cell(&t.user_upn),
                opt(&t.user_id),
                t.result,
                cell(&t.at),
                opt(&t.request_id)
            );
        }
        o
    }

    pub fn csv(&self) -> Result<String, csv::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "chat_id",
            "chat_name",
            "user_upn",
            "user_id",
            "tenant_id",
            "result",
            "at",
            "status",
            "code",
            "message",
            "request_id",
            "client_request_id",
            "attempts",
            "run",
        ])?;
        for t in &self.targets {
            w.write_record([
                &*sc(&t.chat_id),
                &*sc(t.chat_name.as_deref().unwrap_or("")),
                &*sc(&t.user_upn),
                &*sc(t.user_id.as_deref().unwrap_or("")),
                &*sc(&t.tenant_id),
                &*sc(&t.result),
                &*sc(&t.at),
                &t.status.map(|s| s.to_string()).unwrap_or_default(),
                &*sc(t.code.as_deref().unwrap_or("")),
                &*sc(t.message.as_deref().unwrap_or("")),
                &*sc(t.request_id.as_deref().unwrap_or("")),
                &*sc(t.client_request_id.as_deref().unwrap_or("")),
                &t.attempts.to_string(),
                &*sc(&t.run),
            ])?;
        }
        let bytes = w.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8(bytes).expect("CSV of strings is UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Counts, Journal, PlanRef};

    fn started(run: &str, plan: &str, targets: usize) -> Entry {
        Entry::RunStarted {
            run: run.into(),
            at: format!("2026-11-20T10:00:00.000Z{run}"),
            chatevict: "0".into(),
            plan: PlanRef {
                path: plan.into(),
                sha256: plan.repeat(4),
                targets,
            },
            dry_run: false,
            tenant_id: Some("t".into()),
            account: Some("admin@contoso.com".into()),
            graph: "g".into(),
            max_rate: 0.8,
        }
    }

    fn planned(run: &str, chat: &str) -> Entry {
        Entry::Planned {
            run: run.into(),
            key: Key::new(chat, "a@contoso.com"),
            user_id: None,
            tenant_id: "t".into(),
            chat_name: None,
        }
    }

    fn removed(run: &str, chat: &str) -> Entry {
        Entry::Outcome {
            run: run.into(),
            at: "2026-11-20T10:00:01.000Z".into(),
            key: Key::new(chat, "a@contoso.com"),
            user_id: Some("u".into()),
            tenant_id: "t".into(),
            chat_name: None,
            attempt: 1,
            client_request_id: Some("c".into()),
            result: Outcome::Removed,
            status: Some(204),
            code: None,
            message: None,
            request_id: Some("r".into()),
            date: None,
            retry_in_ms: None,
        }
    }

    fn ended(run: &str, reason: EndReason) -> Entry {
        Entry::RunEnded {
            run: run.into(),
            at: "2026-11-20T10:00:02.000Z".into(),
            reason,
            counts: Counts::default(),
        }
    }

    #[test]
    fn one_run_of_a_journal_of_several_plans_with_targets_never_tried() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("tenant-t.jsonl");
        let mut j = Journal::open(&p).unwrap();
        j.append_all(&[
            started("r1", "first.json", 1),
            planned("r1", "19:a@thread.v2"),
            removed("r1", "19:a@thread.v2"),
            ended("r1", EndReason::Finished),
            started("r2", "second.json", 3),
            planned("r2", "19:b@thread.v2"),
            planned("r2", "19:c@thread.v2"),
            planned("r2", "19:d@thread.v2"),
            removed("r2", "19:b@thread.v2"),
            ended("r2", EndReason::Cancelled),
        ])
        .unwrap();
        let last = build(&p, &Which::Last).unwrap();
        assert_eq!(last.run.number, 2);
        assert_eq!(last.run.plan_path, "second.json");
        assert_eq!(last.targets.len(), 3, "only the second run's targets");
        assert_eq!(last.totals["removed"], 1);
        assert_eq!(last.totals["not_tried"], 2);
        let md = last.markdown();
        assert!(md.contains("- Run 2 of 2 (`r2`)"), "{md}");
        assert!(
            md.contains("| 19:c@thread.v2 | a@contoso.com | not tried |"),
            "{md}"
        );
        assert!(md.contains("  - 1: "), "the other run is listed: {md}");
        let first = build(&p, &Which::Number(1)).unwrap();
        assert_eq!(first.run.plan_path, "first.json");
        assert_eq!(first.targets.len(), 1);
        assert_eq!(first.targets[0].chat_id, "19:a@thread.v2");
        assert_eq!(build(&p, &Which::Id("r1".into())).unwrap().run.number, 1);
        let e = build(&p, &Which::Number(3)).unwrap_err().to_string();
        assert!(e.contains("no run 3; the journal holds 2 run(s)"), "{e}");
    }
}
