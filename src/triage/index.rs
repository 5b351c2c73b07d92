//! What triage computes once per dataset: the chats, a flag or two per
//! record, and the distinct strings of each searchable field, so that a
//! query tests each distinct string once instead of once per record.

use std::sync::OnceLock;

use super::chats::{self, Chats};
use super::external::{has_guests, is_external};
use crate::ual::{Dataset, Record, Sym};

/// The searchable places of a record that hold interned strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Op,
    User,
    ChatId,
    ChatName,
    MemberUpn,
    MemberName,
    /// Every tenant id of the record (organisation, resource, members,
    /// participants).
    Tenant,
    /// `ParticipatingDomains` and SIP domain names.
    Domain,
    Type,
    Workload,
    /// `ClientIP` where it is kept as text (IPv6 and unusual forms): the
    /// usual IPv4 addresses are packed, and a query matches them record
    /// by record.
    Ip,
    /// A record type given only as a name.
    RtName,
}

impl Slot {
    pub const COUNT: usize = 12;
    pub const ALL: [Slot; Slot::COUNT] = [
        Slot::Op,
        Slot::User,
        Slot::ChatId,
        Slot::ChatName,
        Slot::MemberUpn,
        Slot::MemberName,
        Slot::Tenant,
        Slot::Domain,
        Slot::Type,
        Slot::Workload,
        Slot::Ip,
        Slot::RtName,
    ];

