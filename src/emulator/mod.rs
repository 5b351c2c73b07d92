//! A local, stateful stand-in for the parts of Entra ID and Microsoft
//! Graph that chatevict uses, served over real HTTP on loopback.
//!
//! The client never takes a shortcut around HTTP to reach it: the tests
//! and the demo exercise the same code a real tenant would. The emulator
//! keeps what happened (every removal, with the client's request id) so
//! a test can check afterwards that nothing was lost or done twice:
//! `GET /_emulator/state`.
//!
//! Control endpoints for tests and training, under `/_emulator/`:
//! `state` (GET), `entra/fail-next` (POST `{"error", "code"}`: answer the
//! next token request with that Entra error), `revoke-scope` (POST
//! `{"scope"}`: as if an admin withdrew consent), `consent` (POST
//! `{"client_id", "scopes": [...] | null}`: the application and what is
//! consented for it), `graph/fail-next` (POST
//! `{"action": "drop_after" | "drop_before" | "503"}`: the next removal
//! request meets that fault), `expire-tokens` (POST:
//! every access token expires now), `device/approve` and
//! `device/decline` (POST `{"user_code"}`).

pub mod audit;
pub mod call;
pub mod entra;
pub mod faults;
pub mod graph;
pub mod seed;
pub mod server;
pub mod signing;
pub mod state;
pub mod tls;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::State as St;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde::Deserialize;
use serde_json::json;

pub use faults::Profile;
pub use seed::Seed;
pub use state::{Assumptions, Config, Refusal, Removal};

use state::{InjectedEntraError, State};

/// What the handlers share.
pub struct Shared {
    pub state: Mutex<State>,
    /// `http://127.0.0.1:PORT` (`https://` with TLS), without a trailing
    /// slash.
    pub base: String,
}

impl Shared {
    /// The root of every URL the emulator hands out: the scheme, host and
    /// port the client used (its `Host` header), as Entra and Graph do,
    /// so that a client that reached it as `localhost`, through a tunnel
    /// or a forwarded port is sent back the same way; the listen address
    /// when the header is absent or not a plain host and port.
    pub fn base_for(&self, headers: &axum::http::HeaderMap) -> String {
        let scheme = self.base.split("://").next().unwrap_or("http");
        headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.len() <= 255
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .map_or_else(|| self.base.clone(), |h| format!("{scheme}://{h}"))
    }
}

pub type App = Arc<Shared>;

/// A running emulator.
pub struct Emulator {
    pub addr: SocketAddr,
    pub shared: App,
    /// The certificate served, PEM, when serving HTTPS.
    pub cert_pem: Option<String>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl Emulator {
    /// Binds `listen` (port 0 picks a free one) and serves on the current
    /// tokio runtime.
    pub async fn start(listen: SocketAddr, cfg: Config, seed: Seed) -> std::io::Result<Emulator> {
        Emulator::start_with(listen, cfg, seed, None).await
    }

    /// As [`Emulator::start`], serving HTTPS with `tls` when given.
    pub async fn start_with(
        listen: SocketAddr,
        cfg: Config,
        seed: Seed,
        tls: Option<tls::Tls>,
    ) -> std::io::Result<Emulator> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(cfg, seed)),
            base: format!("{scheme}://{addr}"),
        });
        let (tx, rx) = tokio::sync::watch::channel(false);
        let cert_pem = tls.as_ref().map(|t| t.cert_pem.clone());
        tokio::spawn(server::serve(
            listener,
            router(shared.clone()),
            tls.map(|t| t.acceptor),
            rx,
        ));
        Ok(Emulator {
            addr,
            shared,
            cert_pem,
            shutdown: tx,
        })
    }

    /// `http://ADDR/` (`https://` with TLS)
    pub fn url(&self) -> String {
        format!("{}/", self.shared.base)
    }

    /// Every removal so far.
    pub fn removals(&self) -> Vec<Removal> {
        self.shared.state.lock().expect("state").removals.clone()
    }

    /// Every removal refused so far.
    pub fn refused(&self) -> Vec<Refusal> {
        self.shared.state.lock().expect("state").refused.clone()
    }

    /// Stops accepting connections.
    pub fn stop(&self) {
        let _ = self.shutdown.send(true);
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop();
    }
}

