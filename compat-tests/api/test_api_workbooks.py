"""Workbooks API: CRUD, registration of <wb>.<wf> / <wb>.<action>, errors, validate."""

import json

import pytest

from ctlib import (TEXT_FAMILY_CT, TS_RE, UUID_RE, assert_client_error, assert_error,
                   assert_status, ct)


def wb_text(name, tag="w1", action_tag="a1"):
    return """---
version: '2.0'
name: %s
tags: [%s]
actions:
  act1:
    base: std.echo
    base-input:
      output: <%% $.x %%>
    input:
      - x
    tags: [%s]
workflows:
  wf1:
    tags: [f1]
    input:
      - y: 1
    tasks:
      t1:
        action: act1 x=1
  wf2:
    type: reverse
    tasks:
      t1:
        action: std.noop
""" % (name, tag, action_tag)


@pytest.fixture
def wb(api, cleanup, uniq):
    """Create a workbook named <uniq>wb; its workflows/actions are removed afterwards too."""

    def create(namespace=""):
        name = uniq + "wb"
        r = api.post_text("workbooks?namespace=%s" % namespace, wb_text(name))
        assert_status(r, 201)
        ns = "?namespace=%s" % namespace
        cleanup(lambda: api.delete("workflows/%s.wf2%s" % (name, ns)))
        cleanup(lambda: api.delete("workflows/%s.wf1%s" % (name, ns)))
        cleanup(lambda: api.delete("actions/%s.act1%s" % (name, ns)))
        cleanup(lambda: api.delete("workbooks/%s%s" % (name, ns)))
        return r

    return create


def test_create_workbook_response(wb, uniq):
    r = wb()
    assert ct(r) == TEXT_FAMILY_CT
    body = r.json()
    assert list(body) == ["id", "name", "namespace", "definition", "tags", "scope",
                          "project_id", "created_at"]
    assert UUID_RE.match(body["id"])
    assert body["name"] == uniq + "wb"
    assert body["namespace"] == ""
    assert body["definition"] == wb_text(uniq + "wb")
    assert body["tags"] == ["w1"]
    assert body["scope"] == "private"
    assert TS_RE.match(body["created_at"])


def test_get_workbook_has_updated_at_null(api, wb, uniq):
    wb()
    r = api.get("workbooks/%swb" % uniq)
    assert_status(r, 200)
    assert ct(r) == "application/json"
    body = r.json()
    assert list(body) == ["id", "name", "namespace", "definition", "tags", "scope",
                          "project_id", "created_at", "updated_at"]
    assert body["updated_at"] is None
    assert api.get("workbooks/%swb?fields=name" % uniq).json() == {"id": body["id"],
                                                                   "name": uniq + "wb"}


def test_workbook_registers_prefixed_workflows_and_actions(api, wb, uniq):
    wb()
    wf1 = api.get("workflows/%swb.wf1" % uniq)
    assert_status(wf1, 200)
    wf1 = wf1.json()
    assert wf1["definition"] == ("wf1:\n  tags: [f1]\n  input:\n    - y: 1\n  tasks:\n"
                                 "    t1:\n      action: act1 x=1\n")
    assert wf1["tags"] == ["f1"]
    assert wf1["input"] == 'y="1"'
    assert json.loads(wf1["interface"]) == {"input": [{"y": 1}], "output": []}
    assert wf1["checksum"] is None
    assert wf1["scope"] == "private" and wf1["namespace"] == ""
    assert_status(api.get("workflows/%swb.wf2" % uniq), 200)
    act = api.get("actions/%swb.act1" % uniq)
    assert_status(act, 200)
    act = act.json()
    assert act["input"] == "x"
    assert act["tags"] == ["a1"]
    assert act["description"] is None
    assert act["definition"] == ("act1:\n  base: std.echo\n  base-input:\n    output: <% $.x %>\n"
                                 "  input:\n    - x\n  tags: [a1]\n")
    names = [w["name"] for w in api.get("workflows?name=has:%swb.&fields=name" % uniq)
             .json()["workflows"]]
    assert sorted(names) == [uniq + "wb.wf1", uniq + "wb.wf2"]


def test_deleting_workbook_keeps_its_workflows_and_actions(api, wb, uniq):
    wb()
    assert_status(api.delete("workbooks/%swb" % uniq), 204)
    assert_status(api.get("workbooks/%swb" % uniq), 404)
    assert_status(api.get("workflows/%swb.wf1" % uniq), 200)
    assert_status(api.get("actions/%swb.act1" % uniq), 200)
    assert_status(api.delete("workflows/%swb.wf1" % uniq), 204)
    assert_status(api.delete("actions/%swb.act1" % uniq), 204)


def test_update_workbook_updates_sections(api, wb, uniq):
    created = wb().json()
    r = api.put_text("workbooks", wb_text(uniq + "wb", tag="w2", action_tag="a2"))
    assert_status(r, 200)
    assert ct(r) == TEXT_FAMILY_CT
    body = r.json()
    assert body["id"] == created["id"] and body["tags"] == ["w2"]
    assert TS_RE.match(body["updated_at"])
    assert api.get("actions/%swb.act1" % uniq).json()["tags"] == ["a2"]


def test_duplicate_workbook_is_409(api, wb, uniq):
    wb()
    r = api.post_text("workbooks", wb_text(uniq + "wb"))
    assert_error(r, 409, "Duplicate entry for WorkbookDefinition ['name', 'namespace', "
                 "'project_id']: %swb, , None" % uniq, family="text")


