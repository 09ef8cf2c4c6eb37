//! Cron triggers and event triggers against the real server (SQLite, and PostgreSQL when
//! `MISTRAL_RS_TEST_PG` is set).

mod common;

use common::{servers, sj, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

const WF: &str =
    "---\nversion: '2.0'\ntwf:\n  input: [a, {b: 1}]\n  tasks:\n    t1:\n      action: std.noop\n";

fn workflow(s: &TestServer) -> String {
    let (st, v) = sj(s.text(Method::POST, "/v2/workflows", WF));
    assert_eq!(st, 201, "{v}");
    v["workflows"][0]["id"].as_str().unwrap().to_string()
}

fn fault(r: reqwest::blocking::Response) -> (u16, Value) {
    let (st, v) = sj(r);
    (st, v["faultstring"].clone())
}

#[test]
fn cron_trigger_create_get_list_delete_round_trip() {
    for s in servers() {
        let wf_id = workflow(&s);
        let (st, v) = sj(s.json(
            Method::POST,
            "/v2/cron_triggers",
            json!({"name": "ct1", "workflow_name": "twf", "pattern": "5 * * * *",
                   "workflow_input": "{\"a\": 1}", "workflow_params": {"env": {"k": 1}},
                   "remaining_executions": 3}),
        ));
        assert_eq!(st, 201, "{} {v}", s.backend);
        assert_eq!(v["workflow_id"], wf_id.as_str());
        assert_eq!(v["workflow_name"], "twf");
        assert_eq!(v["workflow_input"], "{\"a\": 1}");
        assert_eq!(v["workflow_params"], "{\"env\": {\"k\": 1}}");
        assert_eq!(v["remaining_executions"], 3);
        assert_eq!(v["first_execution_time"], Value::Null);
        assert_eq!(v["scope"], "private");
        assert!(v.get("updated_at").is_none());
        let next = v["next_execution_time"].as_str().unwrap().to_string();
        assert!(next.ends_with(":05:00"), "{next}");
        let id = v["id"].as_str().unwrap().to_string();

        // One-shot: fixed "never" pattern, count 1, next time = first time.
        let (st, v) = sj(s.json(
            Method::POST,
            "/v2/cron_triggers",
            json!({"name": "ct2", "workflow_id": wf_id, "first_execution_time": "4242-12-25 13:37",
                   "workflow_input": {"a": 2}}),
        ));
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["pattern"], "0 0 30 2 0");
        assert_eq!(v["remaining_executions"], 1);
        assert_eq!(v["first_execution_time"], "4242-12-25 13:37:00");
        assert_eq!(v["next_execution_time"], "4242-12-25 13:37:00");

        for key in ["ct1", id.as_str()] {
            let (st, v) = sj(s.get(&format!("/v2/cron_triggers/{key}")));
            assert_eq!((st, v["name"].clone()), (200, json!("ct1")));
            assert!(v["updated_at"].is_null());
        }
        let (_, v) = sj(s.get("/v2/cron_triggers/ct2?fields=pattern"));
        assert_eq!(v, json!({"id": v["id"], "pattern": "0 0 30 2 0"}));
        assert_eq!(
            fault(s.get("/v2/cron_triggers/nope")),
            (404, json!("Cron trigger not found [identifier=nope]"))
        );

        let (st, v) = sj(s.get("/v2/cron_triggers?fields=name&sort_keys=name&limit=1"));
        assert_eq!(st, 200);
        assert_eq!(v["cron_triggers"], json!([{"id": id, "name": "ct1"}]));
        assert_eq!(
            v["next"].as_str().unwrap(),
            format!(
                "{}/v2/cron_triggers?sort_keys=name,id&sort_dirs=asc,asc&limit=1&marker={id}&fields=id,name",
                s.base
            )
        );
        let (_, v) = sj(s.get("/v2/cron_triggers?fields=name&remaining_executions=1"));
        assert_eq!(v["cron_triggers"].as_array().unwrap().len(), 1);
        assert_eq!(v["cron_triggers"][0]["name"], "ct2");
        let (_, v) = sj(s.get("/v2/cron_triggers?fields=name&workflow_input=%7B%22a%22%3A%201%7D"));
        assert_eq!(v["cron_triggers"][0]["name"], "ct1");

        assert_eq!(
            fault(s.get("/v2/cron_triggers?remaining_executions=gt:1")),
            (400, json!("Invalid input for field/attribute remaining_executions. Value: 'gt:1'. unable to convert to integer. Error: invalid literal for int() with base 10: 'gt:1'"))
        );
        let (st, _) = sj(s.get("/v2/cron_triggers?workflow_id=abc"));
        assert_eq!(st, 400);
        let ghost = "3f2f0b58-2f0c-4a65-9d1c-7b6f0c4d1e11";
        assert_eq!(
            fault(s.get(&format!("/v2/cron_triggers?marker={ghost}"))),
            (
                404,
                json!(format!("Cron trigger not found [identifier={ghost}]"))
            )
        );

        assert_eq!(s.delete("/v2/cron_triggers/ct1").status(), 204);
        assert_eq!(s.delete(&format!("/v2/cron_triggers/{id}")).status(), 404);
        assert_eq!(s.delete("/v2/cron_triggers/ct2").status(), 204);
        let (_, v) = sj(s.get("/v2/cron_triggers"));
        assert_eq!(v, json!({"cron_triggers": []}));
    }
}

