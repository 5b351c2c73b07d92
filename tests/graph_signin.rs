//! Sign-in against the emulator over loopback HTTP: device code, browser
//! with PKCE, silent refresh with rotation, and Entra's error paths.

mod common;

use std::time::Duration;

use chatevict::emulator::Profile;
use chatevict::graph::auth::AuthError;
use chatevict::graph::cache::TokenCache;
use chatevict::graph::http::new_request_id;
use common::emu;
use serde_json::json;

fn entra(e: AuthError) -> chatevict::graph::entra::EntraError {
    match e {
        AuthError::Entra(e) => e,
        other => panic!("expected an Entra error, got {other}"),
    }
}

#[tokio::test]
async fn device_code_signs_in_and_the_session_is_cached_privately() {
    let d = tempfile::tempdir().unwrap();
    let mut cfg = emu::config(Profile::None, 1.0);
    cfg.auto_approve = Some(Duration::from_millis(1500));
    let emu = emu::start(&[], cfg).await;
    let s = emu::settings(&emu, "organizations");
    let cache = d.path().join("state/token-cache.json");
    let auth = emu::auth(&s, &cache);
    let dc = auth.start_device_code().await.unwrap();
    assert!(dc.message.contains(&dc.user_code), "{}", dc.message);
    assert!(dc.message.contains("/devicelogin"));
    let session = auth.finish_device_code(&dc).await.unwrap();
    let a = session.account().await;
    assert_eq!(a.username, "admin@contoso.onmicrosoft.com");
    assert_eq!(a.tenant_id.len(), 36);
    // The token works with Graph.
    let b = session.bearer().await.unwrap();
    let me = emu::graph(&s).me(&b, &new_request_id()).await.unwrap();
    assert_eq!(me.status, 200);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(&cache).unwrap();
    assert!(
        !text.contains(b.token.secret()),
        "the access token is never cached"
    );
}

#[tokio::test]
async fn device_code_declined_and_expired_stop_with_plain_words() {
    let emu = emu::start(&[], emu::config(Profile::None, 1.0)).await;
    emu.shared.state.lock().unwrap().cfg.auto_approve = None;
    let d = tempfile::tempdir().unwrap();
    let s = emu::settings(&emu, "organizations");
    let auth = emu::auth(&s, &d.path().join("c.json"));
    let dc = auth.start_device_code().await.unwrap();
    emu::control(&emu, "device/decline", json!({"user_code": dc.user_code})).await;
    let e = entra(auth.finish_device_code(&dc).await.err().unwrap());
    assert_eq!(e.error, "authorization_declined");
    assert!(e.to_string().contains("declined"), "{e}");

    emu.shared.state.lock().unwrap().cfg.device_code_lifetime = Duration::from_secs(2);
    let dc = auth.start_device_code().await.unwrap();
    let e = entra(auth.finish_device_code(&dc).await.err().unwrap());
    assert_eq!(e.error, "expired_token");
    assert!(e.to_string().contains("Run the sign-in again"), "{e}");
    assert!(
        !d.path().join("c.json").exists(),
        "nothing cached on failure"
    );
}

#[tokio::test]
async fn a_bad_device_code_is_refused_in_entras_shape() {
    let emu = emu::start(&[], emu::config(Profile::None, 1.0)).await;
    let r = reqwest::Client::new()
        .post(format!("{}organizations/oauth2/v2.0/token", emu.url()))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", chatevict::config::DEFAULT_CLIENT_ID),
            ("device_code", "not-a-code"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"], "bad_verification_code");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS")
    );
    assert!(v["error_codes"].is_array() && v["trace_id"].is_string());
    let e = chatevict::graph::entra::EntraError::new(
        v["error"].as_str().unwrap(),
        v["error_description"].as_str(),
    );
    assert!(e.explanation().is_some());
}

#[tokio::test]
async fn slow_down_lengthens_the_polling_interval_and_still_signs_in() {
    // The hostile profile answers the first poll with slow_down.
    let emu = emu::start(&[], emu::config(Profile::Hostile, 1.0)).await;
    let d = tempfile::tempdir().unwrap();
    let s = emu::settings(&emu, "organizations");
    let auth = emu::auth(&s, &d.path().join("c.json"));
    let dc = auth.start_device_code().await.unwrap();
    auth.finish_device_code(&dc).await.unwrap();
    // The emulator answers slow_down again to any poll sooner than the
    // lengthened interval (1 s + 5 s): exactly one means the client waited.
    assert_eq!(emu.shared.state.lock().unwrap().slow_downs, 1);
}

