//! One JSON record (of any envelope) or one CSV row → a [`Record`].

use super::client_ip::ClientIp;
use super::fields::{Fields, NumOrName, PsAuditData, Text};
use super::pool::Pool;
use super::record::{
    ChatFields, JsonEnvelope, Member, ParticipantInfo, Record, SipDomain, Source, Sym,
};
use super::record_id::RecordId;
use super::{record_type, time};

/// Why a record was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// The text is not valid JSON (or truncated).
    Json(String),
    /// A JSON value that is no audit record at all.
    NotARecord,
    Missing(&'static str),
    BadTime(String),
    /// A CSV row without the AuditData column.
    ShortRow {
        fields: usize,
        needed: usize,
    },
    EmptyAuditData,
    /// The file could not be read on from here.
    Read(String),
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::Json(e) => write!(f, "invalid AuditData JSON ({e})"),
            Skip::NotARecord => {
                f.write_str("not an audit record (no Id, CreationTime or Operation)")
            }
            Skip::Missing(what) => write!(f, "record has no {what}"),
            Skip::BadTime(t) => write!(f, "unreadable CreationTime {t:?}"),
            Skip::ShortRow { fields, needed } => write!(
                f,
                "malformed CSV row: {fields} field(s), the AuditData column is field {needed}"
            ),
            Skip::EmptyAuditData => f.write_str("empty AuditData"),
            Skip::Read(e) => write!(f, "reading stopped: {e}"),
        }
    }
}

/// Envelope values used when AuditData lacks them (CSV columns, the
/// PowerShell and Graph envelopes).
#[derive(Debug, Default)]
pub struct Fallback<'a> {
    pub id: Option<&'a str>,
    pub time: Option<&'a str>,
    pub operation: Option<&'a str>,
    pub record_type: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub user_key: Option<&'a str>,
    pub organization_id: Option<&'a str>,
    pub workload: Option<&'a str>,
    pub object_id: Option<&'a str>,
    pub client_ip: Option<&'a str>,
    pub user_type: Option<i64>,
}

