//! The removal runner against the emulator, over loopback HTTP, under
//! each fault profile: every target removed, the journal complete, and no
//! target sent again once the client saw its success.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chatevict::emulator::{Config, Emulator, Profile};
use chatevict::graph::auth::Session;
use chatevict::graph::check;
use chatevict::graph::prepare::{self, PlanSource, PrepareError};
use chatevict::graph::runner::{self, Event, RunInput, RunOptions, Summary, TargetState};
use chatevict::journal::{self, EndReason, Entry, Journal, Key, Outcome, PlanRef};
use chatevict::triage::plan::Target;
use common::emu;
use serde_json::json;

struct Setup {
    _dir: tempfile::TempDir,
    emu: Emulator,
    session: Session,
    settings: chatevict::config::Settings,
    targets: Vec<Target>,
    journal: std::path::PathBuf,
}

async fn setup(chats: usize, profile: Profile, rate: f64) -> Setup {
    setup_with(chats, emu::config(profile, rate)).await
}

async fn setup_with(chats: usize, cfg: Config) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let export = emu::write_export(dir.path(), chats);
    let targets = emu::targets(std::slice::from_ref(&export));
    assert_eq!(targets.len(), 2 * chats);
    let emu = emu::start(&[export], cfg).await;
    let settings = emu::settings(&emu, "organizations");
    let auth = emu::auth(&settings, &dir.path().join("cache.json"));
    let session = emu::sign_in(&auth).await;
    let journal = dir.path().join("journal.jsonl");
    Setup {
        _dir: dir,
        emu,
        session,
        settings,
        targets,
        journal,
    }
}

impl Setup {
    /// The plan's (chat, user, tenant) triples, user ids as the emulator
    /// knows them (looked-up users included).
    fn expected(&self) -> HashSet<(String, String, String)> {
        self.by_key()
            .into_iter()
            .map(|((chat, _), (id, tenant))| (chat, id, tenant))
            .collect()
    }

    /// (chat id, lowercase UPN) → (user id, tenant id) of every target.
    fn by_key(&self) -> HashMap<(String, String), (String, String)> {
        let st = self.emu.shared.state.lock().unwrap();
        self.targets
            .iter()
            .map(|t| {
                let id = t.user_id.clone().unwrap_or_else(|| {
                    st.user_by_upn(&t.user_upn)
                        .map(|u| u.id.clone())
                        .unwrap_or_else(|| panic!("the emulator knows {}", t.user_upn))
                });
                (
                    (t.chat_id.clone(), t.user_upn.to_lowercase()),
                    (id, t.tenant_id.clone()),
                )
            })
            .collect()
    }

    /// Runs the plan to its end, calling `on` with every event (and the
    /// run's controls).
    async fn run(
        &self,
        opts: RunOptions,
        mut on: impl FnMut(&Event, &runner::Controls),
    ) -> (Summary, Vec<Event>) {
        let input = RunInput {
            targets: check::check(&self.targets, Some(emu::HOME)).unwrap(),
            plan: PlanRef {
                path: "plan.json".into(),
                sha256: "0".repeat(64),
                targets: self.targets.len(),
            },
            journal: Journal::open(&self.journal).unwrap(),
            prior: journal::read(&self.journal).unwrap(),
            graph: Some(emu::graph(&self.settings)),
            session: Some(self.session.clone()),
            tenant_id: Some(emu::HOME.into()),
            account: Some("admin".into()),
        };
        let mut h = runner::start(input, opts);
        let controls = h.controls();
        let mut events = Vec::new();
        let run = async {
            while let Some(e) = h.events.recv().await {
                on(&e, &controls);
                if matches!(e, Event::Idle(_)) {
                    controls.finish();
                }
                events.push(e);
            }
        };
        tokio::time::timeout(Duration::from_secs(240), run)
            .await
            .expect("the run ends");
        let s = h.task.await.unwrap();
        (s, events)
    }

