//! Crash safety (issue 4): the real binary on one SQLite file is killed with SIGKILL at random
//! moments while 40 branching executions run, and restarted each time. Every execution must
//! end as a run without kills ends, none may stay RUNNING, no task may run its action more
//! often than without kills, and no task or sub-workflow may be created twice.
//!
//! `MISTRAL_RS_CRASH_SEED` replays a kill schedule; `MISTRAL_RS_CRASH_BIN` runs the test
//! against another build of the server (e.g. an older one, to see the test fail).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use serde_json::{json, Value};

const WORKFLOWS: &str = r#"---
version: '2.0'
crash_sub:
  input: [n]
  output:
    doubled: <% $.d %>
  tasks:
    s1:
      action: std.echo output=<% $.n * 2 %> delay=0.2
      publish:
        d: <% task().result %>
crash_main:
  input: [x]
  output:
    left: <% $.left %>
    right: <% $.right %>
    sub: <% $.sub %>
    retried: <% $.retried %>
    total: <% $.total %>
  tasks:
    start:
      action: std.echo output=<% $.x %>
      publish:
        v: <% task().result %>
      on-success: [left, right, waiter, child, flaky]
    left:
      action: std.echo output=<% $.v + 1 %> delay=0.3
      publish:
        left: <% task().result %>
      on-success: [join]
    right:
      action: std.echo output=<% $.v + 2 %> delay=0.6
      publish:
        right: <% task().result %>
      on-success: [join]
    waiter:
      action: std.echo output="w"
      wait-before: 1
      on-success: [join]
    child:
      workflow: crash_sub n=<% $.v %>
      publish:
        sub: <% task().result.doubled %>
      on-success: [join]
    flaky:
      action: std.fail
      retry:
        count: 2
        delay: 1
      on-error: [recover]
    recover:
      action: std.echo output="recovered"
      publish:
        retried: <% task().result %>
      on-success: [join]
    join:
      join: all
      action: std.echo output=<% $.left + $.right + $.sub %>
      publish:
        total: <% task().result %>
"#;

const EXECUTIONS: usize = 40;
const KILLS: usize = 5;

/// A tiny deterministic generator (xorshift), so a failing schedule can be replayed.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

struct Server {
    bin: PathBuf,
    db_url: String,
    log: PathBuf,
    port: u16,
    child: Option<Child>,
    http: Client,
}

