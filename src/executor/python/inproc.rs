//! `[python] isolation = thread`: the package runs in this process through pyo3, on a
//! dedicated pool of OS threads fed by a channel. The runtime's threads only await a oneshot;
//! a pool thread holds the GIL only while Python runs (Python releases it itself around
//! blocking calls such as sleep or sockets).

use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyList;
use tokio::sync::oneshot;

use super::CallError;

type Job = (String, oneshot::Sender<String>);

pub(crate) struct ThreadPool {
    tx: Mutex<mpsc::Sender<Job>>,
    rx: Arc<Mutex<mpsc::Receiver<Job>>>,
    handle: Arc<PyObject>,
}

/// `sys.version_info[:2]` and `sys.path` of the configured interpreter.
async fn interpreter_paths(python: &Path) -> Result<((u32, u32), Vec<String>), String> {
    let out = tokio::process::Command::new(python)
        .args([
            "-c",
            "import json, sys; print(json.dumps([list(sys.version_info[:2]), sys.path]))",
        ])
        .output()
        .await
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let (ver, path): ((u32, u32), Vec<String>) = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("unexpected output of {}: {e}", python.display()))?;
    Ok((ver, path))
}

fn worker_loop(rx: Arc<Mutex<mpsc::Receiver<Job>>>, handle: Arc<PyObject>) {
    loop {
        let job = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => return,
        };
        let Ok((request, reply)) = job else { return };
        let resp = Python::with_gil(|py| {
            handle
                .call1(py, (request,))
                .and_then(|r| r.extract::<String>(py))
                .unwrap_or_else(|e| {
                    serde_json::json!({"fatal": format!("the Python runner failed: {e}")})
                        .to_string()
                })
        });
        let _ = reply.send(resp);
    }
}

impl ThreadPool {
    /// Initialises the embedded interpreter with the configured environment's `sys.path` and
    /// starts `workers` threads.
    pub(crate) async fn start(
        python: &Path,
        package_dir: &Path,
        workers: usize,
    ) -> Result<ThreadPool, String> {
        let (ver, paths) = interpreter_paths(python).await?;
        let pkg = package_dir.display().to_string();
        let handle = tokio::task::spawn_blocking(move || {
            Python::with_gil(|py| -> Result<PyObject, String> {
                let err = |e: PyErr| e.to_string();
                let sys = py.import("sys").map_err(err)?;
                let embedded: (u32, u32) = sys
                    .getattr("version_info")
                    .and_then(|v| v.get_item(0).and_then(|a| Ok((a, v.get_item(1)?))))
                    .and_then(|(a, b)| Ok((a.extract()?, b.extract()?)))
                    .map_err(err)?;
                if embedded != ver {
                    return Err(format!(
                        "the embedded Python is {}.{} but the configured interpreter is {}.{} \
                         (use [python] isolation = process, or an environment of the same version)",
                        embedded.0, embedded.1, ver.0, ver.1
                    ));
                }
                let sys_path = sys
                    .getattr("path")
                    .and_then(|p| Ok(p.downcast_into::<PyList>()?))
                    .map_err(err)?;
                sys_path.insert(0, &pkg).map_err(err)?;
                let site = py.import("site").map_err(err)?;
                for p in &paths {
                    if !p.is_empty() && !sys_path.contains(p).map_err(err)? {
                        // addsitedir also processes .pth files (editable installs).
                        site.call_method1("addsitedir", (p,)).map_err(err)?;
                    }
                }
                let module = py.import("mistral_rs_actions").map_err(err)?;
                Ok(module.getattr("handle").map_err(err)?.unbind())
            })
        })
        .await
        .map_err(|e| format!("Python initialisation panicked: {e}"))??;
        let (tx, rx) = mpsc::channel::<Job>();
        let pool = ThreadPool {
            tx: Mutex::new(tx),
            rx: Arc::new(Mutex::new(rx)),
            handle: Arc::new(handle),
        };
        for _ in 0..workers {
            pool.add_thread()?;
        }
        Ok(pool)
    }

    fn add_thread(&self) -> Result<(), String> {
        let (rx, handle) = (self.rx.clone(), self.handle.clone());
        std::thread::Builder::new()
            .name("python-action".into())
            .spawn(move || worker_loop(rx, handle))
            .map(|_| ())
            .map_err(|e| format!("cannot start a Python thread: {e}"))
    }

    pub(crate) async fn call(
        &self,
        request: String,
        timeout: Option<Duration>,
    ) -> Result<String, CallError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .lock()
            .map_err(|_| CallError::Failed("the Python thread pool is broken".into()))?
            .send((request, reply))
            .map_err(|_| CallError::Failed("the Python thread pool has stopped".into()))?;
        let wait = async {
            rx.await
                .map_err(|_| CallError::Failed("the Python thread stopped".into()))
        };
        match timeout {
            None => wait.await,
            Some(t) => match tokio::time::timeout(t, wait).await {
                Ok(r) => r,
                Err(_) => {
                    // A Python thread cannot be killed: it keeps running the action; keep the
                    // pool's capacity with a new thread.
                    if let Err(e) = self.add_thread() {
                        tracing::warn!("{e}");
                    }
                    Err(CallError::Timeout)
                }
            },
        }
    }
}
