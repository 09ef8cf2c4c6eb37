//! Workflow executions against the real server: the engine shell, outbox dispatcher and
//! executor run in-process (SQLite, and PostgreSQL when `MISTRAL_RS_TEST_PG` is set).

mod common;

use common::{servers, sj, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

const WFS: &str = "---\nversion: '2.0'\nwf:\n  input:\n    - x: 1\n  output:\n    y: <% $.y %>\n  tasks:\n    t1:\n      action: std.echo output=<% $.x %>\n      publish:\n        y: <% task().result %>\n      on-success: [t2]\n    t2:\n      workflow: child\n      input:\n        v: <% $.y %>\nchild:\n  input: [v]\n  output:\n    r: <% $.v %>\n  tasks:\n    c:\n      action: std.noop\nslow:\n  tasks:\n    w:\n      action: std.async_noop\n";

fn wait_state(s: &TestServer, id: &str, want: &str) -> Value {
    for _ in 0..200 {
        let (st, v) = sj(s.get(&format!("/v2/executions/{id}")));
        assert_eq!(st, 200, "{v}");
        if v["state"] == want {
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("execution {id} never reached {want}");
}

fn start(s: &TestServer, body: Value) -> (u16, Value) {
    sj(s.json(Method::POST, "/v2/executions", body))
}

#[test]
fn execution_runs_actions_and_sub_workflow_to_success() {
    for s in servers() {
        let (st, _) = sj(s.text(Method::POST, "/v2/workflows", WFS));
        assert_eq!(st, 201);
        let (st, v) = start(&s, json!({"workflow_name": "wf", "input": {"x": 7}}));
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["state"], "RUNNING");
        assert_eq!(v["params"], "{\"namespace\": \"\", \"env\": {}}");
        let id = v["id"].as_str().unwrap().to_string();
        let done = wait_state(&s, &id, "SUCCESS");
        assert_eq!(done["output"], "{\"y\": 7}");
        assert_eq!(done["published_global"], "{}");

        let (st, v) = sj(s.get(&format!("/v2/executions/{id}/tasks")));
        assert_eq!(st, 200);
        let names: Vec<&str> = v["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["t1", "t2"]);
        assert_eq!(v["tasks"][1]["type"], "WORKFLOW");

        let (st, v) = sj(s.get("/v2/executions?workflow_name=child&include_output=true"));
        assert_eq!(st, 200);
        let child = &v["executions"][0];
        assert_eq!(child["root_execution_id"], id.as_str());
        assert_eq!(child["output"], "{\"r\": 7}");
        assert_eq!(child["state"], "SUCCESS");
        let (st, v) = sj(s.get(&format!("/v2/executions/{id}/executions")));
        assert_eq!(st, 200);
        let tree: Vec<&str> = v["executions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["workflow_name"].as_str().unwrap())
            .collect();
        assert_eq!(tree, ["wf", "child"]);
        let (_, v) = sj(s.get(&format!("/v2/executions/{id}/executions?max_depth=0")));
        assert_eq!(v["executions"].as_array().unwrap().len(), 1);
        let (_, tasks) = sj(s.get(&format!("/v2/executions/{id}/tasks")));
        let t2 = tasks["tasks"][1]["id"].as_str().unwrap().to_string();
        let (st, v) = sj(s.get(&format!("/v2/tasks/{t2}/workflow_executions")));
        assert_eq!(st, 200);
        assert_eq!(v["executions"][0]["workflow_name"], "child");
        let (_, v) = sj(s.get(&format!("/v2/tasks/{t2}/executions")));
        assert_eq!(v["executions"].as_array().unwrap().len(), 1);

        // Re-run from a source execution: its input and params are the defaults.
        let (st, v) = start(
            &s,
            json!({"source_execution_id": id, "description": "again"}),
        );
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["workflow_name"], "wf");
        assert_eq!(v["input"], "{\"x\": 7}");
        assert_eq!(
            v["description"],
            format!("again Based on the execution '{id}'")
        );
        wait_state(&s, v["id"].as_str().unwrap(), "SUCCESS");
        let (_, v) = sj(s.get("/v2/executions?nulls=root_execution_id"));
        assert_eq!(v["executions"].as_array().unwrap().len(), 2);
        assert!(v["executions"][0].get("output").is_none());
    }
}

#[test]
fn start_errors_are_user_errors() {
    for s in servers() {
        sj(s.text(Method::POST, "/v2/workflows", WFS));
        let (st, v) = start(&s, json!({"workflow_name": "wf", "input": {"bad": 1}}));
        assert_eq!(st, 400);
        assert_eq!(
            v["faultstring"],
            "Invalid input [name=wf, class=DirectWorkflowSpec, unexpected=['bad']]"
        );
        let (st, v) = start(&s, json!({}));
        assert_eq!(st, 400);
        assert_eq!(
            v["faultstring"],
            "Workflow ID or workflow name must be provided. Workflow ID is recommended."
        );
        let (st, _) = start(&s, json!({"workflow_name": "nope"}));
        assert_eq!(st, 404);
        let (st, v) = start(
            &s,
            json!({"workflow_name": "child", "input": {"v": 1}, "params": {"env": "missing"}}),
        );
        assert_eq!(st, 400);
        assert_eq!(v["faultstring"], "Environment is not found: missing");
        let (st, v) = sj(s.get("/v2/executions/1a2b3c"));
        assert_eq!(st, 404);
        assert_eq!(v["faultstring"], "WorkflowExecution not found [id=1a2b3c]");
    }
}

#[test]
fn pause_resume_cancel_and_delete() {
    for s in servers() {
        sj(s.text(Method::POST, "/v2/workflows", WFS));
        let (_, v) = start(
            &s,
            json!({"workflow_name": "slow", "id": "0b7a1c5e-0000-4000-8000-000000000001"}),
        );
        let id = v["id"].as_str().unwrap().to_string();
        assert_eq!(id, "0b7a1c5e-0000-4000-8000-000000000001");
        // Idempotent create with a known id.
        let (st, again) = start(&s, json!({"workflow_name": "slow", "id": id}));
        assert_eq!(st, 201);
        assert_eq!(again["id"], id.as_str());

        let path = format!("/v2/executions/{id}");
        let (st, v) = sj(s.json(Method::PUT, &path, json!({})));
        assert_eq!(st, 400);
        assert_eq!(
            v["faultstring"],
            "The property state, description, or env is not provided for update."
        );
        let (st, v) = sj(s.json(Method::PUT, &path, json!({"state": "PAUSED"})));
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["state"], "PAUSED");
        let (st, v) = sj(s.json(Method::PUT, &path, json!({"description": "d"})));
        assert_eq!(st, 200);
        assert_eq!(v["description"], "d");
        let (st, v) = sj(s.json(Method::PUT, &path, json!({"state": "RUNNING"})));
        assert_eq!(st, 200);
        assert_eq!(v["state"], "RUNNING");

        let (st, v) = sj(s.delete(&path));
        assert_eq!(st, 403);
        assert_eq!(
            v["faultstring"],
            format!("Only completed executions can be deleted. Use --force to override this. Execution {id} is in RUNNING state")
        );
        let (st, v) = sj(s.json(
            Method::PUT,
            &path,
            json!({"state": "ERROR", "state_info": "Forced"}),
        ));
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["state"], "ERROR");
        assert_eq!(v["state_info"], "Forced");
        let (st, v) = sj(s.json(Method::PUT, &path, json!({"state": "SUCCESS"})));
        assert_eq!(st, 400, "{v}");
        let (st, _) = sj(s.delete(&path));
        assert_eq!(st, 204);
        let (st, _) = sj(s.get(&path));
        assert_eq!(st, 404);
    }
}

#[test]
fn async_action_result_posted_through_the_api_completes_the_task() {
    for s in servers() {
        sj(s.text(Method::POST, "/v2/workflows", WFS));
        let (_, v) = start(&s, json!({"workflow_name": "slow"}));
        let id = v["id"].as_str().unwrap().to_string();
        let (_, v) = sj(s.get(&format!("/v2/executions/{id}/tasks")));
        let task = v["tasks"][0].clone();
        assert_eq!(task["state"], "RUNNING");
        let tid = task["id"].as_str().unwrap().to_string();
        let (st, v) = sj(s.get(&format!("/v2/tasks/{tid}/action_executions")));
        assert_eq!(st, 200);
        let aex = v["action_executions"][0].clone();
        assert_eq!(aex["name"], "std.async_noop");
        assert_eq!(aex["state"], "RUNNING");
        assert!(aex.get("output").is_none());
        let aid = aex["id"].as_str().unwrap();
        let (st, v) = sj(s.json(
            Method::PUT,
            &format!("/v2/action_executions/{aid}"),
            json!({"state": "BOGUS"}),
        ));
        assert_eq!(st, 400, "{v}");
        let (st, v) = sj(s.json(
            Method::PUT,
            &format!("/v2/action_executions/{aid}"),
            json!({"state": "SUCCESS", "output": "{\"a\": 1}"}),
        ));
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["state"], "SUCCESS");
        assert_eq!(v["output"], "{\"result\": {\"a\": 1}}");
        wait_state(&s, &id, "SUCCESS");
        let (st, v) = sj(s.get(&format!("/v2/tasks/{tid}")));
        assert_eq!(st, 200);
        assert_eq!(v["state"], "SUCCESS");
        assert_eq!(v["result"], "{\"a\": 1}");
        let (st, v) = sj(s.get("/v2/tasks/00000000-0000-4000-8000-000000000000"));
        assert_eq!(st, 404);
        assert_eq!(
            v["faultstring"],
            "Task execution not found [id=00000000-0000-4000-8000-000000000000]"
        );
    }
}

