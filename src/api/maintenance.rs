//! `/maintenance`: the deployment-wide maintenance mode, and the gate that refuses changes
//! while it is on (upstream's MaintenanceHook). `PUT {"status": "PAUSED"}` answers `PAUSING`;
//! the scheduler pauses the running executions and moves on to `PAUSED`
//! (`crate::scheduler::maintenance`). `PUT {"status": "RUNNING"}` ends it and resumes the
//! paused executions.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::error::{negotiate, webob_page, ApiError, ApiResult, PageKind, JSON};
use super::jsonbody::{read_object, text_attr};
use super::{json_response, AppState};
use crate::db::maintenance as mm;

/// `GET /maintenance`.
pub async fn get(State(st): State<AppState>) -> ApiResult<Response> {
    let status = st.db.read(mm::status).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "status": status }),
        JSON,
    ))
}

/// `PUT /maintenance`.
pub async fn put(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let obj = read_object(&st, &headers, body, "new_maintenance_status", &["status"]).await?;
    let new = text_attr(&obj, "status")?;
    let listed = "['PAUSING', 'PAUSED', 'RUNNING']";
    // Upstream answers these two with a 500; they are the caller's mistakes.
    let new = match new.as_deref() {
        Some(s) if mm::ALL.contains(&s) => s.to_string(),
        other => {
            return Err(ApiError::bad_request(format!(
                "Not found {} maintenance state. List of states: {listed}",
                other.unwrap_or("Unset")
            )))
        }
    };
    if new == mm::PAUSING {
        return Err(ApiError::bad_request(
            "PAUSING is intermediate state. Consider PAUSED, RUNNING as new state",
        ));
    }
    let target = new.clone();
    let (status, resumed) = st
        .db
        .write(move |c| {
            let current = mm::status(c)?;
            if current == target {
                return Ok((current, false));
            }
            if target == mm::PAUSED {
                mm::set_status(c, mm::PAUSING, None)?;
                Ok((mm::PAUSING.to_string(), false))
            } else {
                mm::set_status(c, mm::RUNNING, None)?;
                Ok((mm::RUNNING.to_string(), true))
            }
        })
        .await?;
    if resumed {
        // After the commit, like upstream's scheduled job: the answer does not wait for it.
        let shell = st.engine.clone();
        tokio::spawn(async move {
            if let Err(e) = crate::scheduler::maintenance::resume_paused(&shell).await {
                tracing::warn!("maintenance: resuming executions: {e}");
            }
        });
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({ "status": status }),
        JSON,
    ))
}

/// Paths open whatever the mode (upstream's list).
const ALWAYS_ALLOWED: [&str; 4] = ["/", "/v2/", "/health", "/maintenance"];

/// Refuses every non-GET request with 423 unless the deployment is RUNNING. While PAUSING,
/// action results may still be reported (`PUT /v2/action_executions…`), and executions may be
/// cancelled (`PUT /v2/executions…` with `"state": "CANCELLED"`) while PAUSING or PAUSED.
pub async fn gate(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if req.method() == Method::GET || ALWAYS_ALLOWED.contains(&path.as_str()) {
        return next.run(req).await;
    }
    let status = match st.db.read(mm::status).await {
        Ok(s) => s,
        Err(e) => return ApiError::from(e).into_response(),
    };
    if status == mm::RUNNING {
        return next.run(req).await;
    }
    let is_put = req.method() == Method::PUT;
    if is_put && status == mm::PAUSING && path.contains("/v2/action_executions") {
        return next.run(req).await;
    }
    let req = if is_put && path.contains("/v2/executions") {
        let (parts, body) = req.into_parts();
        let bytes = match super::read_bytes(&st, body).await {
            Ok(b) => b,
            Err(e) => return e.into_response(),
        };
        let cancels = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v.get("state").and_then(Value::as_str).map(str::to_string))
            .is_some_and(|s| s == "CANCELLED");
        let req = Request::from_parts(parts, Body::from(bytes));
        if cancels {
            return next.run(req).await;
        }
        req
    } else {
        req
    };
    locked(req.headers(), &status)
}

/// webob's 423 page with upstream's detail.
fn locked(headers: &HeaderMap, status: &str) -> Response {
    let msg = format!("Current Mistral state is {status}. Method is not allowed");
    let mut r = match negotiate(headers) {
        PageKind::Json => (
            StatusCode::LOCKED,
            [(header::CONTENT_TYPE, HeaderValue::from_static(JSON))],
            super::pyjson::dumps(&json!({"code": 423, "title": "Locked", "description": msg})),
        )
            .into_response(),
        _ => webob_page(
            headers,
            StatusCode::LOCKED,
            &format!("The resource is locked\n\n {msg}  "),
            &format!("The resource is locked<br /><br />\n{msg}\n\n"),
        ),
    };
    if let Ok(v) = HeaderValue::from_str(&msg) {
        r.headers_mut().insert("Server-Error-Message", v);
    }
    r
}
