//! The normalised audit record: what every export shape is reduced to.
//!
//! Strings that repeat across records (operations, tenants, users, chat ids)
//! are interned in the dataset's string pool and referred to by [`Sym`]; only
//! the record id, unique by nature, is owned by the record. This keeps a
//! 500k-record export well inside the memory budget. The raw `AuditData` is
//! not kept: [`RawSpan`] says where to read it again from the source file.

use chrono::{DateTime, Utc};

pub use super::record_id::RecordId;

pub use super::client_ip::ClientIp;
pub use super::pool::Sym;

/// One audit record, as loaded.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: RecordId,
    /// `AuditData.CreationTime`, in UTC.
    pub time: DateTime<Utc>,
    pub operation: Sym,
    /// The numeric `RecordType` (25 = Microsoft Teams).
    pub record_type: Option<u32>,
    /// The record type's name, kept only when the export gave a name that
    /// maps to no known number.
    pub record_type_name: Option<Sym>,
    pub workload: Option<Sym>,
    /// `UserId`: usually the actor's UPN.
    pub user_id: Option<Sym>,
    /// `UserKey`: for Entra users, the actor's object id.
    pub user_key: Option<Sym>,
    /// `OrganizationId`: the home tenant of the record.
    pub organization_id: Option<Sym>,
    pub user_type: Option<i16>,
    /// `ClientIP`, packed when it is an IPv4 address.
    pub client_ip: Option<ClientIp>,
    /// `ObjectId`, else `ItemName`: what the operation touched.
    pub object: Option<Sym>,
    /// The Teams fields, for records that carry any of them.
    pub chat: Option<Box<ChatFields>>,
    pub source: Source,
}

/// The Microsoft Teams part of a record.
#[derive(Debug, Clone, Default)]
pub struct ChatFields {
    /// `ChatThreadId`.
    pub chat_id: Option<Sym>,
    pub chat_name: Option<Sym>,
    /// `CommunicationType`: `OneOnOne`, `GroupChat`, `Team`, …
    pub communication_type: Option<Sym>,
    pub resource_tenant_id: Option<Sym>,
    pub team_name: Option<Sym>,
    pub channel_name: Option<Sym>,
    pub members: Box<[Member]>,
    pub participants: Option<ParticipantInfo>,
}

/// One entry of `Members[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Member {
    pub upn: Option<Sym>,
    pub display_name: Option<Sym>,
    pub organization_id: Option<Sym>,
    /// `Role`, Microsoft's `MemberRoleType` (see [`member_role_name`]).
    pub role: Option<i32>,
}

/// The name of a `Members[].Role` value in Microsoft's `MemberRoleType`
/// table (Office 365 Management Activity API schema: 0 Member, 1 Owner,
/// 2 Guest); `None` for a value the table does not have. Exports have
/// been seen to use 1 to 3 as well, so screens show the number beside the
/// name, and nothing decides who is a target by it.
pub fn member_role_name(role: i32) -> Option<&'static str> {
    match role {
        0 => Some("member"),
        1 => Some("owner"),
        2 => Some("guest"),
        _ => None,
    }
}

/// A role as screens show it: `owner (1)`, or `unknown (7)`.
pub fn member_role_label(role: i32) -> String {
    format!("{} ({role})", member_role_name(role).unwrap_or("unknown"))
}

/// `ParticipantInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParticipantInfo {
    pub has_foreign_tenant_users: Option<bool>,
    pub has_guest_users: Option<bool>,
    pub has_other_guest_users: Option<bool>,
    pub has_unauthenticated_users: Option<bool>,
    /// The three lists, boxed together and absent when all are empty: a
    /// chat record then keeps 16 bytes here instead of 52, which is a
    /// quarter of a Teams record's memory (most records list nothing, the
    /// others pay one allocation instead of three).
    lists: Option<Box<ParticipantLists>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ParticipantLists {
    domains: Box<[Sym]>,
    tenant_ids: Box<[Sym]>,
    sip_domains: Box<[SipDomain]>,
}

impl ParticipantInfo {
    /// The flags as given, with the lists `ParticipatingDomains`,
    /// `ParticipatingTenantIds` and `ParticipatingSIPDomains`.
    pub fn new(
        flags: [Option<bool>; 4],
        domains: Box<[Sym]>,
        tenant_ids: Box<[Sym]>,
        sip_domains: Box<[SipDomain]>,
    ) -> ParticipantInfo {
        let [foreign, guests, other_guests, unauthenticated] = flags;
        let any = !(domains.is_empty() && tenant_ids.is_empty() && sip_domains.is_empty());
        ParticipantInfo {
            has_foreign_tenant_users: foreign,
            has_guest_users: guests,
            has_other_guest_users: other_guests,
            has_unauthenticated_users: unauthenticated,
            lists: any.then(|| {
                Box::new(ParticipantLists {
                    domains,
                    tenant_ids,
                    sip_domains,
                })
            }),
        }
    }