#[test]
fn failed_task_can_be_skipped_and_rerun_needs_reset() {
    const FAILING: &str = "---\nversion: '2.0'\nfails:\n  tasks:\n    f:\n      action: std.fail\n";
    for s in servers() {
        sj(s.text(Method::POST, "/v2/workflows", FAILING));
        let (_, v) = start(&s, json!({"workflow_name": "fails"}));
        let id = v["id"].as_str().unwrap().to_string();
        wait_state(&s, &id, "ERROR");
        let (_, v) = sj(s.get(&format!("/v2/tasks?workflow_execution_id={id}")));
        let tid = v["tasks"][0]["id"].as_str().unwrap().to_string();
        let path = format!("/v2/tasks/{tid}");
        let (st, v) = sj(s.json(Method::PUT, &path, json!({"state": "RUNNING"})));
        assert_eq!(st, 400);
        assert_eq!(v["faultstring"], "Reset field is mandatory to rerun task.");
        let (st, v) = sj(s.json(Method::PUT, &path, json!({"state": "PAUSED"})));
        assert_eq!(st, 400);
        assert_eq!(
            v["faultstring"],
            "Invalid task state. Only updating task to RUNNING or SKIPPED is supported."
        );
        let (st, v) = sj(s.json(Method::PUT, &path, json!({"state": "SKIPPED"})));
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["state"], "SKIPPED");
        wait_state(&s, &id, "SUCCESS");
    }
}

