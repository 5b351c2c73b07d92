//! Names the build in `chatevict --version`: the git commit it was built
//! from (with `-dirty` when the tree had changes) and the Cargo profile,
//! so that an admin can tell which binary is on a jump host.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).map_or_else(
        || "unknown".to_owned(),
        |c| {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty { format!("{c}-dirty") } else { c }
        },
    );
    // OUT_DIR is target/[triple/]PROFILE/build/chatevict-HASH/out: the
    // profile's own name (`dist` too, which PROFILE would call release).
    let out_dir = std::env::var("OUT_DIR").unwrap_or_default();
    let profile = Path::new(&out_dir)
        .ancestors()
        .nth(3)
        .and_then(|p| p.file_name())
        .map_or_else(
            || "unknown".to_owned(),
            |p| p.to_string_lossy().into_owned(),
        );
    println!("cargo:rustc-env=CHATEVICT_COMMIT={commit}");
    println!("cargo:rustc-env=CHATEVICT_PROFILE={profile}");
    // Again when HEAD moves (a commit, a checkout), not on every build.
    if let Some(head) = git(&["rev-parse", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={head}");
    }
    if let Some(index) = git(&["rev-parse", "--git-path", "index"]) {
        println!("cargo:rerun-if-changed={index}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
