//! A standalone YAQL interpreter.
//!
//! Public contract (other crates code against exactly this surface):
//!
//! ```ignore
//! let mut engine = yaql::Engine::new();            // yaql 3.x stdlib, configured as Mistral does
//! engine.register_function("env", Arc::new(|call: &yaql::Call| -> Result<Value, yaql::Error> { .. }));
//! let v = engine.evaluate("$.a + 1", &json!({"a": 1}))?;                 // -> json!(2)
//! let v = engine.evaluate_with("env().x", &data, &my_user_data)?;        // user data reaches functions
//! yaql::Engine::check_syntax("$.a +")?;                                   // parse only
//! ```
//!
//! Values cross the boundary as `serde_json::Value`. Mistral runs yaql with
//! convertTuplesToLists=true, convertSetsToLists=false, iterableDicts=false,
//! limitIterators=-1, memoryQuota=-1, keyword operator `=>`, delegates off. At this JSON
//! boundary the result is converted the way Mistral persists it: tuples and query iterators
//! become lists, sets become lists (in insertion order; Python's order is arbitrary), datetimes
//! become `%Y-%m-%dT%H:%M:%S.%f` strings (oslo `to_primitive`), timespans their Python `str()`.
//! A set holding lists/dicts fails like yaql's output conversion (`unhashable type: 'list'`,
//! e.g. `$.d.items()`). For `<% %>` interpolation inside a longer string use
//! [`Engine::evaluate_to_python_str`] (Python `str()` of the result: `None`, `{'a': 1}`,
//! `{1, 2}`, `2020-01-02 00:00:00+00:00`).
//!
//! Safety limits (all [`ErrorKind::Limit`]): data nesting [`MAX_DEPTH`], expression nesting
//! [`MAX_PARSE_DEPTH`], evaluation/recursion depth [`MAX_EVAL_DEPTH`], collection size
//! [`MAX_ITEMS`], string size [`MAX_STRING`], integers beyond 64 bits, materialising an endless
//! generator. Parsed expressions are cached ([`PARSE_CACHE_SIZE`] entries, thread-safe).

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

pub use serde_json::Value;

mod eval;
#[allow(clippy::enum_variant_names)]
mod parser;
mod pyfmt;
mod stdlib;
mod value;

/// Deepest nesting of data (input or output) the interpreter accepts.
pub const MAX_DEPTH: usize = 400;
/// Deepest expression nesting accepted by the parser.
pub const MAX_PARSE_DEPTH: usize = 200;
/// Deepest evaluation nesting (expressions, lambdas, recursive `def` functions).
pub const MAX_EVAL_DEPTH: usize = 600;
/// Largest collection an expression may build.
pub const MAX_ITEMS: usize = 5_000_000;
/// Largest string (bytes) an expression may build.
pub const MAX_STRING: usize = 50_000_000;
/// Parsed expressions kept in the cache.
pub const PARSE_CACHE_SIZE: usize = 4096;

/// What went wrong, in yaql's own categories (the expression layer maps them to Mistral's
/// errors; tests compare error *kinds* against Python yaql).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not a valid expression (yaql `YaqlGrammarException` / `YaqlLexicalException`).
    Syntax,
    /// No function or method of that name/arity/argument types (`NoFunctionRegisteredException`,
    /// `NoMatchingFunctionException`, `NoMatchingMethodException`).
    NoFunction,
    /// A runtime failure inside a function or operator (type errors, division by zero,
    /// key errors on `dict.get`, regex errors, ...).
    Evaluation,
    /// A configured limit was hit (recursion depth, collection size, memory quota).
    Limit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    /// A yaql-like message, e.g. `Parse error: unexpected '+' at position 3`.
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// The protocol name of the kind: `syntax`, `no_function`, `evaluation` or `limit`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            ErrorKind::Syntax => "syntax",
            ErrorKind::NoFunction => "no_function",
            ErrorKind::Evaluation => "evaluation",
            ErrorKind::Limit => "limit",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// One call of a host-registered function.
