//! The audit log query API's objects (DESIGN §9): what a query asks for,
//! where it stands, and what a fetch keeps on disk so that it can resume.
//!
//! Names are the v1.0 metadata's (`microsoft.graph.security.auditLogQuery`:
//! `displayName`, `filterStartDateTime`, `filterEndDateTime`,
//! `recordTypeFilters`, `operationFilters`, `userPrincipalNameFilters`,
//! `keywordFilter`, `status` of enum `auditLogQueryStatus`). The record
//! count properties (`isRecordCountLimitExceeded`, …) are newer than the
//! metadata and read only where present.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::cloud::ApiVersion;
use crate::ual::graph_page::Broken;

/// The delegated permission the audit log query API needs (besides an
/// audit role in Purview for the signed-in admin).
pub const AUDIT_PERMISSION: &str = "AuditLogsQuery.Read.All";
/// `auditLogRecordType` for Teams (25) in the v1.0 metadata.
pub const TEAMS_RECORD_TYPE: &str = "MicrosoftTeams";
/// How far back a fetch looks by default.
pub const DEFAULT_DAYS: i64 = 30;

/// What a query asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuerySpec {
    pub display_name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `auditLogRecordType` names.
    pub record_types: Vec<String>,
    pub operations: Vec<String>,
    pub users: Vec<String>,
    pub keyword: Option<String>,
}

impl QuerySpec {
    /// Teams records of the last `DEFAULT_DAYS` days, up to `now`.
    pub fn teams_since(start: DateTime<Utc>, now: DateTime<Utc>) -> QuerySpec {
        QuerySpec {
            display_name: format!("chatevict {}", now.format("%Y-%m-%d %H:%M UTC")),
            start,
            end: now,
            record_types: vec![TEAMS_RECORD_TYPE.to_owned()],
            operations: Vec::new(),
            users: Vec::new(),
            keyword: None,
        }
    }

    /// Checks what Graph would refuse, before asking it.
    pub fn check(&self) -> Result<(), String> {
        if self.start >= self.end {
            return Err(format!(
                "the period is empty: it starts {} and ends {}",
                fmt_time(&self.start),
                fmt_time(&self.end)
            ));
        }
        if let Some(t) = self.record_types.iter().find(|t| t.trim().is_empty()) {
            return Err(format!("{t:?} is not a record type"));
        }
        Ok(())
    }

    /// The body of `POST /security/auditLog/queries`.
    pub fn body(&self) -> Value {
        let mut b = json!({
            "@odata.type": "#microsoft.graph.security.auditLogQuery",
            "displayName": self.display_name,
            "filterStartDateTime": fmt_time(&self.start),
            "filterEndDateTime": fmt_time(&self.end),
        });
        if !self.record_types.is_empty() {
            b["recordTypeFilters"] = json!(self.record_types);
        }
        if !self.operations.is_empty() {
            b["operationFilters"] = json!(self.operations);
        }
        if !self.users.is_empty() {
            b["userPrincipalNameFilters"] = json!(self.users);
        }
        if let Some(k) = self.keyword.as_deref().filter(|k| !k.is_empty()) {
            b["keywordFilter"] = json!(k);
        }
        b
    }
}

/// `2026-11-02T09:15:04Z`.
pub fn fmt_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Whether the audit log query API exists in `cloud`: Microsoft offers
/// it in the global service only. `Err` says what to do instead.
pub fn check_cloud(cloud: super::cloud::Cloud) -> Result<(), String> {
    if cloud == super::cloud::Cloud::Global {
        return Ok(());
    }
    Err(format!(
        "the audit log query API is offered in the global service only, not in the {cloud} \
         cloud: search the audit log in the Purview portal there, export it, and open the file"
    ))
}

/// A point in time as an admin types it: a duration back from `now`
/// (`7d`, `36h`, `90m`, `2w`), a UTC date (`2026-11-01`, its midnight) or
/// a UTC date and time (`2026-11-01T08:00`, `…Z`, or with an offset).
pub fn parse_when(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "{t:?} is not a time: write a duration back from now (7d, 36h, 90m, 2w), \
             a UTC date (2026-11-01) or a UTC date and time (2026-11-01T08:00)"
        )
    };
    if let Some(unit) = t.chars().last().filter(char::is_ascii_alphabetic)
        && let Ok(n) = t[..t.len() - 1].parse::<i64>()
    {
        let secs = match unit.to_ascii_lowercase() {
            'w' => 7 * 86_400,
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            _ => return Err(bad()),
        };
        if !(0..=3_650 * 86_400).contains(&n.saturating_mul(secs)) {
            return Err(format!("{t:?} is too far back"));
        }
        return Ok(now - chrono::Duration::seconds(n * secs));
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t.trim_end_matches('Z'), f) {
            return Ok(d.and_utc());
        }
    }
    Err(bad())
}

