"""Workflows API beyond tempest: formats, errors, namespaces, scope, filters, pagination."""

import hashlib
import json

import pytest

from ctlib import (TEXT_FAMILY_CT, TS_RE, UUID_RE, assert_client_error, assert_error,
                   assert_status, ct, parse_next, wf_text)


@pytest.fixture
def wfs(api, cleanup):
    """Create workflows from a document and delete them after the test."""

    def create(text, namespace="", scope=None, headers=None):
        q = "workflows?namespace=%s" % namespace
        if scope:
            q += "&scope=%s" % scope
        r = api.request("POST", q, data=text.encode(),
                        headers=dict({"Content-Type": "text/plain"}, **(headers or {})))
        assert_status(r, 201)
        for wf in r.json()["workflows"]:
            cleanup(lambda wf=wf: api.delete("workflows/%s" % wf["id"],
                                             headers={"X-Roles": "admin"}))
        return r.json()["workflows"]

    return create


def test_create_returns_all_fields_in_upstream_order(api, wfs, uniq):
    text = """---
version: '2.0'
%swf:
  input:
    - a
    - b: 2
    - c: null
    - d: true
    - e: {k: v}
    - f: "s"
  output:
    x: 1
    y: 2
  tags: [t1, t2]
  tasks:
    t1:
      action: std.noop
""" % uniq
    r = api.post_text("workflows", text)
    assert_status(r, 201)
    api_cleanup = r.json()["workflows"][0]["id"]
    try:
        assert ct(r) == TEXT_FAMILY_CT
        (wf,) = r.json()["workflows"]
        assert list(wf) == ["id", "name", "namespace", "input", "interface", "definition",
                            "checksum", "tags", "scope", "project_id", "created_at"]
        assert UUID_RE.match(wf["id"])
        assert wf["name"] == uniq + "wf"
        assert wf["namespace"] == ""
        assert wf["input"] == 'a, b="2", c="None", d="True", e="{\'k\': \'v\'}", f="s"'
        # interface is a real object in the POST response ...
        assert wf["interface"] == {"input": ["a", {"b": 2}, {"c": None}, {"d": True},
                                             {"e": {"k": "v"}}, {"f": "s"}],
                                   "output": ["x", "y"]}
        assert wf["definition"] == text
        assert wf["checksum"] == hashlib.md5(text.encode()).hexdigest()
        assert wf["tags"] == ["t1", "t2"]
        assert wf["scope"] == "private"
        assert TS_RE.match(wf["created_at"])
        # ... and a JSON string in GET responses, which also carry updated_at (null).
        g = api.get("workflows/%s" % wf["id"])
        assert_status(g, 200)
        got = g.json()
        assert json.loads(got["interface"]) == wf["interface"]
        assert got["updated_at"] is None
        assert list(got) == ["id", "name", "namespace", "input", "interface", "definition",
                             "checksum", "tags", "scope", "project_id", "created_at",
                             "updated_at"]
    finally:
        api.delete("workflows/%s" % api_cleanup)


def test_multi_workflow_document_gets_reserialized_definitions(wfs, uniq):
    text = wf_text(uniq + "a", uniq + "b")
    a, b = wfs(text)
    assert [a["name"], b["name"]] == [uniq + "a", uniq + "b"]
    assert a["definition"] == ("version: '2.0'\n%sa:\n  tasks:\n    t1:\n"
                               "      action: std.noop\n" % uniq)
    assert a["checksum"] == hashlib.md5(a["definition"].encode()).hexdigest()


def test_duplicate_workflow_is_409_and_nothing_of_the_document_is_created(api, wfs, uniq):
    wfs(wf_text(uniq + "dup"))
    r = api.post_text("workflows", wf_text(uniq + "new", uniq + "dup"))
    assert_error(r, 409, "Duplicate entry for WorkflowDefinition ['name', 'namespace', "
                 "'project_id']: %sdup, , None" % uniq, family="text")
    assert_status(api.get("workflows/%snew" % uniq), 404)


def test_invalid_yaml_is_400_definition_could_not_be_parsed(api):
    r = api.post_text("workflows", "version: '2.0'\nwfy: [\n")
    assert_error(r, 400, "Definition could not be parsed: while parsing a flow node\n"
                 "expected the node content, but found '<stream end>'\n"
                 "  in \"<unicode string>\", line 3, column 1:\n    \n    ^\n", family="text")


