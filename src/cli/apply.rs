//! `chatevict apply PLAN`: run a plan's removals from the command line.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::GraphArgs;
use crate::graph::prepare::{PlanSource, PrepareError, Prepared, prepare};
use crate::graph::runner::{self, Event, RunOptions, Summary, TargetState};
use crate::journal::EndReason;
use crate::sanitize::for_terminal;
use crate::triage::plan::{PLAN_VERSION, Plan, Target, sha256_file};
use crate::triage::query::Initiated;

use super::exit;
use super::signin::{Context, SIGN_IN_REMEDY, auth_fail, fail, runtime};

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The plan to run (written by `chatevict plan` or the application).
    #[arg(value_name = "PLAN.json")]
    pub plan: PathBuf,
    /// Send nothing; write to the journal what would be sent.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// The journal [default: one per tenant in $XDG_STATE_HOME/chatevict/journals].
    #[arg(long, value_name = "PATH")]
    pub journal: Option<PathBuf>,
    /// Removal requests per second [default: 0.8, the sustained Teams
    /// limit for one user].
    #[arg(long, env = "CHATEVICT_MAX_RATE", value_name = "R")]
    pub max_rate: Option<f64>,
    #[command(flatten)]
    pub graph: GraphArgs,
}

fn read_plan(path: &PathBuf) -> Result<Plan, String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| format!("{} is not a plan (not JSON: {e})", path.display()))?;
    if let Some(ver) = v.get("version").and_then(|v| v.as_u64())
        && ver > u64::from(PLAN_VERSION)
    {
        return Err(format!(
            "{} is a plan of format version {ver}; this chatevict reads version {PLAN_VERSION}",
            path.display()
        ));
    }
    serde_json::from_value(v).map_err(|e| format!("{} is not a plan: {e}", path.display()))
}

pub fn run(args: &ApplyArgs) -> u8 {
    let plan = match read_plan(&args.plan) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    let ctx = match Context::new(&args.graph, args.max_rate) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let sha = match sha256_file(&args.plan) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let rt = runtime();
    rt.block_on(async move {
        // A dry run sends nothing, sign-in included; it checks the tenant
        // against the saved session when there is one.
        let (session, account) = if args.dry_run {
            let a = ctx.auth.cache().load().ok().flatten().map(|c| c.account);
            (None, a)
        } else {
            match ctx.auth.resume().await {
                Ok(s) => {
                    let a = s.account().await;
                    (Some(s), Some(a))
                }
                Err(e) => return auth_fail(&e),
            }
        };
        let source = PlanSource {
            path: args.plan.display().to_string(),
            sha256: sha,
        };
        let prepared = match prepare(
            &plan.targets,
            source,
            account.as_ref(),
            args.dry_run,
            &ctx.dirs.journals(),
            args.journal.clone(),
        ) {
            Ok(p) => p,
            Err(PrepareError::Refused(refusals)) => {
                crate::safe_eprintln!(
                    "chatevict: the plan cannot be run; nothing was sent. {} of its {} target(s) refused:",
                    refusals.len(),
                    plan.targets.len()
                );
                for r in &refusals {
                    let t = &plan.targets[r.index];
                    crate::safe_eprintln!(
                        "  target {}: {} {}: {}",
                        r.index + 1,
                        for_terminal(&t.chat_id),
                        for_terminal(&t.user_upn),
                        for_terminal(&r.reason)
                    );
                }
                return exit::USAGE;
            }
            Err(PrepareError::Empty) => {
                crate::safe_eprintln!("chatevict: the plan has no target; nothing to send.");
                return exit::OK;
            }
            Err(e) => return fail(&e),
        };
        if !prepared.prior.bad_lines.is_empty() {
            crate::safe_eprintln!(
                "chatevict: the journal has {} unreadable line(s) (cut off by a crash?); they are ignored",
                prepared.prior.bad_lines.len()
            );
        }
        show(&prepared, account.as_ref());
        let to_send = prepared.to_send_count();
        if to_send == 0 {
            crate::safe_eprintln!(
                "Nothing to send: every target was removed by an earlier run (see the journal)."
            );
            return exit::OK;
        }
        if !args.dry_run && !args.yes {
            match confirm(to_send) {
                Ok(true) => {}
                Ok(false) => {
                    crate::safe_eprintln!("Nothing was sent.");
                    return exit::CANCELLED;
                }
                Err(code) => return code,
            }
        }
        let journal_path = prepared.journal_path.clone();
        let targets = prepared.targets().to_vec();
        let opts = RunOptions {
            max_rate: ctx.settings.max_rate,
            ..RunOptions::default()
        };
        let handle = match prepared.start(Some(ctx.graph()), session, opts) {
            Ok(h) => h,
            Err(e) => return fail(&e),
        };
        let summary = watch(handle, &targets).await;
        report_end(&summary, &journal_path)
    })
}

