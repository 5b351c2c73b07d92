//! `chatevict emulator`: the Graph and Entra stand-in, on its own.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::emulator::{Config, Emulator, Profile, Seed};

use super::exit;
use super::signin::{fail, runtime};

#[derive(Debug, clap::Args)]
pub struct EmulatorArgs {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Audit exports whose tenant, users and chats the emulator holds.
    #[arg(long = "seed-export", value_name = "FILE")]
    pub seed_export: Vec<PathBuf>,
    /// What goes wrong on purpose: none, flaky, throttled or hostile.
    #[arg(long, default_value = "none", value_parser = clap::value_parser!(String))]
    pub faults: String,
    /// Removal requests per second allowed per signed-in user (Teams:
    /// about 1); the per-chat and per-app limits scale with it.
    #[arg(long, default_value_t = 1.0, value_name = "R")]
    pub rate_limit: f64,
    /// Approve device codes and browser sign-ins by themselves after a
    /// few seconds.
    #[arg(long)]
    pub auto_approve: bool,
    /// Seconds before an auto-approved device code is approved.
    #[arg(
        long,
        default_value_t = 3.0,
        hide_short_help = true,
        value_name = "SECONDS"
    )]
    pub approve_after: f64,
    /// Device-code polling interval handed out, seconds.
    #[arg(long, default_value_t = 5, hide_short_help = true)]
    pub device_interval: u64,
    /// Access token lifetime, seconds.
    #[arg(long, default_value_t = 3600, hide_short_help = true)]
    pub token_lifetime: u64,
    /// An answer Microsoft does not document, NAME=STATUS (repeatable):
    /// repeat=204|404 (removing a user who already lost access),
    /// non-member=404|204 (a user who is not a member of the chat),
    /// outsider=404|400 (a user id of another tenant than the tenantId
    /// sent), meeting=204|400 (a meeting chat). The first is the default.
    #[arg(long = "assume", value_name = "NAME=STATUS")]
    pub assume: Vec<String>,
    /// Seed of the emulator's random choices (faults, codes), to replay a
    /// run.
    #[arg(long, hide_short_help = true)]
    pub seed: Option<u64>,
    /// Seconds an audit log query takes to succeed (a real tenant takes
    /// minutes).
    #[arg(long, default_value_t = 3.0, value_name = "SECONDS")]
    pub audit_delay: f64,
    /// Records per page of an audit log query's results.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub audit_page_size: usize,
    /// The most records an audit log query returns; past it the query
    /// says it hit its limit.
    #[arg(long, value_name = "N")]
    pub audit_record_limit: Option<usize>,
    /// Serve the audit log query API at beta only (v1.0 answers that the
    /// segment is not found), as some tenants did in 2025.
    #[arg(long)]
    pub audit_beta_only: bool,
    /// Serve HTTPS with a fresh self-signed certificate for localhost,
    /// 127.0.0.1 and ::1 (clients such as MSAL refuse an http authority).
    #[arg(long)]
    pub tls: bool,
    /// Where to write that certificate, PEM, for clients to trust
    /// (chatevict: --ca-cert FILE) [default: emulator-cert.pem in the
    /// state directory].
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub tls_cert: Option<PathBuf>,
}

