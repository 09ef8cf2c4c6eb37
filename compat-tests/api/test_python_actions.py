"""Python actions (issue 6): the sample package compat-tests/pyactions, installed into the test
virtualenv, runs unchanged. Every expectation here holds on upstream Mistral 23.0.0 with the
same package installed (run with MISTRAL_URL pointing at compat-tests/upstream/run_upstream.py
from a virtualenv that has compat-tests/pyactions installed); the few mistral-rs-only checks
(a crashing worker, a result JSON cannot carry, in-process isolation) are skipped there.
"""

import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from ctlib import assert_status

MOD = "mistral_rs_sample_actions.actions"


def wait_state(api, ex_id, states=("SUCCESS", "ERROR", "CANCELLED"), timeout=60):
    deadline = time.monotonic() + timeout
    body = None
    while time.monotonic() < deadline:
        body = api.get("executions/%s" % ex_id).json()
        if body["state"] in states:
            return body
        time.sleep(0.2)
    raise AssertionError("execution %s still %s" % (ex_id, body and body["state"]))


def run_wf(api, cleanup, uniq, tasks, *, states=("SUCCESS", "ERROR", "CANCELLED"), wf_input=None):
    """Uploads a one-workflow definition (`tasks` is its tasks block), runs it and waits."""
    name = uniq + "wf"
    text = "version: '2.0'\n%s:\n  tasks:\n%s" % (name, tasks)
    r = api.post_text("workflows", text)
    assert_status(r, 201)
    cleanup(lambda: api.delete("workflows/%s" % name))
    r = api.post_json("executions", {"workflow_name": name, "input": wf_input or {}})
    assert_status(r, 201)
    ex_id = r.json()["id"]
    cleanup(lambda: api.delete("executions/%s?force=true" % ex_id))
    return wait_state(api, ex_id, states)


def tasks_of(api, ex_id):
    return api.get("executions/%s/tasks" % ex_id).json()["tasks"]


def actions_of(api, task_id):
    listed = api.get("tasks/%s/action_executions" % task_id).json()["action_executions"]
    return [api.get("action_executions/%s" % a["id"]).json() for a in listed]


def output(ex):
    import json
    return json.loads(ex["output"])


# --- discovery -----------------------------------------------------------------------------

def test_entry_point_actions_are_listed_with_upstream_signature(api):
    r = api.get("actions/sample.add")
    assert_status(r, 200)
    a = r.json()
    assert a["input"] == "x, y=2"
    assert a["description"] == "Adds two numbers.\n\nReturns x + y."
    assert a["is_system"] is False and a["definition"] == "" and a["namespace"] == ""
    assert api.get("actions/sample.kwargs").json()["input"] == "first, **rest"
    assert api.get("actions/sample.fail").json()["input"] == 'message="sample failure"'
    assert api.get("actions/sample.result").json()["input"] == "data=null, error=null, cancel=false"
    names = [x["name"] for x in api.get("actions?name=in:sample.add,sample.slow,sample.async")
             .json()["actions"]]
    assert names == ["sample.add", "sample.async", "sample.slow"]


def test_entry_point_that_fails_to_import_is_not_listed(api):
    r = api.get("actions/sample.broken_import")
    assert_status(r, 404)


def test_native_std_actions_keep_precedence(api, cleanup, uniq):
    # The sample package also declares std.echo; the real one is listed and runs.
    assert api.get("actions/std.echo").json()["description"].startswith("Echo action.")
    ex = run_wf(api, cleanup, uniq, "    t1:\n      action: std.echo output=\"native\"\n"
                "      publish:\n        r: <% task().result %>\n")
    assert ex["state"] == "SUCCESS"
    assert output(ex) == {"r": "native"}


# --- running ---------------------------------------------------------------------------------

