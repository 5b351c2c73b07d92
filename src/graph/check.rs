//! A plan checked whole before anything is sent (DESIGN.md section 5).
//!
//! A plan file can be edited by hand, written by an older chatevict, or
//! tampered with; its targets came from exports that outsiders partly
//! wrote. So before a run, every target is checked, and one refused target
//! means nothing is sent: the ids are of the shapes Teams and Entra issue,
//! every target is of one tenant (the signed-in one for a real run), no
//! target is a user the plan itself shows to be an outsider, and a target
//! listed twice is folded into one (or refused, when its two copies
//! disagree). The runner only takes a [`CheckedPlan`], which only
//! [`check`] makes.

use std::collections::HashMap;

use super::ids;
use crate::triage::plan::Target;
use crate::triage::reasons::ReasonKind;

/// Why a target cannot be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Index of the target in the plan.
    pub index: usize,
    pub reason: String,
}

/// A target the plan lists more than once, sent once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folded {
    pub chat_id: String,
    pub user_upn: String,
    /// How many times the plan lists it.
    pub times: usize,
}

/// A plan whose every target passed [`check`]: canonical ids, one tenant,
/// each target once.
#[derive(Debug, Clone)]
pub struct CheckedPlan {
    targets: Vec<Target>,
    folded: Vec<Folded>,
    tenant_id: Option<String>,
}

impl CheckedPlan {
    /// The targets to run, each once, with canonical (lowercase) ids.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// Targets the plan listed more than once.
    pub fn folded(&self) -> &[Folded] {
        &self.folded
    }

    /// The one tenant of every target (`None`: the plan is empty).
    pub fn tenant_id(&self) -> Option<&str> {
        self.tenant_id.as_deref()
    }

    /// A subset of the targets (for retrying some of them), still checked.
    pub fn only(&self, keep: impl Fn(usize, &Target) -> bool) -> CheckedPlan {
        CheckedPlan {
            targets: self
                .targets
                .iter()
                .enumerate()
                .filter(|(i, t)| keep(*i, t))
                .map(|(_, t)| t.clone())
                .collect(),
            folded: Vec::new(),
            tenant_id: self.tenant_id.clone(),
        }
    }
}

