//! An outsider is never a target (DESIGN.md section 4), however they show
//! up in the home tenant's log: acting alone, listed a member of another
//! tenant elsewhere in the same chat or in another chat, with a domain
//! that is the chat's external domain, or as the actor of a `MemberAdded`
//! without tenants. Guests of the home tenant stay targets. The fixture is
//! `tests/fixtures/outsiders.ndjson` (made by `make_outsider_fixture.py`);
//! a property test builds random exports and checks the rule on every
//! plan.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use chatevict::triage::chats::Chat;
use chatevict::triage::index::Index;
use chatevict::triage::plan;
use chatevict::triage::query::Initiated;
use chatevict::triage::reasons::ReasonKind;
use chatevict::ual::Dataset;
use common::*;
use proptest::prelude::*;

const H: &str = "2f1a7c3e-0b5d-4c6e-9a8f-1d2e3f4a5b6c";
const F: &str = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const N: &str = "4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8";
const O1: &str = "19:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1@thread.v2";
const O2: &str = "19:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2@thread.v2";
const O3A: &str = "19:c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3@thread.v2";
const O3B: &str = "19:meeting_ZmFrZW1lZXRpbmdpZDAwMDAwMDAwMDAwMDAw@thread.v2";
const O4: &str = "19:d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4@thread.v2";
const O5: &str = "19:e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5@thread.v2";
const O6: &str =
    "19:55555555-6666-4777-8888-999999999999_9a8b7c6d-5e4f-4d3c-8b2a-190817263544@unq.gbl.spaces";

fn fixture_set() -> (Dataset, Index) {
    let ds = load_fixture("outsiders.ndjson");
    assert!(ds.problems.is_empty(), "{:?}", problems(&ds));
    let ix = Index::build(&ds);
    (ds, ix)
}

fn chat<'a>(ds: &Dataset, ix: &'a Index, id: &str) -> &'a Chat {
    ix.chats
        .by_id(ds.sym(id).unwrap_or_else(|| panic!("no string {id}")))
        .unwrap_or_else(|| panic!("no chat {id}"))
}

fn targets(ds: &Dataset, c: &Chat) -> Vec<String> {
    c.targets()
        .iter()
        .map(|u| ds.str(u.upn).to_owned())
        .collect()
}

/// The `NotATarget` reasons of a chat: (detail, record id).
fn not_targets(ds: &Dataset, c: &Chat) -> Vec<(String, String)> {
    c.reasons()
        .iter()
        .filter(|r| r.kind == ReasonKind::NotATarget)
        .map(|r| {
            (
                r.detail.clone(),
                ds.records[r.record.unwrap() as usize].id.to_string(),
            )
        })
        .collect()
}

fn kinds(c: &Chat) -> Vec<ReasonKind> {
    c.reasons().iter().map(|r| r.kind).collect()
}

#[test]
fn an_outsider_acting_alone_is_no_target() {
    let (ds, ix) = fixture_set();
    let c = chat(&ds, &ix, O1);
    assert!(c.external);
    assert_eq!(targets(&ds, c), ["alex.wilber@contoso.com"]);
    assert_eq!(c.external_domains(), ["fabrikam.com"]);
    assert_eq!(
        not_targets(&ds, c),
        [(
            "mallory@fabrikam.com: fabrikam.com is one of the chat's external domains".into(),
            "0e000001-0000-4000-8000-000000000001".into()
        )]
    );
    assert_eq!(
        kinds(c),
        [
            ReasonKind::ForeignTenantUsers,
            ReasonKind::ExternalDomain,
            ReasonKind::StartUnknown,
            ReasonKind::NotATarget
        ]
    );
}

#[test]
fn a_member_of_another_tenant_in_the_same_chat_is_no_target() {
    let (ds, ix) = fixture_set();
    let c = chat(&ds, &ix, O2);
    assert_eq!(targets(&ds, c), ["megan.bowen@contoso.com"]);
    assert_eq!(c.initiated, Initiated::External);
    assert_eq!(
        not_targets(&ds, c),
        [(
            format!("trent@northwind.example: a member of tenant {N}"),
            "0e000003-0000-4000-8000-000000000003".into()
        )]
    );
    let started: Vec<&str> = c
        .reasons()
        .iter()
        .filter(|r| r.kind == ReasonKind::StartedExternally)
        .map(|r| r.detail.as_str())
        .collect();
    assert_eq!(
        started,
        [format!("the chat lives in tenant {N} (ResourceTenantId)")]
    );
}

