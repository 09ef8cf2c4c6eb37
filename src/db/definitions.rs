//! Queries of the definition resources (workbooks, workflows, ad-hoc actions, environments),
//! with upstream's lookup rules, access checks and fault strings. Every function takes the
//! connection of the surrounding transaction; callers run them through [`super::Db::write`] /
//! [`super::Db::read`].

use diesel::prelude::*;

use super::models::{ActionRow, EnvironmentRow, WorkbookRow, WorkflowRow};
use super::schema::{
    action_definitions as ad, environments as env, workbooks as wb, workflow_definitions as wf,
};
use super::{is_unique_violation, new_id, now, Caller, DbConnection, DbError};

/// A workflow to store (built by the API from a parsed spec).
#[derive(Debug, Clone, PartialEq)]
pub struct NewWorkflow {
    pub name: String,
    pub definition: String,
    pub spec: String,
    pub input: String,
    pub interface: String,
    pub tags: Option<String>,
    /// Whether the `checksum` column is maintained (upstream leaves it NULL for workflows
    /// registered through a workbook).
    pub with_checksum: bool,
}

/// An ad-hoc action to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAction {
    pub name: String,
    pub definition: String,
    pub spec: String,
    pub description: Option<String>,
    /// `None` when the action declares no inputs.
    pub input: Option<String>,
    pub tags: Option<String>,
}

/// A workbook to store, with its workflows/actions already named `<wb>.<name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWorkbook {
    pub name: String,
    pub definition: String,
    pub spec: Option<String>,
    pub tags: Option<String>,
    pub workflows: Vec<NewWorkflow>,
    pub actions: Vec<NewAction>,
}

