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

/// The cases recorded from upstream Mistral 23.0.0 (`testdata/upstream_cases.json`, produced
/// by running upstream's parser on each text): the outcome, the complete error text or the
/// names / input signatures / definitions of the created items.
fn run_case(case: &Value) -> Vec<String> {
    let kind = case["kind"].as_str().unwrap();
    let text = case["text"].as_str().unwrap();
    let mut problems = Vec::new();
    let got: Result<Vec<Value>, DslError> = match kind {
        "wf" => parse_workflows(text).map(|wfs| {
            wfs.iter()
                .map(|w| {
                    json!({"name": w.name, "input": w.input_signature(), "definition": w.definition,
                           "interface": w.interface()})
                })
                .collect()
        }),
        "act" => parse_actions(text).map(|acts| {
            acts.iter()
                .map(|a| json!({"name": a.name, "input": a.input_signature()}))
                .collect()
        }),
        _ => parse_workbook(text).map(|wb| {
            wb.workflows
                .iter()
                .map(|w| json!({"name": w.name, "definition": w.definition}))
                .chain(
                    wb.actions
                        .iter()
                        .map(|a| json!({"name": a.name, "definition": a.definition})),
                )
                .collect()
        }),
    };
    match (case["ok"].as_bool().unwrap(), got) {
        (true, Ok(items)) => {
            if Value::Array(items.clone()) != case["items"] {
                problems.push(format!(
                    "items differ:\n  want {}\n  got  {}",
                    case["items"],
                    Value::Array(items)
                ));
            }
        }
        (true, Err(e)) => problems.push(format!("upstream accepts, we reject: {}", e.message)),
        (false, Ok(_)) => {
            problems.push(format!("upstream rejects ({}), we accept", case["message"]))
        }
        (false, Err(e)) => {
            let want = case["message"].as_str().unwrap();
            if e.message != want {
                let first_want = want.lines().next().unwrap_or("");
                let first_got = e.message.lines().next().unwrap_or("");
                problems.push(format!(
                    "{} message:\n  want {:?}\n  got  {:?}",
                    if first_want == first_got {
                        "tail of"
                    } else {
                        "FIRST LINE of"
                    },
                    want,
                    e.message
                ));
            }
        }
    }
    problems
}

#[test]
#[ignore = "diagnostic: compares against a freshly generated upstream file in $UPSTREAM_CASES"]
fn compare_with_fresh_upstream_cases() {
    let path = std::env::var("UPSTREAM_CASES").expect("UPSTREAM_CASES");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut bad = 0;
    for (i, c) in cases.iter().enumerate() {
        let p = run_case(c);
        if !p.is_empty() {
            bad += 1;
            println!(
                "--- case {i} ({}): {:?}\n{}",
                c["kind"],
                c["text"].as_str().unwrap(),
                p.join("\n")
            );
        }
    }
    println!("{bad} of {} cases differ", cases.len());
}
