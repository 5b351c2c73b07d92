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
        if p.participating_tenant_ids.iter().any(|&t| other(Some(t)))
            || p.participating_sip_domains
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
}
