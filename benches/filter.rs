//! Triage benchmarks (DESIGN.md section 8): building the index once per
//! dataset, and re-filtering per keystroke (budget: 16 ms at 1M records
//! for field and substring queries). Data as in `load.rs`
//! (`CHATEVICT_BENCH_FILE` for a big export).

mod common;

use std::sync::atomic::AtomicBool;

use chatevict::triage::index::Index;
use chatevict::triage::query::{self, Filter};
use chatevict::ual::{self, LoadOptions, Progress};
use criterion::{Criterion, criterion_group, criterion_main};

/// Queries an admin types, from cheap to dear.
const QUERIES: &[&str] = &[
    "ext:yes",
    "op:MemberAdded",
    "user:user0042",
    "fabrikam",
    "domain:northwind ext:yes",
    "ext:yes initiated:external -guest:yes",
    "after:2026-10-15 before:2026-10-20 op:MessageSent",
    "(name:sync OR name:review) type:GroupChat",
    "/^member(added|removed)$/",
    "ip:/^10\\./",
];

fn triage(c: &mut Criterion) {
    let Some(path) = common::data() else { return };
    let ds = ual::load(
        std::slice::from_ref(&path),
        &LoadOptions::default(),
        &Progress::default(),
    )
    .unwrap();
    let never = AtomicBool::new(false);
    let mut g = c.benchmark_group("triage");
    g.sample_size(10);
    g.bench_function("index_build", |b| {
        b.iter(|| Index::build(&ds).chats.list.len())
    });
    let ix = Index::build(&ds);
    for q in QUERIES {
        let parsed = query::parse(q).unwrap();
        g.bench_function(format!("filter {q}"), |b| {
            b.iter(|| {
                let f = Filter::compile(&parsed, &ds, &ix, &never).unwrap();
                f.select(&ds, &ix, &query::no_marks, &never).unwrap().len()
            })
        });
    }
    // The list's order: each order of the whole dataset once (the first
    // time it is asked for), then a filter's rows put in it per keystroke.
    use chatevict::triage::order::{EventOrder, Orders};
    for order in [EventOrder::Newest, EventOrder::User] {
        g.bench_function(format!("order {} whole (once)", order.name()), |b| {
            b.iter(|| {
                let mut all: Vec<u32> = (0..ds.records.len() as u32).collect();
                order.sort(&ds, &ix, &mut all);
                all.len()
            })
        });
    }
    let orders = Orders::default();
    let rows = {
        let f = Filter::compile(&query::parse("ext:yes").unwrap(), &ds, &ix, &never).unwrap();
        f.select(&ds, &ix, &query::no_marks, &never).unwrap()
    };
    orders.arrange(&ds, &ix, EventOrder::Newest, rows.clone());
    g.bench_function(
        "order newest: a filter's rows arranged (per keystroke)",
        |b| {
            b.iter(|| {
                orders
                    .arrange(&ds, &ix, EventOrder::Newest, rows.clone())
                    .len()
            })
        },
    );
    g.finish();
}

criterion_group!(benches, triage);
criterion_main!(benches);
