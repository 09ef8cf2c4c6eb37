//! Cron triggers and event triggers: storage queries with upstream's lookup rules and fault
//! strings, cron pattern handling (croniter's syntax through `croner`) and the workflow input
//! check done at trigger creation. Firing lives in `crate::scheduler`; the queries it needs to
//! find due triggers, claim one and advance it are here.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Map, Value};

use super::definitions::{checksum, get_workflow, get_workflow_by_id};
use super::models::{CronTriggerRow, EventTriggerRow, WorkflowRow};
use super::schema::{cron_triggers as ct, event_triggers as et};
use super::{is_unique_violation, new_id, now, Caller, DbConnection, DbError};

/// The pattern stored for one-shot triggers (February 30th: never fires again).
pub const NEVER_PATTERN: &str = "0 0 30 2 0";

/// Parses a cron pattern the way croniter accepts it: 5 fields (`min hour dom month dow`) or 6
/// (croniter's trailing seconds field). `None` when croniter would reject it.
pub fn parse_cron_pattern(pattern: &str) -> Option<croner::Cron> {
    use croner::parser::{CronParser, Seconds, Year};
    let fields: Vec<&str> = pattern.split_whitespace().collect();
    match fields.len() {
        5 => CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(&fields.join(" "))
            .ok(),
        6 => {
            // croniter puts seconds last; croner wants them first.
            let mut f = fields.clone();
            let secs = f.remove(5);
            f.insert(0, secs);
            CronParser::builder()
                .seconds(Seconds::Required)
                .year(Year::Disallowed)
                .build()
                .parse(&f.join(" "))
                .ok()
        }
        _ => None,
    }
}

/// The first occurrence of `pattern` strictly after `after` (UTC, second precision).
pub fn next_execution_after(pattern: &str, after: NaiveDateTime) -> Option<NaiveDateTime> {
    use chrono::Timelike;
    let cron = parse_cron_pattern(pattern)?;
    let after = after.with_nanosecond(0).unwrap_or(after);
    let utc = after.and_utc();
    cron.find_next_occurrence(&utc, false)
        .ok()
        .map(|t| t.naive_utc())
}

/// Python's `strptime(text, '%Y-%m-%d %H:%M')` with its error texts.
pub fn parse_first_execution_time(text: &str) -> Result<NaiveDateTime, String> {
    const FMT: &str = "%Y-%m-%d %H:%M";
    match NaiveDateTime::parse_and_remainder(text, FMT) {
        Ok((t, "")) => Ok(t),
        Ok((_, rest)) => Err(format!("unconverted data remains: {rest}")),
        Err(_) => Err(format!(
            "time data {} does not match format '{FMT}'",
            crate::api::pyrepr::py_repr_str(text)
        )),
    }
}

/// Upstream's check of a start input against the workflow's declared inputs:
/// `Invalid input [name=…, class=…, missing=[…], unexpected=[…]]`.
pub fn validate_workflow_input(wf: &WorkflowRow, input: &Map<String, Value>) -> Result<(), String> {
    let spec: Value = serde_json::from_str(&wf.spec).unwrap_or(Value::Null);
    let mut declared: Vec<(String, bool)> = Vec::new();
    if let Some(Value::Array(items)) = spec.get("input") {
        for item in items {
            match item {
                Value::Object(m) => {
                    for k in m.keys() {
                        declared.push((k.clone(), true));
                    }
                }
                Value::String(s) => declared.push((s.clone(), false)),
                other => declared.push((crate::api::pyrepr::py_str(other), false)),
            }
        }
    }
    let mut unexpected: Vec<String> = input.keys().cloned().collect();
    let mut missing = Vec::new();
    for (name, has_default) in &declared {
        if !has_default && !input.contains_key(name) {
            missing.push(name.clone());
        }
        unexpected.retain(|k| k != name);
    }
    if missing.is_empty() && unexpected.is_empty() {
        return Ok(());
    }
    let class = match spec.get("type").and_then(Value::as_str) {
        Some("reverse") => "ReverseWorkflowSpec",
        _ => "DirectWorkflowSpec",
    };
    let name = spec
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(&wf.name)
        .to_string();
    let list = |v: &[String]| {
        let items: Vec<String> = v
            .iter()
            .map(|s| crate::api::pyrepr::py_repr_str(s))
            .collect();
        format!("[{}]", items.join(", "))
    };
    let mut msg = format!("Invalid input [name={name}, class={class}");
    if !missing.is_empty() {
        msg.push_str(&format!(", missing={}", list(&missing)));
    }
    if !unexpected.is_empty() {
        msg.push_str(&format!(", unexpected={}", list(&unexpected)));
    }
    msg.push(']');
    Err(msg)
}