/// `auditLogQueryStatus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryStatus {
    NotStarted,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    /// A value this build does not know (`unknownFutureValue`, …).
    Other(String),
}

impl QueryStatus {
    pub fn parse(s: &str) -> QueryStatus {
        match s {
            "notStarted" => QueryStatus::NotStarted,
            "running" => QueryStatus::Running,
            "succeeded" => QueryStatus::Succeeded,
            "failed" => QueryStatus::Failed,
            "cancelled" => QueryStatus::Cancelled,
            other => QueryStatus::Other(other.to_owned()),
        }
    }

    /// The service will not change it any more.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            QueryStatus::Succeeded | QueryStatus::Failed | QueryStatus::Cancelled
        )
    }
}

impl std::fmt::Display for QueryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            QueryStatus::NotStarted => "not started",
            QueryStatus::Running => "running",
            QueryStatus::Succeeded => "succeeded",
            QueryStatus::Failed => "failed",
            QueryStatus::Cancelled => "cancelled",
            QueryStatus::Other(s) => s,
        })
    }
}

/// A query as Graph describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryInfo {
    pub id: String,
    pub status: QueryStatus,
    /// `isRecordCountLimitExceeded`, where the service sends it.
    pub limit_exceeded: Option<bool>,
    /// `recordCountLimit`, where sent.
    pub record_limit: Option<u64>,
}

impl QueryInfo {
    pub fn parse(body: &[u8]) -> Result<QueryInfo, String> {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| format!("the query's description is not JSON: {e}"))?;
        let id = v
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or("the query's description has no id")?;
        if !is_safe_id(id) {
            return Err(format!(
                "the query id {:?} is not one this tool can keep",
                crate::sanitize::for_terminal(id)
            ));
        }
        Ok(QueryInfo {
            id: id.to_owned(),
            status: QueryStatus::parse(v.get("status").and_then(Value::as_str).unwrap_or("")),
            limit_exceeded: v.get("isRecordCountLimitExceeded").and_then(Value::as_bool),
            record_limit: v.get("recordCountLimit").and_then(Value::as_u64),
        })
    }
}

/// A query id goes into file names and URLs: letters, digits, `-`, `_`.
pub fn is_safe_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Where a fetch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Waiting for the service to finish the query.
    Polling,
    /// Reading the records, page by page.
    Reading,
    /// Every page read; the file is written.
    Done,
}

/// A broken record, and the page it was on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenRecord {
    pub page: u64,
    #[serde(flatten)]
    pub broken: Broken,
}

/// What a fetch keeps in the state directory after every step, so that
/// a resumed fetch goes on where the last one stopped: the records read
/// so far are in the spool beside it (one per line), `spool_len` bytes
/// of which are counted; anything after was written by a page whose step
/// did not finish, and is read again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchState {
    pub version: u32,
    pub query_id: String,
    pub api_version: ApiVersion,
    /// The Graph root the query lives in.
    pub graph_url: String,
    pub tenant_id: String,
    pub account: String,
    pub spec: QuerySpec,
    pub created: DateTime<Utc>,
    pub phase: Phase,
    /// The page to read next (`None` in `Reading`: the first).
    pub next_link: Option<String>,
    pub pages: u64,
    pub records: u64,
    pub spool_len: u64,
    pub broken: Vec<BrokenRecord>,
    pub limit_exceeded: Option<bool>,
    /// The file the records go to.
    pub output: PathBuf,
}

pub const FETCH_STATE_VERSION: u32 = 1;

/// The fetches' directory: `<state>/fetches`, private.
#[derive(Debug, Clone)]
pub struct FetchStore {
    dir: PathBuf,
}

impl FetchStore {
    pub fn new(dir: PathBuf) -> FetchStore {
        FetchStore { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn state_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// The records read so far, one per line.
    pub fn spool_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.records.ndjson"))
    }

    fn last_path(&self) -> PathBuf {
        self.dir.join("last")
    }

    /// Saves the state whole, and names it the last fetch.
    pub fn save(&self, s: &FetchState) -> std::io::Result<()> {
        crate::files::create_private_dir(&self.dir)?;
        let json = serde_json::to_vec_pretty(s).expect("a fetch state serialises");
        crate::files::write_atomic(&self.state_path(&s.query_id), &json, true)?;
        crate::files::write_atomic(&self.last_path(), s.query_id.as_bytes(), true)
    }

    /// The state of the fetch of query `id`, or of the last one.
    pub fn load(&self, id: Option<&str>) -> Result<FetchState, String> {
        let id = match id {
            Some(i) => i.trim().to_owned(),
            None => std::fs::read_to_string(self.last_path())
                .map(|s| s.trim().to_owned())
                .map_err(|_| format!("no fetch to resume in {}", self.dir.display()))?,
        };
        if !is_safe_id(&id) {
            return Err(format!(
                "{:?} is not a query id",
                crate::sanitize::for_terminal(&id)
            ));
        }
        let p = self.state_path(&id);
        let text = std::fs::read(&p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!(
                "no fetch of query {id} is kept here ({}); a query this tool did not start \
                 cannot be resumed",
                p.display()
            ),
            _ => format!("cannot read {}: {e}", p.display()),
        })?;
        let s: FetchState = serde_json::from_slice(&text)
            .map_err(|e| format!("{} is not a fetch state: {e}", p.display()))?;
        if s.version > FETCH_STATE_VERSION {
            return Err(format!(
                "{} was written by a newer chatevict (version {})",
                p.display(),
                s.version
            ));
        }
        Ok(s)
    }

