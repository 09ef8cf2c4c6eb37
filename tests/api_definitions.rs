//! Workbooks, workflows and ad-hoc actions against the real server (SQLite, and PostgreSQL
//! when `MISTRAL_RS_TEST_PG` is set).

mod common;

use common::{servers, sj};
use reqwest::Method;
use serde_json::json;

const WF: &str = "---\nversion: '2.0'\nwf1:\n  input: [a, {b: 2}]\n  output: {x: 1}\n  tags: [t1]\n  tasks:\n    t1:\n      action: std.noop\n";

fn md5(s: &str) -> String {
    mistral_rs::db::definitions::checksum(s)
}

#[test]
fn workflow_create_get_update_delete_round_trip() {
    for s in servers() {
        let r = s.text(Method::POST, "/v2/workflows", WF);
        assert_eq!(
            r.headers()["content-type"],
            "application/json;charset=utf-8"
        );
        let (st, v) = sj(r);
        assert_eq!(st, 201, "{v}");
        let wf = &v["workflows"][0];
        assert_eq!(wf["input"], "a, b=\"2\"");
        assert_eq!(
            wf["interface"],
            json!({"input": ["a", {"b": 2}], "output": ["x"]})
        );
        assert_eq!(wf["definition"], WF);
        assert_eq!(wf["checksum"], md5(WF));
        assert_eq!(wf["tags"], json!(["t1"]));
        assert!(wf.get("updated_at").is_none());
        let id = wf["id"].as_str().unwrap().to_string();

        let (st, v) = sj(s.get("/v2/workflows/wf1"));
        assert_eq!(st, 200);
        assert_eq!(
            v["interface"],
            "{\"input\": [\"a\", {\"b\": 2}], \"output\": [\"x\"]}"
        );
        assert!(v["updated_at"].is_null());
        let (_, v) = sj(s.get(&format!("/v2/workflows/{id}")));
        assert_eq!(v["name"], "wf1");
        let (st, v) = sj(s.get("/v2/workflows/wf1?namespace=other"));
        assert_eq!(
            (st, v["faultstring"].clone()),
            (
                404,
                json!("Workflow not found [workflow_identifier=wf1, namespace=other]")
            )
        );

        let (st, v) = sj(s.text(Method::POST, "/v2/workflows", WF));
        assert_eq!(
            (st, v),
            (
                409,
                json!({"faultstring": "Duplicate entry for WorkflowDefinition ['name', 'namespace', 'project_id']: wf1, , None"})
            )
        );

        let new = "---\nversion: '2.0'\nwf1:\n  tasks:\n    t2:\n      action: std.noop\n";
        let (st, v) = sj(s.text(Method::PUT, &format!("/v2/workflows/{id}"), new));
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["id"], id.as_str());
        assert_eq!(v["input"], "");
        assert_eq!(v["checksum"], md5(new));
        assert!(v["updated_at"].is_string());
        let two = format!("{new}wf2:\n  tasks:\n    t2:\n      action: std.noop\n");
        let (st, v) = sj(s.text(Method::PUT, &format!("/v2/workflows/{id}"), &two));
        assert_eq!(
            (st, v["faultstring"].clone()),
            (400, json!(format!("More than one workflows are not supported for update with identifier. [identifier: {id}]")))
        );
        let (st, v) = sj(s.text(Method::PUT, "/v2/workflows", &two));
        assert_eq!(
            (st, v["faultstring"].clone()),
            (
                404,
                json!("Workflow not found [workflow_identifier=wf2, namespace=]")
            )
        );

        assert_eq!(s.delete("/v2/workflows/wf1").status().as_u16(), 204);
        assert_eq!(s.get("/v2/workflows/wf1").status().as_u16(), 404);
    }
}

