//! Unit tests of the controller through the simulator (definitions as JSON bodies, no
//! expressions needed unless stated).

use serde_json::{json, Map, Value};

use super::controller::{ActionOutcome, EngineError, Event};
use super::exprs::ExprAdapter;
use super::sim::{SimCatalog, Simulator};
use super::spec::WorkflowDef;
use super::state::State;

fn sim_with(workflows: &[(&str, Value)]) -> Simulator {
    let mut cat = SimCatalog::default();
    for (name, body) in workflows {
        cat.workflows
            .insert(name.to_string(), WorkflowDef::from_body(name, body));
    }
    Simulator::new(cat, Box::new(ExprAdapter::default()))
}

fn run(sim: &mut Simulator, wf: &str, input: Value) -> String {
    sim.start(
        wf,
        input.as_object().cloned().unwrap_or_default(),
        Map::new(),
    )
    .expect("start")
}

#[test]
fn state_table_matches_upstream() {
    assert!(State::Idle.can_transition_to(State::Running));
    assert!(!State::Waiting.can_transition_to(State::Error));
    assert!(State::Error.can_transition_to(State::Skipped));
    assert!(!State::Success.can_transition_to(State::Running));
    assert!(State::Cancelled.can_transition_to(State::Running));
    assert!(State::Paused.can_transition_to(State::Paused));
    assert_eq!(State::parse("RUNNING_DELAYED"), Some(State::Delayed));
}

#[test]
fn linear_chain_succeeds_and_output_is_final_context() {
    let mut sim = sim_with(&[(
        "wf",
        json!({"tasks": {
            "a": {"action": "std.echo output=1", "publish": {"x": 1}, "on-success": "b"},
            "b": {"action": "std.noop", "publish": {"y": 2}}
        }}),
    )]);
    let id = run(&mut sim, "wf", json!({}));
    let st = sim.state(&id).unwrap();
    assert_eq!(st.execution.state, State::Success);
    assert_eq!(st.execution.output, Some(json!({"x": 1, "y": 2})));
    let b = st.tasks.iter().find(|t| t.name == "b").unwrap();
    assert_eq!(b.in_context["x"], json!(1));
    assert!(b.in_context.contains_key("__versions"));
}

#[test]
fn unhandled_error_produces_upstream_failure_message() {
    let mut sim = sim_with(&[(
        "wf",
        json!({"tasks": {"ok": {"action": "std.noop", "on-success": "bad"}, "bad": {"action": "std.fail error_data=\"it broke\""}}}),
    )]);
    let id = run(&mut sim, "wf", json!({}));
    let st = sim.state(&id).unwrap();
    assert_eq!(st.execution.state, State::Error);
    let bad = st.tasks.iter().find(|t| t.name == "bad").unwrap();
    let aid = &st.children_of(&bad.id).next().unwrap().id;
    let want = format!(
        "Failure caused by error in tasks: bad\n\n  bad [task_ex_id={}] -> it broke\n    [action_ex_id={aid}, idx=0]: it broke\n",
        bad.id
    );
    assert_eq!(st.execution.state_info.as_deref(), Some(want.as_str()));
    assert_eq!(st.execution.output, Some(json!({"result": want})));
}

#[test]
fn on_error_noop_marks_error_handled_and_workflow_succeeds() {
    let mut sim = sim_with(&[(
        "wf",
        json!({"tasks": {"t": {"action": "std.fail", "on-error": "noop"}}}),
    )]);
    let id = run(&mut sim, "wf", json!({}));
    let st = sim.state(&id).unwrap();
    assert_eq!(st.execution.state, State::Success);
    assert!(st.tasks[0].error_handled);
}

#[test]
fn fail_first_in_on_complete_dispatches_only_fail() {
    let mut sim = sim_with(&[(
        "wf",
        json!({"tasks": {"t1": {"action": "std.noop", "on-complete": ["fail", "t2"]}, "t2": {"action": "std.noop"}}}),
    )]);
    let id = run(&mut sim, "wf", json!({}));
    let st = sim.state(&id).unwrap();
    assert_eq!(st.execution.state, State::Error);
    assert_eq!(st.execution.state_info, None);
    assert_eq!(st.execution.output, Some(json!({"result": null})));
    assert_eq!(st.tasks.len(), 1);
}