    /// Forgets a finished fetch (its state and spool).
    pub fn forget(&self, id: &str) {
        let _ = std::fs::remove_file(self.spool_path(id));
        let _ = std::fs::remove_file(self.state_path(id));
        if std::fs::read_to_string(self.last_path()).is_ok_and(|l| l.trim() == id) {
            let _ = std::fs::remove_file(self.last_path());
        }
    }
}

/// `p`, or `p` with `-2`, `-3`… before its extension when `p` exists: a
/// default name never replaces a file.
pub fn unused_name(p: PathBuf) -> PathBuf {
    if !p.exists() {
        return p;
    }
    let stem = p
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let ext = p
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    (2..)
        .map(|n| p.with_file_name(format!("{stem}-{n}{ext}")))
        .find(|c| !c.exists())
        .expect("a free name")
}

/// The default file name of a fetch: `audit-<tenant>-<start>-<end>.json`.
pub fn default_output(tenant: &str, spec: &QuerySpec) -> PathBuf {
    let t: String = tenant
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .take(64)
        .collect();
    PathBuf::from(format!(
        "audit-{}-{}-{}.json",
        if t.is_empty() { "tenant" } else { &t },
        spec.start.format("%Y%m%dT%H%M"),
        spec.end.format("%Y%m%dT%H%M")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-12-03T14:00:00Z".parse().unwrap()
    }

    #[test]
    fn times_are_durations_dates_or_date_times_in_utc() {
        assert_eq!(
            parse_when("7d", now()).unwrap(),
            now() - chrono::Duration::days(7)
        );
        assert_eq!(
            parse_when("2w", now()).unwrap(),
            now() - chrono::Duration::days(14)
        );
        assert_eq!(
            parse_when("36h", now()).unwrap(),
            now() - chrono::Duration::hours(36)
        );
        assert_eq!(
            parse_when("2026-11-01", now()).unwrap(),
            "2026-11-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        for t in [
            "2026-11-01T08:30",
            "2026-11-01T08:30:00Z",
            "2026-11-01T09:30:00+01:00",
        ] {
            assert_eq!(
                parse_when(t, now()).unwrap(),
                "2026-11-01T08:30:00Z".parse::<DateTime<Utc>>().unwrap(),
                "{t}"
            );
        }
        for bad in ["", "7", "7y", "yesterday", "-3d", "99999999d", "2026-13-01"] {
            assert!(parse_when(bad, now()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_body_names_what_the_metadata_names_and_only_what_is_asked() {
        let mut s = QuerySpec::teams_since(now() - chrono::Duration::days(30), now());
        let b = s.body();
        assert_eq!(b["filterStartDateTime"], "2026-11-03T14:00:00Z");
        assert_eq!(b["filterEndDateTime"], "2026-12-03T14:00:00Z");
        assert_eq!(b["recordTypeFilters"], json!(["MicrosoftTeams"]));
        assert!(b.get("operationFilters").is_none());
        assert!(b.get("keywordFilter").is_none());
        s.operations = vec!["MemberAdded".into()];
        s.users = vec!["a@contoso.com".into()];
        s.keyword = Some("fabrikam".into());
        let b = s.body();
        assert_eq!(b["operationFilters"], json!(["MemberAdded"]));
        assert_eq!(b["userPrincipalNameFilters"], json!(["a@contoso.com"]));
        assert_eq!(b["keywordFilter"], "fabrikam");
        s.end = s.start;
        assert!(s.check().is_err());
    }

    #[test]
    fn a_query_description_is_read_and_its_id_must_be_safe_for_a_file_name() {
        let q = QueryInfo::parse(
            br#"{"id":"168ec429-084b-a489-90d8-504a87846305","status":"succeeded","isRecordCountLimitExceeded":true}"#,
        )
        .unwrap();
        assert_eq!(q.status, QueryStatus::Succeeded);
        assert_eq!(q.limit_exceeded, Some(true));
        assert_eq!(
            QueryInfo::parse(br#"{"id":"x","status":"unknownFutureValue"}"#)
                .unwrap()
                .status,
            QueryStatus::Other("unknownFutureValue".into())
        );
        assert!(QueryInfo::parse(br#"{"id":"../../etc/passwd","status":"running"}"#).is_err());
        assert!(QueryInfo::parse(br#"{"status":"running"}"#).is_err());
    }
}
