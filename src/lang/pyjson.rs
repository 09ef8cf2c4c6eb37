//! Python 3.11 `json.loads` for the DSL's inline values and `with-items` list literals:
//! same accepted grammar and the same error texts (`Expecting value: line 1 column 2 (char 1)`).

use serde_json::{Map, Number, Value};

struct P<'a> {
    s: &'a [char],
    depth: std::cell::Cell<usize>,
}

/// Python's json decoder recurses per nesting level and stops at the interpreter's
/// recursion limit; stop well before our own stack would.
const MAX_DEPTH: usize = 400;

const DEPTH_MSG: &str =
    "maximum recursion depth exceeded while decoding a JSON array from a unicode string";

type R<T> = Result<T, (String, usize)>;

const NUMBER_END: fn(char) -> bool = |c| !c.is_ascii_digit();

impl P<'_> {
    fn ws(&self, mut i: usize) -> usize {
        while i < self.s.len() && matches!(self.s[i], ' ' | '\t' | '\n' | '\r') {
            i += 1;
        }
        i
    }

    fn starts(&self, i: usize, lit: &str) -> bool {
        let l: Vec<char> = lit.chars().collect();
        self.s.len() >= i + l.len() && self.s[i..i + l.len()] == l[..]
    }

    fn value(&self, i: usize) -> R<(Value, usize)> {
        let c = match self.s.get(i) {
            Some(c) => *c,
            None => return Err(("Expecting value".into(), i)),
        };
        match c {
            '"' => {
                let (s, e) = self.string(i + 1, i)?;
                Ok((Value::String(s), e))
            }
            '{' | '[' => {
                if self.depth.get() >= MAX_DEPTH {
                    return Err((DEPTH_MSG.into(), usize::MAX));
                }
                self.depth.set(self.depth.get() + 1);
                let r = if c == '{' {
                    self.object(i + 1)
                } else {
                    self.array(i + 1)
                };
                self.depth.set(self.depth.get() - 1);
                r
            }
            'n' if self.starts(i, "null") => Ok((Value::Null, i + 4)),
            't' if self.starts(i, "true") => Ok((Value::Bool(true), i + 4)),
            'f' if self.starts(i, "false") => Ok((Value::Bool(false), i + 5)),
            // Python accepts these; JSON values cannot hold them: keep their spelling.
            'N' if self.starts(i, "NaN") => Ok((Value::String("NaN".into()), i + 3)),
            'I' if self.starts(i, "Infinity") => Ok((Value::String("Infinity".into()), i + 8)),
            '-' if self.starts(i, "-Infinity") => Ok((Value::String("-Infinity".into()), i + 9)),
            _ => self.number(i),
        }
    }

    /// `-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?` at `i`.
    fn number(&self, i: usize) -> R<(Value, usize)> {
        let s = self.s;
        let mut j = i;
        if s.get(j) == Some(&'-') {
            j += 1;
        }
        match s.get(j) {
            Some('0') => j += 1,
            Some(c) if c.is_ascii_digit() => {
                while j < s.len() && s[j].is_ascii_digit() {
                    j += 1;
                }
            }
            _ => return Err(("Expecting value".into(), i)),
        }
        let int_end = j;
        let mut is_float = false;
        if s.get(j) == Some(&'.') && s.get(j + 1).map(|c| c.is_ascii_digit()).unwrap_or(false) {
            j += 1;
            while j < s.len() && !NUMBER_END(s[j]) {
                j += 1;
            }
            is_float = true;
        }
        if matches!(s.get(j), Some('e') | Some('E')) {
            let mut k = j + 1;
            if matches!(s.get(k), Some('+') | Some('-')) {
                k += 1;
            }
            if s.get(k).map(|c| c.is_ascii_digit()).unwrap_or(false) {
                while k < s.len() && s[k].is_ascii_digit() {
                    k += 1;
                }
                j = k;
                is_float = true;
            }
        }
        let text: String = s[i..j].iter().collect();
        let v = if is_float {
            text.parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .unwrap_or(Value::Null)
        } else if let Ok(n) = text.parse::<i64>() {
            Value::Number(n.into())
        } else if let Ok(n) = text.parse::<u64>() {
            Value::Number(n.into())
        } else {
            let _ = int_end;
            text.parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .unwrap_or(Value::Null)
        };
        Ok((v, j))
    }

    /// After the opening quote at `start`.
    fn string(&self, mut i: usize, start: usize) -> R<(String, usize)> {
        let s = self.s;
        let mut out = String::new();
        loop {
            let c = match s.get(i) {
                Some(c) => *c,
                None => return Err(("Unterminated string starting at".into(), start)),
            };
            match c {
                '"' => return Ok((out, i + 1)),
                '\\' => {
                    let e = match s.get(i + 1) {
                        Some(e) => *e,
                        None => return Err(("Unterminated string starting at".into(), start)),
                    };
                    match e {
                        '"' => out.push('"'),
                        '\\' => out.push('\\'),
                        '/' => out.push('/'),
                        'b' => out.push('\x08'),
                        'f' => out.push('\x0c'),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'u' => {
                            let hex: String = s.get(i + 2..i + 6).unwrap_or(&[]).iter().collect();
                            let cp = match u32::from_str_radix(&hex, 16) {
                                Ok(cp) if hex.len() == 4 => cp,
                                _ => return Err(("Invalid \\uXXXX escape".into(), i + 1)),
                            };
                            i += 4;
                            if (0xd800..0xdc00).contains(&cp)
                                && s.get(i + 2) == Some(&'\\')
                                && s.get(i + 3) == Some(&'u')
                            {
                                let hex2: String =
                                    s.get(i + 4..i + 8).unwrap_or(&[]).iter().collect();
                                if let Ok(lo) = u32::from_str_radix(&hex2, 16) {
                                    if (0xdc00..0xe000).contains(&lo) {
                                        let c = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                                        out.push(char::from_u32(c).unwrap_or('\u{fffd}'));
                                        i += 6;
                                        i += 2;
                                        continue;
                                    }
                                }
                            }
                            out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                        }
                        _ => return Err(("Invalid \\escape".into(), i)),
                    }
                    i += 2;
                }
                c if (c as u32) < 0x20 => {
                    return Err(("Invalid control character at".into(), i));
                }
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
    }

    fn array(&self, i: usize) -> R<(Value, usize)> {
        let mut items = Vec::new();
        let mut i = self.ws(i);
        if self.s.get(i) == Some(&']') {
            return Ok((Value::Array(items), i + 1));
        }
        loop {
            let (v, e) = self.value(i)?;
            items.push(v);
            i = self.ws(e);
            match self.s.get(i) {
                Some(']') => return Ok((Value::Array(items), i + 1)),
                Some(',') => i = self.ws(i + 1),
                _ => return Err(("Expecting ',' delimiter".into(), i)),
            }
        }
    }

    fn object(&self, i: usize) -> R<(Value, usize)> {
        let mut m = Map::new();
        let mut i = self.ws(i);
        if self.s.get(i) == Some(&'}') {
            return Ok((Value::Object(m), i + 1));
        }
        loop {
            if self.s.get(i) != Some(&'"') {
                return Err((
                    "Expecting property name enclosed in double quotes".into(),
                    i,
                ));
            }
            let (k, e) = self.string(i + 1, i)?;
            i = self.ws(e);
            if self.s.get(i) != Some(&':') {
                return Err(("Expecting ':' delimiter".into(), i));
            }
            i = self.ws(i + 1);
            let (v, e) = self.value(i)?;
            m.insert(k, v);
            i = self.ws(e);
            match self.s.get(i) {
                Some('}') => return Ok((Value::Object(m), i + 1)),
                Some(',') => i = self.ws(i + 1),
                _ => return Err(("Expecting ',' delimiter".into(), i)),
            }
        }
    }
}

/// `json.loads(text)`; the error is Python's `str(JSONDecodeError)`.
pub fn loads(text: &str) -> Result<Value, String> {
    let chars: Vec<char> = text.chars().collect();
    let p = P {
        s: &chars,
        depth: std::cell::Cell::new(0),
    };
    let r = p.value(p.ws(0)).and_then(|(v, e)| {
        let e = p.ws(e);
        if e != chars.len() {
            Err(("Extra data".into(), e))
        } else {
            Ok(v)
        }
    });
    r.map_err(|(msg, pos)| {
        if pos == usize::MAX {
            return msg;
        }
        let before = &chars[..pos.min(chars.len())];
        let lineno = before.iter().filter(|c| **c == '\n').count() + 1;
        let colno = match before.iter().rposition(|c| *c == '\n') {
            Some(nl) => pos - nl,
            None => pos + 1,
        };
        format!("{msg}: line {lineno} column {colno} (char {pos})")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_like_python() {
        assert_eq!(
            loads("[1, \"a\", true, null, 1.5, {\"k\": []}]").unwrap(),
            json!([1, "a", true, null, 1.5, {"k": []}])
        );
        assert_eq!(loads(" [ ] ").unwrap(), json!([]));
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(loads(&deep)
            .unwrap_err()
            .starts_with("maximum recursion depth exceeded"));
        let ok = format!("{}{}", "[".repeat(300), "]".repeat(300));
        assert!(loads(&ok).is_ok());
    }

    #[test]
    fn errors_like_python() {
        assert_eq!(
            loads("[1,,3]").unwrap_err(),
            "Expecting value: line 1 column 4 (char 3)"
        );
        assert_eq!(
            loads("[01]").unwrap_err(),
            "Expecting ',' delimiter: line 1 column 3 (char 2)"
        );
        assert_eq!(
            loads("[\"a]").unwrap_err(),
            "Unterminated string starting at: line 1 column 2 (char 1)"
        );
        assert_eq!(
            loads("[\"\\q\"]").unwrap_err(),
            "Invalid \\escape: line 1 column 3 (char 2)"
        );
        assert_eq!(
            loads("[1] x]").unwrap_err(),
            "Extra data: line 1 column 5 (char 4)"
        );
        assert_eq!(
            loads("[{a: 1}]").unwrap_err(),
            "Expecting property name enclosed in double quotes: line 1 column 3 (char 2)"
        );
    }
}
