//! Python-flavoured values inside minijinja: dicts and lists from the data context (so a
//! missing key can be reported with Jinja2's StrictUndefined text), tuples, and Python
//! `str()`/`repr()`/JSON conversion of any minijinja value.

use crate::expr::pystr::{float_repr, str_repr};
use indexmap::IndexMap;
use minijinja::value::{DynObject, Enumerator, Object, ObjectExt, ObjectRepr, Value, ValueKind};
use minijinja::{Error, ErrorKind};
use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

thread_local! {
    /// The last failed attribute/item lookup: the StrictUndefined message Jinja2 would raise.
    static LAST_MISS: RefCell<Option<String>> = const { RefCell::new(None) };
}

thread_local! {
    /// Remaining size budget of the current evaluation: (items, string bytes).
    static BUDGET: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((usize::MAX, usize::MAX)) };
    static BUDGET_HIT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Starts a new size budget for one evaluation.
pub fn reset_budget(items: usize, bytes: usize) {
    BUDGET.with(|b| b.set((items, bytes)));
    BUDGET_HIT.with(|h| h.set(false));
}

/// Was the size budget exhausted during this evaluation?
pub fn budget_exhausted() -> bool {
    BUDGET_HIT.with(|h| h.get())
}

/// Spends `n` units of the size budget; fails once it is exhausted, so huge results
/// (`[0] * 2000000000 | list`) end with an error instead of exhausting memory.
pub fn charge(items: usize, bytes: usize) -> Result<(), Error> {
    BUDGET.with(|b| {
        let (left_items, left_bytes) = b.get();
        if items > left_items || bytes > left_bytes {
            BUDGET_HIT.with(|h| h.set(true));
            Err(Error::new(ErrorKind::InvalidOperation, "result too large"))
        } else {
            b.set((left_items - items, left_bytes - bytes));
            Ok(())
        }
    })
}

/// Records the message for a failed lookup (read back when minijinja raises UndefinedError).
pub fn record_miss(msg: String) {
    LAST_MISS.with(|m| *m.borrow_mut() = Some(msg));
}

pub fn take_miss() -> Option<String> {
    LAST_MISS.with(|m| m.borrow_mut().take())
}

pub fn clear_miss() {
    LAST_MISS.with(|m| *m.borrow_mut() = None);
}

/// `object_type_repr` of Jinja2 for a value (`dict object`, `list object`, `None` ...).
pub fn object_type_repr(v: &Value) -> String {
    if let Some(d) = v.downcast_object_ref::<PyDict>() {
        return format!("{} object", d.type_name);
    }
    if let Some(d) = v.downcast_object_ref::<JsonDict>() {
        return format!("{} object", d.type_name);
    }
    match v.kind() {
        ValueKind::None => "None".into(),
        ValueKind::Undefined => "jinja2.runtime.StrictUndefined object".into(),
        _ => format!("{} object", py_type_name(v)),
    }
}

/// Python's `type(v).__name__`.
pub fn py_type_name(v: &Value) -> &'static str {
    if v.downcast_object_ref::<PyTuple>().is_some() {
        return "tuple";
    }
    if v.downcast_object_ref::<PyRange>().is_some() {
        return "range";
    }
    if v.downcast_object_ref::<LenientUndefined>().is_some() {
        return "Undefined";
    }
    if let Some(view) = v.downcast_object_ref::<DictView>() {
        return view.kind.type_name();
    }
    match v.kind() {
        ValueKind::Undefined => "StrictUndefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if v.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => {
            if v.is_safe() {
                "Markup"
            } else {
                "str"
            }
        }
        ValueKind::Bytes => "bytes",
        ValueKind::Seq => "list",
        ValueKind::Map => "dict",
        ValueKind::Iterable => "generator",
        ValueKind::Plain => "function",
        _ => "object",
    }
}

/// A Python dict from the data context (insertion-ordered, string keys). `type_name` is what
/// error messages call it: `dict`, or `mistral.workflow.data_flow.ContextView` for the root
/// view of a task's data context.
#[derive(Debug)]
pub struct PyDict {
    pub map: IndexMap<String, Value>,
    pub type_name: &'static str,
}