#[test]
fn a_member_of_another_tenant_in_another_chat_is_no_target() {
    let (ds, ix) = fixture_set();
    // Victor is listed in Fabrikam in O3a (in another case of his UPN),
    // and acts in a meeting chat that shows no tenant or domain at all.
    let c = chat(&ds, &ix, O3B);
    assert!(c.external, "anonymous participants");
    assert!(c.external_domains().is_empty() && c.external_tenants().is_empty());
    assert_eq!(targets(&ds, c), ["patti.fernandez@contoso.com"]);
    assert_eq!(
        not_targets(&ds, c),
        [(
            format!("victor@fabrikam.com: a member of tenant {F}"),
            "0e000006-0000-4000-8000-000000000006".into()
        )]
    );
    // Why the meeting chat is external is said, since nothing else is.
    assert_eq!(kinds(c)[0], ReasonKind::UnauthenticatedUsers);
    assert_eq!(
        targets(&ds, chat(&ds, &ix, O3A)),
        ["megan.bowen@contoso.com"]
    );
    assert_eq!(chat(&ds, &ix, O3A).initiated, Initiated::Internal);
}

#[test]
fn an_outsider_whose_domain_is_another_tenants_is_no_target() {
    let (ds, ix) = fixture_set();
    let c = chat(&ds, &ix, O4);
    assert_eq!(targets(&ds, c), ["lee.gu@contoso.com"]);
    assert_eq!(c.external_domains(), ["proseware.example"]);
    assert_eq!(not_targets(&ds, c).len(), 1);
}

#[test]
fn guests_of_the_home_tenant_stay_targets() {
    let (ds, ix) = fixture_set();
    let c = chat(&ds, &ix, O5);
    assert_eq!(
        targets(&ds, c),
        [
            "ann_proseware.example#EXT#@contoso.onmicrosoft.com",
            "grady.archie@contoso.com"
        ]
    );
    assert!(c.targets()[0].guest);
    assert!(not_targets(&ds, c).is_empty());
}

#[test]
fn the_outsider_adding_members_without_tenants_is_no_target() {
    let (ds, ix) = fixture_set();
    let c = chat(&ds, &ix, O6);
    assert!(targets(&ds, c).is_empty());
    assert_eq!(
        not_targets(&ds, c),
        [(
            format!("rob.young@fabrikam.com: a member of tenant {F}"),
            "0e00000b-0000-4000-8000-00000000000b".into()
        )]
    );
}

#[test]
fn the_plan_carries_the_reasons_and_no_outsider() {
    let (ds, ix) = fixture_set();
    let t = plan::targets(&ds, &ix, 0..ix.chats.list.len());
    let upns: BTreeSet<&str> = t.iter().map(|t| t.user_upn.as_str()).collect();
    assert_eq!(
        upns.into_iter().collect::<Vec<_>>(),
        [
            "alex.wilber@contoso.com",
            "ann_proseware.example#EXT#@contoso.onmicrosoft.com",
            "grady.archie@contoso.com",
            "lee.gu@contoso.com",
            "megan.bowen@contoso.com",
            "patti.fernandez@contoso.com"
        ]
    );
    assert_eq!(t.len(), 7);
    let o1 = t.iter().find(|t| t.chat_id == O1).unwrap();
    assert_eq!(o1.tenant_id, H);
    let kinds: Vec<ReasonKind> = o1.reasons.iter().map(|r| r.kind).collect();
    assert!(kinds.contains(&ReasonKind::NotATarget), "{kinds:?}");
    assert_eq!(
        o1.reasons[0].record_id.as_deref(),
        Some("0e000001-0000-4000-8000-000000000001")
    );
}

