//! The emulator over HTTPS, as clients that are not chatevict see it: a
//! standard OpenID Connect library completes discovery, the device code
//! flow, a refresh and the authorization code flow with PKCE and a nonce,
//! verifying the id token's signature against the published keys; and
//! chatevict's own binary signs in, checks its session and removes a
//! plan's targets over `--tls` with `--ca-cert`.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chatevict::config::CaCert;
use chatevict::emulator::tls::Tls;
use chatevict::emulator::{Emulator, Profile, Seed};
use chatevict::graph::http::Http;
use common::emu;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreDeviceAuthorizationResponse, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, CsrfToken, DeviceAuthorizationUrl, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

/// Microsoft Graph Command Line Tools: the client the emulated tenant
/// knows and has consented.
const CLIENT: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";

struct Tenant {
    _dir: tempfile::TempDir,
    emu: Emulator,
    http: Http,
    ca: PathBuf,
    export: PathBuf,
}

/// An HTTPS emulator seeded from a generated export, its certificate in
/// a file, and an HTTP client that trusts it (and nothing else extra).
async fn tenant() -> Tenant {
    let dir = tempfile::tempdir().unwrap();
    let export = emu::write_export(dir.path(), 3);
    let tls = Tls::self_signed().unwrap();
    let ca = dir.path().join("emulator-cert.pem");
    std::fs::write(&ca, &tls.cert_pem).unwrap();
    let emu = Emulator::start_with(
        "127.0.0.1:0".parse().unwrap(),
        emu::config(Profile::None, 20.0),
        Seed::from_exports(std::slice::from_ref(&export)).unwrap(),
        Some(tls),
    )
    .await
    .unwrap();
    assert!(emu.url().starts_with("https://"), "{}", emu.url());
    let http = Http::new(
        std::time::Duration::from_secs(30),
        Some(&CaCert::read(&ca).unwrap()),
    )
    .unwrap();
    Tenant {
        _dir: dir,
        emu,
        http,
        ca,
        export,
    }
}

impl Tenant {
    /// The issuer as a client configured by hand would write it: by name,
    /// `localhost`, not the address the emulator listens on.
    fn issuer(&self) -> IssuerUrl {
        IssuerUrl::new(format!(
            "https://localhost:{}/{}/v2.0",
            self.emu.addr.port(),
            emu::HOME
        ))
        .unwrap()
    }

    fn graph_scope(&self) -> Scope {
        Scope::new("https://graph.microsoft.com/User.Read".into())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openid_connect_library_signs_in_with_a_device_code_and_refreshes() {
    let t = tenant().await;
    let meta = CoreProviderMetadata::discover_async(t.issuer(), &t.http)
        .await
        .expect("discovery over https, issuer and keys");
    // Every URL handed out uses the name the client used.
    assert!(
        meta.token_endpoint()
            .unwrap()
            .as_str()
            .starts_with(&format!("https://localhost:{}/", t.emu.addr.port())),
        "{:?}",
        meta.token_endpoint()
    );
    assert_eq!(meta.jwks().keys().len(), 1, "the signing key is published");
    let device_url = DeviceAuthorizationUrl::new(format!(
        "https://localhost:{}/{}/oauth2/v2.0/devicecode",
        t.emu.addr.port(),
        emu::HOME
    ))
    .unwrap();
    let client = CoreClient::from_provider_metadata(meta, ClientId::new(CLIENT.into()), None)
        .set_device_authorization_url(device_url)
        .set_auth_type(openidconnect::AuthType::RequestBody);
    let details: CoreDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("openid".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("offline_access".into()))
        .add_scope(t.graph_scope())
        .request_async(&t.http)
        .await
        .expect("a device code");
    assert!(
        details
            .verification_uri()
            .as_str()
            .starts_with("https://localhost:"),
        "{:?}",
        details.verification_uri()
    );
    let token = client
        .exchange_device_access_token(&details)
        .unwrap()
        .request_async(&t.http, tokio::time::sleep, None)
        .await
        .expect("the device code is redeemed once approved");
    let id_token = token.id_token().expect("an id token");
    let claims = id_token
        .claims(&client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
        .expect("the id token verifies against the published key");
    assert_eq!(
        claims.preferred_username().map(|u| u.as_str()),
        Some("admin@contoso.com")
    );
    assert_eq!(claims.issuer(), &t.issuer());

    // A refresh, with rotation: the new refresh token differs.
    let refresh = token.refresh_token().expect("offline_access").clone();
    let again = client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&t.http)
        .await
        .expect("the refresh token is redeemed");
    assert_ne!(again.access_token().secret(), token.access_token().secret());
    assert_ne!(
        again.refresh_token().map(|r| r.secret()),
        Some(refresh.secret())
    );

    // A token signed by anyone else does not verify: the check is real.
    let forged = forge(id_token.to_string().as_str());
    let forged: openidconnect::core::CoreIdToken = forged.parse().unwrap();
    assert!(
        forged
            .claims(&client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
            .is_err(),
        "a changed id token must fail its signature check"
    );
}

/// The same token with its claims changed and its signature kept.
fn forge(jwt: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(parts[1]).unwrap()).expect("claims are JSON");
    claims["preferred_username"] = "mallory@contoso.com".into();
    format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(claims.to_string()),
        parts[2]
    )
}

/// The browser's part of the authorization code flow: the emulator
/// approves at once and redirects back. Returns the code, after checking
/// that `state` came back unchanged.
async fn authorize(
    t: &Tenant,
    client: &CodeClient,
    challenge: PkceCodeChallenge,
) -> (AuthorizationCode, Nonce) {
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("offline_access".into()))
        .add_scope(t.graph_scope())
        .set_pkce_challenge(challenge)
        .url();
    let r = t.http.client.get(url.as_str()).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let back = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let param = |k: &str| {
        back.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("state").as_deref(), Some(csrf.secret().as_str()));
    (
        AuthorizationCode::new(param("code").expect("a code")),
        nonce,
    )
}

