//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod emu;
pub mod pty;
pub mod sink;

use chatevict::ual::{self, Dataset, LoadOptions, Progress, Record};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn load(paths: &[PathBuf]) -> Dataset {
    ual::load(paths, &LoadOptions::default(), &Progress::default()).expect("not cancelled")
}

pub fn load_fixture(name: &str) -> Dataset {
    load(&[fixture(name)])
}

pub fn by_id<'a>(ds: &'a Dataset, id: &str) -> &'a Record {
    ds.records
        .iter()
        .find(|r| r.id == *id)
        .unwrap_or_else(|| panic!("no record {id}"))
}

/// `(line, reason)` of every skipped row.
pub fn problems(ds: &Dataset) -> Vec<(u64, String)> {
    ds.problems
        .iter()
        .map(|p| (p.line, p.reason.to_string()))
        .collect()
}

/// Runs the binary: (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_chatevict"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `../shared/samples/real`, or `None` (and a message) where it is absent.
pub fn samples() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples/real");
    if dir.is_dir() {
        Some(dir)
    } else {
        // Written past the test harness's capture: a skip is seen in the
        // output of a plain `cargo test`. Where the data must be there
        // (`.ci/run` sets CHATEVICT_REQUIRE_SHARED when it is), a skip fails.
        assert!(
            std::env::var_os("CHATEVICT_REQUIRE_SHARED").is_none(),
            "{} is absent but CHATEVICT_REQUIRE_SHARED is set",
            dir.display()
        );
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped ({}): {} is absent",
            std::thread::current().name().unwrap_or("a test"),
            dir.display()
        );
        None
    }
}
