//! Lexer and parser for yaql 3.x expressions (operator table of `YaqlFactory` with
//! `keyword_operator='=>'` and delegates disabled).

use std::sync::Arc;

use crate::value::V;
use crate::{Error, ErrorKind};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Dollar(String),
    Number(V),
    Func(String),
    Keyword(String),
    Str(String),
    True,
    False,
    Null,
    Op(&'static str),
    Mapping,
    LBracket,
    LBrace,
    LParen,
    RParen,
    RBracket,
    RBrace,
    Comma,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
    text: String,
}

/// Binary and unary operators (names as in yaql's function table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Lt,
    Gt,
    Le,
    Ge,
    Eq,
    Ne,
    In,
    Match,
    NotMatch,
    And,
    Or,
    Arrow,
    Neg,
    Pos,
    Not,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Add => "#operator_+",
            Op::Sub => "#operator_-",
            Op::Mul => "#operator_*",
            Op::Div => "#operator_/",
            Op::Mod => "#operator_mod",
            Op::Lt => "#operator_<",
            Op::Gt => "#operator_>",
            Op::Le => "#operator_<=",
            Op::Ge => "#operator_>=",
            Op::Eq => "*equal",
            Op::Ne => "*not_equal",
            Op::In => "#operator_in",
            Op::Match => "#operator_=~",
            Op::NotMatch => "#operator_!~",
            Op::And => "#operator_and",
            Op::Or => "#operator_or",
            Op::Arrow => "#operator_->",
            Op::Neg => "#unary_operator_-",
            Op::Pos => "#unary_operator_+",
            Op::Not => "#unary_operator_not",
        }
    }
}

#[derive(Debug)]
pub enum Arg {
    /// A skipped positional argument (`f(, 1)`).
    Empty,
    Pos(Expr),
    /// `name => value` where the left side is a bare keyword.
    Named(Arc<str>, Expr),
    /// `expr => value` where the left side is any other expression.
    Mapping(Expr, Expr),
}

