//! The key the emulated Entra signs its tokens with, and the JSON Web Key
//! Set it publishes at `jwks_uri`, so that a client that checks an id
//! token's signature (as OpenID Connect libraries do) can.
//!
//! Entra signs with RS256 under a 2048-bit RSA key named by `kid`; so
//! does the emulator. One key per process: generating an RSA key takes
//! tens of milliseconds and tests start many emulators.

use std::sync::OnceLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest as _;

struct Key {
    pair: RsaKeyPair,
    kid: String,
    jwk: Value,
}

fn b64u(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn key() -> &'static Key {
    static KEY: OnceLock<Key> = OnceLock::new();
    KEY.get_or_init(|| {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
        let public = pair.public_key();
        let n = public.modulus().big_endian_without_leading_zero().to_vec();
        let e = public.exponent().big_endian_without_leading_zero().to_vec();
        // A key id derived from the key, as Entra's are (a thumbprint).
        let kid = b64u(&sha2::Sha256::digest(&n)[..20]);
        let jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": kid,
            "n": b64u(&n),
            "e": b64u(&e),
        });
        Key { pair, kid, jwk }
    })
}

/// A compact JWS: `header.claims.signature`, RS256 with the published
/// key.
pub fn sign(claims: &Value) -> String {
    let k = key();
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": k.kid});
    let input = format!(
        "{}.{}",
        b64u(header.to_string().as_bytes()),
        b64u(claims.to_string().as_bytes())
    );
    let mut sig = vec![0u8; k.pair.public_modulus_len()];
    k.pair
        .sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            input.as_bytes(),
            &mut sig,
        )
        .expect("RSA signing");
    format!("{input}.{}", b64u(&sig))
}

/// The key set, as `GET {jwks_uri}` answers it.
pub fn jwks(issuer: &str) -> Value {
    let mut jwk = key().jwk.clone();
    jwk["issuer"] = json!(issuer);
    json!({ "keys": [jwk] })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};

    #[test]
    fn a_token_verifies_against_the_published_key() {
        let token = sign(&json!({"sub": "x"}));
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let set = jwks("https://issuer");
        let k = &set["keys"][0];
        let dec = |s: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s.as_str().unwrap())
                .unwrap()
        };
        let header: Value = serde_json::from_slice(&dec(&json!(parts[0]))).unwrap();
        assert_eq!(header["kid"], k["kid"]);
        assert_eq!(header["alg"], "RS256");
        let public = RsaPublicKeyComponents {
            n: dec(&k["n"]),
            e: dec(&k["e"]),
        };
        let sig = dec(&json!(parts[2]));
        let input = format!("{}.{}", parts[0], parts[1]);
        public
            .verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &sig)
            .expect("signature verifies");
        // A changed claim no longer verifies.
        let forged = format!("{}.{}", parts[0], b64u(br#"{"sub":"y"}"#));
        assert!(
            public
                .verify(&RSA_PKCS1_2048_8192_SHA256, forged.as_bytes(), &sig)
                .is_err()
        );
    }
}
