//! Records grouped into chats, and who in the home tenant each chat
//! reaches (DESIGN.md section 4).
//!
//! - A *chat record* is a Teams record with a `ChatThreadId` that is no
//!   team channel (`CommunicationType` `Team`, or a `@thread.tacv2` /
//!   `@thread.skype` thread).
//! - The *home tenant* of a chat is the `OrganizationId` of its records.
//! - A chat is *external* when any record of it shows another tenant.
//! - A *home user* is a `Members[]` entry of the home tenant; or, on a
//!   `MemberAdded` whose members carry no `OrganizationId`, the record's
//!   `UserId` when it is among the members (Microsoft's documented
//!   procedure); or the actor of a record of the chat logged in the home
//!   tenant (a user who wrote in the chat is reached by it, even when the
//!   export no longer holds the event that added them).
//! - A home user's object id comes from `UserKey` on any record whose
//!   `UserId` is that user; else from a 1:1 chat id
//!   `19:{oid}_{oid}@unq.gbl.spaces` whose other half is known to be
//!   someone else; else it must be looked up before a run.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::external::{has_guests, is_external, is_guest_upn};
use super::query::Initiated;
use crate::ual::{Dataset, Record, Sym};

/// No chat: `record_chat` value of records that belong to none.
const NONE: u32 = u32::MAX;

/// How a home user was found in a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FoundBy {
    /// A `Members[]` entry whose `OrganizationId` is the home tenant.
    Member,
    /// The `UserId` of a `MemberAdded` whose members have no tenant.
    MemberAdded,
    /// The actor of a record of the chat, logged in the home tenant.
    Actor,
}

/// Where a home user's object id came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdSource {
    /// `UserKey` of a record whose `UserId` is the user.
    UserKey,
    /// The other half of a 1:1 chat id is known to be someone else.
    ChatId,
    /// Unknown: `GET /users/{upn}` before the run.
    Lookup,
}

impl IdSource {
    pub fn name(self) -> &'static str {
        match self {
            IdSource::UserKey => "user_key",
            IdSource::ChatId => "chat_id",
            IdSource::Lookup => "lookup",
        }
    }
}

impl FoundBy {
    pub fn name(self) -> &'static str {
        match self {
            FoundBy::Member => "member",
            FoundBy::MemberAdded => "member_added",
            FoundBy::Actor => "actor",
        }
    }
}

/// A user of the home tenant whom a chat reaches.
#[derive(Debug, Clone)]
pub struct HomeUser {
    /// The UPN as first seen (compared case-insensitively).
    pub upn: Sym,
    pub display_name: Option<Sym>,
    /// The Entra object id, when the records give it.
    pub object_id: Option<String>,
    pub id_source: IdSource,
    pub found_by: FoundBy,
    pub guest: bool,
    /// The records that show the user in the chat, in file order.
    pub evidence: Vec<u32>,
}

/// One chat, as its records show it.
#[derive(Debug, Clone)]
pub struct Chat {
    pub id: Sym,
    /// The latest non-empty `ChatName`.
    pub name: Option<Sym>,
    pub communication_type: Option<Sym>,
    pub home_tenant: Option<Sym>,
    pub external: bool,
    pub guests: bool,
    pub initiated: Initiated,
    /// Other tenants seen, lowercase, sorted.
    pub external_tenants: Vec<String>,
    /// Their domains, lowercase, sorted.
    pub external_domains: Vec<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Record indices, in file order.
    pub records: Vec<u32>,
    /// Sorted by UPN.
    pub home_users: Vec<HomeUser>,
}

/// Every chat of a dataset.
#[derive(Debug, Default)]
pub struct Chats {
    pub list: Vec<Chat>,
    by_id: HashMap<Sym, u32>,
    /// For each record, the index of its chat or [`NONE`].
    record_chat: Vec<u32>,
}

impl Chats {
    /// The chat a record belongs to.
    pub fn of_record(&self, record: usize) -> Option<&Chat> {
        self.chat_index(record).map(|i| &self.list[i])
    }

    pub fn chat_index(&self, record: usize) -> Option<usize> {
        match self.record_chat.get(record) {
            Some(&NONE) | None => None,
            Some(&i) => Some(i as usize),
        }
    }

    pub fn by_id(&self, id: Sym) -> Option<&Chat> {
        self.by_id.get(&id).map(|&i| &self.list[i as usize])
    }

    pub fn external(&self) -> impl Iterator<Item = &Chat> {
        self.list.iter().filter(|c| c.external)
    }

