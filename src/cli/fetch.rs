//! `chatevict fetch`: search the tenant's audit log through Graph (the
//! first step of Microsoft's procedure, without the portal) and save the
//! records as an export every other command reads.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use crate::config::GraphArgs;
use crate::graph::audit::{
    AUDIT_PERMISSION, DEFAULT_DAYS, FetchState, FetchStore, Phase, QuerySpec, TEAMS_RECORD_TYPE,
    check_cloud, default_output, parse_when, unused_name,
};
use crate::graph::auth::Session;
use crate::graph::fetch::{self, AuditApi, AuditSession, FetchError, FetchEvent, Outcome};
use crate::sanitize::for_terminal;

use super::exit;
use super::signin::{Context, fail, interactive, runtime};

#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// Start of the period: a duration back from now (7d, 36h, 2w), a UTC
    /// date (2026-11-01) or date and time (2026-11-01T08:00) [default: 30d].
    #[arg(long, value_name = "DATE|DURATION")]
    pub since: Option<String>,
    /// End of the period, in the same forms [default: now].
    #[arg(long, value_name = "DATE|DURATION")]
    pub until: Option<String>,
    /// Only records of this operation (repeatable): MemberAdded,
    /// ChatCreated, MessageSent, …
    #[arg(long = "operation", value_name = "OP")]
    pub operations: Vec<String>,
    /// Only records of this user (repeatable).
    #[arg(long = "user", value_name = "UPN")]
    pub users: Vec<String>,
    /// Only records whose details contain this text.
    #[arg(long, value_name = "TEXT")]
    pub keyword: Option<String>,
    /// Record types, as Graph names them (repeatable) [default:
    /// MicrosoftTeams].
    #[arg(long = "record-type", value_name = "TYPE")]
    pub record_types: Vec<String>,
    /// Where to save the records [default:
    /// audit-<tenant>-<start>-<end>.json in the current directory].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Continue a fetch that stopped (Ctrl-C, a dropped session): its
    /// query id, or none for the last one.
    #[arg(long, value_name = "QUERY_ID", num_args = 0..=1, default_missing_value = "",
          conflicts_with_all = ["since", "until", "operations", "users", "keyword", "record_types", "output"])]
    pub resume: Option<String>,
    /// Seconds between two looks at the query's status.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub poll: f64,
    /// If signing in is needed: with a browser that comes back to this
    /// machine, instead of a device code.
    #[arg(long)]
    pub browser: bool,
    /// The loopback port for --browser (default: any free port).
    #[arg(long, default_value_t = 0, requires = "browser")]
    pub port: u16,
    #[command(flatten)]
    pub graph: GraphArgs,
}

/// The query the arguments describe.
fn spec_of(args: &FetchArgs, now: chrono::DateTime<chrono::Utc>) -> Result<QuerySpec, String> {
    let start = match &args.since {
        Some(s) => parse_when(s, now)?,
        None => now - chrono::Duration::days(DEFAULT_DAYS),
    };
    let end = match &args.until {
        Some(s) => parse_when(s, now)?,
        None => now,
    };
    let mut spec = QuerySpec::teams_since(start, end);
    if !args.record_types.is_empty() {
        spec.record_types.clear();
        for t in &args.record_types {
            let n = crate::ual::record_type::number(t)
                .ok_or_else(|| format!("--record-type {t:?} is not a record type Graph knows"))?;
            let name = crate::ual::record_type::name(n).unwrap_or(TEAMS_RECORD_TYPE);
            spec.record_types.push(name.to_owned());
        }
    }
    spec.operations = args.operations.clone();
    spec.users = args.users.clone();
    spec.keyword = args.keyword.clone().filter(|k| !k.trim().is_empty());
    spec.check()?;
    Ok(spec)
}

