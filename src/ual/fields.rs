//! Lenient extraction of the fields chatevict uses from one JSON object.
//!
//! Exports disagree on types (a `RecordType` that is a name, a `ClientIP`
//! that is `"<null>"`, a number where a string is documented), so every
//! field here accepts whatever JSON it meets and keeps what makes sense.
//! A record is never rejected because a field it does not need is odd.
//! Strings are borrowed from the input when they carry no escapes.
//!
//! These types are read with `sonic-rs` (SIMD JSON): the loader spends most
//! of its time here, and the budget is a small multiple of merely splitting
//! the CSV.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Visitor methods that answer `$value` for every scalar (and `null`),
/// for the lenient types below that keep only lists or objects.
macro_rules! scalars_give {
    ($value:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

/// A scalar read as text: strings as they are, numbers and booleans as
/// their JSON text, `null`, objects and arrays as absent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl<'a> Text<'a> {
    /// The value, trimmed, or `None` when empty.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v))))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(if v { "true" } else { "false" }))))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(V)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A value that is documented as a number but is sometimes a name
/// (`"RecordType": "MicrosoftTeams"`, `"userType": "Regular"`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NumOrName<'a> {
    pub number: Option<i64>,
    pub name: Option<Cow<'a, str>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for NumOrName<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Text(t) = Text::deserialize(d)?;
        Ok(match t {
            None => NumOrName::default(),
            Some(s) => match s.trim().parse::<i64>() {
                Ok(n) => NumOrName {
                    number: Some(n),
                    name: None,
                },
                Err(_) if s.trim().is_empty() => NumOrName::default(),
                Err(_) => NumOrName {
                    number: None,
                    name: Some(s),
                },
            },
        })
    }
}

/// A boolean that may arrive as `true`, `"True"` or `1`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub Option<bool>);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Text(t) = Text::deserialize(d)?;
        Ok(Flag(t.and_then(
            |s| match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
        )))
    }
}

