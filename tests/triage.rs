//! Triage on fixtures: every rule of DESIGN.md section 4 (chats, external,
//! initiated, home users, object id sources), the query language against
//! records, and the plan. The fixture is `tests/fixtures/triage-chats.ndjson`
//! (made by `make_triage_fixture.py`, one chat per case).

mod common;

use std::sync::atomic::AtomicBool;

use chatevict::triage::chats::{Chat, FoundBy, IdSource};
use chatevict::triage::index::Index;
use chatevict::triage::plan::{self, Plan, SourceFile};
use chatevict::triage::query::{self, Filter, Initiated};
use chatevict::ual::Dataset;
use common::*;

const H: &str = "2f1a7c3e-0b5d-4c6e-9a8f-1d2e3f4a5b6c";
const F: &str = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const X1: &str = "19:0a1b2c3d4e5f40718293a4b5c6d7e8f9@thread.v2";
const X2: &str =
    "19:6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d_bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb@unq.gbl.spaces";
const X3: &str =
    "19:1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b_cccccccc-cccc-4ccc-8ccc-cccccccccccc@unq.gbl.spaces";
const X4: &str = "19:1b2c3d4e5f6a40718293a4b5c6d7e8f0@thread.v2";
const X5: &str =
    "19:8e9f0a1b-2c3d-4e4f-9a5b-6c7d8e9f0a1b_3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f@unq.gbl.spaces";
const X6: &str = "19:2c3d4e5f6a7b40718293a4b5c6d7e8f1@thread.v2";
const X7: &str = "19:3d4e5f6a7b8c40718293a4b5c6d7e8f2@thread.v2";
const X8: &str =
    "19:0c1d2e3f-4a5b-4c6d-9e8f-112233445566_5b0e7c61-1a2b-4c3d-8e4f-aa11bb22cc33@unq.gbl.spaces";
const X9: &str = "19:4e5f6a7b8c9d40718293a4b5c6d7e8f3@thread.v2";
const CHANNEL: &str = "19:5f6a7b8c9d0e40718293a4b5c6d7e8f4@thread.tacv2";

fn fixture_set() -> (Dataset, Index) {
    let ds = load_fixture("triage-chats.ndjson");
    assert!(ds.problems.is_empty(), "{:?}", problems(&ds));
    let ix = Index::build(&ds);
    (ds, ix)
}

fn chat<'a>(ds: &Dataset, ix: &'a Index, id: &str) -> &'a Chat {
    let sym = ds.sym(id).unwrap_or_else(|| panic!("no string {id}"));
    ix.chats
        .by_id(sym)
        .unwrap_or_else(|| panic!("no chat {id}"))
}

/// `(upn, object id, id source, found by, guest)` of each home user.
fn users(ds: &Dataset, c: &Chat) -> Vec<(String, Option<String>, IdSource, FoundBy, bool)> {
    c.targets()
        .iter()
        .map(|u| {
            (
                ds.str(u.upn).to_owned(),
                u.object_id.map(|o| o.to_string()),
                u.id_source,
                u.found_by,
                u.guest,
            )
        })
        .collect()
}

fn s(x: &str) -> Option<String> {
    Some(x.to_owned())
}

#[test]
fn chats_are_teams_threads_but_never_channels() {
    let (ds, ix) = fixture_set();
    assert_eq!(ix.chats.list.len(), 9);
    let channel = ds.sym(CHANNEL).unwrap();
    assert!(ix.chats.by_id(channel).is_none());
    // The channel record still shows another tenant by itself.
    let i = ds
        .records
        .iter()
        .position(|r| r.chat.as_ref().and_then(|c| c.chat_id) == Some(channel))
        .unwrap();
    assert!(ix.chats.of_record(i).is_none());
    assert!(ix.external[i]);
    assert_eq!(ix.chats.external().count(), 7);
    assert_eq!(ix.chats.targets(), 10);
}