@pytest.mark.parametrize("text,prefix", [
    ("version: '2.0'\nwfy:\n  tasks:\n    t1:\n      actionx: std.noop\n",
     "Invalid DSL: Additional properties are not allowed ('actionx' was unexpected)"),
    ("- a\n- b\n", "Invalid DSL: ['a', 'b'] is not of type 'object'"),
    ("version: '2.0'\nwfy:\n  tasks:\n    t1:\n      action: std.noop\n      on-success: [nope]\n",
     "Task 'nope' not found."),
    ("version: '2.0'\nwf x:\n  tasks:\n    t1:\n      action: std.noop\n",
     "Name 'wf x' must not contain spaces"),
])
def test_invalid_dsl_is_400(api, text, prefix):
    assert_error(api.post_text("workflows", text), 400, startswith=prefix, family="text")


def test_v1_document_is_rejected(api):
    r = api.post_text("workflows", "version: '1.0'\nwf:\n  tasks: {}\n")
    assert_error(r, 400, startswith="Invalid DSL: ", family="text")


def test_invalid_scope_is_400(api, uniq):
    r = api.post_text("workflows?scope=bogus", wf_text(uniq + "s"))
    assert_error(r, 400, startswith="Scope must be one of the following: {", family="text")
    assert r.json()["faultstring"].endswith("}; actual: bogus")


def test_public_scope_needs_admin_role(api, wfs, uniq):
    r = api.post_text("workflows?scope=public", wf_text(uniq + "p"))
    assert_error(r, 403, "Operation forbidden (insufficient permissions)", family="text")
    (wf,) = wfs(wf_text(uniq + "p"), scope="public", headers={"X-Roles": "admin"})
    assert wf["scope"] == "public"
    # a plain PUT applies the default scope again
    r = api.put_text("workflows", wf_text(uniq + "p"))
    assert_status(r, 200)
    assert r.json()["workflows"][0]["scope"] == "private"


def test_update_by_name_and_by_id(api, wfs, uniq):
    (wf,) = wfs(wf_text(uniq + "u"))
    new = wf_text(uniq + "u", task_action="std.echo output=1")
    r = api.put_text("workflows", new)
    assert_status(r, 200)
    assert ct(r) == TEXT_FAMILY_CT
    (upd,) = r.json()["workflows"]
    assert upd["id"] == wf["id"] and upd["definition"] == new
    assert upd["created_at"] == wf["created_at"] and TS_RE.match(upd["updated_at"])
    r = api.put_text("workflows/%s" % wf["id"], wf_text(uniq + "u"))
    assert_status(r, 200)
    assert r.json()["id"] == wf["id"] and "workflows" not in r.json()


def test_update_by_id_with_two_workflows_is_400(api, wfs, uniq):
    (wf, _) = wfs(wf_text(uniq + "a", uniq + "b"))
    r = api.put_text("workflows/%s" % wf["id"], wf_text(uniq + "a", uniq + "b"))
    assert_error(r, 400, "More than one workflows are not supported for update with "
                 "identifier. [identifier: %s]" % wf["id"], family="text")


def test_update_unknown_workflow_is_404(api, uniq):
    r = api.put_text("workflows", wf_text(uniq + "none"))
    assert_error(r, 404, "Workflow not found [workflow_identifier=%snone, namespace=]" % uniq,
                 family="text")


def test_namespaces_are_exact_and_default_to_empty(api, wfs, uniq):
    (wf,) = wfs(wf_text(uniq + "n"), namespace=uniq + "ns")
    assert wf["namespace"] == uniq + "ns"
    assert_error(api.get("workflows/%sn" % uniq), 404,
                 "Workflow not found [workflow_identifier=%sn, namespace=]" % uniq)
    assert_status(api.get("workflows/%sn?namespace=%sns" % (uniq, uniq)), 200)
    assert_status(api.get("workflows/%s" % wf["id"]), 200)  # ids need no namespace
    # the same name may exist in another namespace
    (other,) = wfs(wf_text(uniq + "n"))
    assert other["id"] != wf["id"]
    # unlike actions, the workflow list is not limited to the default namespace
    r = api.get("workflows?name=%sn&fields=namespace" % uniq)
    assert sorted(w["namespace"] for w in r.json()["workflows"]) == ["", uniq + "ns"]
    r = api.get("workflows?name=%sn&namespace=&fields=namespace" % uniq)
    assert [w["namespace"] for w in r.json()["workflows"]] == [""]
    r = api.get("workflows?name=%sn&namespace=%sns&fields=namespace" % (uniq, uniq))
    assert [w["namespace"] for w in r.json()["workflows"]] == [uniq + "ns"]
    assert_error(api.delete("workflows/%sn?namespace=nope" % uniq), 404,
                 "Workflow not found [workflow_identifier=%sn, namespace=nope]" % uniq)
    assert_status(api.delete("workflows/%sn?namespace=%sns" % (uniq, uniq)), 204)


