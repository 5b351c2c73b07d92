//! The loader on hand-made fixtures of every export shape and encoding
//! (see tests/fixtures/make_fixtures.py).

mod common;

use chatevict::triage::external;
use chatevict::ual::{Encoding, JsonEnvelope, Skip};
use common::*;

const A: &str = "a1000000-0000-4000-8000-000000000001";
const B: &str = "b2000000-0000-4000-8000-000000000002";
const C: &str = "c3000000-0000-4000-8000-000000000003";
const D: &str = "d4000000-0000-4000-8000-000000000004";
const E: &str = "e5000000-0000-4000-8000-000000000005";
const HOME: &str = "2f1a7c3e-0b5d-4c6e-9a8f-1d2e3f4a5b6c";
const FAB: &str = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

/// The five base records, whatever shape carried them.
fn check_base(ds: &chatevict::ual::Dataset, ids: &[&str]) {
    assert_eq!(ds.records.len(), ids.len(), "records of {:?}", ds.sources);
    for id in ids {
        let r = by_id(ds, id);
        assert_eq!(ds.opt(r.organization_id), HOME);
        match *id {
            A => {
                assert_eq!(r.time.to_rfc3339(), "2026-11-02T09:15:04+00:00");
                assert_eq!(ds.str(r.operation), "MemberAdded");
                assert_eq!(r.record_type, Some(25));
                assert_eq!(ds.opt(r.workload), "MicrosoftTeams");
                assert_eq!(ds.opt(r.user_id), "megan.bowen@contoso.com");
                assert_eq!(ds.opt(r.user_key), "5b0e7c61-1a2b-4c3d-8e4f-aa11bb22cc33");
                assert_eq!(&*ds.client_ip(r), "203.0.113.7");
                assert_eq!(r.user_type, Some(0));
                let c = r.chat.as_deref().unwrap();
                assert_eq!(
                    ds.opt(c.chat_id),
                    "19:4f2c9e0d8b7a4c1e9f3d2b1a0c9e8d7f@thread.v2"
                );
                assert_eq!(ds.opt(c.chat_name), "Fabrikam contract");
                assert_eq!(ds.opt(c.communication_type), "GroupChat");
                assert_eq!(ds.opt(c.resource_tenant_id), FAB);
                assert_eq!(c.members.len(), 2);
                assert_eq!(ds.opt(c.members[1].upn), "rob.young@fabrikam.com");
                assert_eq!(ds.opt(c.members[1].display_name), "Rob Young");
                assert_eq!(ds.opt(c.members[1].organization_id), FAB);
                assert_eq!(c.members[1].role, Some(1));
                let p = c.participants.as_ref().unwrap();
                assert_eq!(p.has_foreign_tenant_users, Some(true));
                assert_eq!(p.participating_tenant_ids().len(), 2);
                assert_eq!(
                    ds.opt(p.participating_sip_domains()[0].domain),
                    "fabrikam.com"
                );
                assert!(external::is_external(ds, r));
            }
            B => {
                let c = r.chat.as_deref().unwrap();
                assert_eq!(ds.opt(c.communication_type), "OneOnOne");
                assert_eq!(c.members.len(), 2);
                assert_eq!(c.members[0].role, None);
                assert_eq!(&*ds.client_ip(r), "198.51.100.20:51234");
                assert!(!external::is_external(ds, r));
            }
            C => {
                assert_eq!(r.record_type, Some(50));
                assert!(r.chat.is_none());
                assert_eq!(&*ds.client_ip(r), "2001:db8::42");
            }
            D => {
                assert_eq!(
                    ds.opt(r.object),
                    "https://contoso.sharepoint.com/sites/Sales/Shared Documents/Budget \"2027\", v2.xlsx"
                );
                assert_eq!(
                    ds.opt(r.user_key),
                    "i:0h.f|membership|10032001a2b3c4d5@live.com"
                );
            }
            E => {
                assert_eq!(r.time.timestamp_subsec_nanos(), 123_456_700);
                let c = r.chat.as_deref().unwrap();
                assert_eq!(ds.opt(c.communication_type), "Team");
                assert_eq!(ds.opt(c.team_name), "Sales EMEA");
                assert_eq!(ds.opt(c.channel_name), "General");
            }
            _ => unreachable!(),
        }
    }
}