impl Object for PyDict {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let found = key.as_str().and_then(|k| self.map.get(k)).cloned();
        if found.is_none() {
            let name = match key.as_str() {
                Some(s) => str_repr(s),
                None => py_repr(key).unwrap_or_default(),
            };
            record_miss(format!(
                "'{} object' has no attribute {}",
                self.type_name, name
            ));
        }
        found
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        self.mapped_enumerator(|this| Box::new(this.map.keys().map(|k| Value::from(k.as_str()))))
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.map.len())
    }

    fn call_method(
        self: &Arc<Self>,
        state: &minijinja::State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        super::methods::call_py_method(state, &Value::from_dyn_object(self.clone()), method, args)
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&py_repr(&Value::from_dyn_object(self.clone())).map_err(|_| fmt::Error)?)
    }
}

/// A Python list from the data context.
#[derive(Debug)]
pub struct PyList(pub Vec<Value>);

impl Object for PyList {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let found = key.as_i64().and_then(|i| {
            let len = self.0.len() as i64;
            let idx = if i < 0 { i + len } else { i };
            if (0..len).contains(&idx) && key.is_integer() {
                Some(self.0[idx as usize].clone())
            } else {
                None
            }
        });
        if found.is_none() {
            let msg = match key.as_str() {
                Some(s) => format!("'list object' has no attribute {}", str_repr(s)),
                None => format!(
                    "list object has no element {}",
                    py_repr(key).unwrap_or_default()
                ),
            };
            record_miss(msg);
        }
        found
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.len())
    }

    fn call_method(
        self: &Arc<Self>,
        state: &minijinja::State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        super::methods::call_py_method(state, &Value::from_dyn_object(self.clone()), method, args)
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&py_repr(&Value::from_dyn_object(self.clone())).map_err(|_| fmt::Error)?)
    }
}

/// A Python tuple (results of `items()`, `dictsort`, `batch` ...).
#[derive(Debug)]
pub struct PyTuple(pub Vec<Value>);

impl Object for PyTuple {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let i = key.as_i64()?;
        let len = self.0.len() as i64;
        let idx = if i < 0 { i + len } else { i };
        let found = if (0..len).contains(&idx) {
            Some(self.0[idx as usize].clone())
        } else {
            None
        };
        if found.is_none() {
            record_miss(format!("tuple object has no element {i}"));
        }
        found
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.len())
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&py_repr(&Value::from_dyn_object(self.clone())).map_err(|_| fmt::Error)?)
    }
}

/// A Python `range` object: iterates, indexes, has a length and slices like a sequence, and
/// prints as `range(start, stop[, step])`.
#[derive(Debug)]
pub struct PyRange {
    pub start: i64,
    pub stop: i64,
    pub step: i64,
}

impl PyRange {
    /// Number of items (the step is never zero).
    pub fn len(&self) -> usize {
        let (start, stop, step) = (
            i128::from(self.start),
            i128::from(self.stop),
            i128::from(self.step),
        );
        let n = if step > 0 && stop > start {
            (stop - start - 1) / step + 1
        } else if step < 0 && start > stop {
            (start - stop - 1) / (-step) + 1
        } else {
            0
        };
        usize::try_from(n).unwrap_or(usize::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn at(&self, i: usize) -> i64 {
        (i128::from(self.start) + i as i128 * i128::from(self.step)) as i64
    }

    /// Python's `self[a:b:s]` given the slice's already resolved `indices(len)`.
    pub fn sliced(&self, a: i64, b: i64, s: i64) -> PyRange {
        let f = |i: i64| (i128::from(self.start) + i128::from(i) * i128::from(self.step)) as i64;
        PyRange {
            start: f(a),
            stop: f(b),
            step: self.step.saturating_mul(s),
        }
    }

    fn python_repr(&self) -> String {
        if self.step == 1 {
            format!("range({}, {})", self.start, self.stop)
        } else {
            format!("range({}, {}, {})", self.start, self.stop, self.step)
        }
    }
}

impl Object for PyRange {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let i = key.as_i64()?;
        let len = self.len() as i64;
        let idx = if i < 0 { i + len } else { i };
        if (0..len).contains(&idx) {
            Some(Value::from(self.at(idx as usize)))
        } else {
            record_miss(format!("range object has no element {i}"));
            None
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.len())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.len())
    }

    fn is_true(self: &Arc<Self>) -> bool {
        !self.is_empty()
    }

    /// Python compares ranges as the sequences they describe.
    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<std::cmp::Ordering> {
        let other = other.downcast_ref::<PyRange>()?;
        let (n, m) = (self.len(), other.len());
        for i in 0..n.min(m) {
            match self.at(i).cmp(&other.at(i)) {
                std::cmp::Ordering::Equal => {}
                o => return Some(o),
            }
            if i >= 1 && self.step == other.step {
                break;
            }
        }
        Some(n.cmp(&m))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.python_repr())
    }
}

