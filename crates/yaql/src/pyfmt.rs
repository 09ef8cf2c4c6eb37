//! Python `str()` / `repr()` renderings of values (used by yaql's `str()`, `join`, string
//! formatting and the output of datetimes).

use crate::value::V;

/// Python `repr(float)`: shortest round-trip digits, exponent form outside [1e-4, 1e16).
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: d[.ddd]e[-]x
    let s = format!("{:e}", f);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let mant = mant.trim_start_matches('-');
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let sign = if neg { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        if exp >= 0 {
            if n <= exp + 1 {
                let zeros = "0".repeat((exp + 1 - n) as usize);
                format!("{sign}{digits}{zeros}.0")
            } else {
                let (a, b) = digits.split_at((exp + 1) as usize);
                format!("{sign}{a}.{b}")
            }
        } else {
            let zeros = "0".repeat((-exp - 1) as usize);
            format!("{sign}0.{zeros}{digits}")
        }
    } else {
        let m = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits.clone()
        };
        let es = if exp < 0 { "-" } else { "+" };
        format!("{sign}{m}e{es}{:02}", exp.abs())
    }
}

/// Python `repr(str)`.
pub fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c => {
                let n = c as u32;
                if n < 0x100 {
                    out.push_str(&format!("\\x{:02x}", n));
                } else if n < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", n));
                } else {
                    out.push_str(&format!("\\U{:08x}", n));
                }
            }
        }
    }
    out.push(quote);
    out
}

fn is_printable(c: char) -> bool {
    let n = c as u32;
    if n < 0x20 || n == 0x7f {
        return false;
    }
    if (0x80..0xa0).contains(&n) || n == 0xad {
        return false;
    }
    // Separators and other non-printables (approximation of Python's unicodedata rules).
    if matches!(n, 0x2028 | 0x2029 | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2064 | 0xfeff) {
        return false;
    }
    if c.is_whitespace() && c != ' ' {
        return false;
    }
    if (0xd800..0xe000).contains(&n) || (0xe000..0xf900).contains(&n) {
        return false;
    }
    true
}

fn fmt_offset(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.abs();
    let (h, m, s) = (a / 3600, (a % 3600) / 60, a % 60);
    if s != 0 {
        format!("{sign}{h:02}:{m:02}:{s:02}")
    } else {
        format!("{sign}{h:02}:{m:02}")
    }
}

pub fn datetime_str(d: &chrono::DateTime<chrono::FixedOffset>) -> String {
    use chrono::{Datelike, Timelike};
    let mut s = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        d.year(),
        d.month(),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    );
    let us = d.nanosecond() / 1000;
    if us != 0 {
        s.push_str(&format!(".{:06}", us));
    }
    s.push_str(&fmt_offset(d.offset().local_minus_utc()));
    s
}

/// Python `str(timedelta)`.
pub fn timespan_str(us: i64) -> String {
    let days = us.div_euclid(86_400_000_000);
    let rem = us.rem_euclid(86_400_000_000);
    let secs = rem / 1_000_000;
    let micro = rem % 1_000_000;
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if days != 0 {
        out.push_str(&format!(
            "{} day{}, ",
            days,
            if days.abs() != 1 { "s" } else { "" }
        ));
    }
    out.push_str(&format!("{h}:{m:02}:{s:02}"));
    if micro != 0 {
        out.push_str(&format!(".{:06}", micro));
    }
    out
}

/// Python `str()` of the internal value (lists are tuples, dicts FrozenDicts, sets frozensets).
pub fn py_str(v: &V) -> String {
    match v {
        V::Str(s) => s.to_string(),
        V::DateTime(d) => datetime_str(d),
        V::TimeSpan(t) => timespan_str(*t),
        _ => py_repr(v),
    }
}

pub fn py_repr(v: &V) -> String {
    let mut out = String::new();
    repr_into(v, &mut out, 0);
    out
}

