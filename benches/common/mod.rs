//! What the benchmarks share: the data they run on.
//!
//! `CHATEVICT_BENCH_FILE=path` uses that export; otherwise 20,000 rows are
//! generated once with `../shared/tools/gen_ual.py` into
//! `target/bench-data/`. Without either, the benchmarks say so and skip.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn data() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("CHATEVICT_BENCH_FILE") {
        return Some(PathBuf::from(p));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tool = root.join("../shared/tools/gen_ual.py");
    let out = root.join("target/bench-data/ual-20k.csv");
    if out.exists() {
        return Some(out);
    }
    if !tool.exists() {
        eprintln!(
            "skipped: {} is absent and CHATEVICT_BENCH_FILE is not set",
            tool.display()
        );
        return None;
    }
    std::fs::create_dir_all(out.parent()?).ok()?;
    let ok = Command::new("python3")
        .arg(&tool)
        .args(["--rows", "20000", "--dup-rate", "0.01", "--out"])
        .arg(&out)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "skipped: could not generate bench data with {}",
            tool.display()
        );
        return None;
    }
    Some(out)
}

/// The same records in each shape exports come in, made once from the CSV
/// next to `data()`: Purview CSV, NDJSON (one AuditData per line), a
/// one-line JSON array (`ConvertTo-Json -Compress`, Management Activity
/// API blobs) and PowerShell's `ConvertTo-Json` of
/// `Search-UnifiedAuditLog` results, UTF-16 with a byte-order mark (what
/// `Out-File` writes in Windows PowerShell).
#[allow(dead_code)] // only the load benchmark uses it
pub fn shapes() -> Option<Vec<(&'static str, PathBuf)>> {
    let csv_path = data()?;
    let stem = csv_path.with_extension("");
    let ndjson = stem.with_extension("ndjson");
    let one_line = stem.with_extension("oneline.json");
    let ps = stem.with_extension("ps-utf16.json");
    if !(ndjson.exists() && one_line.exists() && ps.exists()) {
        let mut rdr = csv::Reader::from_path(&csv_path).ok()?;
        let headers = rdr.headers().ok()?.clone();
        let col = |name: &str| headers.iter().position(|h| h == name);
        let (audit, created, user, op) = (
            col("AuditData")?,
            col("CreationDate")?,
            col("UserId")?,
            col("Operation")?,
        );
        let mut nd = String::new();
        let mut ol = String::from("[");
        let mut pw = String::from("[\r\n");
        for (i, row) in rdr.records().enumerate() {
            let row = row.ok()?;
            let a = &row[audit];
            nd.push_str(a);
            nd.push('\n');
            if i > 0 {
                ol.push(',');
                pw.push_str(",\r\n");
            }
            ol.push_str(a);
            let q = |s: &str| serde_json::to_string(s).expect("a string serialises");
            pw.push_str(&format!(
                "    {{\r\n        \"RunspaceId\":  \"4c6e1a2b-0f3d-4e5a-9b8c-7d6e5f4a3b2c\",\r\n        \"RecordType\":  \"MicrosoftTeams\",\r\n        \"CreationDate\":  {},\r\n        \"UserIds\":  {},\r\n        \"Operations\":  {},\r\n        \"AuditData\":  {},\r\n        \"ResultIndex\":  {},\r\n        \"ResultCount\":  50000,\r\n        \"Identity\":  \"{:08x}-aaaa-4bbb-8ccc-dddddddddddd\",\r\n        \"IsValid\":  true,\r\n        \"ObjectState\":  \"Unchanged\"\r\n    }}",
                q(row[created].trim()),
                q(&row[user]),
                q(&row[op]),
                q(a),
                i + 1,
                i
            ));
        }
        ol.push(']');
        pw.push_str("\r\n]\r\n");
        let utf16: Vec<u8> = std::iter::once(0xFEFF)
            .chain(pw.encode_utf16())
            .flat_map(u16::to_le_bytes)
            .collect();
        std::fs::write(&ndjson, nd).ok()?;
        std::fs::write(&one_line, ol).ok()?;
        std::fs::write(&ps, utf16).ok()?;
    }
    Some(vec![
        ("purview_csv", csv_path),
        ("ndjson", ndjson),
        ("one_line_array", one_line),
        ("powershell_utf16", ps),
    ])
}
