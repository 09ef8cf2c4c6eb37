#!/usr/bin/env python3
"""Side-by-side benchmark: upstream OpenStack Mistral 23.0.0 vs mistral-rs, one machine, one run.

    python3 bench/compare.py [--upstream-python PY] [--binary target/release/mistral-rs]
                             [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]
                             [--cap SECONDS] [--out bench/results.md] [--only upstream,sqlite,pg]

bench/run.sh installs upstream into a virtualenv, builds mistral-rs and calls this script;
use that. The servers run one after the other (never at the same time) on the same ports
range: upstream all-in-one on SQLite with auth off and the in-process `fake:/` transport
(compat-tests/upstream/run_upstream.py), then mistral-rs on SQLite, then mistral-rs on
PostgreSQL. Each one gets a fresh database and exactly the same load, driven over HTTP by
this process (standard library only). Scenario details are in bench/README.md.

Every scenario that waits for executions is capped (--cap); a server that does not finish
in time is reported as ">cap" together with the progress it made (items/s measured over the
partial run), and ratios against it are printed as lower bounds (">").

The table goes to stdout and, as Markdown with the machine description, to --out.
"""

import argparse
import concurrent.futures as cf
import datetime
import http.client
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_UPSTREAM = os.path.join(ROOT, "compat-tests", "upstream", "run_upstream.py")


# ---------------------------------------------------------------------------------------------
# HTTP client (keep-alive connection per thread)

class Client:
    def __init__(self, port):
        self.port = port
        self.local = threading.local()

    def _conn(self):
        c = getattr(self.local, "conn", None)
        if c is None:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
            self.local.conn = c
        return c

    def request(self, method, path, body=None, ctype="application/json", ok=(200, 201, 204)):
        data = None
        headers = {}
        if body is not None:
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            else:
                data = body.encode()
                headers["Content-Type"] = ctype
        for attempt in range(3):
            c = self._conn()
            try:
                c.request(method, path, body=data, headers=headers)
                r = c.getresponse()
                raw = r.read()
                break
            except (http.client.HTTPException, ConnectionError, OSError):
                c.close()
                self.local.conn = None
                if attempt == 2:
                    raise
                time.sleep(0.2)
        if r.status not in ok:
            raise RuntimeError("%s %s -> %d: %s" % (method, path, r.status, raw[:500]))
        return json.loads(raw) if raw else None

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, body, ctype="application/json"):
        return self.request("POST", path, body, ctype)

    def delete(self, path):
        return self.request("DELETE", path)


def wait_http(port, deadline):
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/")
            if c.getresponse().status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def peak_rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


# ---------------------------------------------------------------------------------------------
# Servers

class Server:
    """A server under test: start, stop, a DB handle for seeding/progress counting."""

    label = ""

    def __init__(self, port, workdir):
        self.port = port
        self.workdir = workdir
        self.proc = None
        self.startup_s = None
        self.log = None
        self.dirty = False
        self.peak_mb = 0.0

    def start(self):
        self.dirty = False
        if wait_http(self.port, time.monotonic() + 0.2):
            raise RuntimeError("port %d already answers HTTP (another server is running there; "
                               "use --port)" % self.port)
        if os.path.exists(self.workdir):
            shutil.rmtree(self.workdir)
        os.makedirs(self.workdir)
        self.log = open(os.path.join(self.workdir, "server.log"), "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT,
                                     env=self.env(), cwd=self.workdir, start_new_session=True)
        if not wait_http(self.port, t0 + 180):
            self.stop()
            raise RuntimeError("%s did not start; see %s" % (self.label, self.log.name))
        self.startup_s = time.monotonic() - t0

    def env(self):
        return dict(os.environ)

    def reset_db(self):
        pass

    def peak_rss_mb(self):
        return max(self.peak_mb, peak_rss_mb(self.proc.pid) or 0.0)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.peak_mb = self.peak_rss_mb()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()