fn check_owner(caller: &Caller, class: &str, id: &str, project_id: &str) -> Result<(), DbError> {
    if !caller.is_admin && project_id != caller.project_id {
        return Err(DbError::Forbidden(format!(
            "Can not access {class} resource of other projects, ID: {id}"
        )));
    }
    Ok(())
}

fn json_text(m: &Map<String, Value>) -> String {
    crate::api::pyjson::dumps(&Value::Object(m.clone()))
}

// ------------------------------------------------------------------------------------------
// Cron triggers

/// A validated cron trigger request (pattern and times already checked by the API).
#[derive(Debug, Clone, PartialEq)]
pub struct NewCronTrigger {
    pub name: String,
    /// `workflow_id` if given, else `workflow_name` (resolved in namespace `""`).
    pub workflow_identifier: String,
    pub workflow_input: Map<String, Value>,
    pub workflow_params: Map<String, Value>,
    pub pattern: Option<String>,
    pub first_execution_time: Option<NaiveDateTime>,
    pub next_execution_time: NaiveDateTime,
    pub remaining_executions: Option<i32>,
    pub scope: String,
}

/// Resolves the workflow, checks the input and stores the trigger.
pub fn create_cron_trigger(
    conn: &mut DbConnection,
    caller: &Caller,
    t: &NewCronTrigger,
) -> Result<CronTriggerRow, DbError> {
    let vis = caller.visibility();
    let wf = get_workflow(conn, vis.as_deref(), &t.workflow_identifier, "")?;
    validate_workflow_input(&wf, &t.workflow_input).map_err(DbError::Invalid)?;
    let input = json_text(&t.workflow_input);
    let params = json_text(&t.workflow_params);
    let row = CronTriggerRow {
        id: new_id(),
        name: t.name.clone(),
        project_id: caller.project_id.clone(),
        scope: t.scope.clone(),
        pattern: t
            .pattern
            .clone()
            .unwrap_or_else(|| NEVER_PATTERN.to_string()),
        first_execution_time: t.first_execution_time,
        next_execution_time: t.next_execution_time,
        workflow_name: wf.name.clone(),
        workflow_id: wf.id.clone(),
        remaining_executions: t.remaining_executions,
        workflow_input_hash: checksum(&input),
        workflow_input: input,
        workflow_params_hash: checksum(&params),
        workflow_params: params,
        created_at: now(),
        updated_at: None,
    };
    match diesel::insert_into(ct::table).values(&row).execute(conn) {
        Ok(_) => Ok(row),
        // Upstream reports either unique constraint with the name/project text.
        Err(e) if is_unique_violation(&e) => Err(DbError::Duplicate(format!(
            "Duplicate entry for cron trigger ['name', 'project_id']: {}, None",
            t.name
        ))),
        Err(e) => Err(e.into()),
    }
}

/// By name or id; 404 `Cron trigger not found [identifier=X]`.
pub fn get_cron_trigger(
    conn: &mut DbConnection,
    vis: Option<&str>,
    identifier: &str,
) -> Result<CronTriggerRow, DbError> {
    let mut q = ct::table
        .filter(ct::id.eq(identifier).or(ct::name.eq(identifier)))
        .into_boxed();
    if let Some(p) = vis {
        q = q.filter(ct::project_id.eq(p.to_string()).or(ct::scope.eq("public")));
    }
    q.order(ct::created_at.asc())
        .select(CronTriggerRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            DbError::NotFound(format!("Cron trigger not found [identifier={identifier}]"))
        })
}

