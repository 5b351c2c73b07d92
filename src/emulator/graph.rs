//! The Microsoft Graph endpoints chatevict uses, at the paths
//! `graph.microsoft.com` serves them (`/v1.0/…` and `/beta/…`): `/me`,
//! `/users/{id | upn}` (and `/users('{upn}')`), `/chats/{id}`,
//! `/chats/{id}/members` and `removeAllAccessForUser`.
//!
//! Every reply carries `request-id` and echoes `client-request-id`;
//! errors have Graph's shape. Tokens are checked (unknown, expired,
//! missing scope, other tenant), the Teams rate limits are enforced with
//! 429 and `Retry-After`, and the fault profile decides what goes wrong.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State as St;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::App;
use super::call::Call;
use super::faults::{self, Action, Profile};
use super::server::DropConnection;
use super::state::{Grant, Refusal, Removal, State, scope_name};

/// Splits a raw path into percent-decoded segments.
fn segments(path: &str) -> Vec<String> {
    path.trim_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

/// Every `/v1.0/…` and `/beta/…` request.
pub async fn dispatch(
    St(app): St<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let segs = segments(uri.path());
    let call = Call {
        request_id: uuid::Uuid::new_v4().to_string(),
        client_request_id: headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(100).collect()),
        version: segs[0].clone(),
    };
    let (delay, action, profile) = {
        let mut st = app.state.lock().expect("state");
        st.requests += 1;
        let profile = st.cfg.faults;
        let removal =
            method == Method::POST && segs.last().is_some_and(|s| s == "removeAllAccessForUser");
        let (d, a) = match st.next_removal_fault.take_if(|_| removal) {
            Some(a) => (Duration::ZERO, a),
            None => faults::decide(profile, &mut st.rng),
        };
        if a != Action::Proceed {
            st.faults_injected += 1;
        }
        (d, a, profile)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    // Faults that answer before anything is done.
    match &action {
        Action::DropBefore => return DropConnection::response(),
        Action::Unavailable {
            status,
            retry_after,
        } => {
            let status = StatusCode::from_u16(*status).expect("5xx status");
            let mut r =
                if profile == Profile::Hostile && app.state.lock().expect("state").rng.bool() {
                    let mut r = (
                        status,
                        format!("<html><body><h1>{status}</h1></body></html>"),
                    )
                        .into_response();
                    r.headers_mut()
                        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
                    r
                } else {
                    let msg = if profile == Profile::Hostile {
                        faults::hostile_text(&mut app.state.lock().expect("state").rng)
                    } else {
                        "The service is temporarily unavailable. Please retry."
                    };
                    call.error(status, "serviceNotAvailable", msg)
                };
            if let Some(ra) = retry_after {
                r.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_str(ra).expect("header"),
                );
            }
            return r;
        }
        Action::Throttle { retry_after } => {
            app.state.lock().expect("state").throttled += 1;
            let mut r = call.error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too many requests. Please retry after a while.",
            );
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(retry_after).expect("header"),
            );
            return r;
        }
        _ => {}
    }
    let reply = {
        let mut st = app.state.lock().expect("state");
        handle(
            &mut st,
            &app.base_for(&headers),
            &call,
            &method,
            &segs[1..],
            uri.query(),
            &headers,
            &body,
            &action,
        )
    };
    match action {
        Action::DropAfter => DropConnection::response(),
        Action::Stall(d) => {
            tokio::time::sleep(d).await;
            reply
        }
        _ => reply,
    }
}

fn has_scope(g: &Grant, any_of: &[&str]) -> bool {
    g.scopes
        .iter()
        .any(|s| any_of.iter().any(|w| scope_name(s).eq_ignore_ascii_case(w)))
}

fn missing_scope(call: &Call, g: &Grant, need: &[&str]) -> Response {
    let have: Vec<&str> = g.scopes.iter().map(|s| scope_name(s)).collect();
    call.error(
        StatusCode::FORBIDDEN,
        "Forbidden",
        &format!(
            "Missing scope permissions on the request. API requires one of '{}'. Scopes on the request '{}'",
            need.join(", "),
            have.join(", ")
        ),
    )
}