class Upstream(Server):
    label = "upstream"
    exec_table = "workflow_executions_v2"
    task_table = "task_executions_v2"

    def __init__(self, port, workdir, python):
        super().__init__(port, workdir)
        self.python = python
        self.db_path = os.path.join(workdir, "mistral.sqlite")

    def command(self):
        return [self.python, RUN_UPSTREAM, "--port", str(self.port), "--workdir", self.workdir]

    def sql(self, query, args=()):
        return sqlite_query(self.db_path, query, args)

    def done_items(self, task_ex_id):
        return self.sql("SELECT count(*) FROM action_executions_v2 WHERE task_execution_id = ? "
                        "AND state = 'SUCCESS'", (task_ex_id,))[0][0]


class Ours(Server):
    exec_table = "workflow_executions"
    task_table = "task_executions"

    def __init__(self, port, workdir, binary, pg_url=None, pg_reset=None):
        super().__init__(port, workdir)
        self.binary = binary
        self.pg_url = pg_url
        self.pg_reset = pg_reset
        self.db_path = os.path.join(workdir, "mistral-rs.sqlite")
        self.label = "mistral-rs/pg" if pg_url else "mistral-rs/sqlite"

    def command(self):
        url = self.pg_url or "sqlite:///" + self.db_path
        return [self.binary, "serve", "--port", str(self.port), "--database-url", url]

    def reset_db(self):
        if self.pg_reset:
            self.pg_reset()

    def env(self):
        e = dict(os.environ)
        e.setdefault("MISTRAL_RS_LOG", "warn")
        return e

    def sql(self, query, args=()):
        if self.pg_url:
            return psql_query(self.pg_url, query, args)
        return sqlite_query(self.db_path, query, args)

    def done_items(self, task_ex_id):
        return self.sql("SELECT count(*) FROM action_executions WHERE task_execution_id = ? "
                        "AND state = 'SUCCESS'", (task_ex_id,))[0][0]


def sqlite_query(path, query, args=()):
    con = sqlite3.connect(path, timeout=60)
    try:
        cur = con.execute(query, args)
        rows = cur.fetchall()
        con.commit()
        return rows
    finally:
        con.close()


def pg_literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, (int, float)):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def psql_query(url, query, args=()):
    parts = query.split("?")
    assert len(parts) == len(args) + 1, query
    q = parts[0] + "".join(pg_literal(a) + p for a, p in zip(args, parts[1:]))
    out = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-At", "-F", "\t", "-c", q],
                         check=True, capture_output=True, text=True).stdout
    return [tuple(line.split("\t")) for line in out.splitlines() if line] or [(0,)]


# ---------------------------------------------------------------------------------------------
# Workflows

def seq_wf(name, n):
    tasks = []
    for i in range(1, n + 1):
        nxt = "\n      on-success: [t%d]" % (i + 1) if i < n else ""
        tasks.append("    t%d:\n      action: std.noop%s" % (i, nxt))
    return "version: '2.0'\n%s:\n  tasks:\n%s\n" % (name, "\n".join(tasks))


def fanout_wf(name, n):
    lines = ["version: '2.0'", "%s:" % name, "  tasks:", "    start:", "      action: std.noop",
             "      on-success:"]
    lines += ["        - b%d" % i for i in range(n)]
    for i in range(n):
        lines += ["    b%d:" % i, "      action: std.noop", "      on-success: [join]"]
    lines += ["    join:", "      join: all", "      action: std.noop"]
    return "\n".join(lines) + "\n"


def with_items_wf(name):
    return """version: '2.0'
%s:
  input:
    - n
  tasks:
    items:
      with-items: i in <%% range(0, $.n) %%>
      concurrency: 50
      action: std.noop
""" % name


EXPR_TASKS = 10