/// By id only; 404 `Cron trigger not found [id=X]` (list markers).
pub fn get_cron_trigger_by_id(
    conn: &mut DbConnection,
    vis: Option<&str>,
    id: &str,
) -> Result<CronTriggerRow, DbError> {
    let mut q = ct::table.filter(ct::id.eq(id)).into_boxed();
    if let Some(p) = vis {
        q = q.filter(ct::project_id.eq(p.to_string()).or(ct::scope.eq("public")));
    }
    q.select(CronTriggerRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| DbError::NotFound(format!("Cron trigger not found [id={id}]")))
}

pub fn delete_cron_trigger(
    conn: &mut DbConnection,
    caller: &Caller,
    identifier: &str,
) -> Result<(), DbError> {
    let vis = caller.visibility();
    let row = get_cron_trigger(conn, vis.as_deref(), identifier)?;
    check_owner(caller, "CronTrigger", &row.id, &row.project_id)?;
    diesel::delete(ct::table.filter(ct::id.eq(&row.id))).execute(conn)?;
    Ok(())
}

/// Every project's cron triggers of a workflow (the workflow delete/scope checks).
pub fn cron_triggers_of_workflow(
    conn: &mut DbConnection,
    workflow_id: &str,
) -> Result<Vec<CronTriggerRow>, DbError> {
    Ok(ct::table
        .filter(ct::workflow_id.eq(workflow_id))
        .order(ct::created_at.asc())
        .select(CronTriggerRow::as_select())
        .load(conn)?)
}

/// Triggers due before `until` (upstream passes now + 2 s), earliest first: what the
/// scheduler considers on each tick.
pub fn due_cron_triggers(
    conn: &mut DbConnection,
    until: NaiveDateTime,
) -> Result<Vec<CronTriggerRow>, DbError> {
    Ok(ct::table
        .filter(ct::next_execution_time.lt(until))
        .order((ct::next_execution_time.asc(), ct::id.asc()))
        .select(CronTriggerRow::as_select())
        .load(conn)?)
}

/// Locks the trigger `id` for this transaction if it still has the `next_execution_time` the
/// scheduler saw. PostgreSQL: `FOR UPDATE SKIP LOCKED`, so a trigger another server is
/// firing right now is skipped rather than waited for (and once that server commits, the
/// moved `next_execution_time` no longer matches). SQLite has a single writer, so a plain
/// read inside the write transaction is already exclusive.
pub fn claim_cron_trigger(
    conn: &mut DbConnection,
    id: &str,
    seen_next: NaiveDateTime,
) -> Result<Option<CronTriggerRow>, DbError> {
    let rows: Vec<CronTriggerRow> = if conn.is_postgres() {
        diesel::sql_query(
            "SELECT * FROM cron_triggers WHERE id = $1 AND next_execution_time = $2 \
             FOR UPDATE SKIP LOCKED",
        )
        .bind::<diesel::sql_types::Text, _>(id)
        .bind::<diesel::sql_types::Timestamp, _>(seen_next)
        .load(conn)?
    } else {
        ct::table
            .filter(ct::id.eq(id).and(ct::next_execution_time.eq(seen_next)))
            .select(CronTriggerRow::as_select())
            .load(conn)?
    };
    Ok(rows.into_iter().next())
}

/// Claims one firing of a due trigger (engine.md §16): counts it down, deletes it after its
/// last execution, otherwise moves `next_execution_time` to the next tick after
/// `max(now, old next)` (missed ticks are not replayed). The change only applies while the row
/// still has the `next_execution_time` the caller read, so of several schedulers racing on
/// the same trigger exactly one gets `true` and must start the workflow.
pub fn advance_cron_trigger(
    conn: &mut DbConnection,
    t: &CronTriggerRow,
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    let remaining = match t.remaining_executions {
        Some(n) if n > 0 => Some(n - 1),
        other => other,
    };
    let same = ct::id
        .eq(t.id.clone())
        .and(ct::next_execution_time.eq(t.next_execution_time));
    let next = if remaining == Some(0) {
        None
    } else {
        next_execution_after(&t.pattern, now.max(t.next_execution_time))
    };
    let changed = match next {
        // The last execution, or a pattern with no further occurrence.
        None => diesel::delete(ct::table.filter(same)).execute(conn)?,
        Some(next) => diesel::update(ct::table.filter(same))
            .set((
                ct::next_execution_time.eq(next),
                ct::remaining_executions.eq(remaining),
                ct::updated_at.eq(Some(super::now())),
            ))
            .execute(conn)?,
    };
    Ok(changed > 0)
}