#[test]
fn cron_trigger_validation_follows_upstream_order_and_texts() {
    for s in servers() {
        workflow(&s);
        let post = |body: Value| fault(s.json(Method::POST, "/v2/cron_triggers", body));
        let base = |extra: Value| {
            let mut b = json!({"name": "c", "workflow_name": "twf", "workflow_input": {"a": 1}});
            for (k, v) in extra.as_object().unwrap() {
                b[k] = v.clone();
            }
            b
        };
        assert_eq!(
            post(base(json!({}))),
            (
                400,
                json!("Pattern or first_execution_time must be specified.")
            )
        );
        assert_eq!(
            post(base(json!({"pattern": "5 *"}))),
            (400, json!("The specified pattern is not valid: 5 *"))
        );
        for p in ["88 * * * *", "* 88 * * *", "* * * 35 *", "* * * * 15"] {
            assert_eq!(
                post(base(json!({"pattern": p}))),
                (
                    400,
                    json!(format!("The specified pattern is not valid: {p}"))
                )
            );
        }
        assert_eq!(
            post(base(
                json!({"pattern": "5 * * * *", "first_execution_time": "q"})
            )),
            (
                400,
                json!("time data 'q' does not match format '%Y-%m-%d %H:%M'")
            )
        );
        assert_eq!(
            post(base(json!({"first_execution_time": "2001-01-01 00:00"}))),
            (
                400,
                json!("first_execution_time must be at least 1 minute in the future.")
            )
        );
        assert_eq!(
            post(base(
                json!({"first_execution_time": "4242-12-25 13:37", "remaining_executions": "42"})
            )),
            (
                400,
                json!("Pattern must be provided if count is superior to 1.")
            )
        );
        assert_eq!(
            post(base(json!({"pattern": "5 * * * *", "remaining_executions": -1}))),
            (400, json!("Invalid input for field/attribute remaining_executions. Value: '-1'. Value should be greater or equal to 1"))
        );
        let (st, _) = post(base(
            json!({"pattern": "5 * * * *", "remaining_executions": "q"}),
        ));
        assert_eq!(st, 400);
        assert_eq!(
            post(json!({"name": "c", "workflow_name": "nope", "pattern": "5 * * * *"})),
            (
                404,
                json!("Workflow not found [workflow_identifier=nope, namespace=]")
            )
        );
        assert_eq!(
            post(json!({"name": "c", "workflow_name": "twf", "pattern": "5 * * * *",
                        "workflow_input": {"z": 1, "y": 2}})),
            (
                400,
                json!("Invalid input [name=twf, class=DirectWorkflowSpec, missing=['a'], unexpected=['z', 'y']]")
            )
        );
        let long = "n".repeat(300);
        let (st, _) = post(
            json!({"name": long, "workflow_name": "twf", "pattern": "5 * * * *",
                                  "workflow_input": {"a": 1}}),
        );
        assert_eq!(st, 400);
        // public needs admin
        let (st, _) = post(base(json!({"pattern": "5 * * * *", "scope": "public"})));
        assert_eq!(st, 403);

        // Duplicates: same name, and the same definition under another name.
        let one = base(
            json!({"pattern": "5 * * * *", "first_execution_time": "4242-12-25 13:37",
                              "remaining_executions": 42}),
        );
        assert_eq!(
            s.json(Method::POST, "/v2/cron_triggers", one.clone())
                .status(),
            201
        );
        assert_eq!(
            post(one.clone()),
            (
                409,
                json!("Duplicate entry for cron trigger ['name', 'project_id']: c, None")
            )
        );
        let mut other = one.clone();
        other["name"] = json!("d");
        let (st, _) = post(other);
        assert_eq!(st, 409);
        assert_eq!(s.delete("/v2/cron_triggers/c").status(), 204);
    }
}

