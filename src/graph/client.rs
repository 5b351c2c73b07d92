//! The Graph requests chatevict makes, one HTTP request each.
//!
//! Retrying, refreshing and pacing are the runner's; this only builds and
//! sends requests, so that every attempt the runner journals is exactly
//! one request on the wire.

use serde_json::json;

use super::auth::Bearer;
use super::http::{Http, Reply, SendError};
use super::ids::GraphUrls;

#[derive(Debug, Clone)]
pub struct Graph {
    http: Http,
    urls: GraphUrls,
}

impl Graph {
    pub fn new(http: Http, urls: GraphUrls) -> Graph {
        Graph { http, urls }
    }

    pub fn urls(&self) -> &GraphUrls {
        &self.urls
    }

    async fn send(
        &self,
        rb: reqwest::RequestBuilder,
        bearer: &Bearer,
        crid: &str,
    ) -> Result<Reply, SendError> {
        let resp = rb
            .bearer_auth(bearer.token.secret())
            .header("client-request-id", crid)
            .header("return-client-request-id", "true")
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(SendError::from_reqwest)?;
        Reply::read(resp).await
    }

    /// `POST /chats/{chatId}/removeAllAccessForUser`. Ids must have been
    /// checked (`graph::ids`).
    pub async fn remove_all_access(
        &self,
        bearer: &Bearer,
        chat_id: &str,
        user_id: &str,
        tenant_id: &str,
        crid: &str,
    ) -> Result<Reply, SendError> {
        let body = removal_body(user_id, tenant_id);
        let rb = self
            .http
            .client
            .post(self.urls.remove_all_access(chat_id))
            .json(&body);
        self.send(rb, bearer, crid).await
    }

    /// `GET /users/{upn}?$select=id`.
    pub async fn user_id(
        &self,
        bearer: &Bearer,
        upn: &str,
        crid: &str,
    ) -> Result<Reply, SendError> {
        let rb = self.http.client.get(self.urls.user_id_by_upn(upn));
        self.send(rb, bearer, crid).await
    }

    /// `GET /me`.
    pub async fn me(&self, bearer: &Bearer, crid: &str) -> Result<Reply, SendError> {
        let rb = self.http.client.get(self.urls.me());
        self.send(rb, bearer, crid).await
    }
}

/// The body of `removeAllAccessForUser`.
pub fn removal_body(user_id: &str, tenant_id: &str) -> serde_json::Value {
    json!({
        "user": {
            "@odata.type": "microsoft.graph.teamworkUserIdentity",
            "id": user_id,
            "tenantId": tenant_id,
        }
    })
}
