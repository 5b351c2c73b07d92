//! Settings for talking to Entra ID and Graph, and where chatevict keeps
//! its files.
//!
//! Precedence: command-line flags, then `CHATEVICT_*` environment
//! variables (both handled by clap, which lists the variables in
//! `--help`), then the TOML config file, then defaults. The file lives in
//! the XDG config directory (`$XDG_CONFIG_HOME/chatevict/config.toml`);
//! state (the token cache, journals, logs) in the XDG state directory
//! (`$XDG_STATE_HOME/chatevict/`).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::Url;

use crate::graph::cloud::{ApiVersion, Cloud};
// The network layer owns what it is given; this module only merges the
// flags, the environment and the file into it (graph knows no config).
use crate::graph::settings::check_tenant;
pub use crate::graph::settings::{
    CaCert, DEFAULT_CLIENT_ID, DEFAULT_MAX_RATE, DEFAULT_TENANT, DEFAULT_TIMEOUT_SECS, Settings,
};

/// Where chatevict's files live.
#[derive(Debug, Clone)]
pub struct Dirs {
    pub config: PathBuf,
    pub state: PathBuf,
}

impl Dirs {
    /// The XDG directories (honouring `XDG_CONFIG_HOME` and
    /// `XDG_STATE_HOME`), or their platform equivalents.
    pub fn from_env() -> Result<Dirs, ConfigError> {
        let p = directories::ProjectDirs::from("", "", "chatevict").ok_or(ConfigError::NoHome)?;
        let state = p
            .state_dir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| p.data_local_dir().to_path_buf());
        Ok(Dirs {
            config: p.config_dir().to_path_buf(),
            state,
        })
    }

    pub fn config_file(&self) -> PathBuf {
        self.config.join("config.toml")
    }

    pub fn token_cache(&self) -> PathBuf {
        self.state.join("token-cache.json")
    }

    pub fn journals(&self) -> PathBuf {
        self.state.join("journals")
    }

    pub fn logs(&self) -> PathBuf {
        self.state.join("logs")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot tell where your home directory is (set HOME or XDG_CONFIG_HOME)")]
    NoHome,
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{what}: {message}")]
    Value { what: String, message: String },
}

/// What the config file may say. Every key is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct FileSettings {
    pub cloud: Option<String>,
    pub tenant: Option<String>,
    pub client_id: Option<String>,
    pub graph_url: Option<String>,
    pub login_url: Option<String>,
    pub api_version: Option<String>,
    pub max_rate: Option<f64>,
    pub timeout: Option<f64>,
    /// A PEM file of extra trusted root certificates.
    pub ca_cert: Option<PathBuf>,
    /// The application: key bindings (`action = "key"` or a list).
    #[serde(default)]
    pub keys: std::collections::HashMap<String, OneOrMany>,
    /// The application: colours by role (`external = "yellow"`).
    #[serde(default)]
    pub colors: std::collections::HashMap<String, String>,
    /// The application: ASCII borders and marks.
    pub ascii: Option<bool>,
    /// The application: no colours (as `NO_COLOR`).
    pub no_color: Option<bool>,
    /// The application: `false` leaves the mouse to the terminal (its own
    /// selection and copying), as `--no-mouse`.
    pub mouse: Option<bool>,
}

/// One value or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

impl FileSettings {
    /// Reads `path`; a missing file is an empty one unless `required`.
    pub fn read(path: &Path, required: bool) -> Result<FileSettings, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(FileSettings::default());
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.message().to_owned(),
        })
    }
}