/// A list that is sometimes absent, `null` or not a list at all: then it
/// is empty. Its elements must be types that accept any JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = List<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = s.next_element::<T>()? {
                    v.push(x);
                }
                Ok(List(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(List::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(List::default())
            }
            scalars_give!(List::default());
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// An object-shaped value (a struct of lenient fields) kept only when it
/// is a JSON object; any other value is skipped, never an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lenient<T>(pub Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Lenient<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(m)).map(|t| Lenient(Some(t)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            scalars_give!(Lenient(None));
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// The PowerShell envelope's `AuditData`: a JSON string (usual) or an
/// object (when the export was re-serialised).
#[derive(Debug)]
pub enum PsAuditData<'a> {
    Text(Cow<'a, str>),
    Object(Box<Fields<'a>>),
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for PsAuditData<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PsAuditData<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("AuditData")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(PsAuditData::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(PsAuditData::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(PsAuditData::Text(Cow::Owned(v)))
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Self::Value, A::Error> {
                Fields::deserialize(de::value::MapAccessDeserializer::new(m))
                    .map(|f| PsAuditData::Object(Box::new(f)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(PsAuditData::Other)
            }
            scalars_give!(PsAuditData::Other);
        }
        d.deserialize_any(V)
    }
}

/// The subset of AuditData fields chatevict reads, plus the envelope
/// fields of the JSON export shapes. Unknown keys are skipped.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Fields<'a> {
    // AuditData (PascalCase) — also the classic envelope's RecordType.
    #[serde(rename = "CreationTime", borrow)]
    pub creation_time: Text<'a>,
    #[serde(rename = "Id", borrow)]
    pub id: Text<'a>,
    #[serde(rename = "Operation", borrow)]
    pub operation: Text<'a>,
    #[serde(rename = "OrganizationId", borrow)]
    pub organization_id: Text<'a>,
    #[serde(rename = "RecordType", borrow)]
    pub record_type: NumOrName<'a>,
    #[serde(rename = "UserKey", borrow)]
    pub user_key: Text<'a>,
    #[serde(rename = "UserType", borrow)]
    pub user_type: NumOrName<'a>,
    #[serde(rename = "Workload", borrow)]
    pub workload: Text<'a>,
    #[serde(rename = "UserId", borrow)]
    pub user_id: Text<'a>,
    #[serde(rename = "ClientIP", borrow)]
    pub client_ip: Text<'a>,
    #[serde(rename = "ObjectId", borrow)]
    pub object_id: Text<'a>,
    #[serde(rename = "ItemName", borrow)]
    pub item_name: Text<'a>,
    #[serde(rename = "ChatThreadId", borrow)]
    pub chat_thread_id: Text<'a>,
    #[serde(rename = "ChatName", borrow)]
    pub chat_name: Text<'a>,
    #[serde(rename = "CommunicationType", borrow)]
    pub communication_type: Text<'a>,
    #[serde(rename = "ResourceTenantId", borrow)]
    pub resource_tenant_id: Text<'a>,
    #[serde(rename = "TeamName", borrow)]
    pub team_name: Text<'a>,
    #[serde(rename = "ChannelName", borrow)]
    pub channel_name: Text<'a>,
    #[serde(rename = "Members", borrow)]
    pub members: List<Lenient<MemberFields<'a>>>,
    #[serde(rename = "ParticipantInfo", borrow)]
    pub participant_info: Lenient<ParticipantFields<'a>>,

    // Search-UnifiedAuditLog | ConvertTo-Json envelope.
    #[serde(rename = "AuditData", borrow)]
    pub ps_audit_data: Option<PsAuditData<'a>>,
    #[serde(rename = "Identity", borrow)]
    pub ps_identity: Text<'a>,
    #[serde(rename = "Operations", borrow)]
    pub ps_operations: Text<'a>,
    #[serde(rename = "UserIds", borrow)]
    pub ps_user_ids: Text<'a>,

    // Microsoft Graph auditLogRecord envelope (camelCase).
    #[serde(rename = "auditData", borrow)]
    pub graph_audit_data: Lenient<Box<Fields<'a>>>,
    #[serde(rename = "id", borrow)]
    pub graph_id: Text<'a>,
    #[serde(rename = "createdDateTime", borrow)]
    pub graph_created: Text<'a>,
    #[serde(rename = "auditLogRecordType", borrow)]
    pub graph_record_type: NumOrName<'a>,
    #[serde(rename = "operation", borrow)]
    pub graph_operation: Text<'a>,
    #[serde(rename = "organizationId", borrow)]
    pub graph_organization_id: Text<'a>,
    #[serde(rename = "userType", borrow)]
    pub graph_user_type: NumOrName<'a>,
    /// Graph's `userId` is the classic `UserKey`.
    #[serde(rename = "userId", borrow)]
    pub graph_user_key: Text<'a>,
    /// Graph's `userPrincipalName` is the classic `UserId`.
    #[serde(rename = "userPrincipalName", borrow)]
    pub graph_user_id: Text<'a>,
    #[serde(rename = "service", borrow)]
    pub graph_service: Text<'a>,
    #[serde(rename = "objectId", borrow)]
    pub graph_object_id: Text<'a>,
    #[serde(rename = "clientIp", borrow)]
    pub graph_client_ip: Text<'a>,

    // Defender XDR streaming envelope.
    #[serde(rename = "properties", borrow)]
    pub defender_properties: Lenient<DefenderProperties<'a>>,
}

/// One `Members[]` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MemberFields<'a> {
    #[serde(rename = "UPN", borrow)]
    pub upn: Text<'a>,
    #[serde(rename = "DisplayName", borrow)]
    pub display_name: Text<'a>,
    #[serde(rename = "OrganizationId", borrow)]
    pub organization_id: Text<'a>,
    #[serde(rename = "Role", borrow)]
    pub role: NumOrName<'a>,
}

/// `ParticipantInfo`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ParticipantFields<'a> {
    #[serde(rename = "HasForeignTenantUsers")]
    pub has_foreign_tenant_users: Flag,
    #[serde(rename = "HasGuestUsers")]
    pub has_guest_users: Flag,
    #[serde(rename = "HasOtherGuestUsers")]
    pub has_other_guest_users: Flag,
    #[serde(rename = "HasUnauthenticatedUsers")]
    pub has_unauthenticated_users: Flag,
    #[serde(rename = "ParticipatingDomains", borrow)]
    pub participating_domains: List<Text<'a>>,
    #[serde(rename = "ParticipatingTenantIds", borrow)]
    pub participating_tenant_ids: List<Text<'a>>,
    #[serde(rename = "ParticipatingSIPDomains", borrow)]
    pub participating_sip_domains: List<SipFields<'a>>,
}

/// One `ParticipatingSIPDomains` entry (an object in real data, though
/// documented as a string: both are accepted).
#[derive(Debug, Default)]
pub struct SipFields<'a> {
    pub domain: Text<'a>,
    pub tenant_id: Text<'a>,
}

impl<'de: 'a, 'a> Deserialize<'de> for SipFields<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Obj<'a> {
            #[serde(rename = "DomainName", borrow)]
            domain: Text<'a>,
            #[serde(rename = "TenantId", borrow)]
            tenant_id: Text<'a>,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SipFields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a SIP domain")
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Self::Value, A::Error> {
                let o = Obj::deserialize(de::value::MapAccessDeserializer::new(m))?;
                Ok(SipFields {
                    domain: o.domain,
                    tenant_id: o.tenant_id,
                })
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(SipFields {
                    domain: Text(Some(Cow::Borrowed(v))),
                    tenant_id: Text(None),
                })
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(SipFields {
                    domain: Text(Some(Cow::Owned(v.to_owned()))),
                    tenant_id: Text(None),
                })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(SipFields::default())
            }
            scalars_give!(SipFields::default());
        }
        d.deserialize_any(V)
    }
}

