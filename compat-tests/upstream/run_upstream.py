#!/usr/bin/env python3
"""Serve the real upstream OpenStack Mistral 23.0.0 as one all-in-one process.

Upstream Mistral is the ground truth for mistral-rs: the compat-tests suite, the workflow
conformance corpus (shared/conformance), the expression differential tests and the benchmarks
are all recorded or compared against what this script serves.

Why a script of our own: `mistral-server --server all` forks one process per component since
Mistral 21, and the in-memory `fake:/` transport only connects components living in the same
process. So this script starts, inside one Python process,

  * the executor, notifier, engine, event-engine and periodic (cron trigger) services, each as
    the oslo service object upstream ships, running its RPC server on threads;
  * the API: upstream's WSGI application served by cheroot on a thread;

with SQLite storage, authentication off and the given port. Run it with the Python of a
virtualenv that has `mistral==23.0.0` (see setup_upstream.sh next to this file):

    /work/venvs/upstream/bin/python compat-tests/upstream/run_upstream.py --port 8989

It prints `READY http://HOST:PORT` once `GET /` answers, and stops cleanly on SIGINT/SIGTERM.
By default the database is a fresh file in a fresh work directory (upstream is noticeably
faster on a fresh database); `--db PATH --keep-db` reuses one.

One deliberate deviation, for the shared 2-core machines: upstream's event engine spins on
`queue.get_nowait()` and keeps a core 100% busy. By default the queue it polls waits up to
0.1 s for an item instead of returning at once, which changes only the CPU use and adds at
most 0.1 s to event-trigger reactions. `--spin-event-engine` keeps the original busy loop.
"""

import argparse
import os
import warnings
import queue
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.request