pub struct Call<'a> {
    /// Positional arguments; for method syntax `x.f(a)` the receiver `x` is `args[0]`.
    pub args: Vec<Value>,
    /// Keyword arguments (`f(name => value)`), in call order.
    pub kwargs: Vec<(String, Value)>,
    /// The root data of the evaluation (`$` at the outermost scope).
    pub data: &'a Value,
    /// Whatever the host passed to [`Engine::evaluate_with`].
    pub user: &'a (dyn Any + Send + Sync),
}

pub type HostFunction = Arc<dyn Fn(&Call) -> Result<Value, Error> + Send + Sync>;

/// A configured interpreter: the standard library, host functions and a parse cache.
/// Cheap to share (`Arc<Engine>`); evaluation takes `&self` and is thread-safe.
pub struct Engine {
    host: HashMap<String, HostFunction>,
    cache: parking_lot::RwLock<HashMap<String, Arc<parser::Expr>>>,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine {
    /// The yaql 3.x standard library with the options Mistral uses.
    pub fn new() -> Self {
        Engine {
            host: HashMap::new(),
            cache: parking_lot::RwLock::new(HashMap::new()),
        }
    }

    /// Adds (or replaces) a global function callable as `name(...)` and as method `x.name(...)`.
    pub fn register_function(&mut self, name: &str, f: HostFunction) {
        self.host.insert(name.to_string(), f);
    }

    fn parsed(&self, expr: &str) -> Result<Arc<parser::Expr>, Error> {
        if let Some(e) = self.cache.read().get(expr) {
            return Ok(e.clone());
        }
        let e = Arc::new(parser::parse(expr)?);
        let mut c = self.cache.write();
        if c.len() >= PARSE_CACHE_SIZE {
            c.clear();
        }
        c.insert(expr.to_string(), e.clone());
        Ok(e)
    }

    /// Parses only; the parsed expression is cached for later evaluation.
    pub fn check_syntax(&self, expr: &str) -> Result<(), Error> {
        self.parsed(expr).map(|_| ())
    }

    pub fn evaluate(&self, expr: &str, data: &Value) -> Result<Value, Error> {
        self.evaluate_with(expr, data, &())
    }

    pub fn evaluate_with(
        &self,
        expr: &str,
        data: &Value,
        user: &(dyn Any + Send + Sync),
    ) -> Result<Value, Error> {
        let ast = self.parsed(expr)?;
        let root = value::V::from_json(data, 0)?;
        let scope = eval::Scope::root(root);
        let mut ev = eval::Ev {
            engine: self,
            data,
            user,
            depth: 0,
        };
        let v = ev.eval(&scope, &ast)?;
        v.to_json(0)
    }

    /// Evaluates and renders the result with Python `str()` the way Mistral interpolates a
    /// `<% %>` expression inside a longer string: `None`, `True`, `[1, 2]`, `{'a': 1}`,
    /// sets as `{1, 2}`, datetimes as `2020-01-02 00:00:00+00:00`. Errors are those of
    /// [`Engine::evaluate_with`] (including the output-conversion failures).
    pub fn evaluate_to_python_str(
        &self,
        expr: &str,
        data: &Value,
        user: &(dyn Any + Send + Sync),
    ) -> Result<String, Error> {
        let ast = self.parsed(expr)?;
        let root = value::V::from_json(data, 0)?;
        let scope = eval::Scope::root(root);
        let mut ev = eval::Ev {
            engine: self,
            data,
            user,
            depth: 0,
        };
        let v = ev.eval(&scope, &ast)?;
        // the same conversion checks as the JSON boundary (unhashable set items, endless
        // generators), then Python's rendering
        v.to_json(0)?;
        Ok(pyfmt::py_str_json_style(&v))
    }

    /// Python `str()` of an evaluation result as Mistral renders it when interpolating
    /// `<% %>` inside a longer string (`None`, `True`, `{'a': 1}`, `[1, 2]`).
    pub fn python_str(v: &Value) -> String {
        match value::V::from_json(v, 0) {
            Ok(x) => pyfmt::py_str_json_style(&x),
            Err(_) => String::from("..."),
        }
    }
}

#[cfg(test)]
mod tests;
