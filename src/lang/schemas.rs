//! The JSON schemas upstream Mistral 23.0.0 validates DSL parts against, with the key order
//! its `get_schema()` produces (keyword order decides which error jsonschema reports first).

use serde_json::{json, Value};
use std::sync::LazyLock;

fn nonempty_string() -> Value {
    json!({"type": "string", "minLength": 1})
}

fn unique_string_list() -> Value {
    json!({"type": "array", "items": nonempty_string(), "uniqueItems": true, "minItems": 1})
}

fn positive_integer() -> Value {
    json!({"type": "integer", "minimum": 0})
}

fn positive_number() -> Value {
    json!({"type": "number", "minimum": 0.0})
}

pub fn expression() -> Value {
    json!({"oneOf": [
        {"type": "string", "pattern": "^({{(.*?)}})\\s*$"},
        {"type": "string", "pattern": "^<%.*?%>\\s*$"}
    ]})
}

fn any_nullable() -> Value {
    json!({"anyOf": [
        {"type": "null"}, {"type": "array"}, {"type": "boolean"}, {"type": "integer"},
        {"type": "number"}, {"type": "object"}, {"type": "string"}
    ]})
}

fn any() -> Value {
    json!({"anyOf": [
        {"type": "array"}, {"type": "boolean"}, {"type": "integer"},
        {"type": "number"}, {"type": "object"}, {"type": "string"}
    ]})
}

fn nonempty_dict() -> Value {
    json!({"type": "object", "minProperties": 1, "patternProperties": {"^\\w+$": any_nullable()}})
}

fn one_key_dict() -> Value {
    json!({"type": "object", "minProperties": 1, "maxProperties": 1,
           "patternProperties": {"^\\w+$": any_nullable()}})
}

fn expression_or_positive_integer() -> Value {
    json!({"oneOf": [expression(), positive_integer()]})
}

fn expression_or_boolean() -> Value {
    json!({"oneOf": [expression(), {"type": "boolean"}]})
}

fn version() -> Value {
    json!({"anyOf": [nonempty_string(), positive_integer(), positive_number()]})
}

fn unique_string_or_one_key_dict_list() -> Value {
    json!({"type": "array", "items": {"oneOf": [nonempty_string(), one_key_dict()]},
           "uniqueItems": true, "minItems": 1})
}

fn string_or_list() -> Value {
    json!({"oneOf": [nonempty_string(), unique_string_list()]})
}

/// Properties of the v2 base `_meta_schema` merged into every spec schema.
fn meta_props() -> Vec<(&'static str, Value)> {
    vec![
        ("name", nonempty_string()),
        ("version", version()),
        ("description", nonempty_string()),
        ("tags", unique_string_list()),
    ]
}