#[allow(clippy::too_many_arguments)]
fn handle(
    st: &mut State,
    base: &str,
    call: &Call,
    method: &Method,
    segs: &[String],
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    action: &Action,
) -> Response {
    // Authentication.
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return call.unauthorized(base, "Access token is empty.");
    };
    let Some(grant) = st.access_tokens.get(token).cloned() else {
        return call.unauthorized(base, "Access token validation failure. Invalid audience.");
    };
    if grant.expires <= Instant::now() {
        return call.unauthorized(base, "Lifetime validation failed, the token is expired.");
    }
    let seg = |i: usize| segs.get(i).map(String::as_str);
    match (method.as_str(), seg(0), seg(1), seg(2), segs.len()) {
        ("GET", Some("me"), _, _, 1) => {
            let Some(u) = st.user_by_id(&grant.user_id) else {
                return call.error(
                    StatusCode::NOT_FOUND,
                    "Request_ResourceNotFound",
                    "The signed-in user no longer exists.",
                );
            };
            call.reply(
                StatusCode::OK,
                Some(json!({
                    "@odata.context": call.context(base, "users/$entity"),
                    "id": u.id,
                    "displayName": u.display_name,
                    "userPrincipalName": u.upn,
                    "mail": u.upn,
                })),
            )
        }
        ("POST" | "GET", Some("security"), Some("auditLog"), _, _)
            if st.cfg.audit_beta_only && call.version == "v1.0" =>
        {
            call.error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Resource not found for the segment 'auditLog'.",
            )
        }
        ("POST" | "GET", Some("security"), Some("auditLog"), Some("queries"), _) => {
            if !has_scope(&grant, &[super::audit::PERMISSION]) {
                return missing_scope(call, &grant, &[super::audit::PERMISSION]);
            }
            match (method.as_str(), seg(3), seg(4), segs.len()) {
                ("POST", None, None, 3) => super::audit::create(st, base, call, &grant, body),
                ("GET", None, None, 3) => super::audit::list(st, base, call, &grant),
                ("GET", Some(id), None, 4) => super::audit::get(st, base, call, &grant, id),
                ("GET", Some(id), Some("records"), 5) => {
                    super::audit::records(st, base, call, &grant, id, query)
                }
                _ => call.error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!("Resource not found for the segment '{}'.", segs.join("/")),
                ),
            }
        }
        // Graph: a UPN that starts with `$` goes in the `users('…')` form.
        ("GET", Some("users"), Some(key), None, 2) if key.starts_with('$') => call.error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!(
                "Resource not found for the segment '{key}'. A userPrincipalName that begins \
                 with '$' must be written /users('{key}')."
            ),
        ),
        ("GET", Some("users"), Some(key), None, 2) => get_user(st, base, call, &grant, key),
        ("GET", Some(s), None, None, 1) if s.starts_with("users('") && s.ends_with("')") => {
            let key = s["users('".len()..s.len() - 2].replace("''", "'");
            get_user(st, base, call, &grant, &key)
        }
        ("GET", Some("chats"), Some(id), None, 2) => {
            if !has_scope(
                &grant,
                &[
                    "Chat.ReadWrite.All",
                    "Chat.Read.All",
                    "Chat.ReadBasic.All",
                    "Chat.ReadWrite",
                    "Chat.Read",
                    "Chat.ReadBasic",
                ],
            ) {
                return missing_scope(
                    call,
                    &grant,
                    &["Chat.ReadBasic", "Chat.Read", "Chat.ReadWrite.All"],
                );
            }
            if let Some(r) = limit(st, call, &grant, Some(id), 3.0) {
                return r;
            }
            match st.chats.get(id) {
                Some(c) if c.chat.tenant_id == grant.tenant_id => call.reply(StatusCode::OK, Some(json!({
                    "@odata.context": call.context(base, "chats/$entity"),
                    "id": c.chat.id,
                    "topic": c.chat.topic,
                    "createdDateTime": c.chat.created,
                    "lastUpdatedDateTime": c.chat.created,
                    "chatType": c.chat.chat_type,
                    "webUrl": format!("https://teams.microsoft.com/l/chat/{}/0?tenantId={}", c.chat.id, c.chat.tenant_id),
                    "tenantId": c.chat.tenant_id,
                }))),
                _ => call.error(StatusCode::NOT_FOUND, "NotFound", "Chat not found or the signed-in user has no access to it."),
            }
        }
        ("GET", Some("chats"), Some(id), Some("members"), 3) => {
            if !has_scope(
                &grant,
                &[
                    "Chat.ReadWrite.All",
                    "Chat.Read.All",
                    "ChatMember.Read.All",
                    "ChatMember.Read",
                    "Chat.ReadBasic",
                    "Chat.Read",
                ],
            ) {
                return missing_scope(
                    call,
                    &grant,
                    &["ChatMember.Read", "Chat.ReadBasic", "Chat.ReadWrite.All"],
                );
            }
            if let Some(r) = limit(st, call, &grant, Some(id), 3.0) {
                return r;
            }
            match st.chats.get(id) {
                Some(c) if c.chat.tenant_id == grant.tenant_id => {
                    let value: Vec<Value> = c
                        .chat
                        .members
                        .iter()
                        .filter(|m| !c.removed.contains(&m.user_id))
                        .map(|m| json!({
                            "@odata.type": "#microsoft.graph.aadUserConversationMember",
                            "id": format!("MCMj{}", m.user_id.replace('-', "")),
                            "roles": if m.owner { json!(["owner"]) } else if m.tenant_id != c.chat.tenant_id { json!(["guest"]) } else { json!([]) },
                            "displayName": m.display_name,
                            "visibleHistoryStartDateTime": "0001-01-01T00:00:00Z",
                            "userId": m.user_id,
                            "email": m.upn,
                            "tenantId": m.tenant_id,
                        }))
                        .collect();
                    call.reply(StatusCode::OK, Some(json!({
                        "@odata.context": call.context(base, &format!("chats('{}')/members", c.chat.id)),
                        "@odata.count": value.len(),
                        "value": value,
                    })))
                }
                _ => call.error(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    "Chat not found or the signed-in user has no access to it.",
                ),
            }
        }
        ("POST", Some("chats"), Some(id), Some("removeAllAccessForUser"), 3) => {
            remove(st, call, &grant, id, headers, body, action)
        }
        (_, Some("chats"), Some(_), Some("removeAllAccessForUser"), 3) => call.error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "The HTTP method is not allowed for this resource; use POST.",
        ),
        _ => call.error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!(
                "Resource not found for the segment '{}'.",
                seg(0).unwrap_or("")
            ),
        ),
    }
}

