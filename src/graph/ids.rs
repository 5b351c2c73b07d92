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
        "chat id {0:?} is not a Teams chat id (19:…@thread.v2, 19:…@unq.gbl.spaces, \
         19:meeting_…@thread.v2 or 19:…@thread.skype, in letters, digits and -_.=+~!)"
    )]
    Chat(String),
    #[error("user id {0:?} is not an Entra object id (a GUID of 36 characters, no braces)")]
    User(String),
    #[error("tenant id {0:?} is not a tenant id (a GUID of 36 characters, no braces)")]
    Tenant(String),
    #[error(
        "UPN {0:?} is not a user principal name (name@domain, without spaces, '/', '\\', \
         control or invisible characters)"
    )]
    Upn(String),
}

/// The endings of the thread ids Teams gives chats (a channel's
/// `@thread.tacv2` is no chat).
const CHAT_SUFFIXES: [&str; 3] = ["@thread.v2", "@unq.gbl.spaces", "@thread.skype"];

/// A Teams chat id of one of the shapes Teams issues: `19:`, then
/// letters, digits and `-_.=+~!` (a 1:1 chat's two object ids, a group
/// chat's hex, a meeting's `meeting_` and base64), then the thread's
/// ending. Nothing else reaches a URL: an id with `/`, `?`, `#` or `%`
/// would change which endpoint a request reaches.
pub fn check_chat_id(s: &str) -> Result<&str, IdError> {
    let refuse = || IdError::Chat(s.to_owned());
    let body = s.strip_prefix("19:").ok_or_else(refuse)?;
    let suffix = CHAT_SUFFIXES
        .iter()
        .find(|x| body.ends_with(*x))
        .ok_or_else(refuse)?;
    let middle = &body[..body.len() - suffix.len()];
    let ok =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=' | '+' | '~' | '!');
    if middle.is_empty() || s.len() > 512 || !middle.chars().all(ok) || middle.starts_with('.') {
        return Err(refuse());
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

/// A UPN: to look up with `GET /users/{upn}`, and the key of a target in
/// the journal. `name@domain`, printable, without what would change a URL
/// path or hide characters from the person reading it.
pub fn check_upn(s: &str) -> Result<&str, IdError> {
    let refuse = || IdError::Upn(s.to_owned());
    let (name, domain) = s.rsplit_once('@').ok_or_else(refuse)?;
    if name.is_empty()
        || domain.is_empty()
        || s.len() > 1024
        || s.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || crate::sanitize::is_unsafe(c)
                || matches!(c, '/' | '\\' | '?' | '%')
        })
    {
        return Err(refuse());
    }
    Ok(s)
}