#[test]
fn chats_jsonl_lists_the_reasons() {
    let (code, out, _) = run(&[
        "chats",
        fixture("outsiders.ndjson").to_str().unwrap(),
        "--format",
        "jsonl",
        "--filter",
        &format!("chat:{O3B}"),
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        v["reasons"],
        serde_json::json!([
            {"kind": "unauthenticated_users", "detail": "", "record_id": "0e000007-0000-4000-8000-000000000007"},
            {"kind": "start_unknown", "detail": "no record has a ResourceTenantId or is a ChatCreated", "record_id": null},
            {"kind": "not_a_target", "detail": format!("victor@fabrikam.com: a member of tenant {F}"), "record_id": "0e000006-0000-4000-8000-000000000006"}
        ])
    );
    let users: Vec<&str> = v["home_users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["upn"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["patti.fernandez@contoso.com"]);
}

// ---- the property: no plan from any export holds an outsider ----

/// People of three tenants; index 0..4 home (4 a guest), 5..9 outsiders.
const PEOPLE: &[(&str, &str)] = &[
    ("alex@contoso.com", H),
    ("megan@contoso.com", H),
    ("patti@contoso.com", H),
    ("lee@contoso.com", H),
    ("ann_x.example#EXT#@contoso.onmicrosoft.com", H),
    ("rob@fabrikam.com", F),
    ("sam@fabrikam.com", F),
    ("nina@northwind.example", N),
    ("omar@northwind.example", N),
    ("Rob@Fabrikam.com", F),
];

#[derive(Debug, Clone)]
struct Rec {
    chat: u8,
    op: u8,
    actor: usize,
    /// (person, whether the entry carries an OrganizationId)
    members: Vec<(usize, bool)>,
    foreign_flag: bool,
    domains: Vec<usize>,
    resource: Option<usize>,
}

fn rec() -> impl Strategy<Value = Rec> {
    (
        0u8..4,
        0u8..4,
        0..PEOPLE.len(),
        prop::collection::vec((0..PEOPLE.len(), any::<bool>()), 0..4),
        any::<bool>(),
        prop::collection::vec(0usize..3, 0..3),
        prop::option::of(0usize..3),
    )
        .prop_map(
            |(chat, op, actor, members, foreign_flag, domains, resource)| Rec {
                chat,
                op,
                actor,
                members,
                foreign_flag,
                domains,
                resource,
            },
        )
}

fn tenant_of(i: usize) -> &'static str {
    [H, F, N][i]
}

fn domain(i: usize) -> &'static str {
    ["contoso.com", "fabrikam.com", "northwind.example"][i]
}

fn ndjson(recs: &[Rec]) -> String {
    let mut out = String::new();
    for (n, r) in recs.iter().enumerate() {
        let (actor, _) = PEOPLE[r.actor];
        let op = ["MessageSent", "MemberAdded", "ChatCreated", "ChatRetrieved"][r.op as usize];
        let v = serde_json::json!({
            "CreationTime": format!("2026-10-01T10:{:02}:{:02}", n / 60 % 60, n % 60),
            "Id": format!("{n:08x}-0000-4000-8000-000000000000"),
            "Operation": op,
            "OrganizationId": H,
            "RecordType": 25,
            "UserKey": format!("{:08x}-1111-4111-8111-111111111111", r.actor % 9),
            "UserId": actor,
            "Workload": "MicrosoftTeams",
            "ChatThreadId": format!("19:{:032x}@thread.v2", r.chat),
            "CommunicationType": "GroupChat",
            "ResourceTenantId": r.resource.map(tenant_of),
            "ParticipantInfo": {
                "HasForeignTenantUsers": r.foreign_flag,
                "ParticipatingDomains": r.domains.iter().map(|&d| domain(d)).collect::<Vec<_>>(),
            },
            "Members": r.members.iter().map(|&(p, org)| {
                let (upn, t) = PEOPLE[p];
                if org {
                    serde_json::json!({"UPN": upn, "OrganizationId": t, "Role": 1})
                } else {
                    serde_json::json!({"UPN": upn, "Role": 1})
                }
            }).collect::<Vec<_>>(),
        });
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn no_plan_holds_a_user_any_record_shows_in_another_tenant(recs in prop::collection::vec(rec(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.ndjson");
        std::fs::File::create(&path).unwrap().write_all(ndjson(&recs).as_bytes()).unwrap();
        let ds = load(&[path]);
        prop_assert!(ds.problems.is_empty());
        let ix = Index::build(&ds);
        // Every tenant each UPN is listed a member of, by any record.
        let mut listed: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
        for r in &recs {
            for &(p, org) in &r.members {
                if org {
                    listed.entry(PEOPLE[p].0.to_lowercase()).or_default().insert(PEOPLE[p].1);
                }
            }
        }
        for t in plan::targets(&ds, &ix, 0..ix.chats.list.len()) {
            let upn = t.user_upn.to_lowercase();
            if let Some(tenants) = listed.get(&upn) {
                prop_assert!(tenants.iter().all(|x| *x == H), "{upn} is listed in {tenants:?}");
            }
            let d = upn.rsplit_once('@').unwrap().1;
            prop_assert!(!t.external_domains.iter().any(|x| x == d), "{upn} in {:?}", t.external_domains);
            prop_assert_eq!(&t.tenant_id, H);
        }
    }
}