pub fn range(start: i64, stop: i64, step: i64) -> Value {
    Value::from_object(PyRange { start, stop, step })
}

/// Jinja2's plain (non-strict) `Undefined`, which a conditional expression without `else`
/// yields when its test is false even under StrictUndefined: it prints as '', iterates as
/// empty, has length 0, is false, fails `is defined` and is replaced by `default`.
#[derive(Debug)]
pub struct LenientUndefined;

impl Object for LenientUndefined {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, _key: &Value) -> Option<Value> {
        None
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(0)
    }

    fn is_true(self: &Arc<Self>) -> bool {
        false
    }

    fn render(self: &Arc<Self>, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}

/// Undefined in either flavour (minijinja's strict one or [`LenientUndefined`]).
pub fn is_any_undefined(v: &Value) -> bool {
    v.is_undefined() || v.downcast_object_ref::<LenientUndefined>().is_some()
}

pub fn tuple(items: Vec<Value>) -> Value {
    Value::from_object(PyTuple(items))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewKind {
    Keys,
    Values,
    Items,
}

impl ViewKind {
    fn type_name(self) -> &'static str {
        match self {
            ViewKind::Keys => "dict_keys",
            ViewKind::Values => "dict_values",
            ViewKind::Items => "dict_items",
        }
    }
}

/// `dict.keys()` / `values()` / `items()` results (render as `dict_keys([...])`).
#[derive(Debug)]
pub struct DictView {
    pub kind: ViewKind,
    pub items: Vec<Value>,
}

impl Object for DictView {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Iterable
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        self.mapped_enumerator(|this| Box::new(this.items.clone().into_iter()))
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.items.len())
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&py_repr(&Value::from_dyn_object(self.clone())).map_err(|_| fmt::Error)?)
    }
}

thread_local! {
    /// The generation of the evaluation running on this thread (0 = none). Borrowed views of
    /// the context ([`JsonDict`], [`JsonList`]) are only readable while their generation runs.
    static GENERATION: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    static NEXT_GENERATION: std::cell::Cell<u64> = const { std::cell::Cell::new(1) };
}

/// Marks the start of an evaluation over a borrowed context; the returned guard ends it.
pub struct BorrowScope {
    previous: u64,
}

impl BorrowScope {
    pub fn enter() -> BorrowScope {
        let gen = NEXT_GENERATION.with(|n| {
            let g = n.get();
            n.set(g + 1);
            g
        });
        let previous = GENERATION.with(|c| c.replace(gen));
        BorrowScope { previous }
    }
}

impl Drop for BorrowScope {
    fn drop(&mut self) {
        GENERATION.with(|c| c.set(self.previous));
    }
}

fn live(gen: u64) -> bool {
    GENERATION.with(|c| c.get() == gen)
}

/// A read-only view of a JSON object of the evaluation context, converted lazily on access
/// (so a large context costs nothing unless read).
#[derive(Debug)]
pub struct JsonDict {
    ptr: *const serde_json::Map<String, serde_json::Value>,
    gen: u64,
    pub type_name: &'static str,
}

/// A read-only view of a JSON array of the evaluation context.
#[derive(Debug)]
pub struct JsonList {
    ptr: *const Vec<serde_json::Value>,
    gen: u64,
}

// SAFETY: the pointers are only dereferenced through `map()`/`items()`, which check that the
// evaluation generation that created them is the one running on the current thread; during
// that evaluation the context they point into is borrowed (and not mutated) by the caller.
unsafe impl Send for JsonDict {}
unsafe impl Sync for JsonDict {}
unsafe impl Send for JsonList {}
unsafe impl Sync for JsonList {}

static EMPTY_MAP: std::sync::OnceLock<serde_json::Map<String, serde_json::Value>> =
    std::sync::OnceLock::new();

impl JsonDict {
    fn map(&self) -> &serde_json::Map<String, serde_json::Value> {
        if live(self.gen) {
            // SAFETY: see the `Send`/`Sync` impls above.
            unsafe { &*self.ptr }
        } else {
            EMPTY_MAP.get_or_init(serde_json::Map::new)
        }
    }
}

