//! The interpreter's internal value model: JSON-like data plus the extra Python types yaql
//! produces (sets, datetimes, timespans, compiled regexes, infinite generators).

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use indexmap::{IndexMap, IndexSet};

use crate::pyfmt;
use crate::{Error, ErrorKind};

pub type Map = IndexMap<V, V>;
pub type Set = IndexSet<V>;

/// A compiled regular expression (yaql `regex(...)`).
#[derive(Debug)]
pub struct Regex {
    pub pattern: String,
    pub flags: u8,
    pub re: fancy_regex::Regex,
}

/// An endless generator value (`sequence()`, `cycle()`, `repeat()` without a count).
#[derive(Debug, Clone)]
pub enum Gen {
    Sequence { start: V, step: V },
    Cycle(Arc<Vec<V>>),
    Repeat(V),
}

#[derive(Debug, Clone)]
pub enum V {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    List(Arc<Vec<V>>),
    Dict(Arc<Map>),
    Set(Arc<Set>),
    DateTime(DateTime<FixedOffset>),
    /// Microseconds.
    TimeSpan(i64),
    Regex(Arc<Regex>),
    Gen(Arc<Gen>),
    /// The (already computed) output of a lazy yaql query: iterable, always truthy, not
    /// indexable, never equal to a list.
    Iter(Arc<Vec<V>>),
}

