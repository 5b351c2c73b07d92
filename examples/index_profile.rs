//! Builds the triage index of an export several times, for profiling:
//! `cargo run --release --example index_profile FILE [N]`.
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().expect("FILE"));
    let n: usize = args.next().map_or(5, |s| s.parse().expect("N"));
    let ds = chatevict::ual::load(&[path], &Default::default(), &Default::default()).expect("load");
    eprintln!("after load: {}", memory());
    for _ in 0..n {
        let t = std::time::Instant::now();
        let ix = chatevict::triage::index::Index::build(&ds);
        eprintln!(
            "index: {:?} ({} chats); {}",
            t.elapsed(),
            ix.chats.list.len(),
            memory()
        );
    }
}

/// Resident and peak memory, from /proc (Linux).
fn memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ")
}
