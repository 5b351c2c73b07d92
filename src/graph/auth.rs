//! Delegated sign-in to Entra ID (v2.0 endpoints), and the session that
//! keeps a fresh access token.
//!
//! `removeAllAccessForUser` takes only delegated tokens, so an admin signs
//! in as themselves: by device code (RFC 8628, the default, which suits
//! SSH) or by authorization code with PKCE on a loopback redirect (for
//! tenants that block device code; it works through `ssh -L`, and the
//! address the browser ends on can be pasted back instead). The `oauth2`
//! crate speaks the protocol; this module adds Entra's specifics (the
//! device-code `message`, the id token, `AADSTS` codes) and the cache.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AccessToken, AuthUrl, AuthorizationCode, ClientId, CsrfToken, DeviceAuthorizationResponse,
    DeviceAuthorizationUrl, EndpointNotSet, EndpointSet, ExtraDeviceAuthorizationFields,
    ExtraTokenFields, PkceCodeChallenge, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use url::Url;

use super::cache::{Account, CacheError, Cached, TokenCache};
use super::entra::EntraError;
use super::http::{Http, SendError};
use super::settings::Settings;

/// Refresh this long before the access token expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("not signed in{0}")]
    NotSignedIn(String),
    #[error("{0}")]
    Entra(EntraError),
    #[error("could not reach Entra ID: {0}")]
    Network(String),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("Entra ID answered something unexpected: {0}")]
    Protocol(String),
    #[error("the browser sign-in did not finish: {0}")]
    Browser(String),
}

impl AuthError {
    /// True when signing in again is the remedy.
    pub fn needs_login(&self) -> bool {
        match self {
            AuthError::NotSignedIn(_) => true,
            AuthError::Entra(e) => e.error == "invalid_grant",
            _ => false,
        }
    }
}

fn from_token_error<T: oauth2::ErrorResponseType + std::fmt::Display + AsRef<str> + 'static>(
    e: RequestTokenError<SendError, oauth2::StandardErrorResponse<T>>,
) -> AuthError {
    match e {
        RequestTokenError::ServerResponse(r) => AuthError::Entra(EntraError::new(
            r.error().as_ref(),
            r.error_description().map(String::as_str),
        )),
        RequestTokenError::Request(e) => AuthError::Network(e.to_string()),
        // The body is left out: it may hold a token.
        RequestTokenError::Parse(e, _) => AuthError::Protocol(e.to_string()),
        RequestTokenError::Other(s) if s.contains("expired") => AuthError::Entra(EntraError::new(
            "expired_token",
            Some("The device code expired before the sign-in was completed."),
        )),
        RequestTokenError::Other(s) => AuthError::Protocol(s),
    }
}

/// Entra's extra device-code field: the sentence to show the user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntraDeviceFields {
    #[serde(default)]
    pub message: Option<String>,
}
impl ExtraDeviceAuthorizationFields for EntraDeviceFields {}

/// Entra's extra token field: the id token, which names the account.
#[derive(Clone, Serialize, Deserialize)]
pub struct EntraTokenFields {
    #[serde(default)]
    id_token: Option<String>,
}
impl ExtraTokenFields for EntraTokenFields {}
impl std::fmt::Debug for EntraTokenFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EntraTokenFields { id_token: [redacted] }")
    }
}

type TokenResp = StandardTokenResponse<EntraTokenFields, BasicTokenType>;
type EntraClient = oauth2::Client<
    BasicErrorResponse,
    TokenResp,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The claims of the id token that chatevict reads.
#[derive(Debug, Deserialize)]
struct IdClaims {
    tid: Option<String>,
    oid: Option<String>,
    preferred_username: Option<String>,
    upn: Option<String>,
    name: Option<String>,
}

/// The account named by an id token. The token came straight from the
/// token endpoint over TLS, so its claims are read, not verified.
fn account_from_id_token(id_token: &str) -> Option<Account> {
    let payload = id_token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let c: IdClaims = serde_json::from_slice(&bytes).ok()?;
    Some(Account {
        username: c.preferred_username.or(c.upn).unwrap_or_default(),
        name: c.name,
        tenant_id: c.tid?.to_ascii_lowercase(),
        object_id: c.oid,
    })
}

/// A device code to show the user while the sign-in is polled.
pub struct DeviceCode {
    /// Entra's own sentence ("To sign in, use a web browser to open the
    /// page … and enter the code …").
    pub message: String,
    pub user_code: String,
    pub verification_uri: String,
    pub expires_in: Duration,
    details: DeviceAuthorizationResponse<EntraDeviceFields>,
}

