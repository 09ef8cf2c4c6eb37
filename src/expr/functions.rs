//! Mistral's expression functions (`env()`, `task()`, `json_dump()` ...), shared by the YAQL
//! and Jinja front-ends. Argument binding follows each language's rules: Python call rules
//! (with the data context bound as the first positional argument) for Jinja, yaql's camelCase
//! keyword names for YAQL.

use super::data::{DataError, ExecutionFilter, ExpressionData, TaskFilter};
use super::pyfmt;
use super::pystr::{py_getitem, py_str, str_repr, type_name};
use serde_json::Value;

/// The functions Mistral registers (entry points `mistral.expression.functions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MistralFn {
    Env,
    Execution,
    Executions,
    Global,
    JsonDump,
    JsonParse,
    Task,
    Tasks,
    Uuid,
    YamlDump,
    YamlParse,
}

/// Which language called: the functions read `__env`, `__execution`, `__task_execution`
/// differently (yaql context variables, `None` when absent, vs. keys of Jinja's `_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Yaql,
    Jinja,
}

struct Param {
    py: &'static str,
    yaql: &'static str,
    required: bool,
}

const fn p(py: &'static str, yaql: &'static str, required: bool) -> Param {
    Param { py, yaql, required }
}

const EXECUTIONS_PARAMS: &[Param] = &[
    p("id", "id", false),
    p("root_execution_id", "rootExecutionId", false),
    p("state", "state", false),
    p("from_time", "fromTime", false),
    p("to_time", "toTime", false),
];
const GLOBAL_PARAMS: &[Param] = &[p("var_name", "varName", true)];
const DATA_PARAMS: &[Param] = &[p("data", "data", true)];
const TASK_PARAMS: &[Param] = &[p("task_name", "taskName", false)];
const TASKS_PARAMS: &[Param] = &[
    p("workflow_execution_id", "workflowExecutionId", false),
    p("recursive", "recursive", false),
    p("state", "state", false),
    p("flat", "flat", false),
];

/// How a function call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FnError {
    /// A Python exception's `str()` (becomes the `error=` part of the evaluation message).
    Eval(String),
    /// YAQL: no overload matches the arguments.
    NoMatch,
    /// A retryable database failure: re-raised unchanged.
    Data(DataError),
    /// A limit (recursion through sub-workflows) was hit.
    Limit(String),
}

impl From<DataError> for FnError {
    fn from(e: DataError) -> Self {
        if e.retryable {
            FnError::Data(e)
        } else {
            FnError::Eval(e.message)
        }
    }
}

impl MistralFn {
    pub const ALL: [MistralFn; 11] = [
        MistralFn::Env,
        MistralFn::Execution,
        MistralFn::Executions,
        MistralFn::Global,
        MistralFn::JsonDump,
        MistralFn::JsonParse,
        MistralFn::Task,
        MistralFn::Tasks,
        MistralFn::Uuid,
        MistralFn::YamlDump,
        MistralFn::YamlParse,
    ];