impl JsonList {
    fn items(&self) -> &[serde_json::Value] {
        if live(self.gen) {
            // SAFETY: see the `Send`/`Sync` impls above.
            unsafe { &*self.ptr }
        } else {
            &[]
        }
    }
}

/// Python's `a is b` for the `sameas` test: views of the same context node are identical;
/// other containers only when they are the same object; scalars by value and type.
pub fn same_as(a: &Value, b: &Value) -> bool {
    if let (Some(x), Some(y)) = (
        a.downcast_object_ref::<JsonDict>(),
        b.downcast_object_ref::<JsonDict>(),
    ) {
        return std::ptr::eq(x.ptr, y.ptr);
    }
    if let (Some(x), Some(y)) = (
        a.downcast_object_ref::<JsonList>(),
        b.downcast_object_ref::<JsonList>(),
    ) {
        return std::ptr::eq(x.ptr, y.ptr);
    }
    match (a.as_object(), b.as_object()) {
        (Some(_), Some(_)) | (Some(_), None) | (None, Some(_)) => false,
        (None, None) => {
            a.kind() == b.kind()
                && a.is_integer() == b.is_integer()
                && a == b
                && !matches!(a.kind(), ValueKind::Seq | ValueKind::Map)
        }
    }
}

/// A lazily converted view of a borrowed JSON value. Must be called inside a
/// [`BorrowScope`], and `v` must stay borrowed until that scope ends.
pub fn borrow_json(v: &serde_json::Value, root_type: &'static str) -> Value {
    let gen = GENERATION.with(|c| c.get());
    match v {
        serde_json::Value::Array(items) => Value::from_object(JsonList { ptr: items, gen }),
        serde_json::Value::Object(map) => Value::from_object(JsonDict {
            ptr: map,
            gen,
            type_name: root_type,
        }),
        scalar => from_json(scalar),
    }
}

fn borrow_child(v: &serde_json::Value, gen: u64) -> Value {
    match v {
        serde_json::Value::Array(items) => Value::from_object(JsonList { ptr: items, gen }),
        serde_json::Value::Object(map) => Value::from_object(JsonDict {
            ptr: map,
            gen,
            type_name: "dict",
        }),
        scalar => from_json(scalar),
    }
}

impl Object for JsonDict {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let found = key
            .as_str()
            .and_then(|k| self.map().get(k))
            .map(|v| borrow_child(v, self.gen));
        if found.is_none() {
            let name = match key.as_str() {
                Some(s) => str_repr(s),
                None => py_repr(key).unwrap_or_default(),
            };
            record_miss(format!(
                "'{} object' has no attribute {}",
                self.type_name, name
            ));
        }
        found
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        self.mapped_enumerator(|this| Box::new(this.map().keys().map(|k| Value::from(k.as_str()))))
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.map().len())
    }

    fn call_method(
        self: &Arc<Self>,
        state: &minijinja::State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        super::methods::call_py_method(state, &Value::from_dyn_object(self.clone()), method, args)
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&py_repr(&Value::from_dyn_object(self.clone())).map_err(|_| fmt::Error)?)
    }
}

impl Object for JsonList {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let items = self.items();
        let found = key.as_i64().and_then(|i| {
            let len = items.len() as i64;
            let idx = if i < 0 { i + len } else { i };
            if (0..len).contains(&idx) && key.is_integer() {
                Some(borrow_child(&items[idx as usize], self.gen))
            } else {
                None
            }
        });
        if found.is_none() {
            let msg = match key.as_str() {
                Some(s) => format!("'list object' has no attribute {}", str_repr(s)),
                None => format!(
                    "list object has no element {}",
                    py_repr(key).unwrap_or_default()
                ),
            };
            record_miss(msg);
        }
        found
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.items().len())
    }

    fn call_method(
        self: &Arc<Self>,
        state: &minijinja::State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        super::methods::call_py_method(state, &Value::from_dyn_object(self.clone()), method, args)
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&py_repr(&Value::from_dyn_object(self.clone())).map_err(|_| fmt::Error)?)
    }
}

/// Converts a JSON value to a minijinja value made of Python-like dicts and lists.
pub fn from_json(v: &serde_json::Value) -> Value {
    from_json_named(v, "dict")
}

/// Like [`from_json`] with a custom type name for the outermost dict.
pub fn from_json_named(v: &serde_json::Value, root_type: &'static str) -> Value {
    match v {
        serde_json::Value::Null => Value::from(()),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(items) => {
            Value::from_object(PyList(items.iter().map(from_json).collect()))
        }
        serde_json::Value::Object(map) => Value::from_object(PyDict {
            map: map.iter().map(|(k, v)| (k.clone(), from_json(v))).collect(),
            type_name: root_type,
        }),
    }
}