def test_get_with_fields_returns_id_plus_fields(api, wfs, uniq):
    (wf,) = wfs(wf_text(uniq + "f"))
    r = api.get("workflows/%s?fields=name,scope" % wf["id"])
    assert r.json() == {"id": wf["id"], "name": uniq + "f", "scope": "private"}
    r = api.get("workflows?name=%sf&fields=name" % uniq)
    assert r.json() == {"workflows": [{"id": wf["id"], "name": uniq + "f"}]}


def test_unknown_field_is_400(api):
    assert_error(api.get("workflows?fields=bogus"), 400,
                 "Some fields do not exist  [bogus], please choose from [id, name, namespace, "
                 "input, interface, definition, checksum, tags, scope, project_id, "
                 "created_at, updated_at]", family="wsme")


@pytest.mark.parametrize("query,message", [
    ("limit=0", "Limit must be positive."),
    ("limit=-1", "Limit must be positive."),
    ("limit=abc", "Invalid input for field/attribute limit. Value: 'abc'. unable to convert "
     "to int. Error: invalid literal for int() with base 10: 'abc'"),
    ("marker=abc", "Invalid input for field/attribute marker. Value: 'abc'. unable to convert "
     "to uuid. Error: Expected a uuid but received abc."),
    ("sort_dirs=up", "Unknown sort direction, must be 'desc' or 'asc'."),
    ("sort_keys=name&sort_dirs=asc,desc",
     "Length of sort_keys must be equal or greater than sort_dirs."),
    ("sort_keys=id,id&sort_dirs=asc,asc",
     "Length of sort_keys must be equal or greater than sort_dirs."),
    ("project_id=abc", "Invalid input for field/attribute project_id. Value: 'abc'. unable to "
     "convert to uuid. Error: Expected a uuid but received abc."),
])
def test_invalid_list_parameters_are_400(api, query, message):
    assert_error(api.get("workflows?" + query), 400, message, family="wsme")


def test_unknown_marker_is_404(api):
    m = "11111111-2222-3333-4444-555555555555"
    assert_error(api.get("workflows?marker=" + m), 404, "Workflow not found [workflow_id=%s]" % m)


def test_unknown_sort_key_is_rejected(api, server):
    r = api.get("workflows?sort_keys=bogus")
    assert_client_error(r, server, 500, ours=(400,))
    assert "Sort key supplied is invalid: bogus" in r.json()["faultstring"]


def test_all_projects_needs_admin(api):
    assert_error(api.get("workflows?all_projects=true"), 403,
                 "Operation forbidden (insufficient permissions)")
    assert_status(api.get("workflows?all_projects=true", headers={"X-Roles": "admin"}), 200)


def test_pagination_next_link_format_and_walk(api, wfs, uniq):
    names = [uniq + c for c in "abc"]
    wfs(wf_text(*names), namespace=uniq + "pg")
    flt = "name=has:%s&namespace=%spg" % (uniq, uniq)
    r = api.get("workflows?%s&limit=1&sort_keys=name&sort_dirs=desc" % flt)
    assert_status(r, 200)
    body = r.json()
    assert [w["name"] for w in body["workflows"]] == [uniq + "c"]
    assert body["next"] == (
        "%s/workflows?sort_keys=name,id&sort_dirs=desc,asc&name=has:%s&namespace=eq:%spg"
        "&limit=1&marker=%s" % (api.server.v2, uniq, uniq,
                                body["workflows"][0]["id"]))
    seen = [body["workflows"][0]["name"]]
    nxt = body["next"]
    for _ in range(5):
        # tempest follows `next` by taking the text after the last '/'
        r = api.get("workflows?" + nxt.split("/")[-1].split("?", 1)[1])
        assert_status(r, 200)
        page = r.json()
        seen += [w["name"] for w in page["workflows"]]
        if "next" not in page:
            break
        nxt = page["next"]
    assert seen == [uniq + "c", uniq + "b", uniq + "a"]