#[test]
fn task_then_succeed_runs_the_task_and_succeeds() {
    let mut sim = sim_with(&[(
        "wf",
        json!({"tasks": {
            "t1": {"action": "std.noop", "on-success": ["t2", "succeed msg=\"done\""], "on-complete": ["t3", "fail"]},
            "t2": {"action": "std.noop"}, "t3": {"action": "std.noop"}
        }}),
    )]);
    let id = run(&mut sim, "wf", json!({}));
    let st = sim.state(&id).unwrap();
    assert_eq!(st.execution.state, State::Success);
    assert_eq!(st.execution.state_info.as_deref(), Some("done"));
    let names: Vec<&str> = st.tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, vec!["t1", "t2"]);
}

#[test]
fn join_all_waits_for_every_branch_and_merges_contexts() {
    let mut sim = sim_with(&[(
        "wf",
        json!({"tasks": {
            "a": {"publish": {"a": 1}, "on-success": "j"},
            "b": {"publish": {"b": 2}, "on-success": "j"},
            "j": {"join": "all", "publish": {"j": 3}}
        }}),
    )]);
    let id = run(&mut sim, "wf", json!({}));
    let st = sim.state(&id).unwrap();
    assert_eq!(st.execution.state, State::Success);
    let j = st.tasks.iter().find(|t| t.name == "j").unwrap();
    assert_eq!(
        (j.in_context["a"].clone(), j.in_context["b"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(st.tasks.iter().filter(|t| t.name == "j").count(), 1);
}

#[test]
fn join_all_fails_when_a_branch_cannot_reach_it() {
    let mut sim = sim_with(&[(
        "wf",
        json!({"tasks": {
            "a": {"on-success": "j"},
            "b": {"action": "std.fail", "on-success": "j", "on-error": "noop"},
            "j": {"join": "all"}
        }}),
    )]);
    let id = run(&mut sim, "wf", json!({}));
    let st = sim.state(&id).unwrap();
    let j = st.tasks.iter().find(|t| t.name == "j").unwrap();
    assert_eq!(j.state, State::Error);
    assert_eq!(j.state_info.as_deref(), Some("Failed by tasks: ['b']"));
    assert_eq!(st.execution.state, State::Error);
}

#[test]
fn input_validation_reports_missing_and_unexpected_like_upstream() {
    let mut sim = sim_with(&[(
        "wf",
        json!({"input": ["needed", {"opt": 1}], "tasks": {"t": {}}}),
    )]);
    let err = sim
        .start(
            "wf",
            json!({"other": 1}).as_object().cloned().unwrap(),
            Map::new(),
        )
        .unwrap_err();
    assert_eq!(
        err,
        EngineError::Input("Invalid input [name=wf, class=DirectWorkflowSpec, missing=['needed'], unexpected=['other']]".into())
    );
    let id = run(&mut sim, "wf", json!({"needed": "x"}));
    assert_eq!(
        sim.state(&id).unwrap().execution.input,
        *json!({"needed": "x", "opt": 1}).as_object().unwrap()
    );
}

#[test]
fn async_action_pause_defers_transitions_until_resume() {
    let mut sim = sim_with(&[(
        "wf",
        json!({"tasks": {"wait": {"action": "std.async_noop", "on-success": "next"}, "next": {}}}),
    )]);
    let id = run(&mut sim, "wf", json!({}));
    assert_eq!(sim.state(&id).unwrap().execution.state, State::Running);
    sim.send(&id, Event::Pause).unwrap();
    let aid = sim.running_actions(&id, "wait")[0].clone();
    sim.complete_async(&aid, ActionOutcome::Success(json!("r")))
        .unwrap();
    let st = sim.state(&id).unwrap();
    assert_eq!(st.execution.state, State::Paused);
    assert_eq!(st.tasks.len(), 1);
    assert!(!st.tasks[0].processed);
    sim.send(&id, Event::Resume { env: None }).unwrap();
    let st = sim.state(&id).unwrap();
    assert_eq!(st.execution.state, State::Success);
    assert_eq!(st.tasks.len(), 2);
}

#[test]
fn pausing_a_finished_workflow_is_rejected_with_upstream_text() {
    let mut sim = sim_with(&[("wf", json!({"tasks": {"t": {}}}))]);
    let id = run(&mut sim, "wf", json!({}));
    let err = sim.send(&id, Event::Pause).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Can't change workflow execution state from SUCCESS to PAUSED. [workflow=wf, execution_id={id}]")
    );
}

#[test]
fn cancel_sets_cancelled_with_message_output() {
    let mut sim = sim_with(&[("wf", json!({"tasks": {"t": {"action": "std.async_noop"}}}))]);
    let id = run(&mut sim, "wf", json!({}));
    sim.send(
        &id,
        Event::Cancel {
            state_info: Some("Cancelled by user.".into()),
        },
    )
    .unwrap();
    let st = sim.state(&id).unwrap();
    assert_eq!(st.execution.state, State::Cancelled);
    assert_eq!(
        st.execution.output,
        Some(json!({"result": "Cancelled by user."}))
    );
}

#[test]
fn sub_workflow_output_becomes_parent_task_result() {
    let mut sim = sim_with(&[
        (
            "parent",
            json!({"tasks": {"call": {"workflow": "child", "publish": {"got": 1}}}}),
        ),
        (
            "child",
            json!({"tasks": {"c": {"action": "std.echo output=5", "publish": {"v": 5}}}}),
        ),
    ]);
    let id = run(&mut sim, "parent", json!({}));
    let st = sim.state(&id).unwrap();
    assert_eq!(st.execution.state, State::Success);
    let call = &st.tasks[0];
    assert_eq!(st.task_result(&call.id), json!({"v": 5}));
}

#[test]
fn reverse_workflow_runs_only_what_the_target_requires() {
    let mut sim = sim_with(&[(
        "wf",
        json!({"type": "reverse", "tasks": {
            "a": {"publish": {"a": 1}}, "b": {"requires": ["a"]}, "c": {"requires": "b"}, "unrelated": {}
        }}),
    )]);
    let id = sim
        .start(
            "wf",
            Map::new(),
            json!({"task_name": "b"}).as_object().cloned().unwrap(),
        )
        .unwrap();
    let st = sim.state(&id).unwrap();
    assert_eq!(st.execution.state, State::Success);
    let names: Vec<&str> = st.tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, vec!["a", "b"]);
    assert_eq!(st.execution.output, Some(json!({"a": 1})));
}

#[test]
fn with_items_concurrency_limits_running_actions_and_keeps_index_order() {
    let mut sim = sim_with(&[(
        "wf",
        json!({"tasks": {"t": {"with-items": "x in [1, 2, 3]", "action": "std.async_noop", "concurrency": 2}}}),
    )]);
    let id = run(&mut sim, "wf", json!({}));
    let running = sim.running_actions(&id, "t");
    assert_eq!(running.len(), 2);
    // Complete the second item first: the third is scheduled, order stays by index.
    sim.complete_async(&running[1], ActionOutcome::Success(json!("b")))
        .unwrap();
    let running = sim.running_actions(&id, "t");
    assert_eq!(running.len(), 2);
    for (i, aid) in running.iter().enumerate() {
        sim.complete_async(aid, ActionOutcome::Success(json!(["a", "c"][i])))
            .unwrap();
    }
    let st = sim.state(&id).unwrap();
    assert_eq!(st.execution.state, State::Success);
    assert_eq!(st.task_result(&st.tasks[0].id), json!(["a", "b", "c"]));
}

#[test]
fn with_items_over_empty_list_succeeds_with_empty_result() {
    let mut sim = sim_with(&[(
        "wf",
        json!({"tasks": {"t": {"with-items": "x in <% [] %>", "action": "std.noop"}}}),
    )]);
    let id = run(&mut sim, "wf", json!({}));
    let st = sim.state(&id).unwrap();
    assert_eq!(st.execution.state, State::Success);
    assert_eq!(st.task_result(&st.tasks[0].id), json!([]));
}

#[test]
fn retry_runs_count_plus_one_attempts_and_records_retry_no() {
    let mut sim = sim_with(&[(
        "wf",
        json!({"tasks": {"t": {"action": "std.fail", "retry": {"count": 2, "delay": 1}}}}),
    )]);
    let id = run(&mut sim, "wf", json!({}));
    let st = sim.state(&id).unwrap();
    assert_eq!(st.execution.state, State::Error);
    let t = &st.tasks[0];
    assert_eq!(st.children_of(&t.id).count(), 3);
    assert_eq!(t.runtime_context["retry_task_policy"]["retry_no"], json!(2));
    assert_eq!(sim.clock_ms, 2000);
}

#[test]
fn wait_before_delays_the_task_on_the_virtual_clock() {
    let mut sim = sim_with(&[(
        "wf",
        json!({"tasks": {"t": {"action": "std.noop", "wait-before": 3}}}),
    )]);
    let id = run(&mut sim, "wf", json!({}));
    assert_eq!(sim.state(&id).unwrap().execution.state, State::Success);
    assert_eq!(sim.clock_ms, 3000);
}

#[test]
fn skip_of_failed_task_follows_on_skip_and_workflow_succeeds() {
    let mut sim = sim_with(&[(
        "wf",
        json!({"tasks": {
            "t1": {"action": "std.fail", "on-success": "not_this", "on-skip": "skipped_path"},
            "not_this": {}, "skipped_path": {}
        }}),
    )]);
    let id = run(&mut sim, "wf", json!({}));
    assert_eq!(sim.state(&id).unwrap().execution.state, State::Error);
    let tid = sim.state(&id).unwrap().tasks[0].id.clone();
    sim.send(
        &id,
        Event::SkipTask {
            task_execution_id: tid,
            env: None,
        },
    )
    .unwrap();
    let st = sim.state(&id).unwrap();
    assert_eq!(st.execution.state, State::Success);
    assert_eq!(st.tasks[0].state_info.as_deref(), Some("Task was skipped."));
    let names: Vec<&str> = st.tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, vec!["t1", "skipped_path"]);
}

