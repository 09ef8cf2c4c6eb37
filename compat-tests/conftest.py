"""Fixtures for the compat-tests suite.

API tests take the `server` fixture. By default it starts the built mistral-rs binary
(env MISTRAL_RS_BIN, default target/debug/mistral-rs) on a free port, once per backend:

  * sqlite      - a fresh SQLite file in a temporary directory;
  * postgresql  - a fresh database created with psql on 127.0.0.1:5432 as user postgres
                  (env MISTRAL_TEST_PG_URL overrides the server part), dropped afterwards.

MISTRAL_TEST_BACKENDS=sqlite (or postgresql) restricts the backends.

When MISTRAL_URL is set (e.g. http://127.0.0.1:8989, the address of
compat-tests/upstream/run_upstream.py), no server is started and every test runs against that
server instead: that is how the expectations are proven against upstream Mistral 23.0.0.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import pytest
import requests

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("MISTRAL_RS_BIN", os.path.join(REPO, "target", "debug", "mistral-rs"))
PG_SERVER = os.environ.get("MISTRAL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432")


def _backends():
    if os.environ.get("MISTRAL_URL"):
        return ["external"]
    names = os.environ.get("MISTRAL_TEST_BACKENDS", "sqlite,postgresql")
    return [n.strip() for n in names.split(",") if n.strip()]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(url, proc, log_path, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        try:
            if requests.get(url + "/", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    tail = ""
    if log_path and os.path.exists(log_path):
        with open(log_path, errors="replace") as f:
            tail = f.read()[-4000:]
    raise RuntimeError("server at %s did not become ready (exit=%s)\n%s"
                       % (url, proc.poll() if proc else None, tail))


def _psql(*sql):
    for statement in sql:
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", PG_SERVER + "/postgres",
                        "-c", statement], check=True, capture_output=True, text=True)


class Server:
    """A Mistral v2 API under test."""

    def __init__(self, url, backend, is_upstream, log_path=None):
        self.url = url.rstrip("/")          # application URL, without /v2
        self.v2 = self.url + "/v2"
        self.backend = backend
        self.is_upstream = is_upstream
        self.log_path = log_path            # server log (only for servers started here)

    def log_tail(self, size=3000):
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, errors="replace") as f:
            f.seek(max(0, os.path.getsize(self.log_path) - size))
            return f.read()

    def __repr__(self):
        return "Server(%s, %s)" % (self.url, self.backend)


@pytest.fixture(scope="session", params=_backends())
def server(request, tmp_path_factory):
    backend = request.param
    if backend == "external":
        url = os.environ["MISTRAL_URL"].rstrip("/")
        if url.endswith("/v2"):
            url = url[:-3]
        _wait_ready(url, None, None, timeout=30)
        # Upstream's cheroot server announces itself as "mistral_api".
        header = requests.get(url + "/", timeout=10).headers.get("Server", "")
        yield Server(url, backend, header.startswith("mistral_api"))
        return

    if not os.path.exists(BIN):
        pytest.fail("mistral-rs binary not found at %s (build it or set MISTRAL_RS_BIN)" % BIN)
    work = tmp_path_factory.mktemp("mistral-rs-" + backend)
    dbname = None
    if backend == "sqlite":
        db_url = "sqlite:///" + str(work / "mistral.sqlite")
    elif backend == "postgresql":
        dbname = "mistral_rs_ct_" + uuid.uuid4().hex[:12]
        _psql("CREATE DATABASE %s" % dbname)
        db_url = "%s/%s" % (PG_SERVER, dbname)
    else:
        raise ValueError("unknown backend %s" % backend)

    port = _free_port()
    # MISTRAL_* variables are server settings: pass none of the harness's own.
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("MISTRAL_TEST_") or k == "MISTRAL_URL")}
    env.update({"NO_COLOR": "1", "MISTRAL_DATABASE_CONNECTION": db_url, "MISTRAL_API_HOST": "127.0.0.1",
                "MISTRAL_API_PORT": str(port)})
    # Python actions come from this virtualenv (the sample package of requirements-pyactions).
    env.setdefault("MISTRAL_PYTHON_VENV", sys.prefix)
    log_path = str(work / "server.log")
    proc = None
    try:
        with open(log_path, "w") as log:
            up = subprocess.run([BIN, "db", "upgrade"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, timeout=300)
        if up.returncode != 0:
            with open(log_path, errors="replace") as f:
                pytest.fail("mistral-rs db upgrade failed:\n" + f.read()[-4000:])
        log = open(log_path, "a")
        proc = subprocess.Popen([BIN, "serve", "--host", "127.0.0.1", "--port", str(port),
                                 "--database-url", db_url],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
        url = "http://127.0.0.1:%d" % port
        _wait_ready(url, proc, log_path)
        yield Server(url, backend, False, log_path)
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if dbname:
            try:
                _psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % dbname)
            except subprocess.CalledProcessError as e:
                print("could not drop %s: %s" % (dbname, e.stderr), file=sys.stderr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the end of the server log to failing API tests."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        srv = getattr(item, "funcargs", {}).get("server")
        if isinstance(srv, Server):
            tail = srv.log_tail()
            if tail:
                report.sections.append(("server log (%s, tail)" % srv.backend, tail))


KNOWN_GAPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "known_gaps.txt")


def _known_gaps():
    gaps = []
    if os.path.exists(KNOWN_GAPS):
        with open(KNOWN_GAPS) as f:
            for line in f:
                pattern, _, reason = line.partition("#")
                if pattern.strip():
                    gaps.append((pattern.strip(), reason.strip() or "known mistral-rs gap"))
    return gaps


def pytest_collection_modifyitems(config, items):
    """Tests listed in known_gaps.txt (node-id prefixes, relative to compat-tests/) are strict
    xfails when they run against mistral-rs: they must fail, and start failing the run as
    soon as they pass, so the entry gets removed. Against MISTRAL_URL they run normally."""
    if os.environ.get("MISTRAL_URL"):
        return
    gaps = _known_gaps()
    if not gaps:
        return
    root = os.path.dirname(os.path.abspath(__file__))
    for item in items:
        rel = os.path.relpath(str(item.path), root).replace(os.sep, "/")
        node = rel + item.nodeid[item.nodeid.index("::"):] if "::" in item.nodeid else rel
        for pattern, reason in gaps:
            if node.startswith(pattern):
                item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
                break


class Api:
    """requests against {server}/v2; paths are relative to /v2 (a leading '/' is optional)."""

    def __init__(self, server):
        self.server = server
        self.session = requests.Session()

    def url(self, path):
        if path.startswith("http://") or path.startswith("https://"):
            return path
        return self.server.v2 + "/" + path.lstrip("/")

    def request(self, method, path, **kw):
        kw.setdefault("timeout", 60)
        kw.setdefault("allow_redirects", False)
        return self.session.request(method, self.url(path), **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def post_text(self, path, text, **kw):
        """Definition upload the way python-mistralclient sends it."""
        return self.request("POST", path, data=text.encode("utf-8"),
                            headers={"Content-Type": "text/plain"}, **kw)

    def put_text(self, path, text, **kw):
        return self.request("PUT", path, data=text.encode("utf-8"),
                            headers={"Content-Type": "text/plain"}, **kw)

    def post_json(self, path, body, **kw):
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return self.request("POST", path, data=data,
                            headers={"Content-Type": "application/json"}, **kw)

    def put_json(self, path, body, **kw):
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return self.request("PUT", path, data=data,
                            headers={"Content-Type": "application/json"}, **kw)


@pytest.fixture
def api(server):
    return Api(server)


@pytest.fixture
def client(server):
    from mistralclient.api import client as mistral_client
    return mistral_client.client(mistral_url=server.v2)


@pytest.fixture
def uniq():
    """A fresh name prefix, so tests never collide (also on a long-lived upstream server)."""
    return "ct%s_" % uuid.uuid4().hex[:10]


@pytest.fixture
def cleanup():
    """Register callables run (in reverse order, errors ignored) after the test."""
    actions = []
    yield actions.append
    for fn in reversed(actions):
        try:
            fn()
        except Exception:
            pass


class Cli:
    def __init__(self, server):
        self.server = server
        exe = shutil.which("mistral", path=os.path.dirname(sys.executable)) or shutil.which(
            "mistral")
        if not exe:
            pytest.fail("the mistral CLI (python-mistralclient) is not installed")
        self.exe = exe

    def run(self, *args, check=True, fmt_json=True, stdin=None):
        cmd = [self.exe, "--os-mistral-url", self.server.v2] + [str(a) for a in args]
        if fmt_json:
            cmd += ["-f", "json"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, input=stdin,
                              timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError("%s failed (%d):\n%s\n%s" % (" ".join(cmd), proc.returncode,
                                                             proc.stdout, proc.stderr))
        return proc

    def json(self, *args):
        return json.loads(self.run(*args).stdout)


@pytest.fixture
def cli(server):
    return Cli(server)


@pytest.fixture
def tmp_file(tmp_path):
    counter = [0]

    def make(text, suffix=".yaml"):
        counter[0] += 1
        path = tmp_path / ("f%d%s" % (counter[0], suffix))
        path.write_text(text)
        return str(path)

    return make