    pub fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// Calls `f` with every string of `r` in the slots of `mask`, until `f`
/// returns true.
#[inline]
pub fn any_in_slots(r: &Record, mask: u16, mut f: impl FnMut(Sym) -> bool) -> bool {
    let on = |s: Slot| mask & s.bit() != 0;
    let mut opt = |s: Option<Sym>| s.is_some_and(&mut f);
    if on(Slot::Op) && opt(Some(r.operation)) {
        return true;
    }
    if on(Slot::User) && opt(r.user_id) {
        return true;
    }
    if on(Slot::Workload) && opt(r.workload) {
        return true;
    }
    if on(Slot::Ip) && opt(r.client_ip.and_then(|ip| ip.sym())) {
        return true;
    }
    if on(Slot::RtName) && opt(r.record_type_name) {
        return true;
    }
    if on(Slot::Tenant) && opt(r.organization_id) {
        return true;
    }
    let Some(c) = r.chat.as_deref() else {
        return false;
    };
    if on(Slot::ChatId) && opt(c.chat_id)
        || on(Slot::ChatName) && opt(c.chat_name)
        || on(Slot::Type) && opt(c.communication_type)
        || on(Slot::Tenant) && opt(c.resource_tenant_id)
    {
        return true;
    }
    let members = on(Slot::MemberUpn) || on(Slot::MemberName) || on(Slot::Tenant);
    if members {
        for m in c.members.iter() {
            if on(Slot::MemberUpn) && opt(m.upn)
                || on(Slot::MemberName) && opt(m.display_name)
                || on(Slot::Tenant) && opt(m.organization_id)
            {
                return true;
            }
        }
    }
    if (on(Slot::Tenant) || on(Slot::Domain))
        && let Some(p) = &c.participants
    {
        if on(Slot::Tenant)
            && (p.participating_tenant_ids().iter().any(|&t| opt(Some(t)))
                || p.participating_sip_domains()
                    .iter()
                    .any(|d| opt(d.tenant_id)))
        {
            return true;
        }
        if on(Slot::Domain)
            && (p.participating_domains().iter().any(|&d| opt(Some(d)))
                || p.participating_sip_domains().iter().any(|d| opt(d.domain)))
        {
            return true;
        }
    }
    false
}

/// Triage's view of a dataset.
#[derive(Debug)]
pub struct Index {
    pub chats: Chats,
    /// Per record: shows another tenant, itself or through its chat.
    pub external: Vec<bool>,
    /// Per record: shows guests, itself or through its chat.
    pub guests: Vec<bool>,
    /// The distinct strings of each slot, gathered the first time a query
    /// needs them (a load that is never filtered never pays for them).
    vocab: [OnceLock<Vocab>; Slot::COUNT],
    /// Per record, the chat id, chat name and communication type, copied
    /// out of the records' chat fields the first time a query needs them:
    /// a filter then reads one small array instead of following a pointer
    /// per record.
    tables: [OnceLock<Vec<Option<Sym>>>; 3],
    /// The records that list members, gathered the first time a query
    /// looks at members (they are few).
    member_records: OnceLock<Vec<u32>>,
    /// The records that list members, each with the index of its distinct
    /// member list (UPNs and names): chats repeat their member lists, so a
    /// query decides each list once.
    member_groups: OnceLock<MemberGroups>,
    /// Per record, which distinct list of participating domains it has,
    /// gathered the first time a query looks at domains: many records
    /// share a list, so a query decides each list once.
    domain_groups: OnceLock<DomainGroups>,
    /// The distinct record type numbers.
    pub record_types: Vec<u32>,
}

/// One member as a member list keeps it: `(UPN, display name)`.
pub type MemberKey = (Option<Sym>, Option<Sym>);

/// The distinct member lists and which records have them.
#[derive(Debug)]
pub struct MemberGroups {
    /// `(record, list)` for every record that lists members, in record
    /// order.
    pub records: Vec<(u32, u32)>,
    /// Each list: the members' `(UPN, display name)`.
    pub lists: Vec<Box<[MemberKey]>>,
}

/// The distinct participating-domain lists (`ParticipatingDomains` and the
/// SIP domain names) and which one each record has.
#[derive(Debug)]
pub struct DomainGroups {
    /// Per record: an index into `lists`, or [`DomainGroups::NONE`].
    pub of_record: Vec<u32>,
    pub lists: Vec<Box<[Sym]>>,
}

impl DomainGroups {
    pub const NONE: u32 = u32::MAX;
}

/// The slots kept as per-record tables, by their index in `Index::tables`.
pub const TABLE_SLOTS: [Slot; 3] = [Slot::ChatId, Slot::ChatName, Slot::Type];

impl Index {
    pub fn build(ds: &Dataset) -> Index {
        let chats = chats::build(ds);
        // Chat records take their chat's flags (a compact copy of them keeps
        // this pass in cache); the others are judged alone.
        let flags: Vec<(bool, bool)> = chats.list.iter().map(|c| (c.external, c.guests)).collect();
        let n = ds.records.len();
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get().clamp(1, 8));
        let per = n.div_ceil(threads).max(1);
        let (chats_ref, flags) = (&chats, &flags);
        // Each record alone: in slices, on every core.
        let parts: Vec<(Vec<bool>, Vec<bool>, hashbrown::HashSet<u32>)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..n.div_ceil(per))
                .map(|k| {
                    s.spawn(move || {
                        let range = k * per..((k + 1) * per).min(n);
                        let mut external = Vec::with_capacity(range.len());
                        let mut guests = Vec::with_capacity(range.len());
                        let mut types = hashbrown::HashSet::new();
                        for i in range {
                            let r = &ds.records[i];
                            let (e, g) = match chats_ref.chat_index(i) {
                                Some(c) => flags[c],
                                None => (is_external(ds, r), has_guests(ds, r)),
                            };
                            external.push(e);
                            guests.push(g);
                            if let Some(t) = r.record_type {
                                types.insert(t);
                            }
                        }
                        (external, guests, types)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("flags do not panic"))
                .collect()
        });
        let mut external = Vec::with_capacity(n);
        let mut guests = Vec::with_capacity(n);
        let mut types = hashbrown::HashSet::new();
        for (e, g, t) in parts {
            external.extend(e);
            guests.extend(g);
            types.extend(t);
        }
        let mut record_types: Vec<u32> = types.into_iter().collect();
        record_types.sort_unstable();
        Index {
            chats,
            external,
            guests,
            vocab: Default::default(),
            tables: Default::default(),
            member_records: OnceLock::new(),
            member_groups: OnceLock::new(),
            domain_groups: OnceLock::new(),
            record_types,
        }
    }

    /// The per-record table of one of [`TABLE_SLOTS`].
    pub fn table(&self, ds: &Dataset, k: usize) -> &[Option<Sym>] {
        self.tables[k].get_or_init(|| {
            ds.records
                .iter()
                .map(|r| {
                    let c = r.chat.as_deref()?;
                    match TABLE_SLOTS[k] {
                        Slot::ChatId => c.chat_id,
                        Slot::ChatName => c.chat_name,
                        _ => c.communication_type,
                    }
                })
                .collect()
        })
    }

    /// The records whose `Members[]` is not empty.
    pub fn member_records(&self, ds: &Dataset) -> &[u32] {
        self.member_records.get_or_init(|| {
            ds.records
                .iter()
                .enumerate()
                .filter(|(_, r)| r.chat.as_deref().is_some_and(|c| !c.members.is_empty()))
                .map(|(i, _)| i as u32)
                .collect()
        })
    }