fn get_user(st: &mut State, base: &str, call: &Call, grant: &Grant, key: &str) -> Response {
    if !has_scope(
        grant,
        &[
            "User.ReadBasic.All",
            "User.Read.All",
            "User.ReadWrite.All",
            "Directory.Read.All",
        ],
    ) {
        return missing_scope(call, grant, &["User.ReadBasic.All", "User.Read.All"]);
    }
    let user = st
        .user_by_id(key)
        .or_else(|| st.user_by_upn(key))
        .filter(|u| u.tenant_id == grant.tenant_id)
        .cloned();
    match user {
        Some(u) => call.reply(StatusCode::OK, Some(json!({
            "@odata.context": call.context(base, "users(id)/$entity"),
            "id": u.id,
        }))),
        None => call.error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!("Resource '{key}' does not exist or one of its queried reference-property objects are not present."),
        ),
    }
}

/// Applies the per-user, per-chat and per-app limits; `weight` scales the
/// per-user limit for cheap reads. `Some` is the 429 to answer.
fn limit(
    st: &mut State,
    call: &Call,
    grant: &Grant,
    chat: Option<&str>,
    weight: f64,
) -> Option<Response> {
    let r = st.cfg.rate_limit;
    let now = Instant::now();
    let mut wait = Duration::ZERO;
    let user_rate = r * weight;
    if let Err(w) = st.take(
        format!("user/{}", grant.user_id),
        user_rate,
        user_rate.max(2.0),
        now,
    ) {
        wait = wait.max(w);
    }
    if let Some(c) = chat
        // One request per second per chat, without a burst.
        && let Err(w) = st.take(format!("chat/{c}"), r.max(1.0), 1.0, now)
    {
        wait = wait.max(w);
    }
    if let Err(w) = st.take(
        format!("app/{}/{}", grant.client_id, grant.tenant_id),
        30.0 * r,
        30.0 * r,
        now,
    ) {
        wait = wait.max(w);
    }
    if wait.is_zero() {
        return None;
    }
    st.throttled += 1;
    let mut resp = call.error(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        "Too many requests. Please retry after a while.",
    );
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_str(&secs.to_string()).expect("header"),
    );
    Some(resp)
}

