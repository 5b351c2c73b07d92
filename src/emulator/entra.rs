//! The Entra ID (v2.0) endpoints, at the paths `login.microsoftonline.com`
//! serves them: OpenID Connect discovery, device code, token (device code,
//! authorization code with PKCE, refresh with rotation) and authorize,
//! plus the page where a person enters a device code.
//!
//! Errors have Entra's shape: an OAuth `error`, an `error_description`
//! starting with the `AADSTS` number, `error_codes`, trace and correlation
//! ids.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State as St};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Json};
use base64::Engine;
use serde_json::json;
use sha2::Digest;

use super::App;
use super::state::{
    AuthCode, DeviceCode, Grant, InjectedEntraError, State, random_token, scope_name,
};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// An Entra-shaped error reply.
pub fn error(status: StatusCode, error: &str, code: u32, text: &str) -> Response {
    let now = chrono::Utc::now();
    let trace = uuid::Uuid::new_v4().to_string();
    let correlation = uuid::Uuid::new_v4().to_string();
    let ts = now.format("%Y-%m-%d %H:%M:%SZ");
    let body = json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {text} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {ts}"
        ).replacen(" Trace ID", "\r\nTrace ID", 1)
         .replacen(" Correlation ID", "\r\nCorrelation ID", 1)
         .replacen(" Timestamp", "\r\nTimestamp", 1),
        "error_codes": [code],
        "timestamp": ts.to_string(),
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    let mut r = (status, Json(body)).into_response();
    no_store(&mut r);
    r
}

fn no_store(r: &mut Response) {
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
}

/// Entra's answer to a request without a required parameter.
fn missing(param: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{param}'."),
    )
}

