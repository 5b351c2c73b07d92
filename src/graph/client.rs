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

    /// Is the user still a member of the chat? `GET /chats/{id}/members`;
    /// `None` when Graph does not say (an error, a reply not understood).
    pub async fn still_member(
        &self,
        bearer: &Bearer,
        chat_id: &str,
        user_id: &str,
        crid: &str,
    ) -> Option<bool> {
        // It follows a request to the same chat at once: a throttling or a
        // passing failure is waited out, a few times.
        let mut tries = 0;
        let reply = loop {
            tries += 1;
            let rb = self.http.client.get(self.urls.chat_members(chat_id));
            let reply = self.send(rb, bearer, crid).await.ok()?;
            if reply.is_success() {
                break reply;
            }
            if tries >= 4 || !matches!(reply.status, 429 | 502..=504) {
                return None;
            }
            let wait = reply
                .retry_after
                .unwrap_or(std::time::Duration::from_secs(1))
                .min(std::time::Duration::from_secs(10));
            tokio::time::sleep(wait).await;
        };
        let v: serde_json::Value = serde_json::from_slice(&reply.body).ok()?;
        // One page is the whole list: a chat holds at most 250 members.
        let members = v.get("value")?.as_array()?;
        Some(members.iter().any(|m| {
            m.get("userId")
                .and_then(|u| u.as_str())
                .is_some_and(|u| u.eq_ignore_ascii_case(user_id))
        }))
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