    /// The name used in expressions.
    pub fn name(self) -> &'static str {
        match self {
            MistralFn::Env => "env",
            MistralFn::Execution => "execution",
            MistralFn::Executions => "executions",
            MistralFn::Global => "global",
            MistralFn::JsonDump => "json_dump",
            MistralFn::JsonParse => "json_parse",
            MistralFn::Task => "task",
            MistralFn::Tasks => "tasks",
            MistralFn::Uuid => "uuid",
            MistralFn::YamlDump => "yaml_dump",
            MistralFn::YamlParse => "yaml_parse",
        }
    }

    fn params(self) -> &'static [Param] {
        match self {
            MistralFn::Env | MistralFn::Execution | MistralFn::Uuid => &[],
            MistralFn::Executions => EXECUTIONS_PARAMS,
            MistralFn::Global => GLOBAL_PARAMS,
            MistralFn::JsonDump
            | MistralFn::JsonParse
            | MistralFn::YamlDump
            | MistralFn::YamlParse => DATA_PARAMS,
            MistralFn::Task => TASK_PARAMS,
            MistralFn::Tasks => TASKS_PARAMS,
        }
    }

    /// Binds Python-style call arguments; errors are Python `TypeError` texts.
    /// The data context is bound as the first positional parameter (`context`), as upstream's
    /// `functools.partial` does, so it counts in the messages.
    pub fn bind_python(
        self,
        args: &[Value],
        kwargs: &[(String, Value)],
    ) -> Result<Vec<Option<Value>>, String> {
        let fname = format!("{}_", self.name());
        let params = self.params();
        // uuid_(context=None): the context parameter itself is optional
        let ctx_required = self != MistralFn::Uuid;
        let total = params.len() + 1;
        let required = params.iter().filter(|p| p.required).count() + usize::from(ctx_required);
        let given = args.len() + 1;
        if given > total {
            let takes = if required == total {
                format!(
                    "{total} positional argument{}",
                    if total == 1 { "" } else { "s" }
                )
            } else {
                format!("from {required} to {total} positional arguments")
            };
            let verb = if given == 1 { "was" } else { "were" };
            return Err(format!("{fname}() takes {takes} but {given} {verb} given"));
        }
        let mut bound: Vec<Option<Value>> = vec![None; params.len()];
        for (i, a) in args.iter().enumerate() {
            bound[i] = Some(a.clone());
        }
        for (k, v) in kwargs {
            if k == "context" {
                return Err(format!(
                    "{fname}() got multiple values for argument 'context'"
                ));
            }
            match params.iter().position(|p| p.py == k) {
                None => {
                    return Err(format!(
                        "{fname}() got an unexpected keyword argument '{k}'"
                    ))
                }
                Some(i) if bound[i].is_some() => {
                    return Err(format!("{fname}() got multiple values for argument '{k}'"))
                }
                Some(i) => bound[i] = Some(v.clone()),
            }
        }
        let missing: Vec<String> = params
            .iter()
            .zip(&bound)
            .filter(|(p, b)| p.required && b.is_none())
            .map(|(p, _)| format!("'{}'", p.py))
            .collect();
        if !missing.is_empty() {
            let list = match missing.len() {
                1 => missing[0].clone(),
                2 => format!("{} and {}", missing[0], missing[1]),
                _ => format!(
                    "{}, and {}",
                    missing[..missing.len() - 1].join(", "),
                    missing[missing.len() - 1]
                ),
            };
            return Err(format!(
                "{fname}() missing {} required positional argument{}: {list}",
                missing.len(),
                if missing.len() == 1 { "" } else { "s" }
            ));
        }
        Ok(bound)
    }

    /// Binds yaql-style arguments (camelCase keyword names); `None` = no matching function.
    pub fn bind_yaql(
        self,
        args: &[Value],
        kwargs: &[(String, Value)],
    ) -> Option<Vec<Option<Value>>> {
        let params = self.params();
        if args.len() > params.len() {
            return None;
        }
        let mut bound: Vec<Option<Value>> = vec![None; params.len()];
        for (i, a) in args.iter().enumerate() {
            bound[i] = Some(a.clone());
        }
        for (k, v) in kwargs {
            let i = params.iter().position(|p| p.yaql == k)?;
            if bound[i].is_some() {
                return None;
            }
            bound[i] = Some(v.clone());
        }
        if params
            .iter()
            .zip(&bound)
            .any(|(p, b)| p.required && b.is_none())
        {
            return None;
        }
        Some(bound)
    }

    /// Runs the function with bound arguments against the data context.
    pub fn call(
        self,
        bound: &[Option<Value>],
        lang: Lang,
        context: &Value,
        data: &dyn ExpressionData,
    ) -> Result<Value, FnError> {
        let arg = |i: usize| bound.get(i).cloned().flatten().unwrap_or(Value::Null);
        let ctx = |key: &str| -> Result<Value, FnError> {
            match lang {
                Lang::Jinja => py_getitem(context, key).cloned().map_err(FnError::Eval),
                Lang::Yaql => Ok(context.get(key).cloned().unwrap_or(Value::Null)),
            }
        };
        let id_of = |v: &Value| -> Result<String, FnError> {
            let id = py_getitem(v, "id").map_err(FnError::Eval)?;
            Ok(py_str(id))
        };
        match self {
            MistralFn::Env => ctx("__env"),
            MistralFn::Execution => {
                let id = id_of(&ctx("__execution")?)?;
                Ok(data.workflow_execution(&id)?)
            }
            MistralFn::Executions => {
                let s = |i: usize| match arg(i) {
                    Value::Null => None,
                    v => Some(py_str(&v)),
                };
                let filter = ExecutionFilter {
                    id: s(0),
                    root_execution_id: s(1),
                    state: s(2),
                    from_time: s(3),
                    to_time: s(4),
                };
                Ok(Value::Array(data.workflow_executions(&filter)?))
            }
            MistralFn::Global => {
                let id = id_of(&ctx("__execution")?)?;
                let wf_ctx = data.workflow_context(&id)?;
                match arg(0) {
                    Value::String(name) => Ok(wf_ctx.get(&name).cloned().unwrap_or(Value::Null)),
                    v @ (Value::Array(_) | Value::Object(_)) => Err(FnError::Eval(format!(
                        "unhashable type: '{}'",
                        type_name(&v)
                    ))),
                    _ => Ok(Value::Null),
                }
            }
            MistralFn::JsonDump => Ok(Value::String(pyfmt::json_dumps(&arg(0), Some(4), false))),
            MistralFn::JsonParse => match arg(0) {
                Value::String(s) => pyfmt::json_loads(&s).map_err(FnError::Eval),
                // oslo's jsonutils.loads decodes first: safe_decode raises this TypeError
                v => Err(FnError::Eval(format!(
                    "<class '{}'> can't be decoded",
                    type_name(&v)
                ))),
            },
            MistralFn::YamlDump => Ok(Value::String(pyfmt::yaml_dump(&arg(0)))),
            MistralFn::YamlParse => match arg(0) {
                Value::String(s) => pyfmt::yaml_load(&s).map_err(FnError::Eval),
                v => Err(FnError::Eval(format!(
                    "'{}' object has no attribute 'read'",
                    type_name(&v)
                ))),
            },
            MistralFn::Uuid => Ok(Value::String(uuid::Uuid::new_v4().to_string())),
            MistralFn::Task => {
                let cur = ctx("__task_execution")?;
                let name = arg(0);
                let use_current = truthy(&cur)
                    && (!truthy(&name)
                        || py_getitem(&cur, "name").map_err(FnError::Eval)? == &name);
                if use_current {
                    let id = id_of(&cur)?;
                    return Ok(data.task_execution(&id)?);
                }
                let wf_id = id_of(&ctx("__execution")?)?;
                let Value::String(name) = name else {
                    // name IS NULL / a non-string name matches no task execution
                    return Ok(Value::Null);
                };
                let found = data.task_executions(&TaskFilter {
                    workflow_execution_id: Some(wf_id),
                    name: Some(name),
                    state: None,
                })?;
                Ok(found.last().cloned().unwrap_or(Value::Null))
            }
            MistralFn::Tasks => {
                let wf_id = arg(0);
                let wf_id = if truthy(&wf_id) {
                    Some(py_str(&wf_id))
                } else {
                    None
                };
                let state = arg(2);
                let state = if truthy(&state) {
                    Some(py_str(&state))
                } else {
                    None
                };
                let list = tasks_from_db(
                    data,
                    wf_id.as_deref(),
                    truthy(&arg(1)),
                    state.as_deref(),
                    truthy(&arg(3)),
                    0,
                )?;
                Ok(Value::Array(list))
            }
        }
    }
}

