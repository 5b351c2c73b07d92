//! Rendering benchmarks (DESIGN.md section 8): one full frame of the
//! events view at 120x40, and one selection move, on the same data as the
//! other benchmarks (`CHATEVICT_BENCH_FILE` for a big export). Also
//! prints the bytes a one-row move writes to a real (crossterm) backend,
//! against the 1 KiB budget.

mod common;

use std::sync::atomic::AtomicBool;

use chatevict::triage::index::Index;
use chatevict::tui::app::{App, Data, Effect, Msg};
use chatevict::tui::keymap::Keymap;
use chatevict::tui::theme::Theme;
use chatevict::tui::{filter_now, view};
use chatevict::ual::{self, LoadOptions, Progress};
use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

fn pump(app: &mut App, msg: Msg) {
    let mut q = vec![msg];
    while let Some(m) = q.pop() {
        for e in app.update(m) {
            if let Effect::Filter {
                job,
                query,
                marked,
                order,
            } = e
            {
                let d = app.data.clone().unwrap();
                let never = AtomicBool::new(false);
                q.push(filter_now(&d, job, &query, &marked, order, &never).unwrap());
            }
        }
    }
}

// The tests' writer, so that bench and tests count bytes alike.
#[path = "../tests/common/sink.rs"]
mod sink;
use sink::Sink;

fn render(c: &mut Criterion) {
    let Some(path) = common::data() else { return };
    let files = vec![path];
    let ds = ual::load(&files, &LoadOptions::default(), &Progress::default()).unwrap();
    let ix = Index::build(&ds);
    let mut app = App::new(
        files.clone(),
        Keymap::default(),
        Theme::new(true, false),
        (120, 40),
    );
    pump(&mut app, Msg::Loaded(Box::new(Data::new(ds, ix, files))));
    let down = || Msg::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    let up = || Msg::Key(KeyEvent::new(KeyCode::Up, KeyModifiers::NONE));
    // Somewhere in the middle.
    let mid = app.rows.len() / 2;
    app.events.sel = mid;
    pump(&mut app, down());

    let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
    c.bench_function("render/events frame 120x40", |b| {
        b.iter(|| {
            t.draw(|f| view::draw(f, &app)).unwrap();
        })
    });
    c.bench_function("render/move one row and draw", |b| {
        let mut flip = false;
        b.iter(|| {
            flip = !flip;
            pump(&mut app, if flip { down() } else { up() });
            t.draw(|f| view::draw(f, &app)).unwrap();
        })
    });

    let page_down = || Msg::Key(KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE));
    let page_up = || Msg::Key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE));
    c.bench_function("render/move one page and draw", |b| {
        let mut flip = false;
        b.iter(|| {
            flip = !flip;
            pump(&mut app, if flip { page_down() } else { page_up() });
            t.draw(|f| view::draw(f, &app)).unwrap();
        })
    });

    // The bytes a real terminal gets, through the application's backend.
    let sink = Sink::default();
    let mut real = Terminal::with_options(
        chatevict::tui::gapfill::GapFill::with_area(
            CrosstermBackend::new(sink.clone()),
            Rect::new(0, 0, 120, 40),
        ),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, 120, 40)),
        },
    )
    .unwrap();
    real.draw(|f| view::draw(f, &app)).unwrap();
    let (mut within, mut scrolling) = (Vec::new(), Vec::new());
    for _ in 0..200 {
        sink.0.lock().unwrap().clear();
        let offset = app.events.offset;
        pump(&mut app, down());
        real.draw(|f| view::draw(f, &app)).unwrap();
        let n = sink.0.lock().unwrap().len();
        if app.events.offset == offset {
            within.push(n);
        } else {
            scrolling.push(n);
        }
    }
    // Median and most: the details pane of the next record is most of it.
    let spread = |v: &mut Vec<usize>| {
        v.sort_unstable();
        format!(
            "median {}, most {}",
            v.get(v.len() / 2).copied().unwrap_or(0),
            v.last().copied().unwrap_or(0)
        )
    };
    let (within, scrolling) = (spread(&mut within), spread(&mut scrolling));
    let mut pages = Vec::new();
    for _ in 0..20 {
        sink.0.lock().unwrap().clear();
        pump(&mut app, page_down());
        real.draw(|f| view::draw(f, &app)).unwrap();
        pages.push(sink.0.lock().unwrap().len());
    }
    pages.sort_unstable();
    eprintln!(
        "{} order, one row down at 120x40 (budget 1024 bytes): within the page {within}; \
         when the list scrolls {scrolling}; a page down: median {}, most {} (20 pages)",
        app.order.events.label(),
        pages[pages.len() / 2],
        pages[pages.len() - 1]
    );
}

criterion_group!(benches, render);
criterion_main!(benches);