def test_next_link_carries_fields_last_with_id_first(api, wfs, uniq):
    wfs(wf_text(uniq + "a", uniq + "b"))
    r = api.get("workflows?name=in:%sa,%sb&limit=1&fields=name,tags" % (uniq, uniq))
    body = r.json()
    (item,) = body["workflows"]
    assert set(item) == {"id", "name", "tags"}
    assert item["name"] in (uniq + "a", uniq + "b")   # same created_at second: id decides
    path, params = parse_next(body["next"])
    assert path == api.server.v2 + "/workflows"
    assert list(params) == ["sort_keys", "sort_dirs", "name", "limit", "marker", "fields"]
    assert params["sort_keys"] == "created_at,id" and params["sort_dirs"] == "asc,asc"
    assert params["name"] == "in:['%sa', '%sb']" % (uniq, uniq)
    assert params["fields"] == "id,name,tags"


def test_no_next_key_when_page_is_not_full(api, wfs, uniq):
    wfs(wf_text(uniq + "a"))
    body = api.get("workflows?name=%sa&limit=2" % uniq).json()
    assert len(body["workflows"]) == 1 and "next" not in body


def test_filter_operators(api, wfs, uniq):
    names = [uniq + c for c in "abc"]
    wfs(wf_text(*names, extra="tags: [x, y]"))

    def names_for(q):
        r = api.get("workflows?%s&fields=name&sort_keys=name" % q)
        assert_status(r, 200)
        return [w["name"] for w in r.json()["workflows"] if w["name"].startswith(uniq)]

    assert names_for("name=%sb" % uniq) == [uniq + "b"]
    assert names_for("name=eq:%sb" % uniq) == [uniq + "b"]
    assert names_for("name=neq:%sb" % uniq) == [uniq + "a", uniq + "c"]
    assert names_for("name=in:%sa,%sc" % (uniq, uniq)) == [uniq + "a", uniq + "c"]
    assert names_for("name=nin:%sa,%sc" % (uniq, uniq)) == [uniq + "b"]
    assert names_for("name=gt:%sa" % uniq) == [uniq + "b", uniq + "c"]
    assert names_for("name=gte:%sb" % uniq) == [uniq + "b", uniq + "c"]
    assert names_for("name=lt:%sb" % uniq) == [uniq + "a"]
    assert names_for("name=lte:%sb" % uniq) == [uniq + "a", uniq + "b"]
    assert names_for("name=has:%s" % uniq) == names
    assert names_for("name=has:%s&tags=x,y" % uniq) == names
    assert names_for("name=has:%s&tags=x,z" % uniq) == []
    assert names_for("name=has:%s&created_at=gte:2000-01-01" % uniq) == names
    assert names_for("name=has:%s&created_at=lt:2000-01-01" % uniq) == []
    assert names_for("name=has:%s&scope=bogus" % uniq) == []
    # repeated parameter: the last one wins
    assert names_for("name=in:%sa,%sb&name=%sc" % (uniq, uniq, uniq)) == [uniq + "c"]


def test_delete_unknown_workflow_is_404(api, uniq):
    assert_error(api.delete("workflows/%sx" % uniq), 404,
                 "Workflow not found [workflow_identifier=%sx, namespace=]" % uniq,
                 family="wsme")


def test_large_definition_is_accepted(api, cleanup, uniq):
    text = ("version: '2.0'\n%sbig:\n  description: %s\n  tasks:\n    t1:\n"
            "      action: std.noop\n" % (uniq, "x" * 3_000_000))
    r = api.post_text("workflows", text)
    assert_status(r, 201)
    cleanup(lambda: api.delete("workflows/%sbig" % uniq))
    assert len(r.json()["workflows"][0]["definition"]) == len(text)


def test_validate_endpoint(api, uniq):
    ok = api.post_text("workflows/validate", wf_text(uniq + "v"))
    assert_status(ok, 200)
    assert ct(ok) == TEXT_FAMILY_CT
    assert ok.json() == {"valid": True}
    bad = api.post_text("workflows/validate", "version: '2.0'\nwfy:\n  tasks:\n    t1:\n"
                        "      action: std.noop\n      on-success: [nope]\n")
    assert bad.status_code == 200 and bad.json() == {"valid": False,
                                                     "error": "Task 'nope' not found."}
    unparsable = api.post_text("workflows/validate", "version: '2.0'\nwfy: [\n")
    assert unparsable.status_code == 200
    assert unparsable.json()["valid"] is False
    assert unparsable.json()["error"].startswith("Definition could not be parsed: ")
    # validation stores nothing
    assert_status(api.get("workflows/%sv" % uniq), 404)


