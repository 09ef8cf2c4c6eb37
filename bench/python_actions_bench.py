#!/usr/bin/env python3
"""Python actions per second: mistral-rs vs upstream Mistral 23.0.0 on the same workflow.

Usage:
  python bench/python_actions_bench.py [--items 200] [--runs 3]
      [--bin target/debug/mistral-rs] [--venv compat-tests/.venv]
      [--upstream-python /work/venvs/upstream/bin/python] [--port 9145]
      [--only rs-process,rs-thread,upstream] [--mode workflow|api] [--action TEXT]

Both servers get a fresh SQLite database and the sample action package of compat-tests/pyactions
(install it into both environments: `pip install ./compat-tests/pyactions`). The workflow runs
`sample.add` once per item of a with-items task (all items at once), so the figure is what the
whole path costs per Python action: engine scheduling, the executor, the Python call, the
result back into the engine. `--mode api` instead runs `sample.add` synchronously through
POST /v2/action_executions from 4 concurrent clients (API + executor + Python, no workflow
engine). `--action 'std.echo output=<% $.i %>'` gives the engine-only baseline of the workflow
mode. Prints one line per server: items, median seconds, actions/s.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACTION = None
MODE = "workflow"

WORKFLOW = """version: '2.0'
bench_pyactions:
  input: [n]
  tasks:
    add:
      with-items: i in <% range($.n) %>
      action: {action}
"""


def http(method, url, body=None, ctype="application/json"):
    data = None if body is None else body.encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": ctype} if data else {})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read() or b"null")


def wait_ready(url, proc, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s" % proc.returncode)
        try:
            urllib.request.urlopen(url + "/", timeout=5)
            return
        except Exception:
            time.sleep(0.3)
    raise RuntimeError("server at %s not ready" % url)


def run_once(v2, n):
    ex = http("POST", v2 + "/executions",
              json.dumps({"workflow_name": "bench_pyactions", "input": {"n": n}}))
    t0 = time.monotonic()
    while True:
        st = http("GET", v2 + "/executions/" + ex["id"])["state"]
        if st != "RUNNING":
            break
        time.sleep(0.05)
    took = time.monotonic() - t0
    if st != "SUCCESS":
        raise RuntimeError("execution ended %s" % st)
    return took


def run_api(v2, n, clients=4):
    """n synchronous runs of sample.add through POST /v2/action_executions, `clients` at a time."""
    from concurrent.futures import ThreadPoolExecutor

    def one(i):
        out = http("POST", v2 + "/action_executions",
                   json.dumps({"name": "sample.add", "input": {"x": i, "y": 1}}))
        if out["state"] != "SUCCESS" or json.loads(out["output"]) != {"result": i + 1}:
            raise RuntimeError("bad result %s" % out)

    t0 = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(n)))
    return time.monotonic() - t0


def bench(name, cmd, env, url, items, runs, log):
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(url, proc)
        v2 = url + "/v2"
        if MODE == "api":
            run_api(v2, 8)  # warm-up (worker start, imports)
            times = [run_api(v2, items) for _ in range(runs)]
        else:
            http("POST", v2 + "/workflows", WORKFLOW.replace("{action}", ACTION), "text/plain")
            run_once(v2, 4)  # warm-up (worker start, imports)
            times = [run_once(v2, items) for _ in range(runs)]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    med = statistics.median(times)
    print("%-12s %s items=%d runs=%s median=%.2fs  %.1f actions/s"
          % (name, MODE, items, ",".join("%.2f" % t for t in times), med, items / med), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--items", type=int, default=200)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--bin", default=os.path.join(ROOT, "target", "debug", "mistral-rs"))
    p.add_argument("--venv", default=os.path.join(ROOT, "compat-tests", ".venv"))
    p.add_argument("--upstream-python", default="/work/venvs/upstream/bin/python")
    p.add_argument("--port", type=int, default=9145)
    p.add_argument("--only", default="rs-process,rs-thread,upstream")
    p.add_argument("--action", default="sample.add x=<% $.i %> y=1",
                   help="the with-items action (std.echo output=<% $.i %> gives the engine-only "
                   "baseline)")
    p.add_argument("--mode", choices=["workflow", "api"], default="workflow",
                   help="workflow: one with-items task; api: synchronous POST "
                   "/v2/action_executions from 4 clients (no engine in the path)")
    a = p.parse_args()
    global ACTION, MODE
    ACTION, MODE = a.action, a.mode
    which = a.only.split(",")
    work = tempfile.mkdtemp(prefix="pyactions-bench-")
    url = "http://127.0.0.1:%d" % a.port
    base = {k: v for k, v in os.environ.items() if not k.startswith("MISTRAL_")}
    with open(os.path.join(work, "servers.log"), "w") as log:
        for iso in ("process", "thread"):
            if "rs-" + iso not in which:
                continue
            env = dict(base, NO_COLOR="1", MISTRAL_PYTHON_VENV=a.venv,
                       MISTRAL_PYTHON_ISOLATION=iso, MISTRAL_RS_LOG="warn",
                       MISTRAL_DATABASE_CONNECTION="sqlite:///%s/rs-%s.sqlite" % (work, iso))
            bench("rs-" + iso, [a.bin, "serve", "--host", "127.0.0.1", "--port", str(a.port)],
                  env, url, a.items, a.runs, log)
        if "upstream" in which:
            cmd = [a.upstream_python, os.path.join(ROOT, "compat-tests", "upstream",
                                                   "run_upstream.py"), "--port", str(a.port)]
            bench("upstream", cmd, dict(base), url, a.items, a.runs, log)
    print("logs: %s" % work)


if __name__ == "__main__":
    sys.exit(main())