fn with_meta(mut props: Vec<(&'static str, Value)>) -> Value {
    for (k, v) in meta_props() {
        if !props.iter().any(|(p, _)| *p == k) {
            props.push((k, v));
        }
    }
    super::schema::obj(props)
}

const NEXT_PATTERNS: [(&str, &str); 3] = [
    ("^\\S+$", "Task name (e.g.: `task1`)"),
    (
        "^\\w+ \\w+=(.*)$",
        "Task name with dict parameter (e.g.: `fail msg=\"test\"`, `fail msg=<% task() %>`)",
    ),
    (
        "^\\w+\\(\\w+=(.*)\\)$",
        "Task name with func parameter (e.g.: `fail(msg=\"test\")`, `fail(msg=<% task() %>)`)",
    ),
];

fn next_task() -> Value {
    let alts: Vec<Value> = NEXT_PATTERNS
        .iter()
        .map(|(p, d)| json!({"type": "string", "pattern": p, "description": d}))
        .collect();
    json!({"oneOf": alts})
}

fn task_with_expression() -> Value {
    let mut pp = serde_json::Map::new();
    for (p, _) in NEXT_PATTERNS {
        pp.insert(p.to_string(), expression());
    }
    json!({"type": "object", "minProperties": 1, "maxProperties": 1, "patternProperties": pp,
           "description": "All next task variants plus expression (e.g.: `task1: <% $.vm_id != null %>`, `fail(msg=\"test\"): <% $.vm_id != null %>`)."})
}

fn list_of_tasks() -> Value {
    json!({"type": "array", "items": {"oneOf": [next_task(), task_with_expression()]},
           "uniqueItems": true, "minItems": 1})
}

pub static PUBLISH: LazyLock<Value> = LazyLock::new(|| {
    super::schema::obj(vec![
        ("type", json!("object")),
        (
            "properties",
            with_meta(vec![
                ("branch", nonempty_dict()),
                ("global", nonempty_dict()),
                ("atomic", nonempty_dict()),
            ]),
        ),
        ("additionalProperties", json!(false)),
        ("definitions", json!({})),
    ])
});

fn advanced_publishing_dict() -> Value {
    json!({"type": "object", "minProperties": 1,
           "properties": {"publish": PUBLISH.clone(),
                          "next": {"oneOf": [next_task(), task_with_expression(), list_of_tasks()]}},
           "additionalProperties": false})
}

pub static ON_CLAUSE: LazyLock<Value> = LazyLock::new(|| {
    super::schema::obj(vec![
        (
            "oneOf",
            json!([
                next_task(),
                task_with_expression(),
                list_of_tasks(),
                advanced_publishing_dict()
            ]),
        ),
        ("properties", with_meta(vec![])),
        ("definitions", json!({})),
    ])
});

fn retry_dict() -> Value {
    json!({"type": "object",
           "properties": {
               "count": {"oneOf": [expression(), positive_integer()]},
               "break-on": expression(),
               "continue-on": expression(),
               "delay": {"oneOf": [expression(), positive_integer()]}
           },
           "required": ["delay", "count"],
           "additionalProperties": false})
}

pub static RETRY: LazyLock<Value> = LazyLock::new(|| {
    super::schema::obj(vec![
        ("oneOf", json!([retry_dict(), nonempty_string()])),
        ("properties", with_meta(vec![])),
        ("definitions", json!({})),
    ])
});

fn policy_props() -> Vec<(&'static str, Value)> {
    vec![
        ("retry", RETRY.clone()),
        ("wait-before", expression_or_positive_integer()),
        ("wait-after", expression_or_positive_integer()),
        ("timeout", expression_or_positive_integer()),
        ("pause-before", expression_or_boolean()),
        ("concurrency", expression_or_positive_integer()),
        ("fail-on", expression_or_boolean()),
    ]
}

pub static POLICIES: LazyLock<Value> = LazyLock::new(|| {
    super::schema::obj(vec![
        ("type", json!("object")),
        ("properties", with_meta(policy_props())),
        ("additionalProperties", json!(false)),
        ("definitions", json!({})),
    ])
});

pub static TASK_DEFAULTS: LazyLock<Value> = LazyLock::new(|| {
    let mut props = policy_props();
    props.extend([
        ("on-complete", ON_CLAUSE.clone()),
        ("on-success", ON_CLAUSE.clone()),
        ("on-error", ON_CLAUSE.clone()),
        ("on-skip", ON_CLAUSE.clone()),
        ("safe-rerun", expression_or_boolean()),
        ("requires", string_or_list()),
    ]);
    super::schema::obj(vec![
        ("type", json!("object")),
        ("properties", with_meta(props)),
        ("additionalProperties", json!(false)),
        ("definitions", json!({})),
    ])
});

fn task_schema(direct: bool) -> Value {
    let mut props: Vec<(&'static str, Value)> = vec![
        (
            "type",
            if direct {
                json!({"enum": ["direct"]})
            } else {
                json!({"enum": ["reverse"]})
            },
        ),
        ("action", nonempty_string()),
        ("workflow", nonempty_string()),
        (
            "input",
            json!({"oneOf": [nonempty_dict(), nonempty_string()]}),
        ),
        ("with-items", string_or_list()),
        ("publish", nonempty_dict()),
        ("publish-on-error", nonempty_dict()),
        ("publish-on-skip", nonempty_dict()),
    ];
    props.extend(policy_props());
    props.extend([
        ("target", nonempty_string()),
        ("keep-result", expression_or_boolean()),
        ("safe-rerun", expression_or_boolean()),
    ]);
    if direct {
        props.extend([
            (
                "join",
                json!({"oneOf": [{"enum": ["all", "one"]}, positive_integer()]}),
            ),
            ("on-complete", ON_CLAUSE.clone()),
            ("on-success", ON_CLAUSE.clone()),
            ("on-error", ON_CLAUSE.clone()),
            ("on-skip", ON_CLAUSE.clone()),
        ]);
    } else {
        props.push(("requires", string_or_list()));
    }
    super::schema::obj(vec![
        ("type", json!("object")),
        ("properties", with_meta(props)),
        ("additionalProperties", json!(false)),
        (
            "anyOf",
            json!([
                {"not": {"type": "object", "required": ["action", "workflow"]}},
                {"oneOf": [
                    {"type": "object", "required": ["action"]},
                    {"type": "object", "required": ["workflow"]}
                ]}
            ]),
        ),
        ("required", json!(["name", "version"])),
        ("definitions", json!({})),
    ])
}

pub static DIRECT_TASK: LazyLock<Value> = LazyLock::new(|| task_schema(true));
pub static REVERSE_TASK: LazyLock<Value> = LazyLock::new(|| task_schema(false));

/// Direct and reverse workflows share the same schema.
pub static WORKFLOW: LazyLock<Value> = LazyLock::new(|| {
    super::schema::obj(vec![
        (
            "properties",
            super::schema::obj(vec![
                (
                    "tasks",
                    json!({"type": "object", "minProperties": 1,
                           "patternProperties": {"^\\w+$": nonempty_dict()}}),
                ),
                ("type", json!({"enum": ["reverse", "direct"]})),
                ("task-defaults", nonempty_dict()),
                ("input", unique_string_or_one_key_dict_list()),
                ("output", nonempty_dict()),
                ("output-on-error", nonempty_dict()),
                ("vars", nonempty_dict()),
                ("tags", unique_string_list()),
            ]),
        ),
        ("required", json!(["tasks"])),
        ("definitions", json!({})),
    ])
});

pub static ACTION: LazyLock<Value> = LazyLock::new(|| {
    super::schema::obj(vec![
        ("type", json!("object")),
        (
            "properties",
            with_meta(vec![
                ("base", nonempty_string()),
                ("base-input", nonempty_dict()),
                ("input", unique_string_or_one_key_dict_list()),
                ("output", any_nullable()),
            ]),
        ),
        // Upstream builds this list from a set: its order varies between processes.
        ("required", json!(["name", "base", "version"])),
        ("additionalProperties", json!(false)),
        ("definitions", json!({})),
    ])
});

/// Workflow list / action list documents.
pub static LIST: LazyLock<Value> = LazyLock::new(|| {
    super::schema::obj(vec![
        ("type", json!("object")),
        ("properties", json!({"version": version()})),
        ("additionalProperties", nonempty_dict()),
        ("required", json!(["version"])),
        ("definitions", json!({})),
    ])
});

fn wb_section() -> Value {
    json!({"type": "object", "minProperties": 1,
           "patternProperties": {"^version$": {"enum": ["2.0", 2.0]},
                                 "^(?!version$)[\\w-]+$": any()},
           "additionalProperties": false})
}

pub static WORKBOOK: LazyLock<Value> = LazyLock::new(|| {
    let mut wb_version = serde_json::Map::new();
    wb_version.insert("enum".into(), json!(["2.0", 2.0]));
    wb_version.insert("anyOf".into(), version()["anyOf"].clone());
    super::schema::obj(vec![
        ("type", json!("object")),
        (
            "properties",
            with_meta(vec![
                ("version", Value::Object(wb_version)),
                ("actions", wb_section()),
                ("workflows", wb_section()),
            ]),
        ),
        ("additionalProperties", json!(false)),
        ("required", json!(["name", "version"])),
        ("definitions", json!({})),
    ])
});
