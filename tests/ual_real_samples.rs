//! Conformance over the public samples in ../shared/samples/real/ (see its
//! README for each file's traps). Skipped, with a message, where the
//! folder is absent.

mod common;

use std::path::PathBuf;

use chatevict::triage::external;
use common::*;

/// (file, records, duplicates, id conflicts, Teams records, external
/// records, shape). A duplicate has the `Id`, `CreationTime` and
/// `Operation` of a record before it; an id conflict only the `Id` (kept).
/// Counted independently of chatevict with Python's json module.
const EXPECTED: &[(&str, usize, usize, usize, usize, usize, &str)] = &[
    (
        "huntress-ctf2023-rogue-inbox-purview-export.csv",
        219,
        0,
        0,
        0,
        0,
        "purview-csv",
    ),
    // 73 lines, 57 distinct Ids: anonymisation reused ids of 13 other
    // records, and 3 lines repeat a record.
    (
        "sekoia-o365-audit-records.ndjson",
        70,
        3,
        13,
        5,
        3,
        "ndjson",
    ),
    // The Teams record re-uses the Exchange record's anonymised Id: kept.
    (
        "sekoia-m365defender-cloudappevents.ndjson",
        5,
        0,
        1,
        1,
        0,
        "ndjson",
    ),
    ("elastic-beats-25-ms-teams.ndjson", 4, 0, 0, 4, 0, "ndjson"),
    (
        "elastic-beats-25-ms-teams-groups.excerpt.ndjson",
        7,
        0,
        0,
        2,
        0,
        "ndjson",
    ),
    // Record 5 repeats record 1 with one more field: a duplicate.
    (
        "elastic-integrations-test-ms-teams-events.ndjson",
        4,
        1,
        0,
        4,
        0,
        "ndjson",
    ),
    (
        "graph2otel-graph-auditlogrecords.json",
        5,
        0,
        0,
        0,
        0,
        "json",
    ),
    (
        "msdocs-management-activity-api-content-blob-sample.json",
        3,
        0,
        0,
        0,
        0,
        "json",
    ),
];

#[test]
fn every_sample_loads_with_the_expected_counts() {
    let Some(dir) = samples() else { return };
    for &(name, records, dups, conflicts, teams, ext, shape) in EXPECTED {
        let ds = load(&[dir.join(name)]);
        assert!(ds.failures.is_empty(), "{name}: {:?}", ds.failures);
        assert!(ds.problems.is_empty(), "{name}: {:?}", problems(&ds));
        assert_eq!(ds.records.len(), records, "{name} records");
        assert_eq!(ds.duplicates, dups, "{name} duplicates");
        assert_eq!(ds.id_conflicts, conflicts, "{name} id conflicts");
        assert_eq!(ds.teams_records(), teams, "{name} Teams records");
        let n_ext = ds
            .records
            .iter()
            .filter(|r| external::is_external(&ds, r))
            .count();
        assert_eq!(n_ext, ext, "{name} external records");
        assert_eq!(ds.sources[0].shape, shape, "{name} shape");
    }
}

#[test]
fn all_samples_together_deduplicate_across_files() {
    let Some(dir) = samples() else { return };
    let paths: Vec<PathBuf> = EXPECTED.iter().map(|e| dir.join(e.0)).collect();
    let ds = load(&paths);
    // 321 rows, 313 distinct (Id, CreationTime, Operation) (counted
    // independently of chatevict): the two Elastic Teams files share every
    // record; ids reused by anonymisation are kept.
    assert_eq!(ds.records.len(), 313);
    assert_eq!(ds.duplicates, 321 - 313);
    assert_eq!(ds.id_conflicts, 15);
}

#[test]
fn huntress_purview_csv_fields() {
    let Some(dir) = samples() else { return };
    let ds = load(&[dir.join("huntress-ctf2023-rogue-inbox-purview-export.csv")]);
    let r = by_id(&ds, "538815b7-273a-4a3f-9957-c86897966eec");
    assert_eq!(ds.str(r.operation), "Add service principal.");
    assert_eq!(ds.opt(r.user_id), "Certificate");
    assert_eq!(ds.opt(r.user_key), "Not Available");
    assert_eq!(r.record_type, Some(8));
    assert_eq!(r.time.to_rfc3339(), "2023-09-20T04:05:03+00:00");
    assert_eq!(r.source.line, 2);
    // ClientIP is absent in 128 rows and ip:port in 38 (kept as written).
    assert_eq!(
        ds.records.iter().filter(|r| r.client_ip.is_none()).count(),
        128
    );
    let with_port = ds
        .records
        .iter()
        .filter(|r| {
            let ip = &*ds.client_ip(r);
            ip.matches(':').count() == 1 && ip.contains('.')
        })
        .count();
    assert_eq!(with_port, 38);
    // JSON-in-JSON strings and \r\n escapes survive in the raw AuditData.
    let raw = ds.raw_audit_data(r).unwrap();
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(v["Id"], "538815b7-273a-4a3f-9957-c86897966eec");
    // The same user in two spellings: one user when compared without case.
    let debra: std::collections::HashSet<String> = ds
        .records
        .iter()
        .map(|r| ds.opt(r.user_id))
        .filter(|u| u.eq_ignore_ascii_case("debrab@m365b132131.onmicrosoft.com"))
        .map(str::to_owned)
        .collect();
    assert!(debra.len() >= 2, "{debra:?}");
}

#[test]
fn sekoia_teams_records_and_anonymised_tenants() {
    let Some(dir) = samples() else { return };
    let ds = load(&[dir.join("sekoia-o365-audit-records.ndjson")]);
    let teams: Vec<_> = ds.records.iter().filter(|r| r.is_teams()).collect();
    let created = teams
        .iter()
        .filter(|r| ds.str(r.operation) == "ChatCreated")
        .count();
    assert_eq!(created, 4);
    let foreign = teams
        .iter()
        .filter(|r| {
            r.chat
                .as_deref()
                .and_then(|c| c.participants.as_ref())
                .is_some_and(|p| p.has_foreign_tenant_users == Some(true))
        })
        .count();
    assert_eq!(foreign, 3);
    // "ANONYMIZED" is not a GUID but is the same tenant everywhere.
    assert!(
        teams
            .iter()
            .all(|r| ds.opt(r.organization_id) == "ANONYMIZED")
    );
    // CreationTime with and without Z both parse.
    assert_eq!(ds.records.len(), 70);
}

#[test]
fn graph_records_use_the_envelope_where_auditdata_is_silent() {
    let Some(dir) = samples() else { return };
    let ds = load(&[dir.join("graph2otel-graph-auditlogrecords.json")]);
    let r = by_id(&ds, "d87d2977-96b6-4c65-aa44-032f7e314400");
    assert_eq!(r.record_type, Some(15));
    assert_eq!(ds.opt(r.user_id), "rob@m7kni.io");
    assert_eq!(&*ds.client_ip(r), "2001:db8::1038");
}

#[test]
fn defender_stream_unwraps_raw_event_data() {
    let Some(dir) = samples() else { return };
    let ds = load(&[dir.join("sekoia-m365defender-cloudappevents.ndjson")]);
    assert!(
        ds.sources[0]
            .envelopes
            .contains(&chatevict::ual::JsonEnvelope::DefenderStream)
    );
    let r = by_id(&ds, "33333333-3333-3333-3333-333333333333");
    assert_eq!(ds.str(r.operation), "Send");
    assert_eq!(r.record_type, Some(2));
}
