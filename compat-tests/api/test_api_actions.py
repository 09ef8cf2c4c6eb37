"""Actions API: built-in and ad-hoc actions, namespaces, errors, the python-side list."""

import pytest

from ctlib import (TEXT_FAMILY_CT, TS_RE, UUID_RE, assert_client_error, assert_error,
                   assert_status, ct)

ACTION_KEYS = ["id", "name", "is_system", "input", "description", "tags", "definition",
               "scope", "project_id", "created_at", "updated_at", "namespace"]


def acts_text(p, description="first"):
    return """---
version: '2.0'
%sact1:
  base: std.echo
  base-input:
    output: "<%% $.a %%>"
  input:
    - a
    - b: 1
    - c: "s"
  description: %s
%sact2:
  base: std.noop
""" % (p, description, p)


@pytest.fixture
def adhoc(api, cleanup, uniq):
    def create(namespace="", text=None):
        r = api.post_text("actions?namespace=%s" % namespace, text or acts_text(uniq))
        assert_status(r, 201)
        for a in r.json()["actions"]:
            cleanup(lambda a=a: api.delete("actions/%s?namespace=%s" % (a["name"], namespace)))
        return r

    return create


def test_builtin_action_representation(api):
    r = api.get("actions/std.echo")
    assert_status(r, 200)
    assert ct(r) == "application/json"
    a = r.json()
    assert list(a) == ACTION_KEYS
    assert a["id"] == "std.echo" and a["name"] == "std.echo"
    assert a["is_system"] is False
    assert a["input"] == "output, delay=0"
    assert a["description"].startswith("Echo action.\n\nThis action just returns a configured "
                                       "value as a result without doing\nanything else.")
    assert (a["tags"], a["definition"], a["scope"], a["project_id"]) == (None, "", None, None)
    assert (a["created_at"], a["updated_at"], a["namespace"]) == ("", "", "")


def test_builtin_http_action_signature(api):
    a = api.get("actions/std.http").json()
    assert a["input"] == ('url, method="GET", params=null, body=null, json=null, headers=null, '
                          'cookies=null, auth=null, timeout=null, allow_redirects=null, '
                          'proxies=null, verify=null')
    assert a["description"].startswith("HTTP action.\n\n:param url: URL for the new HTTP "
                                       "request.\n")


@pytest.mark.parametrize("path", ["actions/std.echo/", "actions/std.echo/someNs",
                                  "actions/std.echo?namespace=someNs"])
def test_builtin_actions_are_found_in_any_namespace(api, path):
    r = api.get(path)
    assert_status(r, 200)
    assert r.json()["id"] == "std.echo"


def test_create_adhoc_actions_response(adhoc, uniq):
    r = adhoc()
    assert ct(r) == TEXT_FAMILY_CT
    a1, a2 = r.json()["actions"]
    assert list(a1) == [k for k in ACTION_KEYS if k != "updated_at"]
    assert UUID_RE.match(a1["id"])
    assert a1["name"] == uniq + "act1"
    assert a1["input"] == 'a, b=1, c="s"'
    assert a1["description"] == "first"
    assert a1["tags"] == []
    # every action of the document carries the whole document
    assert a1["definition"] == a2["definition"] == acts_text(uniq)
    assert a1["scope"] == "private" and a1["namespace"] == ""
    assert TS_RE.match(a1["created_at"])
    # no inputs: null in the POST response ...
    assert a2["input"] is None and a2["description"] is None


def test_get_adhoc_action(api, adhoc, uniq):
    adhoc()
    a = api.get("actions/%sact2" % uniq).json()
    assert list(a) == ACTION_KEYS
    # ... but "" in GET/list
    assert a["input"] == "" and a["updated_at"] is None


def test_fields_is_not_accepted_on_single_action(api, adhoc, uniq):
    adhoc()
    assert_error(api.get("actions/%sact2?fields=name" % uniq), 400,
                 'Unknown argument: "fields"', family="wsme")


def test_duplicate_action_is_409(api, adhoc, uniq):
    adhoc()
    r = api.post_text("actions", acts_text(uniq))
    assert_error(r, 409, "Duplicate entry for Action ['name', 'namespace', 'project_id']: "
                 "%sact1, , None" % uniq, family="text")