#[test]
fn workflows_with_triggers_cannot_be_deleted() {
    for s in servers() {
        let wf_id = workflow(&s);
        let (st, v) = sj(s.json(
            Method::POST,
            "/v2/cron_triggers",
            json!({"name": "c", "workflow_name": "twf", "pattern": "5 * * * *",
                   "workflow_input": {"a": 1}}),
        ));
        assert_eq!(st, 201, "{v}");
        let ct_id = v["id"].as_str().unwrap().to_string();
        assert_eq!(
            fault(s.delete("/v2/workflows/twf")),
            (
                400,
                json!(format!("Can't delete workflow that has cron triggers associated. [workflow_identifier=twf, namespace=], [cron_trigger_id(s)={ct_id}]"))
            )
        );
        assert_eq!(s.delete("/v2/cron_triggers/c").status(), 204);

        let (st, v) = sj(s.json(
            Method::POST,
            "/v2/event_triggers",
            json!({"workflow_id": wf_id, "exchange": "openstack", "topic": "notifications",
                   "event": "compute.instance.create.end", "workflow_input": {"a": 1}}),
        ));
        assert_eq!(st, 201, "{v}");
        let et_id = v["id"].as_str().unwrap().to_string();
        assert_eq!(
            fault(s.delete(&format!("/v2/workflows/{wf_id}"))),
            (
                400,
                json!(format!("Can't delete workflow that has event triggers associated. [workflow_identifier={wf_id}], [event_trigger_id(s)={et_id}]"))
            )
        );
        assert_eq!(
            s.delete(&format!("/v2/event_triggers/{et_id}")).status(),
            204
        );
        assert_eq!(s.delete("/v2/workflows/twf").status(), 204);
    }
}

#[test]
fn event_trigger_crud_and_errors() {
    for s in servers() {
        let wf_id = workflow(&s);
        let body = json!({"name": "e1", "workflow_id": wf_id, "exchange": "x", "topic": "t",
                          "event": "ev", "workflow_input": "{\"a\": 1}"});
        let (st, v) = sj(s.json(Method::POST, "/v2/event_triggers", body.clone()));
        assert_eq!(st, 201, "{} {v}", s.backend);
        assert_eq!(v["workflow_input"], "{\"a\": 1}");
        assert_eq!(v["workflow_params"], "{}");
        assert_eq!(v["scope"], "private");
        assert!(v["updated_at"].is_null());
        let id = v["id"].as_str().unwrap().to_string();

        let mut dup = body.clone();
        dup["name"] = json!("other");
        assert_eq!(
            fault(s.json(Method::POST, "/v2/event_triggers", dup)),
            (
                409,
                json!(format!("Duplicate entry for EventTrigger ['exchange', 'topic', 'event', 'workflow_id', 'project_id']: x, t, ev, {wf_id}, None"))
            )
        );
        let mut bad = body.clone();
        bad["workflow_id"] = json!("nonexist");
        assert_eq!(
            fault(s.json(Method::POST, "/v2/event_triggers", bad)),
            (400, json!("Expected a uuid but received nonexist."))
        );
        let mut long = body.clone();
        long["exchange"] = json!("x".repeat(300));
        let (st, _) = fault(s.json(Method::POST, "/v2/event_triggers", long));
        assert_eq!(st, 400);
        let mut missing = body.clone();
        missing["event"] = json!("");
        let (st, msg) = fault(s.json(Method::POST, "/v2/event_triggers", missing));
        assert_eq!(st, 400);
        assert!(msg
            .as_str()
            .unwrap()
            .ends_with("must be provided for creating event trigger."));
        let mut unknown = body.clone();
        let ghost = "3f2f0b58-2f0c-4a65-9d1c-7b6f0c4d1e11";
        unknown["workflow_id"] = json!(ghost);
        assert_eq!(
            fault(s.json(Method::POST, "/v2/event_triggers", unknown)),
            (
                404,
                json!(format!("Workflow not found [workflow_id={ghost}]"))
            )
        );
        let mut wrong_input = body.clone();
        wrong_input["workflow_input"] = json!({});
        wrong_input["event"] = json!("ev2");
        assert_eq!(
            fault(s.json(Method::POST, "/v2/event_triggers", wrong_input)),
            (
                400,
                json!("Invalid input [name=twf, class=DirectWorkflowSpec, missing=['a']]")
            )
        );

        let (st, v) = sj(s.get(&format!("/v2/event_triggers/{id}?fields=event")));
        assert_eq!((st, v), (200, json!({"id": id, "event": "ev"})));
        let (st, _) = sj(s.get("/v2/event_triggers/xyz"));
        assert_eq!(st, 400);
        assert_eq!(
            fault(s.get(&format!("/v2/event_triggers/{ghost}"))),
            (404, json!(format!("Event trigger not found [id={ghost}].")))
        );

        assert_eq!(
            fault(s.json(
                Method::PUT,
                &format!("/v2/event_triggers/{id}"),
                json!({"topic": "t2"})
            )),
            (
                400,
                json!("Can not update fields ['exchange', 'topic', 'event'] of event trigger.")
            )
        );
        let (st, v) = sj(s.json(
            Method::PUT,
            &format!("/v2/event_triggers/{id}"),
            json!({"name": "renamed", "workflow_params": {"p": 1}}),
        ));
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["name"], "renamed");
        assert_eq!(v["workflow_params"], "{\"p\": 1}");
        assert_eq!(v["workflow_input"], "{\"a\": 1}");
        assert!(v["updated_at"].is_string());

        let (_, v) = sj(s.get("/v2/event_triggers?fields=name"));
        assert_eq!(
            v,
            json!({"event_triggers": [{"id": id, "name": "renamed"}]})
        );
        let (_, v) = sj(s.get("/v2/event_triggers?event=nope"));
        assert_eq!(v, json!({"event_triggers": []}));

        assert_eq!(s.delete(&format!("/v2/event_triggers/{id}")).status(), 204);
        assert_eq!(
            fault(s.delete(&format!("/v2/event_triggers/{id}"))),
            (404, json!(format!("Event trigger not found [id={id}].")))
        );
    }
}

