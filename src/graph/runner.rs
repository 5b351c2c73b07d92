//! The removal runner: takes a plan's targets to `removeAllAccessForUser`,
//! paced, retried, journaled, and reported as a stream of events.
//!
//! One task owns all run state (the queue, the pacer, the journal); the
//! HTTP requests run in tasks of their own and report back to it, so the
//! journal is written in one place and always in order: the attempt line
//! before the request leaves, the outcome line when its reply (or its
//! absence) is known. The command line and the application consume the
//! same events and drive the same controls (pause, resume, cancel, retry
//! the failed targets).

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::auth::{AuthError, Bearer, Session};
use super::check::CheckedPlan;
use super::client::Graph;
use super::http::{Reply, new_request_id};
use super::ids;
use super::pace::{self, Pacer};
pub use super::retry::Failure;
use super::retry::{self, History, Limits, Stop, TaskError, Verdict};
use crate::journal::{self, Counts, EndReason, Entry, Journal, Key, Outcome, PlanRef};
use crate::triage::plan::Target;

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Removal requests per second (the signed-in user's Teams limit).
    pub max_rate: f64,
    /// Lookups (`GET /users/{upn}`) per second; the directory allows far
    /// more than Teams.
    pub lookup_rate: f64,
    pub dry_run: bool,
    /// Requests in flight at once, so slow replies do not slow the pace.
    pub max_in_flight: usize,
    /// Attempts of one request before it counts as failed (throttling
    /// answers have their own, larger allowance).
    pub max_attempts: u32,
    pub max_throttled: u32,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            max_rate: super::settings::DEFAULT_MAX_RATE,
            lookup_rate: 5.0,
            dry_run: false,
            max_in_flight: 4,
            max_attempts: 8,
            max_throttled: 50,
        }
    }
}

/// Where one target is.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetState {
    Queued,
    /// Its user id is being looked up.
    Resolving,
    Resolved {
        user_id: String,
    },
    Sending {
        attempt: u32,
    },
    /// A transient failure; the next attempt is in `wait`.
    Retrying {
        attempt: u32,
        wait: Duration,
        failure: Failure,
    },
    Removed {
        status: u16,
        request_id: Option<String>,
        date: Option<String>,
    },
    Failed(Failure),
    /// An earlier run removed it.
    Skipped {
        run: String,
        at: String,
    },
    /// A dry run would send this.
    WouldRemove,
}

impl TargetState {
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            TargetState::Removed { .. }
                | TargetState::Failed(_)
                | TargetState::Skipped { .. }
                | TargetState::WouldRemove
        )
    }
}

/// What the runner reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Started {
        /// The run's id in the journal.
        run: String,
        total: usize,
        already_removed: usize,
        lookups: usize,
        journal: PathBuf,
        dry_run: bool,
    },
    Target {
        index: usize,
        state: TargetState,
    },
    /// The server asked for quiet (429); nothing is sent for `wait`.
    Throttled {
        wait: Duration,
    },
    Paused,
    Resumed,
    /// Cancel asked: nothing new is sent; requests in flight finish.
    Cancelling,
    /// Every target is final. The run waits for `retry_failed` or `finish`.
    Idle(Summary),
    /// The run is over.
    Ended(Summary),
}

/// Counts and pace of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub counts: Counts,
    pub total: usize,
    pub reason: EndReason,
    /// Removal requests sent.
    pub sent: usize,
    /// Removal requests per second between the first and the last one.
    pub achieved_rate: Option<f64>,
    pub elapsed: Duration,
    /// The run stopped because the session was refused: signing in again
    /// is the remedy (each face names its own way).
    pub sign_in_needed: bool,
}

enum Control {
    Pause,
    Resume,
    Cancel,
    RetryFailed,
    Finish,
}

/// The caller's side of a run: its events, and (through `Deref`) its
/// controls.
pub struct RunHandle {
    pub events: mpsc::UnboundedReceiver<Event>,
    controls: Controls,
    pub task: tokio::task::JoinHandle<Summary>,
}