def test_sync_action_result_and_defaults(api, cleanup, uniq):
    ex = run_wf(api, cleanup, uniq,
                "    t1:\n      action: sample.add x=1\n      publish:\n        a: <% task().result %>\n"
                "      on-success: t2\n"
                "    t2:\n      action: sample.add x=<% $.a %> y=10\n"
                "      publish:\n        b: <% task().result %>\n")
    assert ex["state"] == "SUCCESS", ex["state_info"]
    assert output(ex) == {"a": 3, "b": 13}


def test_context_execution_and_security_parts(api, cleanup, uniq):
    ex = run_wf(api, cleanup, uniq, "    t1:\n      action: sample.context\n")
    assert ex["state"] == "SUCCESS", ex["state_info"]
    [task] = tasks_of(api, ex["id"])
    [action] = actions_of(api, task["id"])
    got = output(action)["result"]
    assert got["is_action_context"] is True
    assert got["execution"] == {
        "workflow_execution_id": ex["id"],
        "task_execution_id": task["id"],
        "action_execution_id": action["id"],
        "workflow_name": uniq + "wf",
        "callback_url": "/v2/action_executions/%s" % action["id"],
        "with_items_index": 0,
        "task_rerun_no": 0,
        "task_rerun_id": None,
        "workflow_propagated_headers": None,
    }
    # Authentication off: no identity, boolean flags false.
    assert got["security"] == {"project_id": None, "auth_token": None, "user_name": None,
                               "project_name": None, "is_target": False, "insecure": False,
                               "redelivered": False, "region_name": None}
    # mistral-extra reads the auth context from this thread-local.
    assert got["thread_local_auth"] is True


def test_result_object_with_error_fails_the_task(api, cleanup, uniq):
    ex = run_wf(api, cleanup, uniq, "    t1:\n      action: sample.result error=\"bad\" data=1\n")
    assert ex["state"] == "ERROR"
    [task] = tasks_of(api, ex["id"])
    assert task["state_info"] == "bad"
    [action] = actions_of(api, task["id"])
    assert action["state"] == "ERROR" and output(action) == {"result": "bad"}


def test_result_object_with_data_and_cancel(api, cleanup, uniq):
    ex = run_wf(api, cleanup, uniq,
                "    t1:\n      action: sample.result data=<% [1, 2] %>\n"
                "      publish:\n        r: <% task().result %>\n")
    assert ex["state"] == "SUCCESS" and output(ex) == {"r": [1, 2]}
    ex = run_wf(api, cleanup, uniq + "c", "    t1:\n      action: sample.result data=5 cancel=true\n")
    assert ex["state"] == "CANCELLED"
    [task] = tasks_of(api, ex["id"])
    [action] = actions_of(api, task["id"])
    assert action["state"] == "CANCELLED" and output(action) == {"result": None}


def test_exception_text(api, cleanup, uniq):
    ex = run_wf(api, cleanup, uniq, "    t1:\n      action: sample.fail message=\"boom\"\n")
    assert ex["state"] == "ERROR"
    [task] = tasks_of(api, ex["id"])
    [action] = actions_of(api, task["id"])
    expected = ("The action raised an exception [action=FailAction, action_ex_id=%s, msg='boom']"
                % action["id"])
    assert task["state_info"] == expected
    assert output(action) == {"result": expected}


def test_non_json_values_are_converted_as_upstream(api, cleanup, uniq):
    ex = run_wf(api, cleanup, uniq,
                "    t1:\n      action: sample.types\n      publish:\n        r: <% task().result %>\n")
    assert ex["state"] == "SUCCESS", ex["state_info"]
    got = output(ex)["r"]
    # The executor-to-engine serializer (oslo to_primitive) leaves generators as their str().
    assert got.pop("generator").startswith(
        "<generator object TypesAction.run.<locals>.<genexpr> at 0x")
    assert got == {
        "datetime": "2020-01-02T03:04:05.000006",
        "tuple": [1, 2],
        "uuid": "12345678-1234-5678-1234-567812345678",
        "decimal": "1.5",
        "object": {"a": 1, "_hidden": "h"},
    }