#[test]
fn purview_8_columns_crlf_with_a_pretty_printed_row() {
    let ds = load_fixture("purview-8col.csv");
    check_base(&ds, &[A, B, C, D, E]);
    assert_eq!(ds.sources[0].shape, "purview-csv");
    assert_eq!(ds.sources[0].encoding, Encoding::Utf8);
    let lines: Vec<u32> = ds.records.iter().map(|r| r.source.line).collect();
    assert_eq!(lines, vec![2, 53, 54, 55, 56]);
    // The raw AuditData is read again from the file, as it was written.
    let raw = ds.raw_audit_data(by_id(&ds, A)).unwrap();
    assert!(raw.starts_with("{\r\n  \"CreationTime\""), "{raw}");
    assert!(raw.contains("\"Rob Young\""));
    let raw: serde_json::Value =
        serde_json::from_str(&ds.raw_audit_data(by_id(&ds, D)).unwrap()).unwrap();
    assert_eq!(raw["Id"], D);
}

#[test]
fn purview_6_columns_with_bom_lf_and_us_dates() {
    let ds = load_fixture("purview-6col-bom.csv");
    check_base(&ds, &[A, B, C, D, E]);
    assert_eq!(ds.sources[0].encoding, Encoding::Utf8Bom);
    let raw: serde_json::Value =
        serde_json::from_str(&ds.raw_audit_data(by_id(&ds, A)).unwrap()).unwrap();
    assert_eq!(raw["ChatName"], "Fabrikam contract");
}

#[test]
fn classic_csv_with_and_without_record_type() {
    let ds = load_fixture("classic.csv");
    check_base(&ds, &[A, B, C]);
    assert_eq!(ds.sources[0].shape, "classic-csv");
    let ds = load_fixture("classic-recordtype.csv");
    check_base(&ds, &[C, D, E]);
}

#[test]
fn powershell_export_csv_13_columns_with_type_line_and_names() {
    let ds = load_fixture("powershell-13col.csv");
    check_base(&ds, &[A, B, C, D, E]);
    assert_eq!(ds.sources[0].shape, "powershell-csv");
    // AuditData carries no RecordType here: the envelope's name gives it.
    assert_eq!(by_id(&ds, C).record_type, Some(50));
    assert_eq!(by_id(&ds, D).record_type, Some(6));
    assert_eq!(by_id(&ds, A).source.line, 3);
}

#[test]
fn powershell_export_csv_10_columns_utf16le() {
    let ds = load_fixture("powershell-10col-utf16le.csv");
    check_base(&ds, &[A, B, C, D]);
    assert_eq!(ds.sources[0].encoding, Encoding::Utf16Le);
    let raw: serde_json::Value =
        serde_json::from_str(&ds.raw_audit_data(by_id(&ds, B)).unwrap()).unwrap();
    assert_eq!(raw["Operation"], "ChatCreated");
}

#[test]
fn convertto_json_array_and_glued_arrays_utf16be() {
    let ds = load_fixture("convertto-json.json");
    check_base(&ds, &[A, B, C]);
    assert_eq!(ds.sources[0].envelopes, vec![JsonEnvelope::PowerShell]);
    let raw: serde_json::Value =
        serde_json::from_str(&ds.raw_audit_data(by_id(&ds, A)).unwrap()).unwrap();
    assert_eq!(raw["ResourceTenantId"], FAB);
    let ds = load_fixture("convertto-json-glued-utf16be.json");
    check_base(&ds, &[A, B, C, D, E]);
    assert_eq!(ds.sources[0].encoding, Encoding::Utf16Be);
}