#[test]
fn action_executions_run_directly() {
    for s in servers() {
        let (st, v) = sj(s.json(
            Method::POST,
            "/v2/action_executions",
            json!({"name": "std.echo", "input": {"output": "Hello, Mistral!"}}),
        ));
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["id"], Value::Null);
        assert_eq!(v["state"], "SUCCESS");
        assert_eq!(v["output"], "{\"result\": \"Hello, Mistral!\"}");
        let (st, v) = sj(s.json(
            Method::POST,
            "/v2/action_executions",
            json!({"name": "std.echo", "input": {"bogus": 1}}),
        ));
        assert_eq!(st, 400);
        assert_eq!(
            v["faultstring"],
            "Invalid input [name=std.echo, class=mistral.actions.std_actions.EchoAction, missing=['output'], unexpected=['bogus']]"
        );
        let (st, v) = sj(s.json(
            Method::POST,
            "/v2/action_executions",
            json!({"name": "std.echo", "input": {"output": 1}, "params": {"save_result": true}}),
        ));
        assert_eq!(st, 201);
        assert_eq!(v["state"], "RUNNING");
        let aid = v["id"].as_str().unwrap().to_string();
        let mut done = Value::Null;
        for _ in 0..100 {
            let (_, v) = sj(s.get(&format!("/v2/action_executions/{aid}")));
            if v["state"] == "SUCCESS" {
                done = v;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(30));
        }
        assert_eq!(done["output"], "{\"result\": 1}");
        let (st, v) = sj(s.delete(&format!("/v2/action_executions/{aid}")));
        assert_eq!(st, 403);
        assert_eq!(
            v["faultstring"],
            "Action execution deletion is not allowed."
        );
        let (st, _) = sj(s.json(
            Method::POST,
            "/v2/action_executions",
            json!({"name": "nope"}),
        ));
        assert_eq!(st, 400);
    }
}

