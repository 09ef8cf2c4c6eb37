"""Executions API basics that tempest leaves out: body errors, input checks, size limits."""

import json
import time

import pytest

from ctlib import TS_RE, UUID_RE, assert_client_error, assert_error, assert_status, ct


@pytest.fixture
def workflow(api, cleanup, uniq):
    text = ("version: '2.0'\n%swf:\n  input: [a]\n  output:\n    got: <%% $.a %%>\n  tasks:\n"
            "    t1:\n      action: std.noop\n" % uniq)
    r = api.post_text("workflows", text)
    assert_status(r, 201)
    cleanup(lambda: api.delete("workflows/%swf" % uniq))
    return r.json()["workflows"][0]


def wait_state(api, ex_id, states=("SUCCESS", "ERROR"), timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = api.get("executions/%s" % ex_id).json()
        if body["state"] in states:
            return body
        time.sleep(0.3)
    raise AssertionError("execution %s still %s" % (ex_id, body["state"]))


def test_execution_runs_to_success_with_string_fields(api, cleanup, workflow, uniq):
    r = api.post_json("executions", {"workflow_name": uniq + "wf", "input": '{"a": 1}',
                                     "description": "d"})
    assert_status(r, 201)
    assert ct(r) == "application/json"
    ex = r.json()
    cleanup(lambda: api.delete("executions/%s?force=true" % ex["id"]))
    assert list(ex) == ["id", "workflow_id", "workflow_name", "workflow_namespace",
                        "description", "tags", "params", "task_execution_id",
                        "root_execution_id", "state", "state_info", "input", "output",
                        "created_at", "updated_at", "project_id"]
    assert UUID_RE.match(ex["id"]) and ex["workflow_id"] == workflow["id"]
    assert ex["state"] == "RUNNING"
    assert json.loads(ex["params"]) == {"namespace": "", "env": {}}
    assert ex["input"] == '{"a": 1}'
    assert TS_RE.match(ex["created_at"])
    done = wait_state(api, ex["id"])
    assert done["state"] == "SUCCESS"
    assert json.loads(done["output"]) == {"got": 1}


def test_execution_input_may_be_an_object(api, cleanup, workflow, uniq):
    r = api.post_json("executions", {"workflow_id": workflow["id"], "input": {"a": [1, "x"]}})
    assert_status(r, 201)
    cleanup(lambda: api.delete("executions/%s?force=true" % r.json()["id"]))
    assert json.loads(r.json()["input"]) == {"a": [1, "x"]}


@pytest.mark.parametrize("body,message", [
    ({"workflow_name": "x", "bogus": 1}, "Unknown attribute for argument wf_ex: bogus"),
    ({"workflow_name": 5}, "Invalid input for field/attribute workflow_name. Value: '5'. Wrong "
     "type. Expected '<class 'str'>', got '<class 'int'>'"),
    ({"workflow_name": "x", "input": "[1]"}, "JsonType field value must be a dictionary "
     "[actual=[1]]"),
    ({"workflow_name": "x", "input": "nope"}, "Invalid input for field/attribute wf_ex. Value: "
     "'{'workflow_name': 'x', 'input': 'nope'}'. Expecting value: line 1 column 1 (char 0)"),
])
def test_bad_execution_bodies_are_400(api, body, message):
    assert_error(api.post_json("executions", body), 400, message, family="wsme")


def test_malformed_execution_json_is_400(api):
    assert_error(api.post_json("executions", '{"workflow_name"'), 400,
                 "Request is not in valid JSON format", family="wsme")


def test_missing_and_unexpected_input_are_400(api, workflow, uniq):
    assert_error(api.post_json("executions", {"workflow_name": uniq + "wf"}), 400,
                 "Invalid input [name=%swf, class=DirectWorkflowSpec, missing=['a']]" % uniq)
    assert_error(api.post_json("executions", {"workflow_name": uniq + "wf",
                                              "input": {"b": 1}}), 400,
                 "Invalid input [name=%swf, class=DirectWorkflowSpec, missing=['a'], "
                 "unexpected=['b']]" % uniq)


def test_oversize_execution_input_is_400(api, workflow, uniq):
    r = api.post_json("executions", {"workflow_name": uniq + "wf",
                                     "input": {"a": "x" * 1_100_000}})
    fs = assert_error(r, 400, startswith="Field size limit exceeded [class=")
    assert fs.endswith("limit=1024KB]"), fs


def test_unknown_workflow_is_not_found(api, server, uniq):
    r = api.post_json("executions", {"workflow_name": uniq + "nope"})
    # upstream with the in-process transport wraps the engine's 404 into a 500
    assert_client_error(r, server, 500, ours=(404,))
    assert ("Workflow not found [workflow_identifier=%snope, namespace=]" % uniq
            in r.json()["faultstring"])


@pytest.mark.parametrize("ex_id", ["1a2b3c", "nonexist", "11111111-2222-3333-4444-555555555555"])
def test_unknown_execution_ids_are_404(api, ex_id):
    assert_error(api.get("executions/%s" % ex_id), 404,
                 "WorkflowExecution not found [id=%s]" % ex_id, family="wsme")
    assert_status(api.delete("executions/%s" % ex_id), 404)
