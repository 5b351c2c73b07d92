//! The ids that go into Graph URLs and bodies, checked before use, and
//! the URLs built from them with proper path-segment encoding.
//!
//! Ids come from audit exports, which anyone who can start a chat with
//! the tenant partly controls. A chat id with `/`, `?` or `#` would
//! change which endpoint a request reaches, so such ids are refused
//! rather than escaped into something else.

use url::Url;

use super::cloud::ApiVersion;

/// Why an id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error(
        "chat id {0:?} is not a Teams chat id (it must not be empty or contain '/', '?', '#', '\\', spaces or control characters)"
    )]
    Chat(String),
    #[error("user id {0:?} is not an Entra object id (a GUID)")]
    User(String),
    #[error("tenant id {0:?} is not a tenant GUID")]
    Tenant(String),
    #[error(
        "UPN {0:?} cannot be looked up (empty, or with spaces, '/', '\\' or control characters)"
    )]
    Upn(String),
}

fn bad_char(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c, '/' | '?' | '#' | '\\' | '%')
}

/// A Teams chat id (`19:…@thread.v2`, `19:…@unq.gbl.spaces`, …).
pub fn check_chat_id(s: &str) -> Result<&str, IdError> {
    if s.is_empty() || s.len() > 1024 || s.chars().any(bad_char) || s == "." || s == ".." {
        return Err(IdError::Chat(s.to_owned()));
    }
    Ok(s)
}

/// An Entra object id, canonicalised to lowercase.
pub fn check_user_id(s: &str) -> Result<String, IdError> {
    guid(s).ok_or_else(|| IdError::User(s.to_owned()))
}

/// A tenant id, canonicalised to lowercase.
pub fn check_tenant_id(s: &str) -> Result<String, IdError> {
    guid(s).ok_or_else(|| IdError::Tenant(s.to_owned()))
}

/// A UPN to look up with `GET /users/{upn}`.
pub fn check_upn(s: &str) -> Result<&str, IdError> {
    if s.is_empty()
        || s.len() > 1024
        || s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '\\'))
    {
        return Err(IdError::Upn(s.to_owned()));
    }
    Ok(s)
}

/// The hyphenated lowercase form of a GUID written in the usual 8-4-4-4-12
/// form (braces allowed), or `None`.
fn guid(s: &str) -> Option<String> {
    let t = s.trim_start_matches('{').trim_end_matches('}');
    if t.len() != 36 {
        return None;
    }
    uuid::Uuid::try_parse(t)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

/// Builds Graph URLs under one root and API version.
#[derive(Debug, Clone)]
pub struct GraphUrls {
    root: Url,
}

impl GraphUrls {
    /// `graph` is the Graph root (`https://graph.microsoft.com/`).
    pub fn new(graph: &Url, version: ApiVersion) -> GraphUrls {
        let mut root = graph.clone();
        root.path_segments_mut()
            .expect("an http URL has path segments")
            .pop_if_empty()
            .push(version.as_str());
        GraphUrls { root }
    }

    fn with(&self, segments: &[&str]) -> Url {
        let mut u = self.root.clone();
        u.path_segments_mut()
            .expect("an http URL has path segments")
            .extend(segments);
        u
    }

    /// `POST /chats/{chatId}/removeAllAccessForUser`
    pub fn remove_all_access(&self, chat_id: &str) -> Url {
        self.with(&["chats", chat_id, "removeAllAccessForUser"])
    }

    /// `GET /chats/{chatId}`
    pub fn chat(&self, chat_id: &str) -> Url {
        self.with(&["chats", chat_id])
    }

    /// `GET /me`
    pub fn me(&self) -> Url {
        self.with(&["me"])
    }

    /// `GET /users/{upn}?$select=id`. A UPN that begins with `$` is
    /// written `/users('$…')`, as Graph documents, since `/users/$…` is
    /// read as a system query segment; `#` (in guest UPNs) and other
    /// reserved characters are percent-encoded by the segment encoder.
    pub fn user_id_by_upn(&self, upn: &str) -> Url {
        let mut u = if upn.starts_with('$') {
            let quoted = format!("users('{}')", upn.replace('\'', "''"));
            self.with(&[quoted.as_str()])
        } else {
            self.with(&["users", upn])
        };
        u.set_query(Some("$select=id"));
        u
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> GraphUrls {
        GraphUrls::new(
            &Url::parse("https://graph.microsoft.com/").unwrap(),
            ApiVersion::V1,
        )
    }

    #[test]
    fn chat_ids_that_would_change_the_path_are_refused() {
        for ok in [
            "19:meeting_abc@thread.v2",
            "19:6b4f2c1e-0000-4000-8000-000000000001_0d6c5a1b-0000-4000-8000-000000000002@unq.gbl.spaces",
        ] {
            assert_eq!(check_chat_id(ok), Ok(ok));
        }
        for bad in [
            "",
            "19:a/b@thread.v2",
            "19:a?x=1",
            "19:a#frag",
            "19:a b",
            "19:a\u{1b}[2J",
            "..",
            "19:a\\b",
            "19:%2e%2e",
        ] {
            assert!(check_chat_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn guids_are_canonical() {
        assert_eq!(
            check_user_id("{6B4F2C1E-0000-4000-8000-000000000001}").unwrap(),
            "6b4f2c1e-0000-4000-8000-000000000001"
        );
        assert!(check_user_id("6b4f2c1e000040008000000000000001").is_err());
        assert!(check_tenant_id("contoso.com").is_err());
    }

    #[test]
    fn removal_url_encodes_the_chat_id_as_one_segment() {
        let u = urls().remove_all_access("19:abc@thread.v2");
        assert_eq!(
            u.as_str(),
            "https://graph.microsoft.com/v1.0/chats/19:abc@thread.v2/removeAllAccessForUser"
        );
        let beta = GraphUrls::new(
            &Url::parse("http://127.0.0.1:8080/g/").unwrap(),
            ApiVersion::Beta,
        );
        assert_eq!(
            beta.chat("19:x@thread.v2").as_str(),
            "http://127.0.0.1:8080/g/beta/chats/19:x@thread.v2"
        );
    }

    #[test]
    fn upn_lookups_escape_hash_and_dollar() {
        assert_eq!(
            urls().user_id_by_upn("alex@contoso.com").as_str(),
            "https://graph.microsoft.com/v1.0/users/alex@contoso.com?$select=id"
        );
        assert_eq!(
            urls()
                .user_id_by_upn("sam_fabrikam.com#EXT#@contoso.onmicrosoft.com")
                .as_str(),
            "https://graph.microsoft.com/v1.0/users/sam_fabrikam.com%23EXT%23@contoso.onmicrosoft.com?$select=id"
        );
        assert_eq!(
            urls().user_id_by_upn("$adele'o@contoso.com").as_str(),
            "https://graph.microsoft.com/v1.0/users('$adele''o@contoso.com')?$select=id"
        );
    }
}