    /// The emulator removed every target exactly once in effect, the
    /// journal shows every target removed, and nothing was sent for a
    /// target after the reply the client saw as its success.
    fn check_complete(&self) {
        let removals = self.emu.removals();
        // Exactly the plan's (chat, user, tenant) triples reached the
        // server, and nothing else.
        let sent: HashSet<(String, String, String)> = removals
            .iter()
            .map(|r| (r.chat_id.clone(), r.user_id.clone(), r.tenant_id.clone()))
            .collect();
        assert_eq!(
            sent,
            self.expected(),
            "the server saw other triples than the plan's"
        );
        let changed: HashSet<(String, String)> = removals
            .iter()
            .filter(|r| r.changed)
            .map(|r| (r.chat_id.clone(), r.user_id.clone()))
            .collect();
        assert_eq!(
            removals.iter().filter(|r| r.changed).count(),
            changed.len(),
            "a change happened twice"
        );
        assert_eq!(
            changed.len(),
            self.targets.len(),
            "every target removed on the server"
        );
        // Whatever the server refused was the plan's (an undocumented
        // answer assumed), never anything else.
        for r in self.emu.refused() {
            let k = (r.chat_id.clone(), r.user_id.clone(), r.tenant_id.clone());
            assert!(
                self.expected().contains(&k),
                "refused outside the plan: {r:?}"
            );
        }
        let read = journal::read(&self.journal).unwrap();
        assert!(read.bad_lines.is_empty());
        emu::assert_requests_match_plan(&removals, &read, &self.by_key());
        // One client-request-id per logical request, kept across its
        // retries until it ends (a retry the admin asks for is a new one).
        let mut open: HashMap<Key, String> = HashMap::new();
        for e in &read.entries {
            match e {
                Entry::Attempt {
                    key,
                    client_request_id,
                    ..
                } => {
                    let c = open.entry(key.clone()).or_insert(client_request_id.clone());
                    assert_eq!(c, client_request_id, "{key:?}: a new id for a retry");
                }
                Entry::Outcome {
                    key,
                    result: Outcome::Removed | Outcome::Failed,
                    ..
                } => {
                    open.remove(key);
                }
                _ => {}
            }
        }
        let done = read.removed();
        for t in &self.targets {
            assert!(
                done.contains_key(&Key::new(&t.chat_id, &t.user_upn)),
                "journal lacks {} {}",
                t.chat_id,
                t.user_upn
            );
        }
        // The successful request is the last one the server saw for it
        // (told apart by the server's request-id: the client's is kept
        // across retries).
        let mut success: HashSet<String> = HashSet::new();
        for e in &read.entries {
            if let Entry::Outcome {
                result: Outcome::Removed,
                request_id: Some(r),
                ..
            } = e
            {
                success.insert(r.clone());
            }
        }
        let mut seen_success: HashSet<(String, String)> = HashSet::new();
        for r in &removals {
            let k = (r.chat_id.clone(), r.user_id.clone());
            assert!(
                !seen_success.contains(&k),
                "{k:?} was sent again after the client saw it removed"
            );
            if success.contains(&r.request_id) {
                seen_success.insert(k);
            }
        }
    }
}

fn opts(rate: f64) -> RunOptions {
    RunOptions {
        max_rate: rate,
        ..RunOptions::default()
    }
}

