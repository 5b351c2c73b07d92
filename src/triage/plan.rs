//! The plan: exactly the removals a run will make, with why.
//!
//! A plan is written by `chatevict plan` (or from the application's
//! marks) and is the one input of a removal run. Its order is
//! deterministic (chat id, then UPN), so two plans of the same exports
//! and filter differ only in `created`.

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::chats::{Chat, HomeUser, IdSource};
use super::index::Index;
use super::query::Initiated;
use super::reasons::{Reason, ReasonRow};
use crate::ual::{Dataset, time};

/// The plan format's version; readers refuse newer ones.
pub const PLAN_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub version: u32,
    /// RFC 3339, UTC.
    pub created: String,
    pub source_files: Vec<SourceFile>,
    /// The query that selected the chats, if any.
    pub filter: Option<String>,
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    pub path: String,
    pub sha256: String,
}

/// One removal: this user loses access to this chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub chat_id: String,
    /// The home tenant: the user's tenant in the Graph call.
    pub tenant_id: String,
    /// The user's Entra object id; `null` until looked up.
    pub user_id: Option<String>,
    pub user_upn: String,
    pub user_display_name: Option<String>,
    pub user_id_source: UserIdSource,
    pub chat_name: Option<String>,
    pub communication_type: Option<String>,
    pub initiated: Initiated,
    pub external_domains: Vec<String>,
    /// Ids of the records that show the user in the chat.
    pub evidence: Vec<String>,
    /// Why the chat is external, how it started, and who in it is no
    /// target (plans written before reasons existed have none).
    #[serde(default)]
    pub reasons: Vec<ReasonRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserIdSource {
    UserKey,
    ChatId,
    Lookup,
}

impl From<IdSource> for UserIdSource {
    fn from(s: IdSource) -> Self {
        match s {
            IdSource::UserKey => UserIdSource::UserKey,
            IdSource::ChatId => UserIdSource::ChatId,
            IdSource::Lookup => UserIdSource::Lookup,
        }
    }
}

/// The SHA-256 of a file, in lowercase hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The exports of a dataset with their SHA-256, for a plan's
/// `source_files`; the error names the file that could not be read again.
pub fn source_files(ds: &Dataset) -> Result<Vec<SourceFile>, (std::path::PathBuf, std::io::Error)> {
    hash_sources(&sources_of(ds))
}

/// What [`hash_sources`] needs of a dataset: each export's path, and its
/// SHA-256 when loading already knew it (an export read from a stream).
pub fn sources_of(ds: &Dataset) -> Vec<(std::path::PathBuf, Option<String>)> {
    ds.sources
        .iter()
        .map(|s| (s.path.clone(), s.sha256.clone()))
        .collect()
}

/// Hashes the exports that are not hashed yet. Reading every byte of an
/// 800 MB export again takes seconds: the application does it on its
/// load thread, once, never on the screen's loop.
pub fn hash_sources(
    sources: &[(std::path::PathBuf, Option<String>)],
) -> Result<Vec<SourceFile>, (std::path::PathBuf, std::io::Error)> {
    sources
        .iter()
        .map(|(path, known)| {
            known
                .clone()
                .map_or_else(|| sha256_file(path), Ok)
                .map(|sha256| SourceFile {
                    path: path.display().to_string(),
                    sha256,
                })
                .map_err(|e| (path.clone(), e))
        })
        .collect()
}

/// The target of one home user of one chat.
pub fn target(ds: &Dataset, chat: &Chat, user: &HomeUser) -> Target {
    let mut evidence: Vec<&crate::ual::Record> = user
        .evidence
        .iter()
        .map(|&i| &ds.records[i as usize])
        .collect();
    evidence.sort_by(|a, b| {
        a.time
            .cmp(&b.time)
            .then_with(|| a.id.text().cmp(&b.id.text()))
    });
    Target {
        chat_id: ds.str(chat.id).trim().to_owned(),
        tenant_id: ds.opt(chat.home_tenant).trim().to_ascii_lowercase(),
        user_id: user.object_id.map(|o| o.to_string()),
        user_upn: ds.str(user.upn).trim().to_owned(),
        user_display_name: user.display_name.map(|n| ds.str(n).to_owned()),
        user_id_source: user.id_source.into(),
        chat_name: chat.name.map(|n| ds.str(n).to_owned()),
        communication_type: chat.communication_type.map(|t| ds.str(t).to_owned()),
        initiated: chat.initiated,
        external_domains: chat.external_domains().to_vec(),
        evidence: evidence.iter().map(|r| r.id.to_string()).collect(),
        reasons: reason_rows(ds, chat.reasons()),
    }
}

