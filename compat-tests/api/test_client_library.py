"""python-mistralclient (the library the CLI and Horizon sit on) against the server."""

import json
import time

import pytest
from mistralclient.api import base as client_base

from ctlib import wf_text


def wb_text(name):
    return ("---\nversion: '2.0'\nname: %s\ntags: [w]\nactions:\n  act:\n    base: std.echo "
            "output=1\nworkflows:\n  wf:\n    tasks:\n      t1:\n        action: act\n" % name)


def test_workbook_lifecycle(client, uniq, cleanup):
    name = uniq + "wb"
    wb = client.workbooks.create(wb_text(name))
    cleanup(lambda: client.workflows.delete(name + ".wf"))
    cleanup(lambda: client.actions.delete(name + ".act"))
    cleanup(lambda: client.workbooks.delete(name))
    assert wb.name == name and wb.tags == ["w"] and wb.scope == "private"
    assert client.workbooks.get(name).definition == wb_text(name)
    assert name in [w.name for w in client.workbooks.list()]
    updated = client.workbooks.update(wb_text(name).replace("[w]", "[w2]"))
    assert updated.tags == ["w2"] and updated.updated_at
    assert client.workbooks.validate(wb_text(name)) == {"valid": True}
    assert client.workbooks.validate("version: '2.0'\n")["valid"] is False
    assert client.workflows.get(name + ".wf").name == name + ".wf"
    client.workbooks.delete(name)
    with pytest.raises(client_base.APIException) as e:
        client.workbooks.get(name)
    assert e.value.error_code == 404
    assert e.value.error_message == "Workbook not found [name=%s, namespace=]" % name


def test_workflow_lifecycle_with_namespace(client, uniq, cleanup):
    ns = uniq + "ns"
    wfs = client.workflows.create(wf_text(uniq + "a", uniq + "b"), namespace=ns)
    for wf in wfs:
        cleanup(lambda wf=wf: client.workflows.delete(wf.id))
    assert [w.name for w in wfs] == [uniq + "a", uniq + "b"]
    assert all(w.namespace == ns for w in wfs)
    got = client.workflows.get(uniq + "a", namespace=ns)
    assert got.id == wfs[0].id
    assert json.loads(got.interface) == {"input": [], "output": []}
    listed = client.workflows.list(namespace=ns, fields=["name", "namespace"])
    assert sorted(w.name for w in listed) == [uniq + "a", uniq + "b"]
    page = client.workflows.list(namespace=ns, limit=1, sort_keys="name", sort_dirs="desc")
    assert [w.name for w in page] == [uniq + "b"]
    upd = client.workflows.update(wf_text(uniq + "a"), namespace=ns, id=wfs[0].id)
    assert upd.id == wfs[0].id
    upd_list = client.workflows.update(wf_text(uniq + "a", uniq + "b"), namespace=ns)
    assert [w.name for w in upd_list] == [uniq + "a", uniq + "b"]
    with pytest.raises(client_base.APIException) as e:
        client.workflows.create(wf_text(uniq + "a"), namespace=ns)
    assert e.value.error_code == 409
    with pytest.raises(client_base.APIException) as e:
        client.workflows.get(uniq + "a")
    assert e.value.error_code == 404


def test_workflow_validate_errors(client):
    bad = client.workflows.validate(
        "version: '2.0'\nwfy:\n  tasks:\n    t1:\n      action: std.noop\n"
        "      on-success: [nope]\n")
    assert bad == {"valid": False, "error": "Task 'nope' not found."}
    with pytest.raises(client_base.APIException) as e:
        client.workflows.create("version: '2.0'\nwfy: [\n")
    assert e.value.error_code == 400
    assert e.value.error_message.startswith("Definition could not be parsed: ")


def test_action_lifecycle(client, uniq, cleanup):
    text = "version: '2.0'\n%sact:\n  base: std.echo output=1\n  input: [x]\n" % uniq
    (act,) = client.actions.create(text)
    cleanup(lambda: client.actions.delete(uniq + "act"))
    assert act.name == uniq + "act" and act.input == "x"
    assert client.actions.get(uniq + "act").id == act.id
    assert client.actions.get("std.echo").input == "output, delay=0"
    (upd,) = client.actions.update(text.replace("output=1", "output=2"), id=uniq + "act")
    assert upd.id == act.id and "output=2" in upd.definition
    names = [a.name for a in client.actions.list(limit=1000)]
    assert uniq + "act" in names and "std.noop" in names
    assert client.actions.validate(text) == {"valid": True}
    client.actions.delete(uniq + "act")
    with pytest.raises(client_base.APIException) as e:
        client.actions.get(uniq + "act")
    assert e.value.error_code == 404


def test_environment_lifecycle(client, uniq, cleanup):
    name = uniq + "env"
    env = client.environments.create(name=name, variables={"a": 1}, description="d")
    cleanup(lambda: client.environments.delete(name))
    assert env.name == name and env.variables == {"a": 1}
    assert client.environments.get(name).variables == {"a": 1}
    env = client.environments.update(name=name, variables={"b": [1, 2]})
    assert env.variables == {"b": [1, 2]} and env.description == "d"
    assert name in [e.name for e in client.environments.list()]
    with pytest.raises(client_base.APIException) as e:
        client.environments.create(name=name, variables={})
    assert e.value.error_code == 409
    client.environments.delete(name)
    with pytest.raises(client_base.APIException) as e:
        client.environments.get(name)
    assert e.value.error_code == 404


def test_execution_through_the_client(client, uniq, cleanup):
    client.workflows.create(wf_text(uniq + "wf"))
    cleanup(lambda: client.workflows.delete(uniq + "wf"))
    ex = client.executions.create(uniq + "wf", workflow_input={}, description="via client")
    cleanup(lambda: client.executions.delete(ex.id, force=True))
    assert ex.state == "RUNNING" and ex.description == "via client"
    deadline = time.monotonic() + 60
    while ex.state == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.3)
        ex = client.executions.get(ex.id)
    assert ex.state == "SUCCESS"
    tasks = client.tasks.list(ex.id)
    assert [(t.name, t.state) for t in tasks] == [("t1", "SUCCESS")]