def expr_wf(name):
    """Sequential tasks, each publishing YAQL and Jinja expressions over a 50-record input."""
    tasks = []
    for i in range(1, EXPR_TASKS + 1):
        nxt = "\n      on-success: [t%d]" % (i + 1) if i < EXPR_TASKS else ""
        tasks.append("""    t%(i)d:
      action: std.noop
      publish:
        big%(i)d: <%% $.records.where($.v > 10).select($.name) %%>
        count%(i)d: <%% $.records.where($.v mod 2 = 0).len() %%>
        total%(i)d: <%% $.records.select($.v).sum() + %(i)d %%>
        names%(i)d: <%% $.records.select($.name.toUpper()).join(',') %%>
        jsum%(i)d: "{{ _.records | map(attribute='v') | sum }}"
        jbig%(i)d: "{{ _.records | selectattr('v', 'gt', 25) | map(attribute='name') | list }}"
        jtext%(i)d: "{{ _.records[%(i)d].name ~ '-' ~ (_.records | length) }}"%(nxt)s""" %
                     {"i": i, "nxt": nxt})
    out = "".join("\n    r%d: <%% [$.count%d, $.total%d, $.jsum%d, $.jtext%d] %%>" % (i, i, i, i, i)
                  for i in (1, EXPR_TASKS))
    return "version: '2.0'\n%s:\n  input:\n    - records\n  output:%s\n  tasks:\n%s\n" % (
        name, out, "\n".join(tasks))


def expr_input():
    return {"records": [{"name": "rec%02d" % i, "v": (i * 7) % 50} for i in range(50)]}


# ---------------------------------------------------------------------------------------------
# Scenario helpers

def fmt_s(s):
    return "%.3g s" % s


def create_wf(cl, text):
    return cl.post("/v2/workflows", text, ctype="text/plain")


def start_ex(cl, wf, inp=None):
    body = {"workflow_name": wf}
    if inp is not None:
        body["input"] = json.dumps(inp)
    return cl.post("/v2/executions", body)["id"]


def ex_states(cl, wf):
    r = cl.get("/v2/executions?workflow_name=%s&fields=id,state&limit=1000" % wf)
    return [e["state"] for e in r["executions"]]


def wait_all(cl, wf, n, t0, cap):
    """Polls until n executions of wf are SUCCESS; returns seconds since t0 or None at cap."""
    while True:
        el = time.monotonic() - t0
        states = ex_states(cl, wf)
        done = states.count("SUCCESS")
        bad = [s for s in states if s in ("ERROR", "CANCELLED")]
        if bad:
            raise RuntimeError("%d executions of %s ended %s" % (len(bad), wf, bad[0]))
        if done >= n:
            return time.monotonic() - t0
        if el > cap:
            return None
        time.sleep(min(1.0, max(0.005, el / 100)))


def wait_one(cl, ex_id, t0, cap):
    while True:
        el = time.monotonic() - t0
        e = cl.get("/v2/executions/%s" % ex_id)
        if e["state"] == "SUCCESS":
            return time.monotonic() - t0, e
        if e["state"] in ("ERROR", "CANCELLED"):
            raise RuntimeError("execution %s ended %s: %s" % (ex_id, e["state"],
                                                             e.get("state_info")))
        if el > cap:
            return None, e
        time.sleep(min(1.0, max(0.002, el / 100)))


def pool_run(fn, items, threads):
    with cf.ThreadPoolExecutor(threads) as ex:
        return list(ex.map(fn, items))


class Result:
    """One measured figure: value (lower is better unless higher_better), text, bound flag."""

    def __init__(self, value, unit, higher_better=False, lower_bound=False, note="",
                 projected=None):
        self.projected = projected  # for a capped run: the total projected from its rate
        self.value = value
        self.unit = unit
        self.higher_better = higher_better
        self.lower_bound = lower_bound  # True: real figure is worse than value (capped run)
        self.note = note

    def text(self):
        if self.value is None:
            return "n/a"
        if self.unit == "/s":
            t = "%.4g/s" % self.value
        elif self.unit == "ms":
            t = "%.3g ms" % self.value
        elif self.unit == "MB":
            t = "%.0f MB" % self.value
        else:
            t = "%.3g s" % self.value
        if self.lower_bound:
            t = ">" + t
        if self.note:
            t += " (%s)" % self.note
        return t


