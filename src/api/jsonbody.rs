//! JSON request bodies with WSME's checks and fault strings: content type, malformed JSON,
//! unknown attributes, attribute types, and JSON-in-a-string fields (api.md 1.6, 1.8).

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use serde_json::{Map, Value};

use super::error::{ApiError, ApiResult};
use super::pyrepr::{py_repr, py_str};
use super::{read_bytes, AppState};

/// Reads a JSON object body for the handler argument `arg` whose resource has `attributes`.
pub async fn read_object(
    st: &AppState,
    headers: &HeaderMap,
    body: Body,
    arg: &str,
    attributes: &[&str],
) -> ApiResult<Map<String, Value>> {
    let bytes = read_bytes(st, body).await?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media.is_empty() {
        let text = String::from_utf8_lossy(&bytes);
        return Err(ApiError::bad_request(format!(
            "Unknown argument: \"{text}\""
        )));
    }
    if media != "application/json" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Unknown mimetype: {media}"),
        ));
    }
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|_| ApiError::bad_request("Request is not in valid JSON format"))?;
    let Value::Object(map) = value else {
        return Err(ApiError::bad_request(format!(
            "Invalid input for field/attribute {arg}. Value: '{}'. Request body must be a JSON object",
            py_repr(&value)
        )));
    };
    let unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| !attributes.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Unknown attribute for argument {arg}: {}",
            unknown.join(", ")
        )));
    }
    Ok(map)
}

fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// A text attribute (`None` when absent or null).
pub fn text_attr(map: &Map<String, Value>, key: &str) -> ApiResult<Option<String>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ApiError::bad_request(format!(
            "Invalid input for field/attribute {key}. Value: '{}'. Wrong type. Expected '<class 'str'>', got '<class '{}'>'",
            py_str(other),
            py_type(other)
        ))),
    }
}

/// Refuses an over-long text attribute (indexed columns; upstream's are 80–255 wide).
pub fn max_len(key: &str, value: Option<&str>, max: usize) -> ApiResult<()> {
    match value {
        Some(v) if v.chars().count() > max => Err(ApiError::bad_request(format!(
            "Invalid input for field/attribute {key}. Value: '{v}'. Value is longer than {max} characters"
        ))),
        _ => Ok(()),
    }
}

/// An integer attribute (`remaining_executions`, …) converted like WSME's `int()`: numbers
/// (floats truncate), booleans and base-10 strings; failures are argument-level 400s.
pub fn int_attr(map: &Map<String, Value>, key: &str, arg: &str) -> ApiResult<Option<i64>> {
    let fail = |why: String| {
        ApiError::bad_request(format!(
            "Invalid input for field/attribute {arg}. Value: '{}'. {why}",
            py_repr(&Value::Object(map.clone()))
        ))
    };
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(i64::from(*b))),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Ok(Some(i)),
            None => Ok(Some(n.as_f64().unwrap_or(0.0).trunc() as i64)),
        },
        Some(Value::String(s)) => super::params::parse_py_int(s).map(Some).ok_or_else(|| {
            fail(format!(
                "invalid literal for int() with base 10: {}",
                super::pyrepr::py_repr_str(s)
            ))
        }),
        Some(other) => Err(fail(format!(
            "int() argument must be a string, a bytes-like object or a real number, not '{}'",
            py_type(other)
        ))),
    }
}

/// An enum attribute such as `scope`.
pub fn enum_attr(
    map: &Map<String, Value>,
    key: &str,
    allowed: &[&str],
) -> ApiResult<Option<String>> {
    let v = match map.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    match v {
        Value::String(s) if allowed.contains(&s.as_str()) => Ok(Some(s.clone())),
        other => Err(ApiError::bad_request(format!(
            "Invalid input for field/attribute {key}. Value: '{}'. Value should be one of: {}",
            py_str(other),
            allowed.join(", ")
        ))),
    }
}

