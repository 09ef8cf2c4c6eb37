#!/usr/bin/env python3
"""Run the upstream mistral tempest API tests, unchanged, against whatever listens on :8989.

The tests come from PyPI (tempest==47.0.0, mistral-tempest-tests==2.10.0). They run in the
plugin's own `WITHOUT_AUTH=1 VERSION=v2` mode: every API request of the test clients goes to
http://localhost:8989/v2 without a token (the plugin fixes that address; `--target URL`
redirects its requests elsewhere through a sitecustomize hook, so a second server need not
take :8989). Tempest still
builds `admin`/`primary`/`alt` credentials for each test class, so this script writes a
pre-provisioned accounts file and serves a minimal fake Keystone (fake_keystone.py) for it.

    python compat-tests/tempest/run_tempest.py                 # definitions API (default set)
    python compat-tests/tempest/run_tempest.py --all           # every API test module
    python compat-tests/tempest/run_tempest.py test_executions test_tasks
    python compat-tests/tempest/run_tempest.py --target http://127.0.0.1:9120 --all

Run it with the Python of an environment that has tempest and the plugin installed (the
compat-tests venv). Test outcomes are compared with upstream_failures.txt: tests listed there
fail on upstream Mistral 23.0.0 itself in this mode, so their failure is expected. The exit
status is non-zero if any other selected test fails or errors, or if no test ran.
`--record FILE` writes the failing test ids of this run in that file's format (use it only
against upstream, see compat-tests/README.md).
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from fake_keystone import FakeKeystone  # noqa: E402

PACKAGE = "mistral_tempest_tests.tests.api.v2"
DEFINITIONS = ["test_workbooks", "test_workflows", "test_actions"]
ALL_MODULES = DEFINITIONS + ["test_executions", "test_tasks", "test_action_executions",
                             "test_cron_triggers", "test_event_triggers"]
TARGET = "http://localhost:8989"

# Imported by every Python process of the tempest run (PYTHONPATH): rewrites the plugin's
# fixed http://localhost:8989 in the URLs of its WITHOUT_AUTH auth provider.
SITECUSTOMIZE = """\
import importlib.abc
import importlib.util
import os
import sys

_TARGET = os.environ.get("MISTRAL_TEMPEST_TARGET")
_MODULE = "mistral_tempest_tests.services.base"


class _RedirectPlugin(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != _MODULE:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)
            original = module.AuthProv.auth_request

            def auth_request(self, *args, **kwargs):
                url, headers, body = original(self, *args, **kwargs)
                return url.replace("http://localhost:8989", _TARGET, 1), headers, body

            module.AuthProv.auth_request = auth_request

        spec.loader.exec_module = exec_module
        return spec


if _TARGET:
    sys.meta_path.insert(0, _RedirectPlugin())
"""
KNOWN_FILE = os.path.join(HERE, "upstream_failures.txt")

TEMPEST_CONF = """\
[DEFAULT]
log_file = {work}/tempest.log
use_stderr = False

[oslo_concurrency]
lock_path = {work}/locks

[auth]
use_dynamic_credentials = False
test_accounts_file = {work}/etc/accounts.yaml
default_credentials_domain_name = Default
create_isolated_networks = False
admin_domain_scope = False

[identity]
auth_version = v3
uri = {keystone}/v2.0
uri_v3 = {keystone}/v3
region = RegionOne
admin_role = admin
disable_ssl_certificate_validation = True

[identity-feature-enabled]
api_v2 = False
api_v3 = True

[service_available]
mistral = True
nova = False
neutron = False
glance = False
cinder = False
swift = False
horizon = False

[validation]
run_validation = False
"""

ACCOUNTS = """\
- username: mistral-primary
  project_name: mistral-primary
  password: secret
  domain_name: Default
  roles:
    - member
- username: mistral-alt
  project_name: mistral-alt
  password: secret
  domain_name: Default
  roles:
    - member
- username: mistral-admin
  project_name: mistral-admin
  password: secret
  domain_name: Default
  roles:
    - admin
