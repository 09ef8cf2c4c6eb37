"""The `mistral` CLI (python-mistralclient) with --os-mistral-url and no Keystone."""

import json

from ctlib import wf_text


def test_cli_workflow_commands(cli, uniq, tmp_file, cleanup):
    path = tmp_file(wf_text(uniq + "a", uniq + "b", extra="input:\n  - x\n  - y: 2"))
    created = cli.json("workflow-create", path, "--namespace", uniq + "ns")
    cleanup(lambda: cli.run("workflow-delete", uniq + "a", uniq + "b", "--namespace",
                            uniq + "ns", fmt_json=False, check=False))
    assert sorted(w["Name"] for w in created) == [uniq + "a", uniq + "b"]
    assert all(w["Namespace"] == uniq + "ns" for w in created)
    assert created[0]["Input"] == 'x, y="2"'
    got = cli.json("workflow-get", uniq + "a", "--namespace", uniq + "ns")
    assert got["Name"] == uniq + "a" and got["Scope"] == "private"
    definition = cli.run("workflow-get-definition", uniq + "a", "--namespace", uniq + "ns",
                         fmt_json=False).stdout
    assert definition.startswith("version: '2.0'\n%sa:\n" % uniq)
    listed = cli.json("workflow-list", "--filter", "name=has:%s" % uniq)
    assert sorted(w["Name"] for w in listed) == [uniq + "a", uniq + "b"]
    valid = cli.json("workflow-validate", path)
    assert valid["Valid"] is True
    updated = cli.json("workflow-update", path, "--namespace", uniq + "ns")
    assert sorted(w["Name"] for w in updated) == [uniq + "a", uniq + "b"]
    missing = cli.run("workflow-get", uniq + "a", check=False, fmt_json=False)
    assert missing.returncode != 0
    assert "Workflow not found [workflow_identifier=%sa, namespace=]" % uniq in missing.stderr


def test_cli_workbook_and_action_commands(cli, uniq, tmp_file, cleanup):
    wb = ("---\nversion: '2.0'\nname: %swb\nactions:\n  act:\n    base: std.echo output=1\n"
          "workflows:\n  wf:\n    tasks:\n      t1:\n        action: act\n" % uniq)
    created = cli.json("workbook-create", tmp_file(wb))
    cleanup(lambda: cli.run("action-delete", uniq + "wb.act", fmt_json=False, check=False))
    cleanup(lambda: cli.run("workflow-delete", uniq + "wb.wf", fmt_json=False, check=False))
    cleanup(lambda: cli.run("workbook-delete", uniq + "wb", fmt_json=False, check=False))
    assert created["Name"] == uniq + "wb"
    assert cli.json("workbook-get", uniq + "wb")["Name"] == uniq + "wb"
    assert cli.json("workflow-get", uniq + "wb.wf")["Name"] == uniq + "wb.wf"
    act = cli.json("action-get", uniq + "wb.act")
    assert act["Name"] == uniq + "wb.act" and act["Is system"] is False
    echo = cli.json("action-get", "std.echo")
    assert echo["Input"] == "output, delay=0"
    bad = cli.json("workbook-validate", tmp_file("version: '2.0'\n"))
    assert bad["Valid"] is False and bad["Error"].startswith("Invalid DSL: ")
    dup = cli.run("workbook-create", tmp_file(wb), check=False, fmt_json=False)
    assert dup.returncode != 0 and "Duplicate entry for WorkbookDefinition" in dup.stderr
    cli.run("workbook-delete", uniq + "wb", fmt_json=False)
    assert cli.json("workflow-get", uniq + "wb.wf")["Name"] == uniq + "wb.wf"


def test_cli_environment_commands(cli, uniq, tmp_file, cleanup):
    path = tmp_file(json.dumps({"name": uniq + "env", "description": "d",
                                "variables": {"a": 1}}), suffix=".json")
    created = cli.json("environment-create", path)
    cleanup(lambda: cli.run("environment-delete", uniq + "env", fmt_json=False, check=False))
    assert created["Name"] == uniq + "env" and created["Description"] == "d"
    got = cli.json("environment-get", uniq + "env")
    assert json.loads(got["Variables"]) == {"a": 1}
    names = [e["Name"] for e in cli.json("environment-list")]
    assert uniq + "env" in names


def test_cli_execution_commands(cli, uniq, tmp_file, cleanup):
    cli.json("workflow-create", tmp_file(wf_text(uniq + "wf")))
    cleanup(lambda: cli.run("workflow-delete", uniq + "wf", fmt_json=False, check=False))
    ex = cli.json("execution-create", uniq + "wf", "{}")
    cleanup(lambda: cli.run("execution-delete", ex["ID"], "--force", fmt_json=False,
                            check=False))
    assert ex["Workflow name"] == uniq + "wf" and ex["State"] in ("RUNNING", "SUCCESS")
    import time
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ex = cli.json("execution-get", ex["ID"])
        if ex["State"] != "RUNNING":
            break
        time.sleep(0.5)
    assert ex["State"] == "SUCCESS"
    tasks = cli.json("task-list", ex["ID"])
    assert [(t["Name"], t["State"]) for t in tasks] == [("t1", "SUCCESS")]
    listed = cli.json("execution-list", "--limit", "5")
    assert isinstance(listed, list)