// ------------------------------------------------------------------------------------------
// Event triggers

#[derive(Debug, Clone, PartialEq)]
pub struct NewEventTrigger {
    pub name: String,
    pub workflow_id: String,
    pub workflow_input: Map<String, Value>,
    pub workflow_params: Map<String, Value>,
    pub exchange: String,
    pub topic: String,
    pub event: String,
    pub scope: String,
}

fn event_duplicate(exchange: &str, topic: &str, event: &str, workflow_id: &str) -> DbError {
    DbError::Duplicate(format!(
        "Duplicate entry for EventTrigger ['exchange', 'topic', 'event', 'workflow_id', 'project_id']: {exchange}, {topic}, {event}, {workflow_id}, None"
    ))
}

pub fn create_event_trigger(
    conn: &mut DbConnection,
    caller: &Caller,
    t: &NewEventTrigger,
) -> Result<EventTriggerRow, DbError> {
    let vis = caller.visibility();
    let wf = get_workflow_by_id(conn, vis.as_deref(), &t.workflow_id)?;
    validate_workflow_input(&wf, &t.workflow_input).map_err(DbError::Invalid)?;
    let row = EventTriggerRow {
        id: new_id(),
        name: t.name.clone(),
        project_id: caller.project_id.clone(),
        scope: t.scope.clone(),
        workflow_id: wf.id.clone(),
        workflow_input: json_text(&t.workflow_input),
        workflow_params: json_text(&t.workflow_params),
        exchange: t.exchange.clone(),
        topic: t.topic.clone(),
        event: t.event.clone(),
        created_at: now(),
        updated_at: None,
    };
    match diesel::insert_into(et::table).values(&row).execute(conn) {
        Ok(_) => Ok(row),
        Err(e) if is_unique_violation(&e) => Err(event_duplicate(
            &t.exchange,
            &t.topic,
            &t.event,
            &t.workflow_id,
        )),
        Err(e) => Err(e.into()),
    }
}

/// By id; 404 `Event trigger not found [id=X].`
pub fn get_event_trigger(
    conn: &mut DbConnection,
    vis: Option<&str>,
    id: &str,
) -> Result<EventTriggerRow, DbError> {
    let mut q = et::table.filter(et::id.eq(id)).into_boxed();
    if let Some(p) = vis {
        q = q.filter(et::project_id.eq(p.to_string()).or(et::scope.eq("public")));
    }
    q.select(EventTriggerRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| DbError::NotFound(format!("Event trigger not found [id={id}].")))
}

/// Changes of PUT /event_triggers/{id}: `Some` fields are replaced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventTriggerChanges {
    pub name: Option<String>,
    pub workflow_id: Option<String>,
    pub workflow_input: Option<Map<String, Value>>,
    pub workflow_params: Option<Map<String, Value>>,
    pub scope: Option<String>,
}

pub fn update_event_trigger(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
    ch: &EventTriggerChanges,
) -> Result<EventTriggerRow, DbError> {
    let vis = caller.visibility();
    let mut row = get_event_trigger(conn, vis.as_deref(), id)?;
    check_owner(caller, "EventTrigger", &row.id, &row.project_id)?;
    if let Some(n) = &ch.name {
        row.name = n.clone();
    }
    if let Some(w) = &ch.workflow_id {
        row.workflow_id = get_workflow_by_id(conn, vis.as_deref(), w)?.id;
    }
    if let Some(i) = &ch.workflow_input {
        row.workflow_input = json_text(i);
    }
    if let Some(p) = &ch.workflow_params {
        row.workflow_params = json_text(p);
    }
    if let Some(s) = &ch.scope {
        row.scope = s.clone();
    }
    row.updated_at = Some(now());
    let res = diesel::update(et::table.filter(et::id.eq(&row.id)))
        .set((
            et::name.eq(&row.name),
            et::workflow_id.eq(&row.workflow_id),
            et::workflow_input.eq(&row.workflow_input),
            et::workflow_params.eq(&row.workflow_params),
            et::scope.eq(&row.scope),
            et::updated_at.eq(row.updated_at),
        ))
        .execute(conn);
    match res {
        Ok(_) => Ok(row),
        Err(e) if is_unique_violation(&e) => Err(event_duplicate(
            &row.exchange,
            &row.topic,
            &row.event,
            &row.workflow_id,
        )),
        Err(e) => Err(e.into()),
    }
}