impl RunHandle {
    /// A handle for controls only (the application hands it to its
    /// keys while it reads the events elsewhere).
    pub fn controls(&self) -> Controls {
        self.controls.clone()
    }
}

impl std::ops::Deref for RunHandle {
    type Target = Controls;
    fn deref(&self) -> &Controls {
        &self.controls
    }
}

/// Controls of a run, cloneable.
#[derive(Clone)]
pub struct Controls {
    control: mpsc::UnboundedSender<Control>,
}

impl Controls {
    pub fn pause(&self) {
        let _ = self.control.send(Control::Pause);
    }
    pub fn resume(&self) {
        let _ = self.control.send(Control::Resume);
    }
    pub fn cancel(&self) {
        let _ = self.control.send(Control::Cancel);
    }
    /// Queue the failed targets again (during the run or once idle).
    pub fn retry_failed(&self) {
        let _ = self.control.send(Control::RetryFailed);
    }
    /// End the run once it is idle.
    pub fn finish(&self) {
        let _ = self.control.send(Control::Finish);
    }
}

/// What a run needs. Its targets are a [`CheckedPlan`]: nothing reaches
/// the network that [`super::check::check`] did not pass.
pub struct RunInput {
    pub targets: CheckedPlan,
    pub plan: PlanRef,
    pub journal: Journal,
    /// What the journal held before this run.
    pub prior: journal::Read,
    pub graph: Option<Graph>,
    pub session: Option<Session>,
    pub tenant_id: Option<String>,
    pub account: Option<String>,
}

/// Starts a run on the current tokio runtime. A dry run needs neither
/// `graph` nor `session`.
pub fn start(input: RunInput, opts: RunOptions) -> RunHandle {
    let (ev_tx, events) = mpsc::unbounded_channel();
    let (control, ctl_rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut r = Run::new(input, opts, ev_tx, ctl_rx);
        r.run().await
    });
    RunHandle {
        events,
        controls: Controls { control },
        task,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    Lookup(usize),
    Remove(usize),
}

struct Item {
    work: Work,
    /// One `client-request-id` for the logical request, kept across its
    /// retries: it is how Microsoft support correlates them.
    crid: String,
    attempts: u32,
    throttled: u32,
    not_before: Instant,
    /// Set after a 401: refresh from this token before the next attempt.
    stale: Option<Bearer>,
    /// An earlier attempt may have acted (its reply was lost): a 404 now
    /// may mean that it did, which the chat's members tell.
    in_doubt: bool,
    refreshed: bool,
}

/// A lookup of one UPN, shared by its targets.
struct Lookup {
    upn: String,
    targets: Vec<usize>,
}

struct Slot {
    key: Key,
    user_id: Option<String>,
    tenant_id: String,
    state: TargetState,
}

/// What an HTTP task hands back.
struct Done {
    item: usize,
    crid: String,
    result: Result<Reply, TaskError>,
    bearer: Option<Bearer>,
    /// A 404 to a removal in doubt, and the chat's members no longer hold
    /// the user: the earlier attempt removed them.
    gone: bool,
}

/// One HTTP request of the run.
enum Request {
    Remove {
        chat_id: String,
        user_id: String,
        tenant_id: String,
        in_doubt: bool,
    },
    Lookup {
        upn: String,
    },
}

