//! `/maintenance`: entering maintenance pauses running executions, waits for running tasks
//! (their results may still be reported), refuses changes with 423, holds cron triggers, and
//! leaving it resumes the paused executions.

mod common;

use std::time::{Duration, Instant};

use common::{servers, sj, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

const WF: &str = "---\nversion: '2.0'\nmwf:\n  tasks:\n    a:\n      action: std.async_noop\n      on-success: [b]\n    b:\n      action: std.noop\n";

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn maintenance(s: &TestServer) -> Value {
    sj(s.get("/maintenance")).1["status"].clone()
}

fn set(s: &TestServer, status: &str) -> (u16, Value) {
    sj(s.json(Method::PUT, "/maintenance", json!({ "status": status })))
}

fn state(s: &TestServer, id: &str) -> Value {
    sj(s.get(&format!("/v2/executions/{id}"))).1["state"].clone()
}

#[test]
fn maintenance_pauses_locks_and_resumes() {
    for s in servers() {
        assert_eq!(maintenance(&s), "RUNNING");
        let (st, v) = set(&s, "BOGUS");
        assert_eq!(st, 400);
        assert_eq!(
            v["faultstring"],
            "Not found BOGUS maintenance state. List of states: ['PAUSING', 'PAUSED', 'RUNNING']"
        );
        let (st, v) = set(&s, "PAUSING");
        assert_eq!(st, 400, "{v}");

        let (st, _) = sj(s.text(Method::POST, "/v2/workflows", WF));
        assert_eq!(st, 201);
        let (st, v) = sj(s.json(
            Method::POST,
            "/v2/executions",
            json!({"workflow_name": "mwf"}),
        ));
        assert_eq!(st, 201, "{v}");
        let id = v["id"].as_str().unwrap().to_string();
        let (_, v) = sj(s.get("/v2/action_executions?workflow_name=mwf"));
        let aid = v["action_executions"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();

        let (st, v) = set(&s, "PAUSED");
        assert_eq!((st, v), (200, json!({"status": "PAUSING"})));
        wait_for("the execution to pause", || state(&s, &id) == "PAUSED");
        // Task a still runs, so the deployment stays PAUSING.
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(maintenance(&s), "PAUSING");

        // Changes are refused; reads are not; unknown paths stay 404.
        let r = s.text(Method::POST, "/v2/workflows", WF);
        assert_eq!(r.status().as_u16(), 423);
        assert_eq!(
            r.headers()["server-error-message"],
            "Current Mistral state is PAUSING. Method is not allowed"
        );
        assert_eq!(s.get("/v2/workflows/mwf").status().as_u16(), 200);
        assert_eq!(s.delete("/v2/nonexistent").status().as_u16(), 404);
        // A cron trigger cannot even be created; nothing fires while paused.
        let r = s.json(
            Method::POST,
            "/v2/cron_triggers",
            json!({"name": "m", "workflow_name": "mwf", "pattern": "* * * * * *"}),
        );
        assert_eq!(r.status().as_u16(), 423);

        // The running action may still report its result while PAUSING.
        let (st, v) = sj(s.json(
            Method::PUT,
            &format!("/v2/action_executions/{aid}"),
            json!({"state": "SUCCESS", "output": "1"}),
        ));
        assert_eq!(st, 200, "{v}");
        wait_for("PAUSED", || maintenance(&s) == "PAUSED");
        assert_eq!(state(&s, &id), "PAUSED");
        // Cancelling stays possible; other execution updates do not.
        let r = s.json(
            Method::PUT,
            &format!("/v2/executions/{id}"),
            json!({"description": "x"}),
        );
        assert_eq!(r.status().as_u16(), 423);
        let r = s.json(
            Method::PUT,
            "/v2/executions/00000000-0000-4000-8000-000000000000",
            json!({"state": "CANCELLED"}),
        );
        assert_eq!(r.status().as_u16(), 404);

        let (st, v) = set(&s, "RUNNING");
        assert_eq!((st, v), (200, json!({"status": "RUNNING"})));
        wait_for("the execution to finish", || state(&s, &id) == "SUCCESS");
    }
}