/// Signs in and resumes sessions for one authority, tenant and client.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<AuthInner>,
}

struct AuthInner {
    http: Http,
    login_url: Url,
    tenant: String,
    client_id: String,
    scopes: Vec<String>,
    /// The Graph resource scopes are qualified with
    /// (`https://graph.microsoft.com`).
    resource: String,
    cache: TokenCache,
}

impl Auth {
    pub fn new(settings: &Settings, http: Http, cache: TokenCache) -> Auth {
        Auth {
            inner: Arc::new(AuthInner {
                http,
                login_url: settings.login_url.clone(),
                tenant: settings.tenant.clone(),
                client_id: settings.client_id.clone(),
                scopes: settings.cloud.scopes(),
                resource: settings
                    .cloud
                    .graph_base()
                    .as_str()
                    .trim_end_matches('/')
                    .to_owned(),
                cache,
            }),
        }
    }

    /// The same sign-in asking for one more Graph permission as well
    /// (`AuditLogsQuery.Read.All` when fetching the audit log): the
    /// session and its cache are shared, only what is asked for grows.
    pub fn with_scope(&self, permission: &str) -> Auth {
        let i = &self.inner;
        let mut scopes = i.scopes.clone();
        let full = format!("{}/{permission}", i.resource);
        if !scopes.contains(&full) {
            // Before the OpenID scopes, with the other Graph ones.
            let at = scopes
                .iter()
                .position(|s| !s.contains('/'))
                .unwrap_or(scopes.len());
            scopes.insert(at, full);
        }
        Auth {
            inner: Arc::new(AuthInner {
                http: i.http.clone(),
                login_url: i.login_url.clone(),
                tenant: i.tenant.clone(),
                client_id: i.client_id.clone(),
                scopes,
                resource: i.resource.clone(),
                cache: TokenCache::new(i.cache.path().to_path_buf()),
            }),
        }
    }

    pub fn cache(&self) -> &TokenCache {
        &self.inner.cache
    }

    fn endpoint(&self, tail: &str) -> Url {
        let mut u = self.inner.login_url.clone();
        u.path_segments_mut()
            .expect("http URL")
            .pop_if_empty()
            .push(&self.inner.tenant)
            .extend(tail.split('/'));
        u
    }

    fn client(&self) -> EntraClient {
        oauth2::Client::new(ClientId::new(self.inner.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(self.endpoint("oauth2/v2.0/authorize")))
            .set_token_uri(TokenUrl::from_url(self.endpoint("oauth2/v2.0/token")))
            .set_device_authorization_url(DeviceAuthorizationUrl::from_url(
                self.endpoint("oauth2/v2.0/devicecode"),
            ))
    }

    fn scopes(&self) -> impl Iterator<Item = Scope> + '_ {
        self.inner.scopes.iter().map(|s| Scope::new(s.clone()))
    }

    /// Asks Entra for a device code.
    pub async fn start_device_code(&self) -> Result<DeviceCode, AuthError> {
        let http = &self.inner.http;
        let details: DeviceAuthorizationResponse<EntraDeviceFields> = self
            .client()
            .exchange_device_code()
            .add_scopes(self.scopes())
            .request_async(http)
            .await
            .map_err(from_token_error)?;
        let user_code = details.user_code().secret().clone();
        let verification_uri = details.verification_uri().to_string();
        let message = details.extra_fields().message.clone().unwrap_or_else(|| {
            format!(
                "To sign in, use a web browser to open the page {verification_uri} and \
                 enter the code {user_code} to authenticate."
            )
        });
        Ok(DeviceCode {
            message,
            user_code,
            verification_uri,
            expires_in: details.expires_in(),
            details,
        })
    }

    /// Polls until the device code is approved, declined or expired,
    /// honouring `interval` and `slow_down`. Cancel by dropping the future.
    pub async fn finish_device_code(&self, dc: &DeviceCode) -> Result<Session, AuthError> {
        let http = &self.inner.http;
        let client = self.client();
        let tr = client
            .exchange_device_access_token(&dc.details)
            .request_async(http, tokio::time::sleep, None)
            .await
            .map_err(from_token_error)?;
        self.session_from(tr, None).await
    }

