"""Routing, version documents, content types and the error pages (api.md 1.1, 1.2, 1.6)."""

import json

import pytest

from ctlib import assert_error, assert_status, ct


def test_root_version_document_points_at_v2(server, api):
    r = api.get(server.url + "/")
    assert_status(r, 200)
    assert ct(r) == "application/json"
    assert r.json() == {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
        {"href": server.url + "/v2", "target": "v2", "rel": "self"}]}]}


def test_v2_document_gives_its_uri(server, api):
    r = api.get(server.url + "/v2/")
    assert_status(r, 200)
    assert ct(r) == "application/json"
    assert r.json() == {"uri": server.url + "/v2"}


def test_v2_without_slash_redirects_with_302(server, api):
    r = api.get(server.url + "/v2")
    assert_status(r, 302)
    assert r.headers["Location"] == server.url + "/v2/"


@pytest.mark.parametrize("path", ["/nonexistent", "/v2/nonexistent", "/v2/services"])
def test_unknown_paths_are_404(server, api, path):
    assert_status(api.get(server.url + path), 404)


@pytest.mark.parametrize("path", ["workflows", "workflows/abc", "workbooks", "actions",
                                  "environments", "executions"])
def test_unsupported_method_is_405_with_allow_header(api, path):
    r = api.request("PATCH", path)
    assert_status(r, 405)
    assert r.headers["Allow"] == "DELETE, GET, POST, PUT"


def test_delete_collection_without_identifier_is_missing_argument(api):
    assert_error(api.delete("workflows"), 400, 'Missing argument: "identifier"', family="wsme")


@pytest.mark.parametrize("content_type", ["application/xml", "text/xml; charset=utf-8",
                                          "application/atom+xml", "Application/XML"])
@pytest.mark.parametrize("path", ["environments", "workflows", "executions"])
def test_xml_request_bodies_are_rejected_with_415(api, content_type, path):
    r = api.request("POST", path, data="<a/>", headers={"Content-Type": content_type})
    assert_status(r, 415)
    assert r.headers["Server-Error-Message"] == "XML request bodies are not supported."


def test_json_endpoint_with_text_plain_is_415_unknown_mimetype(api):
    r = api.request("POST", "environments", data=json.dumps({"name": "x", "variables": {}}),
                    headers={"Content-Type": "text/plain"})
    assert_error(r, 415, "Unknown mimetype: text/plain", family="wsme")


def test_json_endpoint_without_content_type_is_400(api):
    r = api.request("POST", "environments", data=b'{"name": "x", "variables": {}}')
    assert_status(r, 400)


def test_malformed_json_body_is_400(api):
    r = api.post_json("environments", '{"name": "x"')
    assert_error(r, 400, "Request is not in valid JSON format", family="wsme")


def test_unknown_query_parameter_is_400(api):
    assert_error(api.get("workflows?bogus=1"), 400, 'Unknown argument: "bogus"', family="wsme")
    assert_error(api.get("actions?is_system<False"), 400, family="wsme")


def test_wsme_error_shape_on_get(api):
    r = api.get("workflows/nonexistent-wf-name")
    assert_error(r, 404, "Workflow not found [workflow_identifier=nonexistent-wf-name, "
                 "namespace=]", family="wsme")


def test_definition_errors_use_text_family_shape(api):
    r = api.post_text("workflows", "version: '2.0'\nwfy: [\n")
    assert_error(r, 400, startswith="Definition could not be parsed: ", family="text")


def test_trailing_slash_is_accepted(api):
    assert_status(api.get("workflows/"), 200)
    assert_status(api.get("actions/std.echo/"), 200)
    assert_status(api.get("environments/"), 200)


def test_error_pages_follow_the_accept_header(server, api):
    # JSON clients (tempest sends Accept: application/json) get a small JSON document
    r = api.get(server.url + "/v2/nonexistent", headers={"Accept": "application/json"})
    assert_status(r, 404)
    assert ct(r) == "application/json"
    assert r.json() == {"code": 404, "title": "Not Found", "description": None}
    r = api.request("PATCH", "workflows", headers={"Accept": "application/json"})
    assert_status(r, 405)
    assert r.headers["Allow"] == "DELETE, GET, POST, PUT"
    assert {k: r.json()[k] for k in ("code", "title")} == {"code": 405,
                                                           "title": "Method Not Allowed"}
    # no Accept header: plain text
    r = api.get(server.url + "/v2/nonexistent", headers={"Accept": None})
    assert_status(r, 404)
    assert ct(r) == "text/plain;charset=utf-8"
    assert r.text.startswith("404 Not Found\n\nThe resource could not be found.")
    r = api.request("POST", "environments", data="<a/>",
                    headers={"Accept": None, "Content-Type": "application/xml"})
    assert_status(r, 415)
    assert ct(r) == "text/plain;charset=utf-8"
    assert r.text.startswith("415 Unsupported Media Type\n\nThe request media type "
                             "application/xml is not supported by this server.")
    assert r.text.rstrip().endswith("XML request bodies are not supported.")