#[test]
fn multi_workflow_upload_is_all_or_nothing() {
    for s in servers() {
        let one = "---\nversion: '2.0'\nwfb:\n  tasks:\n    t:\n      action: std.noop\n";
        assert_eq!(
            s.text(Method::POST, "/v2/workflows", one).status().as_u16(),
            201
        );
        let both = "---\nversion: '2.0'\nwfa:\n  tasks:\n    t:\n      action: std.noop\nwfb:\n  tasks:\n    t:\n      action: std.noop\n";
        assert_eq!(
            s.text(Method::POST, "/v2/workflows", both)
                .status()
                .as_u16(),
            409
        );
        assert_eq!(
            s.get("/v2/workflows/wfa").status().as_u16(),
            404,
            "wfa must not be half-written"
        );
        let (st, v) = sj(s.text(Method::POST, "/v2/workflows?namespace=ns", both));
        assert_eq!(st, 201);
        assert_eq!(
            v["workflows"][0]["definition"],
            "version: '2.0'\nwfa:\n  tasks:\n    t:\n      action: std.noop\n"
        );
    }
}

#[test]
fn workflow_list_pages_with_exact_next_links() {
    for s in servers() {
        let doc = "---\nversion: '2.0'\nwfa:\n  tasks:\n    t:\n      action: std.noop\nwfb:\n  tasks:\n    t:\n      action: std.noop\nwfc:\n  tasks:\n    t:\n      action: std.noop\n";
        assert_eq!(
            s.text(Method::POST, "/v2/workflows", doc).status().as_u16(),
            201
        );
        let (_, v) = sj(s.get("/v2/workflows?fields=name"));
        assert_eq!(
            v["workflows"][0]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["id", "name"]
        );
        assert!(v.get("next").is_none());
        let (_, v) = sj(s.get("/v2/workflows?limit=1&sort_keys=name&sort_dirs=desc"));
        assert_eq!(v["workflows"][0]["name"], "wfc");
        let id = v["workflows"][0]["id"].as_str().unwrap();
        assert_eq!(
            v["next"],
            format!(
                "{}/v2/workflows?sort_keys=name,id&sort_dirs=desc,asc&limit=1&marker={id}",
                s.base
            )
        );
        let mut names = vec!["wfc".to_string()];
        let mut next = v["next"].as_str().unwrap().to_string();
        loop {
            let tail = &next[next.rfind('/').unwrap() + 1..];
            let (st, v) = sj(s.get(&format!("/v2/{tail}")));
            assert_eq!(st, 200, "{v}");
            for w in v["workflows"].as_array().unwrap() {
                names.push(w["name"].as_str().unwrap().to_string());
            }
            match v.get("next") {
                Some(n) => next = n.as_str().unwrap().to_string(),
                None => break,
            }
        }
        assert_eq!(names, ["wfc", "wfb", "wfa"]);
        let (_, v) = sj(s.get("/v2/workflows?name=in:wfa,wfb&limit=5"));
        assert_eq!(v["workflows"].as_array().unwrap().len(), 2);
        let (_, v) = sj(s.get("/v2/workflows?name=in:wfa,wfb&name=wfa"));
        assert_eq!(v["workflows"].as_array().unwrap().len(), 1);
        let (st, _) = sj(s.get("/v2/workflows?all_projects=1"));
        assert_eq!(st, 403);
        let r = s
            .req(Method::GET, "/v2/workflows?all_projects=1")
            .header("X-Roles", "member, admin")
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }
}