#[test]
fn rerun_requires_reset_and_an_error_task() {
    let mut sim = sim_with(&[(
        "wf",
        json!({"tasks": {"t": {"action": "std.fail"}, "ok": {}}}),
    )]);
    let id = run(&mut sim, "wf", json!({}));
    let st = sim.state(&id).unwrap();
    let failed = st.tasks.iter().find(|t| t.name == "t").unwrap().id.clone();
    let ok = st.tasks.iter().find(|t| t.name == "ok").unwrap().id.clone();
    let e = sim
        .send(
            &id,
            Event::RerunTask {
                task_execution_id: failed.clone(),
                reset: None,
                env: None,
            },
        )
        .unwrap_err();
    assert_eq!(e.to_string(), "Reset field is mandatory to rerun task.");
    let e = sim
        .send(
            &id,
            Event::RerunTask {
                task_execution_id: ok,
                reset: Some(true),
                env: None,
            },
        )
        .unwrap_err();
    assert_eq!(e.to_string(), "Rerunning succeeded tasks is not supported.");
    sim.send(
        &id,
        Event::RerunTask {
            task_execution_id: failed.clone(),
            reset: Some(true),
            env: None,
        },
    )
    .unwrap();
    let st = sim.state(&id).unwrap();
    assert_eq!(st.children_of(&failed).count(), 2);
    assert_eq!(st.execution.state, State::Error);
    let msg = st.execution.state_info.clone().unwrap_or_default();
    assert!(msg.contains("idx=0]") && msg.contains("idx=1]"), "{msg}");
}