fn undefined_error() -> Error {
    Error::from(ErrorKind::UndefinedError)
}

/// Python `str(v)`.
pub fn py_str(v: &Value) -> Result<String, Error> {
    match v.kind() {
        ValueKind::String => Ok(v.as_str().unwrap_or_default().to_string()),
        _ if v.downcast_object_ref::<LenientUndefined>().is_some() => Ok(String::new()),
        _ => py_repr(v),
    }
}

/// Python `repr(v)`.
pub fn py_repr(v: &Value) -> Result<String, Error> {
    let mut out = String::new();
    write_repr(v, &mut out, 0)?;
    Ok(out)
}

fn number_repr(v: &Value) -> String {
    if v.is_integer() {
        // i128 covers every integer kind minijinja has
        match i128::try_from(v.clone()) {
            Ok(i) => i.to_string(),
            Err(_) => v.to_string(),
        }
    } else {
        float_repr(f64::try_from(v.clone()).unwrap_or(f64::NAN))
    }
}

fn write_repr(v: &Value, out: &mut String, depth: usize) -> Result<(), Error> {
    charge(1, v.as_str().map_or(0, str::len))?;
    if depth > 200 {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "maximum recursion depth exceeded while getting the repr of an object",
        ));
    }
    if let Some(t) = v.downcast_object_ref::<PyTuple>() {
        out.push('(');
        for (i, item) in t.0.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write_repr(item, out, depth + 1)?;
        }
        if t.0.len() == 1 {
            out.push(',');
        }
        out.push(')');
        return Ok(());
    }
    if let Some(r) = v.downcast_object_ref::<PyRange>() {
        out.push_str(&r.python_repr());
        return Ok(());
    }
    if v.downcast_object_ref::<LenientUndefined>().is_some() {
        out.push_str("Undefined");
        return Ok(());
    }
    if let Some(view) = v.downcast_object_ref::<DictView>() {
        out.push_str(view.kind.type_name());
        out.push_str("([");
        for (i, item) in view.items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write_repr(item, out, depth + 1)?;
        }
        out.push_str("])");
        return Ok(());
    }
    match v.kind() {
        ValueKind::Undefined => return Err(undefined_error()),
        ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if v.is_true() { "True" } else { "False" }),
        ValueKind::Number => out.push_str(&number_repr(v)),
        ValueKind::String => {
            let s = v.as_str().unwrap_or_default();
            if v.is_safe() {
                out.push_str("Markup(");
                out.push_str(&str_repr(s));
                out.push(')');
            } else {
                out.push_str(&str_repr(s));
            }
        }
        ValueKind::Bytes => out.push_str(&format!("b{}", str_repr(&v.to_string()))),
        ValueKind::Seq => {
            out.push('[');
            for (i, item) in v.try_iter()?.enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(&item, out, depth + 1)?;
            }
            out.push(']');
        }
        ValueKind::Map => {
            out.push('{');
            for (i, key) in v.try_iter()?.enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(&key, out, depth + 1)?;
                out.push_str(": ");
                let item = v.get_item(&key)?;
                write_repr(&item, out, depth + 1)?;
            }
            out.push('}');
        }
        ValueKind::Iterable => out.push_str("<generator object at 0x7f0000000000>"),
        _ => out.push_str(&format!("<function {v} at 0x7f0000000000>")),
    }
    Ok(())
}

/// The key of a dict as `json.dumps` writes it.
fn json_key(k: &Value) -> Result<String, Error> {
    match k.kind() {
        ValueKind::String => Ok(k.as_str().unwrap_or_default().to_string()),
        ValueKind::None => Ok("null".into()),
        ValueKind::Bool => Ok(if k.is_true() { "true" } else { "false" }.into()),
        ValueKind::Number => Ok(number_repr(k)),
        _ => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "keys must be str, int, float, bool or None, not {}",
                py_type_name(k)
            ),
        )),
    }
}

/// Converts a result to JSON as Mistral persists it (generators and tuples become lists).
pub fn to_json(v: &Value) -> Result<serde_json::Value, Error> {
    to_json_depth(v, 0)
}

