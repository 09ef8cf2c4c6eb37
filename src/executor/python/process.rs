//! `[python] isolation = process`: a pool of `python -m mistral_rs_actions.worker`
//! subprocesses speaking one JSON line per request. A worker serves one action at a time; a
//! worker that dies, breaks the protocol or outlives the timeout is killed and forgotten (the
//! next request starts a fresh one).

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Semaphore;

use super::CallError;

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    served: u64,
}

pub(crate) struct WorkerPool {
    python: PathBuf,
    package_dir: PathBuf,
    /// The `init` request every new worker gets first.
    init: String,
    idle: Mutex<Vec<Worker>>,
    slots: Semaphore,
    size: usize,
    max_tasks: u64,
    /// Resident memory (KiB) above which a worker is replaced after its action (0 = no limit).
    max_rss_kib: u64,
}

/// `VmRSS` of a process in KiB (Linux), if readable.
fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn describe_exit(status: Option<ExitStatus>) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.and_then(|s| s.signal()) {
            return format!("killed by signal {sig}");
        }
    }
    match status.and_then(|s| s.code()) {
        Some(code) => format!("exited with status {code}"),
        None => "exited".into(),
    }
}

/// Stops a worker without waiting on the caller's path.
fn discard(mut w: Worker) {
    let _ = w.child.start_kill();
    tokio::spawn(async move {
        let _ = w.child.wait().await;
    });
}

impl WorkerPool {
    pub(crate) fn new(
        python: PathBuf,
        package_dir: PathBuf,
        init: String,
        workers: usize,
        max_tasks: u64,
        max_rss_mib: u64,
    ) -> WorkerPool {
        WorkerPool {
            python,
            package_dir,
            init,
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(workers),
            size: workers,
            max_tasks,
            max_rss_kib: max_rss_mib.saturating_mul(1024),
        }
    }

    /// Starts a worker and gives it the `init` request; returns it with the response.
    async fn spawn(&self) -> Result<(Worker, String), String> {
        let mut path = self.package_dir.as_os_str().to_os_string();
        if let Some(old) = std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
            path.push(":");
            path.push(old);
        }
        let mut child = Command::new(&self.python)
            .args(["-m", "mistral_rs_actions.worker"])
            .env("PYTHONPATH", path)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.python.display()))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("worker pipes unavailable".into());
        };
        let mut w = Worker {
            child,
            stdin,
            stdout: BufReader::new(stdout).lines(),
            served: 0,
        };
        match self.exchange(&mut w, &self.init).await {
            Ok(resp) => Ok((w, resp)),
            Err(e) => {
                let status = w.child.wait().await.ok();
                Err(format!(
                    "the Python worker failed to start ({}): {e}",
                    describe_exit(status)
                ))
            }
        }
    }

    async fn exchange(&self, w: &mut Worker, request: &str) -> Result<String, String> {
        let mut line = String::with_capacity(request.len() + 1);
        line.push_str(request);
        line.push('\n');
        w.stdin
            .write_all(line.as_bytes())
            .await
            .map_err(|e| format!("cannot write to the worker: {e}"))?;
        w.stdin
            .flush()
            .await
            .map_err(|e| format!("cannot write to the worker: {e}"))?;
        match w.stdout.next_line().await {
            Ok(Some(resp)) => Ok(resp),
            Ok(None) => Err("no response".into()),
            Err(e) => Err(format!("cannot read from the worker: {e}")),
        }
    }

    /// Starts the first worker and returns its discovery (the `init` response).
    pub(crate) async fn warm_up(&self) -> Result<String, CallError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| CallError::Failed("the worker pool is closed".into()))?;
        let (w, resp) = self.spawn().await.map_err(CallError::Failed)?;
        self.put_back(w);
        Ok(resp)
    }

    /// Starts idle workers up to the pool size (start-up cost is paid before the first actions).
    pub(crate) async fn fill(&self) {
        loop {
            let Ok(slot) = self.slots.try_acquire() else {
                return;
            };
            if self.idle.lock().map(|i| i.len()).unwrap_or(usize::MAX) >= self.size {
                return;
            }
            match self.spawn().await {
                Ok((w, _)) => self.put_back(w),
                Err(e) => {
                    tracing::warn!("{e}");
                    return;
                }
            }
            drop(slot);
        }
    }

    fn put_back(&self, w: Worker) {
        if self.max_tasks > 0 && w.served >= self.max_tasks {
            discard(w);
            return;
        }
        if self.max_rss_kib > 0 {
            if let Some(rss) = rss_kib(w.child.id()).filter(|r| *r > self.max_rss_kib) {
                tracing::warn!(
                    "replacing a Python worker that holds {} MiB (limit [python] worker_max_memory_mb = {})",
                    rss / 1024,
                    self.max_rss_kib / 1024
                );
                discard(w);
                return;
            }
        }
        match self.idle.lock() {
            Ok(mut idle) => idle.push(w),
            Err(_) => discard(w),
        }
    }

    pub(crate) async fn call(
        &self,
        request: String,
        timeout: Option<Duration>,
    ) -> Result<String, CallError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| CallError::Failed("the worker pool is closed".into()))?;
        let reused = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut w = match reused {
            Some(w) => w,
            None => self.spawn().await.map_err(CallError::Failed)?.0,
        };
        let result = match timeout {
            Some(t) => match tokio::time::timeout(t, self.exchange(&mut w, &request)).await {
                Ok(r) => r,
                Err(_) => {
                    discard(w);
                    return Err(CallError::Timeout);
                }
            },
            None => self.exchange(&mut w, &request).await,
        };
        match result {
            Ok(resp) => {
                w.served += 1;
                self.put_back(w);
                Ok(resp)
            }
            Err(e) => {
                // The worker is gone or broken: report how it ended.
                let _ = w.child.start_kill();
                let status = w.child.wait().await.ok();
                tracing::warn!("Python worker lost: {e} ({})", describe_exit(status));
                Err(CallError::Failed(format!(
                    "the Python worker process running the action died ({})",
                    describe_exit(status)
                )))
            }
        }
    }
}