#[derive(Debug)]
pub enum Expr {
    Const(V),
    /// An integer literal beyond 64 bits (evaluates to a limit error).
    BigInt(Arc<str>),
    /// A bare identifier (evaluates to its own text).
    Keyword(Arc<str>),
    /// `$`, `$1`, `$name` (the name without the `$`; `""` and `"1"` both mean the current value).
    Var(Arc<str>),
    Call {
        name: Arc<str>,
        args: Vec<Arg>,
    },
    /// `recv.name(args)`.
    Method {
        recv: Box<Expr>,
        name: Arc<str>,
        args: Vec<Arg>,
        safe: bool,
    },
    /// `recv.name`.
    Member {
        recv: Box<Expr>,
        name: Arc<str>,
        safe: bool,
    },
    /// `recv.(expr)` - expr evaluated with `$` bound to the receiver.
    DotExpr {
        recv: Box<Expr>,
        #[allow(dead_code)]
        expr: Box<Expr>,
        safe: bool,
    },
    Index {
        target: Box<Expr>,
        args: Vec<Arg>,
    },
    List(Vec<Arg>),
    Map(Vec<Arg>),
    Binary(Op, Box<Expr>, Box<Expr>),
    Unary(Op, Box<Expr>),
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_ident_start(c: char) -> bool {
    is_word(c) && !c.is_numeric()
}

fn lex_error(c: char, pos: usize) -> Error {
    Error::new(
        ErrorKind::Syntax,
        format!(
            "Lexical error: illegal character '{}' at position {}",
            c, pos
        ),
    )
}

fn decode_escapes(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' || i + 1 >= chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let n = chars[i + 1];
        let hex = |len: usize| -> Option<char> {
            if i + 2 + len > chars.len() {
                return None;
            }
            let h: String = chars[i + 2..i + 2 + len].iter().collect();
            if !h.chars().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            u32::from_str_radix(&h, 16).ok().and_then(char::from_u32)
        };
        match n {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'x' | 'u' | 'U' => {
                let len = match n {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                match hex(len) {
                    Some(ch) => {
                        out.push(ch);
                        i += 2 + len;
                        continue;
                    }
                    None => {
                        out.push('\\');
                        out.push(n);
                    }
                }
            }
            '0'..='7' => {
                let mut j = i + 1;
                let mut v = 0u32;
                while j < chars.len() && j < i + 4 && ('0'..='7').contains(&chars[j]) {
                    v = v * 8 + chars[j].to_digit(8).unwrap_or(0);
                    j += 1;
                }
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                i = j;
                continue;
            }
            _ => {
                out.push('\\');
                out.push(n);
            }
        }
        i += 2;
    }
    out
}

const OPS: &[&str] = &[
    "?.", "=~", "!~", ">=", "<=", "!=", "->", ".", "+", "-", "*", "/", ">", "<", "=",
];

fn lex(src: &str) -> Result<Vec<Token>, Error> {
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let n = chars.len();
    let mut toks = Vec::new();
    let mut i = 0;
    let at = |k: usize| -> Option<char> { chars.get(k).map(|x| x.1) };
    while i < n {
        let c = chars[i].1;
        let pos = i;
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            i += 1;
            continue;
        }
        let prev_word = i > 0 && is_word(chars[i - 1].1);
        let text_of = |a: usize, b: usize| -> String { chars[a..b].iter().map(|x| x.1).collect() };
        // DOLLAR
        if c == '$' {
            let mut j = i + 1;
            while j < n && is_word(chars[j].1) {
                j += 1;
            }
            let t = text_of(i, j);
            toks.push(Token {
                tok: Tok::Dollar(text_of(i + 1, j)),
                pos,
                text: t,
            });
            i = j;
            continue;
        }
        // NUMBER: \b\d+(\.?\d+)?\b
        if c.is_ascii_digit() && !prev_word {
            let mut j = i;
            while j < n && chars[j].1.is_ascii_digit() {
                j += 1;
            }
            let int_end = j;
            let mut end = None;
            // try fractional part first (greedy)
            if at(j) == Some('.') && at(j + 1).is_some_and(|c| c.is_ascii_digit()) {
                let mut k = j + 1;
                while k < n && chars[k].1.is_ascii_digit() {
                    k += 1;
                }
                if !at(k).is_some_and(is_word) {
                    end = Some(k);
                }
            }
            if end.is_none() && !at(int_end).is_some_and(is_word) {
                end = Some(int_end);
            }
            if let Some(e) = end {
                let t = text_of(i, e);
                let v = if t.contains('.') {
                    V::Float(t.parse::<f64>().unwrap_or(f64::NAN))
                } else {
                    match t.parse::<i64>() {
                        Ok(v) => V::Int(v),
                        // beyond 64 bits: valid syntax, but fails when evaluated
                        Err(_) => V::Str(Arc::from(format!("\u{0}bigint:{t}").as_str())),
                    }
                };
                toks.push(Token {
                    tok: Tok::Number(v),
                    pos,
                    text: t,
                });
                i = e;
                continue;
            }
            return Err(lex_error(c, pos));
        }
        if is_ident_start(c) && !prev_word {
            let mut j = i;
            while j < n && is_word(chars[j].1) {
                j += 1;
            }
            let word = text_of(i, j);
            if at(j) == Some('(') {
                toks.push(Token {
                    tok: Tok::Func(word.clone()),
                    pos,
                    text: word,
                });
                i = j + 1;
                continue;
            }
            if word.starts_with("__") {
                return Err(lex_error(c, pos));
            }
            let tok = match word.as_str() {
                "true" => Tok::True,
                "false" => Tok::False,
                "null" => Tok::Null,
                "and" => Tok::Op("and"),
                "or" => Tok::Op("or"),
                "not" => Tok::Op("not"),
                "in" => Tok::Op("in"),
                "mod" => Tok::Op("mod"),
                _ => Tok::Keyword(word.clone()),
            };
            toks.push(Token {
                tok,
                pos,
                text: word,
            });
            i = j;
            continue;
        }
        if c == '\'' || c == '"' || c == '`' {
            let mut j = i + 1;
            let mut closed = false;
            while j < n {
                let d = chars[j].1;
                if d == '\\' {
                    j += 2;
                    continue;
                }
                if d == c {
                    closed = true;
                    break;
                }
                j += 1;
            }
            if !closed || j >= n {
                return Err(lex_error(c, pos));
            }
            let raw = text_of(i + 1, j);
            let val = if c == '`' {
                raw.replace("\\`", "`")
            } else {
                decode_escapes(&raw)
            };
            toks.push(Token {
                tok: Tok::Str(val),
                pos,
                text: text_of(i, j + 1),
            });
            i = j + 1;
            continue;
        }
        let rest: String = chars[i..(i + 2).min(n)].iter().map(|x| x.1).collect();
        if rest == "=>" {
            toks.push(Token {
                tok: Tok::Mapping,
                pos,
                text: rest,
            });
            i += 2;
            continue;
        }
        let mut matched = false;
        for op in OPS {
            if rest.starts_with(op) {
                toks.push(Token {
                    tok: Tok::Op(op),
                    pos,
                    text: op.to_string(),
                });
                i += op.chars().count();
                matched = true;
                break;
            }
        }
        if matched {
            continue;
        }
        let tok = match c {
            '[' => Tok::LBracket,
            '{' => Tok::LBrace,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ']' => Tok::RBracket,
            '}' => Tok::RBrace,
            ',' => Tok::Comma,
            _ => return Err(lex_error(c, pos)),
        };
        toks.push(Token {
            tok,
            pos,
            text: c.to_string(),
        });
        i += 1;
    }
    Ok(toks)
}