async fn profile_run(profile: Profile) {
    let rate = 25.0;
    let s = setup(100, profile, rate).await;
    let (sum, events) = s.run(opts(rate), |_, _| {}).await;
    assert_eq!(sum.reason, EndReason::Finished, "{profile:?}");
    assert_eq!(sum.counts.removed, 200, "{profile:?}: {sum:?}");
    assert_eq!(sum.counts.failed, 0);
    s.check_complete();
    assert!(
        s.emu.refused().is_empty(),
        "{profile:?}: {:?}",
        s.emu.refused()
    );
    let retries = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Target {
                    state: TargetState::Retrying { .. },
                    ..
                }
            )
        })
        .count();
    let st = s.emu.shared.state.lock().unwrap();
    // Figures, not assertions: the machine is shared and noisy.
    eprintln!(
        "{profile:?}: 200 targets in {:.1}s, {} removal requests, achieved {:.2}/s of {rate}/s allowed \
         ({:.0}%), {retries} retries, {} faults injected, {} throttled",
        sum.elapsed.as_secs_f64(),
        sum.sent,
        sum.achieved_rate.unwrap_or(0.0),
        100.0 * sum.achieved_rate.unwrap_or(0.0) / rate,
        st.faults_injected,
        st.throttled
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_targets_with_no_faults() {
    profile_run(Profile::None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_targets_on_a_flaky_server() {
    profile_run(Profile::Flaky).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_targets_on_a_throttling_server() {
    profile_run(Profile::Throttled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_targets_on_a_hostile_server() {
    profile_run(Profile::Hostile).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_resolve_user_ids_by_upn() {
    let mut s = setup(15, Profile::None, 50.0).await;
    s.settings.api_version = chatevict::graph::cloud::ApiVersion::Beta;
    let lookups: HashSet<&str> = s
        .targets
        .iter()
        .filter(|t| t.user_id.is_none())
        .map(|t| t.user_upn.as_str())
        .collect();
    assert!(!lookups.is_empty());
    let (sum, events) = s.run(opts(50.0), |_, _| {}).await;
    assert_eq!(sum.counts.removed, 30);
    let queued = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Target {
                    state: TargetState::Queued,
                    ..
                }
            )
        })
        .count();
    assert_eq!(queued, 30, "every target is announced");
    let resolved = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Target {
                    state: TargetState::Resolved { .. },
                    ..
                }
            )
        })
        .count();
    assert_eq!(
        resolved,
        s.targets.iter().filter(|t| t.user_id.is_none()).count()
    );
    let read = journal::read(&s.journal).unwrap();
    assert_eq!(read.lookups().len(), lookups.len(), "one lookup per UPN");
    s.check_complete();
}

/// A session that can no longer be refreshed stops the run, and the
/// summary says that signing in again is the remedy (each face names its
/// own way: the library names no command).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_stops_the_run_for_a_sign_in() {
    let mut cfg = emu::config(Profile::None, 50.0);
    cfg.refresh_token_lifetime = Duration::ZERO;
    let s = setup_with(3, cfg).await;
    emu::control(&s.emu, "expire-tokens", json!({})).await;
    let (sum, _) = s.run(opts(50.0), |_, _| {}).await;
    let EndReason::Stopped(why) = &sum.reason else {
        panic!("{sum:?}")
    };
    assert!(sum.sign_in_needed, "{sum:?}");
    assert!(why.contains("700082"), "{why}");
    assert!(!why.contains("chatevict "), "{why}");
    assert_eq!(sum.counts.removed, 0, "{sum:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_refreshes_the_token_once_and_goes_on() {
    let s = setup(3, Profile::None, 50.0).await;
    emu::control(&s.emu, "expire-tokens", json!({})).await;
    let (sum, _) = s.run(opts(50.0), |_, _| {}).await;
    assert_eq!(sum.counts.removed, 6, "{sum:?}");
    let read = journal::read(&s.journal).unwrap();
    let saw_401 = read.entries.iter().any(|e| {
        matches!(
            e,
            Entry::Outcome {
                result: Outcome::Retrying,
                status: Some(401),
                ..
            }
        )
    });
    assert!(
        saw_401,
        "the expired token was answered with 401 and retried"
    );
    s.check_complete();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_stops_the_run_with_an_explanation() {
    let s = setup(20, Profile::None, 50.0).await;
    emu::control(
        &s.emu,
        "revoke-scope",
        json!({"scope": "Chat.ReadWrite.All"}),
    )
    .await;
    let (sum, _) = s.run(opts(50.0), |_, _| {}).await;
    let EndReason::Stopped(why) = &sum.reason else {
        panic!("not stopped: {sum:?}")
    };
    assert!(
        why.contains("403") && why.contains("Chat.ReadWrite.All"),
        "{why}"
    );
    assert_eq!(sum.counts.removed, 0);
    assert!(sum.counts.failed >= 1 && sum.counts.failed <= 4, "{sum:?}");
    assert!(sum.counts.left >= 36, "the rest is not tried: {sum:?}");
    let read = journal::read(&s.journal).unwrap();
    assert!(matches!(
        read.entries.last(),
        Some(Entry::RunEnded {
            reason: EndReason::Stopped(_),
            ..
        })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_then_resume_does_not_resend_what_was_removed() {
    let s = setup(15, Profile::None, 10.0).await;
    let mut removed = 0;
    let (sum, _) = s
        .run(opts(10.0), |e, c| {
            if let Event::Target {
                state: TargetState::Removed { .. },
                ..
            } = e
            {
                removed += 1;
                if removed == 5 {
                    c.cancel();
                }
            }
        })
        .await;
    assert_eq!(sum.reason, EndReason::Cancelled);
    assert!(sum.counts.removed >= 5 && sum.counts.left > 0, "{sum:?}");
    let first = s.emu.removals().len();
    let (sum2, events) = s.run(opts(10.0), |_, _| {}).await;
    assert_eq!(sum2.reason, EndReason::Finished);
    assert_eq!(sum2.counts.skipped, sum.counts.removed);
    assert_eq!(sum2.counts.removed + sum2.counts.skipped, 30);
    let skipped = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Target {
                    state: TargetState::Skipped { .. },
                    ..
                }
            )
        })
        .count();
    assert_eq!(skipped, sum.counts.removed);
    assert_eq!(
        s.emu.removals().len() - first,
        sum2.counts.removed,
        "nothing resent"
    );
    s.check_complete();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_holds_requests_and_retry_failed_requeues_the_failures() {
    let s = setup(4, Profile::None, 20.0).await;
    // One user is no member of its chat on the server: 404, failed.
    let victim = s
        .targets
        .iter()
        .find(|t| t.user_id.is_some())
        .unwrap()
        .clone();
    let member = {
        let mut st = s.emu.shared.state.lock().unwrap();
        let c = st.chats.get_mut(&victim.chat_id).unwrap();
        let i = c
            .chat
            .members
            .iter()
            .position(|m| m.upn.eq_ignore_ascii_case(&victim.user_upn))
            .unwrap();
        c.chat.members.remove(i)
    };
    let emu_state = s.emu.shared.clone();
    let mut retried = false;
    // Requests the server saw when the pause took effect, and after a
    // while paused: the same, or the pause let requests through.
    let held = std::sync::Arc::new(std::sync::Mutex::new(None));
    // Requests sent and answered before the pause took effect: the
    // difference was in flight, and may still reach the server.
    let (mut sent_before, mut answered_before, mut paused, mut sent_while_paused) =
        (0usize, 0usize, false, 0usize);
    let (sum, events) = s
        .run(opts(20.0), |e, c| match e {
            Event::Started { .. } => c.pause(),
            Event::Target {
                state: TargetState::Sending { .. },
                ..
            } => {
                if paused {
                    sent_while_paused += 1;
                } else {
                    sent_before += 1;
                }
            }
            Event::Target {
                state: TargetState::Removed { .. } | TargetState::Failed(_) | TargetState::Retrying { .. },
                ..
            } if !paused => answered_before += 1,
            Event::Resumed => paused = false,
            Event::Paused => {
                paused = true;
                let (c, st, held) = (c.clone(), emu_state.clone(), held.clone());
                tokio::spawn(async move {
                    let at = st.state.lock().unwrap().requests;
                    tokio::time::sleep(Duration::from_millis(800)).await;
                    let after = st.state.lock().unwrap().requests;
                    *held.lock().unwrap() = Some((at, after));
                    c.resume();
                });
            }
            Event::Idle(idle) if !retried => {
                assert_eq!(idle.counts.failed, 1);
                retried = true;
                emu_state
                    .state
                    .lock()
                    .unwrap()
                    .chats
                    .get_mut(&victim.chat_id)
                    .unwrap()
                    .chat
                    .members
                    .push(member.clone());
                c.retry_failed();
            }
            _ => {}
        })
        .await;
    assert!(retried);
    let (at, after) = held.lock().unwrap().expect("the run paused");
    assert_eq!(sent_while_paused, 0, "nothing is sent while paused");
    let in_flight = sent_before.saturating_sub(answered_before);
    assert!(
        after - at <= in_flight as u64,
        "while paused the server saw {} request(s); {in_flight} were in flight",
        after - at
    );
    assert!(events.contains(&Event::Resumed));
    assert_eq!(sum.counts.removed, 8, "{sum:?}");
    assert_eq!(sum.counts.failed, 0);
    let failures: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Target {
                state: TargetState::Failed(f),
                ..
            } => Some(f.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].status, Some(404));
    assert!(
        failures[0].request_id.is_some(),
        "the server's request id is kept"
    );
    s.check_complete();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_sends_nothing_and_journals_what_it_would_do() {
    let s = setup(5, Profile::None, 20.0).await;
    let before = s.emu.shared.state.lock().unwrap().requests;
    let input = RunInput {
        targets: check::check(&s.targets, None).unwrap(),
        plan: PlanRef {
            path: "plan.json".into(),
            sha256: "0".repeat(64),
            targets: 10,
        },
        journal: Journal::open(&s.journal).unwrap(),
        prior: journal::Read::default(),
        graph: None,
        session: None,
        tenant_id: None,
        account: None,
    };
    let mut h = runner::start(
        input,
        RunOptions {
            dry_run: true,
            ..RunOptions::default()
        },
    );
    while let Some(e) = h.events.recv().await {
        if matches!(e, Event::Idle(_)) {
            h.finish();
        }
    }
    let sum = h.task.await.unwrap();
    assert_eq!(sum.counts.would_remove, 10);
    assert_eq!(s.emu.shared.state.lock().unwrap().requests, before);
    let read = journal::read(&s.journal).unwrap();
    assert!(read.removed().is_empty(), "a dry run removes nothing");
    let would = read
        .entries
        .iter()
        .filter(|e| {
            matches!(
                e,
                Entry::Outcome {
                    result: Outcome::WouldRemove,
                    ..
                }
            )
        })
        .count();
    assert_eq!(would, 10);
}

/// Prepares a run of `targets` as both faces do, against the setup's
/// emulator; `Err` when the plan is refused.
async fn prepared_run(s: &Setup, targets: &[Target]) -> Result<Summary, PrepareError> {
    let account = s.session.account().await;
    let p = prepare::prepare(
        targets,
        PlanSource {
            path: "plan.json".into(),
            sha256: "0".repeat(64),
        },
        Some(&account),
        false,
        s.journal.parent().unwrap(),
        Some(s.journal.clone()),
    )?;
    let mut h = p
        .start(
            Some(emu::graph(&s.settings)),
            Some(s.session.clone()),
            opts(50.0),
        )
        .unwrap();
    while let Some(e) = h.events.recv().await {
        if matches!(e, Event::Idle(_)) {
            h.finish();
        }
    }
    Ok(h.task.await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_plan_sends_nothing_whatever_field_is_bad() {
    let s = setup(3, Profile::None, 50.0).await;
    let good = s.targets.clone();
    let with_id = good.iter().position(|t| t.user_id.is_some()).unwrap();
    type Tamper = Box<dyn Fn(&mut Target)>;
    let tampers: Vec<(&str, Tamper)> = vec![
        ("chat id", Box::new(|t| t.chat_id = "not-a-chat".into())),
        (
            "chat id with a path",
            Box::new(|t| t.chat_id = "19:x/../../users@thread.v2".into()),
        ),
        (
            "chat id with U+202E",
            Box::new(|t| t.chat_id = "19:ab\u{202e}cd@thread.v2".into()),
        ),
        (
            "braced user id",
            Box::new(|t| t.user_id = Some(format!("{{{}}}", t.user_id.clone().unwrap()))),
        ),
        (
            "user id",
            Box::new(|t| t.user_id = Some("not-a-guid".into())),
        ),
        (
            "tenant id",
            Box::new(|t| t.tenant_id = "contoso.com".into()),
        ),
        (
            "another tenant",
            Box::new(|t| t.tenant_id = emu::FABRIKAM.into()),
        ),
        (
            "an outsider",
            Box::new(|t| {
                t.user_upn = "rob.young@fabrikam.com".into();
                t.external_domains = vec!["fabrikam.com".into()];
            }),
        ),
    ];
    for (what, tamper) in tampers {
        let mut plan = good.clone();
        tamper(&mut plan[with_id]);
        match prepared_run(&s, &plan).await {
            Err(PrepareError::Refused(r)) => {
                assert_eq!(r.len(), 1, "{what}: {r:?}");
                assert_eq!(r[0].index, with_id, "{what}");
            }
            other => panic!("{what}: the plan was not refused: {other:?}"),
        }
        let st = s.emu.shared.state.lock().unwrap();
        assert!(st.removals.is_empty(), "{what}: something was sent");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_doubled_plan_sends_each_target_once() {
    let s = setup(3, Profile::None, 50.0).await;
    let mut doubled = s.targets.clone();
    doubled.extend(s.targets.iter().cloned());
    let mut shouting = s.targets[0].clone();
    shouting.user_upn = shouting.user_upn.to_uppercase();
    doubled.push(shouting);
    let sum = prepared_run(&s, &doubled).await.unwrap();
    assert_eq!(sum.counts.removed, s.targets.len(), "{sum:?}");
    let removals = s.emu.removals();
    assert_eq!(removals.len(), s.targets.len(), "one request per target");
    s.check_complete();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_on_a_lookup_names_the_lookup_permission() {
    let s = setup(15, Profile::None, 50.0).await;
    emu::control(
        &s.emu,
        "revoke-scope",
        json!({"scope": "User.ReadBasic.All"}),
    )
    .await;
    let (sum, _) = s.run(opts(50.0), |_, _| {}).await;
    let EndReason::Stopped(why) = &sum.reason else {
        panic!("not stopped: {sum:?}")
    };
    assert!(why.contains("User.ReadBasic.All"), "{why}");
}

/// Microsoft does not document what a repeated removal answers. Under
/// either assumption, a removal whose reply was lost, sent again, ends
/// removed, never failed: a 404 in doubt is checked against the chat's
/// members.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_reply_then_a_repeat_ends_removed_under_either_assumption() {
    for repeat in [204, 404] {
        let mut cfg = emu::config(Profile::None, 50.0);
        cfg.assume.repeat = repeat;
        let s = setup_with(2, cfg).await;
        emu::control(&s.emu, "graph/fail-next", json!({"action": "drop_after"})).await;
        let (sum, _) = s.run(opts(50.0), |_, _| {}).await;
        assert_eq!(
            (sum.counts.removed, sum.counts.failed),
            (4, 0),
            "repeat={repeat}: {sum:?}"
        );
        s.check_complete();
        let removals = s.emu.removals();
        let lost = removals
            .iter()
            .find(|r| r.reply_lost)
            .expect("a reply was lost");
        let refused = s.emu.refused();
        let journal = journal::read(&s.journal).unwrap();
        let note = journal.entries.iter().find_map(|e| match e {
            Entry::Outcome {
                result: Outcome::Removed,
                message: Some(m),
                ..
            } => Some(m.clone()),
            _ => None,
        });
        if repeat == 404 {
            assert_eq!(refused.len(), 1, "{refused:?}");
            assert_eq!(
                (&refused[0].chat_id, &refused[0].user_id, refused[0].status),
                (&lost.chat_id, &lost.user_id, 404)
            );
            assert!(
                note.is_some_and(|m| m.contains("reply was lost")),
                "the journal says why a 404 counts as removed"
            );
        } else {
            assert!(refused.is_empty(), "{refused:?}");
            assert_eq!(removals.len(), 5, "the repeat reached the server");
            assert!(note.is_none());
        }
    }
}

/// What the plan check cannot see (a well-formed id of someone who is no
/// member of the chat; an outsider's id sent with the home tenant) the
/// emulator refuses as Graph would, under each assumption; the run
/// records the server's answer, and the emulator keeps the refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_graph_refuses_is_failed_with_the_servers_words_under_each_assumption() {
    for (what, status) in [
        ("non-member", 404),
        ("non-member", 204),
        ("outsider", 404),
        ("outsider", 400),
    ] {
        let mut cfg = emu::config(Profile::None, 50.0);
        cfg.assume.set(&format!("{what}={status}")).unwrap();
        let s = setup_with(2, cfg).await;
        let mut plan = vec![s.targets[0].clone()];
        let t = &mut plan[0];
        match what {
            "non-member" => {
                // user5 is a home user, in no chat of this export.
                t.user_upn = "user5@contoso.com".into();
                t.user_id = Some(emu::user_key(5));
            }
            _ => {
                let st = s.emu.shared.state.lock().unwrap();
                let rob = st.chats[&t.chat_id]
                    .chat
                    .members
                    .iter()
                    .find(|m| m.upn == "rob.young@fabrikam.com")
                    .unwrap()
                    .user_id
                    .clone();
                t.user_upn = "user7@contoso.com".into();
                t.user_id = Some(rob);
            }
        }
        let sent = (t.chat_id.clone(), t.user_id.clone().unwrap());
        let sum = prepared_run(&s, &plan).await.unwrap();
        let refused = s.emu.refused();
        if status == 204 {
            assert_eq!(sum.counts.removed, 1, "{what}={status}: {sum:?}");
            assert!(refused.is_empty());
            continue;
        }
        assert_eq!(sum.counts.failed, 1, "{what}={status}: {sum:?}");
        assert_eq!(refused.len(), 1, "{what}={status}: {refused:?}");
        assert_eq!(
            (&refused[0].chat_id, &refused[0].user_id, refused[0].status),
            (&sent.0, &sent.1, status)
        );
        // The journal holds the server's own status, code and words.
        let read = journal::read(&s.journal).unwrap();
        let failed = read
            .entries
            .iter()
            .find_map(|e| match e {
                Entry::Outcome {
                    result: Outcome::Failed,
                    status,
                    code,
                    message,
                    request_id,
                    ..
                } => Some((*status, code.clone(), message.clone(), request_id.clone())),
                _ => None,
            })
            .expect("a failed outcome");
        assert_eq!(failed.0, Some(status), "{what}");
        assert_eq!(failed.1.as_deref(), Some(refused[0].code.as_str()));
        assert_eq!(failed.2.as_deref(), Some(refused[0].message.as_str()));
        assert_eq!(failed.3.as_deref(), Some(refused[0].request_id.as_str()));
        assert!(s.emu.removals().is_empty(), "{what}: nothing removed");
    }
}

/// Microsoft's Teams admin article sends `{"user": {"id", "tenantId"}}`
/// without `@odata.type`, and gets 204; Graph's challenge comes with a
/// 401; `/users/$…` must be written `/users('$…')`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_answers_microsofts_own_requests_as_documented() {
    let s = setup(1, Profile::None, 50.0).await;
    let t = &s.targets[0];
    let bearer = s.session.bearer().await.unwrap();
    let c = reqwest::Client::new();
    let url = format!(
        "{}v1.0/chats/{}/removeAllAccessForUser",
        s.emu.url(),
        t.chat_id
    );
    let r = c
        .post(&url)
        .bearer_auth(bearer.token.secret())
        .json(&json!({"user": {"id": t.user_id, "tenantId": t.tenant_id}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = c
        .post(&url)
        .json(&json!({"user": {"id": t.user_id, "tenantId": t.tenant_id}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains("authorization_uri="),
        "{challenge}"
    );
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "InvalidAuthenticationToken");
    assert!(v["error"]["innerError"]["request-id"].is_string());
    let r = c
        .get(format!("{}v1.0/users/$admin@contoso.com", s.emu.url()))
        .bearer_auth(bearer.token.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

/// Consent withdrawn in the middle of a run: the run stops at the first
/// 403, and nothing is removed after the stop (the server's removals all
/// come before the refusal that stopped it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_midway_removes_nothing_after_it() {
    let s = setup(20, Profile::None, 10.0).await;
    let st = s.emu.shared.clone();
    let mut removed = 0;
    let (sum, _) = s
        .run(opts(10.0), |e, _| {
            if let Event::Target {
                state: TargetState::Removed { .. },
                ..
            } = e
            {
                removed += 1;
                if removed == 5 {
                    // As /_emulator/revoke-scope does.
                    let mut st = st.state.lock().unwrap();
                    let st = &mut *st;
                    for g in st
                        .access_tokens
                        .values_mut()
                        .chain(st.refresh_tokens.values_mut())
                    {
                        g.scopes.retain(|x| !x.ends_with("Chat.ReadWrite.All"));
                    }
                    st.revoked.push("Chat.ReadWrite.All".into());
                }
            }
        })
        .await;
    assert!(matches!(sum.reason, EndReason::Stopped(_)), "{sum:?}");
    let removals = s.emu.removals();
    let requests_at_end = st.state.lock().unwrap().requests;
    assert!(
        removals.len() >= 5 && removals.len() < 40,
        "{}",
        removals.len()
    );
    assert_eq!(sum.counts.removed, removals.len(), "{sum:?}");
    // The server saw no removal after the run stopped: the journal's
    // removed targets are exactly the server's, and the rest were never
    // tried.
    let read = journal::read(&s.journal).unwrap();
    assert_eq!(read.removed().len(), removals.len());
    assert_eq!(
        sum.counts.left + sum.counts.failed + sum.counts.removed,
        40,
        "{sum:?}"
    );
    let later = s.emu.removals().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        s.emu.removals().len(),
        later,
        "nothing arrives after the end"
    );
    assert_eq!(st.state.lock().unwrap().requests, requests_at_end);
}