/// Checks a plan's targets. `signed_in_tenant` is the `tid` of the
/// session that will send them; `None` only for a dry run without one.
/// On any refusal, every refused target is listed and nothing may run.
pub fn check(
    targets: &[Target],
    signed_in_tenant: Option<&str>,
) -> Result<CheckedPlan, Vec<Refusal>> {
    let mut refusals = Vec::new();
    let mut out: Vec<Target> = Vec::with_capacity(targets.len());
    let mut folded: Vec<Folded> = Vec::new();
    // (chat id, lowercase UPN) → index in `out`; (chat id, user id) → UPN.
    let mut by_upn: HashMap<(String, String), usize> = HashMap::new();
    let mut by_user_id: HashMap<(String, String), (usize, String)> = HashMap::new();
    let mut tenants: Vec<(String, usize)> = Vec::new();
    let signed_in = signed_in_tenant.map(|t| t.to_ascii_lowercase());
    for (index, t) in targets.iter().enumerate() {
        let mut why: Vec<String> = Vec::new();
        if let Err(e) = ids::check_chat_id(&t.chat_id) {
            why.push(e.to_string());
        }
        let tenant = match ids::check_tenant_id(&t.tenant_id) {
            Ok(tid) => {
                if let Some(s) = &signed_in
                    && *s != tid
                {
                    why.push(format!("its tenant {tid} is not the signed-in tenant {s}"));
                }
                Some(tid)
            }
            Err(e) => {
                why.push(e.to_string());
                None
            }
        };
        let user_id = match t.user_id.as_deref().map(ids::check_user_id) {
            Some(Ok(u)) => Some(u),
            Some(Err(e)) => {
                why.push(e.to_string());
                None
            }
            None => None,
        };
        if let Err(e) = ids::check_upn(&t.user_upn) {
            why.push(e.to_string());
        }
        why.extend(outsider(t));
        if !why.is_empty() {
            refusals.push(Refusal {
                index,
                reason: why.join("; "),
            });
            continue;
        }
        let tenant = tenant.expect("checked");
        match tenants.iter_mut().find(|(x, _)| *x == tenant) {
            Some(e) => e.1 += 1,
            None => tenants.push((tenant.clone(), index)),
        }
        let upn_key = (t.chat_id.clone(), t.user_upn.to_lowercase());
        if let Some(&at) = by_upn.get(&upn_key) {
            let first = &out[at];
            if first.user_id == user_id && first.tenant_id == tenant {
                let f = match folded.iter_mut().find(|f| {
                    f.chat_id == t.chat_id && f.user_upn.eq_ignore_ascii_case(&t.user_upn)
                }) {
                    Some(f) => f,
                    None => {
                        folded.push(Folded {
                            chat_id: t.chat_id.clone(),
                            user_upn: first.user_upn.clone(),
                            times: 1,
                        });
                        folded.last_mut().expect("pushed")
                    }
                };
                f.times += 1;
            } else {
                refusals.push(Refusal {
                    index,
                    reason: format!(
                        "the plan lists {} in this chat twice, with different user or tenant ids",
                        t.user_upn
                    ),
                });
            }
            continue;
        }
        if let Some(u) = &user_id {
            let key = (t.chat_id.clone(), u.clone());
            if let Some((_, other)) = by_user_id.get(&key) {
                refusals.push(Refusal {
                    index,
                    reason: format!(
                        "user id {u} is also the plan's id for {other} in this chat: one id, two users"
                    ),
                });
                continue;
            }
            by_user_id.insert(key, (index, t.user_upn.clone()));
        }
        by_upn.insert(upn_key, out.len());
        let mut t = t.clone();
        t.user_id = user_id;
        t.tenant_id = tenant;
        out.push(t);
    }
    if tenants.len() > 1 {
        let (first, _) = &tenants[0];
        for (index, t) in targets.iter().enumerate() {
            if let Ok(tid) = ids::check_tenant_id(&t.tenant_id)
                && tid != *first
                && !refusals.iter().any(|r| r.index == index)
            {
                refusals.push(Refusal {
                    index,
                    reason: format!(
                        "its tenant {tid} is not the plan's first tenant {first}: one run removes access in one tenant"
                    ),
                });
            }
        }
    }
    if !refusals.is_empty() {
        refusals.sort_by_key(|r| r.index);
        return Err(refusals);
    }
    Ok(CheckedPlan {
        tenant_id: tenants.into_iter().next().map(|(t, _)| t),
        targets: out,
        folded,
    })
}