struct Parser<'a> {
    toks: Vec<Token>,
    i: usize,
    src: &'a str,
    depth: usize,
}

fn binary_info(op: &str) -> Option<(u8, Op, bool)> {
    // (precedence, op, right associative); higher binds tighter
    Some(match op {
        "->" => (1, Op::Arrow, true),
        "or" => (2, Op::Or, false),
        "and" => (3, Op::And, false),
        ">" => (5, Op::Gt, false),
        "<" => (5, Op::Lt, false),
        ">=" => (5, Op::Ge, false),
        "<=" => (5, Op::Le, false),
        "!=" => (5, Op::Ne, false),
        "=" => (5, Op::Eq, false),
        "in" => (5, Op::In, false),
        "+" => (6, Op::Add, false),
        "-" => (6, Op::Sub, false),
        "*" => (7, Op::Mul, false),
        "/" => (7, Op::Div, false),
        "mod" => (7, Op::Mod, false),
        "=~" => (8, Op::Match, false),
        "!~" => (8, Op::NotMatch, false),
        _ => return None,
    })
}

const INDEX_PREC: u8 = 10;
const DOT_PREC: u8 = 11;

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.i)
    }

    fn unexpected(&self) -> Error {
        match self.toks.get(self.i) {
            Some(t) => Error::new(
                ErrorKind::Syntax,
                format!(
                    "Parse error: unexpected '{}' at position {} of expression '{}'",
                    t.text, t.pos, self.src
                ),
            ),
            None => Error::new(
                ErrorKind::Syntax,
                "Parse error: unexpected end of statement",
            ),
        }
    }

    fn expect(&mut self, t: Tok) -> Result<(), Error> {
        if self.peek().map(|x| &x.tok) == Some(&t) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    #[allow(clippy::while_let_loop)]
    fn expr(&mut self, min_prec: u8) -> Result<Expr, Error> {
        self.depth += 1;
        if self.depth > crate::MAX_PARSE_DEPTH {
            return Err(Error::new(
                ErrorKind::Limit,
                "expression is nested too deeply",
            ));
        }
        let mut left = stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.prefix())?;
        loop {
            let Some(t) = self.peek() else { break };
            match &t.tok {
                Tok::Op(o) if *o == "." || *o == "?." => {
                    if DOT_PREC < min_prec {
                        break;
                    }
                    let safe = *o == "?.";
                    self.i += 1;
                    left = self.dot_rhs(left, safe)?;
                }
                Tok::LBracket => {
                    if INDEX_PREC < min_prec {
                        break;
                    }
                    self.i += 1;
                    let args = self.args(Tok::RBracket)?;
                    left = Expr::Index {
                        target: Box::new(left),
                        args,
                    };
                }
                Tok::Op(o) => {
                    let Some((prec, op, right)) = binary_info(o) else {
                        return Err(self.unexpected());
                    };
                    if prec < min_prec {
                        break;
                    }
                    self.i += 1;
                    let rhs = self.expr(if right { prec } else { prec + 1 })?;
                    left = Expr::Binary(op, Box::new(left), Box::new(rhs));
                }
                _ => break,
            }
        }
        self.depth -= 1;
        Ok(left)
    }

    fn dot_rhs(&mut self, recv: Expr, safe: bool) -> Result<Expr, Error> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.unexpected());
        };
        match t.tok {
            Tok::Keyword(k) => {
                self.i += 1;
                Ok(Expr::Member {
                    recv: Box::new(recv),
                    name: Arc::from(k.as_str()),
                    safe,
                })
            }
            Tok::Func(f) => {
                self.i += 1;
                let args = self.args(Tok::RParen)?;
                Ok(Expr::Method {
                    recv: Box::new(recv),
                    name: Arc::from(f.as_str()),
                    args,
                    safe,
                })
            }
            _ => {
                let e = self.expr(DOT_PREC + 1)?;
                Ok(Expr::DotExpr {
                    recv: Box::new(recv),
                    expr: Box::new(e),
                    safe,
                })
            }
        }
    }

    fn prefix(&mut self) -> Result<Expr, Error> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.unexpected());
        };
        self.i += 1;
        Ok(match t.tok {
            Tok::Number(V::Str(s)) => Expr::BigInt(Arc::from(s.trim_start_matches("\u{0}bigint:"))),
            Tok::Number(v) => Expr::Const(v),
            Tok::Str(s) => Expr::Const(V::string(s)),
            Tok::True => Expr::Const(V::Bool(true)),
            Tok::False => Expr::Const(V::Bool(false)),
            Tok::Null => Expr::Const(V::Null),
            Tok::Keyword(k) => Expr::Keyword(Arc::from(k.as_str())),
            Tok::Dollar(name) => {
                let name = if name == "1" { String::new() } else { name };
                Expr::Var(Arc::from(name.as_str()))
            }
            Tok::Func(f) => {
                let args = self.args(Tok::RParen)?;
                Expr::Call {
                    name: Arc::from(f.as_str()),
                    args,
                }
            }
            Tok::LParen => {
                let e = self.expr(0)?;
                self.expect(Tok::RParen)?;
                e
            }
            Tok::LBracket => Expr::List(self.args(Tok::RBracket)?),
            Tok::LBrace => Expr::Map(self.args(Tok::RBrace)?),
            Tok::Op("-") => Expr::Unary(Op::Neg, Box::new(self.expr(9)?)),
            Tok::Op("+") => Expr::Unary(Op::Pos, Box::new(self.expr(9)?)),
            Tok::Op("not") => Expr::Unary(Op::Not, Box::new(self.expr(4)?)),
            _ => {
                self.i -= 1;
                return Err(self.unexpected());
            }
        })
    }

    /// Argument list up to (and consuming) `close`.
    fn args(&mut self, close: Tok) -> Result<Vec<Arg>, Error> {
        let mut out = Vec::new();
        if self.peek().map(|t| &t.tok) == Some(&close) {
            self.i += 1;
            return Ok(out);
        }
        let mut seen_named = false;
        loop {
            let tok = self.peek().map(|t| t.tok.clone());
            if tok == Some(Tok::Comma) {
                if seen_named {
                    return Err(self.unexpected());
                }
                out.push(Arg::Empty);
                self.i += 1;
                continue;
            }
            let e = self.expr(0)?;
            if self.peek().map(|t| &t.tok) == Some(&Tok::Mapping) {
                self.i += 1;
                let v = self.expr(0)?;
                seen_named = true;
                out.push(match e {
                    Expr::Keyword(k) => Arg::Named(k, v),
                    other => Arg::Mapping(other, v),
                });
            } else {
                if seen_named {
                    return Err(self.unexpected());
                }
                out.push(Arg::Pos(e));
            }
            match self.peek().map(|t| t.tok.clone()) {
                Some(Tok::Comma) => {
                    self.i += 1;
                    if self.peek().map(|t| &t.tok) == Some(&close) {
                        return Err(self.unexpected());
                    }
                }
                Some(t) if t == close => {
                    self.i += 1;
                    return Ok(out);
                }
                _ => return Err(self.unexpected()),
            }
        }
    }
}

