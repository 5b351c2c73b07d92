//! What the commands that talk to Entra and Graph share: settings, the
//! runtime, the sign-in commands (`login`, `logout`, `whoami`).

use std::io::{BufRead, Write};

use crate::config::{Dirs, GraphArgs, Settings};
use crate::graph::auth::{Auth, AuthError, Session};
use crate::graph::cache::TokenCache;
use crate::graph::client::Graph;
use crate::graph::http::{Http, new_request_id};
use crate::graph::ids::GraphUrls;
use crate::graph::loopback::Loopback;
use crate::sanitize::for_terminal;

use super::exit;

/// Settings, HTTP client and sign-in for one command.
pub struct Context {
    pub dirs: Dirs,
    pub settings: Settings,
    pub http: Http,
    pub auth: Auth,
}

impl Context {
    pub fn new(args: &GraphArgs, max_rate: Option<f64>) -> Result<Context, u8> {
        let dirs = Dirs::from_env().map_err(|e| fail(&e))?;
        let settings = Settings::resolve(args, max_rate, &dirs).map_err(|e| {
            crate::safe_eprintln!("chatevict: {e}");
            exit::USAGE
        })?;
        let http = Http::for_settings(&settings).map_err(|e| fail(&e))?;
        let auth = Auth::new(&settings, http.clone(), TokenCache::new(dirs.token_cache()));
        Ok(Context {
            dirs,
            settings,
            http,
            auth,
        })
    }

    pub fn graph(&self) -> Graph {
        Graph::new(
            self.http.clone(),
            GraphUrls::new(&self.settings.graph_url, self.settings.api_version),
        )
    }
}

/// Prints an error; returns the generic failure code.
pub fn fail(e: &dyn std::fmt::Display) -> u8 {
    crate::safe_eprintln!("chatevict: {e}");
    exit::FAILED
}

/// What the command line adds to a failure that signing in again mends.
pub const SIGN_IN_REMEDY: &str = "Sign in with `chatevict login`.";

/// A sign-in failure, and the command that mends it when there is one.
pub fn auth_fail(e: &AuthError) -> u8 {
    if e.needs_login() {
        crate::safe_eprintln!("chatevict: {e}. {SIGN_IN_REMEDY}");
        exit::FAILED
    } else {
        fail(e)
    }
}

/// A runtime for one command.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub graph: GraphArgs,
    /// Sign in with a code entered on any device's browser (the default).
    #[arg(long, conflicts_with = "browser")]
    pub device_code: bool,
    /// Sign in with a browser that comes back to a port on this machine
    /// (authorization code with PKCE). Over SSH, forward the port.
    #[arg(long)]
    pub browser: bool,
    /// The loopback port for --browser (default: any free port).
    #[arg(long, default_value_t = 0, requires = "browser")]
    pub port: u16,
}

pub fn login(args: &LoginArgs) -> u8 {
    let ctx = match Context::new(&args.graph, None) {
        Ok(c) => c,
        Err(code) => return code,
    };
    runtime().block_on(async {
        let signed_in = tokio::select! {
            r = interactive(&ctx.auth, args.browser, args.port) => r,
            _ = tokio::signal::ctrl_c() => {
                crate::safe_eprintln!("\nchatevict: sign-in cancelled");
                return exit::CANCELLED;
            }
        };
        match signed_in {
            Ok(session) => {
                let a = session.account().await;
                crate::safe_eprintln!(
                    "Signed in as {} (tenant {}). The session is kept in {}.",
                    for_terminal(&a.username),
                    for_terminal(&a.tenant_id),
                    ctx.auth.cache().path().display()
                );
                exit::OK
            }
            Err(e) => fail(&e),
        }
    })
}

