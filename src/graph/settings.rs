//! What the network layer is given: where Entra and Graph are, which
//! application and tenant, how fast and how patiently to talk to them,
//! and which extra roots to trust. The faces build it (`config` merges
//! flags, environment and the config file into it); nothing here reads a
//! file of settings.

use std::path::{Path, PathBuf};

use url::Url;

use super::cloud::{ApiVersion, Cloud};

/// The public "Microsoft Graph Command Line Tools" client, which tenants
/// already consent to for `Connect-MgGraph`.
pub const DEFAULT_CLIENT_ID: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";
/// Any work or school account; Entra picks the home tenant at sign-in.
pub const DEFAULT_TENANT: &str = "organizations";
/// The documented sustained per-user rate for Teams writes, requests/s.
pub const DEFAULT_MAX_RATE: f64 = 0.8;
/// How long one HTTP request may take before it counts as timed out.
pub const DEFAULT_TIMEOUT_SECS: f64 = 30.0;

/// Extra trusted roots: the file they came from and its PEM text.
#[derive(Debug, Clone, PartialEq)]
pub struct CaCert {
    pub path: PathBuf,
    pub pem: Vec<u8>,
}

impl CaCert {
    /// Reads `path` and checks that it holds at least one certificate.
    pub fn read(path: &Path) -> Result<CaCert, String> {
        let pem =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        match reqwest::Certificate::from_pem_bundle(&pem) {
            Ok(c) if !c.is_empty() => Ok(CaCert {
                path: path.to_path_buf(),
                pem,
            }),
            _ => Err(format!(
                "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            )),
        }
    }
}

/// The resolved settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub cloud: Cloud,
    pub tenant: String,
    pub client_id: String,
    /// Graph root, ending in `/`.
    pub graph_url: Url,
    /// Entra authority root, ending in `/`.
    pub login_url: Url,
    pub api_version: ApiVersion,
    pub max_rate: f64,
    pub timeout: std::time::Duration,
    /// Extra trusted roots, besides the system's.
    pub ca_cert: Option<CaCert>,
}

/// A tenant is a GUID, a domain, or one of Entra's audience words.
pub fn check_tenant(t: &str) -> Result<(), String> {
    let ok_word = matches!(t, "organizations" | "common");
    let ok_guid = uuid::Uuid::parse_str(t).is_ok();
    let ok_domain = t.contains('.')
        && t.len() <= 253
        && t.split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if t == "consumers" {
        return Err(
            "personal Microsoft accounts cannot remove chat access; use \
                    organizations, a tenant GUID or a domain"
                .into(),
        );
    }
    if ok_word || ok_guid || ok_domain {
        Ok(())
    } else {
        Err(format!(
            "{t:?} is not a tenant GUID, a domain or \"organizations\""
        ))
    }
}