/// Settings given on the command line or in the environment (clap merges
/// the two); `None` falls through to the file and the defaults.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct GraphArgs {
    /// Microsoft cloud: global, usgov (GCC High) or dod.
    #[arg(long, env = "CHATEVICT_CLOUD", value_name = "CLOUD")]
    pub cloud: Option<String>,
    /// Tenant to sign in to: a GUID or a domain [default: organizations].
    #[arg(long, env = "CHATEVICT_TENANT", value_name = "TENANT")]
    pub tenant: Option<String>,
    /// Application (client) id of a public client [default: Microsoft
    /// Graph Command Line Tools].
    #[arg(long, env = "CHATEVICT_CLIENT_ID", value_name = "GUID")]
    pub client_id: Option<String>,
    /// Graph root URL instead of the cloud's (for the emulator).
    #[arg(long, env = "CHATEVICT_GRAPH_URL", value_name = "URL")]
    pub graph_url: Option<String>,
    /// Entra ID authority URL instead of the cloud's (for the emulator).
    #[arg(long, env = "CHATEVICT_LOGIN_URL", value_name = "URL")]
    pub login_url: Option<String>,
    /// Graph API version: v1.0 or beta.
    #[arg(long, env = "CHATEVICT_API_VERSION", value_name = "VERSION")]
    pub api_version: Option<String>,
    /// Config file [default: $XDG_CONFIG_HOME/chatevict/config.toml].
    #[arg(long, env = "CHATEVICT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Seconds before one HTTP request counts as timed out.
    #[arg(
        long,
        env = "CHATEVICT_TIMEOUT",
        value_name = "SECONDS",
        hide_short_help = true
    )]
    pub timeout: Option<f64>,
    /// PEM file of extra root certificates to trust, besides the system's
    /// (a TLS-inspecting proxy's, or the emulator's `--tls` certificate).
    #[arg(long, env = "CHATEVICT_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
}

/// How the faces build the network layer's [`Settings`]: flags and
/// environment over the config file over the defaults.
impl Settings {
    /// Resolves flags/environment over the file over the defaults.
    /// `max_rate` is the command's own flag, when it has one.
    pub fn resolve(
        args: &GraphArgs,
        max_rate: Option<f64>,
        dirs: &Dirs,
    ) -> Result<Settings, ConfigError> {
        let file = match &args.config {
            Some(p) => FileSettings::read(p, true)?,
            None => FileSettings::read(&dirs.config_file(), false)?,
        };
        Settings::merge(args, max_rate, &file)
    }