impl V {
    pub fn str(s: &str) -> V {
        V::Str(Arc::from(s))
    }
    pub fn string(s: String) -> V {
        V::Str(Arc::from(s))
    }
    pub fn list(v: Vec<V>) -> V {
        V::List(Arc::new(v))
    }
    pub fn iter(v: Vec<V>) -> V {
        V::Iter(Arc::new(v))
    }
    pub fn dict(m: Map) -> V {
        V::Dict(Arc::new(m))
    }
    pub fn set(s: Set) -> V {
        V::Set(Arc::new(s))
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            V::Null => "NoneType",
            V::Bool(_) => "bool",
            V::Int(_) => "int",
            V::Float(_) => "float",
            V::Str(_) => "str",
            V::List(_) => "tuple",
            V::Dict(_) => "FrozenDict",
            V::Set(_) => "frozenset",
            V::DateTime(_) => "datetime",
            V::TimeSpan(_) => "timedelta",
            V::Regex(_) => "Pattern",
            V::Gen(_) | V::Iter(_) => "generator",
        }
    }

    /// Python truthiness.
    pub fn truthy(&self) -> bool {
        match self {
            V::Null => false,
            V::Bool(b) => *b,
            V::Int(i) => *i != 0,
            V::Float(f) => *f != 0.0,
            V::Str(s) => !s.is_empty(),
            V::List(l) => !l.is_empty(),
            V::Dict(d) => !d.is_empty(),
            V::Set(s) => !s.is_empty(),
            V::TimeSpan(t) => *t != 0,
            _ => true,
        }
    }

    /// A number in yaql's sense (int or float, not bool).
    pub fn is_number(&self) -> bool {
        matches!(self, V::Int(_) | V::Float(_))
    }

    /// yaql `Iterable`: lists, sets and generators (not strings, not dicts).
    pub fn is_iterable(&self) -> bool {
        matches!(self, V::List(_) | V::Set(_) | V::Gen(_) | V::Iter(_))
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            V::Int(i) => Some(*i as f64),
            V::Float(f) => Some(*f),
            V::Bool(b) => Some(*b as i64 as f64),
            _ => None,
        }
    }

    pub fn from_json(j: &serde_json::Value, depth: usize) -> Result<V, Error> {
        stacker::maybe_grow(32 * 1024, 1024 * 1024, || V::from_json_inner(j, depth))
    }

    fn from_json_inner(j: &serde_json::Value, depth: usize) -> Result<V, Error> {
        if depth > crate::MAX_DEPTH {
            return Err(Error::new(
                ErrorKind::Limit,
                "maximum recursion depth exceeded while converting input data",
            ));
        }
        Ok(match j {
            serde_json::Value::Null => V::Null,
            serde_json::Value::Bool(b) => V::Bool(*b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    V::Int(i)
                } else if let Some(u) = n.as_u64() {
                    V::Float(u as f64)
                } else {
                    V::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            serde_json::Value::String(s) => V::str(s),
            serde_json::Value::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                for x in a {
                    out.push(V::from_json(x, depth + 1)?);
                }
                V::list(out)
            }
            serde_json::Value::Object(o) => {
                let mut m = Map::with_capacity(o.len());
                for (k, v) in o {
                    m.insert(V::str(k), V::from_json(v, depth + 1)?);
                }
                V::dict(m)
            }
        })
    }

    /// Output conversion (tuples/sets/generators -> lists, dicts -> objects with string keys).
    pub fn to_json(&self, depth: usize) -> Result<serde_json::Value, Error> {
        stacker::maybe_grow(32 * 1024, 1024 * 1024, || self.to_json_inner(depth))
    }

    fn to_json_inner(&self, depth: usize) -> Result<serde_json::Value, Error> {
        if depth > crate::MAX_DEPTH {
            return Err(Error::new(
                ErrorKind::Limit,
                "maximum recursion depth exceeded while converting output data",
            ));
        }
        Ok(match self {
            V::Null => serde_json::Value::Null,
            V::Bool(b) => serde_json::Value::Bool(*b),
            V::Int(i) => serde_json::Value::from(*i),
            V::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => serde_json::Value::Number(n),
                None => {
                    return Err(Error::new(
                        ErrorKind::Evaluation,
                        format!(
                            "Out of range float values are not JSON compliant: {}",
                            pyfmt::float_repr(*f)
                        ),
                    ))
                }
            },
            V::Str(s) => serde_json::Value::String(s.to_string()),
            V::List(l) | V::Iter(l) => serde_json::Value::Array(
                l.iter()
                    .map(|x| x.to_json(depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            V::Set(s) => {
                // yaql rebuilds sets on output: elements that became lists/dicts are unhashable
                for x in s.iter() {
                    if let V::List(_) | V::Iter(_) | V::Dict(_) | V::Set(_) = x {
                        let t = match x {
                            V::Dict(_) => "dict",
                            V::Set(_) => "set",
                            _ => "list",
                        };
                        return Err(Error::new(
                            ErrorKind::Evaluation,
                            format!("unhashable type: '{}'", t),
                        ));
                    }
                }
                serde_json::Value::Array(
                    s.iter()
                        .map(|x| x.to_json(depth + 1))
                        .collect::<Result<_, _>>()?,
                )
            }
            V::Dict(d) => {
                let mut o = serde_json::Map::with_capacity(d.len());
                for (k, v) in d.iter() {
                    let key = match k {
                        V::Str(s) => s.to_string(),
                        V::Int(i) => i.to_string(),
                        V::Float(f) => pyfmt::float_repr(*f),
                        V::Bool(b) => if *b { "true" } else { "false" }.to_string(),
                        V::Null => "null".to_string(),
                        other => {
                            return Err(Error::new(
                                ErrorKind::Evaluation,
                                format!(
                                    "keys must be str, int, float, bool or None, not {}",
                                    other.type_name()
                                ),
                            ))
                        }
                    };
                    o.insert(key, v.to_json(depth + 1)?);
                }
                serde_json::Value::Object(o)
            }
            // persisted the way oslo's to_primitive renders datetimes
            V::DateTime(d) => {
                serde_json::Value::String(d.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())
            }
            V::TimeSpan(_) => serde_json::Value::String(pyfmt::py_str(self)),
            V::Regex(_) => {
                return Err(Error::new(
                    ErrorKind::Evaluation,
                    "Object of type Pattern is not JSON serializable",
                ))
            }
            V::Gen(_) => {
                return Err(Error::new(
                    ErrorKind::Limit,
                    "cannot convert an endless generator to a list",
                ))
            }
        })
    }
}

fn hash_f64<H: Hasher>(f: f64, state: &mut H) {
    if f.fract() == 0.0 && f.abs() < 9.2e18 {
        0u8.hash(state);
        (f as i64).hash(state);
    } else {
        1u8.hash(state);
        f.to_bits().hash(state);
    }
}

impl Hash for V {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            V::Null => 9u8.hash(state),
            V::Bool(b) => {
                0u8.hash(state);
                (*b as i64).hash(state)
            }
            V::Int(i) => {
                0u8.hash(state);
                i.hash(state)
            }
            V::Float(f) => hash_f64(*f, state),
            V::Str(s) => {
                2u8.hash(state);
                s.hash(state)
            }
            V::List(l) => {
                3u8.hash(state);
                l.len().hash(state);
                for x in l.iter() {
                    x.hash(state);
                }
            }
            V::Dict(d) => {
                4u8.hash(state);
                d.len().hash(state);
            }
            V::Set(s) => {
                5u8.hash(state);
                s.len().hash(state);
            }
            V::DateTime(d) => {
                6u8.hash(state);
                d.timestamp_micros().hash(state)
            }
            V::TimeSpan(t) => {
                7u8.hash(state);
                t.hash(state)
            }
            V::Regex(r) => {
                8u8.hash(state);
                r.pattern.hash(state)
            }
            V::Gen(_) => 10u8.hash(state),
            V::Iter(l) => {
                11u8.hash(state);
                (Arc::as_ptr(l) as usize).hash(state)
            }
        }
    }
}

