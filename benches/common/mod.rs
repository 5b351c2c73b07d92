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