def parse_cli(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default=os.environ.get("MISTRAL_API_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("MISTRAL_API_PORT", "8989")))
    p.add_argument("--workdir", help="directory for the config, database and log "
                   "(default: a new temporary directory, removed at exit)")
    p.add_argument("--db", help="SQLite database file (default: WORKDIR/mistral.sqlite)")
    p.add_argument("--keep-db", action="store_true",
                   help="reuse an existing --db file instead of starting from an empty one")
    p.add_argument("--log-file", help="oslo.log file (default: WORKDIR/mistral.log)")
    p.add_argument("--debug", action="store_true", help="debug logging")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="extra mistral.conf option, e.g. --set engine.execution_field_size_limit_kb=16")
    p.add_argument("--spin-event-engine", action="store_true",
                   help="keep upstream's busy-polling event engine loop")
    p.add_argument("--no-system-sync", action="store_true",
                   help="do not load the standard actions / system workflows into the database")
    return p.parse_args(argv)


def write_config(path, args, db_path, log_file):
    sections = {
        "DEFAULT": {
            "transport_url": "fake:/",
            "debug": "True" if args.debug else "False",
            "log_file": log_file,
            "use_stderr": "False",
        },
        "database": {"connection": "sqlite:///" + os.path.abspath(db_path)},
        "pecan": {"auth_enable": "False"},
        "api": {"host": args.host, "port": str(args.port)},
        "executor": {"type": "remote"},
        "notifier": {"type": "remote"},
        # Cron triggers are processed by the periodic service thread started below.
        "cron_trigger": {"run_in_api": "False"},
        # Let std.http reach loopback test servers; link-local stays denied.
        "action_std_http": {"denied_cidrs": "169.254.0.0/16,fe80::/10"},
    }
    for item in args.set:
        key, sep, value = item.partition("=")
        section, dot, option = key.rpartition(".")
        if not sep or not dot or not section or not option:
            sys.exit("--set wants SECTION.KEY=VALUE, got %r" % item)
        sections.setdefault(section, {})[option] = value
    with open(path, "w") as f:
        for section, options in sections.items():
            f.write("[%s]\n" % section)
            for key, value in options.items():
                f.write("%s = %s\n" % (key, value))
            f.write("\n")


class _PatientQueue(queue.Queue):
    """A Queue whose get_nowait() waits a little for an item before raising Empty."""

    def get_nowait(self):
        return self.get(block=True, timeout=0.1)


def wait_http(url, deadline):
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except Exception as e:  # not up yet
            last = e
        time.sleep(0.2)
    raise RuntimeError("%s did not answer 200 in time (last error: %s)" % (url, last))


def main(argv=None):
    args = parse_cli(sys.argv[1:] if argv is None else argv)

    own_workdir = args.workdir is None
    workdir = args.workdir or tempfile.mkdtemp(prefix="mistral-upstream-")
    os.makedirs(workdir, exist_ok=True)
    db_path = args.db or os.path.join(workdir, "mistral.sqlite")
    if not args.keep_db and os.path.exists(db_path):
        os.remove(db_path)
    log_file = args.log_file or os.path.join(workdir, "mistral.log")
    conf_path = os.path.join(workdir, "mistral.conf")
    write_config(conf_path, args, db_path, log_file)

    # futurist imports eventlet (deprecated) just to probe for it; the warning is noise here.
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

    # Upstream's launchers pick oslo.service's threading backend (no eventlet) before anything
    # else is imported; do the same.
    from oslo_service import backend as service_backend
    service_backend.init_backend(service_backend.BackendType.THREADING)

    from oslo_config import cfg
    from oslo_log import log as logging

    from mistral import config as m_config
    from mistral.rpc import base as rpc_base
    from mistral.rpc import clients as rpc_clients

    os.environ.pop("MISTRAL_CONFIG_DIR", None)
    os.environ.pop("MISTRAL_CONFIG_FILE", None)
    m_config.parse_args(args=["--config-file", conf_path])
    logging.setup(cfg.CONF, "Mistral")

    from mistral.db.v2 import api as db_api
    from mistral.services import action_manager
    from mistral.services import workflows as wf_service

    # Schema straight from the models (`mistral-db-manage upgrade head` fails on SQLite),
    # then the standard actions and the system workflows, as `mistral-db-manage populate` does.
    db_api.setup_db()
    if not args.no_system_sync:
        action_manager.sync_db()
        wf_service.sync_db()

    from mistral.api import service as api_service
    from mistral.engine import engine_server
    from mistral.event_engine import event_engine_server
    from mistral.executors import executor_server
    from mistral.notifiers import notification_server
    from mistral.services import actions as action_service
    from mistral.services import periodic_server

    rpc_base.get_transport()
    rpc_clients.cleanup()

    services = []

    def start(name, svc, wait=True):
        svc.start()
        if wait and hasattr(svc, "wait_started"):
            svc.wait_started()
        services.append((name, svc))

    start("executor", executor_server.get_oslo_service(setup_profiler=False))
    start("notifier", notification_server.get_oslo_service(setup_profiler=False))
    start("engine", engine_server.get_oslo_service(setup_profiler=False))

    event_svc = event_engine_server.get_oslo_service()
    if not args.spin_event_engine:
        event_svc._event_engine.event_queue = _PatientQueue()
    start("event-engine", event_svc)
    start("periodic", periodic_server.get_oslo_service())

    # Make sure every action provider is initialised before the first request.
    action_service.get_system_action_provider()

    api = api_service.WSGIService("mistral_api")
    api.start()
    services.append(("api", api))

    stop_requested = threading.Event()

    def on_signal(signum, _frame):
        stop_requested.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    base = "http://%s:%d" % (args.host if args.host not in ("0.0.0.0", "::") else "127.0.0.1",
                             args.port)
    try:
        wait_http(base + "/", time.monotonic() + 60)
    except RuntimeError as e:
        print("ERROR: %s; see %s" % (e, log_file), file=sys.stderr, flush=True)
        os._exit(1)
    print("READY %s (workdir %s, log %s)" % (base, workdir, log_file), flush=True)

    while not stop_requested.wait(1):
        pass

    print("stopping upstream Mistral", flush=True)
    for name, svc in reversed(services):
        try:
            if name == "api":
                svc.stop()
            else:
                svc.stop(True)
        except Exception as e:  # keep stopping the others
            print("stopping %s failed: %s" % (name, e), file=sys.stderr, flush=True)
    if own_workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.stdout.flush()
    # Some oslo threads are not daemonic; do not wait for them.
    os._exit(0)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException:
        import traceback
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