fn remove(
    st: &mut State,
    call: &Call,
    grant: &Grant,
    chat_id: &str,
    headers: &HeaderMap,
    body: &[u8],
    action: &Action,
) -> Response {
    if !has_scope(grant, &["Chat.ReadWrite.All"]) {
        return missing_scope(call, grant, &["Chat.ReadWrite.All"]);
    }
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_body {
        return call.error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BadRequest",
            "Content-Type must be application/json.",
        );
    }
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return call.error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("Invalid request body: {e}"),
            );
        }
    };
    let user = &v["user"];
    let (Some(user_id), Some(tenant_id)) = (user["id"].as_str(), user["tenantId"].as_str()) else {
        return call.error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "The request body must have user.id and user.tenantId.",
        );
    };
    let refuse = |st: &mut State, status: u16, code: &str, message: &str| {
        st.refused.push(Refusal {
            chat_id: chat_id.to_owned(),
            user_id: user_id.to_owned(),
            tenant_id: tenant_id.to_owned(),
            status,
            code: code.to_owned(),
            message: message.to_owned(),
            client_request_id: call.client_request_id.clone(),
            request_id: call.request_id.clone(),
        });
        call.error(
            StatusCode::from_u16(status).expect("a status of ours"),
            code,
            message,
        )
    };
    // Microsoft's Teams admin article sends the identity without an
    // `@odata.type`; one that is there must be this one.
    let odata = user["@odata.type"].as_str();
    if odata.is_some_and(|t| t.trim_start_matches('#') != "microsoft.graph.teamworkUserIdentity") {
        return refuse(
            st,
            400,
            "BadRequest",
            "user must be a microsoft.graph.teamworkUserIdentity.",
        );
    }
    if uuid::Uuid::try_parse(user_id).is_err() || uuid::Uuid::try_parse(tenant_id).is_err() {
        return refuse(
            st,
            400,
            "BadRequest",
            "user.id and user.tenantId must be GUIDs.",
        );
    }
    let user_id = user_id.to_ascii_lowercase();
    let tenant_id = tenant_id.to_ascii_lowercase();
    if tenant_id != grant.tenant_id {
        return refuse(
            st,
            403,
            "Forbidden",
            "The user's tenant is not the tenant of the signed-in user.",
        );
    }
    if let Some(r) = limit(st, call, grant, Some(chat_id), 1.0) {
        return r;
    }
    let assume = st.cfg.assume;
    let Some(c) = st
        .chats
        .get(chat_id)
        .filter(|c| c.chat.tenant_id == grant.tenant_id)
    else {
        return refuse(
            st,
            404,
            "NotFound",
            "Chat not found or the signed-in user has no access to it.",
        );
    };
    // Someone of another tenant named with this tenant's id.
    let member = c.chat.members.iter().find(|m| m.user_id == user_id);
    let outsider = member.is_some_and(|m| m.tenant_id != tenant_id)
        || st
            .user_by_id(&user_id)
            .is_some_and(|u| u.tenant_id != tenant_id);
    if outsider {
        let status = assume.outsider;
        return refuse(
            st,
            status,
            if status == 404 {
                "NotFound"
            } else {
                "BadRequest"
            },
            &format!("The user {user_id} is not a user of the tenant {tenant_id}."),
        );
    }
    let meeting = c.chat.chat_type == "meeting";
    if meeting && assume.meeting == 400 {
        return refuse(
            st,
            400,
            "BadRequest",
            "removeAllAccessForUser is not supported for meeting chats (assumed: --assume meeting=400).",
        );
    }
    let was_member = member.is_some();
    let already = c.removed.contains(&user_id);
    if !was_member && assume.non_member == 404 {
        return refuse(st, 404, "NotFound", "The user is not a member of the chat.");
    }
    if already && assume.repeat == 404 {
        return refuse(
            st,
            404,
            "NotFound",
            "The user is not a member of the chat (assumed for a repeated removal: --assume repeat=404).",
        );
    }
    let changed = was_member && !already;
    if changed {
        let c = st.chats.get_mut(chat_id).expect("found above");
        c.removed.push(user_id.clone());
    }
    st.removals.push(Removal {
        chat_id: chat_id.to_owned(),
        user_id,
        tenant_id,
        client_request_id: call.client_request_id.clone(),
        request_id: call.request_id.clone(),
        at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        changed,
        reply_lost: matches!(action, Action::DropAfter),
    });
    call.reply(StatusCode::NO_CONTENT, None)
}
