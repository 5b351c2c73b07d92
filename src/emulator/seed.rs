//! What the emulator's tenant holds: users and chats, taken from audit
//! exports so that a plan made from the same exports finds everything it
//! names.
//!
//! The ids are the ones the exports give (object ids from `UserKey` or a
//! one-on-one chat id); a user the exports name only by UPN gets an id
//! derived from the UPN, the same on every start, which the plan learns by
//! `GET /users/{upn}` as it would from a real tenant.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use sha2::Digest;

use crate::triage::index::Index;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::ual::{self, Dataset, LoadOptions, Progress, Record};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    /// Lowercase; the first is the primary one.
    pub domains: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub tenant_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: String,
    pub upn: String,
    pub display_name: String,
    pub tenant_id: String,
    pub owner: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    pub id: String,
    pub topic: Option<String>,
    /// Graph's `chatType`: `oneOnOne`, `group` or `meeting`.
    pub chat_type: String,
    pub tenant_id: String,
    pub created: String,
    pub members: Vec<Member>,
}

/// The emulator's directory at start.
#[derive(Debug, Clone, Default)]
pub struct Seed {
    /// The first tenant is the one `organizations` signs in to.
    pub tenants: Vec<Tenant>,
    pub users: Vec<User>,
    pub chats: Vec<Chat>,
    /// Every record of the exports, as the tenant's audit log.
    pub audit_log: Vec<LogRecord>,
}

/// A stable GUID for a name the exports give no id for.
pub fn derived_id(kind: &str, name: &str) -> String {
    let h = sha2::Sha256::digest(format!("chatevict-emulator/{kind}/{}", name.to_lowercase()));
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    uuid::Builder::from_random_bytes(b).into_uuid().to_string()
}

fn is_guid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

impl Seed {
    /// A tenant with its admin and nothing else, for sign-in alone.
    pub fn empty() -> Seed {
        let mut s = Seed::default();
        s.tenant_mut("contoso.onmicrosoft.com");
        s.add_admins();
        s
    }

    /// The tenants, users and chats of audit exports.
    pub fn from_exports(paths: &[PathBuf]) -> Result<Seed, String> {
        let ds = ual::load(paths, &LoadOptions::default(), &Progress::default())
            .map_err(|e| e.to_string())?;
        if let Some(f) = ds.failures.first() {
            return Err(format!("{}: {}", f.path.display(), f.message));
        }
        if ds.records.is_empty() {
            return Err("the exports hold no records".into());
        }
        let ix = Index::build(&ds);
        Ok(Seed::from_dataset(&ds, &ix))
    }

    pub fn from_dataset(ds: &Dataset, ix: &Index) -> Seed {
        let mut seed = Seed {
            audit_log: ds
                .records
                .iter()
                .filter_map(|r| log_record(ds, r))
                .collect(),
            ..Seed::default()
        };
        // Tenants by how many chats they are home to, most first.
        let mut homes: BTreeMap<String, usize> = BTreeMap::new();
        for c in &ix.chats.list {
            let t = ds.opt(c.home_tenant).trim().to_ascii_lowercase();
            if is_guid(&t) {
                *homes.entry(t).or_default() += 1;
            }
        }
        let mut order: Vec<(String, usize)> = homes.into_iter().collect();
        order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (t, _) in &order {
            seed.tenants.push(Tenant {
                id: t.clone(),
                domains: Vec::new(),
            });
        }
        let mut users: HashMap<String, User> = HashMap::new();
        for c in &ix.chats.list {
            let tenant = ds.opt(c.home_tenant).trim().to_ascii_lowercase();
            if !is_guid(&tenant) {
                continue;
            }
            let chat_id = ds.str(c.id).trim().to_owned();
            let mut members: Vec<Member> = Vec::new();
            for u in ix.chats.home_users(ds, c).iter() {
                let upn = ds.str(u.upn).trim().to_owned();
                let id = u
                    .object_id
                    .map(|o| o.to_string())
                    .unwrap_or_else(|| derived_id("user", &upn));
                let display_name = u
                    .display_name
                    .map(|n| ds.str(n).to_owned())
                    .unwrap_or_else(|| upn.split('@').next().unwrap_or(&upn).to_owned());
                let user = users.entry(upn.to_lowercase()).or_insert_with(|| User {
                    id: id.clone(),
                    upn: upn.clone(),
                    display_name: display_name.clone(),
                    tenant_id: tenant.clone(),
                });
                members.push(Member {
                    user_id: user.id.clone(),
                    upn: user.upn.clone(),
                    display_name: user.display_name.clone(),
                    tenant_id: tenant.clone(),
                    owner: false,
                });
            }
            // The people from outside, as the records list them.
            for &r in ix.chats.records(c) {
                let Some(cf) = ds.records[r as usize].chat.as_deref() else {
                    continue;
                };
                for m in cf.members.iter() {
                    let upn = ds.opt(m.upn).trim();
                    let org = ds.opt(m.organization_id).trim().to_ascii_lowercase();
                    if upn.is_empty()
                        || org == tenant
                        || members.iter().any(|x| x.upn.eq_ignore_ascii_case(upn))
                    {
                        continue;
                    }
                    members.push(Member {
                        user_id: derived_id("external", upn),
                        upn: upn.to_owned(),
                        display_name: m
                            .display_name
                            .map(|n| ds.str(n).to_owned())
                            .unwrap_or_else(|| upn.to_owned()),
                        tenant_id: if org.is_empty() {
                            derived_id("tenant", upn.rsplit('@').next().unwrap_or(""))
                        } else {
                            org
                        },
                        owner: false,
                    });
                }
            }
            if let Some(first) = members.first_mut() {
                first.owner = true;
            }
            let comm = ds.opt(c.communication_type).to_ascii_lowercase();
            let chat_type = if comm.contains("oneonone") {
                "oneOnOne"
            } else if chat_id.contains("meeting_") {
                "meeting"
            } else {
                "group"
            };
            seed.chats.push(Chat {
                id: chat_id,
                topic: c.name.map(|n| ds.str(n).to_owned()),
                chat_type: chat_type.to_owned(),
                tenant_id: tenant,
                created: crate::ual::time::format_rfc3339(&c.first_seen),
                members,
            });
        }
        let mut users: Vec<User> = users.into_values().collect();
        users.sort_by(|a, b| a.upn.cmp(&b.upn));
        for u in &users {
            if u.upn.contains("#EXT#") {
                continue;
            }
            if let Some(d) = u.upn.rsplit('@').next() {
                let d = d.to_ascii_lowercase();
                if let Some(t) = seed.tenants.iter_mut().find(|t| t.id == u.tenant_id)
                    && !t.domains.contains(&d)
                {
                    t.domains.push(d);
                }
            }
        }
        seed.users = users;
        if seed.tenants.is_empty() {
            seed.tenant_mut("contoso.onmicrosoft.com");
        }
        for t in &mut seed.tenants {
            if t.domains.is_empty() {
                t.domains
                    .push(format!("tenant-{}.onmicrosoft.com", &t.id[..8]));
            }
        }
        seed.add_admins();
        seed
    }