#[test]
fn public_workflow_stays_public_while_other_projects_trigger_it() {
    use mistral_rs::config::DatabaseUrl;
    use mistral_rs::db::definitions::{create_workflows, update_workflows};
    use mistral_rs::db::triggers::{
        create_cron_trigger, create_event_trigger, NewCronTrigger, NewEventTrigger,
    };
    use mistral_rs::db::{Caller, Db, DbError};

    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::parse(&format!(
        "sqlite:///{}",
        dir.path().join("s.sqlite").display()
    ))
    .unwrap();
    let db = Db::connect(&url, 2).unwrap();
    db.run_migrations().unwrap();
    let owner = Caller {
        project_id: "p1".into(),
        is_admin: false,
    };
    let other = Caller {
        project_id: "p2".into(),
        is_admin: false,
    };
    let spec = mistral_rs::lang::parse_workflows(WF).unwrap();
    let items: Vec<_> = spec
        .iter()
        .map(|w| mistral_rs::db::definitions::NewWorkflow {
            name: w.name.clone(),
            definition: w.definition.clone(),
            spec: serde_json::to_string(&w.body).unwrap(),
            input: w.input_signature(),
            interface: w.interface().to_string(),
            tags: None,
            with_checksum: true,
        })
        .collect();
    let wf = db
        .write_blocking(|c| create_workflows(c, &owner, &items, "public", ""))
        .unwrap()
        .remove(0);
    let input: serde_json::Map<String, Value> = serde_json::from_str("{\"a\": 1}").unwrap();
    db.write_blocking(|c| {
        create_cron_trigger(
            c,
            &other,
            &NewCronTrigger {
                name: "theirs".into(),
                workflow_identifier: wf.id.clone(),
                workflow_input: input.clone(),
                workflow_params: Default::default(),
                pattern: Some("5 * * * *".into()),
                first_execution_time: None,
                next_execution_time: mistral_rs::db::now(),
                remaining_executions: None,
                scope: "private".into(),
            },
        )
    })
    .unwrap();
    let err = db
        .write_blocking(|c| update_workflows(c, &owner, &items, "private", None, ""))
        .unwrap_err();
    assert_eq!(
        err,
        DbError::Forbidden("Can not update scope of workflow that has cron triggers associated in other tenants. [workflow_identifier=twf, namespace=]".into())
    );
    // Staying public is fine.
    db.write_blocking(|c| update_workflows(c, &owner, &items, "public", None, ""))
        .unwrap();
    // Event triggers of other projects block it too.
    db.write_blocking(|c| {
        diesel::RunQueryDsl::execute(diesel::sql_query("DELETE FROM cron_triggers"), c)?;
        create_event_trigger(
            c,
            &other,
            &NewEventTrigger {
                name: String::new(),
                workflow_id: wf.id.clone(),
                workflow_input: input.clone(),
                workflow_params: Default::default(),
                exchange: "x".into(),
                topic: "t".into(),
                event: "e".into(),
                scope: "private".into(),
            },
        )
    })
    .unwrap();
    let err = db
        .write_blocking(|c| update_workflows(c, &owner, &items, "private", None, ""))
        .unwrap_err();
    assert!(matches!(err, DbError::Forbidden(m) if m.contains("event triggers")));
}