    pub fn merge(
        args: &GraphArgs,
        max_rate: Option<f64>,
        file: &FileSettings,
    ) -> Result<Settings, ConfigError> {
        fn pick<'a>(a: &'a Option<String>, f: &'a Option<String>) -> Option<&'a str> {
            a.as_deref().or(f.as_deref()).map(str::trim)
        }
        let value = |what: &str, message: String| ConfigError::Value {
            what: what.to_owned(),
            message,
        };
        let cloud = match pick(&args.cloud, &file.cloud) {
            Some(c) => c.parse::<Cloud>().map_err(|m| value("cloud", m))?,
            None => Cloud::Global,
        };
        let tenant = pick(&args.tenant, &file.tenant)
            .unwrap_or(DEFAULT_TENANT)
            .to_owned();
        check_tenant(&tenant).map_err(|m| value("tenant", m))?;
        let client_id = pick(&args.client_id, &file.client_id)
            .unwrap_or(DEFAULT_CLIENT_ID)
            .to_ascii_lowercase();
        if uuid::Uuid::parse_str(&client_id).is_err() {
            return Err(value(
                "client id",
                format!(
                    "{client_id:?} is not a GUID (an application id looks like {DEFAULT_CLIENT_ID})"
                ),
            ));
        }
        let url = |what: &str, s: Option<&str>, default: Url| -> Result<Url, ConfigError> {
            let Some(s) = s else { return Ok(default) };
            let mut u = Url::parse(s).map_err(|e| value(what, format!("{s:?}: {e}")))?;
            if !matches!(u.scheme(), "http" | "https") {
                return Err(value(what, format!("{s:?} is not an http(s) URL")));
            }
            if !u.path().ends_with('/') {
                let p = format!("{}/", u.path());
                u.set_path(&p);
            }
            Ok(u)
        };
        let graph_url = url(
            "graph URL",
            pick(&args.graph_url, &file.graph_url),
            cloud.graph_base(),
        )?;
        let login_url = url(
            "login URL",
            pick(&args.login_url, &file.login_url),
            cloud.login_base(),
        )?;
        let api_version = match pick(&args.api_version, &file.api_version) {
            Some(v) => v.parse().map_err(|m| value("API version", m))?,
            None => ApiVersion::V1,
        };
        let max_rate = max_rate.or(file.max_rate).unwrap_or(DEFAULT_MAX_RATE);
        if !(max_rate.is_finite() && max_rate > 0.0 && max_rate <= 100.0) {
            return Err(value(
                "max rate",
                format!("{max_rate} is not a rate between 0 and 100 requests per second"),
            ));
        }
        let timeout = args
            .timeout
            .or(file.timeout)
            .unwrap_or(DEFAULT_TIMEOUT_SECS);
        if !(timeout.is_finite() && timeout > 0.0 && timeout <= 600.0) {
            return Err(value(
                "timeout",
                format!("{timeout} is not a number of seconds between 0 and 600"),
            ));
        }
        let ca_cert = match args.ca_cert.as_ref().or(file.ca_cert.as_ref()) {
            Some(p) => Some(CaCert::read(p).map_err(|m| value("CA certificate", m))?),
            None => None,
        };
        Ok(Settings {
            cloud,
            tenant,
            client_id,
            graph_url,
            login_url,
            api_version,
            max_rate,
            timeout: std::time::Duration::from_secs_f64(timeout),
            ca_cert,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> GraphArgs {
        GraphArgs::default()
    }

    #[test]
    fn defaults() {
        let s = Settings::merge(&args(), None, &FileSettings::default()).unwrap();
        assert_eq!(s.cloud, Cloud::Global);
        assert_eq!(s.tenant, "organizations");
        assert_eq!(s.client_id, DEFAULT_CLIENT_ID);
        assert_eq!(s.graph_url.as_str(), "https://graph.microsoft.com/");
        assert_eq!(s.login_url.as_str(), "https://login.microsoftonline.com/");
        assert_eq!(s.api_version, ApiVersion::V1);
        assert_eq!(s.max_rate, DEFAULT_MAX_RATE);
    }

    #[test]
    fn flags_beat_the_file_which_beats_defaults() {
        let file: FileSettings = toml::from_str(
            "cloud = \"usgov\"\ntenant = \"contoso.com\"\nmax_rate = 0.5\napi_version = \"beta\"\n",
        )
        .unwrap();
        let s = Settings::merge(&args(), None, &file).unwrap();
        assert_eq!(s.cloud, Cloud::Usgov);
        assert_eq!(s.graph_url.as_str(), "https://graph.microsoft.us/");
        assert_eq!(s.tenant, "contoso.com");
        assert_eq!(s.max_rate, 0.5);
        assert_eq!(s.api_version, ApiVersion::Beta);
        let a = GraphArgs {
            cloud: Some("dod".into()),
            tenant: Some("fabrikam.com".into()),
            graph_url: Some("http://127.0.0.1:9/x".into()),
            ..args()
        };
        let s = Settings::merge(&a, Some(2.0), &file).unwrap();
        assert_eq!(s.cloud, Cloud::Dod);
        assert_eq!(s.login_url.as_str(), "https://login.microsoftonline.us/");
        assert_eq!(s.graph_url.as_str(), "http://127.0.0.1:9/x/");
        assert_eq!(s.tenant, "fabrikam.com");
        assert_eq!(s.max_rate, 2.0);
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        let bad = |a: GraphArgs| {
            Settings::merge(&a, None, &FileSettings::default())
                .unwrap_err()
                .to_string()
        };
        assert!(
            bad(GraphArgs {
                cloud: Some("china".into()),
                ..args()
            })
            .contains("21Vianet")
        );
        assert!(
            bad(GraphArgs {
                tenant: Some("a b".into()),
                ..args()
            })
            .contains("tenant")
        );
        assert!(
            bad(GraphArgs {
                tenant: Some("consumers".into()),
                ..args()
            })
            .contains("personal")
        );
        assert!(
            bad(GraphArgs {
                client_id: Some("nope".into()),
                ..args()
            })
            .contains("GUID")
        );
        assert!(
            bad(GraphArgs {
                graph_url: Some("ftp://x/".into()),
                ..args()
            })
            .contains("http")
        );
        let e = Settings::merge(&args(), Some(0.0), &FileSettings::default()).unwrap_err();
        assert!(e.to_string().contains("max rate"));
    }
}