#[test]
fn workbook_registers_prefixed_workflows_and_actions_that_outlive_it() {
    for s in servers() {
        let wb = "---\nversion: '2.0'\nname: wb1\ntags: [a, b]\nactions:\n  act:\n    input: [x, {y: 1}]\n    base: std.echo\n    base-input: {output: <% $.x %>}\nworkflows:\n  flow:\n    tasks:\n      t1:\n        action: wb1.act x=1\n";
        let (st, v) = sj(s.text(Method::POST, "/v2/workbooks", wb));
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["definition"], wb);
        assert_eq!(v["tags"], json!(["a", "b"]));
        let (st, v) = sj(s.text(Method::POST, "/v2/workbooks", wb));
        assert_eq!((st, v["faultstring"].clone()), (409, json!("Duplicate entry for WorkbookDefinition ['name', 'namespace', 'project_id']: wb1, , None")));
        let (st, v) = sj(s.get("/v2/workflows/wb1.flow"));
        assert_eq!(st, 200);
        assert!(
            v["checksum"].is_null(),
            "workbook workflows carry no checksum upstream"
        );
        assert!(v["definition"].as_str().unwrap().contains("flow"));
        let (st, v) = sj(s.get("/v2/actions/wb1.act"));
        assert_eq!(st, 200);
        assert_eq!(v["input"], "x, y=1");
        assert_eq!(s.delete("/v2/workbooks/wb1").status().as_u16(), 204);
        let (st, v) = sj(s.delete("/v2/workbooks/wb1"));
        assert_eq!(
            (st, v["faultstring"].clone()),
            (
                404,
                json!("Workbook not found [workbook_name=wb1, namespace=]")
            )
        );
        assert_eq!(s.get("/v2/workflows/wb1.flow").status().as_u16(), 200);
        assert_eq!(s.delete("/v2/workflows/wb1.flow").status().as_u16(), 204);
        assert_eq!(s.delete("/v2/actions/wb1.act").status().as_u16(), 204);
        let (st, v) = sj(s.text(Method::PUT, "/v2/workbooks", wb));
        assert_eq!(
            (st, v["faultstring"].clone()),
            (404, json!("Workbook not found [name=wb1, namespace=]"))
        );
    }
}

