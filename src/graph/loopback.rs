//! The loopback end of the browser sign-in: a one-request web server on
//! `127.0.0.1:PORT` that Entra sends the browser back to.
//!
//! It answers the browser with a short page and hands the full address
//! (with `code` and `state`) to the sign-in. Over SSH, the admin forwards
//! the port (`ssh -L PORT:localhost:PORT host`) or pastes the address
//! instead.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::response::Html;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A listener waiting for the browser.
pub struct Loopback {
    pub port: u16,
    returned: mpsc::Receiver<String>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl Loopback {
    /// Listens on `127.0.0.1:port` (0 picks a free port).
    pub async fn bind(port: u16) -> std::io::Result<Loopback> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
        let port = listener.local_addr()?.port();
        let (tx, returned) = mpsc::channel(4);
        let (shutdown, mut rx) = tokio::sync::watch::channel(false);
        let app = Router::new().fallback(landing).with_state(tx);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.changed().await;
                })
                .await;
        });
        Ok(Loopback {
            port,
            returned,
            shutdown,
        })
    }

    /// The redirect URI to register with the request.
    pub fn redirect_uri(&self) -> String {
        format!("http://localhost:{}/", self.port)
    }

    /// The address the browser came back to.
    pub async fn next(&mut self) -> Option<String> {
        self.returned.recv().await
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

async fn landing(
    State(tx): State<mpsc::Sender<String>>,
    OriginalUri(uri): OriginalUri,
) -> Html<&'static str> {
    let has_answer = uri
        .query()
        .is_some_and(|q| q.contains("code=") || q.contains("error="));
    if !has_answer {
        return Html("<!doctype html><title>chatevict</title><p>Waiting for the sign-in.</p>");
    }
    let _ = tx.send(format!("http://localhost{uri}")).await;
    Html(
        "<!doctype html><title>chatevict</title>\
         <p>chatevict has your sign-in answer. You can close this tab and go back to the terminal.</p>",
    )
}