type CodeClient = openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openid_connect_library_completes_the_authorization_code_flow_with_pkce_and_a_nonce() {
    let t = tenant().await;
    let meta = CoreProviderMetadata::discover_async(t.issuer(), &t.http)
        .await
        .unwrap();
    let client: CodeClient =
        CoreClient::from_provider_metadata(meta, ClientId::new(CLIENT.into()), None)
            .set_redirect_uri(RedirectUrl::new("http://localhost:8400/".into()).unwrap())
            .set_auth_type(openidconnect::AuthType::RequestBody);

    // A code redeemed with another verifier than its challenge's: refused.
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (code, _) = authorize(&t, &client, challenge).await;
    let (_, other) = PkceCodeChallenge::new_random_sha256();
    let refused = client
        .exchange_code(code)
        .unwrap()
        .set_pkce_verifier(other)
        .request_async(&t.http)
        .await;
    assert!(refused.is_err(), "a wrong code_verifier must be refused");

    // With its own verifier: tokens, and an id token that carries the
    // nonce sent.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (code, nonce) = authorize(&t, &client, challenge).await;
    let token = client
        .exchange_code(code)
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&t.http)
        .await
        .expect("the code is redeemed with its verifier");
    let id_token = token.id_token().expect("an id token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("signature, issuer, audience and nonce check out");
    assert_eq!(claims.nonce().map(|n| n.secret()), Some(nonce.secret()));
    // Any other nonce (a replayed id token) is refused by the library.
    assert!(
        id_token
            .claims(&client.id_token_verifier(), &Nonce::new_random())
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_trust_the_certificate_is_told_how_to() {
    let t = tenant().await;
    let plain = Http::new(std::time::Duration::from_secs(30), None).unwrap();
    let err = CoreProviderMetadata::discover_async(t.issuer(), &plain)
        .await
        .expect_err("an untrusted certificate");
    let mut text = err.to_string();
    let mut src = std::error::Error::source(&err);
    while let Some(s) = src {
        text.push_str(&format!(": {s}"));
        src = s.source();
    }
    assert!(text.contains("--ca-cert"), "{text}");
    assert!(text.contains("certificate"), "{text}");
}

/// Runs the binary with the test's state directory and the emulator's
/// URLs; `ca` adds `--ca-cert`.
fn chatevict(t: &Tenant, state: &Path, ca: bool, args: &[&str]) -> (i32, String, String) {
    let url = format!("https://localhost:{}/", t.emu.addr.port());
    let mut c = Command::new(env!("CARGO_BIN_EXE_chatevict"));
    c.args(args)
        .env("XDG_STATE_HOME", state)
        .env("XDG_CONFIG_HOME", state.join("config"))
        .env("CHATEVICT_LOGIN_URL", &url)
        .env("CHATEVICT_GRAPH_URL", &url)
        .env_remove("CHATEVICT_CA_CERT")
        .stdin(Stdio::null());
    if ca {
        c.arg("--ca-cert").arg(&t.ca);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// The binary blocks the test's own thread; the emulator serves from the
// runtime's two workers meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chatevict_signs_in_checks_and_applies_over_https_with_its_ca_cert() {
    let t = tenant().await;
    let state = t._dir.path().join("state");
    let plan = t._dir.path().join("plan.json");
    let (code, _, err) = common::run(&[
        "plan",
        "-q",
        t.export.to_str().unwrap(),
        "-o",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");

    // Without the certificate: refused, and told which flag fixes it.
    let (code, _, err) = chatevict(&t, &state, false, &["login", "--tenant", "contoso.com"]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("--ca-cert"), "{err}");
    assert!(t.emu.shared.state.lock().unwrap().access_tokens.is_empty());

    let (code, out, err) = chatevict(&t, &state, true, &["login", "--tenant", "contoso.com"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains(&format!(
            "https://localhost:{}/devicelogin",
            t.emu.addr.port()
        )),
        "the device login page, as the client reached it: {err}"
    );

    let (code, out, err) = chatevict(&t, &state, true, &["whoami", "--tenant", "contoso.com"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("admin@contoso.com"), "{out}");
    assert!(out.contains("the token works with Graph"), "{out}");

    let (code, out, err) = chatevict(
        &t,
        &state,
        true,
        &["apply", plan.to_str().unwrap(), "--yes"],
    );
    assert_eq!(code, 0, "{out}{err}");
    // Exactly the plan's targets were removed, over HTTPS.
    let plan: serde_json::Value = serde_json::from_slice(&std::fs::read(&plan).unwrap()).unwrap();
    let want: HashSet<(String, String, String)> = {
        let st = t.emu.shared.state.lock().unwrap();
        plan["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                let id = x["user_id"].as_str().map(str::to_owned).unwrap_or_else(|| {
                    st.user_by_upn(x["user_upn"].as_str().unwrap())
                        .unwrap()
                        .id
                        .clone()
                });
                (
                    x["chat_id"].as_str().unwrap().to_owned(),
                    id,
                    x["tenant_id"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let sent: HashSet<(String, String, String)> = t
        .emu
        .removals()
        .iter()
        .map(|r| (r.chat_id.clone(), r.user_id.clone(), r.tenant_id.clone()))
        .collect();
    assert_eq!(want.len(), 6);
    assert_eq!(sent, want);
}

/// `chatevict emulator --tls`: says `https`, writes its certificate where
/// asked, and answers a client that trusts that file (and no other).
#[test]
fn the_emulator_command_serves_https_with_the_certificate_it_writes() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let mut child = Command::new(env!("CARGO_BIN_EXE_chatevict"))
        .args(["emulator", "--listen", "127.0.0.1:0", "--tls", "--tls-cert"])
        .arg(&cert)
        .env("XDG_STATE_HOME", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    assert!(url.starts_with("https://127.0.0.1:"), "{line}");
    let pem = std::fs::read_to_string(&cert).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (trusted, untrusted) = rt.block_on(async {
        let with = Http::new(
            std::time::Duration::from_secs(30),
            Some(&CaCert::read(&cert).unwrap()),
        )
        .unwrap();
        let without = Http::new(std::time::Duration::from_secs(30), None).unwrap();
        let state = format!("{url}/_emulator/state");
        (
            with.client
                .get(&state)
                .send()
                .await
                .map(|r| r.status().as_u16()),
            without
                .client
                .get(&state)
                .send()
                .await
                .map(|r| r.status().as_u16()),
        )
    });
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("certificate: {}", cert.display())),
        "{err}"
    );
    assert!(err.contains("--ca-cert"), "{err}");
    assert_eq!(trusted.unwrap(), 200);
    assert!(
        untrusted.is_err(),
        "a client without the certificate is refused"
    );
}