#[test]
fn outsider_started_group_chat_with_two_home_users() {
    let (ds, ix) = fixture_set();
    let c = chat(&ds, &ix, X1);
    assert!(c.external);
    assert_eq!(c.initiated, Initiated::External);
    assert_eq!(c.external_domains(), vec!["fabrikam.com"]);
    assert_eq!(c.external_tenants(), vec![F]);
    assert_eq!(ds.opt(c.home_tenant), H);
    assert_eq!(ds.opt(c.name), "Fabrikam contract");
    assert_eq!(c.record_count(), 2);
    // Megan's second record spells her UPN differently: still one user.
    assert_eq!(
        users(&ds, c),
        vec![
            (
                "alex.wilber@contoso.com".into(),
                s("0c1d2e3f-4a5b-4c6d-9e8f-112233445566"),
                IdSource::UserKey,
                FoundBy::Member,
                false
            ),
            (
                "megan.bowen@contoso.com".into(),
                s("5b0e7c61-1a2b-4c3d-8e4f-aa11bb22cc33"),
                IdSource::UserKey,
                FoundBy::Member,
                false
            ),
        ]
    );
}

#[test]
fn member_added_without_tenants_takes_the_actor_among_members() {
    let (ds, ix) = fixture_set();
    let c = chat(&ds, &ix, X2);
    assert!(c.external);
    // Rob (Fabrikam) is a member too, but without a tenant nothing says he
    // is a home user.
    assert_eq!(
        users(&ds, c),
        vec![(
            "patti.fernandez@contoso.com".into(),
            s("6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"),
            IdSource::UserKey,
            FoundBy::MemberAdded,
            false
        )]
    );
}

#[test]
fn home_started_chat_is_internal_but_external() {
    let (ds, ix) = fixture_set();
    let c = chat(&ds, &ix, X3);
    assert!(c.external);
    assert_eq!(c.initiated, Initiated::Internal);
    assert_eq!(c.external_domains(), vec!["northwind.example"]);
    assert_eq!(users(&ds, c).len(), 1);
}

#[test]
fn the_actors_user_key_is_never_given_to_the_members_it_added() {
    let (ds, ix) = fixture_set();
    let c = chat(&ds, &ix, X4);
    assert_eq!(
        users(&ds, c),
        vec![
            (
                "diego.siciliani@contoso.com".into(),
                None,
                IdSource::Lookup,
                FoundBy::Member,
                false
            ),
            (
                "megan.bowen@contoso.com".into(),
                s("5b0e7c61-1a2b-4c3d-8e4f-aa11bb22cc33"),
                IdSource::UserKey,
                FoundBy::Actor,
                false
            ),
        ]
    );
}

#[test]
fn one_on_one_chat_id_gives_the_other_half() {
    let (ds, ix) = fixture_set();
    let c = chat(&ds, &ix, X5);
    // Created by a Fabrikam user (a member of another tenant).
    assert_eq!(c.initiated, Initiated::External);
    // Sam, the outsider, acted here but is no home user.
    assert_eq!(
        users(&ds, c),
        vec![(
            "grady.archie@contoso.com".into(),
            s("8e9f0a1b-2c3d-4e4f-9a5b-6c7d8e9f0a1b"),
            IdSource::ChatId,
            FoundBy::Member,
            false
        )]
    );
}

#[test]
fn guests_are_shown_but_not_external() {
    let (ds, ix) = fixture_set();
    let internal = chat(&ds, &ix, X6);
    assert!(!internal.external);
    assert!(internal.guests);
    let external = chat(&ds, &ix, X7);
    assert!(external.external && external.guests);
    let ann = users(&ds, external)
        .into_iter()
        .find(|u| u.0.contains("#EXT#"))
        .unwrap();
    assert!(ann.4, "the guest is flagged");
    assert_eq!(ann.2, IdSource::Lookup);
    assert!(!chat(&ds, &ix, X8).external);
}

#[test]
fn chat_with_only_messages_is_of_unknown_origin() {
    let (ds, ix) = fixture_set();
    let c = chat(&ds, &ix, X9);
    assert!(c.external);
    assert_eq!(c.initiated, Initiated::Unknown);
    let u = users(&ds, c);
    assert_eq!(u.len(), 1);
    assert_eq!(u[0].3, FoundBy::Actor);
    assert_eq!(
        c.targets()[0].evidence.len(),
        1,
        "one message is evidence enough"
    );
}

/// Ids of the records matching `q`.
fn matching(ds: &Dataset, ix: &Index, q: &str) -> Vec<String> {
    let query = query::parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    let never = AtomicBool::new(false);
    let f = Filter::compile(&query, ds, ix, &never).unwrap();
    f.select(ds, ix, &query::no_marks, &never)
        .unwrap()
        .into_iter()
        .map(|i| ds.records[i as usize].id.to_string())
        .collect()
}