impl Server {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}/v2", self.port)
    }

    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(&self.bin)
            .args([
                "serve",
                "--port",
                &self.port.to_string(),
                "--host",
                "127.0.0.1",
            ])
            .args(["--database-url", &self.db_url])
            .env("RUST_LOG", "info")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start the server binary");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = self.http.get(format!("{}/workflows", self.base())).send() {
                if r.status().is_success() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("server did not come up\n{}", self.log_tail());
    }

    /// SIGKILL: no shutdown code runs.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("SIGKILL");
            c.wait().unwrap();
        }
    }

    fn log_tail(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base()))
            .send()
            .unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().unwrap()
    }

    fn start_execution(&self, x: u64) -> String {
        let r = self
            .http
            .post(format!("{}/executions", self.base()))
            .json(&json!({"workflow_name": "crash_main", "input": json!({"x": x}).to_string()}))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "{}", r.text().unwrap());
        r.json::<Value>().unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Every execution (sub-workflows too) by id.
    fn executions(&self) -> BTreeMap<String, Value> {
        let v = self.get("/executions?limit=1000");
        v["executions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["id"].as_str().unwrap().to_string(), e.clone()))
            .collect()
    }

    /// Waits until no execution is RUNNING (or panics naming the stuck ones).
    fn wait_all_finished(&self, timeout: Duration) -> BTreeMap<String, Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let all = self.executions();
            let running: Vec<&String> = all
                .iter()
                .filter(|(_, e)| e["state"] == "RUNNING" || e["state"] == "IDLE")
                .map(|(id, _)| id)
                .collect();
            if running.is_empty() {
                return all;
            }
            if Instant::now() > deadline {
                panic!(
                    "{} execution(s) stuck RUNNING, e.g. {:?}\n{}",
                    running.len(),
                    running.iter().take(3).collect::<Vec<_>>(),
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What a finished top-level execution looks like, independent of ids and times: its state
/// and output, its tasks (name → state, number of action executions) and the number of its
/// sub-workflow executions.
fn shape(s: &Server, all: &BTreeMap<String, Value>, id: &str) -> Value {
    // Lists leave the output out: fetch each execution.
    let ex = &s.get(&format!("/executions/{id}"));
    let tasks = s.get(&format!("/executions/{id}/tasks"))["tasks"].clone();
    let mut per_task = BTreeMap::new();
    let mut names = Vec::new();
    for t in tasks.as_array().unwrap() {
        let name = t["name"].as_str().unwrap().to_string();
        names.push(name.clone());
        let tid = t["id"].as_str().unwrap();
        let actions = s.get(&format!("/tasks/{tid}/action_executions"))["action_executions"]
            .as_array()
            .unwrap()
            .len();
        let subs: Vec<&Value> = all
            .values()
            .filter(|e| e["task_execution_id"] == tid)
            .collect();
        let sub_states: Vec<Value> = subs
            .iter()
            .map(|e| {
                let full = s.get(&format!("/executions/{}", e["id"].as_str().unwrap()));
                json!([full["state"], parse(&full["output"])])
            })
            .collect();
        per_task.insert(
            name,
            json!({"state": t["state"], "actions": actions, "sub_workflows": sub_states}),
        );
    }
    names.sort();
    json!({
        "state": ex["state"],
        "output": parse(&ex["output"]),
        "task_names": names,
        "tasks": per_task,
    })
}

fn parse(v: &Value) -> Value {
    v.as_str()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null)
}

fn run(bin: PathBuf, dir: &Path, db_url: String) {
    let seed = std::env::var("MISTRAL_RS_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash test seed {seed} (MISTRAL_RS_CRASH_SEED replays it)");
    let mut rng = Rng(seed);
    let mut s = Server {
        bin,
        db_url,
        log: dir.join("server.log"),
        port: free_port(),
        child: None,
        http: Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
    };
    s.start();
    let r = s
        .http
        .post(format!("{}/workflows", s.base()))
        .body(WORKFLOWS)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().unwrap());

    // The reference: one undisturbed run per input.
    let reference: Vec<String> = (0..4).map(|x| s.start_execution(x)).collect();
    let all = s.wait_all_finished(Duration::from_secs(60));
    let expected: Vec<Value> = reference.iter().map(|id| shape(&s, &all, id)).collect();
    for (x, e) in expected.iter().enumerate() {
        let x = x as i64;
        assert_eq!(e["state"], "SUCCESS", "reference run: {e}");
        assert_eq!(
            e["output"],
            json!({"left": x + 1, "right": x + 2, "sub": 2 * x, "retried": "recovered",
                   "total": 4 * x + 3}),
            "reference run: {e}"
        );
        assert_eq!(e["tasks"]["flaky"]["actions"], 3, "retried twice: {e}");
    }

    // The chaos run: executions start in batches between kills.
    let mut ids = Vec::new();
    let per_round = EXECUTIONS.div_ceil(KILLS);
    for round in 0..KILLS {
        for _ in 0..per_round {
            if ids.len() < EXECUTIONS {
                let x = ids.len() as u64 % 4;
                ids.push((s.start_execution(x), x as usize));
            }
        }
        std::thread::sleep(Duration::from_millis(100 + rng.below(1500)));
        s.kill();
        eprintln!("round {round}: killed the server");
        s.start();
    }
    let all = s.wait_all_finished(Duration::from_secs(90));

    let mut failures = Vec::new();
    for (id, x) in &ids {
        let got = shape(&s, &all, id);
        if got != expected[*x] {
            failures.push(format!(
                "execution {id} (x={x}):\n  got      {got}\n  expected {}",
                expected[*x]
            ));
        }
    }
    // Exactly one sub-workflow per top-level execution (none started twice, none orphaned).
    let subs = all
        .values()
        .filter(|e| !e["task_execution_id"].is_null())
        .count();
    if subs != EXECUTIONS + reference.len() {
        failures.push(format!(
            "{subs} sub-workflow executions, expected {}",
            EXECUTIONS + reference.len()
        ));
    }
    assert!(
        failures.is_empty(),
        "seed {seed}: {} problem(s):\n{}\n--- server log tail ---\n{}",
        failures.len(),
        failures.join("\n"),
        s.log_tail()
    );
}

fn server_binary() -> PathBuf {
    std::env::var_os("MISTRAL_RS_CRASH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_mistral-rs")))
}

#[test]
fn executions_survive_repeated_sigkill_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:///{}", dir.path().join("crash.sqlite").display());
    run(server_binary(), dir.path(), url);
}

/// The same on PostgreSQL (when `MISTRAL_RS_TEST_PG` names a server): there leases of the
/// killed process are only taken over once they expire (several engines may share the
/// database), so recovery takes up to the lease lifetime.
#[test]
fn executions_survive_repeated_sigkill_on_postgres() {
    let Ok(admin) = std::env::var("MISTRAL_RS_TEST_PG") else {
        eprintln!("MISTRAL_RS_TEST_PG not set: skipped");
        return;
    };
    use diesel::{Connection, RunQueryDsl};
    let name = format!("mistral_rs_crash_{}", uuid::Uuid::new_v4().simple());
    let mut conn = diesel::PgConnection::establish(&admin).expect("connect to MISTRAL_RS_TEST_PG");
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .expect("create database");
    let mut url = url::Url::parse(&admin).expect("MISTRAL_RS_TEST_PG is a URL");
    url.set_path(&format!("/{name}"));
    let dir = tempfile::tempdir().unwrap();
    let result = std::panic::catch_unwind(|| run(server_binary(), dir.path(), url.to_string()));
    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
