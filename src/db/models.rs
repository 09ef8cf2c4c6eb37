//! Row types of the definition tables and their list-query descriptions.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::list::{col, ColKind::*, Column, Table};
use super::schema::{
    action_definitions, cron_triggers, environments, event_triggers, workbooks,
    workflow_definitions,
};

#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = workbooks)]
pub struct WorkbookRow {
    pub id: String,
    pub name: String,
    pub namespace: String,
    pub project_id: String,
    pub scope: String,
    pub definition: String,
    /// JSON of the workbook spec body.
    pub spec: Option<String>,
    /// JSON list of strings.
    pub tags: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = workflow_definitions)]
pub struct WorkflowRow {
    pub id: String,
    pub name: String,
    pub namespace: String,
    pub project_id: String,
    pub scope: String,
    pub is_system: bool,
    pub definition: String,
    /// JSON of the workflow body (what the engine runs).
    pub spec: String,
    /// The `input` string of the resource (`a, b="1"`).
    pub input: Option<String>,
    /// JSON of the resource's `interface`.
    pub interface: Option<String>,
    /// MD5 of `definition`; NULL for workflows registered through a workbook.
    pub checksum: Option<String>,
    pub tags: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = action_definitions)]
pub struct ActionRow {
    pub id: String,
    pub name: String,
    pub namespace: String,
    pub project_id: String,
    pub scope: String,
    pub is_system: bool,
    pub description: Option<String>,
    /// The `input` string (`x, y=1`), NULL without inputs.
    pub input: Option<String>,
    pub definition: String,
    /// JSON of the action body (`base`, `base-input`, `input`, `output`, …).
    pub spec: String,
    pub tags: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = environments)]
pub struct EnvironmentRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// JSON object text.
    pub variables: Option<String>,
    pub project_id: String,
    pub scope: String,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

const WORKBOOK_COLUMNS: &[Column] = &[
    col("id", Text),
    col("name", Text),
    col("namespace", Text),
    col("project_id", Text),
    col("scope", Text),
    col("definition", Text),
    col("spec", Text),
    col("tags", Text),
    col("created_at", Timestamp),
    col("updated_at", Timestamp),
];

pub const WORKBOOKS: Table = Table {
    name: "workbooks",
    columns: WORKBOOK_COLUMNS,
    scoped: true,
};

const WORKFLOW_COLUMNS: &[Column] = &[
    col("id", Text),
    col("name", Text),
    col("namespace", Text),
    col("project_id", Text),
    col("scope", Text),
    col("is_system", Bool),
    col("definition", Text),
    col("spec", Text),
    col("input", Text),
    col("interface", Text),
    col("checksum", Text),
    col("tags", Text),
    col("created_at", Timestamp),
    col("updated_at", Timestamp),
];

pub const WORKFLOWS: Table = Table {
    name: "workflow_definitions",
    columns: WORKFLOW_COLUMNS,
    scoped: true,
};

const ACTION_COLUMNS: &[Column] = &[
    col("id", Text),
    col("name", Text),
    col("namespace", Text),
    col("project_id", Text),
    col("scope", Text),
    col("is_system", Bool),
    col("description", Text),
    col("input", Text),
    col("definition", Text),
    col("spec", Text),
    col("tags", Text),
    col("created_at", Timestamp),
    col("updated_at", Timestamp),
];

pub const ACTIONS: Table = Table {
    name: "action_definitions",
    columns: ACTION_COLUMNS,
    scoped: true,
};

const ENVIRONMENT_COLUMNS: &[Column] = &[
    col("id", Text),
    col("name", Text),
    col("description", Text),
    col("variables", Text),
    col("project_id", Text),
    col("scope", Text),
    col("created_at", Timestamp),
    col("updated_at", Timestamp),
];

pub const ENVIRONMENTS: Table = Table {
    name: "environments",
    columns: ENVIRONMENT_COLUMNS,
    scoped: true,
};

#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = cron_triggers)]
pub struct CronTriggerRow {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub scope: String,
    /// 5-field cron pattern; `0 0 30 2 0` (never) for one-shot triggers.
    pub pattern: String,
    pub first_execution_time: Option<NaiveDateTime>,
    /// When the scheduler fires next (UTC).
    pub next_execution_time: NaiveDateTime,
    /// The definition's real name at creation.
    pub workflow_name: String,
    pub workflow_id: String,
    /// `None` = unlimited.
    pub remaining_executions: Option<i32>,
    /// JSON object text.
    pub workflow_input: String,
    pub workflow_input_hash: String,
    /// JSON object text.
    pub workflow_params: String,
    pub workflow_params_hash: String,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = event_triggers)]
pub struct EventTriggerRow {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub scope: String,
    pub workflow_id: String,
    /// JSON object text.
    pub workflow_input: String,
    /// JSON object text.
    pub workflow_params: String,
    pub exchange: String,
    pub topic: String,
    pub event: String,
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
}

const CRON_TRIGGER_COLUMNS: &[Column] = &[
    col("id", Text),
    col("name", Text),
    col("project_id", Text),
    col("scope", Text),
    col("pattern", Text),
    col("first_execution_time", Timestamp),
    col("next_execution_time", Timestamp),
    col("workflow_name", Text),
    col("workflow_id", Text),
    col("remaining_executions", Int),
    col("workflow_input", Text),
    col("workflow_params", Text),
    col("created_at", Timestamp),
    col("updated_at", Timestamp),
];

pub const CRON_TRIGGERS: Table = Table {
    name: "cron_triggers",
    columns: CRON_TRIGGER_COLUMNS,
    scoped: true,
};

const EVENT_TRIGGER_COLUMNS: &[Column] = &[
    col("id", Text),
    col("name", Text),
    col("project_id", Text),
    col("scope", Text),
    col("workflow_id", Text),
    col("workflow_input", Text),
    col("workflow_params", Text),
    col("exchange", Text),
    col("topic", Text),
    col("event", Text),
    col("created_at", Timestamp),
    col("updated_at", Timestamp),
];

pub const EVENT_TRIGGERS: Table = Table {
    name: "event_triggers",
    columns: EVENT_TRIGGER_COLUMNS,
    scoped: true,
};