    /// `ParticipatingDomains` (the home domain among them).
    pub fn participating_domains(&self) -> &[Sym] {
        self.lists.as_deref().map_or(&[], |l| &l.domains)
    }

    /// `ParticipatingTenantIds`.
    pub fn participating_tenant_ids(&self) -> &[Sym] {
        self.lists.as_deref().map_or(&[], |l| &l.tenant_ids)
    }

    /// `ParticipatingSIPDomains`.
    pub fn participating_sip_domains(&self) -> &[SipDomain] {
        self.lists.as_deref().map_or(&[], |l| &l.sip_domains)
    }
}

/// One entry of `ParticipantInfo.ParticipatingSIPDomains`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SipDomain {
    pub domain: Option<Sym>,
    pub tenant_id: Option<Sym>,
}

/// Where a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// Index into [`crate::ual::Dataset::sources`].
    pub file: u32,
    /// 1-based line where the record starts (a `u32`: four billion lines
    /// is far beyond any export, and every record is a little smaller).
    pub line: u32,
    pub raw: RawSpan,
}

/// The bytes of the whole record (CSV row or JSON value) in the source
/// text, and how to find `AuditData` inside them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawSpan {
    pub offset: u64,
    pub len: u32,
    pub kind: RawKind,
}

/// How a record is laid out in its source, so that its `AuditData` can be
/// read again on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawKind {
    /// A CSV row; `AuditData` is the given column.
    CsvRow { column: u16 },
    /// A JSON object; where `AuditData` sits in it.
    Json(JsonEnvelope),
}

/// The JSON record shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonEnvelope {
    /// A bare AuditData object (Management Activity API, NDJSON).
    Bare,
    /// `Search-UnifiedAuditLog | ConvertTo-Json`: `AuditData` is a string
    /// (or, rarely, an object).
    PowerShell,
    /// Microsoft Graph `auditLogRecord`: `auditData` object.
    Graph,
    /// Defender XDR streaming: `properties.RawEventData`.
    DefenderStream,
}

impl JsonEnvelope {
    pub fn name(self) -> &'static str {
        match self {
            JsonEnvelope::Bare => "Management Activity API JSON",
            JsonEnvelope::PowerShell => "Search-UnifiedAuditLog ConvertTo-Json",
            JsonEnvelope::Graph => "Microsoft Graph auditLogRecord",
            JsonEnvelope::DefenderStream => "Defender XDR streaming (RawEventData)",
        }
    }
}

/// Teams' record type number.
pub const RECORD_TYPE_TEAMS: u32 = 25;

impl Record {
    /// Every interned handle of this record, for rewriting after a merge.
    pub(crate) fn remap_syms(&mut self, f: &impl Fn(Sym) -> Sym) {
        let opt = |s: &mut Option<Sym>| {
            if let Some(v) = s {
                *v = f(*v);
            }
        };
        self.operation = f(self.operation);
        opt(&mut self.record_type_name);
        opt(&mut self.workload);
        opt(&mut self.user_id);
        opt(&mut self.user_key);
        opt(&mut self.organization_id);
        if let Some(ClientIp::Text(s)) = &mut self.client_ip {
            *s = f(*s);
        }
        opt(&mut self.object);
        if let Some(c) = self.chat.as_deref_mut() {
            opt(&mut c.chat_id);
            opt(&mut c.chat_name);
            opt(&mut c.communication_type);
            opt(&mut c.resource_tenant_id);
            opt(&mut c.team_name);
            opt(&mut c.channel_name);
            for m in c.members.iter_mut() {
                opt(&mut m.upn);
                opt(&mut m.display_name);
                opt(&mut m.organization_id);
            }
            if let Some(l) = c.participants.as_mut().and_then(|p| p.lists.as_deref_mut()) {
                for s in l.domains.iter_mut().chain(l.tenant_ids.iter_mut()) {
                    *s = f(*s);
                }
                for d in l.sip_domains.iter_mut() {
                    opt(&mut d.domain);
                    opt(&mut d.tenant_id);
                }
            }
        }
    }

    pub fn is_teams(&self) -> bool {
        self.record_type == Some(RECORD_TYPE_TEAMS)
    }
}