/// The confirmation: exactly what will be sent, on stderr.
fn show(p: &Prepared, account: Option<&crate::graph::cache::Account>) {
    for f in p.checked.folded() {
        crate::safe_eprintln!(
            "The plan lists {} in {} {} times: it is sent once.",
            for_terminal(&f.user_upn),
            for_terminal(&f.chat_id),
            f.times
        );
    }
    let who = account
        .map(|a| for_terminal(&a.username).into_owned())
        .unwrap_or_else(|| "(not signed in)".into());
    let domain = account
        .and_then(|a| a.username.rsplit_once('@').map(|(_, d)| d.to_owned()))
        .map(|d| format!(" ({})", for_terminal(&d)))
        .unwrap_or_default();
    let to_send: Vec<(usize, &crate::triage::plan::Target)> = p.to_send().collect();
    let chats: std::collections::BTreeSet<&str> =
        to_send.iter().map(|(_, t)| t.chat_id.as_str()).collect();
    crate::safe_eprintln!(
        "{} {} target(s) in {} chat(s) of tenant {}{} as {}:",
        if p.dry_run {
            "Dry run: would remove"
        } else {
            "About to remove"
        },
        to_send.len(),
        chats.len(),
        p.tenant_id,
        domain,
        who,
    );
    for (_, t) in &to_send {
        let start = match t.initiated {
            Initiated::External => "",
            Initiated::Internal => "  [started in your tenant]",
            Initiated::Unknown => "  [start unknown]",
        };
        crate::safe_eprintln!(
            "  {}  {}user {}  chat {}{}{}",
            for_terminal(&t.user_upn),
            t.user_display_name
                .as_deref()
                .map(|n| format!("({}) ", for_terminal(n)))
                .unwrap_or_default(),
            t.user_id.as_deref().unwrap_or("(looked up first by UPN)"),
            for_terminal(&t.chat_id),
            t.chat_name
                .as_deref()
                .map(|n| format!(" \"{}\"", for_terminal(n)))
                .unwrap_or_default(),
            start
        );
    }
    let already = p.already_removed();
    if already > 0 {
        crate::safe_eprintln!(
            "{already} more target(s) were removed by an earlier run: not sent again."
        );
    }
    let (internal, unknown) = p.internal_and_unknown();
    if internal + unknown > 0 {
        crate::safe_eprintln!(
            "Warning: {internal} of these target(s) are in chats started in your own tenant and \
             {unknown} in chats of unknown start; Microsoft's procedure is written for chats \
             started externally (filter with initiated:external)."
        );
    }
    let lookups = p.lookups();
    if lookups > 0 {
        crate::safe_eprintln!("{lookups} user id(s) will be looked up first (GET /users/{{upn}}).");
    }
    crate::safe_eprintln!("{}", crate::graph::prepare::WHAT_IT_DOES);
    crate::safe_eprintln!(
        "Journal: {}",
        for_terminal(&p.journal_path.display().to_string())
    );
}

/// Asks for the number of targets to be typed back.
fn confirm(n: usize) -> Result<bool, u8> {
    if !std::io::stdin().is_terminal() {
        crate::safe_eprintln!(
            "chatevict: not asking for confirmation without a terminal; add --yes to run the plan"
        );
        return Err(exit::USAGE);
    }
    eprint!("Type {n} to go on (anything else stops): ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return Ok(false);
    }
    Ok(line.trim() == n.to_string())
}

