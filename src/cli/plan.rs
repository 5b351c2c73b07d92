//! `chatevict plan`: the targets of the selected external chats, written
//! as the plan a removal run takes.

use std::io::{self, Write};

use super::triage;
use super::{PlanArgs, exit};
use crate::sanitize::for_terminal;
use crate::triage::chats::is_guid;
use crate::triage::plan::{self, Plan};

pub fn run(args: &PlanArgs) -> u8 {
    triage::with(&args.load, args.filter.as_deref(), |t| {
        if t.ds.records.is_empty() {
            crate::safe_eprintln!("chatevict: no record loaded; no plan written");
            return exit::FAILED;
        }
        let sources = match plan::source_files(&t.ds) {
            Ok(s) => s,
            Err((path, e)) => {
                crate::safe_eprintln!(
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
                crate::safe_eprintln!(
                    "chatevict: warning: {} in {}: tenant id `{}` is no GUID (an anonymised export?); a run will refuse this target",
                    for_terminal(&tg.user_upn),
                    for_terminal(&tg.chat_id),
                    for_terminal(&tg.tenant_id)
                );
            }
        }
        let result = match &args.output {
            Some(path) if path.as_os_str() != "-" => plan.write_atomic(path),
            _ => write_plan(&mut io::stdout().lock(), &plan),
        };
        if let Err(e) = result {
            crate::safe_eprintln!("chatevict: cannot write the plan: {e}");
            return exit::FAILED;
        }
        if !args.load.quiet {
            let chats: std::collections::BTreeSet<&str> =
                plan.targets.iter().map(|t| t.chat_id.as_str()).collect();
            crate::safe_eprintln!(
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

fn write_plan<W: Write>(w: &mut W, plan: &Plan) -> io::Result<()> {
    w.write_all(&plan.to_bytes())?;
    w.flush()
}
