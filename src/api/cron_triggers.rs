//! `/v2/cron_triggers` (api.md 2.7, engine.md §16). Creation validates and stores everything
//! the scheduler needs; firing is the engine's job.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::collection::{CollectionDef, ListRequest};
use super::error::{ApiError, JSON};
use super::jsonbody::{enum_attr, int_attr, json_dict_attr, max_len, read_object, text_attr};
use super::params::Query;
use super::{app_url, caller, json_response, ts_value, AppState};
use crate::db::models::{CronTriggerRow, CRON_TRIGGERS};
use crate::db::triggers::{self, NewCronTrigger};

pub const FIELDS: &[&str] = &[
    "id",
    "name",
    "workflow_name",
    "workflow_id",
    "workflow_input",
    "workflow_params",
    "project_id",
    "scope",
    "pattern",
    "remaining_executions",
    "first_execution_time",
    "next_execution_time",
    "created_at",
    "updated_at",
];

pub const COLLECTION: CollectionDef = CollectionDef {
    name: "cron_triggers",
    filters: &[
        "created_at",
        "name",
        "updated_at",
        "workflow_name",
        "workflow_id",
        "workflow_input",
        "workflow_params",
        "scope",
        "pattern",
        "remaining_executions",
        "first_execution_time",
        "next_execution_time",
        "project_id",
    ],
    extra_args: &["all_projects"],
    fields: FIELDS,
    default_sort_key: "created_at",
};

fn json_string(text: &str) -> Value {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Object(Map::new()));
    Value::String(super::pyjson::dumps(&v))
}

/// The CronTrigger resource.
pub fn to_json(row: &CronTriggerRow) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(row.id));
    m.insert("name".into(), json!(row.name));
    m.insert("workflow_name".into(), json!(row.workflow_name));
    m.insert("workflow_id".into(), json!(row.workflow_id));
    m.insert("workflow_input".into(), json_string(&row.workflow_input));
    m.insert("workflow_params".into(), json_string(&row.workflow_params));
    m.insert("project_id".into(), json!(row.project_id));
    m.insert("scope".into(), json!(row.scope));
    m.insert("pattern".into(), json!(row.pattern));
    m.insert(
        "remaining_executions".into(),
        json!(row.remaining_executions),
    );
    m.insert(
        "first_execution_time".into(),
        ts_value(&row.first_execution_time),
    );
    m.insert(
        "next_execution_time".into(),
        ts_value(&Some(row.next_execution_time)),
    );
    m.insert("created_at".into(), ts_value(&Some(row.created_at)));
    m.insert("updated_at".into(), ts_value(&row.updated_at));
    m
}

/// The checks of upstream's `create_cron_trigger` before the workflow lookup, in its order;
/// returns (first time, next time, count).
pub fn plan(
    pattern: Option<&str>,
    first_time: Option<&str>,
    count: Option<i64>,
    now: chrono::NaiveDateTime,
) -> Result<
    (
        Option<chrono::NaiveDateTime>,
        chrono::NaiveDateTime,
        Option<i64>,
    ),
    ApiError,
> {
    let first = first_time
        .map(triggers::parse_first_execution_time)
        .transpose()
        .map_err(ApiError::bad_request)?;
    if first.is_none() && pattern.is_none() {
        return Err(ApiError::bad_request(
            "Pattern or first_execution_time must be specified.",
        ));
    }
    if let Some(f) = first {
        if now + chrono::Duration::seconds(60) > f {
            return Err(ApiError::bad_request(
                "first_execution_time must be at least 1 minute in the future.",
            ));
        }
        if pattern.is_none() && count.is_some_and(|c| c > 1) {
            return Err(ApiError::bad_request(
                "Pattern must be provided if count is superior to 1.",
            ));
        }
    }
    if let Some(p) = pattern {
        if triggers::parse_cron_pattern(p).is_none() {
            return Err(ApiError::bad_request(format!(
                "The specified pattern is not valid: {p}"
            )));
        }
    }
    match first {
        Some(f) => {
            let count = if pattern.is_none() && count.is_none() {
                Some(1)
            } else {
                count
            };
            Ok((Some(f), f, count))
        }
        None => {
            let p = pattern.unwrap_or_default();
            let next = triggers::next_execution_after(p, now).ok_or_else(|| {
                ApiError::bad_request(format!("The specified pattern is not valid: {p}"))
            })?;
            Ok((None, next, count))
        }
    }
}

