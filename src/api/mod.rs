//! The v2 REST API (axum): routing with pecan's quirks, error shapes, the collection layer and
//! one module per resource.

pub mod action_executions;
pub mod actions;
pub mod builtin_actions;
pub mod collection;
pub mod cron_triggers;
pub mod environments;
pub mod error;
pub mod event_triggers;
pub mod execution_report;
pub mod executions;
pub mod jsonbody;
pub mod maintenance;
pub mod members;
pub mod params;
pub mod pyjson;
pub mod pyrepr;
pub mod root;
pub mod tasks;
pub mod workbooks;
pub mod workflows;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

use crate::config::Settings;
use crate::db::{Caller, Db, DEFAULT_PROJECT};
use error::{ApiError, ApiResult};

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    /// The engine shell (workflow executions).
    pub engine: crate::engine::shell::Shell,
}

/// Methods every upstream REST controller advertises in `Allow`.
const ALLOW: &str = "DELETE, GET, POST, PUT";

/// The complete application: routes plus the outer layers (panic catcher, XML rejection,
/// path normalisation, 404/405 pages).
pub fn app(state: AppState) -> Router {
    let v2 = Router::new()
        .route(
            "/workbooks",
            get(workbooks::list)
                .post(workbooks::create)
                .put(workbooks::update)
                .delete(missing_name),
        )
        .route("/workbooks/validate", post(workbooks::validate))
        .route(
            "/workbooks/{name}",
            get(workbooks::get_one).delete(workbooks::delete),
        )
        .route(
            "/workflows",
            get(workflows::list)
                .post(workflows::create)
                .put(workflows::update)
                .delete(missing_identifier),
        )
        .route("/workflows/validate", post(workflows::validate))
        .route(
            "/workflows/{identifier}",
            get(workflows::get_one)
                .put(workflows::update_one)
                .delete(workflows::delete),
        )
        .route(
            "/actions",
            get(actions::list)
                .post(actions::create)
                .put(actions::update)
                .delete(missing_identifier),
        )
        .route("/actions/validate", post(actions::validate))
        .route(
            "/actions/{identifier}",
            get(actions::get_one)
                .put(actions::update_one)
                .delete(actions::delete),
        )
        .route(
            "/actions/{identifier}/{namespace}",
            get(actions::get_one_ns).delete(actions::delete_ns),
        )
        .route(
            "/environments",
            get(environments::list)
                .post(environments::create)
                .put(environments::update)
                .delete(missing_name),
        )
        .route(
            "/environments/{name}",
            get(environments::get_one).delete(environments::delete),
        )
        .route(
            "/executions",
            get(executions::list)
                .post(executions::create)
                .delete(missing_id),
        )
        .route(
            "/executions/{id}",
            get(executions::get_one)
                .put(executions::update)
                .delete(executions::delete),
        )
        .route("/executions/{id}/tasks", get(tasks::list_of_execution))
        .route(
            "/executions/{id}/executions",
            get(executions::sub_executions),
        )
        .route("/executions/{id}/report", get(execution_report::report))
        .route("/tasks", get(tasks::list))
        .route("/tasks/{id}", get(tasks::get_one).put(tasks::update))
        .route("/tasks/{id}/workflow_executions", get(executions::of_task))
        .route(
            "/tasks/{id}/executions",
            get(executions::task_sub_executions),
        )
        .route(
            "/tasks/{id}/action_executions",
            get(action_executions::list_of_task),
        )
        .route(
            "/action_executions",
            get(action_executions::list).post(action_executions::create),
        )
        .route(
            "/action_executions/{id}",
            get(action_executions::get_one)
                .put(action_executions::update)
                .delete(action_executions::delete),
        )
        .route(
            "/cron_triggers",
            get(cron_triggers::list)
                .post(cron_triggers::create)
                .delete(missing_identifier),
        )
        .route(
            "/cron_triggers/{identifier}",
            get(cron_triggers::get_one).delete(cron_triggers::delete),
        )
        .route(
            "/workflows/{identifier}/members",
            get(members::collection)
                .post(members::collection)
                .put(members::collection)
                .delete(members::collection),
        )
        .route(
            "/workflows/{identifier}/members/{member_id}",
            get(members::member)
                .post(members::member)
                .put(members::member)
                .delete(members::member),
        )
        .route(
            "/event_triggers",
            get(event_triggers::list)
                .post(event_triggers::create)
                .delete(missing_id),
        )
        .route(
            "/event_triggers/{id}",
            get(event_triggers::get_one)
                .put(event_triggers::update)
                .delete(event_triggers::delete),
        );

    let router = Router::new()
        .route("/", get(root::versions))
        .route("/v2/", get(root::v2))
        .route("/info", get(root::info))
        .route("/maintenance", get(maintenance::get).put(maintenance::put))
        .nest("/v2", v2)
        // Only requests that reach a resource are gated (upstream's hook runs after routing:
        // an unknown path stays a 404 in maintenance mode).
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            maintenance::gate,
        ))
        .fallback(not_found)
        .layer(middleware::from_fn(rewrite_405))
        .with_state(state);

    Router::new()
        .fallback_service(router)
        .layer(middleware::from_fn(normalize_path))
        .layer(middleware::from_fn(reject_xml))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
}

fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = if let Some(s) = err.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = err.downcast_ref::<&str>() {
        s.to_string()
    } else {
        "unknown panic".to_string()
    };
    tracing::error!("request handler panicked: {detail}");
    ApiError::internal(format!("Internal server error: {detail}")).into_response()
}

async fn not_found(headers: HeaderMap) -> Response {
    error::not_found_page(&headers)
}

async fn missing_name() -> ApiError {
    ApiError::bad_request("Missing argument: \"name\"")
}

async fn missing_id() -> ApiError {
    ApiError::bad_request("Missing argument: \"id\"")
}

async fn missing_identifier() -> ApiError {
    ApiError::bad_request("Missing argument: \"identifier\"")
}

async fn rewrite_405(req: Request, next: Next) -> Response {
    let headers = req.headers().clone();
    let method = req.method().clone();
    let resp = next.run(req).await;
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
        return error::method_not_allowed_page(&headers, method.as_str(), ALLOW);
    }
    resp
}

/// XML bodies are refused before anything else (415 + `Server-Error-Message`).
async fn reject_xml(req: Request, next: Next) -> Response {
    if let Some(ct) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        let media = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if media == "text/xml" || media == "application/xml" || media.ends_with("+xml") {
            return error::xml_rejected_page(req.headers(), &media);
        }
    }
    next.run(req).await
}

/// `/v2` -> 302 `/v2/`; any other trailing slash is dropped before routing.
async fn normalize_path(mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path == "/v2" {
        let location = format!("{}/v2/", app_url(req.headers()));
        return error::redirect_page(req.headers(), &location);
    }
    if path.len() > 1 && path.ends_with('/') && path != "/v2/" {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let new = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_string(),
        };
        if let Ok(uri) = new.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    next.run(req).await
}

/// `{app}`: scheme + host the request was received under.
pub fn app_url(headers: &HeaderMap) -> String {
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.split(',').next().unwrap_or("http").trim().to_string())
        .unwrap_or_else(|| "http".to_string());
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let prefix = headers
        .get("x-script-name")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    format!("{scheme}://{host}{}", prefix.trim_end_matches('/'))
}

/// The caller. Authentication is off: every object belongs to `<default-project>`; admin
/// checks use the `X-Roles` header (api.md 1.3).
pub fn caller(headers: &HeaderMap) -> Caller {
    let is_admin = headers
        .get("x-roles")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|roles| roles.split(',').any(|r| r.trim() == "admin"));
    Caller {
        project_id: DEFAULT_PROJECT.to_string(),
        is_admin,
    }
}

/// Reads a raw text body (definition uploads): UTF-8, bounded by the configured size.
pub async fn read_text(state: &AppState, body: Body) -> ApiResult<String> {
    let bytes = read_bytes(state, body).await.map_err(ApiError::text)?;
    String::from_utf8(bytes.to_vec())
        .map_err(|e| ApiError::bad_request(format!("Request body is not valid UTF-8: {e}")).text())
}

/// Reads a body, answering 413 `Request is too large.` past the limit.
pub async fn read_bytes(state: &AppState, body: Body) -> ApiResult<axum::body::Bytes> {
    axum::body::to_bytes(body, state.settings.api.max_request_body_size)
        .await
        .map_err(|_| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request is too large."))
}

/// Runs CPU-bound work (DSL parsing and validation) off the async workers.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("Internal server error: {e}")))?
}

/// A response whose JSON text is already written (see [`json_response`]).
pub fn json_text_response(
    status: StatusCode,
    text: String,
    content_type: &'static str,
) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        text,
    )
        .into_response()
}

/// A JSON response with an exact content type, serialised like Python's `json.dumps`.
pub fn json_response(status: StatusCode, value: &Value, content_type: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        pyjson::dumps(value),
    )
        .into_response()
}

/// `scope` of definition uploads: default `private`, validated, `public` needs admin.
pub fn upload_scope(q: &params::Query, caller: &Caller) -> ApiResult<String> {
    let scope = q.text("scope", "private");
    validate_scope(&scope).map_err(ApiError::text)?;
    if scope == "public" && !caller.is_admin {
        return Err(ApiError::forbidden().text());
    }
    Ok(scope)
}

pub fn validate_scope(scope: &str) -> ApiResult<()> {
    if scope != "private" && scope != "public" {
        return Err(ApiError::bad_request(format!(
            "Scope must be one of the following: {{'private', 'public'}}; actual: {scope}"
        )));
    }
    Ok(())
}

/// A stored JSON text as a value (`null` when absent or unreadable).
pub fn stored_json(text: &Option<String>) -> Value {
    text.as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

/// Tags stored as JSON list text -> a JSON list (empty list when unset).
pub fn stored_tags(text: &Option<String>) -> Value {
    match stored_json(text) {
        Value::Null => Value::Array(vec![]),
        v => v,
    }
}

/// `null` or the formatted timestamp.
pub fn ts_value(ts: &Option<chrono::NaiveDateTime>) -> Value {
    ts.as_ref()
        .map(|t| Value::String(crate::db::format_ts(t)))
        .unwrap_or(Value::Null)
}