pub fn run(args: &FetchArgs) -> u8 {
    if !(args.poll.is_finite() && args.poll > 0.0) {
        crate::safe_eprintln!("chatevict: --poll must be a positive number of seconds");
        return exit::USAGE;
    }
    let ctx = match Context::new(&args.graph, None) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Err(e) = check_cloud(ctx.settings.cloud) {
        crate::safe_eprintln!("chatevict: {e}");
        return exit::USAGE;
    }
    let store = FetchStore::new(ctx.dirs.state.join("fetches"));
    let resuming = match &args.resume {
        Some(id) => match store.load(Some(id.as_str()).filter(|i| !i.is_empty())) {
            Ok(s) => Some(s),
            Err(e) => return fail(&e),
        },
        None => None,
    };
    let spec = match &resuming {
        Some(s) => s.spec.clone(),
        None => match spec_of(args, chrono::Utc::now()) {
            Ok(s) => s,
            Err(e) => {
                crate::safe_eprintln!("chatevict: {e}");
                return exit::USAGE;
            }
        },
    };
    runtime().block_on(async {
        let session = match session(&ctx, args).await {
            Ok(s) => s,
            Err(code) => return code,
        };
        let account = session.account().await;
        let mut api = AuditApi::new(
            ctx.http.clone(),
            &ctx.settings.graph_url,
            ctx.settings.api_version,
            session,
        );
        let mut progress = Progress::new();
        let mut state = match resuming {
            Some(s) => {
                if s.graph_url != ctx.settings.graph_url.as_str()
                    || !s.tenant_id.eq_ignore_ascii_case(&account.tenant_id)
                {
                    return fail(&format!(
                        "query {} was made in tenant {} at {}; the session is for tenant {} at {}",
                        s.query_id,
                        for_terminal(&s.tenant_id),
                        s.graph_url,
                        for_terminal(&account.tenant_id),
                        ctx.settings.graph_url
                    ));
                }
                // Where the query was made (beta, where v1.0 lacked it).
                api.use_version(s.api_version);
                crate::safe_eprintln!(
                    "Resuming audit log query {} ({}, {} records read so far).",
                    s.query_id,
                    match s.phase {
                        Phase::Polling => "waiting for the service",
                        Phase::Reading => "reading its records",
                        Phase::Done => "every page read",
                    },
                    s.records
                );
                s
            }
            None => {
                let output = args
                    .output
                    .clone()
                    .unwrap_or_else(|| unused_name(default_output(&account.tenant_id, &spec)));
                let tty = progress.tty;
                let mut on = |e: FetchEvent| progress.event(e);
                let started = tokio::select! {
                    r = fetch::start(
                        &mut api,
                        &store,
                        spec,
                        &account.tenant_id,
                        &account.username,
                        output,
                        &mut on,
                    ) => r,
                    _ = tokio::signal::ctrl_c() => {
                        clear_line(tty);
                        crate::safe_eprintln!("chatevict: cancelled before the query was created");
                        return exit::CANCELLED;
                    }
                };
                match started {
                    Ok(s) => s,
                    Err(e) => return fetch_fail(&e),
                }
            }
        };
        let poll = Duration::from_secs_f64(args.poll);
        let id = state.query_id.clone();
        let tty = progress.tty;
        let mut on = |e: FetchEvent| progress.event(e);
        let ran = tokio::select! {
            r = fetch::run(&mut api, &store, &mut state, poll, &mut on) => r,
            _ = tokio::signal::ctrl_c() => {
                clear_line(tty);
                crate::safe_eprintln!(
                    "chatevict: stopped. The query keeps running in the tenant; \
                     `chatevict fetch --resume {id}` goes on where this stopped."
                );
                return exit::CANCELLED;
            }
        };
        clear_line(tty);
        match ran {
            Ok(outcome) => finish(&store, &state, &outcome),
            Err(e) => {
                let code = fetch_fail(&e);
                if !matches!(e, FetchError::QueryEnded { .. }) {
                    crate::safe_eprintln!(
                        "The query is kept: `chatevict fetch --resume {id}` tries again."
                    );
                }
                code
            }
        }
    })
}