/// The lowercase form of a GUID written as 36 characters, 8-4-4-4-12 hex
/// digits, or `None` (braces, URNs, 32 digits without hyphens and spaces
/// are all refused: a plan holds the canonical form).
fn guid(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let shape = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    shape.then(|| s.to_ascii_lowercase())
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

    /// `GET /chats/{chatId}/members`
    pub fn chat_members(&self, chat_id: &str) -> Url {
        self.with(&["chats", chat_id, "members"])
    }

    /// `GET /me`
    pub fn me(&self) -> Url {
        self.with(&["me"])
    }

    /// `POST /security/auditLog/queries` (and `GET`, the list).
    pub fn audit_queries(&self) -> Url {
        self.with(&["security", "auditLog", "queries"])
    }

    /// `GET /security/auditLog/queries/{id}`
    pub fn audit_query(&self, id: &str) -> Url {
        self.with(&["security", "auditLog", "queries", id])
    }

    /// `GET /security/auditLog/queries/{id}/records`, the first page.
    pub fn audit_records(&self, id: &str) -> Url {
        self.with(&["security", "auditLog", "queries", id, "records"])
    }

    /// Is `u` a URL of this Graph (scheme, host and port)? A next page
    /// elsewhere is not followed: the token would go with it.
    pub fn same_origin(&self, u: &Url) -> bool {
        u.scheme() == self.root.scheme()
            && u.host_str() == self.root.host_str()
            && u.port_or_known_default() == self.root.port_or_known_default()
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

    #[test]
    fn a_next_page_is_followed_only_on_the_graph_the_token_is_for() {
        let g = GraphUrls::new(
            &url::Url::parse("https://graph.microsoft.com/").unwrap(),
            ApiVersion::V1,
        );
        let ok = |s: &str| g.same_origin(&url::Url::parse(s).unwrap());
        assert!(ok(
            "https://graph.microsoft.com/v1.0/security/auditLog/queries/q/records?$skiptoken=2"
        ));
        assert!(ok("https://graph.microsoft.com:443/beta/x"));
        for elsewhere in [
            "http://graph.microsoft.com/v1.0/x",
            "https://graph.microsoft.com.evil.example/v1.0/x",
            "https://graph.microsoft.com:8443/v1.0/x",
            "https://evil.example/v1.0/security/auditLog/queries/q/records",
        ] {
            assert!(!ok(elsewhere), "{elsewhere}");
        }
    }
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
            "19:meeting_MjdhNjM4YzUtYzExZi00OTFkLTkzMTAtNmY0M2JhZWE5ZjY2@thread.v2",
            "19:6b4f2c1e-0000-4000-8000-000000000001_0d6c5a1b-0000-4000-8000-000000000002@unq.gbl.spaces",
            "19:561082c0f3f847a58069deb8eb300807@thread.v2",
            "19:abc123@thread.skype",
        ] {
            assert_eq!(check_chat_id(ok), Ok(ok));
        }
        for bad in [
            "",
            "not-a-chat",
            "19:@thread.v2",
            "19:abc",
            "19:abc@thread.tacv2",
            "19:abc@thread.v2x",
            "20:abc@thread.v2",
            "19:a/b@thread.v2",
            "19:a?x=1@thread.v2",
            "19:a#frag@thread.v2",
            "19:a b@thread.v2",
            "19:a\u{1b}[2J@thread.v2",
            "19:a\u{202e}b@thread.v2",
            "19:ab\u{200b}@thread.v2",
            "19:..@thread.v2",
            "19:a\\b@thread.v2",
            "19:%2e%2e@thread.v2",
            "19:a@b@thread.v2",
            "19:é@thread.v2",
            " 19:abc@thread.v2",
            "19:abc@thread.v2 ",
            "19:ABC@THREAD.V2",
        ] {
            assert!(check_chat_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn guids_are_canonical() {
        assert_eq!(
            check_user_id("6B4F2C1E-0000-4000-8000-000000000001").unwrap(),
            "6b4f2c1e-0000-4000-8000-000000000001"
        );
        for bad in [
            "{6b4f2c1e-0000-4000-8000-000000000001}",
            "6b4f2c1e000040008000000000000001",
            "urn:uuid:6b4f2c1e-0000-4000-8000-000000000001",
            " 6b4f2c1e-0000-4000-8000-000000000001",
            "6b4f2c1e-0000-4000-8000-00000000000g",
            "6b4f2c1e-0000-4000-8000_000000000001",
            "6b4f2c1e-0000-4000-8000-0000000000011",
            "",
        ] {
            assert!(check_user_id(bad).is_err(), "{bad:?}");
            assert!(check_tenant_id(bad).is_err(), "{bad:?}");
        }
        assert!(check_tenant_id("contoso.com").is_err());
    }

    #[test]
    fn upns_must_be_plain_addresses() {
        for ok in [
            "alex@contoso.com",
            "sam_fabrikam.com#EXT#@contoso.onmicrosoft.com",
            "$adele'o@contoso.com",
        ] {
            assert_eq!(check_upn(ok), Ok(ok));
        }
        for bad in [
            "",
            "alex",
            "@contoso.com",
            "alex@",
            "al ex@contoso.com",
            "alex@contoso.com/../me",
            "alex\u{202e}@contoso.com",
            "alex\u{200b}@contoso.com",
            "alex\u{1b}]0;x@contoso.com",
            "a?b@contoso.com",
        ] {
            assert!(check_upn(bad).is_err(), "{bad:?}");
        }
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