    /// Removal targets: one per home user of every external chat.
    pub fn targets(&self) -> usize {
        self.external().map(|c| c.home_users.len()).sum()
    }
}

fn eq_ci(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Whether text is a GUID (any case), as object and tenant ids are.
pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Team channels are never chats.
fn is_channel(ds: &Dataset, r: &Record) -> bool {
    let Some(c) = r.chat.as_deref() else {
        return false;
    };
    if c.communication_type
        .is_some_and(|t| eq_ci(ds.str(t), "Team"))
    {
        return true;
    }
    let id = ds.opt(c.chat_id).to_ascii_lowercase();
    id.ends_with("@thread.tacv2") || id.ends_with("@thread.skype")
}

fn is_chat_record(ds: &Dataset, r: &Record) -> Option<Sym> {
    let teams = r.is_teams()
        || r.workload
            .is_some_and(|w| eq_ci(ds.str(w), "MicrosoftTeams"));
    let id = r.chat.as_deref()?.chat_id?;
    (teams && !ds.str(id).trim().is_empty() && !is_channel(ds, r)).then_some(id)
}

/// `UserId` → object id, from every record whose `UserKey` is a GUID.
struct Directory {
    by_upn: HashMap<String, String>,
    by_id: HashMap<String, String>,
    /// Display names from any `Members[]` entry, by lowercase UPN.
    names: HashMap<String, Sym>,
}

impl Directory {
    fn build(ds: &Dataset) -> Directory {
        let mut keys: HashMap<(Sym, Sym), ()> = HashMap::new();
        for r in &ds.records {
            if let (Some(u), Some(k)) = (r.user_id, r.user_key) {
                keys.entry((u, k)).or_default();
            }
        }
        let mut names = HashMap::new();
        for c in ds.records.iter().filter_map(|r| r.chat.as_deref()) {
            for m in c.members.iter() {
                if let (Some(u), Some(n)) = (m.upn, m.display_name)
                    && !ds.str(n).trim().is_empty()
                {
                    names.entry(ds.str(u).trim().to_lowercase()).or_insert(n);
                }
            }
        }
        let mut by_upn = HashMap::new();
        let mut by_id = HashMap::new();
        for (u, k) in keys.into_keys() {
            let (upn, key) = (ds.str(u), ds.str(k));
            if upn.contains('@') && is_guid(key) {
                let upn = upn.trim().to_lowercase();
                let key = key.to_ascii_lowercase();
                by_id.entry(key.clone()).or_insert_with(|| upn.clone());
                by_upn.entry(upn).or_insert(key);
            }
        }
        Directory {
            by_upn,
            by_id,
            names,
        }
    }
}

/// The two object ids of a 1:1 chat id `19:{a}_{b}@unq.gbl.spaces`.
fn one_on_one_halves(chat_id: &str) -> Option<(String, String)> {
    let inner = chat_id.strip_prefix("19:")?;
    let (pair, suffix) = inner.split_once('@')?;
    if !suffix.eq_ignore_ascii_case("unq.gbl.spaces") {
        return None;
    }
    let (a, b) = pair.split_once('_')?;
    (is_guid(a) && is_guid(b)).then(|| (a.to_ascii_lowercase(), b.to_ascii_lowercase()))
}

/// Groups the records of `ds` into chats.
pub fn build(ds: &Dataset) -> Chats {
    let mut chats = Chats {
        record_chat: vec![NONE; ds.records.len()],
        ..Chats::default()
    };
    let mut members: Vec<Vec<u32>> = Vec::new();
    for (i, r) in ds.records.iter().enumerate() {
        let Some(id) = is_chat_record(ds, r) else {
            continue;
        };
        let next = chats.by_id.len() as u32;
        let c = *chats.by_id.entry(id).or_insert(next);
        if c == next {
            members.push(Vec::new());
        }
        members[c as usize].push(i as u32);
        chats.record_chat[i] = c;
    }
    let dir = Directory::build(ds);
    let mut order: Vec<(Sym, u32)> = chats.by_id.iter().map(|(&s, &i)| (s, i)).collect();
    order.sort_by_key(|&(_, i)| i);
    chats.list = order
        .into_iter()
        .map(|(id, c)| describe(ds, &dir, id, std::mem::take(&mut members[c as usize])))
        .collect();
    chats
}

/// The most frequent value (the first seen among equals).
fn most_common(values: impl Iterator<Item = Sym>) -> Option<Sym> {
    let mut counts: Vec<(Sym, usize)> = Vec::new();
    for v in values {
        match counts.iter_mut().find(|(s, _)| *s == v) {
            Some((_, n)) => *n += 1,
            None => counts.push((v, 1)),
        }
    }
    let best = counts.iter().map(|(_, n)| *n).max()?;
    counts.into_iter().find(|(_, n)| *n == best).map(|(s, _)| s)
}

fn chat(r: &Record) -> &crate::ual::ChatFields {
    r.chat.as_deref().expect("chat records have chat fields")
}

fn describe(ds: &Dataset, dir: &Directory, id: Sym, records: Vec<u32>) -> Chat {
    let recs = || records.iter().map(|&i| &ds.records[i as usize]);
    let home_tenant = most_common(recs().filter_map(|r| r.organization_id));
    let home = ds.opt(home_tenant).trim().to_ascii_lowercase();
    let is_home = |t: &str| !home.is_empty() && eq_ci(t, &home);

    let mut external = false;
    let mut guests = false;
    let mut tenants: Vec<String> = Vec::new();
    let mut domains: Vec<String> = Vec::new();
    let mut resource_home = false;
    let mut resource_other = false;
    let mut created_by: Option<bool> = None; // Some(true): by an outsider
    let mut name = None;
    let mut communication_type = None;
    let mut first_seen = None::<DateTime<Utc>>;
    let mut last_seen = None::<DateTime<Utc>>;
    for r in recs() {
        let c = chat(r);
        external |= is_external(ds, r);
        guests |= has_guests(ds, r);
        first_seen = Some(first_seen.map_or(r.time, |t| t.min(r.time)));
        if last_seen.is_none_or(|t| r.time >= t) {
            last_seen = Some(r.time);
            if let Some(n) = c.chat_name.filter(|&n| !ds.str(n).trim().is_empty()) {
                name = Some(n);
            }
        }
        if name.is_none() {
            name = c.chat_name.filter(|&n| !ds.str(n).trim().is_empty());
        }
        communication_type = communication_type.or(c.communication_type);
        let mut other_tenant = |t: &str| {
            if !t.trim().is_empty() && !is_home(t) {
                let t = t.trim().to_ascii_lowercase();
                if !tenants.contains(&t) {
                    tenants.push(t);
                }
            }
        };
        if let Some(t) = c.resource_tenant_id {
            let t = ds.str(t);
            if is_home(t) {
                resource_home = true;
            } else if !t.trim().is_empty() {
                resource_other = true;
                other_tenant(t);
            }
        }
        let mut add_domain = |d: &str| {
            let d = d.trim().to_ascii_lowercase();
            if !d.is_empty() && !domains.contains(&d) {
                domains.push(d);
            }
        };
        if let Some(p) = &c.participants {
            for &t in p.participating_tenant_ids.iter() {
                other_tenant(ds.str(t));
            }
            for d in p.participating_sip_domains.iter() {
                if let Some(t) = d.tenant_id.map(|t| ds.str(t))
                    && !is_home(t)
                {
                    other_tenant(t);
                    add_domain(ds.opt(d.domain));
                }
            }
        }
        for m in c.members.iter() {
            if let Some(t) = m.organization_id.map(|t| ds.str(t))
                && !is_home(t)
            {
                other_tenant(t);
                if let Some((_, d)) = ds.opt(m.upn).rsplit_once('@') {
                    add_domain(d);
                }
            }
        }
        if ds.str(r.operation).eq_ignore_ascii_case("ChatCreated") {
            let actor = ds.opt(r.user_id);
            let member_tenant = c
                .members
                .iter()
                .find(|m| eq_ci(ds.opt(m.upn), actor))
                .and_then(|m| m.organization_id)
                .map(|t| ds.str(t));
            let by_outsider = match member_tenant {
                Some(t) => !is_home(t),
                None => !home.is_empty() && !eq_ci(ds.opt(r.organization_id), &home),
            };
            created_by = Some(created_by.unwrap_or(false) || by_outsider);
        }
    }
    tenants.sort();
    // ParticipatingDomains lists the home domain too: keep only the domains
    // of other tenants found above, plus any participating domain no home
    // user has.
    let home_users = home_users(ds, dir, id, &records, &home);
    let home_domains: Vec<String> = home_users
        .iter()
        .filter_map(|u| {
            ds.str(u.upn)
                .rsplit_once('@')
                .map(|(_, d)| d.to_ascii_lowercase())
        })
        .collect();
    if external {
        for r in recs() {
            if let Some(p) = &chat(r).participants {
                for &d in p.participating_domains.iter() {
                    let d = ds.str(d).trim().to_ascii_lowercase();
                    if !d.is_empty()
                        && !home_domains.contains(&d)
                        && !d.ends_with(".onmicrosoft.com")
                        && !domains.contains(&d)
                    {
                        domains.push(d);
                    }
                }
            }
        }
    }
    domains.sort();
    let initiated = if resource_other || created_by == Some(true) {
        Initiated::External
    } else if resource_home || created_by == Some(false) {
        Initiated::Internal
    } else {
        Initiated::Unknown
    };
    let some_time = ds.records[records[0] as usize].time;
    Chat {
        id,
        name,
        communication_type,
        home_tenant,
        external,
        guests,
        initiated,
        external_tenants: tenants,
        external_domains: domains,
        first_seen: first_seen.unwrap_or(some_time),
        last_seen: last_seen.unwrap_or(some_time),
        records,
        home_users,
    }
}

fn home_users(
    ds: &Dataset,
    dir: &Directory,
    id: Sym,
    records: &[u32],
    home: &str,
) -> Vec<HomeUser> {
    let is_home = |t: Option<Sym>| t.is_some_and(|t| !home.is_empty() && eq_ci(ds.str(t), home));
    let mut users: Vec<HomeUser> = Vec::new();
    // Every membership record is evidence, but of a user's many messages
    // in a chat only the first: the plan stays readable.
    let mut acted: Vec<Sym> = Vec::new();
    let mut found = |upn: Sym, name: Option<Sym>, by: FoundBy, rec: u32| {
        let text = ds.str(upn).trim();
        if !text.contains('@') {
            return;
        }
        match users.iter_mut().find(|u| eq_ci(ds.str(u.upn), text)) {
            Some(u) => {
                if u.display_name.is_none() {
                    u.display_name = name;
                }
                u.found_by = u.found_by.min(by);
                let first_act = by == FoundBy::Actor && !acted.contains(&u.upn);
                if (by != FoundBy::Actor || first_act) && u.evidence.last() != Some(&rec) {
                    u.evidence.push(rec);
                }
                if first_act {
                    acted.push(u.upn);
                }
            }
            None => {
                if by == FoundBy::Actor {
                    acted.push(upn);
                }
                users.push(HomeUser {
                    upn,
                    display_name: name,
                    object_id: None,
                    id_source: IdSource::Lookup,
                    found_by: by,
                    guest: is_guest_upn(text),
                    evidence: vec![rec],
                })
            }
        }
    };
    for &i in records {
        let r = &ds.records[i as usize];
        let c = chat(r);
        if !is_home(r.organization_id) {
            continue;
        }
        let mut foreign_actor = false;
        for m in c.members.iter() {
            if let Some(upn) = m.upn {
                if is_home(m.organization_id) {
                    found(upn, m.display_name, FoundBy::Member, i);
                } else if m.organization_id.is_some() && eq_ci(ds.str(upn), ds.opt(r.user_id)) {
                    foreign_actor = true;
                }
            }
        }
        let Some(actor) = r.user_id else { continue };
        let actor_text = ds.str(actor);
        let among_members = c.members.iter().find(|m| eq_ci(ds.opt(m.upn), actor_text));
        let no_tenants = c.members.iter().all(|m| m.organization_id.is_none());
        if ds.str(r.operation).eq_ignore_ascii_case("MemberAdded")
            && no_tenants
            && let Some(m) = among_members
        {
            found(actor, m.display_name, FoundBy::MemberAdded, i);
        } else if !foreign_actor && r.user_key.is_some_and(|k| is_guid(ds.str(k))) {
            // An Entra user acting in the chat, logged in the home tenant.
            found(
                actor,
                among_members.and_then(|m| m.display_name),
                FoundBy::Actor,
                i,
            );
        }
    }
    for u in &mut users {
        let upn = ds.str(u.upn).trim().to_lowercase();
        if u.display_name.is_none() {
            u.display_name = dir.names.get(&upn).copied();
        }
        if let Some(oid) = dir.by_upn.get(&upn) {
            u.object_id = Some(oid.clone());
            u.id_source = IdSource::UserKey;
        } else if let Some((a, b)) = one_on_one_halves(ds.str(id)) {
            let someone_else = |h: &str| dir.by_id.get(h).is_some_and(|owner| *owner != upn);
            let mine = match (someone_else(&a), someone_else(&b)) {
                (true, false) if !dir.by_id.contains_key(&b) => Some(b),
                (false, true) if !dir.by_id.contains_key(&a) => Some(a),
                _ => None,
            };
            if let Some(oid) = mine {
                u.object_id = Some(oid);
                u.id_source = IdSource::ChatId;
            }
        }
    }
    users.sort_by_key(|u| ds.str(u.upn).to_lowercase());
    users
}