def ratio(up, ours):
    """How many times better ours is than upstream; prefix '>' when upstream was capped."""
    if up is None or ours is None or up.value in (None, 0) or ours.value in (None, 0):
        return "n/a"
    if up.lower_bound and ours.lower_bound and not (up.projected and ours.projected):
        return "n/a (both capped)"
    if up.lower_bound and up.projected and (ours.projected or not ours.lower_bound):
        # Both figures exist only as projections from measured rates: say so.
        mine = ours.projected if ours.lower_bound else ours.value
        return "~%.3gx (projected)" % (up.projected / mine)
    r = ours.value / up.value if up.higher_better else up.value / ours.value
    bound = up.lower_bound and not ours.lower_bound
    if ours.lower_bound and not up.lower_bound:
        return "<%.3gx" % r
    return ("%s%.3gx" % (">" if bound else "", r)) if r >= 0.995 else "%.2gx" % r


# ---------------------------------------------------------------------------------------------
# Scenarios; each returns {row name: Result}

API_N = 200
API_BUDGET = 30
# Read rates are measured over a time window with warm connections: a few dozen requests
# (tens of milliseconds against mistral-rs) would mostly measure thread and connection start.
API_RATE_SECONDS = 3.0


def rate_for(fn, seconds, threads):
    """Calls fn(i) from `threads` threads, each on its own keep-alive connection opened by a
    first, untimed call, for `seconds`; returns completed calls per second."""
    stop = threading.Event()
    counts = [0] * threads
    errors = []
    ready = threading.Barrier(threads + 1)

    def worker(k):
        try:
            fn(k)
        finally:
            ready.wait()
        n = 0
        try:
            while not stop.is_set():
                fn(k + threads * n)
                n += 1
        except Exception as e:  # reported after the window
            errors.append(e)
        counts[k] = n

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    ready.wait()
    t0 = time.monotonic()
    time.sleep(seconds)
    stop.set()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]
    return sum(counts) / (time.monotonic() - t0)
API_THREADS = 4
EXEC_SEED = 10000


def scenario_api(srv, cl, tag):
    """Definition API rates with 4 client threads; creates stop after API_N or API_BUDGET s."""
    res = {}
    res["(a) workflow list rate (system workflows only)"] = Result(
        rate_for(lambda _: cl.get("/v2/workflows"), API_RATE_SECONDS, API_THREADS), "/s",
        higher_better=True)
    names = ["bench_api_%s_%d" % (tag, i) for i in range(API_N)]
    deadline = time.monotonic() + API_BUDGET
    created = []

    def create(n):
        if time.monotonic() < deadline:
            create_wf(cl, seq_wf(n, 3))
            created.append(n)

    for op, fn in [
        ("create", create),
        ("get", None),
        ("delete", lambda n: cl.delete("/v2/workflows/%s" % n)),
    ]:
        if op == "get":
            got = list(created)
            res["(a) workflow get rate"] = Result(
                rate_for(lambda i: cl.get("/v2/workflows/%s" % got[i % len(got)]),
                         API_RATE_SECONDS, API_THREADS), "/s", higher_better=True)
            continue
        items = names if op == "create" else list(created)
        t0 = time.monotonic()
        pool_run(fn, items, API_THREADS)
        n = len(created) if op == "create" else len(items)
        note = "" if n == API_N else "%d in %.0f s" % (n, time.monotonic() - t0)
        res["(a) workflow %s rate" % op] = Result(n / (time.monotonic() - t0), "/s",
                                                  higher_better=True, note=note)

    # 10,000 executions stored: one real execution, cloned by SQL (same method for both).
    create_wf(cl, seq_wf("bench_list", 1))
    ex_id = start_ex(cl, "bench_list")
    wait_one(cl, ex_id, time.monotonic(), 120)
    seed_executions(srv, ex_id, EXEC_SEED - 1)
    total = int(srv.sql("SELECT count(*) FROM %s" % srv.exec_table)[0][0])
    for label, path, reps in [("(a) GET /v2/executions (1000 of %d rows)" % total,
                               "/v2/executions", 5),
                              ("(a) GET /v2/executions?limit=100 (of %d)" % total,
                               "/v2/executions?limit=100", 10)]:
        lat = []
        for _ in range(reps):
            t0 = time.monotonic()
            cl.get(path)
            lat.append((time.monotonic() - t0) * 1000)
        res[label] = Result(statistics.median(lat), "ms")
    return res


