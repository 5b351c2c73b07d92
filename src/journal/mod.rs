//! The journal: an append-only record of every removal attempt, in JSON
//! Lines, flushed to disk line by line.
//!
//! An attempt line is on disk before its request leaves, and an outcome
//! line follows it. After a crash or a dropped SSH session, the next run
//! reads the journal and skips every target already removed; an attempt
//! without an outcome (or with an `unknown` one, a timeout after sending)
//! is simply tried again, since removing access twice has the same effect
//! as once. A line cut off by a crash is ignored on reading.
//!
//! Nothing secret is written here: no tokens, only ids, statuses and the
//! server's own error text.

pub mod report;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A target's identity across runs: the chat, and the user by UPN
/// (compared case-insensitively), as in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Key {
    pub chat_id: String,
    pub user_upn: String,
}

impl Key {
    pub fn new(chat_id: &str, user_upn: &str) -> Key {
        Key {
            chat_id: chat_id.to_owned(),
            user_upn: user_upn.to_lowercase(),
        }
    }
}

/// What became of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The server confirmed the removal.
    Removed,
    /// The server refused, or the retries ran out.
    Failed,
    /// The request may or may not have reached the server (a timeout or
    /// a dropped connection after sending). Tried again.
    Unknown,
    /// A transient failure; another attempt follows after `retry_in_ms`.
    Retrying,
    /// Not sent: an earlier run removed it.
    Skipped,
    /// A dry run: this request would have been sent.
    WouldRemove,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRef {
    pub path: String,
    pub sha256: String,
    pub targets: usize,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    Finished,
    Cancelled,
    /// Stopped by the runner (a 403, a token refused after a refresh, a
    /// journal write that failed); the text says why.
    Stopped(String),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub removed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub would_remove: usize,
    /// Not finished when the run ended (cancelled or stopped).
    pub left: usize,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entry {
    RunStarted {
        run: String,
        at: String,
        chatevict: String,
        plan: PlanRef,
        dry_run: bool,
        tenant_id: Option<String>,
        account: Option<String>,
        graph: String,
        max_rate: f64,
    },
    /// One per target of the run, written with `run_started`: what the
    /// run set out to do, so that a report can name the targets a
    /// cancelled or stopped run never tried.
    Planned {
        run: String,
        #[serde(flatten)]
        key: Key,
        user_id: Option<String>,
        tenant_id: String,
        chat_name: Option<String>,
    },
    Lookup {
        run: String,
        at: String,
        user_upn: String,
        user_id: Option<String>,
        status: Option<u16>,
        request_id: Option<String>,
        client_request_id: String,
        error: Option<String>,
    },
    Attempt {
        run: String,
        at: String,
        #[serde(flatten)]
        key: Key,
        user_id: String,
        tenant_id: String,
        attempt: u32,
        client_request_id: String,
    },
    Outcome {
        run: String,
        at: String,
        #[serde(flatten)]
        key: Key,
        user_id: Option<String>,
        tenant_id: String,
        chat_name: Option<String>,
        attempt: u32,
        client_request_id: Option<String>,
        result: Outcome,
        status: Option<u16>,
        code: Option<String>,
        message: Option<String>,
        request_id: Option<String>,
        date: Option<String>,
        retry_in_ms: Option<u64>,
    },
    RunEnded {
        run: String,
        at: String,
        reason: EndReason,
        counts: Counts,
    },
}

impl Entry {
    pub fn run(&self) -> &str {
        match self {
            Entry::RunStarted { run, .. }
            | Entry::Planned { run, .. }
            | Entry::Lookup { run, .. }
            | Entry::Attempt { run, .. }
            | Entry::Outcome { run, .. }
            | Entry::RunEnded { run, .. } => run,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot write the journal {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the journal {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The journal open for appending.
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (or creates) the journal at `path` for appending.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let err = |source| JournalError::Write {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::files::create_private_dir(dir).map_err(err)?;
        }
        let mut file = crate::files::open_private_append(path).map_err(err)?;
        // A line cut off by a crash would glue itself to the next one.
        let len = file.metadata().map_err(err)?.len();
        if len > 0 && !ends_with_newline(path).map_err(err)? {
            file.write_all(b"\n").map_err(err)?;
        }
        Ok(Journal {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line and waits until it is on disk.
    pub fn append(&mut self, e: &Entry) -> Result<(), JournalError> {
        self.append_all(std::slice::from_ref(e))
    }

    /// Appends lines and waits until they are on disk (one flush for
    /// all). Lines are in the journal's safe JSON: nothing an outsider
    /// wrote reaches a terminal that shows the file.
    pub fn append_all(&mut self, entries: &[Entry]) -> Result<(), JournalError> {
        let mut lines = Vec::new();
        for e in entries {
            lines.extend_from_slice(crate::sanitize::json_line(e).as_bytes());
            lines.push(b'\n');
        }
        let err = |source| JournalError::Write {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(&lines).map_err(err)?;
        self.file.sync_data().map_err(err)?;
        Ok(())
    }
}

fn ends_with_newline(path: &Path) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = File::open(path)?;
    f.seek(SeekFrom::End(-1))?;
    let mut b = [0u8; 1];
    f.read_exact(&mut b)?;
    Ok(b[0] == b'\n')
}

/// Everything a journal holds.
#[derive(Debug, Default)]
pub struct Read {
    pub entries: Vec<Entry>,
    /// Lines that did not parse (a line cut off by a crash, or damage):
    /// their line numbers.
    pub bad_lines: Vec<usize>,
}

/// Reads a journal; a missing file is an empty journal.
pub fn read(path: &Path) -> Result<Read, JournalError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Read::default()),
        Err(source) => {
            return Err(JournalError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut out = Read::default();
    for (i, line) in BufReader::new(file).split(b'\n').enumerate() {
        let line = line.map_err(|source| JournalError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Entry>(&line) {
            Ok(e) => out.entries.push(e),
            Err(_) => out.bad_lines.push(i + 1),
        }
    }
    Ok(out)
}

/// A removal an earlier run confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub run: String,
    pub at: String,
    pub request_id: Option<String>,
    pub user_id: Option<String>,
}

impl Read {
    /// The targets whose removal a real (not dry) run confirmed.
    pub fn removed(&self) -> HashMap<Key, Done> {
        let dry: std::collections::HashSet<&str> = self
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::RunStarted {
                    run, dry_run: true, ..
                } => Some(run.as_str()),
                _ => None,
            })
            .collect();
        let mut out = HashMap::new();
        for e in &self.entries {
            if let Entry::Outcome {
                run,
                at,
                key,
                result: Outcome::Removed,
                request_id,
                user_id,
                ..
            } = e
                && !dry.contains(run.as_str())
            {
                out.entry(key.clone()).or_insert_with(|| Done {
                    run: run.clone(),
                    at: at.clone(),
                    request_id: request_id.clone(),
                    user_id: user_id.clone(),
                });
            }
        }
        out
    }

    /// User ids that earlier runs looked up, by lowercase UPN.
    pub fn lookups(&self) -> HashMap<String, String> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Lookup {
                    user_upn,
                    user_id: Some(id),
                    ..
                } => Some((user_upn.to_lowercase(), id.clone())),
                _ => None,
            })
            .collect()
    }
}

/// The current time, RFC 3339 with milliseconds, UTC.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(run: &str, chat: &str, upn: &str, result: Outcome) -> Entry {
        Entry::Outcome {
            run: run.into(),
            at: "2026-11-29T07:00:00.000Z".into(),
            key: Key::new(chat, upn),
            user_id: Some("u".into()),
            tenant_id: "t".into(),
            chat_name: None,
            attempt: 1,
            client_request_id: Some("c".into()),
            result,
            status: Some(204),
            code: None,
            message: None,
            request_id: Some("r".into()),
            date: None,
            retry_in_ms: None,
        }
    }

    fn started(run: &str, dry_run: bool) -> Entry {
        Entry::RunStarted {
            run: run.into(),
            at: now(),
            chatevict: "0".into(),
            plan: PlanRef {
                path: "p".into(),
                sha256: "s".into(),
                targets: 2,
            },
            dry_run,
            tenant_id: None,
            account: None,
            graph: "g".into(),
            max_rate: 0.8,
        }
    }

    #[test]
    fn removed_targets_survive_a_torn_last_line() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("j/plan.jsonl");
        let mut j = Journal::open(&p).unwrap();
        j.append(&started("r1", false)).unwrap();
        j.append(&outcome("r1", "19:a", "Alex@Contoso.com", Outcome::Removed))
            .unwrap();
        j.append(&outcome("r1", "19:b", "sam@contoso.com", Outcome::Unknown))
            .unwrap();
        drop(j);
        // A crash in the middle of a line.
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(br#"{"type":"outcome","run":"r1","#).unwrap();
        drop(f);
        // The next run appends after the torn line, on a line of its own.
        let mut j = Journal::open(&p).unwrap();
        j.append(&started("r2", true)).unwrap();
        j.append(&outcome("r2", "19:b", "sam@contoso.com", Outcome::Removed))
            .unwrap();
        let r = read(&p).unwrap();
        assert_eq!(r.bad_lines, vec![4]);
        assert_eq!(r.entries.len(), 5);
        let done = r.removed();
        // Case-insensitive UPN; the dry run's "removal" does not count.
        assert!(done.contains_key(&Key::new("19:a", "alex@contoso.com")));
        assert!(!done.contains_key(&Key::new("19:b", "sam@contoso.com")));
    }

    #[test]
    fn lines_are_flat_json() {
        let line = serde_json::to_string(&outcome("r", "19:a", "x@y", Outcome::Removed)).unwrap();
        assert!(line.starts_with(r#"{"type":"outcome","run":"r""#), "{line}");
        assert!(
            line.contains(r#""chat_id":"19:a","user_upn":"x@y""#),
            "{line}"
        );
    }
}