#[test]
fn env_update_is_refused_while_running() {
    let mut sim = sim_with(&[("wf", json!({"tasks": {"t": {"action": "std.async_noop"}}}))]);
    let id = run(&mut sim, "wf", json!({}));
    let e = sim
        .send(&id, Event::UpdateEnv { env: Map::new() })
        .unwrap_err();
    assert_eq!(
        e,
        EngineError::NotAllowed(
            "Updating env to workflow execution is only permitted if it is in IDLE, PAUSED, or ERROR state.".into()
        )
    );
}

#[test]
fn endless_synchronous_failure_loop_does_not_overflow_the_stack() {
    let mut sim = sim_with(&[(
        "wf",
        json!({"tasks": {"a": {"on-success": "t"}, "t": {"workflow": "missing", "on-error": "t"}}}),
    )]);
    // Runs until the simulator's event budget is spent; must not crash.
    sim.max_events = 20;
    let id = run(&mut sim, "wf", json!({}));
    let st = sim.state(&id).unwrap();
    assert!(st.tasks.len() > 100);
    assert_eq!(st.execution.state, State::Running);
}

#[test]
fn late_branch_reaching_a_fired_partial_join_completes_the_workflow() {
    let mut sim = sim_with(&[(
        "wf",
        json!({"tasks": {
            "a": {"action": "std.async_noop", "on-success": "j"},
            "b": {"action": "std.async_noop", "on-success": "j"},
            "j": {"join": "one", "action": "std.noop"}
        }}),
    )]);
    let id = run(&mut sim, "wf", json!({}));
    let a = sim.running_actions(&id, "a")[0].clone();
    sim.complete_async(&a, ActionOutcome::Success(Value::Null))
        .unwrap();
    assert_eq!(sim.state(&id).unwrap().execution.state, State::Running);
    let b = sim.running_actions(&id, "b")[0].clone();
    sim.complete_async(&b, ActionOutcome::Success(Value::Null))
        .unwrap();
    let st = sim.state(&id).unwrap();
    assert_eq!(st.execution.state, State::Success);
    assert_eq!(st.tasks.iter().filter(|t| t.name == "j").count(), 1);
}