#[test]
fn report_of_an_execution_tree_with_a_failing_task_and_a_sub_workflow() {
    const REP: &str = "version: '2.0'\nrep_sub:\n  tasks:\n    s1:\n      action: std.echo output=\"sub\"\n    s2:\n      action: std.fail\nrep_main:\n  tasks:\n    ok:\n      action: std.echo output=1\n      on-success: [child, bad]\n    child:\n      workflow: rep_sub\n    bad:\n      action: std.fail\n      retry:\n        count: 1\n        delay: 0\n";
    for s in servers() {
        let (st, _) = sj(s.text(Method::POST, "/v2/workflows", REP));
        assert_eq!(st, 201);
        let (_, v) = start(&s, json!({"workflow_name": "rep_main"}));
        let id = v["id"].as_str().unwrap().to_string();
        wait_state(&s, &id, "ERROR");
        let (st, r) = sj(s.get(&format!("/v2/executions/{id}/report")));
        assert_eq!(st, 200, "{r}");
        assert_eq!(
            r["statistics"],
            json!({"total_tasks_count": 5, "running_tasks_count": 0, "success_tasks_count": 2,
                   "error_tasks_count": 3, "idle_tasks_count": 0, "paused_tasks_count": 0,
                   "estimated_time": 0})
        );
        let root = &r["root_workflow_execution"];
        assert_eq!(root["id"], json!(id));
        assert_eq!(root["name"], "rep_main");
        let tasks = root["task_executions"].as_array().unwrap();
        let task = |n: &str| tasks.iter().find(|t| t["name"] == n).unwrap().clone();
        let bad = task("bad");
        assert_eq!(bad["retry_count"], 1);
        assert_eq!(bad["action_executions"].as_array().unwrap().len(), 2);
        assert_eq!(bad["action_executions"][0]["name"], "std.fail");
        assert!(task("ok").get("retry_count").is_none());
        let child = task("child");
        assert_eq!(child["action_executions"], json!([]));
        let sub = &child["workflow_executions"][0];
        assert_eq!(sub["name"], "rep_sub");
        assert_eq!(sub["task_executions"].as_array().unwrap().len(), 2);

        // errors_only + max_depth=0: ERROR tasks only; the sub-workflow without its tasks.
        let (_, r) = sj(s.get(&format!(
            "/v2/executions/{id}/report?errors_only=true&max_depth=0"
        )));
        assert_eq!(r["statistics"]["total_tasks_count"], 2);
        let tasks = r["root_workflow_execution"]["task_executions"]
            .as_array()
            .unwrap();
        assert_eq!(tasks.len(), 2);
        let child = tasks.iter().find(|t| t["name"] == "child").unwrap();
        assert!(child["workflow_executions"][0]
            .get("task_executions")
            .is_none());

        let (_, r) = sj(s.get(&format!("/v2/executions/{id}/report?statistics_only=1")));
        assert!(r.get("root_workflow_execution").is_none());
        assert_eq!(r["statistics"]["total_tasks_count"], 5);

        let (st, r) = sj(s.get("/v2/executions/nope/report"));
        assert_eq!(st, 400);
        assert!(r["faultstring"]
            .as_str()
            .unwrap()
            .starts_with("Invalid input for field/attribute workflow_execution_id."));
        let (st, _) = sj(s.get("/v2/executions/00000000-0000-0000-0000-000000000000/report"));
        assert_eq!(st, 404);
    }
}

