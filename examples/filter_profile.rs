//! Times compiling and selecting queries on an export, for a profiler:
//! `cargo run --release --example filter_profile FILE QUERY... ` (`N=40`
//! repeats each query 40 times; the first run pays for the lazy tables).
use chatevict::triage::index::Index;
use chatevict::triage::query::{self, Filter};
use chatevict::ual::{self, LoadOptions, Progress};
use std::sync::atomic::AtomicBool;
use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let ds = ual::load(
        &[path.into()],
        &LoadOptions::default(),
        &Progress::default(),
    )
    .unwrap();
    let ix = Index::build(&ds);
    let never = AtomicBool::new(false);
    for q in std::env::args().skip(2) {
        let parsed = query::parse(&q).unwrap();
        for _ in 0..std::env::var("N")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(4)
        {
            let t = Instant::now();
            let f = Filter::compile(&parsed, &ds, &ix, &never).unwrap();
            let c = t.elapsed();
            let n = f.select(&ds, &ix, &query::no_marks, &never).unwrap().len();
            eprintln!("{q}: compile {:?} select {:?} -> {n}", c, t.elapsed() - c);
        }
    }
}