#[test]
fn management_api_array_and_ndjson_with_a_broken_line() {
    let ds = load_fixture("mgmt-api.json");
    check_base(&ds, &[A, B, C, D, E]);
    assert_eq!(ds.sources[0].envelopes, vec![JsonEnvelope::Bare]);
    let ds = load_fixture("mgmt-api.ndjson");
    check_base(&ds, &[A, B, C, D, E]);
    assert_eq!(ds.sources[0].shape, "ndjson");
    assert_eq!(ds.duplicates, 1);
    let p = problems(&ds);
    assert_eq!(p.len(), 1, "blank lines are not errors: {p:?}");
    assert_eq!(p[0].0, 3);
    assert!(p[0].1.starts_with("invalid AuditData JSON"), "{p:?}");
    assert!(!p[0].1.contains('\n'));
    assert_eq!(by_id(&ds, E).source.line, 8);
}

#[test]
fn graph_records_array_and_value_page() {
    let ds = load_fixture("graph-records.json");
    check_base(&ds, &[A, B, C, D, E]);
    assert_eq!(ds.sources[0].envelopes, vec![JsonEnvelope::Graph]);
    let raw = ds.raw_audit_data(by_id(&ds, E)).unwrap();
    assert!(raw.contains("\"TeamName\": \"Sales EMEA\""), "{raw}");
    let ds = load_fixture("graph-page.json");
    check_base(&ds, &[A, B]);
}

#[test]
fn broken_rows_are_skipped_with_their_lines_and_the_rest_loads() {
    let ds = load_fixture("purview-broken-rows.csv");
    assert_eq!(ds.records.len(), 2);
    assert_eq!(ds.duplicates, 1);
    let p = problems(&ds);
    let lines: Vec<u64> = p.iter().map(|p| p.0).collect();
    assert_eq!(lines, vec![3, 4, 5, 6], "{p:?}");
    assert!(matches!(ds.problems[1].reason, Skip::Missing("Id")));
    assert!(matches!(
        ds.problems[2].reason,
        Skip::Missing("CreationTime")
    ));
    assert!(matches!(
        ds.problems[3].reason,
        Skip::ShortRow {
            fields: 4,
            needed: 6
        }
    ));
    assert_eq!(by_id(&ds, E).source.line, 8);
}

#[test]
fn a_truncated_array_keeps_the_records_before_the_cut() {
    let ds = load_fixture("truncated-array.json");
    assert_eq!(ds.records.len(), 2);
    assert_eq!(ds.problems.len(), 1);
    assert!(ds.failures.is_empty());
}

#[test]
fn files_that_are_no_export_get_one_clear_error() {
    for name in ["not-an-export.csv", "not-an-export.json"] {
        let ds = load_fixture(name);
        assert!(ds.records.is_empty());
        assert!(ds.problems.is_empty(), "one error, not one per row");
        assert_eq!(ds.failures.len(), 1);
        let msg = &ds.failures[0].message;
        assert!(msg.contains("not an audit export"), "{msg}");
        assert!(
            msg.contains("Purview") && msg.contains("NDJSON") && msg.contains("Graph"),
            "{msg}"
        );
    }
    let ds = load(&[fixture("does-not-exist.csv")]);
    assert!(ds.failures[0].message.starts_with("cannot read"));
}

#[test]
fn several_files_merge_and_deduplicate_keeping_the_first() {
    let ds = load(&[
        fixture("purview-8col.csv"),
        fixture("mgmt-api.ndjson"),
        fixture("graph-records.json"),
    ]);
    assert_eq!(ds.records.len(), 5);
    // 5 in the NDJSON (+1 duplicate inside it) and 5 in the Graph file.
    assert_eq!(ds.duplicates, 11);
    assert_eq!(ds.sources[1].duplicates, 6);
    assert_eq!(ds.sources[2].duplicates, 5);
    assert!(
        ds.records.iter().all(|r| r.source.file == 0),
        "the first file's copies win"
    );
}
