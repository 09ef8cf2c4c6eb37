//! Row types of the definition tables and their list-query descriptions.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::list::{col, ColKind::*, Column, Table};
use super::schema::{action_definitions, environments, workbooks, workflow_definitions};

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
