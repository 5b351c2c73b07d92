//! Which Microsoft cloud a tenant lives in, and where its sign-in and
//! Graph endpoints are.
//!
//! `removeAllAccessForUser` exists in the global service and in the two
//! US Government clouds (L4, GCC High; L5, DoD); the China cloud operated
//! by 21Vianet does not offer it, so chatevict refuses it up front rather
//! than failing on the first request.

use std::fmt;
use std::str::FromStr;

use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    /// The global service (login.microsoftonline.com, graph.microsoft.com).
    Global,
    /// US Government L4, GCC High (login.microsoftonline.us, graph.microsoft.us).
    Usgov,
    /// US Government L5, DoD (login.microsoftonline.us, dod-graph.microsoft.us).
    Dod,
}

impl Cloud {
    pub const NAMES: &'static str = "global, usgov, dod";

    /// The Entra ID authority host.
    pub fn login_base(self) -> Url {
        let s = match self {
            Cloud::Global => "https://login.microsoftonline.com/",
            Cloud::Usgov | Cloud::Dod => "https://login.microsoftonline.us/",
        };
        Url::parse(s).expect("static URL")
    }

    /// The Microsoft Graph root, which is also the resource that scopes
    /// are qualified with.
    pub fn graph_base(self) -> Url {
        let s = match self {
            Cloud::Global => "https://graph.microsoft.com/",
            Cloud::Usgov => "https://graph.microsoft.us/",
            Cloud::Dod => "https://dod-graph.microsoft.us/",
        };
        Url::parse(s).expect("static URL")
    }

    /// The delegated scopes chatevict asks for, qualified with this
    /// cloud's Graph resource (Entra needs the resource to issue a token
    /// for the right audience).
    pub fn scopes(self) -> Vec<String> {
        let host = self.graph_base();
        let host = host.as_str().trim_end_matches('/');
        let mut out: Vec<String> = GRAPH_SCOPES.iter().map(|s| format!("{host}/{s}")).collect();
        out.extend(OIDC_SCOPES.iter().map(|s| s.to_string()));
        out
    }
}

/// The Graph permissions: removal itself, and resolving a UPN to an id.
pub const GRAPH_SCOPES: [&str; 2] = ["Chat.ReadWrite.All", "User.ReadBasic.All"];
/// A refresh token, and an id token that names the account and tenant.
pub const OIDC_SCOPES: [&str; 3] = ["offline_access", "openid", "profile"];

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cloud::Global => "global",
            Cloud::Usgov => "usgov",
            Cloud::Dod => "dod",
        })
    }
}

impl FromStr for Cloud {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "global" | "public" | "azurecloud" => Ok(Cloud::Global),
            "usgov" | "gcchigh" | "usgovernment" | "azureusgovernment" | "l4" => Ok(Cloud::Usgov),
            "dod" | "usgovdod" | "l5" => Ok(Cloud::Dod),
            "china" | "cn" | "21vianet" | "azurechinacloud" => {
                Err("the China cloud (operated by 21Vianet) does not offer \
                 removeAllAccessForUser, so chatevict cannot remove chat access there"
                    .into())
            }
            other => Err(format!(
                "unknown cloud {other:?}; expected one of {}",
                Cloud::NAMES
            )),
        }
    }
}

/// The Graph API version in request paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ApiVersion {
    #[default]
    #[serde(rename = "v1.0")]
    V1,
    #[serde(rename = "beta")]
    Beta,
}

impl ApiVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1.0",
            ApiVersion::Beta => "beta",
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "v1.0" | "v1" | "1.0" => Ok(ApiVersion::V1),
            "beta" => Ok(ApiVersion::Beta),
            other => Err(format!(
                "unknown API version {other:?}; expected v1.0 or beta"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_is_refused_with_the_reason() {
        let e = "china".parse::<Cloud>().unwrap_err();
        assert!(e.contains("does not offer removeAllAccessForUser"), "{e}");
    }

    #[test]
    fn scopes_are_qualified_with_the_clouds_graph_host() {
        let s = Cloud::Dod.scopes();
        assert_eq!(s[0], "https://dod-graph.microsoft.us/Chat.ReadWrite.All");
        assert_eq!(s[1], "https://dod-graph.microsoft.us/User.ReadBasic.All");
        assert_eq!(&s[2..], ["offline_access", "openid", "profile"]);
        assert_eq!(
            Cloud::Global.scopes()[0],
            "https://graph.microsoft.com/Chat.ReadWrite.All"
        );
    }

    #[test]
    fn names_round_trip() {
        for c in [Cloud::Global, Cloud::Usgov, Cloud::Dod] {
            assert_eq!(c.to_string().parse::<Cloud>(), Ok(c));
        }
        assert_eq!("GCCHigh".parse::<Cloud>(), Ok(Cloud::Usgov));
        assert!("mars".parse::<Cloud>().is_err());
    }
}
