//! Error responses: the two JSON fault shapes (WSME and text-body handlers) and webob's
//! negotiated 302/404/405/415 pages.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::db::DbError;

/// Which handler family produced the error (decides body shape and content type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `{"faultcode", "faultstring", "debuginfo"}`, `application/json`.
    Wsme,
    /// `{"faultstring"}`, `application/json;charset=utf-8` (POST/PUT of definition texts).
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub family: Family,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            family: Family::Wsme,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::NOT_FOUND, message)
    }
    pub fn forbidden() -> ApiError {
        Self::new(
            StatusCode::FORBIDDEN,
            "Operation forbidden (insufficient permissions)",
        )
    }
    pub fn internal(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
    /// Switches to the text-body handler shape.
    pub fn text(mut self) -> ApiError {
        self.family = Family::Text;
        self
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        let status = match &e {
            DbError::NotFound(_) => StatusCode::NOT_FOUND,
            DbError::Duplicate(_) => StatusCode::CONFLICT,
            DbError::Invalid(_) => StatusCode::BAD_REQUEST,
            DbError::Forbidden(_) => StatusCode::FORBIDDEN,
            DbError::Internal(m) => {
                tracing::error!("internal error: {m}");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<crate::lang::DslError> for ApiError {
    fn from(e: crate::lang::DslError) -> Self {
        ApiError::bad_request(e.to_string())
    }
}

pub const JSON: &str = "application/json";
pub const JSON_UTF8: &str = "application/json;charset=utf-8";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (body, ct) = match self.family {
            Family::Wsme => {
                let code = if self.status.is_server_error() {
                    "Server"
                } else {
                    "Client"
                };
                (
                    format!(
                        "{{\"faultcode\": \"{code}\", \"faultstring\": {}, \"debuginfo\": null}}",
                        crate::api::pyjson::dumps_str(&self.message)
                    ),
                    JSON,
                )
            }
            Family::Text => (
                format!(
                    "{{\"faultstring\": {}}}",
                    crate::api::pyjson::dumps_str(&self.message)
                ),
                JSON_UTF8,
            ),
        };
        (
            self.status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(ct))],
            body,
        )
            .into_response()
    }
}

/// The representation webob negotiates for its own error pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    Plain,
    Html,
    Json,
}

/// Negotiates like webob: no `Accept` -> plain; otherwise the best of html, plain, json
/// (ties go to the earlier one, so `*/*` gives html).
pub fn negotiate(headers: &HeaderMap) -> PageKind {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return PageKind::Plain;
    };
    if accept.trim().is_empty() {
        return PageKind::Plain;
    }
    let offers = [
        ("text/html", PageKind::Html),
        ("text/plain", PageKind::Plain),
        ("application/json", PageKind::Json),
    ];
    let mut best: Option<(f32, PageKind)> = None;
    for (offer, kind) in offers {
        let (otype, _) = offer.split_once('/').unwrap_or((offer, ""));
        let mut q_best: Option<(u8, f32)> = None;
        for item in accept.split(',') {
            let mut parts = item.split(';');
            let range = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let mut q = 1.0f32;
            for p in parts {
                if let Some(v) = p.trim().strip_prefix("q=") {
                    q = v.trim().parse().unwrap_or(0.0);
                }
            }
            let spec = if range == offer {
                3
            } else if range == format!("{otype}/*") {
                2
            } else if range == "*/*" {
                1
            } else {
                0
            };
            if spec > 0 && q_best.is_none_or(|(s, _)| spec > s) {
                q_best = Some((spec, q));
            }
        }
        if let Some((_, q)) = q_best {
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, kind));
            }
        }
    }
    best.map(|(_, k)| k).unwrap_or(PageKind::Plain)
}

/// A webob-style page for 302/404/405/415.
pub fn webob_page(
    headers: &HeaderMap,
    status: StatusCode,
    plain_detail: &str,
    html_detail: &str,
) -> Response {
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    let (body, ct) = match negotiate(headers) {
        PageKind::Plain => (format!("{title}\n\n{plain_detail}"), "text/plain; charset=UTF-8"),
        PageKind::Html => (
            format!(
                "<html>\n <head>\n  <title>{title}</title>\n </head>\n <body>\n  <h1>{title}</h1>\n  {html_detail}\n </body>\n</html>"
            ),
            "text/html; charset=UTF-8",
        ),
        PageKind::Json => (
            format!(
                "{{\"code\": {}, \"title\": \"{}\", \"description\": {}}}",
                status.as_u16(),
                status.canonical_reason().unwrap_or(""),
                if status == StatusCode::METHOD_NOT_ALLOWED { "\"\"" } else { "null" }
            ),
            JSON,
        ),
    };
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(ct))],
        body,
    )
        .into_response()
}

pub fn not_found_page(headers: &HeaderMap) -> Response {
    webob_page(
        headers,
        StatusCode::NOT_FOUND,
        "The resource could not be found.\n\n   ",
        "The resource could not be found.<br /><br />\n\n\n",
    )
}

pub fn method_not_allowed_page(headers: &HeaderMap, method: &str, allow: &str) -> Response {
    let mut r = webob_page(
        headers,
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("The method {method} is not allowed for this resource. \n\n "),
        &format!("The method {method} is not allowed for this resource. <br /><br />\n"),
    );
    if let Ok(v) = HeaderValue::from_str(allow) {
        r.headers_mut().insert(header::ALLOW, v);
    }
    r
}

pub fn redirect_page(headers: &HeaderMap, location: &str) -> Response {
    let mut r = webob_page(
        headers,
        StatusCode::FOUND,
        &format!("The resource was found at {location}; you should be redirected automatically.  "),
        &format!(
            "The resource was found at <a href=\"{location}\">{location}</a>;\nyou should be redirected automatically.\n\n"
        ),
    );
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

pub fn xml_rejected_page(headers: &HeaderMap, media_type: &str) -> Response {
    let mut r = webob_page(
        headers,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        &format!(
            "The request media type {media_type} is not supported by this server. \n\n XML request bodies are not supported."
        ),
        &format!(
            "The request media type {media_type} is not supported by this server.\n<br /><br />\nXML request bodies are not supported."
        ),
    );
    r.headers_mut().insert(
        "Server-Error-Message",
        HeaderValue::from_static("XML request bodies are not supported."),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(accept: Option<&str>) -> HeaderMap {
        let mut m = HeaderMap::new();
        if let Some(a) = accept {
            m.insert(header::ACCEPT, HeaderValue::from_str(a).unwrap());
        }
        m
    }

    #[test]
    fn webob_negotiation_prefers_html_for_wildcards_and_plain_without_accept() {
        assert_eq!(negotiate(&h(None)), PageKind::Plain);
        assert_eq!(negotiate(&h(Some("*/*"))), PageKind::Html);
        assert_eq!(negotiate(&h(Some("application/json"))), PageKind::Json);
        assert_eq!(negotiate(&h(Some("text/plain"))), PageKind::Plain);
        assert_eq!(
            negotiate(&h(Some("application/json, text/plain;q=0.5"))),
            PageKind::Json
        );
    }
}