"""


def short_id(test_id):
    """Test id without tempest's `[id-…,smoke]` attribute suffix."""
    return re.sub(r"\[.*\]$", "", test_id)


def load_known(path):
    known = {}
    if not os.path.exists(path):
        return known
    with open(path) as f:
        for line in f:
            text = line.split("#", 1)
            tid = text[0].strip()
            if tid:
                known[tid] = text[1].strip() if len(text) > 1 else ""
    return known


def wait_target(url, seconds):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return True
        except Exception as e:
            last = e
        time.sleep(0.5)
    print("nothing answers %s (last error: %s)" % (url, last), file=sys.stderr)
    return False


def parse_subunit(path):
    """Map test id -> (status, details text) from a subunit v2 stream."""
    import subunit
    import testtools

    results = {}

    class Collect(testtools.StreamResult):
        def __init__(self):
            super().__init__()
            self.files = {}

        def status(self, test_id=None, test_status=None, test_tags=None, runnable=True,
                   file_name=None, file_bytes=None, eof=False, mime_type=None,
                   route_code=None, timestamp=None):
            if test_id is None:
                return
            if file_name is not None and file_bytes:
                chunks = self.files.setdefault(test_id, {})
                chunks[file_name] = chunks.get(file_name, "") + bytes(file_bytes).decode(
                    "utf-8", "replace")
            if test_status in ("success", "fail", "skip", "xfail", "uxsuccess"):
                details = "".join(
                    "--- %s ---\n%s\n" % (name, text)
                    for name, text in self.files.get(test_id, {}).items()
                    if name in ("traceback", "reason", "pythonlogging:''") or test_status == "fail")
                results[test_id] = (test_status, details)

    with open(path, "rb") as f:
        case = subunit.ByteStreamToStreamResult(f, non_subunit_name="stdout")
        collect = Collect()
        collect.startTestRun()
        case.run(collect)
        collect.stopTestRun()
    return results


