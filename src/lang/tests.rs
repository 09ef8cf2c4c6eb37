//! End-to-end tests of the public entry points.

use super::*;
use serde_json::json;

#[test]
fn single_workflow_definition_is_verbatim_text() {
    let text = "---\nversion: '2.0'\nwf:\n  input:\n    - a\n    - b: 2\n  tasks:\n    t1:\n      action: std.echo output=<% $.a %>\n";
    let wfs = parse_workflows(text).unwrap();
    assert_eq!(wfs.len(), 1);
    assert_eq!(wfs[0].name, "wf");
    assert_eq!(wfs[0].definition, text);
    assert_eq!(wfs[0].input_signature(), "a, b=\"2\"");
    assert_eq!(
        wfs[0].interface(),
        json!({"input": ["a", {"b": 2}], "output": []})
    );
    assert_eq!(wfs[0].tasks[0].action.as_deref(), Some("std.echo"));
}

#[test]
fn multi_workflow_definitions_are_redumped() {
    let text = "version: '2.0'\nwfb:\n  tasks:\n    t1:\n      action: std.noop\nwfa:\n  tasks:\n    t1:\n      action: std.noop\n";
    let wfs = parse_workflows(text).unwrap();
    assert_eq!(wfs[0].name, "wfb");
    assert_eq!(
        wfs[1].definition,
        "version: '2.0'\nwfa:\n  tasks:\n    t1:\n      action: std.noop\n"
    );
}

#[test]
fn yaml_error_is_a_parse_error() {
    let e = parse_workflows("a: b: c").unwrap_err();
    assert_eq!(e.kind, DslErrorKind::Parse);
    assert!(e
        .message
        .starts_with("Definition could not be parsed: mapping values are not allowed here"));
    assert!(e.message.ends_with('\n'));
}

#[test]
fn input_signature_renders_python_str_of_defaults() {
    let text = "version: '2.0'\nwf:\n  input:\n    - x: null\n    - y: true\n    - z: {a: 1}\n    - w: [1, 'b']\n  tasks:\n    t: {action: std.noop}\n";
    let wf = &parse_workflows(text).unwrap()[0];
    assert_eq!(
        wf.input_signature(),
        "x=\"None\", y=\"True\", z=\"{'a': 1}\", w=\"[1, 'b']\""
    );
}

#[test]
fn action_input_signature_renders_json_defaults() {
    let text = "version: '2.0'\ngreet:\n  base: std.echo output=\"<% $.x %>\"\n  input:\n    - x\n    - y: 1\n    - z: a\n    - n: null\n";
    let acts = parse_actions(text).unwrap();
    assert_eq!(acts[0].input_signature(), "x, y=1, z=\"a\", n=null");
    assert_eq!(acts[0].base, "std.echo");
    assert_eq!(
        acts[0].base_input,
        json!({"output": "<% $.x %>"}).as_object().unwrap().clone()
    );
    assert_eq!(acts[0].definition, text);
}

#[test]
fn workbook_sections_are_cut_from_text() {
    let text = "version: '2.0'\nname: wb\nworkflows:\n  wf1:\n    tasks:\n      t1:\n        action: std.noop\nactions:\n  a1:\n    base: std.noop\n";
    let wb = parse_workbook(text).unwrap();
    assert_eq!(wb.name, "wb");
    assert_eq!(wb.workflows[0].name, "wb.wf1");
    assert_eq!(
        wb.workflows[0].definition,
        "wf1:\n  tasks:\n    t1:\n      action: std.noop\n"
    );
    assert_eq!(wb.actions[0].name, "wb.a1");
    assert_eq!(wb.actions[0].definition, "a1:\n  base: std.noop\n");
}