/// Python truthiness of a JSON value.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

fn str_field(v: &Value, key: &str) -> String {
    v.get(key).map(py_str).unwrap_or_default()
}

fn tasks_from_db(
    data: &dyn ExpressionData,
    wf_id: Option<&str>,
    recursive: bool,
    state: Option<&str>,
    flat: bool,
    depth: usize,
) -> Result<Vec<Value>, FnError> {
    if depth > 100 {
        return Err(FnError::Limit(
            "maximum recursion depth exceeded while collecting sub-workflow tasks".into(),
        ));
    }
    let filter = TaskFilter {
        workflow_execution_id: wf_id.map(str::to_string),
        name: None,
        state: if wf_id.is_some() && recursive {
            None
        } else {
            state.map(str::to_string)
        },
    };
    let mut task_execs = data.task_executions(&filter)?;
    let mut nested = Vec::new();
    if let (true, Some(_)) = (recursive, wf_id) {
        for t in &task_execs {
            if t.get("type").and_then(Value::as_str) == Some("WORKFLOW") {
                for sub in data.sub_workflow_executions(&str_field(t, "id"))? {
                    let sub_id = str_field(&sub, "id");
                    nested.extend(tasks_from_db(
                        data,
                        Some(&sub_id),
                        recursive,
                        state,
                        flat,
                        depth + 1,
                    )?);
                }
            }
        }
    }
    if state.is_some() || flat {
        let mut kept = Vec::with_capacity(task_execs.len());
        for t in task_execs {
            let state_match =
                state.is_none_or(|s| t.get("state").and_then(Value::as_str) == Some(s));
            let mut flat_match = true;
            if flat && t.get("type").and_then(Value::as_str) != Some("ACTION") {
                for n in data.sub_workflow_executions(&str_field(&t, "id"))? {
                    flat_match = flat_match && n.get("state") != t.get("state");
                }
            }
            if state_match && flat_match {
                kept.push(t);
            }
        }
        task_execs = kept;
    }
    task_execs.extend(nested);
    Ok(task_execs)
}