/// Parses an expression into its syntax tree.
pub fn parse(src: &str) -> Result<Expr, Error> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        i: 0,
        src,
        depth: 0,
    };
    if p.toks.is_empty() {
        return Err(p.unexpected());
    }
    let e = p.expr(0)?;
    if p.i < p.toks.len() {
        return Err(p.unexpected());
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(e: &Expr) -> String {
        match e {
            Expr::Const(v) => crate::pyfmt::py_repr(v),
            Expr::BigInt(t) => t.to_string(),
            Expr::Keyword(k) => k.to_string(),
            Expr::Var(v) => format!("${v}"),
            Expr::Call { name, args } => format!("{name}({})", args.len()),
            Expr::Method { recv, name, .. } => format!("{}.{name}()", shape(recv)),
            Expr::Member { recv, name, .. } => format!("{}.{name}", shape(recv)),
            Expr::DotExpr { recv, expr, .. } => format!("{}.({})", shape(recv), shape(expr)),
            Expr::Index { target, .. } => format!("{}[]", shape(target)),
            Expr::List(a) => format!("[{}]", a.len()),
            Expr::Map(a) => format!("{{{}}}", a.len()),
            Expr::Binary(op, a, b) => format!("({} {:?} {})", shape(a), op, shape(b)),
            Expr::Unary(op, a) => format!("({:?} {})", op, shape(a)),
        }
    }

    fn p(s: &str) -> String {
        shape(&parse(s).unwrap())
    }

    #[test]
    fn arithmetic_precedence_matches_yaql() {
        assert_eq!(p("2 + 3 * 4"), "(2 Add (3 Mul 4))");
        assert_eq!(p("1 - 2 - 3"), "((1 Sub 2) Sub 3)");
        assert_eq!(p("-2 * 3"), "((Neg 2) Mul 3)");
        assert_eq!(p("-2.abs()"), "(Neg 2.abs())");
        assert_eq!(p("1 + 2 * 3 mod 2"), "(1 Add ((2 Mul 3) Mod 2))");
    }

    #[test]
    fn logical_precedence_matches_yaql() {
        assert_eq!(
            p("1 = 1 and 2 = 2 or false"),
            "(((1 Eq 1) And (2 Eq 2)) Or False)"
        );
        assert_eq!(p("not a = b"), "(Not (a Eq b))");
        assert_eq!(p("not true and false"), "((Not True) And False)");
        assert_eq!(
            p("let(x => 1) -> let(y => 2) -> $x"),
            "(let(1) Arrow (let(1) Arrow $x))"
        );
    }

    #[test]
    fn member_index_and_regex_operators_bind_tightly() {
        assert_eq!(p("$.a.b[0]"), "$.a.b[]");
        assert_eq!(p("$.a =~ b + c"), "(($.a Match b) Add c)");
        assert_eq!(p("$?.x"), "$.x");
        assert_eq!(p("$.($ + 1)"), "$.(($ Add 1))");
    }

    #[test]
    fn lexer_rules() {
        assert_eq!(p("1.5"), "1.5");
        assert!(parse("1e3").is_err());
        assert!(parse("$.__x").is_err());
        assert!(parse("a #b").is_err());
        assert_eq!(p("'a\\nb'"), "'a\\nb'");
        assert_eq!(p("`a\\nb`"), "'a\\\\nb'");
        assert_eq!(p("'\\d'"), "'\\\\d'");
    }

    #[test]
    fn argument_lists() {
        assert!(parse("f(1,)").is_err());
        assert!(parse("f(a => 1, 2)").is_err());
        assert_eq!(p("f(,1)"), "f(2)");
        assert_eq!(p("f(1, a => 2)"), "f(2)");
        assert!(parse("2**3").is_err());
        assert!(parse("").is_err());
        assert!(parse("(1").is_err());
    }
}
