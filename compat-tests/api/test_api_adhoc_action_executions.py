"""POST /v2/action_executions with ad-hoc actions: input check with defaults, base-input
evaluation, chains, output transforms, run_sync/save_result, namespaces (recorded from
upstream 23.0.0)."""

import json
import time

import pytest

from ctlib import assert_client_error, assert_error, assert_status, faultstring


def defs(p):
    return """---
version: '2.0'
%(p)secho:
  input:
    - x
    - y: 5
  base: std.echo
  base-input:
    output: <%% [$.x, $.y] %%>
  output: <%% $[0] %%>
%(p)schain:
  input:
    - z
  base: %(p)secho
  base-input:
    x: <%% $.z * 2 %%>
  output:
    top: <%% $ %%>
%(p)sfail:
  base: std.fail
%(p)sbad:
  input: [q]
  base: std.echo
  base-input:
    output: <%% $.q.nope() %%>
%(p)sjinja:
  input: [w]
  base: std.echo
  base-input:
    output: "{{ _.w }}-j"
%(p)sasync:
  base: std.async_noop
""" % {"p": p}


@pytest.fixture
def acts(api, cleanup, uniq):
    def create(text, namespace=""):
        r = api.post_text("actions?namespace=%s" % namespace, text)
        assert_status(r, 201)
        for a in r.json()["actions"]:
            cleanup(lambda a=a: api.delete("actions/%s?namespace=%s" % (a["name"], namespace)))
    create(defs(uniq))
    return create


def run(api, name, **body):
    body["name"] = name
    return api.post_json("action_executions", body)


def result(resp):
    return json.loads(resp.json()["output"])["result"]


def saved(api, cleanup, resp):
    ex = resp.json()
    cleanup(lambda: api.delete("action_executions/%s" % ex["id"]))
    return ex


def wait_done(api, ex_id):
    for _ in range(100):
        ex = api.get("action_executions/%s" % ex_id).json()
        if ex["state"] != "RUNNING":
            return ex
        time.sleep(0.1)
    raise AssertionError("action execution %s still RUNNING" % ex_id)


def test_sync_run_records_input_with_defaults_and_raw_result(api, acts, uniq):
    r = run(api, uniq + "echo", input={"x": 1})
    assert_status(r, 201)
    ex = r.json()
    assert ex["name"] == uniq + "echo"
    assert ex["state"] == "SUCCESS"
    assert ex["state_info"] is None
    assert ex["id"] is None and ex["accepted"] is None
    assert json.loads(ex["input"]) == {"x": 1, "y": 5}
    # A synchronous run returns the base action's result: no `output` transform.
    assert result(r) == [1, 5]
    r = run(api, uniq + "echo", input={"x": 1, "y": 2}, params={"run_sync": True})
    assert result(r) == [1, 2]


def test_chain_of_ad_hoc_actions(api, acts, uniq):
    r = run(api, uniq + "chain", input={"z": 3}, description="d1")
    assert_status(r, 201)
    assert r.json()["input"] == '{"z": 3}'
    assert r.json()["description"] == "d1"
    assert result(r) == [6, 5]


def test_jinja_base_input(api, acts, uniq):
    assert result(run(api, uniq + "jinja", input={"w": "hi"})) == "hi-j"


@pytest.mark.parametrize("inp, tail", [
    ({}, "missing=['x']]"),
    (None, "missing=['x']]"),
    ({"x": 1, "bad": 2}, "unexpected=['bad']]"),
])
def test_invalid_input(api, acts, uniq, server, inp, tail):
    body = {} if inp is None else {"input": inp}
    r = run(api, uniq + "echo", **body)
    # Upstream answers 500 with an "ActionException: " prefix (a defect we do not copy).
    assert_client_error(r, server, 500)
    assert faultstring(r).endswith(
        "Invalid input [name=%secho, class=mistral.actions.adhoc.AdHocAction, %s"
        % (uniq, tail))


def test_bad_base_input_expression(api, acts, uniq):
    r = run(api, uniq + "bad", input={"q": 1})
    assert_error(r, 400, "Can not evaluate YAQL expression [expression=$.q.nope(), "
                 "error=Unknown method \"nope\" for receiver 1]", family="wsme")


def test_failing_base_action(api, acts, uniq):
    r = run(api, uniq + "fail")
    assert_status(r, 201)
    assert r.json()["state"] == "ERROR"
    msg = result(r)
    assert msg.startswith(
        "The action raised an exception [action=<mistral.actions.adhoc.AdHocAction object at 0x")
    assert msg.endswith(">, action_ex_id=None, msg='Fail action expected exception.']")


def test_saved_async_run_applies_output_transform(api, acts, uniq, cleanup):
    r = run(api, uniq + "echo", input={"x": 1}, params={"save_result": True})
    assert_status(r, 201)
    ex = saved(api, cleanup, r)
    assert ex["state"] == "RUNNING" and ex["output"] is None and ex["accepted"] is False
    assert json.loads(ex["input"]) == {"x": 1, "y": 5}
    done = wait_done(api, ex["id"])
    assert done["state"] == "SUCCESS"
    assert json.loads(done["output"]) == {"result": 1}
    # A chain gets every transform, innermost first.
    ex = saved(api, cleanup, run(api, uniq + "chain", input={"z": 3},
                                 params={"save_result": True}))
    assert json.loads(wait_done(api, ex["id"])["output"]) == {"result": {"top": 6}}


def test_saved_sync_run_returns_raw_result(api, acts, uniq, cleanup):
    r = run(api, uniq + "chain", input={"z": 3},
            params={"save_result": True, "run_sync": True})
    assert_status(r, 201)
    ex = saved(api, cleanup, r)
    assert ex["state"] == "SUCCESS"
    assert json.loads(ex["output"]) == {"result": [6, 5]}


def test_saved_failing_run(api, acts, uniq, cleanup):
    ex = saved(api, cleanup, run(api, uniq + "fail", params={"save_result": True}))
    done = wait_done(api, ex["id"])
    assert done["state"] == "ERROR"
    msg = json.loads(done["output"])["result"]
    assert msg.startswith(
        "The action raised an exception [action=<mistral.actions.adhoc.AdHocAction object at 0x")
    assert msg.endswith(", action_ex_id=%s, msg='Fail action expected exception.']" % ex["id"])


def test_async_base_action(api, acts, uniq, cleanup):
    r = run(api, uniq + "async")
    assert_status(r, 201)
    ex = saved(api, cleanup, r)
    assert ex["state"] == "RUNNING" and ex["id"]
    api.put_json("action_executions/%s" % ex["id"], {"state": "SUCCESS", "output": "1"})
    r = run(api, uniq + "async", params={"run_sync": True})
    assert_error(r, 400, "Action does not support synchronous execution.", family="wsme")


def test_namespace(api, acts, uniq):
    acts("""---
version: '2.0'
%sns:
  base: std.echo
  base-input:
    output: nsval
""" % uniq, namespace=uniq + "nsx")
    r = run(api, uniq + "ns")
    assert_error(r, 400, "Failed to find action [action_name=%sns]" % uniq, family="wsme")
    r = run(api, uniq + "ns", workflow_namespace=uniq + "nsx")
    assert_status(r, 201)
    assert r.json()["workflow_namespace"] == uniq + "nsx"
    assert result(r) == "nsval"
    # An action of the default namespace is found from any namespace.
    r = run(api, uniq + "echo", input={"x": 1}, workflow_namespace=uniq + "nsx")
    assert result(r) == [1, 5]