#[test]
fn execution_and_executions_functions_read_the_database() {
    const WF: &str = "version: '2.0'\nexf:\n  tasks:\n    t:\n      action: std.noop\n      publish:\n        me: <% execution() %>\n        n_all: <% executions().len() %>\n        succ: <% executions(state => 'SUCCESS').len() %>\n        mine: <% executions(id => execution().id).len() %>\n        late: <% executions(null, null, null, '2100-01-01 00:00:00').len() %>\n        early: <% executions(null, null, null, null, '2000-01-01 00:00:00').len() %>\n";
    for s in servers() {
        let (st, _) = sj(s.text(Method::POST, "/v2/workflows", WF));
        assert_eq!(st, 201);
        let (_, first) = start(&s, json!({"workflow_name": "exf"}));
        wait_state(&s, first["id"].as_str().unwrap(), "SUCCESS");
        let (_, second) = start(&s, json!({"workflow_name": "exf"}));
        let id = second["id"].as_str().unwrap().to_string();
        wait_state(&s, &id, "SUCCESS");
        let (_, tasks) = sj(s.get(&format!("/v2/executions/{id}/tasks")));
        let published: Value =
            serde_json::from_str(tasks["tasks"][0]["published"].as_str().unwrap()).unwrap();
        assert_eq!(published["n_all"], 2, "{published}");
        assert_eq!(published["succ"], 1, "the earlier one; this one is RUNNING");
        assert_eq!(published["mine"], 1);
        assert_eq!(published["late"], 0);
        assert_eq!(published["early"], 0);
        assert_eq!(published["me"]["id"], json!(id));
        assert_eq!(published["me"]["created_at"], second["created_at"]);
        assert!(published["me"]["updated_at"].is_string());
    }
}

#[test]
fn single_task_get_shows_published_global_of_finished_tasks() {
    const WF: &str = "version: '2.0'\npgw:\n  input:\n    - x: 5\n  tasks:\n    a:\n      action: std.echo output=3\n      on-success:\n        publish:\n          branch:\n            b1: <% task().result %>\n          global:\n            g1: <% $.x + 3 %>\n        next: [c]\n    c:\n      action: std.fail\n      on-error:\n        publish:\n          global:\n            err: <% $.x + 1 %>\n        next: [d]\n    d:\n      action: std.noop\n";
    for s in servers() {
        let (st, _) = sj(s.text(Method::POST, "/v2/workflows", WF));
        assert_eq!(st, 201);
        let (_, v) = start(&s, json!({"workflow_name": "pgw"}));
        let id = v["id"].as_str().unwrap().to_string();
        wait_state(&s, &id, "SUCCESS");
        let (_, tasks) = sj(s.get(&format!("/v2/executions/{id}/tasks")));
        let mut seen = 0;
        for t in tasks["tasks"].as_array().unwrap() {
            assert!(t.get("published_global").is_none(), "never in lists");
            let (_, full) = sj(s.get(&format!("/v2/tasks/{}", t["id"].as_str().unwrap())));
            let expected = match t["name"].as_str().unwrap() {
                "a" => json!("{\"g1\": 8}"),
                "c" => json!("{\"err\": 6}"),
                _ => Value::Null,
            };
            if expected.is_null() {
                assert!(full.get("published_global").is_none(), "{full}");
            } else {
                assert_eq!(full["published_global"], expected, "{full}");
                seen += 1;
            }
        }
        assert_eq!(seen, 2);
    }
}