fn router(app: App) -> Router {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(entra::discovery),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(entra::keys))
        .route("/{tenant}/oauth2/v2.0/devicecode", post(entra::devicecode))
        .route("/{tenant}/oauth2/v2.0/token", post(entra::token))
        .route("/{tenant}/oauth2/v2.0/authorize", get(entra::authorize))
        .route(
            "/devicelogin",
            get(entra::devicelogin_page).post(entra::devicelogin),
        )
        .route("/v1.0/{*rest}", any(graph::dispatch))
        .route("/beta/{*rest}", any(graph::dispatch))
        .route("/_emulator/state", get(state_json))
        .route("/_emulator/entra/fail-next", post(fail_next))
        .route("/_emulator/graph/fail-next", post(graph_fail_next))
        .route("/_emulator/revoke-scope", post(revoke_scope))
        .route("/_emulator/consent", post(consent))
        .route("/_emulator/expire-tokens", post(expire_tokens))
        .route("/_emulator/device/approve", post(device_approve))
        .route("/_emulator/device/decline", post(device_decline))
        .with_state(app)
}

async fn state_json(St(app): St<App>) -> Response {
    let st = app.state.lock().expect("state");
    let members: usize = st.chats.values().map(|c| c.chat.members.len()).sum();
    Json(json!({
        "removals": st.removals,
        "refused": st.refused,
        "assume": st.cfg.assume,
        "requests": st.requests,
        "throttled": st.throttled,
        "faults_injected": st.faults_injected,
        "slow_downs": st.slow_downs,
        "rate_limit": st.cfg.rate_limit,
        "faults": format!("{:?}", st.cfg.faults).to_lowercase(),
        "tenants": st.tenants.iter().map(|t| json!({"id": t.id, "domains": t.domains})).collect::<Vec<_>>(),
        "users": st.users.len(),
        "chats": st.chats.len(),
        "members": members,
    }))
    .into_response()
}

async fn fail_next(St(app): St<App>, Json(e): Json<InjectedEntraError>) -> StatusCode {
    app.state.lock().expect("state").next_entra_error = Some(e);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Consent {
    client_id: String,
    /// The Graph permissions consented for the client; `null` removes
    /// the application from the tenant.
    scopes: Option<Vec<String>>,
}

async fn consent(St(app): St<App>, Json(c): Json<Consent>) -> StatusCode {
    let mut st = app.state.lock().expect("state");
    match c.scopes {
        Some(s) => {
            st.apps.insert(c.client_id, s);
        }
        None => {
            st.apps.remove(&c.client_id);
        }
    }
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct GraphFault {
    /// `drop_after` (act, then drop the connection: the reply is lost),
    /// `drop_before`, or an HTTP status to answer with (`503`).
    action: String,
}

async fn graph_fail_next(St(app): St<App>, Json(f): Json<GraphFault>) -> Response {
    let action = match f.action.as_str() {
        "drop_after" => faults::Action::DropAfter,
        "drop_before" => faults::Action::DropBefore,
        other => match other.parse::<u16>() {
            Ok(status @ 500..=599) => faults::Action::Unavailable {
                status,
                retry_after: None,
            },
            _ => {
                return (
                    StatusCode::BAD_REQUEST,
                    format!("unknown action {other:?}: drop_after, drop_before or a 5xx status"),
                )
                    .into_response();
            }
        },
    };
    app.state.lock().expect("state").next_removal_fault = Some(action);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct ScopeBody {
    scope: String,
}

async fn revoke_scope(St(app): St<App>, Json(b): Json<ScopeBody>) -> StatusCode {
    let mut st = app.state.lock().expect("state");
    let name = b.scope;
    let st = &mut *st;
    for g in st
        .access_tokens
        .values_mut()
        .chain(st.refresh_tokens.values_mut())
    {
        g.scopes
            .retain(|s| !state::scope_name(s).eq_ignore_ascii_case(&name));
    }
    st.revoked.push(name);
    StatusCode::NO_CONTENT
}

async fn expire_tokens(St(app): St<App>) -> StatusCode {
    let mut st = app.state.lock().expect("state");
    let now = Instant::now();
    for g in st.access_tokens.values_mut() {
        g.expires = now;
    }
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct UserCode {
    user_code: String,
}

fn decide_device(app: &App, code: &str, approve: bool) -> StatusCode {
    let mut st = app.state.lock().expect("state");
    match st
        .devices
        .values_mut()
        .find(|d| d.user_code.eq_ignore_ascii_case(code.trim()))
    {
        Some(d) => {
            d.approved = Some(approve);
            StatusCode::NO_CONTENT
        }
        None => StatusCode::NOT_FOUND,
    }
}

async fn device_approve(St(app): St<App>, Json(b): Json<UserCode>) -> StatusCode {
    decide_device(&app, &b.user_code, true)
}

async fn device_decline(St(app): St<App>, Json(b): Json<UserCode>) -> StatusCode {
    decide_device(&app, &b.user_code, false)
}