fn repr_into(v: &V, out: &mut String, depth: usize) {
    if depth > crate::MAX_DEPTH {
        out.push_str("...");
        return;
    }
    match v {
        V::Null => out.push_str("None"),
        V::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        V::Int(i) => out.push_str(&i.to_string()),
        V::Float(f) => out.push_str(&float_repr(*f)),
        V::Str(s) => out.push_str(&str_repr(s)),
        V::List(l) => {
            out.push('(');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                repr_into(x, out, depth + 1);
            }
            if l.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        V::Dict(d) => {
            out.push('{');
            for (i, (k, x)) in d.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                repr_into(k, out, depth + 1);
                out.push_str(": ");
                repr_into(x, out, depth + 1);
            }
            out.push('}');
        }
        V::Set(s) => {
            if s.is_empty() {
                out.push_str("frozenset()");
                return;
            }
            out.push_str("frozenset({");
            for (i, x) in s.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                repr_into(x, out, depth + 1);
            }
            out.push_str("})");
        }
        V::DateTime(d) => {
            use chrono::{Datelike, Timelike};
            out.push_str(&format!(
                "datetime.datetime({}, {}, {}, {}, {}",
                d.year(),
                d.month(),
                d.day(),
                d.hour(),
                d.minute()
            ));
            let us = d.nanosecond() / 1000;
            if d.second() != 0 || us != 0 {
                out.push_str(&format!(", {}", d.second()));
            }
            if us != 0 {
                out.push_str(&format!(", {}", us));
            }
            out.push_str(", tzinfo=tzutc())");
        }
        V::TimeSpan(t) => {
            let days = t.div_euclid(86_400_000_000);
            let rem = t.rem_euclid(86_400_000_000);
            let (s, us) = (rem / 1_000_000, rem % 1_000_000);
            let mut parts = vec![];
            if days != 0 {
                parts.push(format!("days={days}"));
            }
            if s != 0 {
                parts.push(format!("seconds={s}"));
            }
            if us != 0 {
                parts.push(format!("microseconds={us}"));
            }
            if parts.is_empty() {
                parts.push("0".into());
            }
            out.push_str(&format!("datetime.timedelta({})", parts.join(", ")));
        }
        V::Regex(r) => {
            out.push_str("re.compile(");
            out.push_str(&str_repr(&r.pattern));
            out.push(')');
        }
        V::Gen(_) | V::Iter(_) => out.push_str("<generator object>"),
    }
}

/// Python `str()` of a result after yaql's output conversion (lists as `[..]`, dicts as
/// `{..}`, sets as `{..}`/`set()`), as Mistral renders it when interpolating.
pub fn py_str_json_style(v: &V) -> String {
    match v {
        V::Str(s) => s.to_string(),
        V::DateTime(_) | V::TimeSpan(_) => py_str(v),
        _ => {
            let mut out = String::new();
            json_repr_into(v, &mut out, 0);
            out
        }
    }
}

fn json_repr_into(v: &V, out: &mut String, depth: usize) {
    if depth > crate::MAX_DEPTH {
        out.push_str("...");
        return;
    }
    match v {
        V::Set(st) => {
            if st.is_empty() {
                out.push_str("set()");
                return;
            }
            out.push('{');
            for (i, x) in st.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json_repr_into(x, out, depth + 1);
            }
            out.push('}');
        }
        V::List(l) | V::Iter(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json_repr_into(x, out, depth + 1);
            }
            out.push(']');
        }
        V::Dict(d) => {
            out.push('{');
            for (i, (k, x)) in d.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json_repr_into(k, out, depth + 1);
                out.push_str(": ");
                json_repr_into(x, out, depth + 1);
            }
            out.push('}');
        }
        other => repr_into(other, out, depth),
    }
}

/// yaql's `str()` function: null/true/false spelled the yaql way at the top level only.
pub fn yaql_str(v: &V) -> String {
    match v {
        V::Null => "null".into(),
        V::Bool(true) => "true".into(),
        V::Bool(false) => "false".into(),
        _ => py_str(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_matches_python() {
        assert_eq!(float_repr(2.0), "2.0");
        assert_eq!(float_repr(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(float_repr(1e16), "1e+16");
        assert_eq!(float_repr(1.5e16), "1.5e+16");
        assert_eq!(float_repr(1e-5), "1e-05");
        assert_eq!(float_repr(0.0001), "0.0001");
        assert_eq!(float_repr(123456.789), "123456.789");
        assert_eq!(float_repr(-3.5), "-3.5");
    }

    #[test]
    fn string_repr_picks_quotes_like_python() {
        assert_eq!(str_repr("a"), "'a'");
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(str_repr("a'\""), "'a\\'\"'");
        assert_eq!(str_repr("x\ny"), "'x\\ny'");
    }

    #[test]
    fn timespan_str_matches_python() {
        assert_eq!(timespan_str(0), "0:00:00");
        assert_eq!(timespan_str(86_400_000_000 + 5_000_000), "1 day, 0:00:05");
        assert_eq!(timespan_str(-1_000_000), "-1 day, 23:59:59");
    }
}