/// Shows the run's events until it ends; Ctrl-C cancels (twice: at once).
async fn watch(mut handle: runner::RunHandle, targets: &[Target]) -> Summary {
    let tty = std::io::stderr().is_terminal();
    let bar = if tty {
        let b = ProgressBar::new(targets.len() as u64);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{bar:30}] {pos}/{len} {msg} (elapsed {elapsed}, left ~{eta})",
            )
            .expect("template")
            .progress_chars("=> "),
        );
        b.enable_steady_tick(Duration::from_millis(250));
        Some(b)
    } else {
        None
    };
    let say = |line: String| match &bar {
        Some(b) => b.println(crate::sanitize::for_text(&line)),
        None => crate::safe_eprintln!("{line}"),
    };
    let mut ctrl_c = 0;
    let mut removed = 0usize;
    let mut failed = 0usize;
    loop {
        let ev = tokio::select! {
            e = handle.events.recv() => e,
            _ = tokio::signal::ctrl_c() => {
                ctrl_c += 1;
                if ctrl_c == 1 {
                    say("Cancelling: nothing new is sent; waiting for requests in flight (Ctrl-C again to quit now).".into());
                    handle.cancel();
                    continue;
                }
                say("Quitting now; the journal has every attempt sent so far.".into());
                handle.task.abort();
                std::process::exit(exit::CANCELLED.into());
            }
        };
        let Some(ev) = ev else { break };
        match ev {
            Event::Started { .. } => {}
            Event::Target { index, state } => {
                let t = &targets[index];
                let who = format!(
                    "{}  {}",
                    for_terminal(&t.chat_id),
                    for_terminal(&t.user_upn)
                );
                match &state {
                    TargetState::Removed { request_id, .. } => {
                        removed += 1;
                        if bar.is_none() {
                            say(format!(
                                "removed   {who}  request-id {}",
                                for_terminal(request_id.as_deref().unwrap_or("-"))
                            ));
                        }
                    }
                    TargetState::Failed(f) => {
                        failed += 1;
                        say(format!(
                            "FAILED    {who}  {}{}{}",
                            f.status.map(|s| format!("HTTP {s} ")).unwrap_or_default(),
                            f.code
                                .as_deref()
                                .map(|c| format!("{}: ", for_terminal(c)))
                                .unwrap_or_default(),
                            for_terminal(&f.message)
                        ));
                        if let Some(r) = &f.request_id {
                            say(format!("          request-id {}", for_terminal(r)));
                        }
                    }
                    TargetState::Retrying { wait, failure, .. } => match &bar {
                        None => say(format!(
                            "retrying  {who}  in {:.1}s: {}",
                            wait.as_secs_f64(),
                            for_terminal(&failure.message)
                        )),
                        Some(b) => b.set_message(format!(
                            "removed {removed}, failed {failed} · retrying after {}",
                            failure
                                .status
                                .map(|s| format!("HTTP {s}"))
                                .unwrap_or_else(|| "no reply".into())
                        )),
                    },
                    TargetState::Skipped { run, .. } if bar.is_none() => {
                        say(format!("skipped   {who}  (removed by run {run})"));
                    }
                    TargetState::WouldRemove => {
                        say(format!("would remove  {who}"));
                    }
                    _ => {}
                }
                if state.is_final()
                    && let Some(b) = &bar
                {
                    b.inc(1);
                    b.set_message(format!("removed {removed}, failed {failed}"));
                }
            }
            Event::Throttled { wait } => {
                let m = format!(
                    "throttled by the server; waiting {:.1}s",
                    wait.as_secs_f64()
                );
                match &bar {
                    Some(b) => b.set_message(m),
                    None => say(m),
                }
            }
            Event::Paused | Event::Resumed | Event::Cancelling => {}
            Event::Idle(_) => handle.finish(),
            Event::Ended(s) => {
                if let Some(b) = &bar {
                    b.finish_and_clear();
                }
                return s;
            }
        }
    }
    match handle.task.await {
        Ok(s) => s,
        Err(e) => {
            crate::safe_eprintln!("chatevict: the run stopped unexpectedly: {e}");
            std::process::exit(exit::FAILED.into());
        }
    }
}

fn report_end(s: &Summary, journal: &std::path::Path) -> u8 {
    let c = &s.counts;
    let mut line = format!(
        "Removed {}, failed {}, skipped {} (already removed)",
        c.removed, c.failed, c.skipped
    );
    if c.would_remove > 0 {
        line.push_str(&format!(", would remove {}", c.would_remove));
    }
    if c.left > 0 {
        line.push_str(&format!(", not done {}", c.left));
    }
    line.push_str(&format!(" in {:.1}s", s.elapsed.as_secs_f64()));
    if let Some(r) = s.achieved_rate {
        line.push_str(&format!(" ({r:.2} requests/s)"));
    }
    crate::safe_eprintln!("{line}.");
    crate::safe_eprintln!(
        "Journal: {} (`chatevict report {}` summarises it)",
        journal.display(),
        journal.display()
    );
    match &s.reason {
        EndReason::Cancelled => {
            crate::safe_eprintln!("Cancelled. Run the same command again to finish the rest.");
            exit::CANCELLED
        }
        EndReason::Stopped(why) if s.sign_in_needed => {
            crate::safe_eprintln!(
                "chatevict: the run stopped: {why} {SIGN_IN_REMEDY} Then run the same command \
                 again: what was removed is skipped."
            );
            exit::FAILED
        }
        EndReason::Stopped(why) => {
            crate::safe_eprintln!("chatevict: the run stopped: {why}");
            exit::FAILED
        }
        EndReason::Finished if c.failed > 0 => exit::SOME_FAILED,
        EndReason::Finished => exit::OK,
    }
}