fn nonempty(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

/// A JSON object from any of the JSON export shapes.
pub fn from_json(
    text: &str,
    pool: &mut Pool,
    source: Source,
) -> Result<(Record, JsonEnvelope), Skip> {
    if super::json_depth::too_deep(text.as_bytes()) {
        return Err(too_deep());
    }
    let outer: Fields = sonic_rs::from_str(text).map_err(json_error)?;
    if let Some(ad) = &outer.ps_audit_data {
        let fb = Fallback {
            id: outer.ps_identity.get(),
            operation: outer.ps_operations.get(),
            user_id: outer.ps_user_ids.get(),
            record_type: outer.record_type.name.as_deref(),
            ..Fallback::default()
        };
        let rt = outer.record_type.number.and_then(|n| u32::try_from(n).ok());
        let mut rec = match ad {
            PsAuditData::Text(t) if t.trim().is_empty() => return Err(Skip::EmptyAuditData),
            PsAuditData::Text(t) => {
                if super::json_depth::too_deep(t.as_bytes()) {
                    return Err(too_deep());
                }
                let inner: Fields = sonic_rs::from_str(t).map_err(json_error)?;
                normalize(&inner, &fb, pool, source)?
            }
            PsAuditData::Object(inner) => normalize(inner, &fb, pool, source)?,
            PsAuditData::Other => return Err(Skip::EmptyAuditData),
        };
        if rec.record_type.is_none() {
            rec.record_type = rt;
        }
        return Ok((rec, JsonEnvelope::PowerShell));
    }
    if let Some(inner) = &outer.graph_audit_data.0 {
        let fb = Fallback {
            id: outer.graph_id.get(),
            time: outer.graph_created.get(),
            operation: outer.graph_operation.get(),
            record_type: outer.graph_record_type.name.as_deref(),
            user_id: outer.graph_user_id.get(),
            user_key: outer.graph_user_key.get(),
            organization_id: outer.graph_organization_id.get(),
            workload: outer.graph_service.get(),
            object_id: outer.graph_object_id.get(),
            client_ip: outer.graph_client_ip.get(),
            user_type: outer.graph_user_type.number,
        };
        return Ok((normalize(inner, &fb, pool, source)?, JsonEnvelope::Graph));
    }
    if let Some(props) = &outer.defender_properties.0 {
        let inner = props.raw_event_data.0.as_ref().ok_or(Skip::NotARecord)?;
        return Ok((
            normalize(inner, &Fallback::default(), pool, source)?,
            JsonEnvelope::DefenderStream,
        ));
    }
    Ok((
        normalize(&outer, &Fallback::default(), pool, source)?,
        JsonEnvelope::Bare,
    ))
}

/// The AuditData of a CSV row, with the row's other columns as fallback.
pub fn from_csv_audit_data(
    audit_data: &[u8],
    fb: &Fallback,
    pool: &mut Pool,
    source: Source,
) -> Result<Record, Skip> {
    if audit_data.iter().all(u8::is_ascii_whitespace) {
        return Err(Skip::EmptyAuditData);
    }
    if super::json_depth::too_deep(audit_data) {
        return Err(too_deep());
    }
    let f: Fields = sonic_rs::from_slice(audit_data).map_err(json_error)?;
    normalize(&f, fb, pool, source)
}

fn too_deep() -> Skip {
    Skip::Json(format!(
        "nested deeper than {} levels",
        super::json_depth::MAX_DEPTH
    ))
}

/// The parser's message without the excerpt of the input it appends:
/// one line, and no record content in the message.
fn json_error(e: sonic_rs::Error) -> Skip {
    let msg = e.to_string();
    Skip::Json(msg.lines().next().unwrap_or_default().trim().to_owned())
}

fn intern(pool: &mut Pool, t: &Text) -> Option<Sym> {
    t.get().map(|s| pool.get_or_intern(s))
}

fn intern_or(pool: &mut Pool, t: &Text, fb: Option<&str>) -> Option<Sym> {
    t.get()
        .or_else(|| fb.and_then(nonempty))
        .map(|s| pool.get_or_intern(s))
}

fn record_type_of(n: &NumOrName, fb: Option<&str>, pool: &mut Pool) -> (Option<u32>, Option<Sym>) {
    if let Some(num) = n.number.and_then(|v| u32::try_from(v).ok()) {
        return (Some(num), None);
    }
    let name = n.name.as_deref().or(fb).and_then(nonempty);
    match name {
        None => (None, None),
        Some(name) => match name
            .parse::<u32>()
            .ok()
            .or_else(|| record_type::number(name))
        {
            Some(num) => (Some(num), None),
            None => (None, Some(pool.get_or_intern(name))),
        },
    }
}

/// The heart of loading: the fields chatevict needs, interned.
pub fn normalize(
    f: &Fields,
    fb: &Fallback,
    pool: &mut Pool,
    source: Source,
) -> Result<Record, Skip> {
    let id = f.id.get().or(fb.id.and_then(nonempty));
    let time_text = f.creation_time.get().or(fb.time.and_then(nonempty));
    let operation = f.operation.get().or(fb.operation.and_then(nonempty));
    let (id, time_text, operation) = match (id, time_text, operation) {
        (None, None, None) => return Err(Skip::NotARecord),
        (None, _, _) => return Err(Skip::Missing("Id")),
        (_, None, _) => return Err(Skip::Missing("CreationTime")),
        (_, _, None) => return Err(Skip::Missing("Operation")),
        (Some(i), Some(t), Some(o)) => (i, t, o),
    };
    let time =
        time::parse_creation_time(time_text).ok_or_else(|| Skip::BadTime(time_text.to_owned()))?;
    let (record_type, record_type_name) = record_type_of(&f.record_type, fb.record_type, pool);

    let chat = chat_fields(f, pool);
    Ok(Record {
        id: RecordId::new(id),
        time,
        operation: pool.get_or_intern(operation),
        record_type,
        record_type_name,
        workload: intern_or(pool, &f.workload, fb.workload),
        user_id: intern_or(pool, &f.user_id, fb.user_id),
        user_key: intern_or(pool, &f.user_key, fb.user_key),
        organization_id: intern_or(pool, &f.organization_id, fb.organization_id),
        user_type: f
            .user_type
            .number
            .or(fb.user_type)
            .and_then(|n| i16::try_from(n).ok()),
        client_ip: f
            .client_ip
            .get()
            .or_else(|| fb.client_ip.and_then(nonempty))
            .map(|s| ClientIp::pack(s).unwrap_or_else(|| ClientIp::Text(pool.get_or_intern(s)))),
        object: f
            .object_id
            .get()
            .or(f.item_name.get())
            .or(fb.object_id.and_then(nonempty))
            .map(|s| pool.get_or_intern(s)),
        chat,
        source,
    })
}

fn chat_fields(f: &Fields, pool: &mut Pool) -> Option<Box<ChatFields>> {
    let any = f.chat_thread_id.get().is_some()
        || f.communication_type.get().is_some()
        || !f.members.0.is_empty()
        || f.participant_info.0.is_some();
    if !any {
        return None;
    }
    let members = f
        .members
        .0
        .iter()
        .filter_map(|m| m.0.as_ref())
        .map(|m| Member {
            upn: intern(pool, &m.upn),
            display_name: intern(pool, &m.display_name),
            organization_id: intern(pool, &m.organization_id),
            role: m
                .role
                .number
                .and_then(|n| i32::try_from(n).ok())
                .or_else(|| {
                    m.role.name.as_deref().and_then(|n| {
                        match n.trim().to_ascii_lowercase().as_str() {
                            "member" => Some(1),
                            "owner" => Some(2),
                            "guest" => Some(3),
                            _ => None,
                        }
                    })
                }),
        })
        .collect();
    let participants = f.participant_info.0.as_ref().map(|p| {
        let list = |pool: &mut Pool, l: &[Text]| -> Box<[Sym]> {
            l.iter().filter_map(|t| intern(pool, t)).collect()
        };
        ParticipantInfo::new(
            [
                p.has_foreign_tenant_users.0,
                p.has_guest_users.0,
                p.has_other_guest_users.0,
                p.has_unauthenticated_users.0,
            ],
            list(pool, &p.participating_domains.0),
            list(pool, &p.participating_tenant_ids.0),
            p.participating_sip_domains
                .0
                .iter()
                .map(|d| SipDomain {
                    domain: intern(pool, &d.domain),
                    tenant_id: intern(pool, &d.tenant_id),
                })
                .collect(),
        )
    });
    Some(Box::new(ChatFields {
        chat_id: intern(pool, &f.chat_thread_id),
        chat_name: intern(pool, &f.chat_name),
        communication_type: intern(pool, &f.communication_type),
        resource_tenant_id: intern(pool, &f.resource_tenant_id),
        team_name: intern(pool, &f.team_name),
        channel_name: intern(pool, &f.channel_name),
        members,
        participants,
    }))
}
