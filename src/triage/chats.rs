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
//! - **Never** a home user: anyone whom any record lists a member of
//!   another tenant, or whose UPN domain is one of the chat's external
//!   domains (an outsider's own acts can be logged in the home tenant).
//! - A home user's object id comes from `UserKey` on any record whose
//!   `UserId` is that user; else from a 1:1 chat id
//!   `19:{oid}_{oid}@unq.gbl.spaces` whose other half is known to be
//!   someone else; else it must be looked up before a run.

use hashbrown::HashMap;

use chrono::{DateTime, Utc};

use super::external::{has_guests, is_external, is_guest_upn};
use super::query::Initiated;
use super::reasons::{Reason, ReasonKind, Reasons};
use crate::ual::{Dataset, Record, Sym, guid_text, parse_guid_any_case};

/// Record indices; one or two for nearly every home user.
pub type Evidence = smallvec::SmallVec<[u32; 2]>;

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
    pub object_id: Option<ObjectId>,
    pub id_source: IdSource,
    pub found_by: FoundBy,
    pub guest: bool,
    /// The records that show the user in the chat, in file order.
    pub evidence: Evidence,
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
    /// What only external chats have (most chats are internal: keeping it
    /// out of line halves the size of a chat).
    outside: Option<Box<Outside>>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Where the chat's record indices are in [`Chats::records`].
    records: std::ops::Range<u32>,
}

/// The other side of an external chat, and whom in the home tenant it
/// reaches.
#[derive(Debug, Clone, Default)]
struct Outside {
    /// Other tenants seen, lowercase, sorted.
    tenants: Vec<String>,
    /// Their domains, lowercase, sorted.
    domains: Vec<String>,
    /// Sorted by UPN.
    home_users: Vec<HomeUser>,
    /// Why the chat is external, how it started, who is no target.
    reasons: Vec<Reason>,
}

impl Chat {
    /// Other tenants seen (external chats), lowercase, sorted.
    pub fn external_tenants(&self) -> &[String] {
        self.outside.as_ref().map_or(&[], |o| &o.tenants)
    }

    /// Their domains, lowercase, sorted.
    pub fn external_domains(&self) -> &[String] {
        self.outside.as_ref().map_or(&[], |o| &o.domains)
    }

    /// Why the chat is external, why it counts as started where it does,
    /// and who was seen in it but is no target (external chats only).
    pub fn reasons(&self) -> &[Reason] {
        self.outside.as_ref().map_or(&[], |o| &o.reasons)
    }

    /// The home users of an external chat, sorted by UPN (the targets);
    /// empty for other chats, whose home users [`Chats::home_users`] finds
    /// on demand.
    pub fn targets(&self) -> &[HomeUser] {
        self.outside.as_ref().map_or(&[], |o| &o.home_users)
    }

    /// How many records the chat has.
    pub fn record_count(&self) -> usize {
        (self.records.end - self.records.start) as usize
    }
}

/// Every chat of a dataset.
#[derive(Debug, Default)]
pub struct Chats {
    pub list: Vec<Chat>,
    /// Chat index by the chat id's handle ([`NONE`]: no chat).
    by_id: Vec<u32>,
    /// For each record, the index of its chat or [`NONE`].
    record_chat: Vec<u32>,
    /// The record indices of every chat, chat after chat.
    record_list: Vec<u32>,
    directory: Directory,
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
        self.by_id
            .get(id.index())
            .and_then(|&i| self.list.get(i as usize))
    }

    /// The chat's record indices, in file order.
    pub fn records(&self, c: &Chat) -> &[u32] {
        &self.record_list[c.records.start as usize..c.records.end as usize]
    }

    /// The chat's home users, sorted by UPN.
    pub fn home_users<'a>(&'a self, ds: &Dataset, c: &'a Chat) -> std::borrow::Cow<'a, [HomeUser]> {
        if c.external {
            std::borrow::Cow::Borrowed(c.targets())
        } else {
            std::borrow::Cow::Owned(home_users(
                ds,
                &self.directory,
                c.id,
                self.records(c),
                c.home_tenant,
            ))
        }
    }

    pub fn external(&self) -> impl Iterator<Item = &Chat> {
        self.list.iter().filter(|c| c.external)
    }

    /// Removal targets: one per home user of every external chat.
    pub fn targets(&self) -> usize {
        self.external().map(|c| c.targets().len()).sum()
    }
}