    /// The member lists of the records that list members.
    pub fn member_groups(&self, ds: &Dataset) -> &MemberGroups {
        self.member_groups.get_or_init(|| {
            type Key = Box<[MemberKey]>;
            let mut ids: ahash::AHashMap<Key, u32> = ahash::AHashMap::new();
            let mut lists: Vec<Key> = Vec::new();
            let mut records = Vec::new();
            let mut key: Vec<MemberKey> = Vec::new();
            for &i in self.member_records(ds) {
                let c = ds.records[i as usize]
                    .chat
                    .as_deref()
                    .expect("member records have chats");
                key.clear();
                key.extend(c.members.iter().map(|m| (m.upn, m.display_name)));
                let id = match ids.get(key.as_slice()) {
                    Some(&id) => id,
                    None => {
                        let id = lists.len() as u32;
                        let boxed: Key = key.clone().into_boxed_slice();
                        ids.insert(boxed.clone(), id);
                        lists.push(boxed);
                        id
                    }
                };
                records.push((i, id));
            }
            MemberGroups { records, lists }
        })
    }

    /// Which participating-domain list each record has.
    pub fn domain_groups(&self, ds: &Dataset) -> &DomainGroups {
        self.domain_groups.get_or_init(|| {
            let mut ids: ahash::AHashMap<Box<[Sym]>, u32> = ahash::AHashMap::new();
            let mut lists: Vec<Box<[Sym]>> = Vec::new();
            let mut of_record = Vec::with_capacity(ds.records.len());
            let mut key: Vec<Sym> = Vec::new();
            // Neighbouring records of a chat usually repeat their list.
            let mut last: Option<(Box<[Sym]>, u32)> = None;
            for r in &ds.records {
                let Some(p) = r.chat.as_deref().and_then(|c| c.participants.as_ref()) else {
                    of_record.push(DomainGroups::NONE);
                    continue;
                };
                key.clear();
                key.extend(p.participating_domains().iter().copied());
                key.extend(
                    p.participating_sip_domains()
                        .iter()
                        .filter_map(|d| d.domain),
                );
                if key.is_empty() {
                    of_record.push(DomainGroups::NONE);
                    continue;
                }
                if let Some((k, id)) = &last
                    && **k == *key
                {
                    of_record.push(*id);
                    continue;
                }
                let id = match ids.get(key.as_slice()) {
                    Some(&id) => id,
                    None => {
                        let id = lists.len() as u32;
                        let boxed: Box<[Sym]> = key.clone().into_boxed_slice();
                        ids.insert(boxed.clone(), id);
                        lists.push(boxed);
                        id
                    }
                };
                last = Some((key.clone().into_boxed_slice(), id));
                of_record.push(id);
            }
            DomainGroups { of_record, lists }
        })
    }

    /// The distinct strings found in `slot`.
    pub fn vocab(&self, ds: &Dataset, slot: Slot) -> &Vocab {
        self.vocab[slot as usize].get_or_init(|| {
            let mut seen = vec![0u64; ds.pool_len().div_ceil(64)];
            let mut list = Vec::new();
            for r in &ds.records {
                any_in_slots(r, slot.bit(), |s| {
                    let k = s.index();
                    if seen[k / 64] & (1 << (k % 64)) == 0 {
                        seen[k / 64] |= 1 << (k % 64);
                        list.push(s);
                    }
                    false
                });
            }
            Vocab::new(ds, list)
        })
    }
}

/// The distinct strings of a slot, and all of them in one text, so that a
/// substring query is one SIMD search over a few megabytes instead of a
/// search per string.
#[derive(Debug)]
pub struct Vocab {
    pub syms: Vec<Sym>,
    /// The strings, each followed by a NUL.
    pub text: String,
    /// Where each string starts in `text`.
    pub starts: Vec<u32>,
}

impl Vocab {
    fn new(ds: &Dataset, syms: Vec<Sym>) -> Vocab {
        let mut text = String::with_capacity(syms.iter().map(|&s| ds.str(s).len() + 1).sum());
        let mut starts = Vec::with_capacity(syms.len());
        for &s in &syms {
            starts.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
            text.push_str(ds.str(s));
            text.push('\0');
        }
        Vocab { syms, text, starts }
    }

    /// The index of the string that holds byte `pos` of `text`.
    pub fn at(&self, pos: usize) -> usize {
        self.starts.partition_point(|&s| s as usize <= pos) - 1
    }
}
