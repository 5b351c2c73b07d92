//! The application's side of sign-in and removal runs: a tokio runtime
//! beside the (synchronous) screen loop, whose tasks answer with
//! messages, like every other background job.

use std::path::PathBuf;
use std::sync::Arc;

use crossbeam_channel::Sender;

use super::app::{FetchMsg, Msg, RemoteMsg, RunControl};
use crate::config::Settings;
use crate::graph::audit::{self, AUDIT_PERMISSION, FetchStore, QuerySpec};
use crate::graph::auth::{Auth, AuthError, Session};
use crate::graph::cache::{Account, TokenCache};
use crate::graph::check::CheckedPlan;
use crate::graph::client::Graph;
use crate::graph::fetch::{self, AuditApi, AuditSession, FetchEvent};
use crate::graph::http::Http;
use crate::graph::ids::GraphUrls;
use crate::graph::prepare::{PlanSource, PrepareError, Prepared, prepare, prepare_checked};
use crate::graph::runner::{Controls, RunOptions};
use crate::journal::PlanRef;
use crate::triage::plan::Plan;

/// What a retry of the last run needs.
#[derive(Clone)]
struct LastRun {
    checked: CheckedPlan,
    plan: PlanRef,
    journal: PathBuf,
}

/// Where sign-in and runs go, and where their files are kept.
pub struct Remote {
    rt: tokio::runtime::Runtime,
    pub settings: Settings,
    auth: Auth,
    graph: Graph,
    journals: PathBuf,
    /// Set by the sign-in tasks.
    session: Arc<std::sync::Mutex<Option<Session>>>,
    sign_in: Option<tokio::task::JoinHandle<()>>,
    /// Where a pasted redirect address goes, during a browser sign-in.
    paste: Option<tokio::sync::mpsc::Sender<String>>,
    controls: Option<Controls>,
    last: Option<LastRun>,
    tx: Sender<Msg>,
    /// The demo's emulator, kept alive with the application.
    pub emulator: Option<crate::emulator::Emulator>,
    /// The sign-in that also asks for the audit log permission; sign-ins
    /// use it once a fetch needed it.
    audit_auth: Auth,
    wants_audit: bool,
    http: Http,
    fetches: PathBuf,
    fetch: Option<tokio::task::JoinHandle<()>>,
    /// Where fetched records are saved (the demo: its own directory).
    pub out_dir: PathBuf,
}

impl Remote {
    pub fn new(
        rt: tokio::runtime::Runtime,
        settings: Settings,
        token_cache: PathBuf,
        journals: PathBuf,
        tx: Sender<Msg>,
    ) -> Result<Remote, String> {
        let http = Http::for_settings(&settings).map_err(|e| e.to_string())?;
        let auth = Auth::new(&settings, http.clone(), TokenCache::new(token_cache));
        let audit_auth = auth.with_scope(AUDIT_PERMISSION);
        let graph = Graph::new(
            http.clone(),
            GraphUrls::new(&settings.graph_url, settings.api_version),
        );
        // Beside the journals: `<state>/fetches`.
        let fetches = journals
            .parent()
            .map_or_else(|| PathBuf::from("fetches"), |p| p.join("fetches"));
        Ok(Remote {
            rt,
            settings,
            auth,
            graph,
            journals,
            session: Arc::default(),
            sign_in: None,
            paste: None,
            controls: None,
            last: None,
            tx,
            emulator: None,
            audit_auth,
            wants_audit: false,
            http,
            fetches,
            fetch: None,
            out_dir: PathBuf::from("."),
        })
    }

    /// The sign-in that sign-in dialogs use.
    fn sign_in_auth(&self) -> Auth {
        if self.wants_audit {
            self.audit_auth.clone()
        } else {
            self.auth.clone()
        }
    }

    /// Signs in again asking for the audit log permission too (a fetch
    /// said the session lacks it).
    pub fn sign_in_for_audit(&mut self) {
        self.wants_audit = true;
        self.sign_in();
    }

