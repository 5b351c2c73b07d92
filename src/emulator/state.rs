//! The emulator's state: the directory, the sign-in sessions and tokens,
//! the rate limiters, and every removal it performed.
//!
//! One lock guards it all. Handlers hold it only between awaits, so a
//! slow (fault-injected) reply never blocks the others.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::faults::{Action, Profile};
use super::seed::{Chat, Seed, Tenant, User};

/// How the emulator behaves.
#[derive(Debug, Clone)]
pub struct Config {
    pub faults: Profile,
    /// The sustained removal rate allowed per signed-in user, requests/s
    /// (Teams documents about one per second); the per-chat and per-app
    /// limits scale with it.
    pub rate_limit: f64,
    /// Approve device codes (and browser sign-ins) by themselves, after
    /// this long.
    pub auto_approve: Option<Duration>,
    pub access_token_lifetime: Duration,
    pub refresh_token_lifetime: Duration,
    pub device_code_lifetime: Duration,
    /// The polling interval handed out with device codes, seconds.
    pub device_interval: u64,
    /// Seed of the random choices (faults, codes, tokens), for a run that
    /// can be replayed; `None` seeds from the system.
    pub seed: Option<u64>,
    /// The answers Microsoft does not document.
    pub assume: Assumptions,
    /// How long an audit log query takes to succeed.
    pub audit_delay: Duration,
    /// Records per page of a query's results.
    pub audit_page_size: usize,
    /// The most records a query returns (`None`: no limit).
    pub audit_record_limit: Option<usize>,
    /// Serve the audit log query API at beta only, as some tenants did
    /// in 2025 (v1.0 answers that the segment is not found).
    pub audit_beta_only: bool,
}

/// Answers to `removeAllAccessForUser` that Microsoft does not document,
/// each a named assumption (`--assume NAME=STATUS`). The client is tested
/// against every choice, so that the day a tenant answers otherwise,
/// nothing that worked turns into a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Assumptions {
    /// A user who has already lost access (a repeated removal): 204
    /// (nothing to do) or 404.
    pub repeat: u16,
    /// A user who is not a member of the chat: 404 or 204.
    pub non_member: u16,
    /// A user of another tenant than the `tenantId` sent with it (an
    /// outsider's id with your tenant id): 404 or 400.
    pub outsider: u16,
    /// A meeting chat (`chatType` `meeting`): 204 or 400.
    pub meeting: u16,
}

impl Default for Assumptions {
    fn default() -> Self {
        Assumptions {
            repeat: 204,
            non_member: 404,
            outsider: 404,
            meeting: 204,
        }
    }
}

impl Assumptions {
    /// Every assumption: its name, its choices (the default first), what
    /// it is about.
    pub const ALL: [(&'static str, [u16; 2], &'static str); 4] = [
        (
            "repeat",
            [204, 404],
            "removing a user who already lost access",
        ),
        (
            "non-member",
            [404, 204],
            "removing a user who is not a member of the chat",
        ),
        (
            "outsider",
            [404, 400],
            "a user id of another tenant than the tenantId sent",
        ),
        ("meeting", [204, 400], "removing a user from a meeting chat"),
    ];

    fn slot(&mut self, name: &str) -> Option<&mut u16> {
        Some(match name {
            "repeat" => &mut self.repeat,
            "non-member" | "non_member" => &mut self.non_member,
            "outsider" => &mut self.outsider,
            "meeting" => &mut self.meeting,
            _ => return None,
        })
    }

    /// Applies `NAME=STATUS`.
    pub fn set(&mut self, spec: &str) -> Result<(), String> {
        let (name, value) = spec
            .split_once('=')
            .ok_or_else(|| format!("{spec:?}: expected NAME=STATUS, e.g. repeat=404"))?;
        let (_, choices, _) = Self::ALL
            .iter()
            .find(|(n, _, _)| n.replace('-', "_") == name.replace('-', "_"))
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|a| a.0).collect();
                format!("unknown assumption {name:?}; known: {}", names.join(", "))
            })?;
        let status: u16 = value
            .parse()
            .ok()
            .filter(|v| choices.contains(v))
            .ok_or_else(|| format!("{name} can be {} or {}", choices[0], choices[1]))?;
        *self.slot(name).expect("a known name") = status;
        Ok(())
    }
}