/// What an outcome line says beyond its result.
enum Said<'a> {
    Nothing,
    Reply(&'a Reply),
    Failure(&'a Failure, Option<Duration>),
}

struct Run {
    opts: RunOptions,
    run_id: String,
    targets: Vec<Target>,
    slots: Vec<Slot>,
    items: Vec<Item>,
    lookups: Vec<Lookup>,
    queue: VecDeque<usize>,
    in_flight: usize,
    pacer: Pacer,
    lookup_pacer: Pacer,
    journal: Journal,
    graph: Option<Graph>,
    session: Option<Session>,
    events: mpsc::UnboundedSender<Event>,
    control: mpsc::UnboundedReceiver<Control>,
    done_tx: mpsc::UnboundedSender<Done>,
    done_rx: mpsc::UnboundedReceiver<Done>,
    control_closed: bool,
    paused: bool,
    cancelling: bool,
    stop: Option<Stop>,
    rng: fastrand::Rng,
    started: Instant,
    sends: Vec<Instant>,
    input_plan: PlanRef,
    prior: journal::Read,
    tenant_id: Option<String>,
    account: Option<String>,
}

impl Run {
    fn new(
        input: RunInput,
        opts: RunOptions,
        events: mpsc::UnboundedSender<Event>,
        control: mpsc::UnboundedReceiver<Control>,
    ) -> Run {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let targets = input.targets.targets().to_vec();
        let slots = targets
            .iter()
            .map(|t| Slot {
                key: Key::new(&t.chat_id, &t.user_upn),
                user_id: t.user_id.as_ref().map(|u| u.to_ascii_lowercase()),
                tenant_id: t.tenant_id.to_ascii_lowercase(),
                state: TargetState::Queued,
            })
            .collect();
        Run {
            pacer: Pacer::new(opts.max_rate),
            lookup_pacer: Pacer::new(opts.lookup_rate.max(opts.max_rate)),
            opts,
            run_id: uuid::Uuid::new_v4().to_string(),
            targets,
            slots,
            items: Vec::new(),
            lookups: Vec::new(),
            queue: VecDeque::new(),
            in_flight: 0,
            journal: input.journal,
            graph: input.graph,
            session: input.session,
            events,
            control,
            done_tx,
            done_rx,
            control_closed: false,
            paused: false,
            cancelling: false,
            stop: None,
            rng: fastrand::Rng::new(),
            started: Instant::now(),
            sends: Vec::new(),
            input_plan: input.plan,
            prior: input.prior,
            tenant_id: input.tenant_id,
            account: input.account,
        }
    }

    fn emit(&self, e: Event) {
        let _ = self.events.send(e);
    }

    fn set(&mut self, index: usize, state: TargetState) {
        self.slots[index].state = state.clone();
        self.emit(Event::Target { index, state });
    }

    /// Appends to the journal; a failed write stops the run, since a run
    /// whose record cannot be kept must not go on.
    fn write(&mut self, e: Entry) -> bool {
        match self.journal.append(&e) {
            Ok(()) => true,
            Err(err) => {
                if self.stop.is_none() {
                    self.stop = Some(Stop {
                        why: err.to_string(),
                        sign_in: false,
                    });
                }
                false
            }
        }
    }

    fn outcome_entry(
        &self,
        index: usize,
        attempt: u32,
        crid: Option<&str>,
        result: Outcome,
        said: Said<'_>,
    ) -> Entry {
        let (f, ok, retry) = match said {
            Said::Nothing => (None, None, None),
            Said::Reply(r) => (None, Some(r), None),
            Said::Failure(f, retry) => (Some(f), None, retry),
        };
        let s = &self.slots[index];
        let t = &self.targets[index];
        Entry::Outcome {
            run: self.run_id.clone(),
            at: journal::now(),
            key: s.key.clone(),
            user_id: s.user_id.clone(),
            tenant_id: s.tenant_id.clone(),
            chat_name: t.chat_name.clone(),
            attempt,
            client_request_id: crid.map(str::to_owned),
            result,
            status: f.and_then(|f| f.status).or(ok.map(|r| r.status)),
            code: f.and_then(|f| f.code.clone()),
            message: f.map(|f| f.message.clone()),
            request_id: f
                .and_then(|f| f.request_id.clone())
                .or_else(|| ok.and_then(|r| r.request_id.clone())),
            date: f
                .and_then(|f| f.date.clone())
                .or_else(|| ok.and_then(|r| r.date.clone())),
            retry_in_ms: retry.map(|d| d.as_millis() as u64),
        }
    }

    async fn run(&mut self) -> Summary {
        let started_entry = Entry::RunStarted {
            run: self.run_id.clone(),
            at: journal::now(),
            chatevict: env!("CARGO_PKG_VERSION").to_owned(),
            plan: self.input_plan.clone(),
            dry_run: self.opts.dry_run,
            tenant_id: self.tenant_id.clone(),
            account: self.account.clone(),
            graph: self
                .graph
                .as_ref()
                .map(|g| g.urls().remove_all_access("{chatId}").to_string())
                .unwrap_or_default(),
            max_rate: self.opts.max_rate,
        };
        let planned: Vec<Entry> = std::iter::once(started_entry)
            .chain(
                self.slots
                    .iter()
                    .zip(&self.targets)
                    .map(|(s, t)| Entry::Planned {
                        run: self.run_id.clone(),
                        key: s.key.clone(),
                        user_id: s.user_id.clone(),
                        tenant_id: s.tenant_id.clone(),
                        chat_name: t.chat_name.clone(),
                    }),
            )
            .collect();
        if let Err(e) = self.journal.append_all(&planned) {
            self.stop = Some(Stop {
                why: e.to_string(),
                sign_in: false,
            });
        }
        let removed = self.prior.removed();
        let known_ids = self.prior.lookups();
        let mut already = 0;
        let mut by_upn: HashMap<String, usize> = HashMap::new();
        for i in 0..self.slots.len() {
            if let Some(d) = removed.get(&self.slots[i].key) {
                already += 1;
                if self.slots[i].user_id.is_none() {
                    self.slots[i].user_id = d.user_id.clone();
                }
                let e = self.outcome_entry(i, 0, None, Outcome::Skipped, Said::Nothing);
                self.write(e);
                // Announced with the others once the run has started.
                self.slots[i].state = TargetState::Skipped {
                    run: d.run.clone(),
                    at: d.at.clone(),
                };
                continue;
            }
            if self.slots[i].user_id.is_none()
                && let Some(id) = known_ids.get(&self.slots[i].key.user_upn)
            {
                self.slots[i].user_id = Some(id.clone());
            }
            if self.opts.dry_run {
                continue;
            }
            match self.slots[i].user_id {
                Some(_) => self.push(Work::Remove(i)),
                None => {
                    let upn = self.slots[i].key.user_upn.clone();
                    let l = *by_upn.entry(upn).or_insert_with(|| {
                        self.lookups.push(Lookup {
                            upn: self.targets[i].user_upn.clone(),
                            targets: Vec::new(),
                        });
                        self.lookups.len() - 1
                    });
                    self.lookups[l].targets.push(i);
                }
            }
        }
        // Lookups go first: their targets join the queue as they resolve.
        let n_lookups = self.lookups.len();
        for l in 0..n_lookups {
            self.push(Work::Lookup(l));
        }
        self.emit(Event::Started {
            run: self.run_id.clone(),
            total: self.slots.len(),
            already_removed: already,
            lookups: n_lookups,
            journal: self.journal.path().to_path_buf(),
            dry_run: self.opts.dry_run,
        });
        for index in 0..self.slots.len() {
            let state = self.slots[index].state.clone();
            self.emit(Event::Target { index, state });
        }
        if self.opts.dry_run {
            self.dry_run();
        }
        self.main_loop().await
    }

    fn push(&mut self, work: Work) {
        self.items.push(Item {
            work,
            crid: new_request_id(),
            attempts: 0,
            throttled: 0,
            not_before: Instant::now(),
            stale: None,
            in_doubt: false,
            refreshed: false,
        });
        self.queue.push_back(self.items.len() - 1);
    }

    fn dry_run(&mut self) {
        for i in 0..self.slots.len() {
            if self.slots[i].state.is_final() {
                continue;
            }
            let mut e = self.outcome_entry(i, 0, None, Outcome::WouldRemove, Said::Nothing);
            if let Entry::Outcome { message, .. } = &mut e
                && self.slots[i].user_id.is_none()
            {
                *message = Some(format!(
                    "would look up the user id of {} first",
                    self.targets[i].user_upn
                ));
            }
            self.write(e);
            self.set(i, TargetState::WouldRemove);
        }
    }

    fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for s in &self.slots {
            match s.state {
                TargetState::Removed { .. } => c.removed += 1,
                TargetState::Failed(_) => c.failed += 1,
                TargetState::Skipped { .. } => c.skipped += 1,
                TargetState::WouldRemove => c.would_remove += 1,
                _ => c.left += 1,
            }
        }
        c
    }

    fn summary(&self, reason: EndReason) -> Summary {
        let sent = self.sends.len();
        let achieved_rate = match (self.sends.first(), self.sends.last()) {
            (Some(a), Some(b)) if sent >= 2 && b > a => {
                Some((sent - 1) as f64 / (*b - *a).as_secs_f64())
            }
            _ => None,
        };
        Summary {
            counts: self.counts(),
            total: self.slots.len(),
            reason,
            sent,
            achieved_rate,
            elapsed: self.started.elapsed(),
            sign_in_needed: self.stop.as_ref().is_some_and(|s| s.sign_in),
        }
    }

    async fn main_loop(&mut self) -> Summary {
        loop {
            while let Ok(c) = self.control.try_recv() {
                if let Some(end) = self.on_control(c) {
                    return end;
                }
            }
            if self.in_flight == 0 {
                if let Some(stop) = self.stop.clone() {
                    return self.end(EndReason::Stopped(stop.why));
                }
                if self.cancelling {
                    return self.end(EndReason::Cancelled);
                }
                if self.queue.is_empty() {
                    self.emit(Event::Idle(self.summary(EndReason::Finished)));
                    match self.control.recv().await {
                        None | Some(Control::Finish) | Some(Control::Cancel) => {
                            return self.end(EndReason::Finished);
                        }
                        Some(c) => {
                            if let Some(end) = self.on_control(c) {
                                return end;
                            }
                            continue;
                        }
                    }
                }
            }
            let mut wake = None;
            if !self.paused && !self.cancelling && self.stop.is_none() {
                let now = Instant::now();
                if self.in_flight < self.opts.max_in_flight {
                    match self.next_ready(now) {
                        Ok(pos) => {
                            let item = self.queue.remove(pos).expect("position in queue");
                            self.launch(item, now).await;
                            continue;
                        }
                        Err(at) => wake = at,
                    }
                }
            }
            let sleep = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                Some(d) = self.done_rx.recv() => {
                    self.in_flight -= 1;
                    self.on_done(d);
                }
                c = self.control.recv(), if !self.control_closed => match c {
                    Some(c) => if let Some(end) = self.on_control(c) { return end; },
                    // Nobody can control the run any more: finish what is queued.
                    None => self.control_closed = true,
                },
                _ = sleep => {}
            }
        }
    }

    fn end(&mut self, reason: EndReason) -> Summary {
        let s = self.summary(reason.clone());
        let e = Entry::RunEnded {
            run: self.run_id.clone(),
            at: journal::now(),
            reason,
            counts: s.counts,
        };
        self.write(e);
        self.emit(Event::Ended(s.clone()));
        s
    }

    fn on_control(&mut self, c: Control) -> Option<Summary> {
        match c {
            Control::Pause if !self.paused => {
                self.paused = true;
                self.emit(Event::Paused);
            }
            Control::Resume if self.paused => {
                self.paused = false;
                self.emit(Event::Resumed);
            }
            Control::Cancel if !self.cancelling => {
                self.cancelling = true;
                self.emit(Event::Cancelling);
            }
            Control::RetryFailed if !self.cancelling && self.stop.is_none() => {
                for i in 0..self.slots.len() {
                    if matches!(self.slots[i].state, TargetState::Failed(_)) {
                        match self.slots[i].user_id {
                            Some(_) => self.push(Work::Remove(i)),
                            None => {
                                let l = self.lookups.len();
                                self.lookups.push(Lookup {
                                    upn: self.targets[i].user_upn.clone(),
                                    targets: vec![i],
                                });
                                self.push(Work::Lookup(l));
                            }
                        }
                        self.set(i, TargetState::Queued);
                    }
                }
            }
            Control::Finish if self.in_flight == 0 && self.queue.is_empty() => {
                return Some(self.end(EndReason::Finished));
            }
            _ => {}
        }
        None
    }

    fn chat_of(&self, item: usize) -> Option<&str> {
        match self.items[item].work {
            Work::Remove(i) => Some(&self.targets[i].chat_id),
            Work::Lookup(_) => None,
        }
    }

    fn ready_at(&self, item: usize) -> Instant {
        let it = &self.items[item];
        let pacer_at = match it.work {
            Work::Remove(_) => self.pacer.ready_at(self.chat_of(item)),
            // A throttling hold applies to lookups too.
            Work::Lookup(_) => self
                .lookup_pacer
                .ready_at(None)
                .max(self.pacer.held_until()),
        };
        it.not_before.max(pacer_at)
    }

    /// The first queued item that may start now (its queue position), or
    /// the earliest instant one may.
    fn next_ready(&self, now: Instant) -> Result<usize, Option<Instant>> {
        let mut earliest: Option<Instant> = None;
        for (pos, &item) in self.queue.iter().enumerate() {
            let at = self.ready_at(item);
            if at <= now {
                return Ok(pos);
            }
            earliest = Some(earliest.map_or(at, |e| e.min(at)));
        }
        Err(earliest)
    }

    async fn launch(&mut self, item: usize, now: Instant) {
        let crid = self.items[item].crid.clone();
        let Some(graph) = self.graph.clone() else {
            self.stop = Some(Stop {
                why: "no Graph client for a real run".into(),
                sign_in: false,
            });
            return;
        };
        let Some(session) = self.session.clone() else {
            self.stop = Some(Stop {
                why: "not signed in".into(),
                sign_in: true,
            });
            return;
        };
        self.items[item].attempts += 1;
        let attempt = self.items[item].attempts;
        let stale = self.items[item].stale.take();
        let work = self.items[item].work;
        match work {
            Work::Remove(i) => {
                let s = &self.slots[i];
                let user_id = s.user_id.clone().expect("removals have a user id");
                let e = Entry::Attempt {
                    run: self.run_id.clone(),
                    at: journal::now(),
                    key: s.key.clone(),
                    user_id: user_id.clone(),
                    tenant_id: s.tenant_id.clone(),
                    attempt,
                    client_request_id: crid.clone(),
                };
                // The attempt is on disk before the request leaves.
                if !self.write(e) {
                    self.queue.push_front(item);
                    return;
                }
                self.pacer.started(Some(&self.targets[i].chat_id), now);
                self.sends.push(now);
                self.set(i, TargetState::Sending { attempt });
                let request = Request::Remove {
                    chat_id: self.targets[i].chat_id.clone(),
                    user_id,
                    tenant_id: self.slots[i].tenant_id.clone(),
                    in_doubt: self.items[item].in_doubt,
                };
                self.spawn(item, crid, stale, graph, session, request);
            }
            Work::Lookup(l) => {
                self.lookup_pacer.started(None, now);
                for &i in &self.lookups[l].targets.clone() {
                    self.set(i, TargetState::Resolving);
                }
                let upn = self.lookups[l].upn.clone();
                self.spawn(item, crid, stale, graph, session, Request::Lookup { upn });
            }
        }
    }

    /// Sends one request on a task of its own; its reply comes back as
    /// a [`Done`].
    fn spawn(
        &mut self,
        item: usize,
        crid: String,
        stale: Option<Bearer>,
        graph: Graph,
        session: Session,
        request: Request,
    ) {
        let tx = self.done_tx.clone();
        self.in_flight += 1;
        tokio::spawn(async move {
            let mut gone = false;
            let (result, bearer) = match bearer_for(&session, stale).await {
                Ok(b) => {
                    let sent = match &request {
                        Request::Remove {
                            chat_id,
                            user_id,
                            tenant_id,
                            in_doubt,
                        } => {
                            let sent = graph
                                .remove_all_access(&b, chat_id, user_id, tenant_id, &crid)
                                .await;
                            // Microsoft does not document what a repeated
                            // removal answers: after a lost reply, a 404 is
                            // checked against the chat's members.
                            if *in_doubt && sent.as_ref().is_ok_and(|r| r.status == 404) {
                                gone = graph.still_member(&b, chat_id, user_id, &crid).await
                                    == Some(false);
                            }
                            sent
                        }
                        Request::Lookup { upn } => graph.user_id(&b, upn, &crid).await,
                    };
                    (sent.map_err(TaskError::Send), Some(b))
                }
                Err(e) => (Err(TaskError::Auth(e)), None),
            };
            let _ = tx.send(Done {
                item,
                crid,
                result,
                bearer,
                gone,
            });
        });
    }

    fn verdict(&mut self, item: usize, result: Result<Reply, TaskError>, gone: bool) -> Verdict {
        let it = &self.items[item];
        let history = History {
            attempts: it.attempts,
            throttled: it.throttled,
            refreshed: it.refreshed,
            lookup: matches!(it.work, Work::Lookup(_)),
        };
        let limits = Limits {
            max_attempts: self.opts.max_attempts,
            max_throttled: self.opts.max_throttled,
        };
        let rng = &mut self.rng;
        retry::verdict(history, limits, result, gone, &mut |n| {
            pace::backoff(n, rng)
        })
    }

    fn on_done(&mut self, d: Done) {
        let verdict = self.verdict(d.item, d.result, d.gone);
        let work = self.items[d.item].work;
        let attempt = self.items[d.item].attempts;
        match verdict {
            Verdict::Success(reply) => match work {
                Work::Remove(i) => {
                    let mut e = self.outcome_entry(
                        i,
                        attempt,
                        Some(&d.crid),
                        Outcome::Removed,
                        Said::Reply(&reply),
                    );
                    if let Entry::Outcome { message, .. } = &mut e
                        && d.gone
                    {
                        *message = Some(format!(
                            "removed by an earlier attempt whose reply was lost: Graph answered \
                             {} to this one, and the chat's members no longer include the user",
                            reply.status
                        ));
                    }
                    self.write(e);
                    self.set(
                        i,
                        TargetState::Removed {
                            status: reply.status,
                            request_id: reply.request_id,
                            date: reply.date,
                        },
                    );
                }
                Work::Lookup(l) => self.on_lookup(l, &d.crid, Ok(reply)),
            },
            Verdict::Retry {
                wait,
                failure,
                throttled,
                unknown,
            } => {
                let it = &mut self.items[d.item];
                if throttled {
                    it.throttled += 1;
                    // A throttling answer counts against the pace, not the item.
                    it.attempts -= 1;
                    let until = Instant::now() + wait;
                    self.pacer.hold(until);
                    self.emit(Event::Throttled { wait });
                }
                let it = &mut self.items[d.item];
                it.not_before = Instant::now() + wait;
                it.in_doubt |= unknown;
                self.queue.push_back(d.item);
                if let Work::Remove(i) = work {
                    let result = if unknown {
                        Outcome::Unknown
                    } else {
                        Outcome::Retrying
                    };
                    let e = self.outcome_entry(
                        i,
                        attempt,
                        Some(&d.crid),
                        result,
                        Said::Failure(&failure, Some(wait)),
                    );
                    self.write(e);
                    self.set(
                        i,
                        TargetState::Retrying {
                            attempt,
                            wait,
                            failure,
                        },
                    );
                }
            }
            Verdict::Refresh(failure) => {
                let it = &mut self.items[d.item];
                it.refreshed = true;
                it.stale = d.bearer;
                it.attempts -= 1;
                it.not_before = Instant::now();
                self.queue.push_front(d.item);
                if let Work::Remove(i) = work {
                    let e = self.outcome_entry(
                        i,
                        attempt,
                        Some(&d.crid),
                        Outcome::Retrying,
                        Said::Failure(&failure, Some(Duration::ZERO)),
                    );
                    self.write(e);
                    self.set(
                        i,
                        TargetState::Retrying {
                            attempt,
                            wait: Duration::ZERO,
                            failure,
                        },
                    );
                }
            }
            Verdict::Stop(failure, stop) => {
                self.fail(work, attempt, &d.crid, failure);
                if self.stop.is_none() {
                    self.stop = Some(stop);
                }
            }
            Verdict::Fail(failure) => self.fail(work, attempt, &d.crid, failure),
        }
    }

    fn fail(&mut self, work: Work, attempt: u32, crid: &str, failure: Failure) {
        match work {
            Work::Remove(i) => {
                let e = self.outcome_entry(
                    i,
                    attempt,
                    Some(crid),
                    Outcome::Failed,
                    Said::Failure(&failure, None),
                );
                self.write(e);
                self.set(i, TargetState::Failed(failure));
            }
            Work::Lookup(l) => self.on_lookup(l, crid, Err(failure)),
        }
    }

    fn on_lookup(&mut self, l: usize, crid: &str, result: Result<Reply, Failure>) {
        let upn = self.lookups[l].upn.clone();
        let result = result.and_then(|reply| {
            let id = serde_json::from_slice::<serde_json::Value>(&reply.body)
                .ok()
                .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_owned));
            match id.as_deref().map(ids::check_user_id) {
                Some(Ok(id)) => Ok((id, reply)),
                _ => Err(Failure {
                    status: Some(reply.status),
                    code: Some("bad_lookup_reply".into()),
                    message: format!("GET /users/{upn} did not return a user id"),
                    request_id: reply.request_id.clone(),
                    date: reply.date.clone(),
                }),
            }
        });
        let entry = Entry::Lookup {
            run: self.run_id.clone(),
            at: journal::now(),
            user_upn: upn.clone(),
            user_id: result.as_ref().ok().map(|(id, _)| id.clone()),
            status: match &result {
                Ok((_, r)) => Some(r.status),
                Err(f) => f.status,
            },
            request_id: match &result {
                Ok((_, r)) => r.request_id.clone(),
                Err(f) => f.request_id.clone(),
            },
            client_request_id: crid.to_owned(),
            error: result.as_ref().err().map(|f| match &f.code {
                Some(c) => format!("{c}: {}", f.message),
                None => f.message.clone(),
            }),
        };
        self.write(entry);
        let targets = std::mem::take(&mut self.lookups[l].targets);
        match result {
            Ok((id, _)) => {
                for i in targets {
                    self.slots[i].user_id = Some(id.clone());
                    self.set(
                        i,
                        TargetState::Resolved {
                            user_id: id.clone(),
                        },
                    );
                    self.push(Work::Remove(i));
                }
            }
            Err(f) => {
                for i in targets {
                    let mut f = f.clone();
                    f.message = format!("looking up {upn}: {}", f.message);
                    let e = self.outcome_entry(
                        i,
                        0,
                        Some(crid),
                        Outcome::Failed,
                        Said::Failure(&f, None),
                    );
                    self.write(e);
                    self.set(i, TargetState::Failed(f));
                }
            }
        }
    }
}

async fn bearer_for(session: &Session, stale: Option<Bearer>) -> Result<Bearer, AuthError> {
    match stale {
        Some(s) => session.refreshed(&s).await,
        None => session.bearer().await,
    }
}