    /// Searches the audit log for `spec` and reads its records into
    /// `output` (the current directory's default name when `None`); the
    /// steps come back as [`RemoteMsg::Fetch`]. The query is kept in the
    /// state directory at each step: a fetch stopped here can be resumed
    /// with `chatevict fetch --resume`.
    pub fn fetch(&mut self, seq: u64, spec: QuerySpec, output: Option<PathBuf>) {
        self.cancel_fetch();
        let tx = self.tx.clone();
        let auth = self.audit_auth.clone();
        let http = self.http.clone();
        let settings = self.settings.clone();
        let store = FetchStore::new(self.fetches.clone());
        let out_dir = self.out_dir.clone();
        let send = move |m: FetchMsg| {
            let _ = tx.send(Msg::Remote(RemoteMsg::Fetch(seq, m)));
        };
        self.fetch = Some(self.rt.spawn(async move {
            if let Err(e) = audit::check_cloud(settings.cloud) {
                return send(FetchMsg::Failed(e));
            }
            let session = match fetch::audit_session(&auth).await {
                AuditSession::Ready(s) => s,
                AuditSession::SignIn(why) => return send(FetchMsg::NeedsSignIn(why)),
                AuditSession::Failed(e) => return send(FetchMsg::Failed(e.to_string())),
            };
            let account = session.account().await;
            let mut api = AuditApi::new(http, &settings.graph_url, settings.api_version, session);
            let output = output.unwrap_or_else(|| {
                audit::unused_name(out_dir.join(audit::default_output(&account.tenant_id, &spec)))
            });
            let mut on = |e: FetchEvent| send(FetchMsg::from_event(e));
            let started = fetch::start(
                &mut api,
                &store,
                spec,
                &account.tenant_id,
                &account.username,
                output,
                &mut on,
            )
            .await;
            let mut state = match started {
                Ok(s) => s,
                Err(e) => return send(FetchMsg::Failed(e.to_string())),
            };
            let poll = std::time::Duration::from_secs(5);
            let outcome = match fetch::run(&mut api, &store, &mut state, poll, &mut on).await {
                Ok(o) => o,
                Err(e) => return send(FetchMsg::Failed(e.to_string())),
            };
            let written = tokio::task::spawn_blocking(move || {
                fetch::write_output(&store, &state).map(|n| (n, state.output))
            })
            .await;
            match written {
                Ok(Ok((records, output))) => send(FetchMsg::Done {
                    output,
                    records,
                    broken: outcome
                        .broken
                        .iter()
                        .map(|b| {
                            format!(
                                "page {}, record {}: {}",
                                b.page, b.broken.element, b.broken.reason
                            )
                        })
                        .collect(),
                    limit_exceeded: outcome.limit_exceeded,
                }),
                Ok(Err(e)) => send(FetchMsg::Failed(format!("cannot write the records: {e}"))),
                Err(e) => send(FetchMsg::Failed(e.to_string())),
            }
        }));
    }

