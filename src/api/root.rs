//! Version documents and `/info`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::error::{ApiError, JSON};
use super::{app_url, json_response, AppState};

/// `GET /`.
pub async fn versions(headers: HeaderMap) -> Response {
    let href = format!("{}/v2", app_url(&headers));
    json_response(
        StatusCode::OK,
        &json!({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"href": href, "target": "v2", "rel": "self"}]}]}),
        JSON,
    )
}

/// `GET /v2/`.
pub async fn v2(headers: HeaderMap) -> Response {
    json_response(
        StatusCode::OK,
        &json!({"uri": format!("{}/v2", app_url(&headers))}),
        JSON,
    )
}

/// `GET /info`: disabled by default; otherwise the configured JSON file.
pub async fn info(State(state): State<AppState>) -> Result<Response, ApiError> {
    let disabled = || {
        json_response(
            StatusCode::BAD_REQUEST,
            &json!({"faultstring": "Info endpoint disabled."}),
            JSON,
        )
    };
    if !state.settings.api.enable_info_endpoint {
        return Ok(disabled());
    }
    let Some(path) = state.settings.api.info_json_file_path.clone() else {
        return Ok(disabled());
    };
    let text = tokio::fs::read_to_string(&path)
        .await
        .map_err(|e| ApiError::internal(format!("Cannot read {}: {e}", path.display())))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| ApiError::internal(format!("Invalid JSON in {}: {e}", path.display())))?;
    Ok(json_response(StatusCode::OK, &v, JSON))
}