def test_update_actions(api, adhoc, uniq):
    created = adhoc().json()["actions"]
    r = api.put_text("actions", acts_text(uniq, description="second"))
    assert_status(r, 200)
    assert ct(r) == TEXT_FAMILY_CT
    a1, a2 = r.json()["actions"]
    assert a1["id"] == created[0]["id"] and a1["description"] == "second"
    assert a1["created_at"] == created[0]["created_at"] and TS_RE.match(a1["updated_at"])
    assert "updated_at" in a2


def test_update_with_identifier_wants_one_action_and_returns_a_list(api, adhoc, uniq):
    adhoc()
    r = api.put_text("actions/%sact1" % uniq, acts_text(uniq))
    assert_error(r, 400, "More than one actions are not supported for update with identifier. "
                 "[identifier: %sact1]" % uniq, family="text")
    one = "version: '2.0'\n%sact2:\n  base: std.echo output=2\n" % uniq
    r = api.put_text("actions/%sact2" % uniq, one)
    assert_status(r, 200)
    (a,) = r.json()["actions"]
    assert a["definition"] == one


def test_update_unknown_action_is_404(api, uniq):
    one = "version: '2.0'\n%snope:\n  base: std.noop\n" % uniq
    for path in ("actions", "actions/%snope" % uniq):
        assert_error(api.put_text(path, one), 404, "Action definition not found "
                     "[action_name=%snope, namespace=]" % uniq, family="text")


def test_action_namespaces(api, adhoc, uniq):
    text = "version: '2.0'\n%sna:\n  base: std.noop\n" % uniq
    adhoc(namespace=uniq + "ns", text=text)
    assert_error(api.get("actions/%sna" % uniq), 404,
                 "Action not found [name=%sna, namespace=]" % uniq, family="wsme")
    for path in ("actions/%sna/%sns" % (uniq, uniq), "actions/%sna?namespace=%sns" % (uniq, uniq)):
        r = api.get(path)
        assert_status(r, 200)
        assert r.json()["namespace"] == uniq + "ns"
    # the default list only shows the default namespace
    assert api.get("actions?name=%sna" % uniq).json()["actions"] == []
    listed = api.get("actions?name=%sna&namespace=%sns" % (uniq, uniq)).json()["actions"]
    assert [a["name"] for a in listed] == [uniq + "na"]
    assert_status(api.delete("actions/%sna/%sns" % (uniq, uniq)), 204)


def test_builtin_and_unknown_actions_cannot_be_deleted(api, uniq):
    assert_error(api.delete("actions/std.echo"), 404,
                 "Action definition not found [action_name=std.echo, namespace=]",
                 family="wsme")
    assert_error(api.delete("actions/%snope" % uniq), 404,
                 "Action definition not found [action_name=%snope, namespace=]" % uniq)


@pytest.mark.parametrize("text,prefix", [
    ("version: '2.0'\nwf:\n  tasks:\n    t1:\n      action: std.noop\n",
     "Invalid DSL: 'base' is a required property"),
    ("version: '2.0'\nbad act:\n  base: std.noop\n", "Name 'bad act' must not contain spaces"),
    ("version: '2.0'\nbadact:\n  base: std.noop\n  input: 5\n",
     "Invalid DSL: 5 is not of type 'array'"),
    ("version: '2.0'\nbadact: [\n", "Definition could not be parsed: "),
])
def test_invalid_action_definitions_are_400(api, text, prefix):
    assert_error(api.post_text("actions", text), 400, startswith=prefix, family="text")


def test_public_action_needs_admin(api, uniq):
    r = api.post_text("actions?scope=public", "version: '2.0'\n%sp:\n  base: std.noop\n" % uniq)
    assert_error(r, 403, "Operation forbidden (insufficient permissions)", family="text")