/// The Defender streaming envelope's `properties`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DefenderProperties<'a> {
    #[serde(rename = "RawEventData", borrow)]
    pub raw_event_data: Lenient<Box<Fields<'a>>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_accepts_any_scalar_and_drops_containers() {
        let f: Fields = sonic_rs::from_str(
            r#"{"Id":"a","Operation":7,"UserId":null,"ClientIP":{"x":1},"ObjectId":[1,2],"Workload":true}"#,
        )
        .unwrap();
        assert_eq!(f.id.get(), Some("a"));
        assert_eq!(f.operation.get(), Some("7"));
        assert_eq!(f.user_id.get(), None);
        assert_eq!(f.client_ip.get(), None);
        assert_eq!(f.object_id.get(), None);
        assert_eq!(f.workload.get(), Some("true"));
    }

    #[test]
    fn record_type_number_or_name() {
        let f: Fields = sonic_rs::from_str(r#"{"RecordType":"25"}"#).unwrap();
        assert_eq!(f.record_type.number, Some(25));
        let f: Fields = sonic_rs::from_str(r#"{"RecordType":"MicrosoftTeams"}"#).unwrap();
        assert_eq!(f.record_type.name.as_deref(), Some("MicrosoftTeams"));
    }

    #[test]
    fn misfit_members_are_dropped_not_fatal() {
        let f: Fields = sonic_rs::from_str(
            r#"{"Id":"x","Members":[{"UPN":"a@b.c","Role":"1"},null,"junk",{"UPN":{"odd":1}}]}"#,
        )
        .unwrap();
        let m: Vec<_> = f.members.0.iter().filter_map(|m| m.0.as_ref()).collect();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].upn.get(), Some("a@b.c"));
        assert_eq!(m[0].role.number, Some(1));
        let f: Fields = sonic_rs::from_str(r#"{"Members":"nope","ParticipantInfo":[1]}"#).unwrap();
        assert!(f.members.0.is_empty());
        assert!(f.participant_info.0.is_none());
        let f: Fields =
            sonic_rs::from_str(r#"{"Members":[{"UPN":"a\"b@c","DisplayName":"\u00e9"}]}"#).unwrap();
        let m = f.members.0[0].0.as_ref().unwrap();
        assert_eq!(m.upn.get(), Some("a\"b@c"));
        assert_eq!(m.display_name.get(), Some("é"));
    }

    #[test]
    fn sip_domains_as_objects_or_strings() {
        let p: ParticipantFields = sonic_rs::from_str(
            r#"{"HasForeignTenantUsers":"True","ParticipatingSIPDomains":[{"DomainName":"f.com","TenantId":"t"},"g.com"]}"#,
        )
        .unwrap();
        assert_eq!(p.has_foreign_tenant_users.0, Some(true));
        let d = &p.participating_sip_domains.0;
        assert_eq!(d[0].domain.get(), Some("f.com"));
        assert_eq!(d[0].tenant_id.get(), Some("t"));
        assert_eq!(d[1].domain.get(), Some("g.com"));
    }
}
