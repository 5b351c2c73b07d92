//! `chatevict apply PLAN`: run a plan's removals from the command line.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::GraphArgs;
use crate::graph::runner::{self, Event, RunInput, RunOptions, Summary, TargetState};
use crate::journal::{self, EndReason, Journal, PlanRef};
use crate::sanitize::for_terminal;
use crate::triage::plan::{PLAN_VERSION, Plan, sha256_file};

use super::exit;
use super::signin::{Context, fail, runtime};

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
    /// The journal [default: one per plan in $XDG_STATE_HOME/chatevict/journals].
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
    let journal_path = args
        .journal
        .clone()
        .unwrap_or_else(|| journal::default_path(&ctx.dirs.journals(), &sha));
    let prior = match journal::read(&journal_path) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    if !prior.bad_lines.is_empty() {
        eprintln!(
            "chatevict: the journal has {} unreadable line(s) (cut off by a crash?); they are ignored",
            prior.bad_lines.len()
        );
    }
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
                Err(e) => return fail(&e),
            }
        };
        let tid = account.as_ref().map(|a| a.tenant_id.clone());
        let refusals = runner::check_plan(&plan.targets, tid.as_deref());
        if !refusals.is_empty() {
            eprintln!(
                "chatevict: the plan cannot be run; {} target(s) refused:",
                refusals.len()
            );
            for r in refusals.iter().take(20) {
                let t = &plan.targets[r.index];
                eprintln!(
                    "  {} {}: {}",
                    for_terminal(&t.chat_id),
                    for_terminal(&t.user_upn),
                    for_terminal(&r.reason)
                );
            }
            if refusals.len() > 20 {
                eprintln!("  … and {} more", refusals.len() - 20);
            }
            return exit::FAILED;
        }
        let done = prior.removed();
        let already = plan
            .targets
            .iter()
            .filter(|t| done.contains_key(&journal::Key::new(&t.chat_id, &t.user_upn)))
            .count();
        let to_do = plan.targets.len() - already;
        let chats: std::collections::HashSet<&str> =
            plan.targets.iter().map(|t| t.chat_id.as_str()).collect();
        let who = account
            .as_ref()
            .map(|a| for_terminal(&a.username).into_owned())
            .unwrap_or_else(|| "(not signed in)".into());
        eprintln!(
            "{} {} target(s) in {} chat(s) of tenant {} as {}{}.",
            if args.dry_run {
                "Dry run: would remove"
            } else {
                "About to remove"
            },
            to_do,
            chats.len(),
            tid.as_deref()
                .map(|t| for_terminal(t).into_owned())
                .unwrap_or_else(|| "?".into()),
            who,
            if already > 0 {
                format!(" ({already} already removed by an earlier run, skipped)")
            } else {
                String::new()
            }
        );
        let lookups = plan.lookups();
        if lookups > 0 {
            eprintln!("{lookups} user id(s) will be looked up first (GET /users/{{upn}}).");
        }
        eprintln!("Journal: {}", journal_path.display());
        if !args.dry_run && to_do > 0 && !args.yes {
            match confirm(to_do) {
                Ok(true) => {}
                Ok(false) => {
                    eprintln!("Nothing was sent.");
                    return exit::CANCELLED;
                }
                Err(code) => return code,
            }
        }
        let journal = match Journal::open(&journal_path) {
            Ok(j) => j,
            Err(e) => return fail(&e),
        };
        let opts = RunOptions {
            max_rate: ctx.settings.max_rate,
            dry_run: args.dry_run,
            ..RunOptions::default()
        };
        let input = RunInput {
            targets: plan.targets.clone(),
            plan: PlanRef {
                path: args.plan.display().to_string(),
                sha256: sha,
                targets: plan.targets.len(),
            },
            journal,
            prior,
            graph: (!args.dry_run).then(|| ctx.graph()),
            session,
            tenant_id: tid,
            account: account.map(|a| a.username),
        };
        let handle = runner::start(input, opts);
        let summary = watch(handle, &plan).await;
        report_end(&summary, &journal_path)
    })
}

/// Asks for the number of targets to be typed back.
fn confirm(n: usize) -> Result<bool, u8> {
    if !std::io::stdin().is_terminal() {
        eprintln!(
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
async fn watch(mut handle: runner::RunHandle, plan: &Plan) -> Summary {
    let tty = std::io::stderr().is_terminal();
    let bar = if tty {
        let b = ProgressBar::new(plan.targets.len() as u64);
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
        Some(b) => b.println(line),
        None => eprintln!("{line}"),
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
                let t = &plan.targets[index];
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
            eprintln!("chatevict: the run stopped unexpectedly: {e}");
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
    eprintln!("{line}.");
    eprintln!(
        "Journal: {} (`chatevict report {}` summarises it)",
        journal.display(),
        journal.display()
    );
    match &s.reason {
        EndReason::Cancelled => {
            eprintln!("Cancelled. Run the same command again to finish the rest.");
            exit::CANCELLED
        }
        EndReason::Stopped(why) => {
            eprintln!("chatevict: the run stopped: {}", for_terminal(why));
            exit::FAILED
        }
        EndReason::Finished if c.failed > 0 => exit::SOME_FAILED,
        EndReason::Finished => exit::OK,
    }
}