/// A removal the emulator refused: a test can show that the client never
/// sends what Microsoft would refuse.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Refusal {
    pub chat_id: String,
    pub user_id: String,
    pub tenant_id: String,
    pub status: u16,
    pub code: String,
    pub message: String,
    pub client_request_id: Option<String>,
    pub request_id: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            faults: Profile::None,
            rate_limit: 1.0,
            auto_approve: None,
            access_token_lifetime: Duration::from_secs(3600),
            refresh_token_lifetime: Duration::from_secs(90 * 24 * 3600),
            device_code_lifetime: Duration::from_secs(900),
            device_interval: 5,
            seed: None,
            assume: Assumptions::default(),
            audit_delay: Duration::from_secs(3),
            audit_page_size: 100,
            audit_record_limit: None,
            audit_beta_only: false,
        }
    }
}

/// One removal the emulator carried out (or was asked again to).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Removal {
    pub chat_id: String,
    pub user_id: String,
    pub tenant_id: String,
    pub client_request_id: Option<String>,
    pub request_id: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// False when the user had already lost access (the request changed
    /// nothing).
    pub changed: bool,
    /// True when the emulator dropped the connection after acting, so the
    /// client never saw the reply.
    pub reply_lost: bool,
}

#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub device_code: String,
    pub user_code: String,
    pub tenant_id: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub expires: Instant,
    pub approved: Option<bool>,
    pub approve_at: Option<Instant>,
    pub last_poll: Option<Instant>,
    /// slow_down answers so far; each adds 5 s to the required interval.
    pub slow_downs: u32,
}

#[derive(Debug, Clone)]
pub struct AuthCode {
    pub tenant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: String,
    pub scopes: Vec<String>,
    /// Echoed in the id token, as OpenID Connect requires.
    pub nonce: Option<String>,
    pub expires: Instant,
}

/// What a token stands for.
#[derive(Debug, Clone)]
pub struct Grant {
    pub tenant_id: String,
    pub user_id: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub expires: Instant,
}

/// A token bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// Takes one token, or says how long until one is there.
    pub fn take(&mut self, rate: f64, capacity: f64, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(capacity);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }

    pub fn full(capacity: f64, now: Instant) -> Bucket {
        Bucket {
            tokens: capacity,
            at: now,
        }
    }
}

/// An Entra error to answer the next token request with.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct InjectedEntraError {
    pub error: String,
    pub code: u32,
    pub description: Option<String>,
}

pub struct State {
    pub cfg: Config,
    pub tenants: Vec<Tenant>,
    pub users: Vec<User>,
    pub chats: HashMap<String, ChatState>,
    pub devices: HashMap<String, DeviceCode>,
    pub auth_codes: HashMap<String, AuthCode>,
    /// The applications the tenant knows, by client id, with the Graph
    /// permissions consented for them (`/_emulator/consent` changes it).
    pub apps: HashMap<String, Vec<String>>,
    pub refresh_tokens: HashMap<String, Grant>,
    pub access_tokens: HashMap<String, Grant>,
    pub removals: Vec<Removal>,
    pub refused: Vec<Refusal>,
    pub buckets: HashMap<String, Bucket>,
    pub next_entra_error: Option<InjectedEntraError>,
    /// A fault for the next removal request (`/_emulator/graph/fail-next`).
    pub next_removal_fault: Option<Action>,
    /// Scopes no longer granted (an admin revoked consent).
    pub revoked: Vec<String>,
    pub rng: fastrand::Rng,
    pub requests: u64,
    pub throttled: u64,
    pub faults_injected: u64,
    /// slow_down answers to device-code polls.
    pub slow_downs: u64,
    /// The tenant's audit log (the seed exports' records).
    pub audit_log: Vec<super::seed::LogRecord>,
    /// Audit log queries created.
    pub queries: Vec<Query>,
}

#[derive(Debug, Clone)]
pub struct ChatState {
    pub chat: Chat,
    /// Members who lost access, by user id.
    pub removed: Vec<String>,
}