/// Tenant ids and UPNs compare case-insensitively; one handle is one text.
/// (Interned values are trimmed and never empty: the loader sees to it.)
fn same(ds: &Dataset, a: Sym, b: Sym) -> bool {
    a == b || ds.str(a).eq_ignore_ascii_case(ds.str(b))
}

fn same_opt(ds: &Dataset, a: Option<Sym>, b: Option<Sym>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if same(ds, a, b))
}

fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn ends_with_ci(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.as_bytes()[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// An Entra object id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectId(pub [u8; 16]);

impl ObjectId {
    pub fn parse(s: &str) -> Option<ObjectId> {
        parse_guid_any_case(s.trim()).map(ObjectId)
    }
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&guid_text(&self.0))
    }
}

/// Whether text is a GUID (any case), as object and tenant ids are.
pub fn is_guid(s: &str) -> bool {
    parse_guid_any_case(s).is_some()
}

/// Channel threads end so; chats in `@unq.gbl.spaces` or `@thread.v2`.
fn is_channel_id(id: &str) -> bool {
    ends_with_ci(id, "@thread.tacv2") || ends_with_ci(id, "@thread.skype")
}

/// Answers about a handle's text, each asked once: per record, reading the
/// text itself would cost a cache miss each time.
struct Memo<F: Fn(&str) -> bool> {
    known: HashMap<Sym, bool>,
    test: F,
}

impl<F: Fn(&str) -> bool> Memo<F> {
    fn new(test: F) -> Self {
        Memo {
            known: HashMap::new(),
            test,
        }
    }

    fn get(&mut self, ds: &Dataset, s: Sym) -> bool {
        *self
            .known
            .entry(s)
            .or_insert_with(|| (self.test)(ds.str(s)))
    }
}

/// What the whole dataset says of users and tenants: object ids from
/// `UserKey`s, display names, and which tenant each UPN and domain is
/// shown to belong to.
#[derive(Debug, Default)]
struct Directory {
    by_upn: HashMap<String, ObjectId>,
    by_id: HashMap<ObjectId, String>,
    /// The same by `UserId` handle: most lookups need no lowercasing.
    by_user: HashMap<Sym, ObjectId>,
    /// Display names from any `Members[]` entry, by UPN handle.
    names: HashMap<Sym, Sym>,
    /// The tenants each UPN (lowercase) is listed a member of, with the
    /// first record that lists it so.
    memberships: HashMap<String, smallvec::SmallVec<[(Sym, u32); 1]>>,
    /// The domains (lowercase) records show belonging to each tenant
    /// (lowercase): its members' UPN domains and its SIP domains.
    tenant_domains: HashMap<String, Vec<String>>,
}

impl Directory {
    /// A tenant other than `home` that a record lists `upn` a member of,
    /// and the first record that does: such a user is an outsider.
    fn other_tenant_of(&self, ds: &Dataset, upn: Sym, home: Option<Sym>) -> Option<(Sym, u32)> {
        let tenants = self.memberships.get(&ds.str(upn).to_lowercase())?;
        tenants
            .iter()
            .filter(|(t, _)| !home.is_some_and(|h| same(ds, h, *t)))
            .min_by_key(|(_, rec)| *rec)
            .copied()
    }

    /// Domains that records show belonging to `home`.
    fn home_domains(&self, ds: &Dataset, home: Option<Sym>) -> &[String] {
        home.and_then(|h| self.tenant_domains.get(&ds.str(h).to_ascii_lowercase()))
            .map_or(&[], Vec::as_slice)
    }
}