def test_list_merges_builtin_and_adhoc_with_filters(api, adhoc, uniq):
    adhoc()

    def names(q):
        r = api.get("actions?" + q)
        assert_status(r, 200)
        return [a["name"] for a in r.json()["actions"]]

    assert names("name=%sact1" % uniq) == [uniq + "act1"]
    assert names("name=in:%sact1,std.echo&sort_keys=name" % uniq) == [uniq + "act1",
                                                                       "std.echo"]
    assert uniq + "act1" not in names("name=neq:%sact1" % uniq)
    assert set(names("name=nin:%sact1,std.echo" % uniq)) & {uniq + "act1", "std.echo"} == set()
    assert names("name=has:%s&sort_keys=name&sort_dirs=desc" % uniq) == [uniq + "act2",
                                                                          uniq + "act1"]
    assert "std.echo" in names("name=gt:std.e")


def test_list_pagination_uses_names_as_markers(api):
    r = api.get("actions?limit=2&marker=std.echo&sort_keys=name")
    body = r.json()
    names = [a["name"] for a in body["actions"]]
    # the page starts AT the marker
    assert names[0] == "std.echo" and len(names) == 2
    assert body["next"] == ("%s/actions?sort_keys=name,id&sort_dirs=asc,asc&namespace=eq:&"
                            "limit=2&marker=%s" % (api.server.v2, names[1]))


def test_list_next_link_renders_in_filter_as_python_list(api, adhoc, uniq):
    adhoc()
    r = api.get("actions?name=in:%sact1,std.echo,std.noop&limit=2&sort_keys=name&sort_dirs=desc"
                % uniq)
    body = r.json()
    # "ct..." < "std.echo" < "std.noop"
    assert [a["name"] for a in body["actions"]] == ["std.noop", "std.echo"]
    assert body["next"].startswith(
        "%s/actions?sort_keys=name,id&sort_dirs=desc,asc&name=in:['%sact1', 'std.echo', "
        "'std.noop']&namespace=eq:&limit=2&marker=" % (api.server.v2, uniq))


@pytest.mark.parametrize("query,message", [
    ("limit=0", "Limit must be positive."),
    ("sort_dirs=up", "Unknown sort direction, must be 'desc' or 'asc'."),
    ("created_at>2020", 'Unknown argument: "created_at>2020"'),
])
def test_invalid_action_list_parameters_are_400(api, query, message):
    assert_error(api.get("actions?" + query), 400, message, family="wsme")


def test_filter_on_attribute_dynamic_actions_lack(api, server, adhoc, uniq):
    adhoc()
    r = api.get("actions?name=%sact1&tags=q" % uniq)
    if server.is_upstream:
        assert_status(r, 500)       # upstream crashes on DynamicActionDefinition.tags
    else:
        assert_status(r, 200)
        assert r.json()["actions"] == []


def test_validate_action(api, uniq):
    r = api.post_text("actions/validate", acts_text(uniq))
    assert_status(r, 200)
    assert ct(r) == TEXT_FAMILY_CT
    assert r.json() == {"valid": True}
    r = api.post_text("actions/validate",
                      "version: '2.0'\nwf:\n  tasks:\n    t1:\n      action: std.noop\n")
    assert r.status_code == 200 and r.json()["valid"] is False
    assert r.json()["error"].startswith("Invalid DSL: 'base' is a required property")
    assert_status(api.get("actions/%sact1" % uniq), 404)


def test_adhoc_action_ids_are_not_identifiers(api, server, adhoc, uniq):
    a1 = adhoc().json()["actions"][0]
    r = api.get("actions/%s" % a1["id"])
    assert_client_error(r, server, 404, ours=(404,))


def test_update_with_identifier_falls_back_to_the_default_namespace(api, adhoc, uniq):
    text = "version: '2.0'\n%sfb:\n  base: std.noop\n" % uniq
    (created,) = adhoc(text=text).json()["actions"]
    r = api.put_text("actions/%sfb?namespace=%sother" % (uniq, uniq),
                     "version: '2.0'\n%sfb:\n  base: std.echo output=3\n" % uniq)
    assert_status(r, 200)
    (a,) = r.json()["actions"]
    assert a["id"] == created["id"] and "output=3" in a["definition"]
    api.delete("actions/%sfb?namespace=%sother" % (uniq, uniq))
