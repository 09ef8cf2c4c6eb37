//! Test helper: boots the real server on a free port with a fresh SQLite file, or (when
//! `MISTRAL_RS_TEST_PG` is set, e.g. `postgresql://postgres@127.0.0.1:5432/postgres`) against a
//! freshly created PostgreSQL database.
#![allow(dead_code)]

use mistral_rs::config::{Overrides, Settings};
use reqwest::blocking::{Client, RequestBuilder, Response};

pub struct TestServer {
    pub base: String,
    pub backend: &'static str,
    rt: Option<tokio::runtime::Runtime>,
    _dir: tempfile::TempDir,
    client: Client,
    /// `(admin URL, database)` to drop afterwards (PostgreSQL).
    drop_db: Option<(String, String)>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
        if let Some((admin, name)) = self.drop_db.take() {
            use diesel::{Connection, RunQueryDsl};
            if let Ok(mut conn) = diesel::PgConnection::establish(&admin) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
    }
}

fn boot(database_url: String, backend: &'static str, dir: tempfile::TempDir) -> TestServer {
    boot_with(database_url, backend, dir, |_| {})
}

fn boot_with(
    database_url: String,
    backend: &'static str,
    dir: tempfile::TempDir,
    tweak: impl FnOnce(&mut Settings),
) -> TestServer {
    let o = Overrides {
        port: Some("0".into()),
        database_url: Some(database_url),
        ..Default::default()
    };
    let mut settings = Settings::load_from(&o, Vec::<(String, String)>::new()).expect("settings");
    tweak(&mut settings);
    let db = mistral_rs::server::open_database(&settings).expect("database");
    mistral_rs::server::populate(&db).expect("populate");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let running = rt
        .block_on(mistral_rs::server::start(settings, db))
        .expect("start");
    let base = format!("http://{}", running.addr);
    TestServer {
        base,
        backend,
        rt: Some(rt),
        _dir: dir,
        client: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        drop_db: None,
    }
}

/// A server on a fresh SQLite file.
pub fn sqlite() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:///{}", dir.path().join("t.sqlite").display());
    boot(url, "sqlite", dir)
}

/// A server on a fresh SQLite file with adjusted settings.
pub fn sqlite_with(tweak: impl FnOnce(&mut Settings)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:///{}", dir.path().join("t.sqlite").display());
    boot_with(url, "sqlite", dir, tweak)
}

/// A server on a fresh PostgreSQL database, when `MISTRAL_RS_TEST_PG` is set.
pub fn postgres() -> Option<TestServer> {
    let admin = std::env::var("MISTRAL_RS_TEST_PG").ok()?;
    use diesel::{Connection, RunQueryDsl};
    let name = format!("mistral_rs_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = diesel::PgConnection::establish(&admin).expect("connect to MISTRAL_RS_TEST_PG");
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .expect("create database");
    let mut url = url::Url::parse(&admin).expect("MISTRAL_RS_TEST_PG is a URL");
    url.set_path(&format!("/{name}"));
    let mut server = boot(url.to_string(), "postgres", tempfile::tempdir().unwrap());
    server.drop_db = Some((admin, name));
    Some(server)
}

/// Every backend available to this test run.
pub fn servers() -> Vec<TestServer> {
    let mut v = vec![sqlite()];
    if let Some(pg) = postgres() {
        v.push(pg);
    }
    v
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
    pub fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().unwrap()
    }
    pub fn delete(&self, path: &str) -> Response {
        self.client.delete(self.url(path)).send().unwrap()
    }
    pub fn req(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }
    /// A raw-text upload without any Content-Type (as tempest sends it).
    pub fn text(&self, method: reqwest::Method, path: &str, body: &str) -> Response {
        self.client
            .request(method, self.url(path))
            .body(body.to_string())
            .send()
            .unwrap()
    }
    pub fn json(&self, method: reqwest::Method, path: &str, body: serde_json::Value) -> Response {
        self.client
            .request(method, self.url(path))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap()
    }
}

/// Status and parsed JSON body.
pub fn sj(r: Response) -> (u16, serde_json::Value) {
    let status = r.status().as_u16();
    let text = r.text().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}
