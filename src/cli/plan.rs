//! `chatevict plan`: the targets of the selected external chats, written
//! as the plan a removal run takes.

use std::io::{self, IsTerminal, Write};

use super::output::SafeJson;
use super::triage;
use super::{PlanArgs, exit};
use crate::sanitize::for_terminal;
use crate::triage::chats::is_guid;
use crate::triage::plan::{self, Plan};

pub fn run(args: &PlanArgs) -> u8 {
    triage::with(&args.load, args.filter.as_deref(), |t| {
        if t.ds.records.is_empty() {
            eprintln!("chatevict: no record loaded; no plan written");
            return exit::FAILED;
        }
        let sources = match plan::source_files(&t.ds) {
            Ok(s) => s,
            Err((path, e)) => {
                eprintln!(
                    "chatevict: cannot read {} again: {e}",
                    for_terminal(&path.display().to_string())
                );
                return exit::FAILED;
            }
        };
        let targets = plan::targets(&t.ds, &t.ix, t.selected_chats());
        let plan = Plan::new(
            chrono::Utc::now(),
            sources,
            t.query.as_ref().map(|q| q.to_string()),
            targets,
        );
        for tg in &plan.targets {
            if !is_guid(&tg.tenant_id) {
                eprintln!(
                    "chatevict: warning: {} in {}: tenant id `{}` is no GUID (an anonymised export?); a run will refuse this target",
                    for_terminal(&tg.user_upn),
                    for_terminal(&tg.chat_id),
                    for_terminal(&tg.tenant_id)
                );
            }
        }
        let result = match &args.output {
            Some(path) if path.as_os_str() != "-" => plan.write_atomic(path),
            _ => {
                let out = io::stdout();
                let tty = out.is_terminal();
                let mut w = out.lock();
                write_plan(&mut w, &plan, tty)
            }
        };
        if let Err(e) = result {
            eprintln!("chatevict: cannot write the plan: {e}");
            return exit::FAILED;
        }
        if !args.load.quiet {
            let chats: std::collections::BTreeSet<&str> =
                plan.targets.iter().map(|t| t.chat_id.as_str()).collect();
            eprintln!(
                "chatevict: plan: {} target(s) in {} external chat(s); {} user id(s) to look up before a run{}",
                plan.targets.len(),
                chats.len(),
                plan.lookups(),
                match &args.output {
                    Some(p) if p.as_os_str() != "-" =>
                        format!("; written to {}", for_terminal(&p.display().to_string())),
                    _ => String::new(),
                }
            );
        }
        exit::OK
    })
}

fn write_plan<W: Write>(w: &mut W, plan: &Plan, safe: bool) -> io::Result<()> {
    if safe {
        let mut ser = serde_json::Serializer::with_formatter(&mut *w, SafePretty::default());
        serde::Serialize::serialize(plan, &mut ser).map_err(io::Error::other)?;
    } else {
        serde_json::to_writer_pretty(&mut *w, plan).map_err(io::Error::other)?;
    }
    w.write_all(b"\n")?;
    w.flush()
}

/// Pretty JSON for a terminal: indented like `to_writer_pretty`, strings
/// escaped like [`SafeJson`].
#[derive(Default)]
struct SafePretty<'a>(serde_json::ser::PrettyFormatter<'a>);

impl serde_json::ser::Formatter for SafePretty<'_> {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, s: &str) -> io::Result<()> {
        SafeJson.write_string_fragment(w, s)
    }
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}