impl State {
    pub fn new(cfg: Config, seed: Seed) -> State {
        let rng = cfg
            .seed
            .map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed);
        State {
            cfg,
            tenants: seed.tenants,
            users: seed.users,
            chats: seed
                .chats
                .into_iter()
                .map(|c| {
                    (
                        c.id.clone(),
                        ChatState {
                            chat: c,
                            removed: Vec::new(),
                        },
                    )
                })
                .collect(),
            devices: HashMap::new(),
            auth_codes: HashMap::new(),
            apps: default_apps(),
            refresh_tokens: HashMap::new(),
            access_tokens: HashMap::new(),
            removals: Vec::new(),
            refused: Vec::new(),
            buckets: HashMap::new(),
            next_entra_error: None,
            next_removal_fault: None,
            revoked: Vec::new(),
            rng,
            requests: 0,
            throttled: 0,
            faults_injected: 0,
            slow_downs: 0,
            audit_log: seed.audit_log,
            queries: Vec::new(),
        }
    }

    /// The tenant a sign-in path names: `organizations`/`common` (the
    /// first tenant), a tenant id, or one of its domains.
    pub fn tenant_for(&self, name: &str) -> Option<&Tenant> {
        let n = name.to_ascii_lowercase();
        if n == "organizations" || n == "common" {
            return self.tenants.first();
        }
        self.tenants
            .iter()
            .find(|t| t.id == n || t.domains.contains(&n))
    }

    /// The account that signs in to a tenant.
    pub fn admin_of(&self, tenant_id: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.tenant_id == tenant_id && u.upn.starts_with("admin@"))
    }

    pub fn user_by_id(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id.eq_ignore_ascii_case(id))
    }

    pub fn user_by_upn(&self, upn: &str) -> Option<&User> {
        self.users.iter().find(|u| u.upn.eq_ignore_ascii_case(upn))
    }

    /// Takes a token from the named bucket.
    pub fn take(
        &mut self,
        key: String,
        rate: f64,
        capacity: f64,
        now: Instant,
    ) -> Result<(), Duration> {
        self.buckets
            .entry(key)
            .or_insert_with(|| Bucket::full(capacity, now))
            .take(rate, capacity, now)
    }

    /// The scopes a new token gets: those asked for, less revoked ones.
    pub fn granted(&self, asked: &[String]) -> Vec<String> {
        asked
            .iter()
            .filter(|s| {
                !self
                    .revoked
                    .iter()
                    .any(|r| scope_name(s).eq_ignore_ascii_case(r))
            })
            .cloned()
            .collect()
    }
}

/// The Microsoft Graph Command Line Tools client, admin-consented for what
/// chatevict asks (and what fetching the audit log needs).
fn default_apps() -> HashMap<String, Vec<String>> {
    let scopes = [
        "Chat.ReadWrite.All",
        "User.ReadBasic.All",
        "AuditLogsQuery.Read.All",
        "User.Read",
    ];
    HashMap::from([(
        crate::graph::settings::DEFAULT_CLIENT_ID.to_owned(),
        scopes.iter().map(|s| (*s).to_owned()).collect(),
    )])
}

/// The delegated Graph permissions the emulator knows; any other name is
/// a scope Entra would not recognise.
pub const GRAPH_PERMISSIONS: [&str; 17] = [
    "Chat.ReadWrite.All",
    "Chat.Read.All",
    "Chat.ReadBasic.All",
    "Chat.ReadWrite",
    "Chat.Read",
    "Chat.ReadBasic",
    "ChatMember.Read.All",
    "ChatMember.Read",
    "User.Read",
    "User.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "AuditLogsQuery.Read.All",
    "AuditLog.Read.All",
    "email",
    ".default",
];

/// `https://graph.microsoft.com/Chat.ReadWrite.All` → `Chat.ReadWrite.All`.
pub fn scope_name(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// A random token-like string.
pub fn random_token(rng: &mut fastrand::Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..len)
        .map(|_| ALPHABET[rng.usize(..ALPHABET.len())] as char)
        .collect()
}

/// A query and what it matched.
#[derive(Debug, Clone)]
pub struct Query {
    pub id: String,
    pub tenant_id: String,
    /// The query as created, echoed back.
    pub body: serde_json::Value,
    pub created: Instant,
    /// Indices into the log.
    pub matched: Vec<usize>,
    pub limit_exceeded: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_at_its_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::full(2.0, t0);
        assert!(b.take(1.0, 2.0, t0).is_ok());
        assert!(b.take(1.0, 2.0, t0).is_ok());
        let wait = b.take(1.0, 2.0, t0).unwrap_err();
        assert!((wait.as_secs_f64() - 1.0).abs() < 1e-9);
        assert!(b.take(1.0, 2.0, t0 + Duration::from_millis(1000)).is_ok());
    }
}