pub fn delete_event_trigger(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &str,
) -> Result<(), DbError> {
    let vis = caller.visibility();
    let row = get_event_trigger(conn, vis.as_deref(), id)?;
    check_owner(caller, "EventTrigger", &row.id, &row.project_id)?;
    diesel::delete(et::table.filter(et::id.eq(&row.id))).execute(conn)?;
    Ok(())
}

/// Every project's event triggers of a workflow.
pub fn event_triggers_of_workflow(
    conn: &mut DbConnection,
    workflow_id: &str,
) -> Result<Vec<EventTriggerRow>, DbError> {
    Ok(et::table
        .filter(et::workflow_id.eq(workflow_id))
        .order(et::created_at.asc())
        .select(EventTriggerRow::as_select())
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn croniter_patterns_are_accepted_and_out_of_range_ones_refused() {
        for ok in [
            "5 * * * *",
            "*/5 1-3 * * mon-fri",
            "0 0 30 2 0",
            "* * * * 7",
            "0 0 1 1 * 30",
        ] {
            assert!(parse_cron_pattern(ok).is_some(), "{ok}");
        }
        for bad in [
            "88 * * * *",
            "* 88 * * *",
            "* * * 35 *",
            "* * * * 15",
            "5 *",
            "",
            "a b c d e",
        ] {
            assert!(parse_cron_pattern(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn next_execution_is_strictly_after_the_start() {
        let start = ts("2030-01-01 10:05:00");
        assert_eq!(
            next_execution_after("5 * * * *", start),
            Some(ts("2030-01-01 11:05:00"))
        );
        assert_eq!(
            next_execution_after("*/15 * * * *", ts("2030-01-01 10:05:30")),
            Some(ts("2030-01-01 10:15:00"))
        );
        // Values computed with croniter: trailing seconds field, 7 = Sunday, dom OR dow.
        for (p, start, want) in [
            ("* * * * * 15", "2030-01-01 10:00:00", "2030-01-01 10:00:15"),
            ("0 0 * * 7", "2030-01-01 00:00:00", "2030-01-06 00:00:00"),
            ("0 0 1 * mon", "2030-01-01 00:00:00", "2030-01-07 00:00:00"),
        ] {
            assert_eq!(next_execution_after(p, ts(start)), Some(ts(want)), "{p}");
        }
    }

    #[test]
    fn first_execution_time_errors_are_strptime_texts() {
        assert_eq!(
            parse_first_execution_time("4242-12-25 13:37"),
            Ok(ts("4242-12-25 13:37:00"))
        );
        assert_eq!(
            parse_first_execution_time("q").unwrap_err(),
            "time data 'q' does not match format '%Y-%m-%d %H:%M'"
        );
        assert_eq!(
            parse_first_execution_time("4242-12-25 13:37:00").unwrap_err(),
            "unconverted data remains: :00"
        );
    }

    #[test]
    fn never_pattern_matches_sundays_in_february_as_croniter_does() {
        // croniter ORs a restricted day-of-month with a restricted day-of-week.
        assert_eq!(
            next_execution_after(NEVER_PATTERN, ts("2030-01-01 00:00:00")),
            Some(ts("2030-02-03 00:00:00"))
        );
    }

    fn test_db() -> (tempfile::TempDir, super::super::Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = crate::config::DatabaseUrl::parse(&format!(
            "sqlite:///{}",
            dir.path().join("t.sqlite").display()
        ))
        .unwrap();
        let db = super::super::Db::connect(&url, 2).unwrap();
        db.run_migrations().unwrap();
        (dir, db)
    }

    fn trigger(
        db: &super::super::Db,
        pattern: &str,
        next: &str,
        count: Option<i32>,
    ) -> CronTriggerRow {
        let caller = Caller {
            project_id: "p".into(),
            is_admin: false,
        };
        let spec = r#"{"name": "wf", "input": []}"#;
        let mut w = wf(spec);
        w.id = new_id();
        w.name = format!("wf{}", &w.id[..8]);
        w.checksum = Some(String::new());
        let row = w.clone();
        db.write_blocking(move |c| {
            diesel::insert_into(super::super::schema::workflow_definitions::table)
                .values(&row)
                .execute(c)?;
            create_cron_trigger(
                c,
                &caller,
                &NewCronTrigger {
                    name: format!("t{}", &row.id[..8]),
                    workflow_identifier: row.id.clone(),
                    workflow_input: Map::new(),
                    workflow_params: Map::new(),
                    pattern: Some(pattern.into()),
                    first_execution_time: None,
                    next_execution_time: ts(next),
                    remaining_executions: count,
                    scope: "private".into(),
                },
            )
        })
        .unwrap()
    }

    #[test]
    fn advancing_counts_down_moves_on_and_only_one_racer_wins() {
        let (_dir, db) = test_db();
        let t = trigger(&db, "*/10 * * * *", "2030-01-01 10:00:00", Some(2));
        let now = ts("2030-01-01 10:00:01");
        let due = db
            .read_blocking(|c| due_cron_triggers(c, ts("2030-01-01 10:00:03")))
            .unwrap();
        assert_eq!(due.len(), 1);
        assert!(db
            .write_blocking(|c| advance_cron_trigger(c, &t, now))
            .unwrap());
        // A second scheduler holding the same stale row loses.
        assert!(!db
            .write_blocking(|c| advance_cron_trigger(c, &t, now))
            .unwrap());
        let t2 = db
            .read_blocking(|c| get_cron_trigger(c, None, &t.id))
            .unwrap();
        assert_eq!(t2.next_execution_time, ts("2030-01-01 10:10:00"));
        assert_eq!(t2.remaining_executions, Some(1));
        // The last execution removes the trigger.
        assert!(db
            .write_blocking(|c| advance_cron_trigger(c, &t2, ts("2030-01-01 10:10:00")))
            .unwrap());
        assert!(matches!(
            db.read_blocking(|c| get_cron_trigger(c, None, &t.id)),
            Err(DbError::NotFound(_))
        ));
    }

    #[test]
    fn missed_ticks_are_skipped_and_unlimited_triggers_stay() {
        let (_dir, db) = test_db();
        let t = trigger(&db, "0 * * * *", "2030-01-01 10:00:00", None);
        assert!(db
            .write_blocking(|c| advance_cron_trigger(c, &t, ts("2030-01-01 13:30:00")))
            .unwrap());
        let t2 = db
            .read_blocking(|c| get_cron_trigger(c, None, &t.id))
            .unwrap();
        assert_eq!(t2.next_execution_time, ts("2030-01-01 14:00:00"));
        assert_eq!(t2.remaining_executions, None);
        assert!(t2.updated_at.is_some());
    }

    fn wf(spec: &str) -> WorkflowRow {
        WorkflowRow {
            id: "x".into(),
            name: "wf".into(),
            namespace: String::new(),
            project_id: "p".into(),
            scope: "private".into(),
            is_system: false,
            definition: String::new(),
            spec: spec.into(),
            input: None,
            interface: None,
            checksum: None,
            tags: None,
            created_at: ts("2030-01-01 00:00:00"),
            updated_at: None,
        }
    }

    #[test]
    fn input_check_names_missing_and_unexpected_keys() {
        let w = wf(r#"{"name": "wf", "input": ["a", {"b": 1}]}"#);
        let input = |j: &str| serde_json::from_str::<Map<String, Value>>(j).unwrap();
        assert!(validate_workflow_input(&w, &input(r#"{"a": 1}"#)).is_ok());
        assert_eq!(
            validate_workflow_input(&w, &input(r#"{"c": 1}"#)).unwrap_err(),
            "Invalid input [name=wf, class=DirectWorkflowSpec, missing=['a'], unexpected=['c']]"
        );
        let r = wf(r#"{"name": "wf", "type": "reverse"}"#);
        assert_eq!(
            validate_workflow_input(&r, &input(r#"{"z": 1}"#)).unwrap_err(),
            "Invalid input [name=wf, class=ReverseWorkflowSpec, unexpected=['z']]"
        );
    }
}
