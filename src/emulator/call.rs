//! One Graph request as the emulator's handlers see it, and how they
//! answer: Graph's headers (`request-id`, the echoed
//! `client-request-id`), its error shape and its `@odata.context`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The requests of one Graph call, as the handler sees them.
pub struct Call {
    pub request_id: String,
    pub client_request_id: Option<String>,
    pub version: String,
}

impl Call {
    /// A JSON body written by hand (a page whose JSON is broken on
    /// purpose cannot go through `Value`).
    pub fn reply_raw(&self, status: StatusCode, body: String) -> Response {
        let mut r = self.reply(status, None);
        *r.body_mut() = axum::body::Body::from(body);
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; odata.metadata=minimal"),
        );
        r
    }

    pub fn reply(&self, status: StatusCode, body: Option<Value>) -> Response {
        let mut r = match body {
            Some(b) => (status, axum::Json(b)).into_response(),
            None => status.into_response(),
        };
        let h = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&self.request_id) {
            h.insert("request-id", v);
        }
        if let Some(c) = self
            .client_request_id
            .as_deref()
            .and_then(|c| HeaderValue::from_str(c).ok())
        {
            h.insert("client-request-id", c);
        }
        h.insert(
            "x-ms-ags-diagnostic",
            HeaderValue::from_static(r#"{"ServerInfo":{"DataCenter":"Emulator","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"chatevict"}}"#),
        );
        r
    }

    pub fn error(&self, status: StatusCode, code: &str, message: &str) -> Response {
        let date = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string();
        self.reply(
            status,
            Some(json!({
                "error": {
                    "code": code,
                    "message": message,
                    "innerError": {
                        "date": date,
                        "request-id": self.request_id,
                        "client-request-id": self.client_request_id,
                    }
                }
            })),
        )
    }

    /// 401, with the `WWW-Authenticate` challenge Graph sends: where to
    /// get a token, and for which resource.
    pub fn unauthorized(&self, base: &str, message: &str) -> Response {
        let mut r = self.error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        );
        let challenge = format!(
            "Bearer realm=\"\", authorization_uri=\"{base}/common/oauth2/authorize\", \
             client_id=\"00000003-0000-0000-c000-000000000000\""
        );
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        r
    }

    pub fn context(&self, base: &str, what: &str) -> String {
        format!("{base}/{}/$metadata#{what}", self.version)
    }
}
