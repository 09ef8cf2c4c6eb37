//! The periodic scheduler against the real server: cron triggers fire on time with the
//! trigger's input and params, count down and disappear; a failed start still consumes the
//! tick; two server processes sharing one PostgreSQL database start exactly one execution per
//! firing (`MISTRAL_RS_TEST_PG`).

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{servers, sj, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

const WF: &str = "---\nversion: '2.0'\ncwf:\n  input: [x]\n  tasks:\n    t1:\n      action: std.echo output=<% $.x %>\n";

fn executions_of(get: impl Fn(&str) -> reqwest::blocking::Response, wf: &str) -> Vec<Value> {
    let (st, v) = sj(get(&format!("/v2/executions?workflow_name={wf}")));
    assert_eq!(st, 200, "{v}");
    v["executions"].as_array().unwrap().clone()
}

/// Polls until the trigger is gone (404); panics after `secs`.
fn wait_gone(get: impl Fn(&str) -> reqwest::blocking::Response, name: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let st = get(&format!("/v2/cron_triggers/{name}")).status().as_u16();
        if st == 404 {
            return;
        }
        assert_eq!(st, 200);
        assert!(Instant::now() < deadline, "cron trigger {name} still there");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn create_trigger(s: &TestServer, body: Value) -> Value {
    let (st, v) = sj(s.json(Method::POST, "/v2/cron_triggers", body));
    assert_eq!(st, 201, "{v}");
    v
}

#[test]
fn a_cron_trigger_fires_with_its_input_counts_down_and_disappears() {
    for s in servers() {
        let (st, v) = sj(s.text(Method::POST, "/v2/workflows", WF));
        assert_eq!(st, 201, "{v}");
        // croniter's sixth field is seconds: a tick every 2 s.
        let t = create_trigger(
            &s,
            json!({"name": "every2", "workflow_name": "cwf", "pattern": "* * * * * */2",
                   "workflow_input": {"x": "hi"}, "workflow_params": {"env": {"k": 1}},
                   "remaining_executions": 3}),
        );
        let id = t["id"].as_str().unwrap().to_string();
        wait_gone(|p| s.get(p), "every2", 30);
        let exs = executions_of(|p| s.get(p), "cwf");
        assert_eq!(exs.len(), 3, "{} {exs:?}", s.backend);
        let want_desc = format!(
            "{{\"description\": \"Workflow execution created by cron trigger '({id})'.\", \
             \"triggered_by\": {{\"type\": \"cron_trigger\", \"id\": \"{id}\"}}}}"
        );
        let mut created: Vec<String> = Vec::new();
        for ex in &exs {
            assert_eq!(ex["description"], want_desc.as_str());
            assert_eq!(ex["input"], "{\"x\": \"hi\"}");
            let params: Value = serde_json::from_str(ex["params"].as_str().unwrap()).unwrap();
            assert_eq!(params["env"], json!({"k": 1}), "{params}");
            created.push(ex["created_at"].as_str().unwrap().to_string());
        }
        // One execution per tick, not a burst.
        created.sort();
        created.dedup();
        assert_eq!(created.len(), 3, "{created:?}");
        // The executions run to completion with the trigger's input.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let exs = executions_of(|p| s.get(p), "cwf");
            if exs.iter().all(|e| e["state"] == "SUCCESS") {
                break;
            }
            assert!(Instant::now() < deadline, "{exs:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn a_failed_start_is_logged_and_still_consumes_the_tick() {
    for s in servers() {
        let (st, v) = sj(s.text(Method::POST, "/v2/workflows", WF));
        assert_eq!(st, 201, "{v}");
        // The trigger is accepted (params are not checked at creation) but every start fails
        // with "Environment is not found: nope".
        create_trigger(
            &s,
            json!({"name": "broken", "workflow_name": "cwf", "pattern": "* * * * * */2",
                   "workflow_input": {"x": 1}, "workflow_params": {"env": "nope"},
                   "remaining_executions": 2}),
        );
        wait_gone(|p| s.get(p), "broken", 30);
        assert!(executions_of(|p| s.get(p), "cwf").is_empty());
    }
}

/// A `mistral-rs serve` child process, killed on drop.
struct Proc(Child, String);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(db_url: &str) -> Proc {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_mistral-rs"))
        .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--database-url", db_url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mistral-rs");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while reqwest::blocking::get(format!("{base}/")).is_err() {
        assert!(
            Instant::now() < deadline,
            "server on {port} did not come up"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    Proc(child, base)
}

#[test]
fn two_servers_on_one_postgresql_start_one_execution_per_firing() {
    let Ok(admin) = std::env::var("MISTRAL_RS_TEST_PG") else {
        eprintln!("MISTRAL_RS_TEST_PG not set: skipped");
        return;
    };
    use diesel::{Connection, RunQueryDsl};
    let name = format!("mistral_rs_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = diesel::PgConnection::establish(&admin).unwrap();
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .unwrap();
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&format!("/{name}"));
    let url = url.to_string();
    {
        let a = serve(&url);
        let b = serve(&url);
        let client = reqwest::blocking::Client::new();
        let get = |p: &str| client.get(format!("{}{p}", a.1)).send().unwrap();
        let r = client
            .post(format!("{}/v2/workflows", b.1))
            .body(WF)
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        // Every second, 6 times: both servers look for due triggers every second.
        let r = client
            .post(format!("{}/v2/cron_triggers", b.1))
            .header("Content-Type", "application/json")
            .body(
                json!({"name": "both", "workflow_name": "cwf", "pattern": "* * * * * *",
                       "workflow_input": {"x": 1}, "remaining_executions": 6})
                .to_string(),
            )
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        wait_gone(get, "both", 60);
        // Give a (wrong) second start of the last firing time to show up.
        std::thread::sleep(Duration::from_secs(2));
        let exs = executions_of(get, "cwf");
        assert_eq!(exs.len(), 6, "{exs:#?}");
    }
    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn);
}
