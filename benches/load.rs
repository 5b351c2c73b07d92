//! Load-path benchmarks on generated exports (DESIGN.md section 8).
//!
//! Data: `CHATEVICT_BENCH_FILE=path` uses that export; otherwise 20,000 rows
//! are generated once with `../shared/tools/gen_ual.py` into
//! `target/bench-data/`. Without either, the benchmarks say so and skip.
//!
//! `csv_floor` is the budget's reference: the `csv` crate merely reading
//! every record of the same file, no JSON. `chatevict_load` is the whole
//! load (sniff, split, parse AuditData, intern, deduplicate). `shape/*`
//! loads the same records as Purview CSV, NDJSON, a one-line array and
//! PowerShell's UTF-16 `ConvertTo-Json`.

mod common;

use chatevict::ual::{self, LoadOptions, Progress};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn load(c: &mut Criterion) {
    let Some(path) = common::data() else { return };
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let mut g = c.benchmark_group("load");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    g.bench_function("csv_floor", |b| {
        b.iter(|| {
            let mut rdr = csv::ReaderBuilder::new()
                .flexible(true)
                .from_path(&path)
                .unwrap();
            let mut rec = csv::ByteRecord::new();
            let mut n = 0u64;
            while rdr.read_byte_record(&mut rec).unwrap() {
                n += 1;
            }
            n
        })
    });
    g.bench_function("chatevict_load", |b| {
        b.iter(|| load_all(&path).records.len())
    });
    g.finish();
}

/// The whole load of one export, as the commands do it.
fn load_all(path: &std::path::Path) -> ual::Dataset {
    ual::load(
        &[path.to_path_buf()],
        &LoadOptions::default(),
        &Progress::default(),
    )
    .expect("nothing cancels a benchmark's load")
}

/// The same records in each shape: the time per shape (and per byte, as
/// criterion's throughput) shows that no shape is slow.
fn shapes(c: &mut Criterion) {
    let Some(shapes) = common::shapes() else {
        return;
    };
    let mut g = c.benchmark_group("shape");
    g.sample_size(10);
    for (name, path) in shapes {
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        g.throughput(Throughput::Bytes(bytes));
        g.bench_function(name, |b| {
            b.iter(|| {
                let ds = load_all(&path);
                assert!(ds.problems.is_empty(), "{name}: {:?}", ds.problems.first());
                ds.records.len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, load, shapes);
criterion_main!(benches);