#[tokio::test]
async fn browser_sign_in_with_pkce_and_the_loopback_listener() {
    let emu = emu::start(&[], emu::config(Profile::None, 1.0)).await;
    let d = tempfile::tempdir().unwrap();
    let s = emu::settings(&emu, "contoso.onmicrosoft.com");
    let auth = emu::auth(&s, &d.path().join("c.json"));
    let mut lb = chatevict::graph::loopback::Loopback::bind(0).await.unwrap();
    let flow = auth.browser_start(&lb.redirect_uri()).unwrap();
    let q: Vec<(String, String)> = flow.url.query_pairs().into_owned().collect();
    let has = |k: &str, v: &str| q.iter().any(|(a, b)| a == k && b == v);
    assert!(has("code_challenge_method", "S256"));
    assert!(has("response_type", "code"));
    let scope = &q.iter().find(|(k, _)| k == "scope").unwrap().1;
    assert!(scope.contains("https://graph.microsoft.com/Chat.ReadWrite.All"));
    assert!(scope.contains("offline_access"));
    // The "browser" follows the redirect to the loopback listener.
    let location = emu::browser(flow.url.as_str()).await;
    let page = reqwest::get(location.replace("localhost", "127.0.0.1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("close this tab"));
    let returned = lb.next().await.unwrap();
    let session = auth.browser_finish(flow, &returned).await.unwrap();
    assert_eq!(
        session.account().await.username,
        "admin@contoso.onmicrosoft.com"
    );

    // A pasted address from another sign-in (wrong state) is refused.
    let flow = auth.browser_start(&lb.redirect_uri()).unwrap();
    let e = auth
        .browser_finish(flow, "http://localhost:1/?code=abc&state=forged")
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("state does not match"), "{e}");
}

#[tokio::test]
async fn silent_refresh_rotates_and_persists_the_refresh_token() {
    let emu = emu::start(&[], emu::config(Profile::None, 1.0)).await;
    let d = tempfile::tempdir().unwrap();
    let s = emu::settings(&emu, "organizations");
    let cache_path = d.path().join("c.json");
    let auth = emu::auth(&s, &cache_path);
    let session = emu::sign_in(&auth).await;
    let cache = TokenCache::new(cache_path.clone());
    let rt1 = cache
        .load()
        .unwrap()
        .unwrap()
        .refresh_token
        .secret()
        .clone();
    // A new process resumes silently.
    let resumed = emu::auth(&s, &cache_path).resume().await.unwrap();
    let rt2 = cache
        .load()
        .unwrap()
        .unwrap()
        .refresh_token
        .secret()
        .clone();
    assert_ne!(rt1, rt2, "rotated on refresh and saved");
    // After a 401, one refresh; a second caller with the same stale token
    // does not refresh again.
    let stale = resumed.bearer().await.unwrap();
    let fresh = resumed.refreshed(&stale).await.unwrap();
    let again = resumed.refreshed(&stale).await.unwrap();
    assert_ne!(stale.token.secret(), fresh.token.secret());
    assert_eq!(fresh.token.secret(), again.token.secret());
    let rt3 = cache
        .load()
        .unwrap()
        .unwrap()
        .refresh_token
        .secret()
        .clone();
    assert_ne!(rt2, rt3);
    drop(session);
    // Tokens are not in Debug output.
    assert!(!format!("{:?}", cache.load().unwrap().unwrap()).contains(&rt3));
}

#[tokio::test]
async fn every_common_entra_error_is_explained() {
    let emu = emu::start(&[], emu::config(Profile::None, 1.0)).await;
    let d = tempfile::tempdir().unwrap();
    let s = emu::settings(&emu, "organizations");
    let auth = emu::auth(&s, &d.path().join("c.json"));
    emu::sign_in(&auth).await;
    for (error, code, words) in [
        ("invalid_grant", 53003, "Conditional Access"),
        ("invalid_grant", 65001, "consent"),
        ("invalid_client", 7000218, "public client flows"),
        ("invalid_request", 90038, "another cloud"),
        ("invalid_grant", 700082, "sign in again"),
    ] {
        emu::control(
            &emu,
            "entra/fail-next",
            json!({"error": error, "code": code}),
        )
        .await;
        let e = entra(auth.resume().await.err().unwrap());
        assert_eq!(e.code, Some(code));
        assert!(e.to_string().contains(words), "{code}: {e}");
    }
    // A tenant the cloud does not know: 90002, from the emulator itself.
    let s = emu::settings(&emu, "nowhere.example");
    let e = entra(
        emu::auth(&s, &d.path().join("c2.json"))
            .start_device_code()
            .await
            .err()
            .unwrap(),
    );
    assert_eq!(e.code, Some(90002));
    assert!(e.to_string().contains("--cloud"), "{e}");
    // An expired refresh token: 700082, also from the emulator.
    emu.shared.state.lock().unwrap().cfg.refresh_token_lifetime = Duration::ZERO;
    let s = emu::settings(&emu, "organizations");
    let auth = emu::auth(&s, &d.path().join("c3.json"));
    emu::sign_in(&auth).await;
    let e = auth.resume().await.err().unwrap();
    assert!(e.needs_login());
    assert_eq!(entra(e).code, Some(700082));
}

#[tokio::test]
async fn a_saved_session_for_other_settings_is_not_used() {
    let emu = emu::start(&[], emu::config(Profile::None, 1.0)).await;
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("c.json");
    let s = emu::settings(&emu, "organizations");
    emu::sign_in(&emu::auth(&s, &cache)).await;
    let mut other = s.clone();
    other.client_id = "00000000-0000-4000-8000-000000000001".into();
    let e = emu::auth(&other, &cache).resume().await.err().unwrap();
    assert!(matches!(e, AuthError::NotSignedIn(_)), "{e}");
    // The library names no command: each face adds its own remedy.
    assert!(!e.to_string().contains("chatevict"), "{e}");
}

/// Entra says no where Entra would, with its own codes, and the client
/// explains each: an application the tenant does not know (700016),
/// permissions nobody consented to (65001), a scope that does not exist
/// or scopes of two resources (70011). Device codes carry the documented
/// codes (70016 pending, 70018 bad code, 70019 expired).
#[tokio::test]
async fn entra_refuses_with_its_documented_codes_and_each_is_explained() {
    let emu = emu::start(&[], emu::config(Profile::None, 1.0)).await;
    let d = tempfile::tempdir().unwrap();
    let s = emu::settings(&emu, "organizations");

    // An unknown client id.
    let mut other = s.clone();
    other.client_id = "3f0c8a52-7d1e-4b6a-9c2f-5e8d7a6b4c3d".into();
    let e = entra(
        emu::auth(&other, &d.path().join("a.json"))
            .start_device_code()
            .await
            .err()
            .unwrap(),
    );
    assert_eq!(
        (e.error.as_str(), e.code),
        ("unauthorized_client", Some(700016))
    );
    assert!(
        e.to_string()
            .contains("What it means: The application (client id) was not found"),
        "{e}"
    );

    // Consent withdrawn for the default client: the sign-in ends in 65001.
    emu::control(
        &emu,
        "consent",
        json!({"client_id": chatevict::config::DEFAULT_CLIENT_ID, "scopes": ["User.ReadBasic.All"]}),
    )
    .await;
    let auth = emu::auth(&s, &d.path().join("b.json"));
    let dc = auth.start_device_code().await.unwrap();
    let e = entra(auth.finish_device_code(&dc).await.err().unwrap());
    assert_eq!(e.code, Some(65001), "{e}");
    assert!(e.to_string().contains("admin consent"), "{e}");
    assert!(
        !d.path().join("b.json").exists(),
        "nothing cached on failure"
    );

    // Scopes Entra does not accept.
    let c = reqwest::Client::new();
    let url = format!("{}organizations/oauth2/v2.0/devicecode", emu.url());
    for scope in [
        "openid https://graph.microsoft.com/Chat.DoEverything.All",
        "https://graph.microsoft.com/User.Read https://management.azure.com/user_impersonation",
    ] {
        let r = c
            .post(&url)
            .form(&[
                ("client_id", chatevict::config::DEFAULT_CLIENT_ID),
                ("scope", scope),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{scope}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"], "invalid_scope", "{scope}");
        assert_eq!(v["error_codes"][0], 70011, "{scope}");
    }

    // Device codes: pending (70016), a bad one (70018), an expired one (70019).
    let token = format!("{}organizations/oauth2/v2.0/token", emu.url());
    let poll = |code: String| {
        let c = c.clone();
        let token = token.clone();
        async move {
            let r = c
                .post(&token)
                .form(&[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                    ("client_id", chatevict::config::DEFAULT_CLIENT_ID),
                    ("device_code", &code),
                ])
                .send()
                .await
                .unwrap();
            let v: serde_json::Value = r.json().await.unwrap();
            (
                v["error"].as_str().unwrap_or("").to_owned(),
                v["error_codes"][0].as_u64(),
            )
        }
    };
    emu::control(
        &emu,
        "consent",
        json!({"client_id": chatevict::config::DEFAULT_CLIENT_ID, "scopes": ["Chat.ReadWrite.All", "User.ReadBasic.All"]}),
    )
    .await;
    {
        let mut st = emu.shared.state.lock().unwrap();
        st.cfg.auto_approve = None;
        st.cfg.device_code_lifetime = Duration::from_secs(2);
    }
    let r = c
        .post(&url)
        .form(&[
            ("client_id", chatevict::config::DEFAULT_CLIENT_ID),
            (
                "scope",
                "openid https://graph.microsoft.com/Chat.ReadWrite.All",
            ),
        ])
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    let code = v["device_code"].as_str().unwrap().to_owned();
    assert_eq!(
        poll(code.clone()).await,
        ("authorization_pending".into(), Some(70016))
    );
    // Polling faster than the interval is not refused outside the hostile
    // profile: Entra does not document slow_down.
    assert_eq!(
        poll(code.clone()).await,
        ("authorization_pending".into(), Some(70016))
    );
    assert_eq!(emu.shared.state.lock().unwrap().slow_downs, 0);
    assert_eq!(
        poll("nonsense".into()).await,
        ("bad_verification_code".into(), Some(70018))
    );
    // Pending until the code's two seconds are up, then expired.
    let until = std::time::Instant::now() + Duration::from_secs(20);
    let last = loop {
        let got = poll(code.clone()).await;
        if got.0 != "authorization_pending" || std::time::Instant::now() > until {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(last, ("expired_token".into(), Some(70019)));
}

/// What OpenID Connect clients such as MSAL need: the id token echoes the
/// authorize request's `nonce`, and `client_info=1` gets `client_info`
/// (base64url `{"uid", "utid"}`), as Entra does.
#[tokio::test]
async fn the_id_token_echoes_the_nonce_and_client_info_is_returned() {
    use base64::Engine;
    use sha2::Digest;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let emu = emu::start(&[], emu::config(Profile::None, 1.0)).await;
    let verifier = "a".repeat(50);
    let challenge = b64.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let redirect = "http://localhost:1/";
    let mut url =
        url::Url::parse(&format!("{}organizations/oauth2/v2.0/authorize", emu.url())).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", chatevict::config::DEFAULT_CLIENT_ID)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", redirect)
        .append_pair(
            "scope",
            "openid profile offline_access https://graph.microsoft.com/User.Read",
        )
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("nonce", "n-0S6_WzA2Mj")
        .append_pair("state", "s1");
    let back = url::Url::parse(&emu::browser(url.as_str()).await).unwrap();
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let r = reqwest::Client::new()
        .post(format!("{}organizations/oauth2/v2.0/token", emu.url()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", chatevict::config::DEFAULT_CLIENT_ID),
            ("code", &code),
            ("redirect_uri", redirect),
            ("code_verifier", &verifier),
            ("client_info", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    let id = v["id_token"].as_str().unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(id.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    let info: serde_json::Value =
        serde_json::from_slice(&b64.decode(v["client_info"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(info["uid"], claims["oid"]);
    assert_eq!(info["utid"], claims["tid"]);
}

/// Every URL the emulator hands out uses the scheme, host and port the
/// client used (its Host header), not the listen address.
#[tokio::test]
async fn urls_follow_the_host_the_client_used() {
    let emu = emu::start(&[], emu::config(Profile::None, 1.0)).await;
    let port = emu.addr.port();
    let c = reqwest::Client::new();
    let via = format!("http://localhost:{port}");
    let d: serde_json::Value = c
        .get(format!(
            "{via}/organizations/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for k in [
        "token_endpoint",
        "authorization_endpoint",
        "device_authorization_endpoint",
        "jwks_uri",
        "issuer",
    ] {
        assert!(
            d[k].as_str().unwrap().starts_with(&format!("{via}/")),
            "{k}: {}",
            d[k]
        );
    }
    let dc: serde_json::Value = c
        .post(format!("{via}/organizations/oauth2/v2.0/devicecode"))
        .form(&[
            ("client_id", chatevict::config::DEFAULT_CLIENT_ID),
            ("scope", "openid User.Read"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(dc["verification_uri"], format!("{via}/devicelogin"));
    // A Host header that is no plain host and port is not echoed.
    let d: serde_json::Value = c
        .get(format!(
            "{}organizations/v2.0/.well-known/openid-configuration",
            emu.url()
        ))
        .header("host", "evil.example/<x>")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        d["issuer"]
            .as_str()
            .unwrap()
            .starts_with(&format!("http://127.0.0.1:{port}/")),
        "{}",
        d["issuer"]
    );
}