pub async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let map = read_object(&st, &headers, body, "cron_trigger", FIELDS).await?;
    for k in [
        "id",
        "name",
        "workflow_name",
        "workflow_id",
        "project_id",
        "pattern",
        "first_execution_time",
        "next_execution_time",
        "created_at",
        "updated_at",
    ] {
        text_attr(&map, k)?;
    }
    let input = json_dict_attr(&map, "workflow_input", "cron_trigger")?.unwrap_or_default();
    let params = json_dict_attr(&map, "workflow_params", "cron_trigger")?.unwrap_or_default();
    let scope = enum_attr(&map, "scope", &["private", "public"])?;
    let count = int_attr(&map, "remaining_executions", "cron_trigger")?;
    if let Some(n) = count {
        if n < 1 {
            return Err(ApiError::bad_request(format!(
                "Invalid input for field/attribute remaining_executions. Value: '{n}'. Value should be greater or equal to 1"
            )));
        }
    }
    let count = match count {
        Some(n) => Some(i32::try_from(n).map_err(|_| {
            ApiError::bad_request(format!(
                "Invalid input for field/attribute remaining_executions. Value: '{n}'. Value is out of range"
            ))
        })?),
        None => None,
    };
    let scope = scope.unwrap_or_else(|| "private".into());
    if scope == "public" && !c.is_admin {
        return Err(ApiError::forbidden());
    }
    // [quirk] upstream answers a missing name with a 500 (`'name'`); a 400 here.
    let Some(name) = text_attr(&map, "name")? else {
        return Err(ApiError::bad_request(
            "Name of the cron trigger is not provided.",
        ));
    };
    max_len("name", Some(&name), 255)?;
    // Python truthiness: an empty pattern/time counts as absent.
    let pattern = text_attr(&map, "pattern")?.filter(|p| !p.is_empty());
    let first = text_attr(&map, "first_execution_time")?.filter(|p| !p.is_empty());
    let (first, next, count) = plan(
        pattern.as_deref(),
        first.as_deref(),
        count.map(i64::from),
        crate::db::now(),
    )?;
    let workflow_identifier = text_attr(&map, "workflow_id")?
        .filter(|s| !s.is_empty())
        .or(text_attr(&map, "workflow_name")?)
        .unwrap_or_else(|| "None".into());
    let t = NewCronTrigger {
        name,
        workflow_identifier,
        workflow_input: input,
        workflow_params: params,
        pattern,
        first_execution_time: first,
        next_execution_time: next,
        remaining_executions: count.and_then(|n| i32::try_from(n).ok()),
        scope,
    };
    let row = st
        .db
        .write(move |conn| triggers::create_cron_trigger(conn, &c, &t))
        .await?;
    // Upstream's POST rendering leaves the unset `updated_at` out.
    let mut m = to_json(&row);
    if row.updated_at.is_none() {
        m.remove("updated_at");
    }
    Ok(json_response(StatusCode::CREATED, &Value::Object(m), JSON))
}

pub async fn get_one(
    State(st): State<AppState>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let fields = super::collection::single_get_fields(raw.as_deref(), FIELDS)?;
    let vis = c.visibility();
    let row = st
        .db
        .read(move |conn| triggers::get_cron_trigger(conn, vis.as_deref(), &identifier))
        .await?;
    let mut m = to_json(&row);
    if !fields.is_empty() {
        m.retain(|k, _| fields.iter().any(|f| f == k));
    }
    Ok(json_response(StatusCode::OK, &Value::Object(m), JSON))
}

