//! Serving the emulator's router over HTTP/1.1, with one thing axum's own
//! server cannot do: close a connection without any reply, as a network
//! fault does.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::Router;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Marks a response that must not be sent: the connection is closed
/// instead.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

impl DropConnection {
    pub fn response() -> Response {
        let mut r = ().into_response();
        r.extensions_mut().insert(DropConnection);
        r
    }
}

#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

/// Accepts connections until `shutdown` fires; with `tls`, each is a TLS
/// session first (a failed handshake closes that connection only).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let Ok((stream, _peer)): Result<(tokio::net::TcpStream, SocketAddr), _> = accepted else {
            continue;
        };
        let router = router.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, router).await,
                Some(acceptor) => {
                    if let Ok(s) = acceptor.accept(stream).await {
                        serve_connection(s, router).await;
                    }
                }
            }
        });
    }
}

/// Serves one connection's requests with the router, HTTP/1.1.
async fn serve_connection<S>(stream: S, router: Router)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let router = router.clone();
        async move {
            let resp = router
                .oneshot(req.map(axum::body::Body::new))
                .await
                .unwrap_or_else(|e: Infallible| match e {});
            if resp.extensions().get::<DropConnection>().is_some() {
                // hyper closes the connection when the service fails.
                return Err(Dropped);
            }
            Ok(resp)
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), svc)
        .await;
}