fn count(ds: &Dataset, ix: &Index, q: &str) -> usize {
    matching(ds, ix, q).len()
}

#[test]
fn each_field_selects_what_it_names() {
    let (ds, ix) = fixture_set();
    let n = |q: &str| count(&ds, &ix, q);
    assert_eq!(n(""), 15);
    assert_eq!(n("op:memberadded"), 5);
    assert_eq!(n("op:Message"), 3);
    assert_eq!(n("user:megan"), 5, "any case of her UPN");
    assert_eq!(n("chat:0a1b2c3d"), 2);
    assert_eq!(n("name:\"fabrikam contract\""), 2);
    assert_eq!(n("member:nina"), 2);
    assert_eq!(n("member:\"Rob Young\""), 4);
    assert_eq!(n("domain:northwind"), 2);
    assert_eq!(n("domain:fabrikam.com"), 8);
    assert_eq!(n(&format!("tenant:{F}")), 8);
    assert_eq!(n("type:OneOnOne"), 4);
    assert_eq!(n("workload:exchange"), 1);
    assert_eq!(n("rt:25"), 14);
    assert_eq!(n("rt:50"), 1);
    assert_eq!(n("rt:MicrosoftTeams"), 14);
    assert_eq!(
        matching(&ds, &ix, "id:00000003-0000-4000-8000-000000000003"),
        vec!["00000003-0000-4000-8000-000000000003"]
    );
    assert_eq!(
        n("id:00000003-0000-4000-8000-000000000003"
            .to_uppercase()
            .replace("ID:", "id:")
            .as_str()),
        1
    );
    assert_eq!(n("id:ffff"), 1);
    assert_eq!(n("ip:203.0.113.1"), 6, "substring: .1 and .10 to .14");
    assert_eq!(n("ip:/^203\\.0\\.113\\.1$/"), 1);
    // IPv4 addresses are packed, others kept as text: a query sees both.
    assert_eq!(n("ip:2001:db8"), 1);
    assert_eq!(n("ip:1"), 15);
    assert_eq!(n("-ip:203"), 1);
    assert_eq!(n("ip:db8 OR ip:.14"), 2);
    assert_eq!(n("ip:/^(2001|203)[:.]/"), 15);
    // A bare word looks at operation, user, chat name and id, members.
    assert_eq!(n("rollout"), 1);
    assert_eq!(n("diego"), 1);
    assert_eq!(n("sessionstarted"), 2);
}

#[test]
fn flags_time_and_combinators() {
    let (ds, ix) = fixture_set();
    let n = |q: &str| count(&ds, &ix, q);
    // Chat records of external chats, plus the channel record.
    assert_eq!(n("ext:yes"), 10);
    assert_eq!(n("ext:no"), 5);
    assert_eq!(n("guest:yes"), 2);
    assert_eq!(n("initiated:external"), 5);
    assert_eq!(n("initiated:internal"), 4);
    assert_eq!(n("initiated:unknown"), 2);
    assert_eq!(n("marked:yes"), 0, "nothing is marked on the command line");
    assert_eq!(n("after:2026-11-10"), 4);
    assert_eq!(n("before:2026-11-02"), 2);
    assert_eq!(n("time:>2026-11-10T17:00"), 3);
    assert_eq!(n("time:>=2026-11-10T17:00"), 4);
    assert_eq!(n("time:<=2026-11-01T08:00:00Z"), 1);
    assert_eq!(n("ext:yes op:memberadded"), 5, "the channel too");
    assert_eq!(n("ext:yes -op:memberadded"), 5);
    assert_eq!(n("op:chatcreated OR op:messagesent"), 7);
    assert_eq!(n("(op:chatcreated OR op:messagesent) ext:yes"), 5);
    assert_eq!(n("-(op:chatcreated OR op:messagesent)"), 8);
    assert_eq!(n("/^chat/"), 4, "regex over operation, user, names…");
    assert_eq!(n("op:/created$/ -initiated:internal"), 1);
}