    /// The authorization URL of the browser flow, with what is needed to
    /// finish it.
    pub fn browser_start(&self, redirect_uri: &str) -> Result<BrowserFlow, AuthError> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| AuthError::Browser(e.to_string()))?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = self
            .client()
            .set_redirect_uri(redirect.clone())
            .authorize_url(CsrfToken::new_random)
            .add_scopes(self.scopes())
            .set_pkce_challenge(challenge)
            .add_extra_param("prompt", "select_account")
            .url();
        Ok(BrowserFlow {
            url,
            state,
            verifier,
            redirect,
        })
    }

    /// Finishes the browser flow with the address the browser was sent
    /// back to (or just its query string).
    pub async fn browser_finish(
        &self,
        flow: BrowserFlow,
        returned: &str,
    ) -> Result<Session, AuthError> {
        let code = flow.code_from(returned)?;
        let http = &self.inner.http;
        let tr = self
            .client()
            .exchange_code(AuthorizationCode::new(code))
            .set_redirect_uri(Cow::Owned(flow.redirect))
            .set_pkce_verifier(flow.verifier)
            .request_async(http)
            .await
            .map_err(from_token_error)?;
        self.session_from(tr, None).await
    }

    /// The saved session, refreshed silently; `NotSignedIn` when there is
    /// none for these settings.
    pub async fn resume(&self) -> Result<Session, AuthError> {
        let Some(c) = self.inner.cache.load()? else {
            return Err(AuthError::NotSignedIn(String::new()));
        };
        let i = &self.inner;
        let same_tenant = i.tenant == c.tenant
            || i.tenant.eq_ignore_ascii_case(&c.account.tenant_id)
            || matches!(i.tenant.as_str(), "organizations" | "common");
        if c.login_url != i.login_url.as_str() || c.client_id != i.client_id || !same_tenant {
            return Err(AuthError::NotSignedIn(format!(
                " with these settings (the saved session is for {} at {}, client {})",
                c.account.username, c.login_url, c.client_id
            )));
        }
        let tr = self.refresh_grant(&c.refresh_token).await?;
        self.session_from(tr, Some((c.account, c.refresh_token)))
            .await
    }

    async fn refresh_grant(&self, rt: &RefreshToken) -> Result<TokenResp, AuthError> {
        let http = &self.inner.http;
        self.client()
            .exchange_refresh_token(rt)
            .add_scopes(self.scopes())
            .request_async(http)
            .await
            .map_err(from_token_error)
    }

    /// A session from a token response; saves the account and the
    /// (possibly rotated) refresh token.
    async fn session_from(
        &self,
        tr: TokenResp,
        previous: Option<(Account, RefreshToken)>,
    ) -> Result<Session, AuthError> {
        let account = tr
            .extra_fields()
            .id_token
            .as_deref()
            .and_then(account_from_id_token)
            .or_else(|| previous.as_ref().map(|p| p.0.clone()))
            .ok_or_else(|| {
                AuthError::Protocol("no id token naming the account and tenant".into())
            })?;
        let refresh = tr
            .refresh_token()
            .cloned()
            .or_else(|| previous.map(|p| p.1))
            .ok_or_else(|| AuthError::Protocol("no refresh token (offline_access)".into()))?;
        let live = Live::new(&tr, account, refresh);
        self.save(&live)?;
        Ok(Session {
            auth: self.clone(),
            live: Arc::new(tokio::sync::Mutex::new(live)),
        })
    }

    fn save(&self, live: &Live) -> Result<(), AuthError> {
        let i = &self.inner;
        i.cache.save(&Cached {
            version: 0,
            login_url: i.login_url.to_string(),
            tenant: i.tenant.clone(),
            client_id: i.client_id.clone(),
            account: live.account.clone(),
            refresh_token: live.refresh.clone(),
        })?;
        Ok(())
    }
}

/// The browser flow between its two halves.
pub struct BrowserFlow {
    pub url: Url,
    state: CsrfToken,
    verifier: oauth2::PkceCodeVerifier,
    redirect: RedirectUrl,
}