/// `lower(hex(md5(text)))`.
pub fn checksum(text: &str) -> String {
    use md5::{Digest, Md5};
    let d = Md5::digest(text.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn check_access(
    caller: &Caller,
    class: &str,
    id: &str,
    project_id: &str,
    is_system: bool,
) -> Result<(), DbError> {
    if !caller.is_admin && project_id != caller.project_id {
        return Err(DbError::Forbidden(format!(
            "Can not access {class} resource of other projects, ID: {id}"
        )));
    }
    if !caller.is_admin && is_system {
        return Err(DbError::Invalid(format!(
            "Can not modify a system {class} resource, ID: {id}"
        )));
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Workflows

macro_rules! visible {
    ($q:expr, $tbl:ident, $vis:expr) => {{
        let mut q = $q;
        if let Some(p) = $vis {
            q = q.filter(
                $tbl::project_id
                    .eq(p.to_string())
                    .or($tbl::scope.eq("public")),
            );
        }
        q
    }};
}

/// The first row of a query, restricted to what `vis` may see, as `Option`. The query is
/// not boxed (boxed queries are prepared again on every call; these stay in the
/// connection's statement cache: the hot lookups of every execution start and GET), and it
/// has no `LIMIT ?` (SQLite plans a bound LIMIT by its value and so prepares the statement
/// again whenever the value is bound). The lookups match a handful of rows at most.
macro_rules! first_visible {
    ($conn:expr, $vis:expr, $tbl:ident, $q:expr) => {{
        let rows: Result<Vec<_>, diesel::result::Error> = match $vis {
            None => $q.load($conn),
            Some(p) => $q
                .filter($tbl::project_id.eq(p).or($tbl::scope.eq("public")))
                .load($conn),
        };
        rows.map(|r| r.into_iter().next())
    }};
}

/// `id = identifier OR (name = identifier AND namespace = ns)`, as seen by `vis`.
pub fn find_workflow(
    conn: &mut DbConnection,
    vis: Option<&str>,
    identifier: &str,
    namespace: &str,
) -> Result<Option<WorkflowRow>, DbError> {
    let q = wf::table
        .filter(
            wf::id
                .eq(identifier)
                .or(wf::name.eq(identifier).and(wf::namespace.eq(namespace))),
        )
        .order(wf::created_at.asc())
        .select(WorkflowRow::as_select());
    Ok(first_visible!(conn, vis, wf, q)?)
}

/// [`find_workflow`] or 404 `Workflow not found [workflow_identifier=X, namespace=NS]`.
pub fn get_workflow(
    conn: &mut DbConnection,
    vis: Option<&str>,
    identifier: &str,
    namespace: &str,
) -> Result<WorkflowRow, DbError> {
    find_workflow(conn, vis, identifier, namespace)?.ok_or_else(|| {
        DbError::NotFound(format!(
            "Workflow not found [workflow_identifier={identifier}, namespace={namespace}]"
        ))
    })
}

/// By id only; 404 `Workflow not found [workflow_id=X]` (list markers, executions).
pub fn get_workflow_by_id(
    conn: &mut DbConnection,
    vis: Option<&str>,
    id: &str,
) -> Result<WorkflowRow, DbError> {
    let q = visible!(wf::table.filter(wf::id.eq(id)).into_boxed(), wf, vis);
    q.select(WorkflowRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| DbError::NotFound(format!("Workflow not found [workflow_id={id}]")))
}

/// Execution-time resolution by name: `namespace` first, then `""`.
pub fn load_workflow(
    conn: &mut DbConnection,
    vis: Option<&str>,
    name: &str,
    namespace: &str,
) -> Result<Option<WorkflowRow>, DbError> {
    let q = wf::table
        .filter(
            wf::name
                .eq(name)
                .and(wf::namespace.eq(namespace).or(wf::namespace.eq(""))),
        )
        .order(wf::namespace.desc())
        .select(WorkflowRow::as_select());
    Ok(first_visible!(conn, vis, wf, q)?)
}

fn workflow_duplicate(name: &str, namespace: &str) -> DbError {
    DbError::Duplicate(format!(
        "Duplicate entry for WorkflowDefinition ['name', 'namespace', 'project_id']: {name}, {namespace}, None"
    ))
}

fn insert_workflow(
    conn: &mut DbConnection,
    caller: &Caller,
    w: &NewWorkflow,
    scope: &str,
    namespace: &str,
    is_system: bool,
) -> Result<WorkflowRow, DbError> {
    let row = WorkflowRow {
        id: new_id(),
        name: w.name.clone(),
        namespace: namespace.to_string(),
        project_id: caller.project_id.clone(),
        scope: scope.to_string(),
        is_system,
        definition: w.definition.clone(),
        spec: w.spec.clone(),
        input: Some(w.input.clone()),
        interface: Some(w.interface.clone()),
        checksum: w.with_checksum.then(|| checksum(&w.definition)),
        tags: w.tags.clone(),
        created_at: now(),
        updated_at: None,
    };
    match diesel::insert_into(wf::table).values(&row).execute(conn) {
        Ok(_) => Ok(row),
        Err(e) if is_unique_violation(&e) => Err(workflow_duplicate(&w.name, namespace)),
        Err(e) => Err(e.into()),
    }
}

/// Creates every workflow of one upload (the caller's transaction makes it all-or-nothing).
pub fn create_workflows(
    conn: &mut DbConnection,
    caller: &Caller,
    items: &[NewWorkflow],
    scope: &str,
    namespace: &str,
) -> Result<Vec<WorkflowRow>, DbError> {
    items
        .iter()
        .map(|w| insert_workflow(conn, caller, w, scope, namespace, false))
        .collect()
}

fn update_workflow(
    conn: &mut DbConnection,
    caller: &Caller,
    identifier: &str,
    w: &NewWorkflow,
    scope: &str,
    namespace: &str,
) -> Result<WorkflowRow, DbError> {
    let vis = caller.visibility();
    let existing = get_workflow(conn, vis.as_deref(), identifier, namespace)?;
    check_access(
        caller,
        "WorkflowDefinition",
        &existing.id,
        &existing.project_id,
        existing.is_system,
    )?;
    if existing.scope == "public" && scope == "private" {
        check_no_foreign_triggers(conn, &existing, identifier, namespace)?;
    }
    let updated_at = now();
    let res = diesel::update(wf::table.filter(wf::id.eq(&existing.id)))
        .set((
            wf::name.eq(&w.name),
            wf::namespace.eq(namespace),
            wf::scope.eq(scope),
            wf::definition.eq(&w.definition),
            wf::spec.eq(&w.spec),
            wf::input.eq(Some(&w.input)),
            wf::interface.eq(Some(&w.interface)),
            wf::tags.eq(&w.tags),
            wf::updated_at.eq(Some(updated_at)),
        ))
        .execute(conn);
    match res {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Err(workflow_duplicate(&w.name, namespace)),
        Err(e) => return Err(e.into()),
    }
    let new_checksum = if w.with_checksum {
        let c = checksum(&w.definition);
        diesel::update(wf::table.filter(wf::id.eq(&existing.id)))
            .set(wf::checksum.eq(Some(&c)))
            .execute(conn)?;
        Some(c)
    } else {
        existing.checksum.clone()
    };
    Ok(WorkflowRow {
        name: w.name.clone(),
        namespace: namespace.to_string(),
        scope: scope.to_string(),
        definition: w.definition.clone(),
        spec: w.spec.clone(),
        input: Some(w.input.clone()),
        interface: Some(w.interface.clone()),
        checksum: new_checksum,
        tags: w.tags.clone(),
        updated_at: Some(updated_at),
        ..existing
    })
}

/// A public workflow may not become private while other projects' triggers use it.
fn check_no_foreign_triggers(
    conn: &mut DbConnection,
    wf_row: &WorkflowRow,
    identifier: &str,
    namespace: &str,
) -> Result<(), DbError> {
    for (kind, projects) in [
        (
            "cron",
            super::triggers::cron_triggers_of_workflow(conn, &wf_row.id)?
                .into_iter()
                .map(|t| t.project_id)
                .collect::<Vec<_>>(),
        ),
        (
            "event",
            super::triggers::event_triggers_of_workflow(conn, &wf_row.id)?
                .into_iter()
                .map(|t| t.project_id)
                .collect(),
        ),
    ] {
        if projects.iter().any(|p| *p != wf_row.project_id) {
            return Err(DbError::Forbidden(format!(
                "Can not update scope of workflow that has {kind} triggers associated in other tenants. [workflow_identifier={identifier}, namespace={namespace}]"
            )));
        }
    }
    Ok(())
}

/// PUT /workflows[/{identifier}]: each workflow is matched by `identifier` (when given) or by
/// its name in `namespace`.
pub fn update_workflows(
    conn: &mut DbConnection,
    caller: &Caller,
    items: &[NewWorkflow],
    scope: &str,
    identifier: Option<&str>,
    namespace: &str,
) -> Result<Vec<WorkflowRow>, DbError> {
    if let Some(id) = identifier {
        if items.len() > 1 {
            return Err(DbError::Invalid(format!(
                "More than one workflows are not supported for update with identifier. [identifier: {id}]"
            )));
        }
    }
    items
        .iter()
        .map(|w| {
            update_workflow(
                conn,
                caller,
                identifier.unwrap_or(&w.name),
                w,
                scope,
                namespace,
            )
        })
        .collect()
}

fn create_or_update_workflow(
    conn: &mut DbConnection,
    caller: &Caller,
    w: &NewWorkflow,
    scope: &str,
    namespace: &str,
) -> Result<WorkflowRow, DbError> {
    let vis = caller.visibility();
    if find_workflow(conn, vis.as_deref(), &w.name, namespace)?.is_some() {
        update_workflow(conn, caller, &w.name, w, scope, namespace)
    } else {
        insert_workflow(conn, caller, w, scope, namespace, false)
    }
}

/// A trigger referring to a workflow (`kind`: `c` cron, `e` event).
#[derive(QueryableByName)]
struct TriggerRef {
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

/// DELETE /workflows/{identifier}.
pub fn delete_workflow(
    conn: &mut DbConnection,
    caller: &Caller,
    identifier: &str,
    namespace: &str,
) -> Result<(), DbError> {
    let id = deletable_workflow(conn, caller, identifier, namespace)?;
    diesel::delete(wf::table.filter(wf::id.eq(&id))).execute(conn)?;
    Ok(())
}

/// [`delete_workflow`] outside a transaction (PostgreSQL, autocommit: no BEGIN/COMMIT round
/// trips): the same checks, then one DELETE that also re-checks that no trigger refers to the
/// workflow. `Ok(false)`: the row changed in between (deleted, or a trigger appeared); the
/// caller then runs [`delete_workflow`] in a transaction, which answers as usual.
pub fn delete_workflow_autocommit(
    conn: &mut DbConnection,
    caller: &Caller,
    identifier: &str,
    namespace: &str,
) -> Result<bool, DbError> {
    let id = deletable_workflow(conn, caller, identifier, namespace)?;
    let n = diesel::sql_query(if conn.is_postgres() {
        "DELETE FROM workflow_definitions WHERE id = $1 \
         AND NOT EXISTS (SELECT 1 FROM cron_triggers WHERE workflow_id = $2) \
         AND NOT EXISTS (SELECT 1 FROM event_triggers WHERE workflow_id = $3)"
    } else {
        "DELETE FROM workflow_definitions WHERE id = ? \
         AND NOT EXISTS (SELECT 1 FROM cron_triggers WHERE workflow_id = ?) \
         AND NOT EXISTS (SELECT 1 FROM event_triggers WHERE workflow_id = ?)"
    })
    .bind::<diesel::sql_types::Text, _>(&id)
    .bind::<diesel::sql_types::Text, _>(&id)
    .bind::<diesel::sql_types::Text, _>(&id)
    .execute(conn)?;
    Ok(n == 1)
}

/// The id of the workflow a DELETE names, after the access and trigger checks (with their
/// upstream errors).
fn deletable_workflow(
    conn: &mut DbConnection,
    caller: &Caller,
    identifier: &str,
    namespace: &str,
) -> Result<String, DbError> {
    let vis = caller.visibility();
    let row = get_workflow(conn, vis.as_deref(), identifier, namespace)?;
    check_access(
        caller,
        "WorkflowDefinition",
        &row.id,
        &row.project_id,
        row.is_system,
    )?;
    // The triggers of both kinds in one round trip: cron ones first, each kind oldest first.
    let refs: Vec<TriggerRef> = diesel::sql_query(if conn.is_postgres() {
        "SELECT 'c' AS kind, id, created_at FROM cron_triggers WHERE workflow_id = $1 \
         UNION ALL SELECT 'e' AS kind, id, created_at FROM event_triggers WHERE workflow_id = $2 \
         ORDER BY kind, created_at"
    } else {
        "SELECT 'c' AS kind, id, created_at FROM cron_triggers WHERE workflow_id = ? \
         UNION ALL SELECT 'e' AS kind, id, created_at FROM event_triggers WHERE workflow_id = ? \
         ORDER BY kind, created_at"
    })
    .bind::<diesel::sql_types::Text, _>(&row.id)
    .bind::<diesel::sql_types::Text, _>(&row.id)
    .load(conn)?;
    let ids = |kind: &str| -> Vec<&str> {
        refs.iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.id.as_str())
            .collect()
    };
    let crons = ids("c");
    if !crons.is_empty() {
        return Err(DbError::Invalid(format!(
            "Can't delete workflow that has cron triggers associated. [workflow_identifier={identifier}, namespace={namespace}], [cron_trigger_id(s)={}]",
            crons.join(", ")
        )));
    }
    let events = ids("e");
    if !events.is_empty() {
        return Err(DbError::Invalid(format!(
            "Can't delete workflow that has event triggers associated. [workflow_identifier={identifier}], [event_trigger_id(s)={}]",
            events.join(", ")
        )));
    }
    Ok(row.id)
}

// ------------------------------------------------------------------------------------------
// Workbooks

pub fn find_workbook(
    conn: &mut DbConnection,
    vis: Option<&str>,
    name: &str,
    namespace: &str,
) -> Result<Option<WorkbookRow>, DbError> {
    let q = wb::table
        .filter(wb::name.eq(name).and(wb::namespace.eq(namespace)))
        .into_boxed();
    let q = visible!(q, wb, vis);
    Ok(q.select(WorkbookRow::as_select()).first(conn).optional()?)
}

/// 404 `Workbook not found [name=X, namespace=NS]`.
pub fn get_workbook(
    conn: &mut DbConnection,
    vis: Option<&str>,
    name: &str,
    namespace: &str,
) -> Result<WorkbookRow, DbError> {
    find_workbook(conn, vis, name, namespace)?.ok_or_else(|| {
        DbError::NotFound(format!(
            "Workbook not found [name={name}, namespace={namespace}]"
        ))
    })
}

fn register_workbook_parts(
    conn: &mut DbConnection,
    caller: &Caller,
    w: &NewWorkbook,
    scope: &str,
    namespace: &str,
) -> Result<(), DbError> {
    for a in &w.actions {
        create_or_update_action(conn, caller, a, scope, namespace)?;
    }
    for f in &w.workflows {
        create_or_update_workflow(conn, caller, f, scope, namespace)?;
    }
    Ok(())
}

/// POST /workbooks: the workbook plus its `<wb>.<name>` workflows and actions.
pub fn create_workbook(
    conn: &mut DbConnection,
    caller: &Caller,
    w: &NewWorkbook,
    scope: &str,
    namespace: &str,
) -> Result<WorkbookRow, DbError> {
    let row = WorkbookRow {
        id: new_id(),
        name: w.name.clone(),
        namespace: namespace.to_string(),
        project_id: caller.project_id.clone(),
        scope: scope.to_string(),
        definition: w.definition.clone(),
        spec: w.spec.clone(),
        tags: w.tags.clone(),
        created_at: now(),
        updated_at: None,
    };
    match diesel::insert_into(wb::table).values(&row).execute(conn) {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(DbError::Duplicate(format!(
                "Duplicate entry for WorkbookDefinition ['name', 'namespace', 'project_id']: {}, {namespace}, None",
                w.name
            )))
        }
        Err(e) => return Err(e.into()),
    }
    register_workbook_parts(conn, caller, w, scope, namespace)?;
    Ok(row)
}

/// PUT /workbooks: matched by the DSL name in `namespace`.
pub fn update_workbook(
    conn: &mut DbConnection,
    caller: &Caller,
    w: &NewWorkbook,
    scope: &str,
    namespace: &str,
) -> Result<WorkbookRow, DbError> {
    let vis = caller.visibility();
    let existing = get_workbook(conn, vis.as_deref(), &w.name, namespace)?;
    let updated_at = now();
    diesel::update(wb::table.filter(wb::id.eq(&existing.id)))
        .set((
            wb::scope.eq(scope),
            wb::definition.eq(&w.definition),
            wb::spec.eq(&w.spec),
            wb::tags.eq(&w.tags),
            wb::updated_at.eq(Some(updated_at)),
        ))
        .execute(conn)?;
    register_workbook_parts(conn, caller, w, scope, namespace)?;
    Ok(WorkbookRow {
        scope: scope.to_string(),
        definition: w.definition.clone(),
        spec: w.spec.clone(),
        tags: w.tags.clone(),
        updated_at: Some(updated_at),
        ..existing
    })
}

/// DELETE /workbooks/{name}: its workflows and actions stay.
pub fn delete_workbook(
    conn: &mut DbConnection,
    vis: Option<&str>,
    name: &str,
    namespace: &str,
) -> Result<(), DbError> {
    let q = wb::table
        .filter(wb::name.eq(name).and(wb::namespace.eq(namespace)))
        .into_boxed();
    let q = visible!(q, wb, vis);
    let ids: Vec<String> = q.select(wb::id).load(conn)?;
    if ids.is_empty() {
        return Err(DbError::NotFound(format!(
            "Workbook not found [workbook_name={name}, namespace={namespace}]"
        )));
    }
    diesel::delete(wb::table.filter(wb::id.eq_any(ids))).execute(conn)?;
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Ad-hoc actions

/// Name in exactly `namespace` (GET /actions/{name}; `load_action_definition` upstream).
pub fn find_action(
    conn: &mut DbConnection,
    vis: Option<&str>,
    name: &str,
    namespace: &str,
) -> Result<Option<ActionRow>, DbError> {
    let q = ad::table
        .filter(ad::name.eq(name).and(ad::namespace.eq(namespace)))
        .select(ActionRow::as_select());
    Ok(first_visible!(conn, vis, ad, q)?)
}

fn find_action_by_id_or_name(
    conn: &mut DbConnection,
    vis: Option<&str>,
    identifier: &str,
    namespace: &str,
) -> Result<Option<ActionRow>, DbError> {
    let q = ad::table
        .filter(
            ad::id
                .eq(identifier)
                .or(ad::name.eq(identifier).and(ad::namespace.eq(namespace))),
        )
        .into_boxed();
    let q = visible!(q, ad, vis);
    Ok(q.order(ad::created_at.asc())
        .select(ActionRow::as_select())
        .first(conn)
        .optional()?)
}

/// Id or name in `namespace`, then in `""`; 404 `Action definition not found [action_name=X,
/// namespace=NS]` (DELETE, PUT).
pub fn get_action(
    conn: &mut DbConnection,
    vis: Option<&str>,
    identifier: &str,
    namespace: &str,
) -> Result<ActionRow, DbError> {
    if let Some(a) = find_action_by_id_or_name(conn, vis, identifier, namespace)? {
        return Ok(a);
    }
    if let Some(a) = find_action_by_id_or_name(conn, vis, identifier, "")? {
        return Ok(a);
    }
    Err(DbError::NotFound(format!(
        "Action definition not found [action_name={identifier}, namespace={namespace}]"
    )))
}

/// Every visible ad-hoc action (the actions list filters and sorts in memory, as upstream).
pub fn all_actions(conn: &mut DbConnection, vis: Option<&str>) -> Result<Vec<ActionRow>, DbError> {
    let q = visible!(ad::table.into_boxed(), ad, vis);
    Ok(q.order(ad::name.asc())
        .select(ActionRow::as_select())
        .load(conn)?)
}

fn action_duplicate(name: &str, namespace: &str) -> DbError {
    DbError::Duplicate(format!(
        "Duplicate entry for Action ['name', 'namespace', 'project_id']: {name}, {namespace}, None"
    ))
}

fn insert_action(
    conn: &mut DbConnection,
    caller: &Caller,
    a: &NewAction,
    scope: &str,
    namespace: &str,
) -> Result<ActionRow, DbError> {
    let row = ActionRow {
        id: new_id(),
        name: a.name.clone(),
        namespace: namespace.to_string(),
        project_id: caller.project_id.clone(),
        scope: scope.to_string(),
        is_system: false,
        description: a.description.clone(),
        input: a.input.clone(),
        definition: a.definition.clone(),
        spec: a.spec.clone(),
        tags: a.tags.clone(),
        created_at: now(),
        updated_at: None,
    };
    match diesel::insert_into(ad::table).values(&row).execute(conn) {
        Ok(_) => Ok(row),
        Err(e) if is_unique_violation(&e) => Err(action_duplicate(&a.name, namespace)),
        Err(e) => Err(e.into()),
    }
}

pub fn create_actions(
    conn: &mut DbConnection,
    caller: &Caller,
    items: &[NewAction],
    scope: &str,
    namespace: &str,
) -> Result<Vec<ActionRow>, DbError> {
    items
        .iter()
        .map(|a| insert_action(conn, caller, a, scope, namespace))
        .collect()
}

fn update_action(
    conn: &mut DbConnection,
    caller: &Caller,
    identifier: &str,
    a: &NewAction,
    scope: &str,
    namespace: &str,
) -> Result<ActionRow, DbError> {
    let vis = caller.visibility();
    let existing = get_action(conn, vis.as_deref(), identifier, namespace)?;
    let updated_at = now();
    let res = diesel::update(ad::table.filter(ad::id.eq(&existing.id)))
        .set((
            ad::name.eq(&a.name),
            ad::namespace.eq(namespace),
            ad::scope.eq(scope),
            ad::description.eq(&a.description),
            ad::input.eq(&a.input),
            ad::definition.eq(&a.definition),
            ad::spec.eq(&a.spec),
            ad::tags.eq(&a.tags),
            ad::updated_at.eq(Some(updated_at)),
        ))
        .execute(conn);
    match res {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Err(action_duplicate(&a.name, namespace)),
        Err(e) => return Err(e.into()),
    }
    Ok(ActionRow {
        name: a.name.clone(),
        namespace: namespace.to_string(),
        scope: scope.to_string(),
        description: a.description.clone(),
        input: a.input.clone(),
        definition: a.definition.clone(),
        spec: a.spec.clone(),
        tags: a.tags.clone(),
        updated_at: Some(updated_at),
        ..existing
    })
}

fn refuse_system_action(
    conn: &mut DbConnection,
    caller: &Caller,
    name: &str,
) -> Result<(), DbError> {
    let vis = caller.visibility();
    if let Some(existing) = find_action(conn, vis.as_deref(), name, "")? {
        if existing.is_system {
            return Err(DbError::Invalid(format!(
                "Attempt to modify a system action: {}",
                existing.name
            )));
        }
    }
    Ok(())
}

/// PUT /actions[/{identifier}].
pub fn update_actions(
    conn: &mut DbConnection,
    caller: &Caller,
    items: &[NewAction],
    scope: &str,
    identifier: Option<&str>,
    namespace: &str,
) -> Result<Vec<ActionRow>, DbError> {
    if let Some(id) = identifier {
        if items.len() > 1 {
            return Err(DbError::Invalid(format!(
                "More than one actions are not supported for update with identifier. [identifier: {id}]"
            )));
        }
    }
    let mut out = Vec::new();
    for a in items {
        refuse_system_action(conn, caller, &a.name)?;
        out.push(update_action(
            conn,
            caller,
            identifier.unwrap_or(&a.name),
            a,
            scope,
            namespace,
        )?);
    }
    Ok(out)
}

/// Create, or update when the name exists in `namespace` (workbooks, `db populate`).
pub fn create_or_update_action(
    conn: &mut DbConnection,
    caller: &Caller,
    a: &NewAction,
    scope: &str,
    namespace: &str,
) -> Result<ActionRow, DbError> {
    refuse_system_action(conn, caller, &a.name)?;
    let vis = caller.visibility();
    if find_action(conn, vis.as_deref(), &a.name, namespace)?.is_some() {
        update_action(conn, caller, &a.name, a, scope, namespace)
    } else {
        insert_action(conn, caller, a, scope, namespace)
    }
}

/// DELETE /actions/{identifier}.
pub fn delete_action(
    conn: &mut DbConnection,
    caller: &Caller,
    identifier: &str,
    namespace: &str,
) -> Result<(), DbError> {
    let vis = caller.visibility();
    let row = get_action(conn, vis.as_deref(), identifier, namespace)?;
    if row.is_system {
        return Err(DbError::Invalid(format!(
            "Attempt to delete a system action: {identifier}"
        )));
    }
    diesel::delete(ad::table.filter(ad::id.eq(&row.id))).execute(conn)?;
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Environments

/// By name (secure query); 404 `Environment not found [name=X]`.
pub fn get_environment(
    conn: &mut DbConnection,
    vis: Option<&str>,
    name: &str,
) -> Result<EnvironmentRow, DbError> {
    find_environment(conn, vis, name)?
        .ok_or_else(|| DbError::NotFound(format!("Environment not found [name={name}]")))
}

pub fn find_environment(
    conn: &mut DbConnection,
    vis: Option<&str>,
    name: &str,
) -> Result<Option<EnvironmentRow>, DbError> {
    let q = visible!(env::table.filter(env::name.eq(name)).into_boxed(), env, vis);
    Ok(q.order(env::created_at.asc())
        .select(EnvironmentRow::as_select())
        .first(conn)
        .optional()?)
}

/// Values of a new environment.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEnvironment {
    pub name: String,
    pub description: Option<String>,
    pub variables: Option<String>,
    pub scope: String,
}

pub fn create_environment(
    conn: &mut DbConnection,
    caller: &Caller,
    e: &NewEnvironment,
) -> Result<EnvironmentRow, DbError> {
    let row = EnvironmentRow {
        id: new_id(),
        name: e.name.clone(),
        description: e.description.clone(),
        variables: e.variables.clone(),
        project_id: caller.project_id.clone(),
        scope: e.scope.clone(),
        created_at: now(),
        updated_at: None,
    };
    match diesel::insert_into(env::table).values(&row).execute(conn) {
        Ok(_) => Ok(row),
        Err(err) if is_unique_violation(&err) => Err(DbError::Duplicate(format!(
            "Duplicate entry for Environment ['name', 'project_id']: {}, None",
            e.name
        ))),
        Err(err) => Err(err.into()),
    }
}

/// Changes of PUT /environments: `Some` fields are replaced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnvironmentChanges {
    pub description: Option<Option<String>>,
    pub variables: Option<Option<String>>,
    pub scope: Option<String>,
}

pub fn update_environment(
    conn: &mut DbConnection,
    vis: Option<&str>,
    name: &str,
    ch: &EnvironmentChanges,
) -> Result<EnvironmentRow, DbError> {
    let mut row = get_environment(conn, vis, name)?;
    if let Some(d) = &ch.description {
        row.description = d.clone();
    }
    if let Some(v) = &ch.variables {
        row.variables = v.clone();
    }
    if let Some(s) = &ch.scope {
        row.scope = s.clone();
    }
    row.updated_at = Some(now());
    diesel::update(env::table.filter(env::id.eq(&row.id)))
        .set((
            env::description.eq(&row.description),
            env::variables.eq(&row.variables),
            env::scope.eq(&row.scope),
            env::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    Ok(row)
}

pub fn delete_environment(
    conn: &mut DbConnection,
    vis: Option<&str>,
    name: &str,
) -> Result<(), DbError> {
    let q = visible!(env::table.filter(env::name.eq(name)).into_boxed(), env, vis);
    let ids: Vec<String> = q.select(env::id).load(conn)?;
    if ids.is_empty() {
        return Err(DbError::NotFound(format!(
            "Environment not found [name={name}]"
        )));
    }
    diesel::delete(env::table.filter(env::id.eq_any(ids))).execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_is_lowercase_hex_md5() {
        assert_eq!(checksum(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(checksum("abc"), "900150983cd24fb0d6963f7d28e17f72");
    }
}
