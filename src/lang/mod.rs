//! The Mistral workflow language v2: YAML text -> validated, typed specs. No I/O.
//!
//! Public contract used by the API layer (and later the engine):
//! `parse_workbook`, `parse_workflows`, `parse_actions` return typed specs or a [`DslError`]
//! whose `Display` is exactly upstream's fault string.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DslErrorKind {
    /// The text is not YAML (or not a mapping): `Definition could not be parsed: <yaml error>`.
    Parse,
    /// Schema or semantic violation: `Invalid DSL: <details>`, `Task 'x' not found.`, ...
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DslError {
    pub kind: DslErrorKind,
    /// The complete fault string as upstream words it.
    pub message: String,
}

impl std::fmt::Display for DslError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DslError {}

/// One declared input: `name` or `{name: default}`.
#[derive(Debug, Clone, PartialEq)]
pub struct InputParam {
    pub name: String,
    /// `None` when the parameter is required (declared without a default).
    pub default: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowSpec {
    /// Fully qualified name (`wb.wf` for workbook workflows).
    pub name: String,
    pub tags: Vec<String>,
    pub description: Option<String>,
    pub input: Vec<InputParam>,
    /// The workflow body as read from YAML (JSON-like), for the engine and for `interface`.
    pub body: Value,
    /// The text upstream stores as this workflow's `definition`.
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionSpec {
    /// Fully qualified name (`wb.action` for workbook actions).
    pub name: String,
    pub tags: Vec<String>,
    pub description: Option<String>,
    pub input: Vec<InputParam>,
    pub body: Value,
    /// The text upstream stores as this action's `definition`.
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkbookSpec {
    pub name: String,
    pub tags: Vec<String>,
    pub description: Option<String>,
    pub workflows: Vec<WorkflowSpec>,
    pub actions: Vec<ActionSpec>,
}

impl WorkflowSpec {
    /// The `input` string of the workflow resource: `param1, param2="2"` (Python `str()` of defaults).
    pub fn input_signature(&self) -> String {
        todo!("lang")
    }

    /// The `interface` of the workflow resource: `{"input": [raw DSL input list], "output": [keys]}`.
    pub fn interface(&self) -> Value {
        todo!("lang")
    }
}

impl ActionSpec {
    /// The `input` string of the action resource: `x, y=1, z="a"` (JSON of defaults).
    pub fn input_signature(&self) -> String {
        todo!("lang")
    }
}

/// A workbook document (`version`, `name`, `workflows`, `actions`, ...).
pub fn parse_workbook(text: &str) -> Result<WorkbookSpec, DslError> {
    let _ = text;
    todo!("lang")
}

/// A workflows document: `version` plus one or more workflows, in document order.
pub fn parse_workflows(text: &str) -> Result<Vec<WorkflowSpec>, DslError> {
    let _ = text;
    todo!("lang")
}

/// An ad-hoc actions document: `version` plus one or more actions, in document order.
pub fn parse_actions(text: &str) -> Result<Vec<ActionSpec>, DslError> {
    let _ = text;
    todo!("lang")
}
