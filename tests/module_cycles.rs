//! The house rule that keeps the layers apart: no two modules use each
//! other (a module and its own submodules are one unit). Read from the
//! source, so a new cycle fails here before it sets.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every module of `src/` (by path: `tui::app::run_update`) and its text.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
                let rel = p.strip_prefix(&root).unwrap().with_extension("");
                let mut parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if parts.last().is_some_and(|l| l == "mod") {
                    parts.pop();
                }
                let name = parts.join("::");
                if name != "lib" && name != "main" {
                    out.insert(name, std::fs::read_to_string(&p).unwrap());
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out
}

/// The paths a module's text names: `crate::a::b…` and `super::x…`.
fn named(module: &str, text: &str) -> Vec<String> {
    let ident = |s: &str| -> Vec<String> {
        s.split("::")
            .map(|p| {
                p.chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect::<String>()
            })
            .take_while(|p| !p.is_empty())
            .collect()
    };
    let parent: Vec<&str> = {
        let mut p: Vec<&str> = module.split("::").collect();
        p.pop();
        p
    };
    let mut out = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        out.push(ident(&text[i + 7..]).join("::"));
    }
    for (i, _) in text.match_indices("super::") {
        if text[..i].ends_with("::") {
            continue; // `super::super::`, counted from the first
        }
        let mut base: Vec<String> = parent.iter().map(|s| s.to_string()).collect();
        let mut rest = &text[i..];
        while let Some(r) = rest.strip_prefix("super::") {
            rest = r;
        }
        let ups = (text[i..].len() - rest.len()) / 7;
        for _ in 1..ups {
            base.pop();
        }
        base.extend(ident(rest));
        out.push(base.join("::"));
    }
    out
}

#[test]
fn no_two_modules_use_each_other() {
    let mods = modules();
    let resolve = |path: &str| -> Option<String> {
        let mut p = path.to_owned();
        loop {
            if mods.contains_key(&p) {
                return Some(p);
            }
            p = p.rsplit_once("::")?.0.to_owned();
        }
    };
    let related = |a: &str, b: &str| {
        a == b || a.starts_with(&format!("{b}::")) || b.starts_with(&format!("{a}::"))
    };
    let mut uses: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (m, text) in &mods {
        for n in named(m, text) {
            if let Some(t) = resolve(&n)
                && !related(m, &t)
            {
                uses.entry(m).or_default().insert(t);
            }
        }
    }
    // Cycles between whole subtrees count too (`graph::x` using
    // `config` while `config` uses `graph::y`): compare top levels.
    let top = |m: &str| m.split("::").next().unwrap().to_owned();
    let mut cycles = Vec::new();
    for (a, ts) in &uses {
        for b in ts {
            let back = uses.get(b.as_str()).is_some_and(|s| s.contains(*a));
            if back && a < &b.as_str() {
                cycles.push(format!("{a} <-> {b}"));
            }
        }
    }
    let mut tops: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (a, ts) in &uses {
        for b in ts {
            if top(a) != top(b) {
                tops.entry(top(a)).or_default().insert(top(b));
            }
        }
    }
    for (a, ts) in &tops {
        for b in ts {
            if a < b && tops.get(b).is_some_and(|s| s.contains(a)) {
                cycles.push(format!("{a} <-> {b} (between their submodules)"));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "modules that use each other:\n{}",
        cycles.join("\n")
    );
    // The check sees what it should: the command line uses the library.
    assert!(uses["cli::plan"].contains("triage::plan"), "{uses:?}");
}