pub async fn list(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    let q = Query::parse(raw.as_deref());
    let mut req = ListRequest::parse(&q, &COLLECTION, st.settings.api.max_limit)?;
    for name in ["workflow_input", "workflow_params"] {
        if let Some(f) = super::collection::json_typed_filter(&q, name)? {
            req = req.with_filter(f);
        }
    }
    q.uuid("workflow_id")?;
    if let Some(v) = q.get("remaining_executions") {
        // WSME `IntegerType`: no operator prefix, but no minimum either.
        if super::params::parse_py_int(v).is_none() {
            return Err(ApiError::bad_request(format!(
                "Invalid input for field/attribute remaining_executions. Value: '{v}'. unable to convert to integer. Error: invalid literal for int() with base 10: {}",
                super::pyrepr::py_repr_str(v)
            )));
        }
    }
    q.uuid("project_id")?;
    let all_projects = q.flag("all_projects");
    if all_projects && !c.is_admin {
        return Err(ApiError::forbidden());
    }
    let vis = if all_projects { None } else { c.visibility() };
    if let Some(m) = req.marker.clone() {
        // The marker is looked up like GET /cron_triggers/{identifier}.
        let v = vis.clone();
        st.db
            .read(move |conn| triggers::get_cron_trigger(conn, v.as_deref(), &m))
            .await?;
    }
    let spec = req.to_spec(vis);
    let rows: Vec<CronTriggerRow> = st
        .db
        .read(move |conn| crate::db::list::list(conn, &CRON_TRIGGERS, &spec))
        .await?;
    let items = rows.iter().map(|r| req.project(to_json(r))).collect();
    Ok(json_response(
        StatusCode::OK,
        &req.envelope(&app_url(&headers), &COLLECTION, items),
        JSON,
    ))
}

pub async fn delete(
    State(st): State<AppState>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = caller(&headers);
    st.db
        .write(move |conn| triggers::delete_cron_trigger(conn, &c, &identifier))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> chrono::NaiveDateTime {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn one_shot_trigger_fires_at_its_first_time_once() {
        let now = ts("2030-01-01 00:00:00");
        let (first, next, count) = plan(None, Some("4242-12-25 13:37"), None, now).unwrap();
        assert_eq!(first, Some(ts("4242-12-25 13:37:00")));
        assert_eq!(next, ts("4242-12-25 13:37:00"));
        assert_eq!(count, Some(1));
    }

    #[test]
    fn creation_checks_come_in_upstream_order() {
        let now = ts("2030-01-01 00:00:00");
        let msg = |r: Result<_, ApiError>| r.unwrap_err().message;
        assert_eq!(
            msg(plan(None, None, Some(42), now)),
            "Pattern or first_execution_time must be specified."
        );
        assert_eq!(
            msg(plan(Some("* * *"), Some("2030-01-01 00:00"), None, now)),
            "first_execution_time must be at least 1 minute in the future."
        );
        assert_eq!(
            msg(plan(None, Some("4242-12-25 13:37"), Some(42), now)),
            "Pattern must be provided if count is superior to 1."
        );
        assert_eq!(
            msg(plan(Some("* * * * 15"), None, None, now)),
            "The specified pattern is not valid: * * * * 15"
        );
        assert_eq!(
            msg(plan(Some("5 * * * *"), Some("q"), None, now)),
            "time data 'q' does not match format '%Y-%m-%d %H:%M'"
        );
    }

    #[test]
    fn pattern_trigger_is_next_due_at_the_next_tick() {
        let now = ts("2030-01-01 10:10:10");
        let (first, next, count) = plan(Some("5 * * * *"), None, Some(3), now).unwrap();
        assert_eq!(
            (first, next, count),
            (None, ts("2030-01-01 11:05:00"), Some(3))
        );
    }
}