/// `KeyError` text for a missing key, as `str(KeyError('x'))` renders it.
pub fn key_error(key: &str) -> String {
    str_repr(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::data::{MemoryData, NoData};
    use serde_json::json;

    fn bind(
        f: MistralFn,
        args: &[Value],
        kw: &[(&str, Value)],
    ) -> Result<Vec<Option<Value>>, String> {
        let kw: Vec<(String, Value)> = kw.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        f.bind_python(args, &kw)
    }

    #[test]
    fn python_binding_reports_type_errors_like_python() {
        assert_eq!(
            bind(MistralFn::JsonDump, &[], &[]).unwrap_err(),
            "json_dump_() missing 1 required positional argument: 'data'"
        );
        assert_eq!(
            bind(MistralFn::JsonDump, &[json!(1), json!(2)], &[]).unwrap_err(),
            "json_dump_() takes 2 positional arguments but 3 were given"
        );
        assert_eq!(
            bind(MistralFn::Task, &[json!(1), json!(2)], &[]).unwrap_err(),
            "task_() takes from 1 to 2 positional arguments but 3 were given"
        );
        assert_eq!(
            bind(MistralFn::Env, &[json!(1)], &[]).unwrap_err(),
            "env_() takes 1 positional argument but 2 were given"
        );
        assert_eq!(
            bind(MistralFn::Uuid, &[json!(1)], &[]).unwrap_err(),
            "uuid_() takes from 0 to 1 positional arguments but 2 were given"
        );
        assert_eq!(
            bind(MistralFn::Tasks, &[], &[("foo", json!(1))]).unwrap_err(),
            "tasks_() got an unexpected keyword argument 'foo'"
        );
        assert_eq!(
            bind(MistralFn::Task, &[json!("a")], &[("task_name", json!("b"))]).unwrap_err(),
            "task_() got multiple values for argument 'task_name'"
        );
        assert!(bind(MistralFn::Tasks, &[], &[("state", json!("ERROR"))]).is_ok());
    }

    #[test]
    fn yaql_binding_uses_camel_case_keywords() {
        let kw = vec![("workflowExecutionId".to_string(), json!("x"))];
        assert!(MistralFn::Tasks.bind_yaql(&[], &kw).is_some());
        let kw = vec![("workflow_execution_id".to_string(), json!("x"))];
        assert!(MistralFn::Tasks.bind_yaql(&[], &kw).is_none());
        assert!(MistralFn::JsonDump.bind_yaql(&[], &[]).is_none());
    }

    #[test]
    fn env_reads_the_context_per_language() {
        let ctx = json!({"a": 1});
        let r = MistralFn::Env.call(&[], Lang::Jinja, &ctx, &NoData);
        assert_eq!(r, Err(FnError::Eval("'__env'".into())));
        let r = MistralFn::Env.call(&[], Lang::Yaql, &ctx, &NoData);
        assert_eq!(r, Ok(Value::Null));
        let ctx = json!({"__env": {"x": 1}});
        assert_eq!(
            MistralFn::Env.call(&[], Lang::Jinja, &ctx, &NoData),
            Ok(json!({"x": 1}))
        );
    }

    fn store() -> MemoryData {
        MemoryData {
            executions: vec![
                json!({"id": "e1", "name": "wf", "state": "RUNNING", "context": {"g": 5}}),
                json!({"id": "e2", "name": "sub", "state": "ERROR", "task_execution_id": "t2"}),
            ],
            tasks: vec![
                json!({"id": "t1", "name": "a", "state": "SUCCESS", "type": "ACTION", "workflow_execution_id": "e1"}),
                json!({"id": "t2", "name": "b", "state": "ERROR", "type": "WORKFLOW", "workflow_execution_id": "e1"}),
                json!({"id": "t3", "name": "c", "state": "ERROR", "type": "ACTION", "workflow_execution_id": "e2"}),
                json!({"id": "t4", "name": "a", "state": "ERROR", "type": "ACTION", "workflow_execution_id": "e1"}),
            ],
        }
    }

    #[test]
    fn task_resolves_current_then_last_by_name() {
        let data = store();
        let ctx =
            json!({"__execution": {"id": "e1"}, "__task_execution": {"id": "t2", "name": "b"}});
        let cur = MistralFn::Task
            .call(&[None], Lang::Jinja, &ctx, &data)
            .unwrap();
        assert_eq!(cur["id"], "t2");
        let a = MistralFn::Task
            .call(&[Some(json!("a"))], Lang::Jinja, &ctx, &data)
            .unwrap();
        assert_eq!(a["id"], "t4");
        let none = MistralFn::Task
            .call(&[Some(json!("zz"))], Lang::Jinja, &ctx, &data)
            .unwrap();
        assert_eq!(none, Value::Null);
        // outside a task: YAQL task() is null, Jinja raises KeyError
        let ctx = json!({"__execution": {"id": "e1"}});
        assert_eq!(
            MistralFn::Task.call(&[None], Lang::Yaql, &ctx, &data),
            Ok(Value::Null)
        );
        assert_eq!(
            MistralFn::Task.call(&[None], Lang::Jinja, &ctx, &data),
            Err(FnError::Eval("'__task_execution'".into()))
        );
    }

    #[test]
    fn tasks_recursive_appends_subworkflow_tasks_and_flat_filters() {
        let data = store();
        let ctx = json!({});
        let ids = |v: Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_string())
                .collect()
        };
        let all = MistralFn::Tasks
            .call(
                &[Some(json!("e1")), Some(json!(true)), None, None],
                Lang::Jinja,
                &ctx,
                &data,
            )
            .unwrap();
        assert_eq!(ids(all), vec!["t1", "t2", "t4", "t3"]);
        let err = MistralFn::Tasks
            .call(
                &[
                    Some(json!("e1")),
                    Some(json!(true)),
                    Some(json!("ERROR")),
                    None,
                ],
                Lang::Jinja,
                &ctx,
                &data,
            )
            .unwrap();
        assert_eq!(ids(err), vec!["t2", "t4", "t3"]);
        // flat: the WORKFLOW task t2 has a sub-execution in the same state -> dropped
        let flat = MistralFn::Tasks
            .call(
                &[Some(json!("e1")), None, None, Some(json!(true))],
                Lang::Jinja,
                &ctx,
                &data,
            )
            .unwrap();
        assert_eq!(ids(flat), vec!["t1", "t4"]);
        let every = MistralFn::Tasks
            .call(&[None, None, None, None], Lang::Jinja, &ctx, &data)
            .unwrap();
        assert_eq!(ids(every).len(), 4);
    }

    #[test]
    fn global_reads_the_workflow_context() {
        let data = store();
        let ctx = json!({"__execution": {"id": "e1"}});
        assert_eq!(
            MistralFn::Global.call(&[Some(json!("g"))], Lang::Jinja, &ctx, &data),
            Ok(json!(5))
        );
        assert_eq!(
            MistralFn::Global.call(&[Some(json!("h"))], Lang::Jinja, &ctx, &data),
            Ok(Value::Null)
        );
    }

    #[test]
    fn json_and_yaml_functions_check_argument_types() {
        let ctx = json!({});
        assert_eq!(
            MistralFn::JsonParse.call(&[Some(json!(1))], Lang::Jinja, &ctx, &NoData),
            Err(FnError::Eval("<class 'int'> can't be decoded".into()))
        );
        assert_eq!(
            MistralFn::JsonParse.call(&[Some(json!("{\"a\": [1]}"))], Lang::Jinja, &ctx, &NoData),
            Ok(json!({"a": [1]}))
        );
        let u = MistralFn::Uuid
            .call(&[], Lang::Jinja, &ctx, &NoData)
            .unwrap();
        assert_eq!(u.as_str().unwrap().len(), 36);
    }
}