impl BrowserFlow {
    /// The code in the returned address, after checking its `state`.
    fn code_from(&self, returned: &str) -> Result<String, AuthError> {
        let returned = returned.trim();
        let query = match Url::parse(returned) {
            Ok(u) => u.query().unwrap_or("").to_owned(),
            Err(_) => returned.trim_start_matches('?').to_owned(),
        };
        let mut code = None;
        let mut state = None;
        let mut error = None;
        let mut description = None;
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match &*k {
                "code" => code = Some(v.into_owned()),
                "state" => state = Some(v.into_owned()),
                "error" => error = Some(v.into_owned()),
                "error_description" => description = Some(v.into_owned()),
                _ => {}
            }
        }
        if let Some(e) = error {
            return Err(AuthError::Entra(EntraError::new(
                &e,
                description.as_deref(),
            )));
        }
        if state.as_deref() != Some(self.state.secret().as_str()) {
            return Err(AuthError::Browser(
                "the address does not belong to this sign-in (its state does not match)".into(),
            ));
        }
        code.ok_or_else(|| AuthError::Browser("the address has no code".into()))
    }
}

/// A signed-in session: hands out a fresh access token.
#[derive(Clone)]
pub struct Session {
    auth: Auth,
    live: Arc<tokio::sync::Mutex<Live>>,
}

struct Live {
    access: AccessToken,
    /// The permissions the token response says were granted (names, not
    /// qualified); `None` when it did not say.
    granted: Option<Vec<String>>,
    expires_at: Instant,
    refresh: RefreshToken,
    account: Account,
    /// Bumped by each refresh, so that several requests that saw the same
    /// 401 refresh once.
    generation: u64,
}

impl Live {
    fn new(tr: &TokenResp, account: Account, refresh: RefreshToken) -> Live {
        Live {
            access: tr.access_token().clone(),
            granted: tr.scopes().map(|ss| {
                ss.iter()
                    .map(|s| s.as_str().rsplit('/').next().unwrap_or("").to_owned())
                    .collect()
            }),
            expires_at: Instant::now() + tr.expires_in().unwrap_or(Duration::from_secs(3600)),
            refresh,
            account,
            generation: 0,
        }
    }
}

/// An access token and the refresh it came from.
#[derive(Clone)]
pub struct Bearer {
    pub token: AccessToken,
    pub generation: u64,
}

impl Session {
    pub async fn account(&self) -> Account {
        self.live.lock().await.account.clone()
    }

    /// Whether the last token was granted `permission`; `None` when Entra
    /// did not list what it granted.
    pub async fn granted(&self, permission: &str) -> Option<bool> {
        let live = self.live.lock().await;
        live.granted
            .as_ref()
            .map(|g| g.iter().any(|s| s.eq_ignore_ascii_case(permission)))
    }

    /// A token valid for at least a couple of minutes.
    pub async fn bearer(&self) -> Result<Bearer, AuthError> {
        let mut live = self.live.lock().await;
        if live.expires_at <= Instant::now() + REFRESH_MARGIN {
            self.refresh_locked(&mut live).await?;
        }
        Ok(Bearer {
            token: live.access.clone(),
            generation: live.generation,
        })
    }

    /// After a 401 with `stale`: refresh, unless another request already
    /// did since.
    pub async fn refreshed(&self, stale: &Bearer) -> Result<Bearer, AuthError> {
        let mut live = self.live.lock().await;
        if live.generation == stale.generation {
            self.refresh_locked(&mut live).await?;
        }
        Ok(Bearer {
            token: live.access.clone(),
            generation: live.generation,
        })
    }

    async fn refresh_locked(&self, live: &mut Live) -> Result<(), AuthError> {
        let tr = self.auth.refresh_grant(&live.refresh).await?;
        let account = tr
            .extra_fields()
            .id_token
            .as_deref()
            .and_then(account_from_id_token)
            .unwrap_or_else(|| live.account.clone());
        let refresh = tr
            .refresh_token()
            .cloned()
            .unwrap_or_else(|| live.refresh.clone());
        let generation = live.generation + 1;
        *live = Live::new(&tr, account, refresh);
        live.generation = generation;
        self.auth.save(live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_token_claims_name_the_account() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let t = format!(
            "{}.{}.sig",
            b64(r#"{"alg":"RS256"}"#),
            b64(
                r#"{"tid":"9188040D-6C67-4C5B-B112-36A304B66DAD","oid":"o1","preferred_username":"admin@contoso.com","name":"Ad Min"}"#
            )
        );
        let a = account_from_id_token(&t).unwrap();
        assert_eq!(a.username, "admin@contoso.com");
        assert_eq!(a.tenant_id, "9188040d-6c67-4c5b-b112-36a304b66dad");
        assert_eq!(a.object_id.as_deref(), Some("o1"));
        assert!(account_from_id_token("not.a-token").is_none());
    }
}