def test_workbook_namespace(api, wb, uniq):
    body = wb(namespace=uniq + "ns").json()
    assert body["namespace"] == uniq + "ns"
    assert_error(api.get("workbooks/%swb" % uniq), 404,
                 "Workbook not found [name=%swb, namespace=]" % uniq, family="wsme")
    assert_status(api.get("workbooks/%swb?namespace=%sns" % (uniq, uniq)), 200)
    wf = api.get("workflows/%swb.wf1?namespace=%sns" % (uniq, uniq))
    assert_status(wf, 200)
    assert wf.json()["namespace"] == uniq + "ns"
    assert_status(api.get("actions/%swb.act1?namespace=%sns" % (uniq, uniq)), 200)


def test_update_unknown_workbook_is_404(api, uniq):
    r = api.put_text("workbooks?namespace=other", wb_text(uniq + "none"))
    assert_error(r, 404, "Workbook not found [name=%snone, namespace=other]" % uniq,
                 family="text")


def test_get_and_delete_unknown_workbook_are_404(api, uniq):
    assert_error(api.get("workbooks/%snone" % uniq), 404,
                 "Workbook not found [name=%snone, namespace=]" % uniq, family="wsme")
    assert_error(api.delete("workbooks/%snone" % uniq), 404,
                 "Workbook not found [workbook_name=%snone, namespace=]" % uniq, family="wsme")


@pytest.mark.parametrize("text,prefix", [
    ("version: '2.0'\n", "Invalid DSL: 'name' is a required property"),
    ("- a\n- b\n", "Invalid DSL: ['a', 'b'] is not of type 'object'"),
    ("version: '2.0'\nname: x\nworkflows: 5\n", "Invalid DSL: 5 is not of type 'object'"),
    ("version: '2.0'\nname: [\n", "Definition could not be parsed: "),
])
def test_invalid_workbook_is_400(api, text, prefix):
    assert_error(api.post_text("workbooks", text), 400, startswith=prefix, family="text")


def test_validate_workbook(api, uniq):
    r = api.post_text("workbooks/validate", wb_text(uniq + "v"))
    assert_status(r, 200)
    assert ct(r) == TEXT_FAMILY_CT
    assert r.json() == {"valid": True}
    r = api.post_text("workbooks/validate", "version: '2.0'\nname: x\nworkflows: 5\n")
    assert r.status_code == 200 and r.json()["valid"] is False
    assert r.json()["error"].startswith("Invalid DSL: 5 is not of type 'object'")
    assert_status(api.get("workbooks/%sv" % uniq), 404)


def test_list_workbooks_with_filters_and_limit(api, wb, uniq):
    wb()
    body = api.get("workbooks?name=%swb" % uniq).json()
    assert [w["name"] for w in body["workbooks"]] == [uniq + "wb"]
    assert "next" not in body
    body = api.get("workbooks?name=%swb&limit=1" % uniq).json()
    assert body["next"] == ("%s/workbooks?sort_keys=created_at,id&sort_dirs=asc,asc&"
                            "name=eq:%swb&limit=1&marker=%s"
                            % (api.server.v2, uniq, body["workbooks"][0]["id"]))
    assert api.get("workbooks?tags=w1&name=%swb" % uniq).json()["workbooks"]
    assert not api.get("workbooks?tags=zz&name=%swb" % uniq).json()["workbooks"]


def test_workbook_marker_is_never_found(api, server):
    # upstream looks the marker up by name without a namespace and crashes (500); a 404 is
    # what the marker lookup should give
    r = api.get("workbooks?marker=11111111-2222-3333-4444-555555555555")
    assert_client_error(r, server, 500, ours=(404,))


def test_workbook_name_with_spaces_is_400(api):
    r = api.post_text("workbooks", "version: '2.0'\nname: wb x\nworkflows:\n  wf:\n    tasks:\n"
                      "      t1:\n        action: std.noop\n")
    assert_error(r, 400, "Name 'wb x' must not contain spaces", family="text")


def test_public_workbook_and_update_semantics(api, cleanup, uniq):
    name = uniq + "pwb"
    two = ("version: '2.0'\nname: %s\nworkflows:\n  wf1:\n    tasks:\n      t1:\n        action: "
           "std.noop\n  wf2:\n    tasks:\n      t1:\n        action: std.noop\nactions:\n  a1:\n"
           "    base: std.noop\n  a2:\n    base: std.noop\n" % name)
    r = api.request("POST", "workbooks?scope=public", data=two.encode(),
                    headers={"Content-Type": "text/plain", "X-Roles": "admin"})
    assert_status(r, 201)
    for path in ("workflows/%s.wf1", "workflows/%s.wf2", "actions/%s.a1", "actions/%s.a2",
                 "workbooks/%s"):
        cleanup(lambda path=path: api.delete(path % name))
    assert r.json()["scope"] == "public"
    # the sections inherit the workbook's scope
    assert api.get("workflows/%s.wf1?fields=scope" % name).json()["scope"] == "public"
    assert api.get("actions/%s.a1" % name).json()["scope"] == "public"
    # a plain PUT makes it private again; sections removed from the text are left alone
    one = ("version: '2.0'\nname: %s\nworkflows:\n  wf1:\n    tasks:\n      t1:\n        action: "
           "std.echo output=1\nactions:\n  a1:\n    base: std.noop\n" % name)
    r = api.put_text("workbooks", one)
    assert_status(r, 200)
    assert r.json()["scope"] == "private"
    wf1 = api.get("workflows/%s.wf1?fields=scope,definition" % name).json()
    assert wf1["scope"] == "private"
    assert wf1["definition"] == "wf1:\n  tasks:\n    t1:\n      action: std.echo output=1\n"
    assert_status(api.get("workflows/%s.wf2" % name), 200)
    a2 = api.get("actions/%s.a2" % name)
    assert_status(a2, 200)
    assert a2.json()["scope"] == "public"
