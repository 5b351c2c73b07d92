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
use crate::sanitize::{for_terminal, spreadsheet_cell as sc};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunInfo {
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
    /// removed, failed, unknown, skipped, would_remove, or unfinished.
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
    pub runs: Vec<RunInfo>,
    pub totals: HashMap<String, usize>,
    pub targets: Vec<TargetRow>,
    /// Lines that could not be read (cut off by a crash, or damaged).
    pub unreadable_lines: Vec<usize>,
}

/// Reads and summarises the journal at `path`.
pub fn build(path: &Path) -> Result<Report, JournalError> {
    let read = super::read(path)?;
    let mut runs: Vec<RunInfo> = Vec::new();
    let mut rows: HashMap<Key, TargetRow> = HashMap::new();
    let mut order: Vec<Key> = Vec::new();
    let mut attempts: HashMap<(String, Key), u32> = HashMap::new();
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
            Entry::Attempt { run, key, .. } => {
                *attempts.entry((run.clone(), key.clone())).or_default() += 1;
            }
            Entry::Outcome {
                run,
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
                let row = TargetRow {
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
                    attempts: attempts
                        .get(&(run.clone(), key.clone()))
                        .copied()
                        .unwrap_or(0),
                    run: run.clone(),
                };
                match rows.get(key) {
                    None => {
                        order.push(key.clone());
                        rows.insert(key.clone(), row);
                    }
                    // A confirmed removal stays; a skip says nothing new.
                    Some(old) if old.result == "removed" => {}
                    Some(_) if *result == Outcome::Skipped => {}
                    Some(_) => {
                        rows.insert(key.clone(), row);
                    }
                }
            }
            Entry::Lookup { .. } => {}
        }
    }
    let targets: Vec<TargetRow> = order.into_iter().filter_map(|k| rows.remove(&k)).collect();
    let mut totals: HashMap<String, usize> = HashMap::new();
    for t in &targets {
        *totals.entry(t.result.clone()).or_default() += 1;
    }
    Ok(Report {
        journal: path.display().to_string(),
        runs,
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
    "would_remove",
    "unknown",
];

impl Report {
    pub fn markdown(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "# chatevict removal report\n");
        let _ = writeln!(o, "- Journal: `{}`", cell(&self.journal));
        if let Some(first) = self.runs.first() {
            let _ = writeln!(
                o,
                "- Plan: `{}` (SHA-256 {}, {} targets)",
                cell(&first.plan_path),
                cell(&first.plan_sha256),
                first.plan_targets
            );
            let _ = writeln!(
                o,
                "- Tenant: {} · signed in as: {}",
                opt(&first.tenant_id),
                opt(&first.account)
            );
        }
        let _ = writeln!(o, "- Runs: {}", self.runs.len());
        for r in &self.runs {
            let _ = writeln!(
                o,
                "  - {} to {}{}: {}",
                cell(&r.started),
                r.ended.as_deref().map(cell).unwrap_or_else(|| "?".into()),
                if r.dry_run { " (dry run)" } else { "" },
                cell(&r.end)
            );
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
            .filter(|t| t.result == "failed" || t.result == "unfinished")
            .collect();
        if !failed.is_empty() {
            let _ = writeln!(
                o,
                "\n## Not removed\n\n| Chat | User | Status | Error | Request id | Client request id |\n|---|---|---|---|---|---|"
            );
            for t in failed {
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {} | {} |",
                    cell(&t.chat_id),
                    cell(&t.user_upn),
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
                &t.result,
                &t.at,
                &t.status.map(|s| s.to_string()).unwrap_or_default(),
                &*sc(t.code.as_deref().unwrap_or("")),
                &*sc(t.message.as_deref().unwrap_or("")),
                &*sc(t.request_id.as_deref().unwrap_or("")),
                &*sc(t.client_request_id.as_deref().unwrap_or("")),
                &t.attempts.to_string(),
                &t.run,
            ])?;
        }
        let bytes = w.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8(bytes).expect("CSV of strings is UTF-8"))
    }
}
