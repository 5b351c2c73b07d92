//! A run made ready, the same way for both faces: the plan checked whole,
//! its journal chosen (one per tenant: every run in a tenant, from either
//! face and any plan, appends to it and skips what it shows removed),
//! what earlier runs removed read back, and what will be sent counted for
//! the confirmation. `apply` and the application both call [`prepare`],
//! show the [`Prepared`] whole, and then [`Prepared::start`] it.

use std::path::{Path, PathBuf};

use super::auth::Session;
use super::cache::Account;
use super::check::{self, CheckedPlan, Refusal};
use super::client::Graph;
use super::runner::{self, RunHandle, RunInput, RunOptions};
use crate::journal::{self, Done, Journal, JournalError, Key, PlanRef};
use crate::triage::plan::Target;
use crate::triage::query::Initiated;

/// What a removal does, in one sentence, for every confirmation.
pub const WHAT_IT_DOES: &str = "A removal takes the chat out of the user's chat list: they can no longer read or post in it. The sender is not blocked; the chat stays for the others.";

/// Why a run cannot be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("the plan cannot be run: {} target(s) refused", .0.len())]
    Refused(Vec<Refusal>),
    #[error("the plan has no target")]
    Empty,
    #[error("not signed in: a run that sends requests needs a session")]
    NotSignedIn,
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("cannot keep the plan for the journal: {0}")]
    Plan(std::io::Error),
}

/// Where the plan of a run is, for the journal: its path and SHA-256.
#[derive(Debug, Clone)]
pub struct PlanSource {
    pub path: String,
    pub sha256: String,
}

/// A checked plan, its journal and what a run of it will do.
#[derive(Debug)]
pub struct Prepared {
    pub checked: CheckedPlan,
    pub plan: PlanRef,
    pub journal_path: PathBuf,
    /// What the journal held before this run.
    pub prior: journal::Read,
    pub dry_run: bool,
    /// The tenant the run acts in: the signed-in one (or, for a dry run
    /// without a session, the plan's).
    pub tenant_id: String,
    pub account: Option<String>,
    /// Per target: the earlier removal, when an earlier run confirmed one.
    pub already: Vec<Option<Done>>,
}

/// The default journal of a tenant.
pub fn tenant_journal(journals: &Path, tenant_id: &str) -> PathBuf {
    journals.join(format!("tenant-{}.jsonl", tenant_id.to_ascii_lowercase()))
}

/// Checks `targets` against the signed-in `account` (none: a dry run
/// without a session) and reads the journal (`journal`, or the tenant's in
/// `journals`).
pub fn prepare(
    targets: &[Target],
    plan: PlanSource,
    account: Option<&Account>,
    dry_run: bool,
    journals: &Path,
    journal: Option<PathBuf>,
) -> Result<Prepared, PrepareError> {
    if !dry_run && account.is_none() {
        return Err(PrepareError::NotSignedIn);
    }
    let checked = check::check(targets, account.map(|a| a.tenant_id.as_str()))
        .map_err(PrepareError::Refused)?;
    let tenant = match (account, checked.tenant_id()) {
        (Some(a), _) => a.tenant_id.to_ascii_lowercase(),
        (None, Some(t)) => t.to_owned(),
        (None, None) => return Err(PrepareError::Empty),
    };
    let journal = journal.unwrap_or_else(|| tenant_journal(journals, &tenant));
    let plan = PlanRef {
        path: plan.path,
        sha256: plan.sha256,
        targets: targets.len(),
    };
    prepare_checked(checked, plan, account, dry_run, journal)
}

/// A run of targets already checked (some targets of an earlier run, to
/// try again), in `journal`.
pub fn prepare_checked(
    checked: CheckedPlan,
    plan: PlanRef,
    account: Option<&Account>,
    dry_run: bool,
    journal_path: PathBuf,
) -> Result<Prepared, PrepareError> {
    if !dry_run && account.is_none() {
        return Err(PrepareError::NotSignedIn);
    }
    if checked.targets().is_empty() {
        return Err(PrepareError::Empty);
    }
    let tenant_id = match (account, checked.tenant_id()) {
        (Some(a), Some(t)) if !a.tenant_id.eq_ignore_ascii_case(t) => {
            // Signed in again elsewhere since the plan was checked.
            return Err(PrepareError::Refused(
                (0..checked.targets().len())
                    .map(|index| Refusal {
                        index,
                        reason: format!(
                            "its tenant {t} is not the signed-in tenant {}",
                            a.tenant_id
                        ),
                    })
                    .collect(),
            ));
        }
        (Some(a), _) => a.tenant_id.to_ascii_lowercase(),
        (None, Some(t)) => t.to_owned(),
        (None, None) => return Err(PrepareError::Empty),
    };
    let prior = journal::read(&journal_path)?;
    let removed = prior.removed();
    let already = checked
        .targets()
        .iter()
        .map(|t| removed.get(&Key::new(&t.chat_id, &t.user_upn)).cloned())
        .collect();
    Ok(Prepared {
        plan,
        checked,
        journal_path,
        prior,
        dry_run,
        tenant_id,
        account: account.map(|a| a.username.clone()),
        already,
    })
}

impl Prepared {
    pub fn targets(&self) -> &[Target] {
        self.checked.targets()
    }

    /// Targets an earlier run removed: not sent again.
    pub fn already_removed(&self) -> usize {
        self.already.iter().filter(|d| d.is_some()).count()
    }

    /// The targets that will be sent, with their index.
    pub fn to_send(&self) -> impl Iterator<Item = (usize, &Target)> {
        self.targets()
            .iter()
            .enumerate()
            .filter(|(i, _)| self.already[*i].is_none())
    }

    pub fn to_send_count(&self) -> usize {
        self.to_send().count()
    }

    /// Of those to send: how many are in chats started in the home tenant,
    /// and of unknown start.
    pub fn internal_and_unknown(&self) -> (usize, usize) {
        self.to_send()
            .fold((0, 0), |(i, u), (_, t)| match t.initiated {
                Initiated::Internal => (i + 1, u),
                Initiated::Unknown => (i, u + 1),
                Initiated::External => (i, u),
            })
    }

    /// User ids still to look up (neither the plan nor an earlier run's
    /// lookup gives them).
    pub fn lookups(&self) -> usize {
        let known = self.prior.lookups();
        let mut upns: Vec<String> = self
            .to_send()
            .filter(|(_, t)| t.user_id.is_none())
            .map(|(_, t)| t.user_upn.to_lowercase())
            .filter(|u| !known.contains_key(u))
            .collect();
        upns.sort();
        upns.dedup();
        upns.len()
    }

    /// Opens the journal and starts the run on the current tokio runtime.
    pub fn start(
        self,
        graph: Option<Graph>,
        session: Option<Session>,
        opts: RunOptions,
    ) -> Result<RunHandle, JournalError> {
        let journal = Journal::open(&self.journal_path)?;
        let input = RunInput {
            targets: self.checked,
            plan: self.plan,
            journal,
            prior: self.prior,
            graph: (!self.dry_run).then_some(graph).flatten(),
            session: (!self.dry_run).then_some(session).flatten(),
            tenant_id: Some(self.tenant_id),
            account: self.account,
        };
        Ok(runner::start(
            input,
            RunOptions {
                dry_run: self.dry_run,
                ..opts
            },
        ))
    }
}