/// Upstream re-runs a failed middle item plus every later item and then hangs (README:
/// "upstream bugs this corpus does not ask us to reproduce"); only the failed item runs again.
#[test]
fn rerun_without_reset_runs_only_the_failed_middle_item() {
    let mut sim = sim_with(&[(
        "wf",
        json!({"tasks": {"t": {"with-items": "x in [1, 2, 3]", "action": "std.async_noop", "concurrency": 1}}}),
    )]);
    let id = run(&mut sim, "wf", json!({}));
    for (i, outcome) in [
        ActionOutcome::Success(json!("a")),
        ActionOutcome::Error(json!("b failed")),
        ActionOutcome::Success(json!("c")),
    ]
    .into_iter()
    .enumerate()
    {
        let running = sim.running_actions(&id, "t");
        assert_eq!(running.len(), 1, "item {i} runs alone");
        sim.complete_async(&running[0], outcome).unwrap();
    }
    let st = sim.state(&id).unwrap();
    assert_eq!(st.execution.state, State::Error);
    let tid = st.tasks[0].id.clone();
    sim.send(
        &id,
        Event::RerunTask {
            task_execution_id: tid.clone(),
            reset: Some(false),
            env: None,
        },
    )
    .unwrap();
    let running = sim.running_actions(&id, "t");
    assert_eq!(running.len(), 1, "only the failed item runs again");
    let st = sim.state(&id).unwrap();
    let rerun = st.actions.iter().find(|a| a.id == running[0]).unwrap();
    assert_eq!(rerun.index, 1);
    sim.complete_async(&running[0], ActionOutcome::Success(json!("b")))
        .unwrap();
    let st = sim.state(&id).unwrap();
    assert_eq!(st.execution.state, State::Success);
    assert_eq!(st.task_result(&tid), json!(["a", "b", "c"]));
    assert_eq!(st.children_of(&tid).count(), 4);
}