def test_kwargs_signature_skips_the_input_check(api, cleanup, uniq):
    ex = run_wf(api, cleanup, uniq,
                "    t1:\n      action: sample.kwargs first=1 other=2\n"
                "      publish:\n        k: <% task().result %>\n")
    assert ex["state"] == "SUCCESS", ex["state_info"]
    assert output(ex) == {"k": {"first": 1, "rest": {"other": 2}}}


def test_class_that_is_not_a_mistral_lib_action_gets_no_context(api, cleanup, uniq, server):
    if server.is_upstream:
        # Upstream 23.0.0 serialises such an instance to its __dict__ on the way to the
        # executor and then fails: "'dict' object has no attribute 'run'". mistral-rs runs it
        # with context=None, as upstream's executor code intends.
        pytest.skip("upstream cannot run non-mistral-lib classes")
    ex = run_wf(api, cleanup, uniq,
                "    t1:\n      action: sample.legacy value=7\n"
                "      publish:\n        l: <% task().result %>\n")
    assert ex["state"] == "SUCCESS", ex["state_info"]
    assert output(ex) == {"l": {"context_is_none": True, "value": 7}}


def test_async_action_completes_through_put(api, cleanup, uniq):
    name = uniq + "wf"
    text = ("version: '2.0'\n%s:\n  tasks:\n    t1:\n      action: sample.async\n"
            "      publish:\n        r: <%% task().result %%>\n" % name)
    assert_status(api.post_text("workflows", text), 201)
    cleanup(lambda: api.delete("workflows/%s" % name))
    ex = api.post_json("executions", {"workflow_name": name}).json()
    cleanup(lambda: api.delete("executions/%s?force=true" % ex["id"]))
    deadline = time.monotonic() + 30
    action = None
    while time.monotonic() < deadline and action is None:
        tasks = tasks_of(api, ex["id"])
        acts = actions_of(api, tasks[0]["id"]) if tasks else []
        action = acts[0] if acts else None
        time.sleep(0.2)
    assert action is not None
    time.sleep(1)
    assert api.get("action_executions/%s" % action["id"]).json()["state"] == "RUNNING"
    assert api.get("executions/%s" % ex["id"]).json()["state"] == "RUNNING"
    r = api.put_json("action_executions/%s" % action["id"],
                     {"state": "SUCCESS", "output": {"done": True}})
    assert_status(r, 200)
    done = wait_state(api, ex["id"])
    assert done["state"] == "SUCCESS"
    assert output(done) == {"r": {"done": True}}


def test_async_action_that_fails_at_once(api, cleanup, uniq):
    ex = run_wf(api, cleanup, uniq, "    t1:\n      action: sample.async fail=true\n")
    assert ex["state"] == "ERROR"
    [task] = tasks_of(api, ex["id"])
    assert task["state_info"] == "could not start"


def test_task_timeout_bounds_a_slow_action(api, cleanup, uniq):
    started = time.monotonic()
    ex = run_wf(api, cleanup, uniq, "    t1:\n      action: sample.slow seconds=4\n      timeout: 1\n")
    assert ex["state"] == "ERROR"
    assert time.monotonic() - started < 4
    [task] = tasks_of(api, ex["id"])
    assert task["state_info"] == "Task timed out [timeout(s)=1]."


def test_slow_actions_run_in_parallel(api, cleanup, uniq):
    with_items = "    t1:\n      with-items: i in <% [1, 2, 3, 4] %>\n      action: sample.slow seconds={}\n"
    run_wf(api, cleanup, uniq + "warm", with_items.format(0))
    started = time.monotonic()
    ex = run_wf(api, cleanup, uniq, with_items.format(2))
    assert ex["state"] == "SUCCESS", ex["state_info"]
    # Four 2 s actions, one after the other, would take 8 s.
    assert time.monotonic() - started < 6.5