/// A JSON-in-a-string attribute (`variables`, `input`, `params`, …): an object or a string
/// holding one; false-y -> `{}`.
pub fn json_dict_attr(
    map: &Map<String, Value>,
    key: &str,
    arg: &str,
) -> ApiResult<Option<Map<String, Value>>> {
    let body_repr = || py_repr(&Value::Object(map.clone()));
    let parsed = match map.get(key) {
        None => return Ok(None),
        Some(Value::Null) => return Ok(Some(Map::new())),
        Some(Value::Object(m)) => Value::Object(m.clone()),
        Some(Value::String(s)) => {
            if s.is_empty() {
                return Ok(Some(Map::new()));
            }
            serde_json::from_str::<Value>(s).map_err(|e| {
                ApiError::bad_request(format!(
                    "Invalid input for field/attribute {arg}. Value: '{}'. {}",
                    body_repr(),
                    python_json_error(s, &e)
                ))
            })?
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid input for field/attribute {arg}. Value: '{}'. the JSON object must be str, bytes or bytearray, not {}",
                body_repr(),
                py_type(other)
            )))
        }
    };
    match parsed {
        Value::Object(m) => Ok(Some(m)),
        Value::Null | Value::Bool(false) => Ok(Some(Map::new())),
        Value::Array(ref a) if a.is_empty() => Ok(Some(Map::new())),
        Value::String(ref s) if s.is_empty() => Ok(Some(Map::new())),
        other => Err(ApiError::bad_request(format!(
            "JsonType field value must be a dictionary [actual={}]",
            py_str(&other)
        ))),
    }
}

/// An approximation of Python's `json.JSONDecodeError` text.
pub fn python_json_error(text: &str, e: &serde_json::Error) -> String {
    let line = e.line();
    let col = e.column().max(1);
    let char_idx: usize = text
        .lines()
        .take(line.saturating_sub(1))
        .map(|l| l.chars().count() + 1)
        .sum::<usize>()
        + col
        - 1;
    let trimmed = text.trim_start();
    let first = text.len() - trimmed.len();
    if line == 1 && !trimmed.starts_with(['{', '[', '"']) {
        // Python reports a bad top-level token at its first character.
        return format!(
            "Expecting value: line 1 column {} (char {first})",
            first + 1
        );
    }
    let what = if trimmed.starts_with('{') && !trimmed[1..].trim_start().starts_with(['"', '}']) {
        return format!(
            "Expecting property name enclosed in double quotes: line 1 column {} (char {})",
            text.find('{').unwrap_or(0) + 2,
            text.find('{').unwrap_or(0) + 1
        );
    } else {
        "Expecting value"
    };
    format!("{what}: line {line} column {col} (char {char_idx})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_string_fields_follow_upstream_rules() {
        let m = json!({"name": "e2", "variables": "{bad"})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(
            json_dict_attr(&m, "variables", "env").unwrap_err().message,
            "Invalid input for field/attribute env. Value: '{'name': 'e2', 'variables': '{bad'}'. Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
        );
        let m = json!({"variables": "[1]"}).as_object().unwrap().clone();
        assert_eq!(
            json_dict_attr(&m, "variables", "env").unwrap_err().message,
            "JsonType field value must be a dictionary [actual=[1]]"
        );
        let m = json!({"name": "e2", "variables": [1]})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(
            json_dict_attr(&m, "variables", "env").unwrap_err().message,
            "Invalid input for field/attribute env. Value: '{'name': 'e2', 'variables': [1]}'. the JSON object must be str, bytes or bytearray, not list"
        );
        let m = json!({"variables": "{\"a\": 1}"})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(
            json_dict_attr(&m, "variables", "env").unwrap().unwrap()["a"],
            1
        );
        let m = json!({"variables": ""}).as_object().unwrap().clone();
        assert!(json_dict_attr(&m, "variables", "env")
            .unwrap()
            .unwrap()
            .is_empty());
    }

    #[test]
    fn integer_attributes_convert_like_python_int() {
        let m = json!({"name": "ct1", "remaining_executions": "abc"})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(
            int_attr(&m, "remaining_executions", "cron_trigger").unwrap_err().message,
            "Invalid input for field/attribute cron_trigger. Value: '{'name': 'ct1', 'remaining_executions': 'abc'}'. invalid literal for int() with base 10: 'abc'"
        );
        let m = json!({"a": "12", "b": 1.5, "c": null})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(int_attr(&m, "a", "x").unwrap(), Some(12));
        assert_eq!(int_attr(&m, "b", "x").unwrap(), Some(1));
        assert_eq!(int_attr(&m, "c", "x").unwrap(), None);
    }

    #[test]
    fn wrong_types_are_worded_like_wsme() {
        let m = json!({"name": 1, "scope": "weird"})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(
            text_attr(&m, "name").unwrap_err().message,
            "Invalid input for field/attribute name. Value: '1'. Wrong type. Expected '<class 'str'>', got '<class 'int'>'"
        );
        assert_eq!(
            enum_attr(&m, "scope", &["private", "public"]).unwrap_err().message,
            "Invalid input for field/attribute scope. Value: 'weird'. Value should be one of: private, public"
        );
    }
}
