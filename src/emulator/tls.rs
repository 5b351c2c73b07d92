//! HTTPS for the emulator: a self-signed certificate for the loopback
//! names, made at start, so that clients which insist on `https` (MSAL
//! refuses an `http` authority) can be pointed at it.

use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// The names the certificate is valid for: what a client on the same
/// machine types to reach a loopback listener.
pub const NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A certificate and the acceptor that serves it.
#[derive(Clone)]
pub struct Tls {
    /// The certificate, PEM: what a client adds as a trusted root.
    pub cert_pem: String,
    pub acceptor: TlsAcceptor,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls { .. }")
    }
}

impl Tls {
    /// A fresh self-signed certificate (ECDSA P-256) for [`NAMES`].
    pub fn self_signed() -> Result<Tls, String> {
        let names: Vec<String> = NAMES.iter().map(|s| (*s).to_owned()).collect();
        let ck = rcgen::generate_simple_self_signed(names)
            .map_err(|e| format!("cannot make a certificate: {e}"))?;
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup: {e}"))?
            .with_no_client_auth()
            .with_single_cert(vec![ck.cert.der().clone()], key)
            .map_err(|e| format!("TLS setup: {e}"))?;
        // The server speaks HTTP/1.1 only; say so, so that a client
        // offering h2 does not try it.
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            cert_pem: ck.cert.pem(),
            acceptor: TlsAcceptor::from(Arc::new(cfg)),
        })
    }
}