/// Reasons as plans and JSON output write them: with record ids.
pub fn reason_rows(ds: &Dataset, reasons: &[Reason]) -> Vec<ReasonRow> {
    reasons
        .iter()
        .map(|r| ReasonRow {
            kind: r.kind,
            detail: r.detail.clone(),
            record_id: r.record.map(|i| ds.records[i as usize].id.to_string()),
        })
        .collect()
}

/// The targets of the external chats among `chats` (indices into
/// `ix.chats.list`), in plan order.
pub fn targets(ds: &Dataset, ix: &Index, chats: impl IntoIterator<Item = usize>) -> Vec<Target> {
    let keys: Vec<(usize, &str)> = chats
        .into_iter()
        .filter(|&c| ix.chats.list[c].external)
        .flat_map(|c| {
            ix.chats.list[c]
                .targets()
                .iter()
                .map(move |u| (c, ds.str(u.upn).trim()))
        })
        .collect();
    targets_of_keys(ds, ix, keys)
}

/// The targets named by (chat index, UPN) pairs, in plan order: the one
/// way every face turns a selection into targets. A pair that names no
/// target of an external chat (an outsider, a chat that is not external,
/// a user no longer in it) yields nothing: only the index decides who is
/// a target.
pub fn targets_of_keys<'k>(
    ds: &Dataset,
    ix: &Index,
    keys: impl IntoIterator<Item = (usize, &'k str)>,
) -> Vec<Target> {
    let mut out: Vec<Target> = keys
        .into_iter()
        .filter_map(|(c, upn)| {
            let chat = ix.chats.list.get(c).filter(|c| c.external)?;
            let user = chat
                .targets()
                .iter()
                .find(|u| ds.str(u.upn).trim().eq_ignore_ascii_case(upn.trim()))?;
            Some(target(ds, chat, user))
        })
        .collect();
    out.sort_by(|a, b| {
        a.chat_id
            .cmp(&b.chat_id)
            .then_with(|| a.user_upn.to_lowercase().cmp(&b.user_upn.to_lowercase()))
    });
    out.dedup_by(|a, b| a.chat_id == b.chat_id && a.user_upn.eq_ignore_ascii_case(&b.user_upn));
    out
}

impl Plan {
    pub fn new(
        created: DateTime<Utc>,
        source_files: Vec<SourceFile>,
        filter: Option<String>,
        targets: Vec<Target>,
    ) -> Plan {
        Plan {
            version: PLAN_VERSION,
            created: time::format_rfc3339(&created),
            source_files,
            filter,
            targets,
        }
    }

    /// The plan file's bytes: pretty JSON and a newline, the same from
    /// every face.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(
            &mut out,
            crate::sanitize::SafeJsonPretty::default(),
        );
        Serialize::serialize(self, &mut ser).expect("a plan serialises");
        out.push(b'\n');
        out
    }

    /// Writes the plan next to `path`, then renames it: a plan file is
    /// either whole or absent. The error names `path`.
    pub fn write_atomic(&self, path: &Path) -> std::io::Result<()> {
        crate::files::write_atomic(path, &self.to_bytes(), false)
    }

    /// Keeps the plan in `dir` under a name of its content, for a run's
    /// journal to name: its path and SHA-256.
    pub fn store_in(&self, dir: &Path) -> std::io::Result<(std::path::PathBuf, String)> {
        let bytes = self.to_bytes();
        let sha = hex(&sha2::Sha256::digest(&bytes));
        let path = dir.join(format!("plan-{}.json", &sha[..16]));
        crate::files::create_private_dir(dir)?;
        crate::files::write_atomic(&path, &bytes, true)?;
        Ok((path, sha))
    }

    /// How many targets still need `GET /users/{upn}` before a run.
    pub fn lookups(&self) -> usize {
        self.targets.iter().filter(|t| t.user_id.is_none()).count()
    }
}