def test_sys_exit_is_a_successful_none_as_upstream(api, cleanup, uniq):
    # Upstream runs run() in a thread, where SystemExit just ends the thread.
    ex = run_wf(api, cleanup, uniq,
                "    t1:\n      action: sample.exit\n      on-complete: t2\n"
                "    t2:\n      action: sample.add x=1\n")
    assert ex["state"] == "SUCCESS", ex["state_info"]
    [t1] = [t for t in tasks_of(api, ex["id"]) if t["name"] == "t1"]
    assert t1["state"] == "SUCCESS"


def test_constructor_failure(api, cleanup, uniq):
    ex = run_wf(api, cleanup, uniq, "    t1:\n      action: sample.bad_init\n")
    assert ex["state"] == "ERROR"
    [task] = tasks_of(api, ex["id"])
    # The input is never echoed (it may hold secrets).
    assert task["state_info"] == (
        "Failed to instantiate an action [action_desc=Python action [name=sample.bad_init, "
        "cls=<class '%s.BadInitAction'>]]" % MOD)


def test_invalid_input_fails_the_task(api, cleanup, uniq):
    ex = run_wf(api, cleanup, uniq, "    t1:\n      action: sample.add z=1\n")
    assert ex["state"] == "ERROR"
    assert ex["state_info"].startswith(
        "Failed to run task [error=Invalid input [name=sample.add, class=%s.AddAction, "
        "missing=['x'], unexpected=['z']], wf=%swf, task=t1]" % (MOD, uniq))


def test_run_action_through_the_api(api):
    r = api.post_json("action_executions", {"name": "sample.add", "input": {"x": 5}})
    assert_status(r, 201)
    assert r.json()["state"] == "SUCCESS"
    assert r.json()["output"] == '{"result": 7}'
    r = api.post_json("action_executions", {"name": "sample.context", "input": {}})
    got = __import__("json").loads(r.json()["output"])["result"]
    # Not saved: no action execution to call back.
    assert got["execution"]["action_execution_id"] is None
    assert got["execution"]["callback_url"] is None


# --- mistral-rs only: isolation --------------------------------------------------------------

def test_crashing_action_does_not_take_the_server_down(api, cleanup, uniq, server):
    if server.is_upstream:
        pytest.skip("os.abort() in upstream's executor kills upstream")
    ex = run_wf(api, cleanup, uniq,
                "    t1:\n      action: sample.crash\n      on-complete: t2\n"
                "    t2:\n      action: sample.add x=40\n      publish:\n        r: <% task().result %>\n")
    assert ex["state"] == "ERROR"
    assert output(ex)["r"] == 42
    [t1] = [t for t in tasks_of(api, ex["id"]) if t["name"] == "t1"]
    assert "action=sample.crash" in t1["state_info"]
    assert "died (killed by signal %d)" % signal.SIGABRT in t1["state_info"]


def test_result_json_cannot_carry_is_an_error_naming_the_action(api, cleanup, uniq, server):
    if server.is_upstream:
        pytest.skip("upstream stores NaN and serves invalid JSON")
    ex = run_wf(api, cleanup, uniq, "    t1:\n      action: sample.not_json\n")
    assert ex["state"] == "ERROR"
    [task] = tasks_of(api, ex["id"])
    assert task["state_info"].startswith(
        "Failed to complete action due to a Mistral exception [action=NotJsonAction, ")
    assert "not JSON compliant" in task["state_info"]