fn tenant_not_found(name: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        90002,
        &format!(
            "Tenant '{name}' not found. Check to make sure you have the correct tenant ID and \
             are signing into the correct cloud."
        ),
    )
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`
pub async fn discovery(
    St(app): St<App>,
    Path(tenant): Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    let st = app.state.lock().expect("state");
    let Some(t) = st.tenant_for(&tenant) else {
        return tenant_not_found(&tenant);
    };
    let base = &app.base_for(&headers);
    let tid = &t.id;
    Json(json!({
        "token_endpoint": format!("{base}/{tid}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{tid}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{tid}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "authorization_endpoint": format!("{base}/{tid}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/{tid}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/{tid}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "chatevict-emulator",
    }))
    .into_response()
}

/// `GET /{tenant}/discovery/v2.0/keys`: the keys tokens are signed with.
pub async fn keys(
    St(app): St<App>,
    Path(tenant): Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    let st = app.state.lock().expect("state");
    let Some(t) = st.tenant_for(&tenant) else {
        return tenant_not_found(&tenant);
    };
    let issuer = format!("{}/{}/v2.0", app.base_for(&headers), t.id);
    Json(super::signing::jwks(&issuer)).into_response()
}

/// Entra's answer to a client id the tenant does not know.
fn unknown_client(st: &State, client_id: &str, tenant: &str) -> Option<Response> {
    (!st.apps.contains_key(client_id)).then(|| {
        error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory \
                 '{tenant}'. This can happen if the application has not been installed by the \
                 administrator of the tenant or consented to by any user in the tenant. You \
                 may have sent your authentication request to the wrong tenant."
            ),
        )
    })
}

/// Entra's answer to scopes it does not accept: a permission it does not
/// know, or permissions for more than one resource in one request.
fn bad_scopes(scopes: &[String]) -> Option<Response> {
    const OIDC: [&str; 4] = ["openid", "profile", "offline_access", "email"];
    const GRAPH: &str = "https://graph.microsoft.com";
    let mut resources: Vec<&str> = Vec::new();
    for s in scopes {
        if OIDC.contains(&s.as_str()) {
            continue;
        }
        let resource = s.rsplit_once('/').map_or(GRAPH, |(r, _)| r);
        if !resources.contains(&resource) {
            resources.push(resource);
        }
        let known = resource.trim_end_matches('/').eq_ignore_ascii_case(GRAPH)
            && super::state::GRAPH_PERMISSIONS
                .iter()
                .any(|p| p.eq_ignore_ascii_case(scope_name(s)));
        if !known {
            return Some(error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                70011,
                &format!(
                    "The provided value for the input parameter 'scope' is not valid. The scope \
                     '{s}' does not exist."
                ),
            ));
        }
    }
    (resources.len() > 1).then(|| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            &format!(
                "The provided value for the input parameter 'scope' is not valid. The scope \
                 '{}' is for more than one resource.",
                scopes.join(" ")
            ),
        )
    })
}

fn scopes_of(s: Option<&String>) -> Vec<String> {
    s.map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// `POST /{tenant}/oauth2/v2.0/devicecode`
pub async fn devicecode(
    St(app): St<App>,
    Path(tenant): Path<String>,
    headers: axum::http::HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let mut st = app.state.lock().expect("state");
    let Some(t) = st.tenant_for(&tenant).cloned() else {
        return tenant_not_found(&tenant);
    };
    let Some(client_id) = f.get("client_id").cloned() else {
        return missing("client_id");
    };
    if let Some(r) = unknown_client(&st, &client_id, &tenant) {
        return r;
    }
    let scopes = scopes_of(f.get("scope"));
    if scopes.is_empty() {
        return missing("scope");
    }
    if let Some(r) = bad_scopes(&scopes) {
        return r;
    }
    let device_code = random_token(&mut st.rng, 96);
    let user_code: String = (0..9)
        .map(|_| b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789"[st.rng.usize(..32)] as char)
        .collect();
    let now = Instant::now();
    let lifetime = st.cfg.device_code_lifetime;
    let interval = st.cfg.device_interval;
    let approve_at = st.cfg.auto_approve.map(|d| now + d);
    st.devices.insert(
        device_code.clone(),
        DeviceCode {
            device_code: device_code.clone(),
            user_code: user_code.clone(),
            tenant_id: t.id.clone(),
            client_id,
            scopes,
            expires: now + lifetime,
            approved: None,
            approve_at,
            last_poll: None,
            slow_downs: 0,
        },
    );
    let uri = format!("{}/devicelogin", app.base_for(&headers));
    Json(json!({
        "user_code": user_code,
        "device_code": device_code,
        "verification_uri": uri,
        "expires_in": lifetime.as_secs(),
        "interval": interval,
        "message": format!(
            "To sign in, use a web browser to open the page {uri} and enter the code {user_code} to authenticate."
        ),
    }))
    .into_response()
}

fn b64(v: &serde_json::Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

/// Issues an access token, a refresh token and an id token.
/// What the id token and the reply carry besides the tokens: the `nonce`
/// the authorize request sent, and `client_info` when asked for
/// (`client_info=1`, as MSAL does).
#[derive(Default, Clone, Copy)]
struct Extras<'a> {
    nonce: Option<&'a str>,
    client_info: bool,
}

fn issue(
    st: &mut State,
    base: &str,
    tenant_id: &str,
    user_id: &str,
    client_id: &str,
    asked: &[String],
    extras: Extras<'_>,
) -> Response {
    let Some(user) = st.user_by_id(user_id).cloned() else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            50034,
            "The user account does not exist in the directory.",
        );
    };
    // Graph permissions nobody consented to for this client.
    let consented = st.apps.get(client_id).cloned().unwrap_or_default();
    let missing_consent = asked.iter().any(|s| {
        let name = scope_name(s);
        !matches!(
            name,
            "openid" | "profile" | "offline_access" | "email" | ".default"
        ) && !consented.iter().any(|c| c.eq_ignore_ascii_case(name))
    });
    if missing_consent {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            65001,
            &format!(
                "The user or administrator has not consented to use the application with ID \
                 '{client_id}'. Send an interactive authorization request for this user and \
                 resource."
            ),
        );
    }
    let scopes = st.granted(asked);
    let now = chrono::Utc::now().timestamp();
    let life = st.cfg.access_token_lifetime;
    let graph_scopes: Vec<&str> = scopes
        .iter()
        .filter(|s| s.contains('/'))
        .map(|s| scope_name(s))
        .collect();
    // `uti`: Entra's unique token id, which also keeps two tokens issued
    // in the same second apart.
    let uti = random_token(&mut st.rng, 22);
    let access_claims = json!({
        "aud": "https://graph.microsoft.com",
        "iss": format!("https://sts.windows.net/{tenant_id}/"),
        "iat": now, "nbf": now, "exp": now + life.as_secs() as i64,
        "appid": client_id,
        "name": user.display_name,
        "oid": user.id,
        "scp": graph_scopes.join(" "),
        "tid": tenant_id,
        "upn": user.upn,
        "uti": uti,
        "ver": "1.0",
    });
    let access = super::signing::sign(&access_claims);
    let id_claims = json!({
        "aud": client_id,
        "iss": format!("{base}/{tenant_id}/v2.0"),
        "iat": now, "nbf": now, "exp": now + 3600,
        "name": user.display_name,
        "oid": user.id,
        "preferred_username": user.upn,
        "sub": crate::emulator::seed::derived_id("sub", &user.id),
        "tid": tenant_id,
        "ver": "2.0",
    });
    let mut id_claims = id_claims;
    if let Some(n) = extras.nonce {
        id_claims["nonce"] = json!(n);
    }
    let id_token = super::signing::sign(&id_claims);
    let refresh = format!("1.A{}", random_token(&mut st.rng, 180));
    let grant = Grant {
        tenant_id: tenant_id.to_owned(),
        user_id: user.id.clone(),
        client_id: client_id.to_owned(),
        scopes: scopes.clone(),
        expires: Instant::now() + life,
    };
    st.access_tokens.insert(access.clone(), grant.clone());
    let rt_life = st.cfg.refresh_token_lifetime;
    st.refresh_tokens.insert(
        refresh.clone(),
        Grant {
            expires: Instant::now() + rt_life,
            ..grant
        },
    );
    let mut body = json!({
        "token_type": "Bearer",
        "scope": scopes.join(" "),
        "expires_in": life.as_secs(),
        "ext_expires_in": life.as_secs(),
        "access_token": access,
        "refresh_token": refresh,
        "id_token": id_token,
    });
    if extras.client_info {
        body["client_info"] = json!(b64(&json!({"uid": user.id, "utid": tenant_id})));
    }
    let mut r = Json(body).into_response();
    no_store(&mut r);
    r
}

/// `POST /{tenant}/oauth2/v2.0/token`
pub async fn token(
    St(app): St<App>,
    Path(tenant): Path<String>,
    headers: axum::http::HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let mut st = app.state.lock().expect("state");
    if st.tenant_for(&tenant).is_none() {
        return tenant_not_found(&tenant);
    }
    let Some(client_id) = f.get("client_id").cloned() else {
        return missing("client_id");
    };
    if let Some(r) = unknown_client(&st, &client_id, &tenant) {
        return r;
    }
    let grant_type = f.get("grant_type").map(String::as_str).unwrap_or("");
    // A device code still pending is answered as such before any injected
    // error: Entra decides the outcome once the user has acted.
    if grant_type != DEVICE_GRANT
        && let Some(InjectedEntraError {
            error: e,
            code,
            description,
        }) = st.next_entra_error.take()
    {
        let text = description.unwrap_or_else(|| injected_text(code).to_owned());
        return error(StatusCode::BAD_REQUEST, &e, code, &text);
    }
    let base = app.base_for(&headers);
    let client_info = f.get("client_info").is_some_and(|v| v == "1");
    let extras = Extras {
        nonce: None,
        client_info,
    };
    match grant_type {
        DEVICE_GRANT => device_token(&mut st, &base, &client_id, f.get("device_code"), extras),
        "authorization_code" => {
            let Some(code) = f.get("code").and_then(|c| st.auth_codes.remove(c)) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    70000,
                    "The provided authorization code is not valid: it is unknown or was already redeemed.",
                );
            };
            if code.expires < Instant::now() {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    70008,
                    "The provided authorization code or refresh token has expired due to inactivity.",
                );
            }
            if code.client_id != client_id {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    70000,
                    "The authorization code was issued to another client.",
                );
            }
            if f.get("redirect_uri") != Some(&code.redirect_uri) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    50148,
                    "The redirect_uri does not match the one of the authorization request.",
                );
            }
            let verifier = f.get("code_verifier").map(String::as_str).unwrap_or("");
            let digest = sha2::Sha256::digest(verifier.as_bytes());
            let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
            if verifier.is_empty() || computed != code.challenge {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    501481,
                    "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
                );
            }
            let Some(admin) = st.admin_of(&code.tenant_id).map(|u| u.id.clone()) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    50034,
                    "The user account does not exist in the directory.",
                );
            };
            issue(
                &mut st,
                &base,
                &code.tenant_id,
                &admin,
                &client_id,
                &code.scopes,
                Extras {
                    nonce: code.nonce.as_deref(),
                    client_info,
                },
            )
        }
        "refresh_token" => {
            let Some(g) = f
                .get("refresh_token")
                .and_then(|t| st.refresh_tokens.get(t))
                .cloned()
            else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    9002313,
                    "Invalid request. Request is malformed or invalid: the refresh token is not valid.",
                );
            };
            if g.expires < Instant::now() {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    700082,
                    "The refresh token has expired due to inactivity. The token was issued on an earlier date and was inactive for too long.",
                );
            }
            if g.client_id != client_id {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    70000,
                    "The refresh token was issued to another client.",
                );
            }
            let asked = match f.get("scope") {
                Some(s) => scopes_of(Some(s)),
                None => g.scopes.clone(),
            };
            // Rotation: a new refresh token comes with every answer; the
            // old one stays valid until it expires, as Entra's do.
            issue(
                &mut st,
                &base,
                &g.tenant_id,
                &g.user_id,
                &client_id,
                &asked,
                Extras {
                    nonce: None,
                    client_info,
                },
            )
        }
        "" => missing("grant_type"),
        other => error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{other}'."),
        ),
    }
}

fn injected_text(code: u32) -> &'static str {
    match code {
        53003 => {
            "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."
        }
        65001 => {
            "The user or administrator has not consented to use the application. Send an interactive authorization request for this user and resource."
        }
        7000218 => {
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."
        }
        90002 => {
            "Tenant not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
        }
        90038 => {
            "NationalCloudTenantRedirection: The specified tenant belongs to a different cloud. Use the correct cloud instance."
        }
        700082 => "The refresh token has expired due to inactivity.",
        _ => "Injected error.",
    }
}

fn device_token(
    st: &mut State,
    base: &str,
    client_id: &str,
    code: Option<&String>,
    extras: Extras<'_>,
) -> Response {
    let now = Instant::now();
    let Some(d) = code.and_then(|c| st.devices.get_mut(c)) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_verification_code",
            70018,
            "The provided value for the input parameter 'device_code' is not valid.",
        );
    };
    if d.client_id != client_id {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_verification_code",
            70018,
            "The device code was issued to another client.",
        );
    }
    if d.expires <= now {
        let key = d.device_code.clone();
        st.devices.remove(&key);
        return error(
            StatusCode::BAD_REQUEST,
            "expired_token",
            70019,
            "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
        );
    }
    // RFC 8628: after each slow_down the client waits 5 s longer.
    let interval = Duration::from_secs(st.cfg.device_interval + 5 * d.slow_downs as u64);
    let too_fast = d
        .last_poll
        .is_some_and(|p| now.saturating_duration_since(p) + Duration::from_millis(250) < interval);
    // Entra does not document slow_down: it is a fault of the hostile
    // profile only (RFC 8628 allows it, so the client must handle it).
    let hostile = st.cfg.faults == super::faults::Profile::Hostile;
    let hostile_first = hostile && d.slow_downs == 0;
    d.last_poll = Some(now);
    if hostile && (too_fast || hostile_first) {
        d.slow_downs += 1;
        st.slow_downs += 1;
        return error(
            StatusCode::BAD_REQUEST,
            "slow_down",
            70016,
            "OAuth 2.0 device flow error. Polling too fast: wait longer between requests.",
        );
    }
    if d.approved.is_none() && d.approve_at.is_some_and(|at| at <= now) {
        d.approved = Some(true);
    }
    match d.approved {
        None => error(
            StatusCode::BAD_REQUEST,
            "authorization_pending",
            70016,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        ),
        Some(false) => {
            let key = d.device_code.clone();
            st.devices.remove(&key);
            error(
                StatusCode::BAD_REQUEST,
                "authorization_declined",
                70000,
                "The user declined the authentication request.",
            )
        }
        Some(true) => {
            let d = d.clone();
            st.devices.remove(&d.device_code);
            if let Some(e) = st.next_entra_error.take() {
                let text = e
                    .description
                    .unwrap_or_else(|| injected_text(e.code).to_owned());
                return error(StatusCode::BAD_REQUEST, &e.error, e.code, &text);
            }
            let Some(admin) = st.admin_of(&d.tenant_id).map(|u| u.id.clone()) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    50034,
                    "The user account does not exist in the directory.",
                );
            };
            issue(st, base, &d.tenant_id, &admin, client_id, &d.scopes, extras)
        }
    }
}

/// `GET /{tenant}/oauth2/v2.0/authorize`: with auto-approve, straight back
/// to the redirect URI with a code; otherwise a page to approve or
/// decline.
pub async fn authorize(
    St(app): St<App>,
    Path(tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut st = app.state.lock().expect("state");
    let Some(t) = st.tenant_for(&tenant).cloned() else {
        return tenant_not_found(&tenant);
    };
    let Some(redirect) = q.get("redirect_uri").cloned() else {
        return (
            StatusCode::BAD_REQUEST,
            Html("AADSTS900144: the request must contain 'redirect_uri'."),
        )
            .into_response();
    };
    // Public clients may redirect only to a loopback address.
    let loopback = url::Url::parse(&redirect).ok().is_some_and(|u| {
        u.scheme() == "http" && matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
    });
    if !loopback {
        return (StatusCode::BAD_REQUEST, Html("AADSTS50011: The redirect URI specified in the request does not match the redirect URIs configured for the application.")).into_response();
    }
    // An unknown application cannot be sent back anywhere: Entra shows
    // the error on its own page.
    let client_id = q.get("client_id").cloned().unwrap_or_default();
    if let Some(r) = unknown_client(&st, &client_id, &tenant) {
        return r;
    }
    let state_param = q.get("state").cloned().unwrap_or_default();
    let back = |params: &[(&str, &str)]| -> Response {
        let mut u = url::Url::parse(&redirect).expect("checked");
        {
            let mut qp = u.query_pairs_mut();
            for (k, v) in params {
                qp.append_pair(k, v);
            }
            qp.append_pair("state", &state_param);
        }
        let mut r = StatusCode::FOUND.into_response();
        r.headers_mut().insert(
            header::LOCATION,
            HeaderValue::from_str(u.as_str()).expect("URL is a header value"),
        );
        r
    };
    if q.get("response_type").map(String::as_str) != Some("code") {
        return back(&[
            ("error", "unsupported_response_type"),
            (
                "error_description",
                "AADSTS700054: response_type 'code' is required.",
            ),
        ]);
    }
    let (Some(challenge), Some("S256")) = (
        q.get("code_challenge"),
        q.get("code_challenge_method").map(String::as_str),
    ) else {
        return back(&[
            ("error", "invalid_request"),
            (
                "error_description",
                "AADSTS9002325: Proof Key for Code Exchange is required for cross-origin authorization code redemption.",
            ),
        ]);
    };
    if bad_scopes(&scopes_of(q.get("scope"))).is_some() {
        return back(&[
            ("error", "invalid_scope"),
            (
                "error_description",
                "AADSTS70011: The provided value for the input parameter 'scope' is not valid.",
            ),
        ]);
    }
    let code = random_token(&mut st.rng, 120);
    st.auth_codes.insert(
        code.clone(),
        AuthCode {
            tenant_id: t.id.clone(),
            client_id: q.get("client_id").cloned().unwrap_or_default(),
            redirect_uri: redirect.clone(),
            challenge: challenge.clone(),
            scopes: scopes_of(q.get("scope")),
            nonce: q.get("nonce").cloned(),
            expires: Instant::now() + Duration::from_secs(600),
        },
    );
    if st.cfg.auto_approve.is_some() {
        return back(&[("code", &code)]);
    }
    let mut approve = url::Url::parse(&redirect).expect("checked");
    approve
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &state_param);
    let mut decline = url::Url::parse(&redirect).expect("checked");
    decline
        .query_pairs_mut()
        .append_pair("error", "access_denied")
        .append_pair(
            "error_description",
            "AADSTS65004: User declined to consent to access the app.",
        )
        .append_pair("state", &state_param);
    Html(format!(
        "<!doctype html><title>chatevict emulator: sign in</title>\
         <h1>chatevict emulator</h1><p>Sign in to tenant {} as its administrator?</p>\
         <p><a href=\"{}\">Approve</a> · <a href=\"{}\">Decline</a></p>",
        t.id,
        html_escape(approve.as_str()),
        html_escape(decline.as_str())
    ))
    .into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `GET /devicelogin`: the page where a person enters a device code.
pub async fn devicelogin_page() -> Html<&'static str> {
    Html(
        "<!doctype html><title>chatevict emulator: enter code</title>\
         <h1>chatevict emulator</h1><form method=post>\
         <label>Code <input name=user_code></label>\
         <button name=action value=approve>Approve</button>\
         <button name=action value=decline>Decline</button></form>",
    )
}

/// `POST /devicelogin` (form: `user_code`, `action` = approve|decline).
pub async fn devicelogin(St(app): St<App>, Form(f): Form<HashMap<String, String>>) -> Response {
    let mut st = app.state.lock().expect("state");
    let code = f
        .get("user_code")
        .map(|c| c.trim().to_ascii_uppercase())
        .unwrap_or_default();
    let approve = f.get("action").map(String::as_str) != Some("decline");
    match st.devices.values_mut().find(|d| d.user_code == code) {
        Some(d) => {
            d.approved = Some(approve);
            Html(if approve {
                "Signed in. You can close this page and go back to chatevict."
            } else {
                "Sign-in declined."
            })
            .into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            Html("That code is unknown or has expired."),
        )
            .into_response(),
    }
}