fn to_json_depth(v: &Value, depth: usize) -> Result<serde_json::Value, Error> {
    charge(1, v.as_str().map_or(0, str::len))?;
    if depth > 500 {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "maximum recursion depth exceeded",
        ));
    }
    Ok(match v.kind() {
        ValueKind::Undefined => return Err(undefined_error()),
        ValueKind::None => serde_json::Value::Null,
        ValueKind::Bool => serde_json::Value::Bool(v.is_true()),
        ValueKind::Number => {
            if v.is_integer() {
                if let Some(i) = v.as_i64() {
                    serde_json::Value::from(i)
                } else if let Ok(u) = u64::try_from(v.clone()) {
                    serde_json::Value::from(u)
                } else {
                    let f = f64::try_from(v.clone()).unwrap_or(f64::NAN);
                    serde_json::Number::from_f64(f)
                        .map(serde_json::Value::Number)
                        .unwrap_or(serde_json::Value::Null)
                }
            } else {
                let f = f64::try_from(v.clone()).unwrap_or(f64::NAN);
                match serde_json::Number::from_f64(f) {
                    Some(n) => serde_json::Value::Number(n),
                    None => {
                        return Err(Error::new(
                            ErrorKind::InvalidOperation,
                            format!(
                                "Out of range float values are not JSON compliant: {}",
                                float_repr(f)
                            ),
                        ))
                    }
                }
            }
        }
        ValueKind::String => serde_json::Value::String(v.as_str().unwrap_or_default().to_string()),
        ValueKind::Bytes => serde_json::Value::String(v.to_string()),
        ValueKind::Seq | ValueKind::Iterable => serde_json::Value::Array(
            v.try_iter()?
                .map(|item| to_json_depth(&item, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        ValueKind::Map => {
            let mut map = serde_json::Map::new();
            for key in v.try_iter()? {
                let item = v.get_item(&key)?;
                map.insert(json_key(&key)?, to_json_depth(&item, depth + 1)?);
            }
            serde_json::Value::Object(map)
        }
        _ => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "Object of type {} is not JSON serializable",
                    py_type_name(v)
                ),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repr_of_converted_json_matches_python() {
        let v = from_json(&json!({"a": [1, "x", null, true, 2.5], "b": {}}));
        assert_eq!(
            py_str(&v).unwrap(),
            "{'a': [1, 'x', None, True, 2.5], 'b': {}}"
        );
        assert_eq!(py_str(&tuple(vec![Value::from(1)])).unwrap(), "(1,)");
        assert_eq!(
            py_str(&Value::from_object(DictView {
                kind: ViewKind::Keys,
                items: vec![Value::from("a")]
            }))
            .unwrap(),
            "dict_keys(['a'])"
        );
    }

    #[test]
    fn missing_dict_key_records_jinja_message() {
        clear_miss();
        let v = from_json_named(&json!({"a": 1}), "mistral.workflow.data_flow.ContextView");
        assert!(v.get_attr("zz").unwrap().is_undefined());
        assert_eq!(
            take_miss().unwrap(),
            "'mistral.workflow.data_flow.ContextView object' has no attribute 'zz'"
        );
        let l = from_json(&json!([1]));
        assert!(l.get_item(&Value::from(5)).unwrap().is_undefined());
        assert_eq!(take_miss().unwrap(), "list object has no element 5");
    }

    #[test]
    fn borrowed_views_read_lazily_and_die_with_their_scope() {
        let ctx = json!({"a": {"b": [1, {"c": "d"}]}});
        let escaped;
        {
            let _scope = BorrowScope::enter();
            let v = borrow_json(&ctx, "dict");
            let c = v
                .get_attr("a")
                .unwrap()
                .get_attr("b")
                .unwrap()
                .get_item(&Value::from(1))
                .unwrap();
            assert_eq!(py_str(&c).unwrap(), "{'c': 'd'}");
            assert_eq!(to_json(&v).unwrap(), ctx);
            escaped = v;
        }
        // outside its evaluation a view reads as empty instead of touching freed memory
        assert_eq!(to_json(&escaped).unwrap(), json!({}));
    }

    #[test]
    fn to_json_round_trips_and_lists_tuples() {
        let src = json!({"a": [1, 2.0, "x"], "b": null});
        assert_eq!(to_json(&from_json(&src)).unwrap(), src);
        assert_eq!(to_json(&tuple(vec![Value::from(1)])).unwrap(), json!([1]));
        assert!(to_json(&Value::UNDEFINED).is_err());
    }
}
