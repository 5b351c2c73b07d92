//! Does a record show another tenant? (DESIGN.md section 4.)
//!
//! The home tenant of a record is its `OrganizationId`. A record is
//! *external* when `ParticipantInfo` says foreign-tenant or
//! unauthenticated users took part, or when a participating tenant, a
//! member's tenant or the resource tenant is another tenant. Guests
//! (`#EXT#` accounts) live in the home tenant: they are flagged apart and
//! do not make a record external by themselves.

use crate::ual::{Dataset, Record, Sym};

/// Tenant ids are GUIDs; exports vary in case.
fn same_tenant(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Whether the record shows a tenant other than its own.
pub fn is_external(ds: &Dataset, r: &Record) -> bool {
    let Some(c) = r.chat.as_deref() else {
        return false;
    };
    let home = r.organization_id.filter(|&h| !ds.str(h).trim().is_empty());
    // The same handle is the same text: most comparisons stop there.
    let other = |t: Option<Sym>| match (t, home) {
        (Some(t), Some(h)) => t != h && !same_tenant(ds.str(t), ds.str(h)),
        _ => false,
    };
    if let Some(p) = c.participants.as_ref() {
        if p.has_foreign_tenant_users == Some(true) || p.has_unauthenticated_users == Some(true) {
            return true;
        }
        if p.participating_tenant_ids().iter().any(|&t| other(Some(t)))
            || p.participating_sip_domains()
                .iter()
                .any(|d| other(d.tenant_id))
        {
            return true;
        }
    }
    c.members.iter().any(|m| other(m.organization_id)) || other(c.resource_tenant_id)
}

/// Is this UPN a guest account of the home tenant (`…#EXT#@…`)?
pub fn is_guest_upn(upn: &str) -> bool {
    upn.as_bytes()
        .windows(5)
        .any(|w| w.eq_ignore_ascii_case(b"#ext#"))
}

/// Who a chat member is, seen from the record's home tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    /// A user of the home tenant.
    Home,
    /// A user of another tenant.
    External,
    /// A guest account (`#EXT#`) of the home tenant.
    Guest,
    /// The member's tenant is not in the record.
    Unknown,
}

impl MemberKind {
    /// The badge shown beside the member.
    pub fn label(self) -> &'static str {
        match self {
            MemberKind::Home => "home",
            MemberKind::External => "external",
            MemberKind::Guest => "guest",
            MemberKind::Unknown => "?",
        }
    }
}

/// A member's kind from its UPN, its tenant and the record's home tenant.
/// The member role number does not decide it: exports disagree with
/// Microsoft's role table about what the numbers mean.
pub fn member_kind(upn: &str, org: &str, home: &str) -> MemberKind {
    if is_guest_upn(upn) {
        MemberKind::Guest
    } else if org.trim().is_empty() {
        MemberKind::Unknown
    } else if same_tenant(org, home) {
        MemberKind::Home
    } else {
        MemberKind::External
    }
}

/// Whether the record shows guests of the home tenant.
pub fn has_guests(ds: &Dataset, r: &Record) -> bool {
    let Some(c) = r.chat.as_deref() else {
        return false;
    };
    if let Some(p) = c.participants.as_ref()
        && (p.has_guest_users == Some(true) || p.has_other_guest_users == Some(true))
    {
        return true;
    }
    c.members.iter().any(|m| is_guest_upn(ds.opt(m.upn)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_upns() {
        assert!(is_guest_upn(
            "ext001_fabrikam_com#EXT#@contoso.onmicrosoft.com"
        ));
        assert!(is_guest_upn("a#ext#@b"));
        assert!(!is_guest_upn("alice@contoso.com"));
    }

    #[test]
    fn member_kinds() {
        let home = "9a1b2c3d-0000-4000-8000-00000000000a";
        let other = "7e6f5a4b-0000-4000-8000-00000000000b";
        assert_eq!(member_kind("a@contoso.com", home, home), MemberKind::Home);
        // Exports vary the case and pad the tenant id.
        let upper = format!(" {} ", home.to_uppercase());
        assert_eq!(member_kind("a@contoso.com", &upper, home), MemberKind::Home);
        assert_eq!(
            member_kind("x@fabrikam.com", other, home),
            MemberKind::External
        );
        // A guest is a guest whatever tenant the record gives it.
        assert_eq!(
            member_kind("x_f.com#EXT#@contoso.com", home, home),
            MemberKind::Guest
        );
        assert_eq!(
            member_kind("x_f.com#EXT#@contoso.com", other, home),
            MemberKind::Guest
        );
        assert_eq!(
            member_kind("a@contoso.com", "  ", home),
            MemberKind::Unknown
        );
        assert_eq!(MemberKind::Unknown.label(), "?");
    }
}
