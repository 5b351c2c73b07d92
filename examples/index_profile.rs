//! Builds the triage index of an export several times, for profiling:
//! `cargo run --release --example index_profile FILE [N]`.
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().expect("FILE"));
    let n: usize = args.next().map_or(5, |s| s.parse().expect("N"));
    let ds = chatevict::ual::load(&[path], &Default::default(), &Default::default()).expect("load");
    for _ in 0..n {
        let t = std::time::Instant::now();
        let ix = chatevict::triage::index::Index::build(&ds);
        eprintln!("index: {:?} ({} chats)", t.elapsed(), ix.chats.list.len());
    }
}
