//! One HTTP client for sign-in and Graph, and what a Graph reply carries.
//!
//! Every Graph request gets a fresh `client-request-id`; every reply's
//! `request-id` and `Date` are kept, since Microsoft support asks for
//! them. A transport error is sorted by whether the request may have
//! reached the server: a refused connection certainly did not, a timeout
//! or a dropped connection may have, and the runner treats the two
//! differently (retry freely, or record the outcome as unknown).

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use serde::Deserialize;

use super::pace;

/// The client. Redirects are never followed: neither the token endpoint
/// nor Graph has a reason to redirect a POST, and following one would
/// send a token where it was not meant to go.
#[derive(Debug, Clone)]
pub struct Http {
    pub client: reqwest::Client,
}

impl Http {
    /// A client that trusts the system's roots and the PEM certificates
    /// in `ca`, if any. Proxies come from `HTTPS_PROXY`, `ALL_PROXY` and
    /// `NO_PROXY`, as reqwest reads them.
    pub fn new(
        timeout: Duration,
        ca: Option<&super::settings::CaCert>,
    ) -> Result<Http, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("chatevict/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout);
        if let Some(ca) = ca {
            builder = builder.tls_certs_merge(reqwest::Certificate::from_pem_bundle(&ca.pem)?);
        }
        Ok(Http {
            client: builder.build()?,
        })
    }

    /// The client the settings describe.
    pub fn for_settings(s: &super::settings::Settings) -> Result<Http, reqwest::Error> {
        Http::new(s.timeout, s.ca_cert.as_ref())
    }

    /// Adapts the client to the `oauth2` crate's request type.
    pub async fn oauth(&self, req: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, SendError> {
        let (parts, body) = req.into_parts();
        let url = parts.uri.to_string();
        let rb = self
            .client
            .request(parts.method, url)
            .headers(parts.headers)
            .body(body);
        let resp = rb.send().await.map_err(SendError::from_reqwest)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(SendError::from_reqwest)?;
        let mut out = oauth2::HttpResponse::new(bytes.to_vec());
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        Ok(out)
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for Http {
    type Error = SendError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<oauth2::HttpResponse, SendError>> + Send + 'c>,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(self.oauth(request))
    }
}

/// A reply from Graph, whatever its status.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// The server's id for the request (`request-id`).
    pub request_id: Option<String>,
    /// The server's `Date` header, as sent.
    pub date: Option<String>,
    /// `Retry-After`, as a delay from now.
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

impl Reply {
    pub async fn read(resp: reqwest::Response) -> Result<Reply, SendError> {
        let status = resp.status().as_u16();
        let h = resp.headers();
        let request_id = header(h, "request-id");
        let date = header(h, "date");
        let retry_after = h
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| pace::parse_retry_after(v, std::time::SystemTime::now()));
        let body = resp
            .bytes()
            .await
            .map_err(SendError::from_reqwest)?
            .to_vec();
        Ok(Reply {
            status,
            request_id,
            date,
            retry_after,
            body,
        })
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The Graph error in the body, if there is one.
    pub fn error(&self) -> Option<GraphError> {
        let e: ErrorBody = serde_json::from_slice(&self.body).ok()?;
        let mut g = e.error;
        if g.request_id().is_none()
            && let Some(r) = &self.request_id
        {
            g.inner.get_or_insert_with(Default::default).request_id = Some(r.clone());
        }
        Some(g)
    }
}

fn header(h: &HeaderMap<HeaderValue>, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(200).collect())
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: GraphError,
}

/// Graph's error object: `{"error": {"code", "message", "innerError": {…}}}`.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct GraphError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, rename = "innerError", alias = "innererror")]
    pub inner: Option<InnerError>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct InnerError {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default, rename = "request-id")]
    pub request_id: Option<String>,
    #[serde(default, rename = "client-request-id")]
    pub client_request_id: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
}

impl GraphError {
    pub fn request_id(&self) -> Option<&str> {
        self.inner.as_ref()?.request_id.as_deref()
    }
}

/// A request that got no HTTP reply.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// The request never left: the connection was refused or could not be
    /// made. Safe to retry.
    #[error("could not connect: {0}")]
    NotSent(String),
    /// The request may have reached the server: it timed out, or the
    /// connection dropped before a complete reply.
    #[error("{0}")]
    Unknown(String),
}

impl SendError {
    pub fn from_reqwest(e: reqwest::Error) -> SendError {
        // The URL is left out: it can be long, and says nothing new.
        let e = e.without_url();
        let mut msg = if e.is_timeout() {
            "timed out waiting for the server".to_owned()
        } else {
            e.to_string()
        };
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        if msg.contains("invalid peer certificate") {
            msg.push_str(
                "\nThe server's certificate is not trusted here. Behind a TLS-inspecting \
                 proxy, or against the emulator over HTTPS, give its root certificate \
                 (--ca-cert FILE, CHATEVICT_CA_CERT, or ca_cert in the config file).",
            );
        }
        if e.is_connect() && !e.is_timeout() {
            SendError::NotSent(msg)
        } else {
            SendError::Unknown(msg)
        }
    }

    pub fn may_have_been_sent(&self) -> bool {
        matches!(self, SendError::Unknown(_))
    }
}

/// A fresh `client-request-id`.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_error_bodies_are_read_with_their_request_id() {
        let r = Reply {
            status: 404,
            request_id: Some("hdr-id".into()),
            date: None,
            retry_after: None,
            body: br#"{"error":{"code":"NotFound","message":"Chat not found","innerError":{"date":"2026-11-29T07:00:00","request-id":"body-id","client-request-id":"c1"}}}"#.to_vec(),
        };
        let e = r.error().unwrap();
        assert_eq!(e.code, "NotFound");
        assert_eq!(e.request_id(), Some("body-id"));
        let r = Reply {
            body: br#"{"error":{"code":"Forbidden","message":"no"}}"#.to_vec(),
            ..r
        };
        assert_eq!(r.error().unwrap().request_id(), Some("hdr-id"));
        let r = Reply {
            body: b"<html>bad gateway</html>".to_vec(),
            ..r
        };
        assert!(r.error().is_none());
    }
}
