//! Why a chat counts as external, why it counts as started outside or
//! inside the home tenant, and why someone seen in it is no target: the
//! evidence an admin reads before removing anything (DESIGN.md section 4).

use serde::{Deserialize, Serialize};

/// What a reason says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    /// `ParticipantInfo.HasForeignTenantUsers`.
    ForeignTenantUsers,
    /// `ParticipantInfo.HasUnauthenticatedUsers`: anonymous participants.
    UnauthenticatedUsers,
    /// A `ParticipatingTenantIds` entry of another tenant.
    OtherTenant,
    /// A `ParticipatingSIPDomains` entry of another tenant.
    OtherTenantDomain,
    /// A `Members[]` entry whose `OrganizationId` is another tenant.
    OtherTenantMember,
    /// `ResourceTenantId` is another tenant: the chat lives there.
    ResourceTenant,
    /// A `ParticipatingDomains` entry that no record shows as a home domain.
    ExternalDomain,
    /// Why the chat counts as started from another tenant.
    StartedExternally,
    /// Why the chat counts as started in the home tenant.
    StartedInternally,
    /// Nothing says who started the chat.
    StartUnknown,
    /// Someone seen in the chat who is no target: an outsider.
    NotATarget,
    /// A kind written by a newer chatevict.
    #[serde(other)]
    Other,
}

impl ReasonKind {
    /// The words shown before the detail.
    pub fn label(self) -> &'static str {
        match self {
            ReasonKind::ForeignTenantUsers => "users of another tenant took part",
            ReasonKind::UnauthenticatedUsers => "anonymous users took part",
            ReasonKind::OtherTenant => "another tenant took part",
            ReasonKind::OtherTenantDomain => "another tenant's domain took part",
            ReasonKind::OtherTenantMember => "member of another tenant",
            ReasonKind::ResourceTenant => "the chat lives in another tenant",
            ReasonKind::ExternalDomain => "a domain of no home user took part",
            ReasonKind::StartedExternally => "started externally",
            ReasonKind::StartedInternally => "started internally",
            ReasonKind::StartUnknown => "start unknown",
            ReasonKind::NotATarget => "not a target",
            ReasonKind::Other => "other",
        }
    }

    /// Does this reason say why the chat is external (rather than how it
    /// started, or who is not a target)?
    pub fn is_external_evidence(self) -> bool {
        !matches!(
            self,
            ReasonKind::StartedExternally
                | ReasonKind::StartedInternally
                | ReasonKind::StartUnknown
                | ReasonKind::NotATarget
                | ReasonKind::Other
        )
    }
}

/// One reason, with the first record that shows it (an index into the
/// dataset's records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub kind: ReasonKind,
    /// What was seen: a tenant id, a domain, a UPN and why, or empty.
    pub detail: String,
    pub record: Option<u32>,
}

impl Reason {
    /// `label: detail`, for people (not yet made safe for a terminal).
    pub fn text(&self) -> String {
        if self.detail.is_empty() {
            self.kind.label().to_owned()
        } else {
            format!("{}: {}", self.kind.label(), self.detail)
        }
    }
}

/// A reason as a plan or `chats --format jsonl` writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonRow {
    pub kind: ReasonKind,
    pub detail: String,
    /// The id of the first record that shows it.
    pub record_id: Option<String>,
}

/// Reasons gathered record after record, each said once (the first record
/// that shows it is kept).
#[derive(Debug, Default, Clone)]
pub struct Reasons(pub Vec<Reason>);

impl Reasons {
    pub fn add(&mut self, kind: ReasonKind, detail: impl AsRef<str>, record: Option<u32>) {
        let detail = detail.as_ref();
        if !self
            .0
            .iter()
            .any(|r| r.kind == kind && r.detail.eq_ignore_ascii_case(detail))
        {
            self.0.push(Reason {
                kind,
                detail: detail.to_owned(),
                record,
            });
        }
    }

    /// External evidence first, then how the chat started, then who is
    /// not a target; in each group, in the order seen.
    pub fn finish(mut self) -> Vec<Reason> {
        let group = |k: ReasonKind| match k {
            k if k.is_external_evidence() => 0,
            ReasonKind::NotATarget => 2,
            _ => 1,
        };
        self.0.sort_by_key(|r| group(r.kind));
        self.0.shrink_to_fit();
        self.0
    }
}