/// Signs in with `auth`'s permissions: a device code, or `browser`
/// (authorization code with PKCE on a loopback `port`).
pub async fn interactive(auth: &Auth, browser: bool, port: u16) -> Result<Session, AuthError> {
    if browser {
        return in_browser(auth, port).await;
    }
    let dc = auth.start_device_code().await?;
    crate::safe_eprintln!("{}", for_terminal(&dc.message));
    crate::safe_eprintln!(
        "(The code expires in {} minutes; Ctrl-C cancels.)",
        dc.expires_in.as_secs().div_ceil(60)
    );
    auth.finish_device_code(&dc).await
}

async fn in_browser(auth: &Auth, port: u16) -> Result<Session, AuthError> {
    let mut lb = Loopback::bind(port)
        .await
        .map_err(|e| AuthError::Browser(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    let flow = auth.browser_start(&lb.redirect_uri())?;
    let p = lb.port;
    crate::safe_eprintln!("Open this address in a browser:\n\n  {}\n", flow.url);
    crate::safe_eprintln!(
        "The browser comes back to http://localhost:{p}/. If it runs on another machine, \
         forward the port first:\n\n  ssh -L {p}:localhost:{p} <this host>\n\n\
         or paste here the address the browser ends on (even if it shows an error page):"
    );
    // Whichever comes first: the browser, or a pasted address.
    let (tx, mut pasted) = tokio::sync::mpsc::channel::<String>(1);
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines().map_while(Result::ok) {
            if line.contains("code=") || line.contains("error=") {
                let _ = tx.blocking_send(line);
                break;
            }
            eprint!("That is not the address with code= in it; paste it again: ");
            let _ = std::io::stderr().flush();
        }
    });
    let returned = tokio::select! {
        Some(u) = lb.next() => u,
        Some(u) = pasted.recv() => u,
        else => return Err(AuthError::Browser("no address came back".into())),
    };
    auth.browser_finish(flow, &returned).await
}

pub fn logout(args: &GraphArgs) -> u8 {
    let ctx = match Context::new(args, None) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match ctx.auth.cache().delete() {
        Ok(true) => {
            crate::safe_eprintln!("Signed out: deleted {}.", ctx.auth.cache().path().display());
            exit::OK
        }
        Ok(false) => {
            crate::safe_eprintln!("Not signed in (no saved session).");
            exit::OK
        }
        Err(e) => fail(&e),
    }
}

pub fn whoami(args: &GraphArgs) -> u8 {
    let ctx = match Context::new(args, None) {
        Ok(c) => c,
        Err(code) => return code,
    };
    runtime().block_on(async {
        let session = match ctx.auth.resume().await {
            Ok(s) => s,
            Err(e) => return auth_fail(&e),
        };
        let a = session.account().await;
        let bearer = match session.bearer().await {
            Ok(b) => b,
            Err(e) => return auth_fail(&e),
        };
        // Ask Graph too: the token works, not just the cache.
        let me = ctx.graph().me(&bearer, &new_request_id()).await;
        let checked = match &me {
            Ok(r) if r.is_success() => "the token works with Graph".to_owned(),
            Ok(r) => match r.error() {
                Some(e) => format!("Graph refused the token: {} {}", e.code, e.message),
                None => format!("Graph answered HTTP {}", r.status),
            },
            Err(e) => format!("Graph could not be reached: {e}"),
        };
        crate::safe_println!("account:   {}", for_terminal(&a.username));
        if let Some(n) = &a.name {
            crate::safe_println!("name:      {}", for_terminal(n));
        }
        crate::safe_println!("tenant:    {}", for_terminal(&a.tenant_id));
        if let Some(o) = &a.object_id {
            crate::safe_println!("object id: {}", for_terminal(o));
        }
        crate::safe_println!("cloud:     {}", ctx.settings.cloud);
        crate::safe_println!("graph:     {}", ctx.settings.graph_url);
        crate::safe_println!("session:   {}", ctx.auth.cache().path().display());
        crate::safe_println!("check:     {}", for_terminal(&checked));
        match me {
            Ok(r) if r.is_success() => exit::OK,
            _ => exit::FAILED,
        }
    })
}