def _own_server(tmp_path_factory, name, extra_env):
    """A mistral-rs server of this module's own (SQLite), with extra settings."""
    if os.environ.get("MISTRAL_URL"):
        pytest.skip("mistral-rs only")
    import conftest
    work = tmp_path_factory.mktemp("mistral-rs-" + name)
    port = conftest._free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISTRAL_")}
    env.update({"NO_COLOR": "1", "MISTRAL_PYTHON_VENV": sys.prefix,
                "MISTRAL_DATABASE_CONNECTION": "sqlite:///%s" % (work / "m.sqlite")})
    env.update(extra_env)
    log_path = str(work / "server.log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen([conftest.BIN, "serve", "--host", "127.0.0.1", "--port",
                                 str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = "http://127.0.0.1:%d" % port
    try:
        conftest._wait_ready(url, proc, log_path)
        yield conftest.Api(conftest.Server(url, "sqlite", False, log_path))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def thread_server(tmp_path_factory):
    """mistral-rs with `[python] isolation = thread` (in-process through pyo3)."""
    yield from _own_server(tmp_path_factory, "thread", {"MISTRAL_PYTHON_ISOLATION": "thread"})


@pytest.fixture(scope="module")
def one_worker_server(tmp_path_factory):
    """One worker process, replaced when it holds more than 150 MiB."""
    yield from _own_server(tmp_path_factory, "one-worker", {
        "MISTRAL_PYTHON_WORKERS": "1", "MISTRAL_PYTHON_WORKER_MAX_MEMORY_MB": "150"})


def _run_action(api, name, inp):
    r = api.post_json("action_executions", {"name": name, "input": inp})
    assert_status(r, 201)
    assert r.json()["state"] == "SUCCESS", r.json()["output"]
    return __import__("json").loads(r.json()["output"])["result"]


def test_leaking_worker_is_replaced(one_worker_server):
    api = one_worker_server
    first = _run_action(api, "sample.leak", {})
    assert _run_action(api, "sample.leak", {}) == first  # the worker is reused
    assert _run_action(api, "sample.leak", {"mb": 200}) == first
    # It now holds more than the limit: the next action runs in a fresh worker.
    assert _run_action(api, "sample.leak", {}) != first


def test_in_process_isolation_runs_the_same(thread_server, cleanup, uniq):
    api = thread_server
    ex = run_wf(api, cleanup, uniq,
                "    t1:\n      action: sample.add x=1\n      publish:\n        a: <% task().result %>\n"
                "    t2:\n      action: sample.types\n      publish:\n        t: <% task().result.tuple %>\n"
                "    t3:\n      with-items: i in <% [1, 2, 3, 4] %>\n"
                "      action: sample.slow seconds=1.5\n")
    assert ex["state"] == "SUCCESS", ex["state_info"]
    assert output(ex) == {"a": 3, "t": [1, 2]}
    ex = run_wf(api, cleanup, uniq + "f", "    t1:\n      action: sample.fail message=\"boom\"\n")
    [task] = tasks_of(api, ex["id"])
    assert task["state_info"].startswith("The action raised an exception [action=FailAction, ")
    # A hung action is bounded by the task timeout; the server keeps serving.
    ex = run_wf(api, cleanup, uniq + "s", "    t1:\n      action: sample.slow seconds=3\n"
                "      timeout: 1\n")
    assert ex["state"] == "ERROR"
    assert requests.get(api.server.url + "/", timeout=5).status_code == 200


def test_mistral_extra_actions_when_installed(api, server):
    """mistral-extra's generated OpenStack actions (only where the test virtualenv has it)."""
    pytest.importorskip("mistral_extra")
    r = api.get("actions/nova.servers_list")
    if r.status_code == 404 and server.is_upstream:
        pytest.skip("mistral-extra is not installed next to the upstream server")
    assert_status(r, 200)
    assert r.json()["input"] == ('detailed=true, search_opts=null, marker=null, limit=null, '
                                 'sort_keys=null, action_region="", sort_dirs=null')
    # With authentication off, mistral.* actions call back into this server's API
    # ([api] host/port), through the oslo.config options and thread-local auth context.
    r = api.post_json("action_executions", {"name": "mistral.environments_list", "input": {}})
    assert_status(r, 201)
    assert r.json()["state"] == "SUCCESS", r.json()["output"]
    assert isinstance(__import__("json").loads(r.json()["output"])["result"], list)