def test_non_ascii_definition_round_trips_and_is_escaped_on_the_wire(api, cleanup, uniq):
    text = ("version: '2.0'\n%suni:\n  description: caf\u00e9 \u65e5\u672c\n  tasks:\n    t1:\n"
            "      action: std.noop\n" % uniq)
    r = api.post_text("workflows", text)
    assert_status(r, 201)
    cleanup(lambda: api.delete("workflows/%suni" % uniq))
    # Python's json.dumps escapes non-ASCII characters
    assert b"caf\\u00e9 \\u65e5\\u672c" in r.content
    wf = r.json()["workflows"][0]
    assert wf["definition"] == text
    assert wf["checksum"] == hashlib.md5(text.encode("utf-8")).hexdigest()
    g = api.get("workflows/%suni" % uniq)
    assert b"caf\\u00e9" in g.content and g.json()["definition"] == text


def test_definition_upload_ignores_content_type(api, cleanup, uniq):
    for headers in ({"Content-Type": "application/json"}, {}):
        r = api.request("POST", "workflows", data=wf_text(uniq + "ct").encode(), headers=headers)
        assert_status(r, 201)
        assert_status(api.delete("workflows/%sct" % uniq), 204)


def test_unknown_filter_operator_is_part_of_the_value(api):
    r = api.get("workflows?name=bogus:x")
    assert_status(r, 200)
    assert r.json() == {"workflows": []}


def test_sort_keys_and_dirs_are_normalised_in_the_next_link(api, wfs, uniq):
    wfs(wf_text(uniq + "a", uniq + "b"))
    base = "workflows?name=has:%s&limit=1&fields=name&" % uniq

    def page(q):
        r = api.get(base + q)
        assert_status(r, 200)
        body = r.json()
        return [w["name"] for w in body["workflows"]], parse_next(body["next"])[1]

    names, p = page("sort_keys=name,created_at&sort_dirs=desc")
    assert names == [uniq + "b"]
    # missing directions are padded with asc, id/asc is appended
    assert (p["sort_keys"], p["sort_dirs"]) == ("name,created_at,id", "desc,asc,asc")
    # keys are lower-cased, trimmed and de-duplicated; directions lower-cased
    names, p = page("sort_keys=NAME,%20name")
    assert names == [uniq + "a"]
    assert (p["sort_keys"], p["sort_dirs"]) == ("name,id", "asc,asc")
    names, p = page("sort_keys=name,id&sort_dirs=DESC")
    assert names == [uniq + "b"]
    assert (p["sort_keys"], p["sort_dirs"]) == ("name,id", "desc,asc")


def test_limit_above_the_maximum_is_accepted(api, wfs, uniq):
    wfs(wf_text(uniq + "a", uniq + "b"))
    body = api.get("workflows?name=has:%s&limit=5000&fields=name" % uniq).json()
    assert len(body["workflows"]) == 2 and "next" not in body


def test_update_by_name_identifier_may_rename_the_workflow(api, cleanup, uniq):
    r = api.post_text("workflows", wf_text(uniq + "old"))
    assert_status(r, 201)
    wf_id = r.json()["workflows"][0]["id"]
    cleanup(lambda: api.delete("workflows/%s" % wf_id))
    r = api.put_text("workflows/%sold" % uniq, wf_text(uniq + "new"))
    assert_status(r, 200)
    assert (r.json()["id"], r.json()["name"]) == (wf_id, uniq + "new")
    assert_status(api.get("workflows/%sold" % uniq), 404)
    assert api.get("workflows/%snew" % uniq).json()["id"] == wf_id


def test_list_field_input_brings_interface_along(api, wfs, uniq):
    (wf,) = wfs(wf_text(uniq + "fi", extra="input: [x]"))
    body = api.get("workflows?name=%sfi&fields=input" % uniq).json()
    assert body == {"workflows": [{"id": wf["id"], "input": "x",
                                   "interface": '{"input": ["x"], "output": []}'}]}