#[test]
fn adhoc_actions_crud_and_list_quirks() {
    for s in servers() {
        let doc = "---\nversion: '2.0'\ngreeting:\n  description: hi\n  input: [name, {n: 1}, {z: a}]\n  base: std.echo\n  base-input: {output: x}\nbare:\n  base: std.noop\n";
        let (st, v) = sj(s.text(Method::POST, "/v2/actions", doc));
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["actions"][0]["input"], "name, n=1, z=\"a\"");
        assert_eq!(v["actions"][1]["input"], json!(null));
        assert_eq!(v["actions"][1]["definition"], doc);
        let (_, v) = sj(s.get("/v2/actions/bare"));
        assert_eq!(v["input"], "");
        let (st, v) = sj(s.text(Method::POST, "/v2/actions", doc));
        assert_eq!((st, v["faultstring"].clone()), (409, json!("Duplicate entry for Action ['name', 'namespace', 'project_id']: greeting, , None")));
        let (_, v) = sj(s.get("/v2/actions?name=greeting"));
        assert_eq!(v["actions"].as_array().unwrap().len(), 1);
        let (_, v) = sj(s.get("/v2/actions?name=neq:greeting"));
        assert!(v["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["name"] != "greeting"));
        let (_, v) = sj(s.get("/v2/actions?name=gt:freeting"));
        assert!(v["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "greeting"));
        let (_, v) = sj(s.get("/v2/actions?name=nin:greeting,std.echo"));
        assert!(v["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["name"] != "greeting" && a["name"] != "std.echo"));
        // The marker is a name and the page starts *at* it [quirk].
        let (_, v) = sj(s.get("/v2/actions?marker=std.echo&limit=2"));
        assert_eq!(v["actions"][0]["name"], "std.echo");
        let upd = "---\nversion: '2.0'\nbare:\n  base: std.echo\n  base-input: {output: 2}\n";
        let (st, v) = sj(s.text(Method::PUT, "/v2/actions/bare", upd));
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["actions"][0]["definition"], upd);
        assert!(v["actions"][0]["updated_at"].is_string());
        let (st, v) = sj(s.text(
            Method::PUT,
            "/v2/actions",
            "---\nversion: '2.0'\nnope:\n  base: std.noop\n",
        ));
        assert_eq!(
            (st, v["faultstring"].clone()),
            (
                404,
                json!("Action definition not found [action_name=nope, namespace=]")
            )
        );
        let (st, v) = sj(s.text(
            Method::POST,
            "/v2/actions",
            "---\nversion: '2.0'\nwf:\n  tasks:\n    t:\n      action: std.noop\n",
        ));
        assert_eq!(st, 400);
        assert!(v["faultstring"]
            .as_str()
            .unwrap()
            .starts_with("Invalid DSL: 'base' is a required property"));
        assert_eq!(s.delete("/v2/actions/bare/").status().as_u16(), 204);
        assert_eq!(
            s.delete("/v2/actions/greeting?namespace=")
                .status()
                .as_u16(),
            204
        );
    }
}

#[test]
fn bad_definitions_and_scopes_are_client_errors() {
    for s in servers() {
        let (st, v) = sj(s.text(Method::POST, "/v2/workflows", "version: '2.0'\nbad: [\n"));
        assert_eq!(st, 400);
        assert!(v["faultstring"]
            .as_str()
            .unwrap()
            .starts_with("Definition could not be parsed"));
        let (st, v) = sj(s.text(Method::POST, "/v2/workflows?scope=bogus", WF));
        assert_eq!(st, 400);
        assert!(v["faultstring"]
            .as_str()
            .unwrap()
            .starts_with("Scope must be one of the following:"));
        let (st, v) = sj(s.text(Method::POST, "/v2/workflows?scope=public", WF));
        assert_eq!(
            (st, v),
            (
                403,
                json!({"faultstring": "Operation forbidden (insufficient permissions)"})
            )
        );
        let (st, v) = sj(s.text(Method::POST, "/v2/workflows/validate", "---\nversion: '2.0'\nw:\n  tasks:\n    t:\n      action: std.noop\n      on-success: [zz]\n"));
        assert_eq!(st, 200);
        assert_eq!(v["valid"], false);
        assert!(v["error"].as_str().unwrap().contains("zz"));
        let (_, v) = sj(s.text(
            Method::POST,
            "/v2/actions/validate",
            "---\nversion: '2.0'\na:\n  base: std.noop\n",
        ));
        assert_eq!(v, json!({"valid": true}));
        let (st, _) = sj(s.text(Method::POST, "/v2/workbooks/validate", "not: [valid"));
        assert_eq!(st, 200);
    }
}

#[test]
fn oversized_bodies_are_refused_with_a_faultstring() {
    let s = common::sqlite_with(|st| st.api.max_request_body_size = 1024);
    let big = format!("{WF}# {}\n", "x".repeat(4096));
    let (st, v) = sj(s.text(Method::POST, "/v2/workflows", &big));
    assert_eq!(
        (st, v),
        (413, json!({"faultstring": "Request is too large."}))
    );
    let (st, v) = sj(s.json(
        Method::POST,
        "/v2/environments",
        json!({"name": "e", "description": "x".repeat(4096)}),
    ));
    assert_eq!(st, 413);
    assert_eq!(v["faultstring"], "Request is too large.");
}

#[test]
fn skip_validation_is_honoured_only_in_enabled_mode() {
    let bad = "---\nversion: '2.0'\nwv:\n  tasks:\n    t:\n      action: std.noop\n      on-success: [missing]\n";
    let mandatory = common::sqlite();
    assert_eq!(
        mandatory
            .text(Method::POST, "/v2/workflows?skip_validation", bad)
            .status()
            .as_u16(),
        400
    );
    let enabled = common::sqlite_with(|st| {
        st.api.validation_mode = mistral_rs::config::ValidationMode::Enabled
    });
    assert_eq!(
        enabled
            .text(Method::POST, "/v2/workflows", bad)
            .status()
            .as_u16(),
        400
    );
    assert_eq!(
        enabled
            .text(Method::POST, "/v2/workflows?skip_validation", bad)
            .status()
            .as_u16(),
        201
    );
}

#[test]
fn over_long_names_are_never_a_server_error() {
    for s in servers() {
        let name = "w".repeat(300);
        let wf = format!("version: '2.0'\n{name}:\n  tasks:\n    t:\n      action: std.noop\n");
        let (st, v) = sj(s.text(Method::POST, "/v2/workflows", &wf));
        // SQLite stores any width (as upstream on SQLite); PostgreSQL's column refuses it.
        let want = if s.backend == "sqlite" { 201 } else { 400 };
        assert_eq!(st, want, "{} {v}", s.backend);
        if st == 400 {
            assert_eq!(
                v["faultstring"],
                "Database error: value too long for type character varying(255)"
            );
        }
    }
}