/// The saved session with the audit permission, or a new sign-in for it.
async fn session(ctx: &Context, args: &FetchArgs) -> Result<Session, u8> {
    let auth = ctx.auth.with_scope(AUDIT_PERMISSION);
    let why = match fetch::audit_session(&auth).await {
        AuditSession::Ready(s) => return Ok(s),
        AuditSession::SignIn(why) => why,
        AuditSession::Failed(e) => return Err(fail(&e)),
    };
    crate::safe_eprintln!(
        "chatevict: {}. Signing in again, asking for {AUDIT_PERMISSION} too.",
        for_terminal(&why)
    );
    let signed_in = tokio::select! {
        r = interactive(&auth, args.browser, args.port) => r,
        _ = tokio::signal::ctrl_c() => {
            crate::safe_eprintln!("\nchatevict: sign-in cancelled");
            return Err(exit::CANCELLED);
        }
    };
    match signed_in {
        Ok(s) => match s.granted(AUDIT_PERMISSION).await {
            Some(false) => Err(fail(&format!(
                "Entra ID signed you in without {AUDIT_PERMISSION}: an administrator must \
                 consent to it for this application"
            ))),
            _ => Ok(s),
        },
        Err(e) => Err(fail(&e)),
    }
}

fn fetch_fail(e: &FetchError) -> u8 {
    if e.needs_login() {
        crate::safe_eprintln!("chatevict: {e}. Run the fetch again to sign in.");
        exit::FAILED
    } else {
        fail(e)
    }
}

/// Writes the file and says what is in it.
fn finish(store: &FetchStore, state: &FetchState, outcome: &Outcome) -> u8 {
    let n = match fetch::write_output(store, state) {
        Ok(n) => n,
        Err(e) => return fail(&format!("cannot write the records: {e}")),
    };
    crate::safe_eprintln!(
        "Wrote {n} record(s) from {} page(s) to {}.",
        outcome.pages,
        state.output.display()
    );
    let mut code = exit::OK;
    for b in &outcome.broken {
        crate::safe_eprintln!(
            "chatevict: page {}, record {} (byte {}) could not be read and is left out: {}",
            b.page,
            b.broken.element,
            b.broken.offset,
            for_terminal(&b.broken.reason)
        );
        code = exit::SOME_FAILED;
    }
    if outcome.limit_exceeded {
        crate::safe_eprintln!(
            "chatevict: warning: the query reached the service's record limit, so the file \
             holds only part of what matched. Narrow it (a shorter --since/--until period, \
             --operation MemberAdded, --user) and fetch again."
        );
        code = exit::SOME_FAILED;
    }
    if code == exit::OK {
        crate::safe_eprintln!("Open it: chatevict {}", state.output.display());
    }
    code
}

/// Erases the progress line (on a terminal; elsewhere there is none).
fn clear_line(tty: bool) {
    if tty {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
}

/// The progress line on stderr: rewritten in place on a terminal, one
/// line per change otherwise (logs, pipes).
struct Progress {
    tty: bool,
    shown: bool,
    last_status: String,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            tty: std::io::stderr().is_terminal(),
            shown: false,
            last_status: String::new(),
        }
    }

    fn line(&mut self, text: &str) {
        let mut e = std::io::stderr().lock();
        if self.tty {
            let _ = write!(e, "\r\x1b[2K{text}");
            self.shown = true;
        } else {
            let _ = writeln!(e, "{text}");
        }
        let _ = e.flush();
    }

    fn clear(&mut self) {
        if self.shown {
            clear_line(self.tty);
            self.shown = false;
        }
    }

    fn event(&mut self, e: FetchEvent) {
        match e {
            FetchEvent::Created { query_id, .. } => {
                self.clear();
                crate::safe_eprintln!(
                    "Audit log query {query_id} created. If this stops, \
                     `chatevict fetch --resume {query_id}` goes on with it."
                );
            }
            FetchEvent::Status { status, elapsed } => {
                let s = for_terminal(&status.to_string()).into_owned();
                if self.tty || s != self.last_status {
                    self.line(&format!(
                        "query {s}, {}s elapsed (the service takes minutes)",
                        elapsed.as_secs()
                    ));
                }
                self.last_status = s;
            }
            FetchEvent::Waiting { why, wait } => {
                self.line(&format!(
                    "Graph: {}; waiting {:.1}s",
                    for_terminal(&why),
                    wait.as_secs_f64()
                ));
            }
            FetchEvent::Beta { said } => {
                self.clear();
                crate::safe_eprintln!(
                    "chatevict: Graph v1.0 does not serve the audit log query API in this tenant \
                     ({}); using beta.",
                    for_terminal(&said)
                );
            }
            FetchEvent::Page { number, total, .. } => {
                self.line(&format!("read page {number}: {total} record(s)"));
            }
        }
    }
}
