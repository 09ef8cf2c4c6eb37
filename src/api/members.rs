//! `/v2/workflows/{workflow_uuid}/members[/{member_id}]` (api.md 2.10): resource sharing.
//! Upstream serves it only with authentication enabled; mistral-rs does not authenticate
//! (every caller is the one default project), so every member call is answered as upstream
//! answers it with `[pecan] auth_enable = False`. With `auth_enable = True` configured the
//! feature is refused as not built rather than pretending to share with projects that do not
//! exist here.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::params::is_uuid_like;
use super::AppState;

/// Pecan's own error body: `{"faultstring": …}` as `application/json`.
fn fault(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        format!("{{\"faultstring\": {}}}", super::pyjson::dumps_str(message)),
    )
        .into_response()
}

fn answer(state: &AppState, workflow: &str) -> Response {
    // Upstream checks the identifier while routing (an unhandled error there is a bare 500;
    // a client error is the honest answer).
    if !is_uuid_like(workflow) {
        return fault(
            StatusCode::BAD_REQUEST,
            "Only support UUID as resource identifier in resource sharing feature.",
        );
    }
    if state.settings.auth_enable {
        return fault(
            StatusCode::NOT_IMPLEMENTED,
            "Resource sharing is not implemented by mistral-rs yet (it does not authenticate \
             callers, so there are no other projects to share with).",
        );
    }
    fault(
        StatusCode::BAD_REQUEST,
        "Resource sharing feature can only be supported with authentication enabled.",
    )
}

/// Every method on `/workflows/{id}/members`.
pub async fn collection(State(state): State<AppState>, Path(workflow): Path<String>) -> Response {
    answer(&state, &workflow)
}

/// Every method on `/workflows/{id}/members/{member_id}`.
pub async fn member(
    State(state): State<AppState>,
    Path((workflow, _member)): Path<(String, String)>,
) -> Response {
    answer(&state, &workflow)
}