impl PartialEq for V {
    fn eq(&self, other: &V) -> bool {
        use V::*;
        match (self, other) {
            (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            (Bool(a), Int(b)) | (Int(b), Bool(a)) => *a as i64 == *b,
            (Bool(a), Float(b)) | (Float(b), Bool(a)) => (*a as i64 as f64) == *b,
            (Int(a), Int(b)) => a == b,
            (Int(a), Float(b)) | (Float(b), Int(a)) => (*a as f64) == *b,
            (Float(a), Float(b)) => a == b,
            (Str(a), Str(b)) => a == b,
            (List(a), List(b)) => a == b,
            (Dict(a), Dict(b)) => a.len() == b.len() && a.iter().all(|(k, v)| b.get(k) == Some(v)),
            (Set(a), Set(b)) => a.len() == b.len() && a.iter().all(|k| b.contains(k)),
            (DateTime(a), DateTime(b)) => a == b,
            (TimeSpan(a), TimeSpan(b)) => a == b,
            (Regex(a), Regex(b)) => a.pattern == b.pattern && a.flags == b.flags,
            (Gen(a), Gen(b)) => Arc::ptr_eq(a, b),
            (Iter(a), Iter(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for V {}

/// Python-like `<` ordering for yaql's comparison operators and sorting; `None` when the
/// operands are not comparable.
pub fn py_cmp(a: &V, b: &V) -> Option<Ordering> {
    use V::*;
    match (a, b) {
        (Int(x), Int(y)) => Some(x.cmp(y)),
        (Int(_) | Float(_) | Bool(_), Int(_) | Float(_) | Bool(_)) => {
            let (x, y) = (a.as_f64()?, b.as_f64()?);
            x.partial_cmp(&y)
        }
        (Str(x), Str(y)) => Some(x.as_ref().cmp(y.as_ref())),
        (DateTime(x), DateTime(y)) => Some(x.cmp(y)),
        (TimeSpan(x), TimeSpan(y)) => Some(x.cmp(y)),
        (List(x), List(y)) => {
            for (p, q) in x.iter().zip(y.iter()) {
                if p != q {
                    return py_cmp(p, q);
                }
            }
            Some(x.len().cmp(&y.len()))
        }
        _ => None,
    }
}