def main():
    p = argparse.ArgumentParser(description="mistral tempest API tests against a server")
    p.add_argument("modules", nargs="*", help="test modules (default: %s)" % " ".join(DEFINITIONS))
    p.add_argument("--all", action="store_true", help="all API test modules")
    p.add_argument("--workdir", help="tempest workspace (default: a temporary directory)")
    p.add_argument("--known", action="append",
                   help="file of expected failures (repeatable; default: upstream_failures.txt)")
    p.add_argument("--record", metavar="FILE", help="write this run's failures to FILE")
    p.add_argument("--concurrency", type=int, default=1,
                   help="tempest workers (default 1: several tests assert on global lists)")
    p.add_argument("--wait", type=float, default=60, help="seconds to wait for the server")
    p.add_argument("--target", default=TARGET,
                   help="server under test (default %s, the plugin's own address)" % TARGET)
    p.add_argument("--timeout", type=float, default=2400,
                   help="seconds after which the whole tempest run is stopped (default 2400)")
    p.add_argument("--verbose", "-v", action="store_true", help="print details of every failure")
    args = p.parse_args()

    modules = ALL_MODULES if args.all else (args.modules or DEFINITIONS)
    modules = [m[:-3] if m.endswith(".py") else m for m in modules]
    modules = [m.split("/")[-1] for m in modules]
    for m in modules:
        if m not in ALL_MODULES:
            sys.exit("unknown module %s (choose from %s)" % (m, ", ".join(ALL_MODULES)))

    target = args.target.rstrip("/")
    if not wait_target(target + "/", args.wait):
        return 2

    own_work = args.workdir is None
    work = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="mistral-tempest-"))
    os.makedirs(os.path.join(work, "etc"), exist_ok=True)
    os.makedirs(os.path.join(work, "locks"), exist_ok=True)
    stestr_repo = os.path.join(work, ".stestr")
    if os.path.isdir(stestr_repo):
        shutil.rmtree(stestr_repo)

    keystone = FakeKeystone(workflow_url=target + "/v2").start()
    with open(os.path.join(work, "etc", "tempest.conf"), "w") as f:
        f.write(TEMPEST_CONF.format(work=work, keystone=keystone.url))
    with open(os.path.join(work, "etc", "accounts.yaml"), "w") as f:
        f.write(ACCOUNTS)

    env = dict(os.environ)
    env.update({"WITHOUT_AUTH": "1", "VERSION": "v2",
                "TEMPEST_CONFIG_DIR": os.path.join(work, "etc"),
                "TEMPEST_CONFIG": "tempest.conf",
                "OS_TEST_TIMEOUT": env.get("OS_TEST_TIMEOUT", "600")})
    if target != TARGET:
        hook = os.path.join(work, "pyhook")
        os.makedirs(hook, exist_ok=True)
        with open(os.path.join(hook, "sitecustomize.py"), "w") as f:
            f.write(SITECUSTOMIZE)
        env["MISTRAL_TEMPEST_TARGET"] = target
        env["PYTHONPATH"] = os.pathsep.join(
            [hook] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    for proxy in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        env.pop(proxy, None)
    env["no_proxy"] = env["NO_PROXY"] = "localhost,127.0.0.1"

    tempest = os.path.join(os.path.dirname(sys.executable), "tempest")
    regex = r"^%s\.(%s)\." % (re.escape(PACKAGE), "|".join(re.escape(m) for m in modules))
    cmd = [tempest, "run", "--config-file", os.path.join(work, "etc", "tempest.conf"),
           "--regex", regex, "--subunit"]
    cmd += ["--concurrency", str(args.concurrency)] if args.concurrency > 1 else ["--serial"]
    subunit_path = os.path.join(work, "results.subunit")
    print("tempest: %s against %s (workspace %s)" % (", ".join(modules), target, work),
          flush=True)
    started = time.monotonic()
    with open(subunit_path, "wb") as out, open(os.path.join(work, "run.stderr"), "wb") as err:
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=out, stderr=err,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            print("tempest did not finish in %.0f s; stopping it" % args.timeout, flush=True)
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            rc = -1
    elapsed = time.monotonic() - started
    keystone.stop()

    results = parse_subunit(subunit_path)
    known = {}
    for path in args.known or [KNOWN_FILE]:
        known.update(load_known(path))

    counts = {"passed": 0, "failed": 0, "skipped": 0}
    unexpected, expected_fail, fixed = [], [], []
    for tid in sorted(results):
        status, details = results[tid]
        sid = short_id(tid)
        if status in ("success", "xfail"):
            counts["passed"] += 1
            if sid in known:
                fixed.append(sid)
        elif status == "skip":
            counts["skipped"] += 1
        else:
            counts["failed"] += 1
            if sid in known:
                expected_fail.append(sid)
            else:
                unexpected.append((sid, details))

    for sid in sorted(fixed):
        print("PASS (fails on upstream: %s) %s" % (known[sid], sid))
    for sid in sorted(expected_fail):
        print("KNOWN-FAIL %s  # %s" % (sid, known[sid]))
    for sid, details in unexpected:
        print("FAIL %s" % sid)
        if args.verbose or len(unexpected) <= 15:
            text = details.strip()
            if len(text) > 4000:
                text = text[:1500] + "\n  [...]\n" + text[-2500:]
            print("    " + text.replace("\n", "\n    "))

    if args.record:
        with open(args.record, "w") as f:
            for sid in sorted(set(expected_fail) | {s for s, _ in unexpected}):
                f.write("%s  # %s\n" % (sid, known.get(sid, "")))
        print("recorded failures in %s" % args.record)

    print("tempest finished in %.0f s (tempest exit %d, log %s)"
          % (elapsed, rc, os.path.join(work, "tempest.log")))
    print("tempest: %d passed, %d failed, %d skipped (%d of the failures expected from upstream, "
          "%d unexpected)" % (counts["passed"], counts["failed"], counts["skipped"],
                              len(expected_fail), len(unexpected)))
    if not results:
        print("no test ran; tempest stderr:", file=sys.stderr)
        with open(os.path.join(work, "run.stderr"), "rb") as f:
            sys.stderr.write(f.read().decode("utf-8", "replace")[-5000:])
        return 1
    if rc == -1:
        return 1
    if own_work and not unexpected:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