    /// Stops the fetch under way; its query stays in the tenant and in
    /// the state directory, resumable.
    pub fn cancel_fetch(&mut self) {
        if let Some(h) = self.fetch.take() {
            h.abort();
        }
    }

    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.rt
    }

    fn send(tx: &Sender<Msg>, m: RemoteMsg) {
        let _ = tx.send(Msg::Remote(m));
    }

    /// Reuses a saved session silently, if there is one.
    pub fn resume(&mut self) {
        let auth = self.auth.clone();
        let tx = self.tx.clone();
        let slot = self.session.clone();
        self.rt.spawn(async move {
            match auth.resume().await {
                Ok(s) => {
                    let a = s.account().await;
                    *slot.lock().expect("session") = Some(s);
                    Self::send(&tx, RemoteMsg::SignedIn(a));
                }
                Err(AuthError::NotSignedIn(_)) => Self::send(&tx, RemoteMsg::NoSession),
                Err(e) => Self::send(&tx, RemoteMsg::SignInFailed(e.to_string())),
            }
        });
    }

    /// Starts a device-code sign-in.
    pub fn sign_in(&mut self) {
        self.cancel_sign_in();
        let auth = self.sign_in_auth();
        let tx = self.tx.clone();
        let slot = self.session.clone();
        self.sign_in = Some(self.rt.spawn(async move {
            let dc = match auth.start_device_code().await {
                Ok(dc) => dc,
                Err(e) => return Self::send(&tx, RemoteMsg::SignInFailed(e.to_string())),
            };
            Self::send(
                &tx,
                RemoteMsg::DeviceCode {
                    message: dc.message.clone(),
                    user_code: dc.user_code.clone(),
                },
            );
            match auth.finish_device_code(&dc).await {
                Ok(s) => {
                    let a = s.account().await;
                    *slot.lock().expect("session") = Some(s);
                    Self::send(&tx, RemoteMsg::SignedIn(a));
                }
                Err(e) => Self::send(&tx, RemoteMsg::SignInFailed(e.to_string())),
            }
        }));
    }

    /// Starts a browser sign-in (authorization code + PKCE) coming back to
    /// a loopback port, or to an address pasted with [`Remote::paste`].
    pub fn sign_in_browser(&mut self) {
        self.cancel_sign_in();
        let auth = self.sign_in_auth();
        let tx = self.tx.clone();
        let slot = self.session.clone();
        let (paste_tx, mut pasted) = tokio::sync::mpsc::channel::<String>(4);
        self.paste = Some(paste_tx);
        self.sign_in = Some(self.rt.spawn(async move {
            let mut lb = match crate::graph::loopback::Loopback::bind(0).await {
                Ok(l) => l,
                Err(e) => {
                    return Self::send(
                        &tx,
                        RemoteMsg::SignInFailed(format!("cannot listen on a loopback port: {e}")),
                    );
                }
            };
            let flow = match auth.browser_start(&lb.redirect_uri()) {
                Ok(f) => f,
                Err(e) => return Self::send(&tx, RemoteMsg::SignInFailed(e.to_string())),
            };
            // Also in the log, for a terminal too narrow to copy it from.
            tracing::info!(url = %flow.url, port = lb.port, "browser sign-in");
            Self::send(
                &tx,
                RemoteMsg::BrowserUrl {
                    url: flow.url.to_string(),
                    port: lb.port,
                },
            );
            let returned = tokio::select! {
                Some(u) = lb.next() => u,
                Some(u) = pasted.recv() => u,
                else => return,
            };
            match auth.browser_finish(flow, &returned).await {
                Ok(s) => {
                    let a = s.account().await;
                    *slot.lock().expect("session") = Some(s);
                    Self::send(&tx, RemoteMsg::SignedIn(a));
                }
                Err(e) => Self::send(&tx, RemoteMsg::SignInFailed(e.to_string())),
            }
        }));
    }

    /// The address the browser ended on, pasted by the user.
    pub fn paste(&self, text: String) {
        if let Some(p) = &self.paste {
            let _ = p.try_send(text);
        }
    }

    pub fn cancel_sign_in(&mut self) {
        self.paste = None;
        if let Some(h) = self.sign_in.take() {
            h.abort();
        }
    }

    /// Checks `plan` and reads its journal (the tenant's) off the loop;
    /// the answer comes back as [`RemoteMsg::Prepared`]. The plan is kept
    /// in the journals' directory, for the journal to name.
    pub fn prepare(&self, plan: Plan, dry_run: bool, account: Option<Account>, seq: u64) {
        let journals = self.journals.clone();
        let tx = self.tx.clone();
        self.rt.spawn_blocking(move || {
            let result = plan
                .store_in(&journals)
                .map_err(PrepareError::Plan)
                .and_then(|(path, sha256)| {
                    let source = PlanSource {
                        path: path.display().to_string(),
                        sha256,
                    };
                    prepare(
                        &plan.targets,
                        source,
                        account.as_ref(),
                        dry_run,
                        &journals,
                        None,
                    )
                });
            Self::send(&tx, RemoteMsg::Prepared(seq, result.map(Box::new)));
        });
    }

    /// Prepares a run of some targets (indices) of the last run again, in
    /// its journal.
    pub fn prepare_retry(
        &self,
        keep: Vec<usize>,
        dry_run: bool,
        account: Option<Account>,
        seq: u64,
    ) {
        let tx = self.tx.clone();
        let Some(last) = self.last.clone() else {
            return Self::send(&tx, RemoteMsg::Prepared(seq, Err(PrepareError::Empty)));
        };
        self.rt.spawn_blocking(move || {
            let checked = last.checked.only(|i, _| keep.contains(&i));
            let result =
                prepare_checked(checked, last.plan, account.as_ref(), dry_run, last.journal);
            Self::send(&tx, RemoteMsg::Prepared(seq, result.map(Box::new)));
        });
    }

    /// Starts a prepared run; its events come back as
    /// [`RemoteMsg::Run`] tagged `seq`. Returns the journal's path.
    pub fn start_run(&mut self, prepared: Prepared, seq: u64) -> Result<PathBuf, String> {
        let session = if prepared.dry_run {
            None
        } else {
            let s = self.session.lock().expect("session").clone();
            if s.is_none() {
                return Err("not signed in".into());
            }
            s
        };
        let path = prepared.journal_path.clone();
        self.last = Some(LastRun {
            checked: prepared.checked.clone(),
            plan: prepared.plan.clone(),
            journal: path.clone(),
        });
        let opts = RunOptions {
            max_rate: self.settings.max_rate,
            ..RunOptions::default()
        };
        let tx = self.tx.clone();
        let _guard = self.rt.enter();
        let mut h = prepared
            .start(Some(self.graph.clone()), session, opts)
            .map_err(|e| e.to_string())?;
        self.controls = Some(h.controls());
        self.rt.spawn(async move {
            while let Some(e) = h.events.recv().await {
                if tx
                    .send(Msg::Remote(RemoteMsg::Run(seq, Box::new(e))))
                    .is_err()
                {
                    break;
                }
            }
        });
        Ok(path)
    }

    /// Deletes the saved session; the answer comes back as
    /// [`RemoteMsg::SignedOut`].
    pub fn sign_out(&mut self) {
        self.cancel_sign_in();
        *self.session.lock().expect("session") = None;
        let result = self
            .auth
            .cache()
            .delete()
            .map(|_| ())
            .map_err(|e| e.to_string());
        Self::send(&self.tx, RemoteMsg::SignedOut(result));
    }

    pub fn control(&self, c: RunControl) {
        let Some(ctl) = &self.controls else { return };
        match c {
            RunControl::Pause => ctl.pause(),
            RunControl::Resume => ctl.resume(),
            RunControl::Cancel => ctl.cancel(),
            RunControl::RetryFailed => ctl.retry_failed(),
            RunControl::Finish => ctl.finish(),
        }
    }
}