def seed_executions(srv, src_id, n):
    """Clones execution src_id n times inside the server's database (new ids, same rows)."""
    cols = [c for c in table_columns(srv, srv.exec_table) if c != "id"]
    collist = ", ".join(cols)
    if isinstance(srv, Ours) and srv.pg_url:
        q = ("INSERT INTO %s (id, %s) SELECT gen_random_uuid()::text, %s FROM %s, "
             "generate_series(1, %d) WHERE id = ?" % (srv.exec_table, collist, collist,
                                                      srv.exec_table, n))
        srv.sql(q, (src_id,))
        # A server that gained 10,000 rows one by one would have had its statistics refreshed
        # by autovacuum long ago; the bulk INSERT above would leave the planner guessing (from
        # default selectivities) until the next autovacuum round, a minute later.
        srv.sql("ANALYZE %s" % srv.exec_table)
        return
    uid = ("lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || "
           "substr(lower(hex(randomblob(2))), 2) || '-a' || substr(lower(hex(randomblob(2))), 2)"
           " || '-' || lower(hex(randomblob(6)))")
    q = ("WITH RECURSIVE c(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM c WHERE k < %d) "
         "INSERT INTO %s (id, %s) SELECT %s, %s FROM c, %s WHERE id = ?"
         % (n, srv.exec_table, collist, uid, collist, srv.exec_table))
    srv.sql(q, (src_id,))