/// Gathers the [`Directory`] during the first pass over the records.
struct DirectoryFound {
    /// Per `UserId` handle, its index in `seen` ([`NONE`]: not yet).
    slot: Vec<u32>,
    /// `UserId`, the `UserKey` last tried, and the first GUID key found.
    seen: Vec<(Sym, Sym, Option<ObjectId>)>,
    names: HashMap<Sym, Sym>,
    /// (member UPN, member tenant) → the first record listing it.
    member_of: HashMap<(Sym, Sym), u32>,
    /// (SIP domain, tenant).
    sip_of: hashbrown::HashSet<(Sym, Sym)>,
}

impl DirectoryFound {
    fn new(ds: &Dataset) -> Self {
        DirectoryFound {
            slot: vec![NONE; ds.pool_len()],
            seen: Vec::new(),
            names: HashMap::new(),
            member_of: HashMap::new(),
            sip_of: hashbrown::HashSet::new(),
        }
    }

    fn add(&mut self, ds: &Dataset, r: &Record, i: u32) {
        if let (Some(u), Some(k)) = (r.user_id, r.user_key) {
            let at = &mut self.slot[u.index()];
            if *at == NONE {
                *at = self.seen.len() as u32;
                self.seen.push((u, k, ObjectId::parse(ds.str(k))));
            } else {
                // The key last tried spares parsing the same one again.
                let e = &mut self.seen[*at as usize];
                if e.2.is_none() && e.1 != k {
                    *e = (u, k, ObjectId::parse(ds.str(k)));
                }
            }
        }
        if let Some(c) = r.chat.as_deref() {
            for m in c.members.iter() {
                if let Some(u) = m.upn {
                    if let Some(n) = m.display_name {
                        self.names.entry(u).or_insert(n);
                    }
                    if let Some(t) = m.organization_id {
                        self.member_of.entry((u, t)).or_insert(i);
                    }
                }
            }
            if let Some(p) = &c.participants {
                for d in p.participating_sip_domains().iter() {
                    if let (Some(d), Some(t)) = (d.domain, d.tenant_id) {
                        self.sip_of.insert((d, t));
                    }
                }
            }
        }
    }

    fn finish(self, ds: &Dataset) -> Directory {
        let mut by_upn = HashMap::new();
        let mut by_id = HashMap::new();
        let mut by_user = HashMap::new();
        for (u, oid) in self
            .seen
            .into_iter()
            .filter_map(|(u, _, oid)| Some((u, oid?)))
        {
            let upn = ds.str(u);
            if upn.contains('@') {
                let upn = upn.to_lowercase();
                by_user.insert(u, oid);
                by_id.entry(oid).or_insert_with(|| upn.clone());
                by_upn.entry(upn).or_insert(oid);
            }
        }
        let mut memberships: HashMap<String, smallvec::SmallVec<[(Sym, u32); 1]>> = HashMap::new();
        let mut tenant_domains: HashMap<String, Vec<String>> = HashMap::new();
        let mut domain_of = |t: Sym, domain: &str| {
            let list = tenant_domains
                .entry(ds.str(t).to_ascii_lowercase())
                .or_default();
            push_lower(list, domain);
        };
        for ((u, t), rec) in self.member_of {
            let upn = ds.str(u);
            let list = memberships.entry(upn.to_lowercase()).or_default();
            match list.iter_mut().find(|(x, _)| same(ds, *x, t)) {
                Some(e) => e.1 = e.1.min(rec),
                None => list.push((t, rec)),
            }
            if let Some((_, d)) = upn.rsplit_once('@') {
                domain_of(t, d);
            }
        }
        for (d, t) in self.sip_of {
            domain_of(t, ds.str(d));
        }
        Directory {
            by_upn,
            by_id,
            by_user,
            names: self.names,
            memberships,
            tenant_domains,
        }
    }
}

/// The two object ids of a 1:1 chat id `19:{a}_{b}@unq.gbl.spaces`.
fn one_on_one_halves(chat_id: &str) -> Option<(ObjectId, ObjectId)> {
    let inner = chat_id.trim().strip_prefix("19:")?;
    let (pair, suffix) = inner.split_once('@')?;
    if !suffix.eq_ignore_ascii_case("unq.gbl.spaces") {
        return None;
    }
    let (a, b) = pair.split_once('_')?;
    Some((ObjectId::parse(a)?, ObjectId::parse(b)?))
}

