//! The audit log query API (`/security/auditLog/queries`, v1.0 and beta)
//! over the seed exports' records, as the tenant's audit log.
//!
//! A query is checked as Graph checks it (a date range, known record
//! types), goes `notStarted` → `running` → `succeeded` over
//! `audit_delay`, matches the seed records by time range, record type,
//! operation, user and keyword, and is read in pages of
//! `audit_page_size` with `@odata.nextLink`. Past `audit_record_limit`
//! records the query stops and says so (`isRecordCountLimitExceeded`).
//! Under the `hostile` profile the first page carries one record whose
//! JSON is broken, a fault users report on the real service.
//!
//! Named assumptions (Microsoft does not document them): the seed is
//! the log of whichever tenant signs in; reading the records of a query
//! that has not succeeded is answered 400 `BadRequest`; an unknown query
//! id is 404 `NotFound`.

use std::time::Instant;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::call::Call;
use super::state::{Grant, Query, State};

/// The permission the API requires.
pub const PERMISSION: &str = crate::graph::audit::AUDIT_PERMISSION;

impl Query {
    fn status(&self, st: &State) -> &'static str {
        let age = self.created.elapsed();
        let delay = st.cfg.audit_delay;
        if age >= delay {
            "succeeded"
        } else if age >= delay / 4 {
            "running"
        } else {
            "notStarted"
        }
    }

    fn describe(&self, st: &State, call: &Call, base: &str) -> Value {
        let mut v = self.body.clone();
        let status = self.status(st);
        v["@odata.context"] = json!(call.context(base, "security/auditLog/queries/$entity"));
        v["id"] = json!(self.id);
        v["status"] = json!(status);
        if status == "succeeded" {
            v["isRecordCountLimitExceeded"] = json!(self.limit_exceeded);
            if let Some(l) = st.cfg.audit_record_limit {
                v["recordCountLimit"] = json!(l);
            }
        }
        v
    }
}

fn strings(v: &Value, key: &str) -> Result<Vec<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{key} must be a collection of strings"))
            })
            .collect(),
        Some(_) => Err(format!("{key} must be a collection of strings")),
    }
}

fn time(v: &Value, key: &str) -> Result<DateTime<Utc>, String> {
    let s = v
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{key} is required"))?;
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            format!("Cannot convert the literal '{s}' to the expected type 'Edm.DateTimeOffset'.")
        })
}

/// `POST /security/auditLog/queries`.
pub fn create(st: &mut State, base: &str, call: &Call, grant: &Grant, body: &[u8]) -> Response {
    let bad = |m: &str| call.error(StatusCode::BAD_REQUEST, "BadRequest", m);
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return bad("The request body is not valid JSON.");
    };
    let parsed = (|| {
        let start = time(&v, "filterStartDateTime")?;
        let end = time(&v, "filterEndDateTime")?;
        if start >= end {
            return Err("filterStartDateTime must be before filterEndDateTime.".to_owned());
        }
        let types = strings(&v, "recordTypeFilters")?;
        if let Some(t) = types
            .iter()
            .find(|t| crate::ual::record_type::number(t).is_none())
        {
            return Err(format!("Requested value '{t}' was not found."));
        }
        let ops = strings(&v, "operationFilters")?;
        let users = strings(&v, "userPrincipalNameFilters")?;
        let keyword = v
            .get("keywordFilter")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_lowercase();
        Ok((start, end, types, ops, users, keyword))
    })();
    let (start, end, types, ops, users, keyword) = match parsed {
        Ok(p) => p,
        Err(m) => return bad(&m),
    };
    let mut matched: Vec<usize> = st
        .audit_log
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.created >= start
                && r.created < end
                && (types.is_empty()
                    || types.iter().any(|t| t.eq_ignore_ascii_case(&r.record_type)))
                && (ops.is_empty() || ops.iter().any(|o| o.eq_ignore_ascii_case(&r.operation)))
                && (users.is_empty() || users.iter().any(|u| u.eq_ignore_ascii_case(&r.upn)))
                && (keyword.is_empty() || r.text.contains(&keyword))
        })
        .map(|(i, _)| i)
        .collect();
    // Newest first, as the portal lists them.
    matched.sort_by(|&a, &b| st.audit_log[b].created.cmp(&st.audit_log[a].created));
    let mut limit_exceeded = false;
    if let Some(l) = st.cfg.audit_record_limit
        && matched.len() > l
    {
        matched.truncate(l);
        limit_exceeded = true;
    }
    let q = Query {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: grant.tenant_id.clone(),
        body: v,
        created: Instant::now(),
        matched,
        limit_exceeded,
    };
    let reply = q.describe(st, call, base);
    st.queries.push(q);
    call.reply(StatusCode::CREATED, Some(reply))
}

