//! Loads exports in turn, several rounds, and compares them per byte: on a
//! shared, noisy machine, taking the files in turn (not one after the
//! other) lets drift hit every shape alike.
//! `cargo run --release --example load_shapes FILE... [-n ROUNDS]`.
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chatevict::ual::{self, LoadOptions, Progress};

fn main() {
    let mut files = Vec::new();
    let mut rounds = 15;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "-n" {
            rounds = args.next().and_then(|n| n.parse().ok()).expect("-n ROUNDS");
        } else {
            files.push(PathBuf::from(a));
        }
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); files.len()];
    for _ in 0..rounds {
        for (f, t) in files.iter().zip(&mut times) {
            let start = Instant::now();
            let ds = ual::load(
                std::slice::from_ref(f),
                &LoadOptions::default(),
                &Progress::default(),
            )
            .expect("nothing cancels");
            t.push(start.elapsed());
            assert!(ds.failures.is_empty(), "{}: {:?}", f.display(), ds.failures);
        }
    }
    let mut rows = Vec::new();
    for (f, t) in files.iter().zip(&mut times) {
        t.sort();
        let bytes = std::fs::metadata(f).map_or(0, |m| m.len()) as f64;
        let median = t[t.len() / 2];
        let speed = bytes / median.as_secs_f64() / (1 << 20) as f64;
        rows.push((f, bytes, t[0], median, speed));
    }
    let fastest = rows.iter().map(|r| r.4).fold(0.0, f64::max);
    println!("file\tMB\tmin ms\tmedian ms\tMiB/s\tslower per byte");
    for (f, bytes, min, median, speed) in rows {
        println!(
            "{}\t{:.0}\t{:.0}\t{:.0}\t{:.0}\t{:.2}x",
            f.display(),
            bytes / 1e6,
            min.as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e3,
            speed,
            fastest / speed
        );
    }
}