def table_columns(srv, table):
    if isinstance(srv, Ours) and srv.pg_url:
        rows = srv.sql("SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                       (table,))
        return [r[0] for r in rows]
    return [r[1] for r in srv.sql("PRAGMA table_info(%s)" % table)]


SEQ_N = 200
SEQ_TASKS = 10


def scenario_seq(srv, cl, cap):
    res = {}
    create_wf(cl, seq_wf("bench_seq", SEQ_TASKS))
    # One execution alone: latency per task.
    t0 = time.monotonic()
    ex_id = start_ex(cl, "bench_seq")
    solo, _ = wait_one(cl, ex_id, t0, cap)
    res["(b) one 10-task execution alone, per task"] = (
        Result(solo * 1000 / SEQ_TASKS, "ms") if solo is not None
        else Result(cap * 1000 / SEQ_TASKS, "ms", lower_bound=True))
    create_wf(cl, seq_wf("bench_seq200", SEQ_TASKS))
    t0 = time.monotonic()
    pool_run(lambda _: start_ex(cl, "bench_seq200"), range(SEQ_N), 8)
    started = time.monotonic() - t0
    el = wait_all(cl, "bench_seq200", SEQ_N, t0, cap)
    if el is None:
        elapsed = time.monotonic() - t0
        states = ex_states(cl, "bench_seq200")
        done = int(srv.sql("SELECT count(*) FROM %s WHERE workflow_name = ? AND state = ?"
                           % srv.task_table, ("bench_seq200", "SUCCESS"))[0][0])
        res["(b) 200 x 10-task sequential, all SUCCESS"] = Result(
            elapsed, "s", lower_bound=True, note="%d/200 executions, %d/2000 tasks done" % (
                states.count("SUCCESS"), done))
        res["(b) per task transition (amortised)"] = Result(
            elapsed * 1000 / max(done, 1), "ms",
            note="over the partial run" if done else "no task done")
        srv.dirty = True
    else:
        res["(b) 200 x 10-task sequential, all SUCCESS"] = Result(
            el, "s", note="starts took %.2g s" % started)
        res["(b) per task transition (amortised)"] = Result(
            el * 1000 / (SEQ_N * SEQ_TASKS), "ms")
    return res


def tasks_done(srv, wf):
    return int(srv.sql("SELECT count(*) FROM %s WHERE workflow_name = ? AND state = ?"
                       % srv.task_table, (wf, "SUCCESS"))[0][0])


def repeat_one(cl, wf, cap, inp=None, budget=20, reps=3):
    times = []
    spent = time.monotonic()
    last = None
    for _ in range(reps):
        t0 = time.monotonic()
        ex_id = start_ex(cl, wf, inp)
        el, last = wait_one(cl, ex_id, t0, cap)
        if el is None:
            return None, last
        times.append(el)
        if time.monotonic() - spent > budget:
            break
    return statistics.median(times), last


def scenario_fanout(srv, cl, cap):
    create_wf(cl, fanout_wf("bench_fanout", 100))
    el, _ = repeat_one(cl, "bench_fanout", cap)
    if el is None:
        srv.dirty = True
        return {"(c) fan-out/join of 100 branches": Result(
            cap, "s", lower_bound=True, note="%d/102 tasks done" % tasks_done(srv, "bench_fanout"))}
    return {"(c) fan-out/join of 100 branches": Result(el, "s")}


ITEMS = 10000


def scenario_with_items(srv, cl, cap):
    create_wf(cl, with_items_wf("bench_items"))
    t0 = time.monotonic()
    ex_id = start_ex(cl, "bench_items", {"n": ITEMS})
    el, _ = wait_one(cl, ex_id, t0, cap)
    if el is not None:
        return {"(d) with-items 10,000 x std.noop, concurrency 50": Result(el, "s")}
    elapsed = time.monotonic() - t0
    srv.dirty = True
    tasks = cl.get("/v2/tasks?workflow_execution_id=%s" % ex_id)["tasks"]
    done = srv.done_items(tasks[0]["id"]) if tasks else 0
    done = int(done)
    rate = done / elapsed
    note = "%d items in %.0f s = %.3g items/s" % (done, elapsed, rate)
    if rate:
        note += ", ~%.0f s projected" % (ITEMS / rate)
    return {"(d) with-items 10,000 x std.noop, concurrency 50": Result(
        elapsed, "s", lower_bound=True, note=note, projected=ITEMS / rate if rate else None)}


EXPR_N = 50


def scenario_expr(srv, cl, cap):
    create_wf(cl, expr_wf("bench_expr"))
    inp = expr_input()
    el1, ex = repeat_one(cl, "bench_expr", cap, inp, reps=1)
    out = json.loads(ex["output"]) if ex and ex.get("output") else None
    t0 = time.monotonic()
    pool_run(lambda _: start_ex(cl, "bench_expr", inp), range(EXPR_N), 8)
    el = wait_all(cl, "bench_expr", EXPR_N + 1, t0, cap)
    if el is None:
        srv.dirty = True
        note = "%d/%d tasks done" % (tasks_done(srv, "bench_expr"), (EXPR_N + 1) * EXPR_TASKS)
        res = {"(e) 50 x 10 tasks with 7 YAQL/Jinja publishes each": Result(
            cap, "s", lower_bound=True, note=note)}
    else:
        res = {"(e) 50 x 10 tasks with 7 YAQL/Jinja publishes each": Result(el, "s")}
    return res, out


SCENARIOS = ["api", "seq", "fanout", "with-items", "expr"]


def run_server(srv, cap, tag, scenarios=SCENARIOS):
    print("== %s: starting" % srv.label, flush=True)
    srv.start()
    cl = Client(srv.port)
    res = {"(f) start-up time (to first HTTP 200)": Result(srv.startup_s, "s")}
    out = None
    try:
        for name, fn in [("api", lambda: scenario_api(srv, cl, tag)),
                         ("seq", lambda: scenario_seq(srv, cl, cap)),
                         ("fanout", lambda: scenario_fanout(srv, cl, cap)),
                         ("with-items", lambda: scenario_with_items(srv, cl, cap)),
                         ("expr", lambda: scenario_expr(srv, cl, cap))]:
            if name not in scenarios:
                continue
            t0 = time.monotonic()
            try:
                r = fn()
                if name == "expr":
                    r, out = r
                res.update(r)
            except Exception as e:  # keep going: a failed scenario shows as n/a
                print("   %s FAILED: %s" % (name, e), flush=True)
            if srv.dirty:
                # Work left over from a capped scenario would slow the next one down.
                print("   (restarting %s on a fresh database after a capped scenario)"
                      % srv.label, flush=True)
                srv.stop()
                srv.reset_db()
                srv.start()
            print("   %-10s %.1f s  %s" % (name, time.monotonic() - t0,
                                         "; ".join("%s=%s" % (k.split(") ")[0] + ")", v.text())
                                                   for k, v in res.items()
                                                   if k.startswith(r_prefix(name)))),
                  flush=True)
        res["(f) peak RSS over the whole run"] = Result(srv.peak_rss_mb(), "MB")
    finally:
        srv.stop()
    return res, out


def r_prefix(name):
    return {"api": "(a)", "seq": "(b)", "fanout": "(c)", "with-items": "(d)",
            "expr": "(e)"}[name]


# ---------------------------------------------------------------------------------------------

def machine():
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = "%.0f GB RAM" % (int(f.readline().split()[1]) / 1024 / 1024)
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0
    return "%s, %d cores, %s, %s %s, Python %s; load average at start %.2f" % (
        cpu, os.cpu_count() or 0, mem, platform.system(), platform.release(),
        platform.python_version(), load)


def git_rev():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def pg_create(base_url, name):
    subprocess.run(["psql", base_url, "-v", "ON_ERROR_STOP=1", "-qc",
                    "DROP DATABASE IF EXISTS %s" % name], check=True, capture_output=True)
    subprocess.run(["psql", base_url, "-v", "ON_ERROR_STOP=1", "-qc",
                    "CREATE DATABASE %s" % name], check=True, capture_output=True)
    head, _, _ = base_url.rpartition("/")
    return "%s/%s" % (head, name)


def pg_drop(base_url, name):
    subprocess.run(["psql", base_url, "-qc", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name],
                   capture_output=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream-python", default=os.path.join(
        os.environ.get("MISTRAL_UPSTREAM_VENV", "/work/venvs/upstream"), "bin", "python"))
    p.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "mistral-rs"))
    p.add_argument("--pg-url", default=os.environ.get(
        "BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    p.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "9160")))
    p.add_argument("--cap", type=float, default=100,
                   help="seconds after which a waiting scenario of upstream gives up "
                   "(default 100; keeps the whole run under 15 minutes)")
    p.add_argument("--cap-ours", type=float, default=300,
                   help="the same for mistral-rs (default 300; only spent if it is slow)")
    p.add_argument("--only", default="upstream,sqlite,pg",
                   help="comma-separated subset of upstream,sqlite,pg")
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "results.md"),
                   help="Markdown results file; the results section of bench/README.md is "
                   "rewritten with the same text when --out is the default")
    p.add_argument("--scenarios", default=",".join(SCENARIOS),
                   help="comma-separated subset of %s (for profiling one of them)"
                   % ",".join(SCENARIOS))
    args = p.parse_args()
    scenarios = args.scenarios.split(",")
    which = set(args.only.split(","))

    # On SIGTERM/SIGINT unwind normally so the servers under test are stopped too.
    def on_signal(signum, _frame):
        raise SystemExit("interrupted by signal %d" % signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    started = datetime.datetime.now(datetime.timezone.utc)
    desc = machine()
    print("machine: " + desc, flush=True)
    work = tempfile.mkdtemp(prefix="mistral-bench-")
    columns = {}
    outputs = {}
    t_all = time.monotonic()
    try:
        if "upstream" in which:
            srv = Upstream(args.port, os.path.join(work, "upstream"), args.upstream_python)
            columns["upstream"], outputs["upstream"] = run_server(srv, args.cap, "u", scenarios)
        if "sqlite" in which:
            srv = Ours(args.port + 1, os.path.join(work, "ours"), args.binary)
            columns["sqlite"], outputs["sqlite"] = run_server(srv, args.cap_ours, "s", scenarios)
        if "pg" in which:
            name = "mistral_bench_%d" % os.getpid()
            try:
                url = pg_create(args.pg_url, name)
            except (subprocess.CalledProcessError, OSError) as e:
                print("PostgreSQL at %s not usable, skipping: %s" % (args.pg_url, e), flush=True)
            else:
                try:
                    srv = Ours(args.port + 2, os.path.join(work, "ours-pg"), args.binary, url,
                               lambda: pg_create(args.pg_url, name))
                    columns["pg"], outputs["pg"] = run_server(srv, args.cap_ours, "p", scenarios)
                finally:
                    pg_drop(args.pg_url, name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = time.monotonic() - t_all

    same = None
    if "upstream" in outputs and "sqlite" in outputs:
        same = outputs["upstream"] == outputs["sqlite"]
        if not same:
            print("WARNING: (e) outputs differ:\n upstream %s\n ours     %s" % (
                outputs["upstream"], outputs["sqlite"]), flush=True)

    rows = []
    for col in columns.values():
        for k in col:
            if k not in rows:
                rows.append(k)
    rows.sort(key=lambda k: k[:3])
    header = ["scenario", "upstream 23.0.0 (SQLite)", "mistral-rs (SQLite)", "ratio",
              "mistral-rs (PostgreSQL)", "ratio"]
    table = []
    up = columns.get("upstream", {})
    for k in rows:
        u, s, g = up.get(k), columns.get("sqlite", {}).get(k), columns.get("pg", {}).get(k)
        table.append([k, u.text() if u else "-", s.text() if s else "-", ratio(u, s),
                      g.text() if g else "-", ratio(u, g)])
    md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(r) + " |" for r in table]
    ratio_note = ("Ratio = how many times better mistral-rs is (upstream time / ours, or our "
                  "rate / upstream's; for memory, upstream's / ours). \">\" marks a lower bound: "
                  "upstream hit the %g s cap." % args.cap)
    text = "\n".join([
        "Run %s UTC, mistral-rs %s, whole run %.0f s." % (started.strftime("%Y-%m-%d %H:%M"),
                                                          git_rev(), total),
        "",
        "Machine: %s." % desc,
        "",
        *md,
        "",
        ratio_note,
        "(e) final outputs of upstream and mistral-rs: %s." % (
            "identical" if same else ("DIFFERENT" if same is False else "not compared")),
        "",
    ])
    print()
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write("<!-- written by bench/compare.py; do not edit by hand -->\n" + text)
        print("written to %s" % args.out)
        if os.path.abspath(args.out) == os.path.join(ROOT, "bench", "results.md"):
            update_readme(text)


def update_readme(text):
    """Puts the results between the markers of bench/README.md (never typed by hand)."""
    path = os.path.join(ROOT, "bench", "README.md")
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    try:
        with open(path) as f:
            doc = f.read()
    except OSError:
        return
    if begin not in doc or end not in doc:
        return
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(head + begin + "\n" + text + end + tail)
    print("results section of %s updated" % path)


if __name__ == "__main__":
    main()
