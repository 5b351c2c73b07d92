//! The binary an admin copies to a jump host: named by
//! `CHATEVICT_DIST_BINARY` (built as the README's "Install on a jump host"
//! says), it needs no glibc symbol newer than 2.17 (RHEL 7 and every
//! Linux since) and starts with an empty environment. Without the
//! variable the test says so and passes: a plain `cargo test` builds no
//! dist binary.

use std::path::PathBuf;
use std::process::Command;

use object::{Object, ObjectSection};

fn dist_binary() -> Option<PathBuf> {
    match std::env::var_os("CHATEVICT_DIST_BINARY") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            // Past the harness's capture, so that the skip is seen.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipped (dist binary check): set CHATEVICT_DIST_BINARY to a binary built \
                 for jump hosts (README, \"Install on a jump host\") to check it"
            );
            None
        }
    }
}

/// `GLIBC_2.17` → (2, 17).
fn glibc_version(s: &str) -> Option<(u32, u32)> {
    let v = s.strip_prefix("GLIBC_")?;
    let mut parts = v.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

#[test]
fn versions_are_read_from_their_names() {
    assert_eq!(glibc_version("GLIBC_2.17"), Some((2, 17)));
    assert_eq!(glibc_version("GLIBC_2.2.5"), Some((2, 2)));
    assert_eq!(glibc_version("GLIBC_PRIVATE"), None);
}

#[test]
fn the_dist_binary_needs_no_glibc_newer_than_2_17_and_starts_bare() {
    let Some(bin) = dist_binary() else { return };
    let bytes = std::fs::read(&bin).unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let file = object::File::parse(&*bytes).expect("an ELF file");
    // The versions a binary needs are named in its dynamic string table.
    let needed: Vec<(u32, u32)> = file
        .section_by_name(".dynstr")
        .and_then(|s| s.data().ok())
        .map(|d| {
            d.split(|b| *b == 0)
                .filter_map(|s| glibc_version(std::str::from_utf8(s).ok()?))
                .collect()
        })
        .unwrap_or_default();
    let newest = needed.iter().max().copied();
    assert!(
        newest.is_none_or(|v| v <= (2, 17)),
        "{} needs GLIBC_{}.{}",
        bin.display(),
        newest.unwrap().0,
        newest.unwrap().1
    );
    eprintln!(
        "{}: newest glibc symbol version needed {:?}, {} bytes",
        bin.display(),
        newest,
        bytes.len()
    );
    let out = Command::new("env")
        .arg("-i")
        .arg(&bin)
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!("chatevict {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains("profile dist"), "{text}");
}

/// Whatever the build, `--version` names the commit and the profile.
#[test]
fn version_names_the_commit_and_the_profile() {
    let out = Command::new(env!("CARGO_BIN_EXE_chatevict"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let rest = text
        .strip_prefix(&format!("chatevict {} (commit ", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("{text}"));
    let (commit, profile) = rest
        .trim_end()
        .trim_end_matches(')')
        .split_once(", profile ")
        .unwrap();
    assert!(
        commit == "unknown"
            || commit
                .trim_end_matches("-dirty")
                .chars()
                .all(|c| c.is_ascii_hexdigit()),
        "{text}"
    );
    assert!(!profile.is_empty() && profile != "unknown", "{text}");
}