#[test]
fn a_cancelled_query_gives_no_result() {
    let (ds, ix) = fixture_set();
    let q = query::parse("op:x").unwrap();
    let cancelled = AtomicBool::new(true);
    assert!(Filter::compile(&q, &ds, &ix, &cancelled).is_none());
    let never = AtomicBool::new(false);
    let f = Filter::compile(&q, &ds, &ix, &never).unwrap();
    assert!(f.select(&ds, &ix, &query::no_marks, &cancelled).is_none());
}

#[test]
fn marked_asks_the_caller() {
    let (ds, ix) = fixture_set();
    let q = query::parse("marked:yes").unwrap();
    let never = AtomicBool::new(false);
    let f = Filter::compile(&q, &ds, &ix, &never).unwrap();
    assert!(f.uses_marks);
    let x4 = ix
        .chats
        .list
        .iter()
        .position(|c| ds.str(c.id) == X4)
        .unwrap();
    let marked = move |c: usize| c == x4;
    assert_eq!(f.select(&ds, &ix, &marked, &never).unwrap().len(), 1);
}

fn plan_of(ds: &Dataset, ix: &Index, filter: Option<&str>) -> Plan {
    let chats: Vec<usize> = match filter {
        None => (0..ix.chats.list.len()).collect(),
        Some(q) => {
            let ids = matching(ds, ix, q);
            (0..ix.chats.list.len())
                .filter(|&c| {
                    ix.chats
                        .records(&ix.chats.list[c])
                        .iter()
                        .any(|&r| ids.contains(&ds.records[r as usize].id.to_string()))
                })
                .collect()
        }
    };
    let created = chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap();
    Plan::new(
        created,
        vec![SourceFile {
            path: "tests/fixtures/triage-chats.ndjson".into(),
            sha256: plan::sha256_file(&fixture("triage-chats.ndjson")).unwrap(),
        }],
        filter.map(str::to_owned),
        plan::targets(ds, ix, chats),
    )
}

#[test]
fn the_plan_lists_every_target_in_a_stable_order() {
    let (ds, ix) = fixture_set();
    let plan = plan_of(&ds, &ix, None);
    assert_eq!(plan.targets.len(), 10);
    assert_eq!(plan.lookups(), 2);
    insta::assert_json_snapshot!("plan_all", plan, {".source_files[].sha256" => "[sha256]"});
    let plan = plan_of(&ds, &ix, Some("domain:northwind"));
    insta::assert_json_snapshot!("plan_northwind", plan, {".source_files[].sha256" => "[sha256]"});
    // Internal chats give no targets, whatever the filter.
    assert!(plan_of(&ds, &ix, Some("name:proseware")).targets.is_empty());
}

#[test]
fn the_plan_reads_back() {
    let (ds, ix) = fixture_set();
    let plan = plan_of(&ds, &ix, None);
    let text = serde_json::to_string_pretty(&plan).unwrap();
    let back: Plan = serde_json::from_str(&text).unwrap();
    assert_eq!(back, plan);
}

#[test]
fn real_samples_with_anonymised_tenants() {
    let Some(dir) = samples() else { return };
    let ds = load(&[dir.join("sekoia-o365-audit-records.ndjson")]);
    let ix = Index::build(&ds);
    assert_eq!(ix.chats.list.len(), 5);
    // `OrganizationId` "ANONYMIZED" is the home tenant; the three chats with
    // foreign tenants are external, the guest chat is not.
    assert_eq!(ix.chats.external().count(), 3);
    let guests = ix.chats.list.iter().filter(|c| c.guests).count();
    assert_eq!(guests, 1);
    // Their home members are anonymised ("user1", no address): nobody to
    // target, rather than a wrong target.
    assert_eq!(ix.chats.targets(), 0);
    let started: Vec<Initiated> = ix.chats.external().map(|c| c.initiated).collect();
    assert!(started.contains(&Initiated::External));
    assert!(started.contains(&Initiated::Internal));

    let ds = load(&[
        dir.join("elastic-beats-25-ms-teams.ndjson"),
        dir.join("elastic-beats-25-ms-teams-groups.excerpt.ndjson"),
        dir.join("elastic-integrations-test-ms-teams-events.ndjson"),
    ]);
    let ix = Index::build(&ds);
    assert!(ix.chats.list.is_empty(), "team records are no chats");

    let ds = load(&[dir.join("sekoia-m365defender-cloudappevents.ndjson")]);
    let ix = Index::build(&ds);
    assert_eq!(ix.chats.external().count(), 0);
}