/// Does the target itself show the user to be an outsider? (A plan edited
/// by hand, or written before chatevict knew better.)
fn outsider(t: &Target) -> Option<String> {
    let domain = t.user_upn.rsplit_once('@').map(|(_, d)| d)?;
    if let Some(d) = t
        .external_domains
        .iter()
        .find(|d| d.eq_ignore_ascii_case(domain))
    {
        return Some(format!(
            "{} is of {d}, one of the chat's external domains: an outsider is never a target",
            t.user_upn
        ));
    }
    let named = t.reasons.iter().any(|r| {
        r.kind == ReasonKind::NotATarget
            && r.detail
                .split_once(':')
                .is_some_and(|(upn, _)| upn.trim().eq_ignore_ascii_case(&t.user_upn))
    });
    named.then(|| {
        format!(
            "the plan's own reasons say {} is not a target (an outsider)",
            t.user_upn
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::plan::UserIdSource;
    use crate::triage::query::Initiated;
    use crate::triage::reasons::ReasonRow;

    const T: &str = "2f1a7c3e-0b5d-4c6e-9a8f-1d2e3f4a5b6c";
    const U: &str = "5b0e7c61-1a2b-4c3d-8e4f-aa11bb22cc33";
    const CHAT: &str = "19:0a1b2c3d4e5f40718293a4b5c6d7e8f9@thread.v2";

    fn target() -> Target {
        Target {
            chat_id: CHAT.into(),
            tenant_id: T.into(),
            user_id: Some(U.into()),
            user_upn: "megan.bowen@contoso.com".into(),
            user_display_name: None,
            user_id_source: UserIdSource::UserKey,
            chat_name: None,
            communication_type: None,
            initiated: Initiated::External,
            external_domains: vec!["fabrikam.com".into()],
            evidence: vec![],
            reasons: vec![],
        }
    }

    fn refused(t: Vec<Target>, tid: Option<&str>) -> Vec<(usize, String)> {
        check(&t, tid)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.index, r.reason))
            .collect()
    }

    #[test]
    fn a_good_plan_passes_with_canonical_ids() {
        let mut t = target();
        t.user_id = Some(U.to_uppercase());
        t.tenant_id = T.to_uppercase();
        let c = check(&[t], Some(T)).unwrap();
        assert_eq!(c.targets()[0].user_id.as_deref(), Some(U));
        assert_eq!(c.targets()[0].tenant_id, T);
        assert_eq!(c.tenant_id(), Some(T));
    }

    #[test]
    fn each_bad_field_is_refused_with_its_reason() {
        type Edit = fn(&mut Target);
        let cases: Vec<(Edit, &str)> = vec![
            (|t| t.chat_id = "not-a-chat".into(), "not a Teams chat id"),
            (
                |t| t.chat_id = "19:a\u{202e}b@thread.v2".into(),
                "not a Teams chat id",
            ),
            (
                |t| t.user_id = Some(format!("{{{U}}}")),
                "not an Entra object id",
            ),
            (|t| t.tenant_id = "contoso.com".into(), "not a tenant id"),
            (
                |t| t.user_upn = "megan bowen".into(),
                "not a user principal name",
            ),
            (
                |t| t.user_upn = "mallory@fabrikam.com".into(),
                "outsider is never a target",
            ),
            (
                |t| {
                    t.reasons.push(ReasonRow {
                        kind: ReasonKind::NotATarget,
                        detail: "Megan.Bowen@contoso.com: a member of tenant x".into(),
                        record_id: None,
                    })
                },
                "not a target (an outsider)",
            ),
        ];
        for (edit, why) in cases {
            let mut bad = target();
            edit(&mut bad);
            let mut ok = target();
            ok.chat_id = "19:ffff@thread.v2".into();
            let r = refused(vec![ok, bad], Some(T));
            assert_eq!(r.len(), 1, "{why}: {r:?}");
            assert_eq!(r[0].0, 1);
            assert!(r[0].1.contains(why), "{why}: {}", r[0].1);
        }
    }

    #[test]
    fn the_signed_in_tenant_and_one_tenant_per_plan() {
        let other = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
        let r = refused(vec![target()], Some(other));
        assert!(r[0].1.contains("not the signed-in tenant"), "{r:?}");
        let mut b = target();
        b.chat_id = "19:ffff@thread.v2".into();
        b.tenant_id = other.into();
        let r = refused(vec![target(), b], None);
        assert_eq!(r.len(), 1);
        assert!(r[0].1.contains("one run removes access in one tenant"));
    }

    #[test]
    fn a_target_listed_twice_is_folded_or_refused() {
        let mut again = target();
        again.user_upn = "MEGAN.BOWEN@contoso.com".into();
        let c = check(&[target(), again.clone(), target()], Some(T)).unwrap();
        assert_eq!(c.targets().len(), 1);
        assert_eq!(
            c.folded(),
            [Folded {
                chat_id: CHAT.into(),
                user_upn: "megan.bowen@contoso.com".into(),
                times: 3
            }]
        );
        again.user_id = Some("6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d".into());
        let r = refused(vec![target(), again], Some(T));
        assert_eq!(r.len(), 1);
        assert!(r[0].1.contains("twice"), "{r:?}");
        let mut alias = target();
        alias.user_upn = "someone.else@contoso.com".into();
        let r = refused(vec![target(), alias], Some(T));
        assert!(r[0].1.contains("one id, two users"), "{r:?}");
    }
}