    fn tenant_mut(&mut self, domain: &str) {
        self.tenants.push(Tenant {
            id: derived_id("tenant", domain),
            domains: vec![domain.to_owned()],
        });
    }

    /// Each tenant's administrator, who signs in.
    fn add_admins(&mut self) {
        for t in &self.tenants {
            let upn = format!("admin@{}", t.domains[0]);
            if self.users.iter().any(|u| u.upn.eq_ignore_ascii_case(&upn)) {
                continue;
            }
            self.users.push(User {
                id: derived_id("user", &upn),
                upn,
                display_name: "Emulated Admin".into(),
                tenant_id: t.id.clone(),
            });
        }
    }
}

/// One record of the tenant's audit log, in Graph's shape.
#[derive(Debug, Clone)]
pub struct LogRecord {
    pub created: DateTime<Utc>,
    pub record_type: String,
    pub operation: String,
    pub upn: String,
    /// The record as `/records` returns it.
    pub json: Value,
    /// Its audit data's text, lowercase, for `keywordFilter`.
    pub text: String,
}

/// `auditLogUserType` names by number.
const USER_TYPES: [&str; 11] = [
    "Regular",
    "Reserved",
    "Admin",
    "DcAdmin",
    "System",
    "Application",
    "ServicePrincipal",
    "CustomPolicy",
    "SystemPolicy",
    "PartnerTechnician",
    "Guest",
];

/// The record as Graph's `auditLogRecord`; `None` when its audit data
/// cannot be read again.
pub fn log_record(ds: &Dataset, r: &Record) -> Option<LogRecord> {
    let raw = ds.raw_audit_data(r).ok()?;
    let mut data: Value = serde_json::from_str(&raw).ok()?;
    if let Some(o) = data.as_object_mut() {
        o.insert(
            "@odata.type".into(),
            json!("#microsoft.graph.security.defaultAuditData"),
        );
    }
    let record_type = r
        .record_type
        .and_then(crate::ual::record_type::name)
        .map(str::to_owned)
        .or_else(|| r.record_type_name.map(|n| ds.str(n).to_owned()))
        .unwrap_or_default();
    let created = crate::ual::time::format_rfc3339(&r.time);
    let opt = |s| Some(ds.opt(s).to_owned()).filter(|s: &String| !s.is_empty());
    let json = json!({
        "@odata.type": "#microsoft.graph.security.auditLogRecord",
        "id": r.id.to_string(),
        "createdDateTime": created,
        "auditLogRecordType": record_type,
        "operation": ds.str(r.operation),
        "organizationId": opt(r.organization_id),
        "userType": r.user_type.and_then(|t| USER_TYPES.get(t as usize).copied()),
        "userId": opt(r.user_key),
        "service": opt(r.workload),
        "objectId": opt(r.object),
        "userPrincipalName": opt(r.user_id),
        "clientIp": Some(ds.client_ip(r).to_string()).filter(|s| !s.is_empty()),
        "administrativeUnits": [],
        "auditData": data,
    });
    Some(LogRecord {
        created: r.time,
        record_type,
        operation: ds.str(r.operation).to_owned(),
        upn: ds.opt(r.user_id).to_owned(),
        text: raw.to_lowercase(),
        json,
    })
}