/// `GET /security/auditLog/queries`.
pub fn list(st: &State, base: &str, call: &Call, grant: &Grant) -> Response {
    let value: Vec<Value> = st
        .queries
        .iter()
        .filter(|q| q.tenant_id == grant.tenant_id)
        .map(|q| q.describe(st, call, base))
        .collect();
    call.reply(
        StatusCode::OK,
        Some(json!({
            "@odata.context": call.context(base, "security/auditLog/queries"),
            "value": value,
        })),
    )
}

/// The tenant's query `id`; `None` is answered by [`not_found`].
fn find<'a>(st: &'a State, grant: &Grant, id: &str) -> Option<&'a Query> {
    st.queries
        .iter()
        .find(|q| q.id == id && q.tenant_id == grant.tenant_id)
}

fn not_found(call: &Call, id: &str) -> Response {
    call.error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("The audit log query '{id}' was not found."),
    )
}

/// `GET /security/auditLog/queries/{id}`.
pub fn get(st: &State, base: &str, call: &Call, grant: &Grant, id: &str) -> Response {
    match find(st, grant, id) {
        Some(q) => call.reply(StatusCode::OK, Some(q.describe(st, call, base))),
        None => not_found(call, id),
    }
}

/// `GET /security/auditLog/queries/{id}/records[?$skiptoken=N]`.
pub fn records(
    st: &State,
    base: &str,
    call: &Call,
    grant: &Grant,
    id: &str,
    query: Option<&str>,
) -> Response {
    let Some(q) = find(st, grant, id) else {
        return not_found(call, id);
    };
    if q.status(st) != "succeeded" {
        return call.error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "The audit log query has not completed yet.",
        );
    }
    let skip = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "$skiptoken")
        .map(|(_, v)| v.into_owned());
    let from = match skip.as_deref().map(str::parse::<usize>) {
        None => 0,
        Some(Ok(n)) if n <= q.matched.len() => n,
        Some(_) => {
            return call.error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "The $skiptoken is not valid.",
            );
        }
    };
    let size = st.cfg.audit_page_size.max(1);
    let to = (from + size).min(q.matched.len());
    let mut items: Vec<String> = q.matched[from..to]
        .iter()
        .map(|&i| st.audit_log[i].json.to_string())
        .collect();
    // The fault users report: one record of a page whose JSON breaks (a
    // raw control character inside a string).
    if st.cfg.faults == super::faults::Profile::Hostile
        && from == 0
        && let Some(r) = items.get_mut(1)
        && let Some(at) = r.find("\"operation\":\"")
    {
        r.insert(at + "\"operation\":\"".len(), '\u{1}');
    }
    let mut page = format!(
        "{{\"@odata.context\":{},",
        json!(call.context(base, &format!("security/auditLog/queries('{id}')/records")))
    );
    if to < q.matched.len() {
        let next = format!(
            "{base}/{}/security/auditLog/queries/{id}/records?$skiptoken={to}",
            call.version
        );
        page.push_str(&format!("\"@odata.nextLink\":{},", json!(next)));
    }
    page.push_str("\"value\":[");
    page.push_str(&items.join(","));
    page.push_str("]}");
    call.reply_raw(StatusCode::OK, page)
}