pub fn run(args: &EmulatorArgs) -> u8 {
    let faults: Profile = match args.faults.parse() {
        Ok(p) => p,
        Err(e) => {
            crate::safe_eprintln!("chatevict: {e}");
            return exit::USAGE;
        }
    };
    if !(args.rate_limit.is_finite() && args.rate_limit > 0.0) {
        crate::safe_eprintln!(
            "chatevict: --rate-limit must be a positive number of requests per second"
        );
        return exit::USAGE;
    }
    let seed = if args.seed_export.is_empty() {
        Seed::empty()
    } else {
        match Seed::from_exports(&args.seed_export) {
            Ok(s) => s,
            Err(e) => return fail(&e),
        }
    };
    let mut assume = crate::emulator::Assumptions::default();
    for a in &args.assume {
        if let Err(e) = assume.set(a) {
            crate::safe_eprintln!("chatevict: --assume {e}");
            return exit::USAGE;
        }
    }
    let mut cfg = Config {
        assume,
        seed: args.seed,
        faults,
        rate_limit: args.rate_limit,
        auto_approve: args
            .auto_approve
            .then(|| Duration::from_secs_f64(args.approve_after.max(0.0))),
        device_interval: args.device_interval.max(1),
        access_token_lifetime: Duration::from_secs(args.token_lifetime.max(1)),
        audit_delay: Duration::from_secs_f64(args.audit_delay.clamp(0.0, 86_400.0)),
        audit_page_size: args.audit_page_size.max(1),
        audit_record_limit: args.audit_record_limit,
        audit_beta_only: args.audit_beta_only,
        ..Config::default()
    };
    if faults == Profile::Hostile {
        // Tokens that expire within seconds: refreshes mid-run.
        cfg.access_token_lifetime = cfg.access_token_lifetime.min(Duration::from_secs(4));
    }
    let tls = if args.tls {
        let tls = match crate::emulator::tls::Tls::self_signed() {
            Ok(t) => t,
            Err(e) => return fail(&e),
        };
        let path = match &args.tls_cert {
            Some(p) => p.clone(),
            None => match crate::config::Dirs::from_env() {
                Ok(d) => {
                    if let Err(e) = crate::files::create_private_dir(&d.state) {
                        return fail(&crate::files::named(&d.state, e));
                    }
                    d.state.join("emulator-cert.pem")
                }
                Err(e) => return fail(&e),
            },
        };
        // A certificate is public: readable by the clients that trust it.
        if let Err(e) = crate::files::write_atomic(&path, tls.cert_pem.as_bytes(), false) {
            return fail(&crate::files::named(&path, e));
        }
        Some((tls, path))
    } else {
        None
    };
    runtime().block_on(async {
        let (tenants, users, chats) = (seed.tenants.clone(), seed.users.len(), seed.chats.len());
        let (tls, cert_path) = tls.unzip();
        let emu = match Emulator::start_with(args.listen, cfg, seed, tls).await {
            Ok(e) => e,
            Err(e) => return fail(&format!("cannot listen on {}: {e}", args.listen)),
        };
        for t in &tenants {
            crate::safe_eprintln!(
                "tenant {} ({}), sign in as admin@{}",
                t.id,
                t.domains.join(", "),
                t.domains[0]
            );
        }
        crate::safe_eprintln!(
            "{users} users, {chats} chats; faults: {}; rate limit {} requests/s per user",
            args.faults,
            args.rate_limit
        );
        let a = assume;
        crate::safe_eprintln!(
            "assumed where Microsoft documents nothing: repeat={} non-member={} outsider={} meeting={}",
            a.repeat, a.non_member, a.outsider, a.meeting
        );
        match &cert_path {
            Some(p) => {
                crate::safe_eprintln!("certificate: {}", p.display());
                crate::safe_eprintln!(
                    "use: --login-url {url} --graph-url {url} --ca-cert {}",
                    p.display(),
                    url = emu.url()
                );
            }
            None => {
                crate::safe_eprintln!("use: --login-url {url} --graph-url {url}", url = emu.url())
            }
        }
        crate::safe_println!("listening on {}", emu.url().trim_end_matches('/'));
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let _ = tokio::signal::ctrl_c().await;
        emu.stop();
        exit::OK
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_help_names_every_assumption_and_its_choices() {
        let mut cmd = crate::cli::Cli::command();
        let help = cmd
            .find_subcommand_mut("emulator")
            .expect("the emulator command")
            .render_long_help()
            .to_string();
        for (name, [a, b], _) in crate::emulator::Assumptions::ALL {
            assert!(help.contains(&format!("{name}={a}|{b}")), "{name}: {help}");
        }
    }

    #[test]
    fn assumptions_take_only_their_choices() {
        let mut a = crate::emulator::Assumptions::default();
        a.set("repeat=404").unwrap();
        a.set("non_member=204").unwrap();
        assert_eq!((a.repeat, a.non_member), (404, 204));
        assert!(a.set("repeat=500").is_err());
        assert!(a.set("nonsense=1").is_err());
        assert!(a.set("repeat").is_err());
    }
}