/// A `ChatCreated`: (record, actor, the actor's tenant as the record's
/// members give it).
type Created = (u32, Option<Sym>, Option<Sym>);

/// What the first pass keeps of a chat besides the [`Chat`] itself.
#[derive(Default)]
struct Side {
    /// The first record whose `ResourceTenantId` is the home tenant.
    resource_home: Option<u32>,
    /// The first record whose `ResourceTenantId` is another tenant.
    resource_other: Option<(u32, Sym)>,
    /// `ChatCreated` records; nearly always one.
    created: smallvec::SmallVec<[Created; 1]>,
    count: u32,
}

impl Chat {
    fn new(id: Sym, r: &Record) -> Chat {
        Chat {
            id,
            name: None,
            communication_type: None,
            home_tenant: None,
            external: false,
            guests: false,
            initiated: Initiated::Unknown,
            first_seen: r.time,
            last_seen: r.time,
            records: 0..0,
            outside: None,
        }
    }

    /// Takes in record `i`, one of the chat's (first pass). Records are
    /// compared with their own `OrganizationId`, which is the chat's home
    /// tenant in any one export.
    fn add(&mut self, side: &mut Side, ds: &Dataset, r: &Record, i: u32) {
        let c = chat(r);
        side.count += 1;
        self.external |= is_external(ds, r);
        self.guests |= has_guests(ds, r);
        self.home_tenant = self.home_tenant.or(r.organization_id);
        self.first_seen = self.first_seen.min(r.time);
        if r.time >= self.last_seen {
            self.last_seen = r.time;
            self.name = c.chat_name.or(self.name);
        } else if self.name.is_none() {
            self.name = c.chat_name;
        }
        self.communication_type = self.communication_type.or(c.communication_type);
        let home = r.organization_id;
        let is_home = |t: Sym| home.is_some_and(|h| same(ds, h, t));
        if let Some(t) = c.resource_tenant_id {
            if is_home(t) {
                side.resource_home.get_or_insert(i);
            } else if home.is_some() {
                side.resource_other.get_or_insert((i, t));
            }
        }
        if side.created.len() < 4 && ds.str(r.operation).eq_ignore_ascii_case("ChatCreated") {
            let member_tenant = c
                .members
                .iter()
                .find(|m| same_opt(ds, m.upn, r.user_id))
                .and_then(|m| m.organization_id);
            side.created.push((i, r.user_id, member_tenant));
        }
    }
}

impl Side {
    /// Who started the chat, and why it is believed. A `ChatCreated` is
    /// by an outsider when its record lists the actor in another tenant,
    /// or any record does.
    fn initiated(
        &self,
        ds: &Dataset,
        dir: &Directory,
        home: Option<Sym>,
    ) -> (Initiated, Vec<(ReasonKind, String, Option<u32>)>) {
        let is_home = |t: Sym| home.is_some_and(|h| same(ds, h, t));
        let mut by_outsider = Vec::new();
        let mut by_home = Vec::new();
        for &(rec, actor, tenant) in &self.created {
            let who = ds.opt(actor);
            let other = match tenant {
                Some(t) if !is_home(t) => Some((t, rec)),
                Some(_) => None,
                None => actor.and_then(|a| dir.other_tenant_of(ds, a, home)),
            };
            match other {
                Some((t, shown)) => by_outsider.push((
                    ReasonKind::StartedExternally,
                    if shown == rec {
                        format!("ChatCreated by {who}, a member of tenant {}", ds.str(t))
                    } else {
                        format!(
                            "ChatCreated by {who}, whom another record lists in tenant {}",
                            ds.str(t)
                        )
                    },
                    Some(rec),
                )),
                None => by_home.push((
                    ReasonKind::StartedInternally,
                    format!("ChatCreated by {who}, logged in the home tenant"),
                    Some(rec),
                )),
            }
        }
        let mut external = by_outsider;
        if let Some((rec, t)) = self.resource_other {
            external.insert(
                0,
                (
                    ReasonKind::StartedExternally,
                    format!("the chat lives in tenant {} (ResourceTenantId)", ds.str(t)),
                    Some(rec),
                ),
            );
        }
        if !external.is_empty() {
            return (Initiated::External, external);
        }
        let mut internal = by_home;
        if let Some(rec) = self.resource_home {
            internal.insert(
                0,
                (
                    ReasonKind::StartedInternally,
                    "the chat lives in the home tenant (ResourceTenantId)".into(),
                    Some(rec),
                ),
            );
        }
        if !internal.is_empty() {
            return (Initiated::Internal, internal);
        }
        (
            Initiated::Unknown,
            vec![(
                ReasonKind::StartUnknown,
                "no record has a ResourceTenantId or is a ChatCreated".into(),
                None,
            )],
        )
    }
}

/// Groups the records of `ds` into chats.
///
/// One pass in file order learns most of every chat (reading records in
/// order is what keeps this fast at a million records); a second look, at
/// the records of external chats only, finds their other tenants, their
/// domains and their home users.
pub fn build(ds: &Dataset) -> Chats {
    let mut chats = Chats {
        record_chat: vec![NONE; ds.records.len()],
        by_id: vec![NONE; ds.pool_len()],
        ..Chats::default()
    };
    let mut list: Vec<Chat> = Vec::new();
    let mut sides: Vec<Side> = Vec::new();
    let mut teams_workload = Memo::new(|w| eq_ci(w, "MicrosoftTeams"));
    let mut team_type = Memo::new(|t| eq_ci(t, "Team"));
    // Chat ids already found to be channels.
    const CHANNEL: u32 = NONE - 1;
    let mut directory = DirectoryFound::new(ds);
    for (i, r) in ds.records.iter().enumerate() {
        directory.add(ds, r, i as u32);
        let Some(c) = r.chat.as_deref() else { continue };
        let Some(id) = c.chat_id else { continue };
        let teams = r.is_teams() || r.workload.is_some_and(|w| teams_workload.get(ds, w));
        if !teams || c.communication_type.is_some_and(|t| team_type.get(ds, t)) {
            continue;
        }
        let slot = &mut chats.by_id[id.index()];
        if *slot == NONE {
            if is_channel_id(ds.str(id)) {
                *slot = CHANNEL;
                continue;
            }
            *slot = list.len() as u32;
            list.push(Chat::new(id, r));
            sides.push(Side::default());
        }
        let c = *slot;
        if c == CHANNEL {
            continue;
        }
        list[c as usize].add(&mut sides[c as usize], ds, r, i as u32);
        chats.record_chat[i] = c;
    }
    // Each chat's records side by side, in file order.
    let mut fill = Vec::with_capacity(list.len());
    let mut at = 0u32;
    for (c, side) in list.iter_mut().zip(&sides) {
        c.records = at..at + side.count;
        fill.push(at);
        at += side.count;
    }
    let mut record_list = vec![0u32; at as usize];
    for (i, &c) in chats.record_chat.iter().enumerate() {
        if c != NONE {
            record_list[fill[c as usize] as usize] = i as u32;
            fill[c as usize] += 1;
        }
    }
    drop(fill);
    chats.record_list = record_list;
    chats.directory = directory.finish(ds);
    // Who started each chat needs the whole dataset's memberships.
    let mut start_reasons = Vec::with_capacity(list.len());
    for (c, side) in list.iter_mut().zip(&sides) {
        let (initiated, why) = side.initiated(ds, &chats.directory, c.home_tenant);
        c.initiated = initiated;
        start_reasons.push(if c.external { why } else { Vec::new() });
    }
    drop(sides);
    // Second pass, over the records of external chats, chat after chat
    // (each chat's records in file order): one thread per core, each with
    // its share of the chats (reading records is bound by memory latency,
    // which threads hide). One chat at a time keeps one chat's findings in
    // memory per thread, not every external chat's at once.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 8));
    let (dir, record_list, list_ref) = (&chats.directory, &chats.record_list, &list);
    let shares: Vec<Vec<(usize, Box<Outside>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                s.spawn(move || {
                    let mine = |c: &usize| c % threads == k && list_ref[*c].external;
                    (0..list_ref.len())
                        .filter(mine)
                        .map(|c| {
                            let chat = &list_ref[c];
                            let mut found = ExternalFound::default();
                            let records = chat.records.start as usize..chat.records.end as usize;
                            for &i in &record_list[records] {
                                found.add(ds, dir, chat.home_tenant, i);
                            }
                            (c, found.finish(ds, dir, chat))
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("triage does not panic"))
            .collect()
    });
    for (c, mut outside) in shares.into_iter().flatten() {
        let mut reasons = Reasons(std::mem::take(&mut outside.reasons));
        for (kind, detail, rec) in std::mem::take(&mut start_reasons[c]) {
            reasons.add(kind, detail, rec);
        }
        outside.reasons = reasons.finish();
        list[c].outside = Some(outside);
    }
    chats.list = list;
    chats
}

fn chat(r: &Record) -> &crate::ual::ChatFields {
    r.chat.as_deref().expect("chat records have chat fields")
}

fn push_lower(list: &mut Vec<String>, text: &str) {
    if !list.iter().any(|x| x.eq_ignore_ascii_case(text)) {
        list.push(text.to_ascii_lowercase());
    }
}

/// What the second pass learns of an external chat.
#[derive(Default)]
struct ExternalFound {
    tenants: Vec<String>,
    /// Domains shown to be another tenant's (members, SIP domains).
    domains: Vec<String>,
    /// `ParticipatingDomains` (it lists the home domain too), with the
    /// first record that lists each.
    participating: Vec<(Sym, u32)>,
    /// SIP domains given with the home tenant's id.
    home_sip: Vec<String>,
    reasons: Reasons,
    users: UsersFound,
}

impl ExternalFound {
    fn add(&mut self, ds: &Dataset, dir: &Directory, home: Option<Sym>, i: u32) {
        let is_home = |t: Sym| home.is_some_and(|h| same(ds, h, t));
        let f = chat(&ds.records[i as usize]);
        let rec = Some(i);
        // Another tenant seen: counted, and said why.
        let other_tenant = |this: &mut Self, t: Sym, kind: ReasonKind, detail: String| {
            if !is_home(t) {
                push_lower(&mut this.tenants, ds.str(t));
                this.reasons.add(kind, detail, rec);
            }
        };
        if let Some(t) = f.resource_tenant_id {
            other_tenant(self, t, ReasonKind::ResourceTenant, ds.str(t).to_owned());
        }
        if let Some(p) = &f.participants {
            if p.has_foreign_tenant_users == Some(true) {
                self.reasons.add(ReasonKind::ForeignTenantUsers, "", rec);
            }
            if p.has_unauthenticated_users == Some(true) {
                self.reasons.add(ReasonKind::UnauthenticatedUsers, "", rec);
            }
            for &t in p.participating_tenant_ids().iter() {
                other_tenant(self, t, ReasonKind::OtherTenant, ds.str(t).to_owned());
            }
            for d in p.participating_sip_domains().iter() {
                let (Some(t), Some(name)) = (d.tenant_id, d.domain) else {
                    continue;
                };
                if is_home(t) {
                    push_lower(&mut self.home_sip, ds.str(name));
                } else {
                    other_tenant(
                        self,
                        t,
                        ReasonKind::OtherTenantDomain,
                        format!("{} (tenant {})", ds.str(name), ds.str(t)),
                    );
                    push_lower(&mut self.domains, ds.str(name));
                }
            }
            for &d in p.participating_domains().iter() {
                if !self.participating.iter().any(|(x, _)| *x == d) {
                    self.participating.push((d, i));
                }
            }
        }
        for m in f.members.iter() {
            if let Some(t) = m.organization_id
                && !is_home(t)
            {
                let upn = ds.opt(m.upn);
                other_tenant(
                    self,
                    t,
                    ReasonKind::OtherTenantMember,
                    format!("{upn} (tenant {})", ds.str(t)),
                );
                if let Some((_, d)) = upn.rsplit_once('@') {
                    push_lower(&mut self.domains, d);
                }
            }
        }
        self.users.add(ds, dir, home, i);
    }

    /// The chat's other side, and its home users without the outsiders.
    ///
    /// An outsider's own acts can be logged in the home tenant, so a user
    /// found only by acting (or by a `MemberAdded` whose members carry no
    /// tenant) proves nothing about their tenant. So no user is a target
    /// whom any record lists a member of another tenant, nor one whose
    /// domain is one of the chat's external domains. A participating
    /// domain is external unless a record shows it belongs to the home
    /// tenant (a home member's UPN, a home SIP domain): a user who merely
    /// acted does not vouch for their own domain.
    fn finish(self, ds: &Dataset, dir: &Directory, chat: &Chat) -> Box<Outside> {
        let home = chat.home_tenant;
        let mut reasons = self.reasons;
        let mut users = self.users.finish(ds, dir, chat.id);
        users.retain(|u| match dir.other_tenant_of(ds, u.upn, home) {
            Some((t, rec)) => {
                reasons.add(
                    ReasonKind::NotATarget,
                    format!("{}: a member of tenant {}", ds.str(u.upn), ds.str(t)),
                    Some(rec),
                );
                false
            }
            None => true,
        });
        let mut domains = self.domains;
        let home_domains: Vec<&str> = dir
            .home_domains(ds, home)
            .iter()
            .map(String::as_str)
            .chain(self.home_sip.iter().map(String::as_str))
            .chain(
                users
                    .iter()
                    .filter(|u| u.found_by == FoundBy::Member)
                    .filter_map(|u| domain_of(ds.str(u.upn))),
            )
            .filter(|d| !domains.iter().any(|x| x.eq_ignore_ascii_case(d)))
            .collect();
        for (d, rec) in self.participating {
            let d = ds.str(d);
            if !home_domains.iter().any(|h| h.eq_ignore_ascii_case(d))
                && !ends_with_ci(d, ".onmicrosoft.com")
                && !domains.iter().any(|x| x.eq_ignore_ascii_case(d))
            {
                push_lower(&mut domains, d);
                reasons.add(ReasonKind::ExternalDomain, d, Some(rec));
            }
        }
        users.retain(|u| {
            let upn = ds.str(u.upn);
            match domain_of(upn) {
                Some(d) if domains.iter().any(|x| x.eq_ignore_ascii_case(d)) => {
                    reasons.add(
                        ReasonKind::NotATarget,
                        format!("{upn}: {} is one of the chat's external domains", d),
                        u.evidence.first().copied(),
                    );
                    false
                }
                _ => true,
            }
        });
        let mut tenants = self.tenants;
        tenants.sort();
        domains.sort();
        // Kept for the life of the dataset: no spare room.
        let mut outside = Outside {
            tenants,
            domains,
            home_users: users,
            reasons: reasons.0,
        };
        outside.tenants.shrink_to_fit();
        outside.domains.shrink_to_fit();
        outside.home_users.shrink_to_fit();
        Box::new(outside)
    }
}

/// The domain of a UPN (after its last `@`).
fn domain_of(upn: &str) -> Option<&str> {
    upn.rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
}

/// Finds the home users of one chat, record after record.
#[derive(Default)]
struct UsersFound {
    users: Vec<HomeUser>,
    /// Whether a user's actor evidence is in: of a user's many messages in
    /// a chat only the first is evidence (membership records always are),
    /// so that a plan stays readable.
    acted: Vec<bool>,
    /// Which user a UPN handle is (`None`: no address); other spellings of
    /// a UPN are compared once.
    known: HashMap<Sym, Option<usize>>,
}

impl UsersFound {
    fn found(&mut self, ds: &Dataset, upn: Sym, name: Option<Sym>, by: FoundBy, rec: u32) {
        let users = &self.users;
        let at = *self.known.entry(upn).or_insert_with(|| {
            ds.str(upn).contains('@').then(|| {
                users
                    .iter()
                    .position(|u| same(ds, u.upn, upn))
                    .unwrap_or(users.len())
            })
        });
        let Some(at) = at else { return };
        match self.users.get_mut(at) {
            Some(u) => {
                if u.display_name.is_none() {
                    u.display_name = name;
                }
                u.found_by = u.found_by.min(by);
                let first_act = by == FoundBy::Actor && !self.acted[at];
                if (by != FoundBy::Actor || first_act) && u.evidence.last() != Some(&rec) {
                    u.evidence.push(rec);
                }
                if first_act {
                    self.acted[at] = true;
                }
            }
            None => {
                self.acted.push(by == FoundBy::Actor);
                self.users.push(HomeUser {
                    upn,
                    display_name: name,
                    object_id: None,
                    id_source: IdSource::Lookup,
                    found_by: by,
                    guest: is_guest_upn(ds.str(upn)),
                    evidence: Evidence::from_slice(&[rec]),
                });
            }
        }
    }

    /// Takes in record `i` of the chat whose home tenant is `home`.
    fn add(&mut self, ds: &Dataset, dir: &Directory, home: Option<Sym>, i: u32) {
        let is_home = |t: Option<Sym>| matches!((home, t), (Some(h), Some(t)) if same(ds, h, t));
        let r = &ds.records[i as usize];
        let c = chat(r);
        if !is_home(r.organization_id) {
            return;
        }
        let mut foreign_actor = false;
        for m in c.members.iter() {
            if let Some(upn) = m.upn {
                if is_home(m.organization_id) {
                    self.found(ds, upn, m.display_name, FoundBy::Member, i);
                } else if m.organization_id.is_some() && same_opt(ds, Some(upn), r.user_id) {
                    foreign_actor = true;
                }
            }
        }
        let Some(actor) = r.user_id else { return };
        let among_members = c.members.iter().find(|m| same_opt(ds, m.upn, Some(actor)));
        let no_tenants = c.members.iter().all(|m| m.organization_id.is_none());
        if ds.str(r.operation).eq_ignore_ascii_case("MemberAdded")
            && no_tenants
            && let Some(m) = among_members
        {
            self.found(ds, actor, m.display_name, FoundBy::MemberAdded, i);
        } else if !foreign_actor && dir.by_user.contains_key(&actor) {
            // An Entra user (one with an object id for a UserKey) acting in
            // the chat, logged in the home tenant.
            let name = among_members.and_then(|m| m.display_name);
            self.found(ds, actor, name, FoundBy::Actor, i);
        }
    }

    /// Object ids and display names from the directory; sorted by UPN.
    fn finish(self, ds: &Dataset, dir: &Directory, id: Sym) -> Vec<HomeUser> {
        let mut users = self.users;
        for u in &mut users {
            if u.display_name.is_none() {
                u.display_name = dir.names.get(&u.upn).copied();
            }
            if let Some(&oid) = dir.by_user.get(&u.upn) {
                u.object_id = Some(oid);
                u.id_source = IdSource::UserKey;
                continue;
            }
            let upn = ds.str(u.upn).to_lowercase();
            if let Some(&oid) = dir.by_upn.get(&upn) {
                u.object_id = Some(oid);
                u.id_source = IdSource::UserKey;
            } else if let Some((a, b)) = one_on_one_halves(ds.str(id)) {
                let someone_else =
                    |h: &ObjectId| dir.by_id.get(h).is_some_and(|owner| *owner != upn);
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
        users.sort_by(|a, b| {
            let (a, b) = (ds.str(a.upn).bytes(), ds.str(b.upn).bytes());
            a.map(|c| c.to_ascii_lowercase())
                .cmp(b.map(|c| c.to_ascii_lowercase()))
        });
        users
    }
}

fn home_users(
    ds: &Dataset,
    dir: &Directory,
    id: Sym,
    records: &[u32],
    home: Option<Sym>,
) -> Vec<HomeUser> {
    let mut found = UsersFound::default();
    for &i in records {
        found.add(ds, dir, home, i);
    }
    let mut users = found.finish(ds, dir, id);
    // Outsiders are no home users here either.
    users.retain(|u| dir.other_tenant_of(ds, u.upn, home).is_none());
    users
}
