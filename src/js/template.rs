//! Go `text/template` language with `html/template`-style escaping: the engine behind PocketBase's
//! `$template` (`tools/template`: `loadFiles(...)`/`loadString(...)` then `render(data)`).
//!
//! Supported: text; actions with `{{-`/`-}}` trim markers; `{{/* */}}` comments; `.`, `.a.b`, `$`,
//! `$x := p`, `$x = p`, `(p).f`; pipelines; `if/else if/else`; `range` over arrays, objects (sorted
//! keys) and integers with `$i, $v :=`, `else`, `break`, `continue`; `with/else with/else`; `define`,
//! `template`, `block`; string/raw/char/number/bool/nil literals; the functions `and or not len
//! index slice print printf println eq ne lt le gt ge html js urlquery` and PocketBase's `raw`.
//! Sources merge like `ParseFiles`: each file is a template named after its base name and a later
//! non-empty `define` replaces an earlier one (so it overrides a `block` default). Parse and
//! execution errors use Go's wording and `name:line[:col]` locations.
//!
//! Data is JSON seen the way goja exports JS values: objects are `map[string]interface {}`,
//! integral numbers (also integral floats) are `int64`, others `float64` printed like Go's `%v`.
//!
//! Escaping is a deliberate simplification of html/template's contextual escaper: every action
//! output is escaped as HTML *text* (`& < > " ' +` -> `&amp; &lt; &gt; &#34; &#39; &#43;`, NUL ->
//! U+FFFD), also inside attributes, `<script>`, `<style>` and URLs (Go would JSON-encode in scripts,
//! escape CSS/URLs and filter unsafe URLs to `#ZgotmplZ`; attribute values must be quoted here).
//! `raw` output is inserted as-is; a final `html`/`urlquery` is rewritten as html/template does (no
//! double escaping). HTML comments in template text are stripped (actions inside them print
//! nothing); a lone `<` in text is kept (Go writes `&lt;`). Undefined `{{template}}` targets are
//! reported before executing, as Go does.
//!
//! Not supported: methods and `call`, custom funcs/delimiters, `%T`/`%#v`/`%*d`, complex numbers;
//! number literals are typed `int64`/`float64` (Go: `int`) in `%!verb(...)` texts. Parse nesting
//! (blocks, parens, `else if` chains) is capped at 100 and execution nesting (incl. template
//! recursion) at 300, so no template can overflow the stack.

use serde_json::Value as Json;
use std::collections::{HashMap, HashSet};
use std::fmt::{Display, Write as _};
use std::rc::Rc;
use std::sync::Arc;

const FUNCS: [&str; 19] = [
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt",
    "le", "gt", "ge", "html", "js", "urlquery", "raw",
];
const KWS: [&str; 10] = [
    "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue",
];
const WS: [char; 4] = [' ', '\t', '\r', '\n'];
const MAX_PARSE_DEPTH: usize = 100;
const MAX_EXEC_DEPTH: usize = 300;
const MAX_WIDTH: usize = 4096;
static NULL: Json = Json::Null;

// ------------------------------------------------------------------------------------------ lexer

#[derive(Clone, Debug, PartialEq)]
enum K {
    Text(String),
    Open,
    Close,
    Ident(String),
    Kw(&'static str),
    Field(Vec<String>),
    Var(String, Vec<String>),
    Dot,
    Nil,
    Lit(Json),
    LParen,
    RParen,
    Pipe,
    Decl,
    Assign,
    Comma,
    Err(String),
    Eof,
}
#[derive(Clone, Debug)]
struct Tok {
    k: K,
    pos: usize,
    end: usize,
    line: usize,
}

fn ident_end(s: &str, i: usize) -> usize {
    i + s[i..]
        .char_indices()
        .find(|(_, c)| *c != '_' && !c.is_alphanumeric())
        .map_or(s.len() - i, |(k, _)| k)
}

/// `.a.b` chain starting at `i`: the names and the end offset.
fn fields(s: &str, mut i: usize) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    while s[i..].starts_with('.') && s[i + 1..].starts_with(|c: char| c == '_' || c.is_alphabetic())
    {
        out.push(s[i + 1..ident_end(s, i + 1)].to_string());
        i = ident_end(s, i + 1);
    }
    (out, i)
}

/// Tokens for the whole source; a lexical error becomes a final `K::Err` token (reported in order).
fn lex(src: &str) -> Vec<Tok> {
    let by = src.as_bytes();
    let ws = |b: Option<&u8>| matches!(b, Some(b' ' | b'\t' | b'\r' | b'\n'));
    let (mut toks, mut i, mut line, mut trim) = (Vec::new(), 0usize, 1usize, false);
    macro_rules! push {
        ($k:expr, $p:expr, $e:expr) => {
            toks.push(Tok {
                k: $k,
                pos: $p,
                end: $e,
                line,
            })
        };
    }
    macro_rules! fail {
        ($m:expr, $p:expr) => {{
            push!(K::Err($m.into()), $p, $p);
            return toks;
        }};
    }
    loop {
        let open = src[i..].find("{{").map_or(src.len(), |o| i + o);
        let tl = open < src.len() && by.get(open + 2) == Some(&b'-') && ws(by.get(open + 3));
        let mut text = &src[i..open];
        if trim {
            text = text.trim_start_matches(WS);
        }
        if tl {
            text = text.trim_end_matches(WS);
        }
        if !text.is_empty() {
            push!(K::Text(text.to_string()), i, open);
        }
        (line, trim) = (line + src[i..open].matches('\n').count(), false);
        if open == src.len() {
            push!(K::Eof, open, open);
            return toks;
        }
        i = open + if tl { 4 } else { 2 };
        if src[i..].starts_with("/*") {
            let Some(e) = src[i + 2..].find("*/") else {
                fail!("unclosed comment", open)
            };
            let after = i + e + 4;
            line += src[open..after].matches('\n').count();
            if src[after..].starts_with("}}") {
                i = after + 2;
            } else if ws(by.get(after)) && src[after + 1..].starts_with("-}}") {
                (i, trim) = (after + 4, true);
            } else {
                fail!("comment ends before closing delimiter", after)
            }
            continue;
        }
        push!(K::Open, open, i);
        line += src[open..i].matches('\n').count();
        loop {
            let (rest, start) = (&src[i..], i);
            let Some(c) = rest.chars().next() else {
                fail!("unclosed action", i)
            };
            if rest.starts_with("}}") {
                i += 2;
                push!(K::Close, start, i);
                break;
            }
            if WS.contains(&c) {
                if rest[1..].starts_with("-}}") {
                    (i, trim) = (i + 4, true);
                    push!(K::Close, start, i);
                    break;
                }
                (line, i) = (line + usize::from(c == '\n'), i + 1);
                continue;
            }
            let next = by.get(i + 1).copied().unwrap_or(0);
            let k = match c {
                '"' | '\'' => {
                    let mut j = i + 1;
                    while let Some(&b) = by.get(j).filter(|b| **b != b'\n' && **b != c as u8) {
                        j += if b == b'\\' { 2 } else { 1 };
                    }
                    if by.get(j) != Some(&(c as u8)) {
                        fail!(
                            if c == '"' {
                                "unterminated quoted string"
                            } else {
                                "unterminated character constant"
                            },
                            i
                        )
                    }
                    i = j + 1;
                    match (unquote(&src[start + 1..j]), c) {
                        (Ok(s), '"') => K::Lit(Json::String(s)),
                        (Ok(s), _) if s.chars().count() == 1 => {
                            K::Lit(Json::from(s.chars().next().map_or(0, |ch| ch as i64)))
                        }
                        (Ok(_), _) => {
                            K::Err(format!("malformed character constant: {}", &src[start..i]))
                        }
                        (Err(e), _) => K::Err(e),
                    }
                }
                '`' => {
                    let Some(e) = src[i + 1..].find('`') else {
                        fail!("unterminated raw quoted string", i)
                    };
                    i += e + 2;
                    K::Lit(Json::String(src[start + 1..i - 1].to_string()))
                }
                '.' if !next.is_ascii_digit() => {
                    let (f, e) = fields(src, i);
                    i = if f.is_empty() { i + 1 } else { e };
                    if f.is_empty() { K::Dot } else { K::Field(f) }
                }
                '$' => {
                    let e = ident_end(src, i + 1);
                    let f;
                    (f, i) = fields(src, e);
                    K::Var(src[start..e].to_string(), f)
                }
                c if c.is_ascii_digit()
                    || c == '.'
                    || (matches!(c, '+' | '-') && (next.is_ascii_digit() || next == b'.')) =>
                {
                    i += 1;
                    while let Some(&b) = by.get(i) {
                        let exp = matches!(by[i - 1], b'e' | b'E' | b'p' | b'P')
                            && matches!(b, b'+' | b'-');
                        if !(b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || exp) {
                            break;
                        }
                        i += 1;
                    }
                    parse_num(&src[start..i]).map_or_else(K::Err, K::Lit)
                }
                c if c == '_' || c.is_alphabetic() => {
                    i = ident_end(src, i);
                    match &src[start..i] {
                        w @ ("true" | "false") => K::Lit(Json::Bool(w == "true")),
                        "nil" => K::Nil,
                        w => KWS
                            .iter()
                            .find(|k| **k == w)
                            .map_or_else(|| K::Ident(w.to_string()), |k| K::Kw(k)),
                    }
                }
                ':' if next == b'=' => {
                    i += 2;
                    K::Decl
                }
                '(' | ')' | '|' | ',' | '=' => {
                    i += 1;
                    [K::LParen, K::RParen, K::Pipe, K::Comma, K::Assign]
                        ["()|,=".find(c).unwrap_or(0)]
                    .clone()
                }
                c if c.is_ascii_graphic() && c != '}' => {
                    K::Err(format!("unexpected {:?} in command", c.to_string()))
                }
                c => K::Err(format!("bad character U+{:04X} '{c}'", c as u32)),
            };
            let err = matches!(k, K::Err(_));
            push!(k, start, i);
            line += src[start..i].matches('\n').count();
            if err {
                return toks;
            }
        }
    }
}

fn parse_num(t: &str) -> Result<Json, String> {
    let bad = || format!("illegal number syntax: {t:?}");
    let s = t.replace('_', "");
    let (neg, b) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(&s)),
    };
    let radix = |p: [&str; 2], r: u32| p.iter().find_map(|p| b.strip_prefix(p)).map(|d| (d, r));
    let int = radix(["0x", "0X"], 16)
        .or_else(|| radix(["0o", "0O"], 8))
        .or_else(|| radix(["0b", "0B"], 2));
    if int.is_none() && b.contains(['.', 'e', 'E']) {
        let f: f64 = b.parse().map_err(|_| bad())?;
        return Ok(Json::from(if neg { -f } else { f }));
    }
    let (d, r) = int.unwrap_or(if b.len() > 1 && b.starts_with('0') {
        (&b[1..], 8)
    } else {
        (b, 10)
    });
    let u = u64::from_str_radix(d, r).map_err(|_| bad())?;
    match (neg, i64::try_from(u)) {
        (false, Ok(i)) => Ok(Json::from(i)),
        (false, Err(_)) => Ok(Json::from(u)),
        (true, _) if u <= 1 << 63 => Ok(Json::from((u as i64).wrapping_neg())),
        _ => Err(format!("integer overflow: {t:?}")),
    }
}

/// Go's `strconv.Unquote` escapes.
fn unquote(s: &str) -> Result<String, String> {
    let (mut o, mut it) = (String::new(), s.chars());
    while let Some(c) = it.next() {
        if c != '\\' {
            o.push(c);
            continue;
        }
        let e = it.clone().next().unwrap_or(' ');
        let (n, r) = match e {
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            '0'..='7' => (3, 8),
            _ => (0, 0),
        };
        if !e.is_ascii_digit() {
            it.next();
        }
        let ch = if n > 0 {
            let d: String = it.by_ref().take(n).collect();
            u32::from_str_radix(&d, r)
                .ok()
                .filter(|_| d.len() == n)
                .and_then(char::from_u32)
        } else {
            let m = ['n', 't', 'r', 'a', 'b', 'f', 'v', '\\', '"', '\'']
                .iter()
                .position(|x| *x == e);
            m.map(|i| {
                [
                    '\n', '\t', '\r', '\x07', '\x08', '\x0c', '\x0b', '\\', '"', '\'',
                ][i]
            })
        };
        o.push(ch.ok_or("invalid syntax")?);
    }
    Ok(o)
}

// ------------------------------------------------------------------------------------------ parser

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ctl {
    If,
    With,
    Range,
}
#[derive(Debug)]
enum Node {
    Text(String),
    Action(Pipe),
    Ctl(Ctl, Pipe, Vec<Node>, Vec<Node>),
    Tmpl(String, Option<Pipe>, usize, usize),
    Break,
    Continue,
}
#[derive(Debug)]
struct Pipe {
    decl: Vec<String>,
    assign: bool,
    cmds: Vec<Cmd>,
    pos: usize,
    end: usize,
}
#[derive(Debug)]
struct Cmd {
    args: Vec<Arg>,
    pos: usize,
    end: usize,
}
#[derive(Debug)]
enum Arg {
    Dot,
    Nil,
    Lit(Json),
    Ident(String),
    Field(Vec<String>),
    Var(String, Vec<String>),
    Chain(Box<Arg>, Vec<String>),
    Paren(Pipe),
}
/// How a list ended: EOF, `{{end}}`, `{{else}}` or `{{else if|with ...`.
#[derive(Debug, PartialEq)]
enum Stop {
    Eof,
    End,
    Else(Option<&'static str>),
}

struct Parser<'t> {
    toks: &'t [Tok],
    i: usize,
    src: &'t str,
    pname: &'t str,
    vars: Vec<String>,
    range: usize,
    depth: usize,
    defs: Vec<(String, Vec<Node>)>,
}

fn is_empty(nodes: &[Node]) -> bool {
    nodes
        .iter()
        .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
}

impl<'t> Parser<'t> {
    fn err<T>(&self, line: usize, msg: impl Display) -> Result<T, String> {
        Err(format!("template: {}:{line}: {msg}", self.pname))
    }
    fn peek(&self) -> &'t Tok {
        &self.toks[self.i]
    }
    fn next(&mut self) -> Result<&'t Tok, String> {
        let t = &self.toks[self.i];
        self.i = (self.i + 1).min(self.toks.len() - 1);
        if let K::Err(m) = &t.k {
            return self.err(t.line, m);
        }
        Ok(t)
    }
    fn unexpected<T>(&self, t: &Tok, ctx: &str) -> Result<T, String> {
        let d = match &t.k {
            K::Eof => "EOF".into(),
            K::Kw(k) => format!("<{k}>"),
            _ => format!("{:?}", self.src.get(t.pos..t.end).unwrap_or("")),
        };
        self.err(t.line, format!("unexpected {d} in {ctx}"))
    }
    fn close(&mut self, ctx: &str) -> Result<(), String> {
        let t = self.next()?;
        if t.k == K::Close {
            Ok(())
        } else {
            self.unexpected(t, ctx)
        }
    }
    fn list(&mut self) -> Result<(Vec<Node>, Stop, usize), String> {
        let mut nodes = Vec::new();
        loop {
            let t = self.next()?;
            match &t.k {
                K::Text(s) => nodes.push(Node::Text(s.clone())),
                K::Open => match self.action()? {
                    Ok(n) => nodes.extend(n),
                    Err(e) => return Ok((nodes, e, t.line)),
                },
                _ => return Ok((nodes, Stop::Eof, t.line)),
            }
        }
    }
    /// The action after `{{`: a node (None for a define) or the end of the current list.
    #[allow(clippy::type_complexity)]
    fn action(&mut self) -> Result<Result<Option<Node>, Stop>, String> {
        let t = self.peek();
        let K::Kw(kw) = t.k else {
            return Ok(Ok(Some(Node::Action(self.pipeline("command", &K::Close)?))));
        };
        self.next()?;
        Ok(Ok(Some(match kw {
            "if" => self.control(Ctl::If)?,
            "with" => self.control(Ctl::With)?,
            "range" => self.control(Ctl::Range)?,
            "define" if self.depth == 0 => {
                let (name, _) = self.name("define clause")?;
                self.close("define clause")?;
                let (nodes, line) = self.sub_tree("define clause")?;
                self.add(name, nodes, line)?;
                return Ok(Ok(None));
            }
            "block" | "template" => {
                let ctx = if kw == "block" {
                    "block clause"
                } else {
                    "template clause"
                };
                let (name, nt) = self.name(ctx)?;
                let pipe = if kw == "template" && self.peek().k == K::Close {
                    self.next()?;
                    None
                } else {
                    Some(self.pipeline(ctx, &K::Close)?)
                };
                if kw == "block" {
                    let (nodes, line) = self.sub_tree(ctx)?;
                    self.add(name.clone(), nodes, line)?;
                }
                Node::Tmpl(name, pipe, nt.pos, nt.end)
            }
            "end" => {
                self.close("end")?;
                return Ok(Err(Stop::End));
            }
            "else" => {
                let n = self.next()?;
                return match n.k {
                    K::Close => Ok(Err(Stop::Else(None))),
                    K::Kw(k @ ("if" | "with")) => Ok(Err(Stop::Else(Some(k)))),
                    _ => self.unexpected(n, "else"),
                };
            }
            "break" | "continue" if self.range == 0 => {
                return self.err(t.line, format!("{{{{{kw}}}}} outside {{{{range}}}}"));
            }
            "break" | "continue" => {
                self.close(kw)?;
                if kw == "break" {
                    Node::Break
                } else {
                    Node::Continue
                }
            }
            _ => return self.unexpected(t, "command"),
        })))
    }
    fn name(&mut self, ctx: &str) -> Result<(String, &'t Tok), String> {
        let t = self.next()?;
        match &t.k {
            K::Lit(Json::String(s)) => Ok((s.clone(), t)),
            _ => self.unexpected(t, ctx),
        }
    }
    /// Body of a define/block: a separate template that only sees `$`.
    fn sub_tree(&mut self, ctx: &str) -> Result<(Vec<Node>, usize), String> {
        let vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let range = std::mem::take(&mut self.range);
        self.depth += 1;
        let (nodes, end, line) = self.list()?;
        (self.vars, self.range, self.depth) = (vars, range, self.depth - 1);
        match end {
            Stop::End => Ok((nodes, line)),
            Stop::Eof => self.err(line, "unexpected EOF"),
            Stop::Else(_) => self.err(line, format!("unexpected {{{{else}}}} in {ctx}")),
        }
    }
    fn add(&mut self, name: String, nodes: Vec<Node>, line: usize) -> Result<(), String> {
        match self.defs.iter().position(|d| d.0 == name) {
            Some(i) if !is_empty(&self.defs[i].1) && !is_empty(&nodes) => self.err(
                line,
                format!("template: multiple definition of template {name:?}"),
            ),
            Some(i) => {
                if is_empty(&self.defs[i].1) {
                    self.defs[i].1 = nodes;
                }
                Ok(())
            }
            None => {
                self.defs.push((name, nodes));
                Ok(())
            }
        }
    }
    fn control(&mut self, kind: Ctl) -> Result<Node, String> {
        let name = match kind {
            Ctl::If => "if",
            Ctl::With => "with",
            Ctl::Range => "range",
        };
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH {
            return self.err(self.peek().line, "max expression depth exceeded");
        }
        let mark = self.vars.len();
        let pipe = self.pipeline(name, &K::Close)?;
        self.range += usize::from(kind == Ctl::Range);
        let (body, end, line) = self.list()?;
        self.range -= usize::from(kind == Ctl::Range);
        let els = match end {
            Stop::End => Vec::new(),
            Stop::Else(None) => match self.list()? {
                (l, Stop::End, _) => l,
                (_, Stop::Eof, l) => return self.err(l, "unexpected EOF"),
                (_, _, l) => return self.err(l, "expected end; found {{else}}"),
            },
            Stop::Else(Some(k)) if k == name => vec![self.control(kind)?],
            Stop::Else(Some(k)) => return self.err(line, format!("unexpected <{k}> in else")),
            Stop::Eof => return self.err(line, "unexpected EOF"),
        };
        self.vars.truncate(mark);
        self.depth -= 1;
        Ok(Node::Ctl(kind, pipe, body, els))
    }
    fn pipeline(&mut self, ctx: &str, end: &K) -> Result<Pipe, String> {
        let (pos, line) = (self.peek().pos, self.peek().line);
        let (mut decl, mut assign, mut done) = (Vec::<String>::new(), false, false);
        while let (K::Var(v, f), Some(n)) = (&self.peek().k, self.toks.get(self.i + 1)) {
            if !f.is_empty() || !matches!(n.k, K::Decl | K::Assign | K::Comma) {
                break;
            }
            self.i += 2;
            decl.push(v.clone());
            if n.k != K::Comma {
                (assign, done) = (n.k == K::Assign, true);
                break;
            }
            if ctx != "range" || decl.len() > 1 {
                return self.err(n.line, format!("too many declarations in {ctx}"));
            }
        }
        if !decl.is_empty() && !done {
            return self.err(line, format!("missing := in {ctx}"));
        }
        if !assign {
            self.vars.extend(decl.iter().cloned());
        }
        let mut cmds = Vec::new();
        loop {
            let t = self.peek();
            if t.k == *end {
                self.next()?;
                break;
            }
            match t.k {
                K::Close | K::Eof => return self.err(t.line, "unclosed left paren"),
                K::RParen => return self.unexpected(t, "command"),
                _ => {}
            }
            let mut args = Vec::new();
            while !matches!(self.peek().k, K::Pipe | K::Close | K::RParen | K::Eof) {
                args.push(self.operand()?);
            }
            if args.is_empty() {
                return self.unexpected(self.peek(), "command");
            }
            cmds.push(Cmd {
                args,
                pos: t.pos,
                end: self.toks[self.i - 1].end,
            });
            if self.peek().k == K::Pipe {
                self.next()?;
            }
        }
        if cmds.is_empty() {
            return self.err(line, format!("missing value for {ctx}"));
        }
        if let Some(i) = cmds
            .iter()
            .skip(1)
            .position(|c| matches!(c.args[0], Arg::Dot | Arg::Nil | Arg::Lit(_)))
        {
            return self.err(
                line,
                format!("non executable command in pipeline stage {}", i + 2),
            );
        }
        Ok(Pipe {
            decl,
            assign,
            cmds,
            pos,
            end: self.toks[self.i - 1].pos,
        })
    }
    fn operand(&mut self) -> Result<Arg, String> {
        let t = self.next()?;
        let a = match &t.k {
            K::Ident(n) if FUNCS.contains(&n.as_str()) => Arg::Ident(n.clone()),
            K::Ident(n) => return self.err(t.line, format!("function {n:?} not defined")),
            K::Dot => Arg::Dot,
            K::Nil => Arg::Nil,
            K::Lit(j) => Arg::Lit(j.clone()),
            K::Field(f) => Arg::Field(f.clone()),
            K::Var(v, _) if !self.vars.contains(v) => {
                return self.err(t.line, format!("undefined variable {v:?}"));
            }
            K::Var(v, f) => Arg::Var(v.clone(), f.clone()),
            K::LParen => {
                self.depth += 1;
                if self.depth > MAX_PARSE_DEPTH {
                    return self.err(t.line, "max expression depth exceeded");
                }
                let p = self.pipeline("parenthesized pipeline", &K::RParen)?;
                self.depth -= 1;
                Arg::Paren(p)
            }
            _ => return self.unexpected(t, "operand"),
        };
        let n = self.peek();
        match (&n.k, &a) {
            (K::Field(_), _) if n.pos != self.toks[self.i - 1].end => Ok(a),
            (K::Field(f), Arg::Ident(_) | Arg::Paren(_)) => {
                self.next()?;
                Ok(Arg::Chain(Box::new(a), f.clone()))
            }
            (K::Field(_), _) => self.err(
                n.line,
                format!(
                    "unexpected . after term {:?}",
                    self.src.get(t.pos..t.end).unwrap_or("")
                ),
            ),
            _ => Ok(a),
        }
    }
}

// ------------------------------------------------------------------------------------------ templates

#[derive(Debug)]
struct Tree {
    name: String,
    pname: Arc<str>,
    src: Arc<str>,
    nodes: Vec<Node>,
}

/// A parsed set of named templates (one `loadFiles`/`loadString` call); cacheable, `Send + Sync`.
#[derive(Debug)]
pub struct Templates {
    entry: String,
    trees: HashMap<String, Tree>,
}

/// Go's `name:line:col` (col is a 0-based byte offset).
fn loc(t: &Tree, pos: usize) -> String {
    let pre = t.src.get(..pos).unwrap_or("");
    format!(
        "{}:{}:{}",
        t.pname,
        1 + pre.matches('\n').count(),
        pre.rfind('\n').map_or(pos, |i| pos - i - 1)
    )
}

impl Templates {
    /// Parses sources in order; the first source's top-level content is the entry template, named
    /// after its base file name (as Go's `ParseFiles`); `{{define}}`/`{{block}}` templates of every
    /// source are added, later non-empty definitions replacing earlier ones.
    pub fn parse(sources: &[(String, String)]) -> Result<Templates, String> {
        let (mut trees, mut entry) = (HashMap::new(), None);
        for (path, text) in sources {
            let name = path.rsplit(['/', '\\']).next().unwrap_or(path).to_string();
            let toks = lex(text);
            let mut p = Parser {
                toks: &toks,
                i: 0,
                src: text,
                pname: &name,
                vars: vec!["$".into()],
                range: 0,
                depth: 0,
                defs: Vec::new(),
            };
            match p.list()? {
                (nodes, Stop::Eof, line) => p.add(name.clone(), nodes, line)?,
                (_, Stop::End, line) => return p.err(line, "unexpected {{end}}"),
                (_, Stop::Else(_), line) => return p.err(line, "unexpected {{else}}"),
            }
            let (pname, src): (Arc<str>, Arc<str>) = (name.as_str().into(), text.as_str().into());
            for (n, nodes) in p.defs {
                if !(trees.contains_key(&n) && is_empty(&nodes)) {
                    trees.insert(
                        n.clone(),
                        Tree {
                            name: n,
                            pname: pname.clone(),
                            src: src.clone(),
                            nodes,
                        },
                    );
                }
            }
            entry.get_or_insert(name);
        }
        let entry = entry.ok_or("template: no files named in call to ParseFiles")?;
        Ok(Templates { entry, trees })
    }

    /// Executes the entry template with `data`.
    pub fn render(&self, data: &Json) -> Result<String, String> {
        self.render_named(&self.entry, data)
    }

    /// Executes template `name` with `data`, HTML-escaping every action output unless it went through `raw`.
    pub fn render_named(&self, name: &str, data: &Json) -> Result<String, String> {
        let tree = self
            .trees
            .get(name)
            .ok_or_else(|| format!("html/template: {name:?} is undefined"))?;
        let (mut seen, mut todo) = (HashSet::from([name]), vec![tree]);
        while let Some(t) = todo.pop() {
            self.check(t, &t.nodes, &mut seen, &mut todo)?;
        }
        let norm = int_floats(data, 0);
        let data = norm.as_ref().unwrap_or(data);
        let dot = if data.is_null() {
            V::Missing
        } else {
            V::R(data)
        };
        let mut st = St {
            ts: self,
            out: String::new(),
            vars: vec![("$", dot.clone())],
            depth: 0,
            tree,
            cmt: false,
        };
        st.list(&tree.nodes, &dot)?;
        Ok(st.out)
    }

    /// html/template's escape-time checks over every reachable template.
    fn check<'a>(
        &'a self,
        t: &'a Tree,
        nodes: &'a [Node],
        seen: &mut HashSet<&'a str>,
        todo: &mut Vec<&'a Tree>,
    ) -> Result<(), String> {
        for n in nodes {
            match n {
                Node::Action(p) if p.decl.is_empty() => {
                    for c in p.cmds.iter().take(p.cmds.len().saturating_sub(1)) {
                        if let Some(Arg::Ident(f)) = c.args.first().filter(
                            |a| matches!(a, Arg::Ident(f) if f == "html" || f == "urlquery"),
                        ) {
                            return Err(format!(
                                "html/template:{}: predefined escaper {f:?} disallowed in template",
                                loc(t, p.pos)
                            ));
                        }
                    }
                }
                Node::Ctl(_, _, a, b) => {
                    self.check(t, a, seen, todo)?;
                    self.check(t, b, seen, todo)?;
                }
                Node::Tmpl(name, _, pos, _) => match self.trees.get(name) {
                    None => {
                        return Err(format!(
                            "html/template:{}: no such template {name:?}",
                            loc(t, *pos)
                        ));
                    }
                    Some(c) if seen.insert(name) => todo.push(c),
                    _ => {}
                },
                _ => {}
            }
        }
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------ execution

/// A runtime value: missing (Go's invalid value), borrowed/owned JSON, or trusted HTML from `raw`.
#[derive(Clone, Debug)]
enum V<'a> {
    Missing,
    R(&'a Json),
    O(Rc<Json>),
    H(Rc<Json>),
}

impl<'a> V<'a> {
    fn j(&self) -> &Json {
        match self {
            V::Missing => &NULL,
            V::R(j) => j,
            V::O(j) | V::H(j) => j,
        }
    }
    fn child(&self, f: impl for<'x> Fn(&'x Json) -> Option<&'x Json>) -> V<'a> {
        match self {
            V::R(j) => f(j).map_or(V::Missing, V::R),
            V::O(j) => f(j).map_or(V::Missing, |x| own(x.clone())),
            _ => V::Missing,
        }
    }
}

fn own<'a>(j: Json) -> V<'a> {
    V::O(Rc::new(j))
}

fn truth(v: &V) -> bool {
    match v.j() {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(m) => !m.is_empty(),
    }
}

#[derive(PartialEq)]
enum Flow {
    Next,
    Break,
    Continue,
}

struct St<'a> {
    ts: &'a Templates,
    out: String,
    vars: Vec<(&'a str, V<'a>)>,
    depth: usize,
    tree: &'a Tree,
    cmt: bool,
}

impl<'a> St<'a> {
    fn e(&self, pos: usize, end: usize, msg: impl Display) -> String {
        let mut ctx: String = self
            .tree
            .src
            .get(pos..end)
            .unwrap_or("")
            .chars()
            .take(21)
            .collect();
        if ctx.chars().count() > 20 {
            ctx = ctx.chars().take(20).collect::<String>() + "...";
        }
        format!(
            "template: {}: executing {} at <{ctx}>: {msg}",
            loc(self.tree, pos),
            go_quote(&self.tree.name)
        )
    }
    fn list(&mut self, nodes: &'a [Node], dot: &V<'a>) -> Result<Flow, String> {
        self.depth += 1;
        // Backstop only: `{{template}}` calls check MAX_EXEC_DEPTH; a template nests at most MAX_PARSE_DEPTH.
        if self.depth > MAX_EXEC_DEPTH + MAX_PARSE_DEPTH + 2 {
            return Err(format!(
                "template: {}: exceeded maximum template depth",
                self.tree.name
            ));
        }
        let mut flow = Flow::Next;
        for n in nodes {
            flow = self.node(n, dot)?;
            if flow != Flow::Next {
                break;
            }
        }
        self.depth -= 1;
        Ok(flow)
    }
    /// Template text, minus HTML comments (html/template strips them).
    fn text(&mut self, mut s: &str) {
        loop {
            if self.cmt {
                let Some(i) = s.find("-->") else { return };
                (s, self.cmt) = (&s[i + 3..], false);
            }
            let Some(i) = s.find("<!--") else {
                self.out.push_str(s);
                return;
            };
            self.out.push_str(&s[..i]);
            (s, self.cmt) = (&s[i + 4..], true);
        }
    }
    fn node(&mut self, n: &'a Node, dot: &V<'a>) -> Result<Flow, String> {
        match n {
            Node::Text(s) => self.text(s),
            Node::Action(p) => {
                let (n, last) = (p.cmds.len(), p.cmds.last().map(|c| (c, &c.args[0])));
                let v = match last {
                    // html/template rewrites a final predefined escaper: `{{f a b}}` -> `{{_eval_args_ a b | f}}`,
                    // `{{x | f a}}` -> `{{x | f}}`; a final `html` is the escaper itself (no double escaping).
                    Some((c, Arg::Ident(f)))
                        if p.decl.is_empty() && (f == "html" || f == "urlquery") =>
                    {
                        let arg = if n > 1 {
                            self.cmds(&p.cmds[..n - 1], dot)?.unwrap_or(V::Missing)
                        } else {
                            let a = self.args(c, &c.args[1..], dot, None)?;
                            own(Json::String(match a.as_slice() {
                                [x] if x.j().is_string() => x.j().as_str().unwrap_or("").into(),
                                _ => sprint(&a.iter().map(V::j).collect::<Vec<_>>()),
                            }))
                        };
                        let v = builtin(f, &[arg]).map_err(|m| self.e(c.pos, c.end, m))?;
                        if f == "html" {
                            V::H(Rc::new(v.j().clone()))
                        } else {
                            v
                        }
                    }
                    _ => self.pipe(p, dot)?,
                };
                if p.decl.is_empty() && !self.cmt {
                    self.out.push_str(&html_out(&v));
                }
            }
            Node::Ctl(k, p, body, els) => {
                let mark = self.vars.len();
                let v = self.pipe(p, dot)?;
                let r = match k {
                    Ctl::If if truth(&v) => self.list(body, dot),
                    Ctl::With if truth(&v) => self.list(body, &v),
                    Ctl::Range => self.range(p, &v, body, els, dot),
                    _ => self.list(els, dot),
                };
                self.vars.truncate(mark);
                return r;
            }
            Node::Tmpl(name, p, pos, end) => {
                let d = match p {
                    Some(p) => self.pipe(p, dot)?,
                    None => V::Missing,
                };
                let t =
                    self.ts.trees.get(name).ok_or_else(|| {
                        self.e(*pos, *end, format!("template {name:?} not defined"))
                    })?;
                if self.depth >= MAX_EXEC_DEPTH {
                    return Err(self.e(
                        *pos,
                        *end,
                        format!("exceeded maximum template depth ({MAX_EXEC_DEPTH})"),
                    ));
                }
                let vars = std::mem::replace(&mut self.vars, vec![("$", d.clone())]);
                let tree = std::mem::replace(&mut self.tree, t);
                let r = self.list(&t.nodes, &d);
                (self.vars, self.tree) = (vars, tree);
                r?;
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Next)
    }
    fn range(
        &mut self,
        p: &'a Pipe,
        v: &V<'a>,
        body: &'a [Node],
        els: &'a [Node],
        dot: &V<'a>,
    ) -> Result<Flow, String> {
        let mut keys: Vec<String> = Vec::new();
        let n = match v.j() {
            Json::Null => 0,
            Json::Array(a) => a.len(),
            Json::Object(m) => {
                keys = m.keys().cloned().collect();
                keys.sort();
                keys.len()
            }
            j => match num(j) {
                Some(Num::I(i)) if p.decl.len() > 1 => {
                    return Err(self.e(
                        p.pos,
                        p.end,
                        format!("can't use {i} to iterate over more than one variable"),
                    ));
                }
                Some(Num::I(i)) => usize::try_from(i).unwrap_or(0),
                _ => {
                    return Err(self.e(
                        p.pos,
                        p.end,
                        format!("range can't iterate over {}", fmt_s(j)),
                    ));
                }
            },
        };
        if n == 0 {
            return self.list(els, dot);
        }
        let mark = self.vars.len();
        for i in 0..n {
            let (k, e) = match v.j() {
                Json::Array(_) => (own(Json::from(i)), v.child(|j| j.get(i))),
                Json::Object(_) => {
                    let key = keys.get(i).map_or("", |k| k.as_str());
                    (own(Json::from(key)), v.child(|j| j.get(key)))
                }
                _ => (own(Json::from(i)), own(Json::from(i))),
            };
            let pairs = match p.decl.as_slice() {
                [x] => vec![(x, e.clone())],
                [x, y] => vec![(x, k), (y, e.clone())],
                _ => vec![],
            };
            for (name, val) in pairs {
                if let Some(s) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    s.1 = val;
                }
            }
            let f = self.list(body, &e)?;
            self.vars.truncate(mark);
            if f == Flow::Break {
                break;
            }
        }
        Ok(Flow::Next)
    }
    fn pipe(&mut self, p: &'a Pipe, dot: &V<'a>) -> Result<V<'a>, String> {
        let v = self.cmds(&p.cmds, dot)?.unwrap_or(V::Missing);
        for d in &p.decl {
            if !p.assign {
                self.vars.push((d, v.clone()));
                continue;
            }
            let Some(i) = self.vars.iter().rposition(|(n, _)| n == d) else {
                return Err(self.e(p.pos, p.end, format!("undefined variable: {d}")));
            };
            self.vars[i].1 = v.clone();
        }
        Ok(v)
    }
    fn cmds(&mut self, cmds: &'a [Cmd], dot: &V<'a>) -> Result<Option<V<'a>>, String> {
        let mut fin = None;
        for c in cmds {
            fin = Some(match &c.args[0] {
                Arg::Ident(f) => self.call(f, c, &c.args[1..], dot, fin)?,
                Arg::Nil => return Err(self.e(c.pos, c.end, "nil is not a command")),
                a if c.args.len() == 1 && fin.is_none() => self.arg(a, c, dot)?,
                _ => return Err(self.e(c.pos, c.end, "can't give argument to non-function")),
            });
        }
        Ok(fin)
    }
    fn arg(&mut self, a: &'a Arg, c: &'a Cmd, dot: &V<'a>) -> Result<V<'a>, String> {
        let (v, fs) = match a {
            Arg::Dot => (dot.clone(), &[][..]),
            Arg::Nil => (V::Missing, &[][..]),
            Arg::Lit(j) => (V::R(j), &[][..]),
            Arg::Field(f) => (dot.clone(), &f[..]),
            Arg::Var(n, f) => {
                let v = self
                    .vars
                    .iter()
                    .rev()
                    .find(|(k, _)| k == n)
                    .map(|x| x.1.clone());
                (
                    v.ok_or_else(|| self.e(c.pos, c.end, format!("undefined variable: {n}")))?,
                    &f[..],
                )
            }
            Arg::Ident(f) => (self.call(f, c, &[], dot, None)?, &[][..]),
            Arg::Chain(b, f) => (self.arg(b, c, dot)?, &f[..]),
            Arg::Paren(p) => (self.pipe(p, dot)?, &[][..]),
        };
        fs.iter().try_fold(v, |v, f| match v.j() {
            _ if matches!(v, V::Missing) => Ok(V::Missing),
            Json::Null => Err(self.e(
                c.pos,
                c.end,
                format!("nil pointer evaluating interface {{}}.{f}"),
            )),
            Json::Object(_) => Ok(v.child(|j| j.get(f))),
            _ => Err(self.e(
                c.pos,
                c.end,
                format!("can't evaluate field {f} in type interface {{}}"),
            )),
        })
    }
    fn args(
        &mut self,
        c: &'a Cmd,
        args: &'a [Arg],
        dot: &V<'a>,
        fin: Option<V<'a>>,
    ) -> Result<Vec<V<'a>>, String> {
        let mut vs = args
            .iter()
            .map(|a| self.arg(a, c, dot))
            .collect::<Result<Vec<_>, _>>()?;
        vs.extend(fin);
        Ok(vs)
    }
    fn call(
        &mut self,
        name: &str,
        c: &'a Cmd,
        args: &'a [Arg],
        dot: &V<'a>,
        fin: Option<V<'a>>,
    ) -> Result<V<'a>, String> {
        if name != "and" && name != "or" {
            let vs = self.args(c, args, dot, fin)?;
            return builtin(name, &vs).map_err(|m| self.e(c.pos, c.end, m));
        }
        if args.is_empty() && fin.is_none() {
            return Err(self.e(
                c.pos,
                c.end,
                format!("wrong number of args for {name}: want at least 1 got 0"),
            ));
        }
        let mut last = V::Missing;
        for a in args {
            last = self.arg(a, c, dot)?;
            if truth(&last) != (name == "and") {
                return Ok(last);
            }
        }
        Ok(fin.unwrap_or(last))
    }
}

/// html/template's text-context escaper applied to the value of an output action.
fn html_out(v: &V) -> String {
    match (v, v.j()) {
        (V::H(j), _) => j.as_str().unwrap_or("").to_string(),
        (_, Json::Null) => String::new(),
        (_, Json::String(s)) => esc(s, true),
        (_, j) => esc(&fmt_s(j), true),
    }
}

fn builtin<'a>(name: &str, a: &[V<'a>]) -> Result<V<'a>, String> {
    let n = a.len();
    let exact = |k: usize| {
        if n == k {
            Ok(())
        } else {
            Err(format!("wrong number of args for {name}: want {k} got {n}"))
        }
    };
    let least = |k: usize| {
        if n >= k {
            Ok(())
        } else {
            Err(format!(
                "wrong number of args for {name}: want at least {k} got {n}"
            ))
        }
    };
    let ce = |m: String| format!("error calling {name}: {m}");
    let js: Vec<&Json> = a.iter().map(V::j).collect();
    let nv = Json::String("<no value>".into());
    let text = || match js.as_slice() {
        [Json::String(s)] => s.clone(),
        _ => sprint(
            &js.iter()
                .map(|j| if j.is_null() { &nv } else { j })
                .collect::<Vec<_>>(),
        ),
    };
    let s = |x: String| Ok(own(Json::String(x)));
    let b = |x: bool| Ok(own(Json::Bool(x)));
    let wrong = |j: &Json| {
        Err(format!(
            "wrong type for value; expected string; got {}",
            tname(j)
        ))
    };
    match name {
        "not" => {
            exact(1)?;
            b(!truth(&a[0]))
        }
        "len" => {
            exact(1)?;
            Ok(own(Json::from(match js[0] {
                Json::String(x) => x.len(),
                Json::Array(x) => x.len(),
                Json::Object(x) => x.len(),
                Json::Null => return Err(ce("len of nil pointer".into())),
                j => return Err(ce(format!("len of type {}", tname(j)))),
            })))
        }
        "index" if js.first().is_some_and(|j| j.is_null()) => {
            Err(ce("index of untyped nil".into()))
        }
        "index" => {
            least(1)?;
            a[1..]
                .iter()
                .try_fold(a[0].clone(), |v, ix| index1(v, ix.j()).map_err(ce))
        }
        "slice" => {
            least(1)?;
            slice(&a[0], &js[1..]).map_err(ce)
        }
        "print" => s(sprint(&js)),
        "println" => s(js.iter().map(|j| fmt_s(j)).collect::<Vec<_>>().join(" ") + "\n"),
        "printf" => {
            least(1)?;
            match js[0] {
                Json::String(f) => s(sprintf(f, &js[1..])),
                j => wrong(j),
            }
        }
        "html" => s(esc(&text(), false)),
        "js" => s(js_esc(&text())),
        "urlquery" => s(query_esc(&text())),
        "raw" => {
            exact(1)?;
            match js[0] {
                Json::String(x) => Ok(V::H(Rc::new(Json::String(x.clone())))),
                j => wrong(j),
            }
        }
        "eq" if n == 1 => Err(ce("missing argument for comparison".into())),
        "eq" => {
            least(1)?;
            for x in &js[1..] {
                if eq2(js[0], x).map_err(ce)? {
                    return b(true);
                }
            }
            b(false)
        }
        "ne" => {
            exact(2)?;
            b(!eq2(js[0], js[1]).map_err(ce)?)
        }
        _ => {
            // lt le gt ge
            exact(2)?;
            let l = lt2(js[0], js[1]).map_err(ce)?;
            let le = l || (name != "lt" && name != "ge" && eq2(js[0], js[1]).map_err(ce)?);
            b(match name {
                "lt" => l,
                "ge" => !l,
                "le" => le,
                _ => !le,
            })
        }
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Num {
    I(i64),
    F(f64),
}

fn num(j: &Json) -> Option<Num> {
    let Json::Number(n) = j else { return None };
    Some(
        n.as_i64()
            .map_or_else(|| Num::F(n.as_f64().unwrap_or(0.0)), Num::I),
    )
}

/// goja exports integral JS numbers as int64: integral floats in the data become integers
/// (`None` when nothing changes, so the data is usually not copied).
fn int_floats(j: &Json, depth: usize) -> Option<Json> {
    let int = |f: f64| (f.fract() == 0.0 && f.abs() < 9.2e18).then(|| Json::from(f as i64));
    match j {
        Json::Number(n) if n.is_f64() => int(n.as_f64()?),
        Json::Array(a) if depth < 100 && a.iter().any(|x| int_floats(x, depth + 1).is_some()) => {
            Some(Json::Array(
                a.iter()
                    .map(|x| int_floats(x, depth + 1).unwrap_or_else(|| x.clone()))
                    .collect(),
            ))
        }
        Json::Object(m)
            if depth < 100 && m.values().any(|x| int_floats(x, depth + 1).is_some()) =>
        {
            Some(Json::Object(
                m.iter()
                    .map(|(k, x)| {
                        (
                            k.clone(),
                            int_floats(x, depth + 1).unwrap_or_else(|| x.clone()),
                        )
                    })
                    .collect(),
            ))
        }
        _ => None,
    }
}

/// Go's basic kind: 0 nil, 1 bool, 2 int, 3 float, 4 string, 5 slice, 6 map.
fn kind(j: &Json) -> usize {
    match (j, num(j)) {
        (Json::Null, _) => 0,
        (Json::Bool(_), _) => 1,
        (_, Some(Num::I(_))) => 2,
        (Json::Number(_), _) => 3,
        (Json::String(_), _) => 4,
        (Json::Array(_), _) => 5,
        (Json::Object(_), _) => 6,
    }
}

fn tname(j: &Json) -> &'static str {
    [
        "<nil>",
        "bool",
        "int64",
        "float64",
        "string",
        "[]interface {}",
        "map[string]interface {}",
    ][kind(j)]
}

fn eq2(a: &Json, b: &Json) -> Result<bool, String> {
    match (kind(a), kind(b)) {
        (0, 1..) | (1.., 0) => Ok(false),
        (x, y) if x != y => Err("incompatible types for comparison".into()),
        (5 | 6, _) => Err(format!("non-comparable type {}: {}", fmt_s(a), tname(a))),
        (2 | 3, _) => Ok(num(a) == num(b)),
        _ => Ok(a == b),
    }
}

fn lt2(a: &Json, b: &Json) -> Result<bool, String> {
    match (kind(a), kind(b), num(a), num(b)) {
        (0 | 1 | 5 | 6, ..) | (_, 0 | 1 | 5 | 6, ..) => Err("invalid type for comparison".into()),
        (x, y, ..) if x != y => Err("incompatible types for comparison".into()),
        (_, _, Some(Num::I(x)), Some(Num::I(y))) => Ok(x < y),
        (_, _, Some(Num::F(x)), Some(Num::F(y))) => Ok(x < y),
        _ => Ok(a.as_str() < b.as_str()),
    }
}

fn int_idx(ix: &Json) -> Result<i64, String> {
    match num(ix) {
        Some(Num::I(i)) => Ok(i),
        _ if ix.is_null() => Err("cannot index slice/array with nil".into()),
        _ => Err(format!("cannot index slice/array with type {}", tname(ix))),
    }
}

fn index1<'a>(v: V<'a>, ix: &Json) -> Result<V<'a>, String> {
    let at = |len: usize| {
        int_idx(ix).and_then(|i| {
            usize::try_from(i)
                .ok()
                .filter(|u| *u < len)
                .ok_or(format!("index out of range: {i}"))
        })
    };
    match v.j() {
        Json::Array(a) => {
            let i = at(a.len())?;
            Ok(v.child(|j| j.get(i)))
        }
        Json::String(s) => Ok(own(Json::from(s.as_bytes()[at(s.len())?]))),
        Json::Object(_) => match ix {
            Json::String(k) => Ok(v.child(|j| j.get(k))),
            j => Err(format!("value has type {}; should be string", tname(j))),
        },
        Json::Null => Err("index of untyped nil".into()),
        j => Err(format!("can't index item of type {}", tname(j))),
    }
}

fn slice<'a>(v: &V<'a>, ix: &[&Json]) -> Result<V<'a>, String> {
    if ix.len() > 3 {
        return Err(format!("too many slice indexes: {}", ix.len()));
    }
    let idx = ix
        .iter()
        .map(|x| int_idx(x))
        .collect::<Result<Vec<_>, _>>()?;
    let len = match v.j() {
        Json::String(_) if idx.len() == 3 => return Err("cannot 3-index slice a string".into()),
        Json::String(s) => s.len(),
        Json::Array(a) => a.len(),
        Json::Null => return Err("slice of untyped nil".into()),
        j => return Err(format!("can't slice item of type {}", tname(j))),
    };
    if let Some(x) = idx.iter().find(|x| **x < 0 || **x > len as i64) {
        return Err(format!("index out of range: {x}"));
    }
    let (i, j) = (
        idx.first().map_or(0, |x| *x as usize),
        idx.get(1).map_or(len, |x| *x as usize),
    );
    if i > j {
        return Err(format!("invalid slice index: {i} > {j}"));
    }
    if let Some(k) = idx.get(2).filter(|k| (**k as usize) < j) {
        return Err(format!("invalid slice index: {j} > {k}"));
    }
    Ok(own(match v.j() {
        Json::String(s) => Json::String(String::from_utf8_lossy(&s.as_bytes()[i..j]).into_owned()),
        Json::Array(a) => Json::Array(a[i..j].to_vec()),
        _ => Json::Null,
    }))
}

// ------------------------------------------------------------------------------------------ Go's fmt subset

fn fmt_s(j: &Json) -> String {
    let mut o = String::new();
    fmt_v(&mut o, j, 'v', None, false, 0);
    o
}

/// Rust's exponent form (`1.5e-7`) to Go's (`1.5e-07`).
fn go_exp(s: &str, e: char) -> String {
    let (m, x) = s.split_once('e').unwrap_or((s, "0"));
    let x: i32 = x.parse().unwrap_or(0);
    format!("{m}{e}{}{:02}", if x < 0 { '-' } else { '+' }, x.abs())
}

/// Go's `%g` with shortest precision (what `%v` does for float64).
fn go_g(f: f64) -> String {
    let s = format!("{f:e}");
    match s.split_once('e').and_then(|(_, x)| x.parse::<i32>().ok()) {
        _ if f.is_nan() => "NaN".into(),
        _ if f.is_infinite() => (if f > 0.0 { "+Inf" } else { "-Inf" }).into(),
        Some(x) if !(-4..6).contains(&x) => go_exp(&s, 'e'),
        _ => format!("{f}"),
    }
}

/// One operand of Go's fmt; arrays and maps apply the verb element-wise.
fn fmt_v(o: &mut String, j: &Json, verb: char, prec: Option<usize>, plus: bool, depth: usize) {
    if depth > 64 {
        o.push_str("...");
        return;
    }
    let sign = |x: bool| if plus && x && verb != 'v' { "+" } else { "" };
    let _ = match (j, verb, num(j)) {
        (Json::Array(a), ..) => {
            o.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    o.push(' ');
                }
                fmt_v(o, x, verb, prec, plus, depth + 1);
            }
            write!(o, "]")
        }
        (Json::Object(m), ..) => {
            let mut kv: Vec<_> = m.iter().collect();
            kv.sort_by(|x, y| x.0.cmp(y.0));
            o.push_str("map[");
            for (i, (k, x)) in kv.into_iter().enumerate() {
                o.push_str(if i > 0 { " " } else { "" });
                fmt_v(o, &Json::String(k.clone()), verb, prec, plus, depth + 1);
                o.push(':');
                fmt_v(o, x, verb, prec, plus, depth + 1);
            }
            write!(o, "]")
        }
        (Json::Null, _, _) if verb == 'v' || depth > 0 => write!(o, "<nil>"),
        (Json::Bool(b), 'v' | 't', _) => write!(o, "{b}"),
        (Json::String(s), 'v' | 's', _) => write!(
            o,
            "{}",
            s.chars()
                .take(prec.unwrap_or(usize::MAX))
                .collect::<String>()
        ),
        (Json::String(s), 'q', _) => write!(o, "{}", go_quote(s)),
        (Json::String(s), 'x', _) => s.bytes().try_for_each(|b| write!(o, "{b:02x}")),
        (Json::String(s), 'X', _) => s.bytes().try_for_each(|b| write!(o, "{b:02X}")),
        (_, 'v' | 'd', Some(Num::I(i))) => write!(o, "{}{i}", sign(i >= 0)),
        (_, 'x', Some(Num::I(i))) => write!(
            o,
            "{}{:x}",
            if i < 0 { "-" } else { sign(true) },
            i.unsigned_abs()
        ),
        (_, 'X', Some(Num::I(i))) => write!(
            o,
            "{}{:X}",
            if i < 0 { "-" } else { sign(true) },
            i.unsigned_abs()
        ),
        (_, 'c', Some(Num::I(i))) => write!(
            o,
            "{}",
            u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}')
        ),
        (_, 'v' | 'g' | 'G', Some(Num::F(f))) => write!(o, "{}{}", sign(f >= 0.0), go_g(f)),
        (_, 'f' | 'F', Some(Num::F(f))) => write!(o, "{}{f:.*}", sign(f >= 0.0), prec.unwrap_or(6)),
        (_, 'e' | 'E', Some(Num::F(f))) => write!(
            o,
            "{}{}",
            sign(f >= 0.0),
            go_exp(&format!("{f:.*e}", prec.unwrap_or(6)), verb)
        ),
        (Json::Null, ..) => write!(o, "%!{verb}(<nil>)"),
        _ => write!(o, "%!{verb}({}={})", tname(j), fmt_s(j)),
    };
}

/// `fmt.Sprint`: spaces between operands when neither is a string.
fn sprint(js: &[&Json]) -> String {
    let mut o = String::new();
    for (i, j) in js.iter().enumerate() {
        if i > 0 && !j.is_string() && !js[i - 1].is_string() {
            o.push(' ');
        }
        fmt_v(&mut o, j, 'v', None, false, 0);
    }
    o
}

/// `fmt.Sprintf` with flags `-+0`, width, precision and Go's `%!verb(...)` error forms.
fn sprintf(f: &str, args: &[&Json]) -> String {
    let (mut o, mut ai, mut it) = (String::new(), 0, f.chars().peekable());
    let number = |it: &mut std::iter::Peekable<std::str::Chars>| {
        let mut n = 0usize;
        while let Some(d) = it.peek().and_then(|c| c.to_digit(10)) {
            n = (n * 10 + d as usize).min(MAX_WIDTH);
            it.next();
        }
        n
    };
    while let Some(c) = it.next() {
        if c != '%' {
            o.push(c);
            continue;
        }
        let (mut minus, mut plus, mut zero) = (false, false, false);
        while let Some(f) = it.next_if(|c| "-+0# ".contains(*c)) {
            (minus, plus, zero) = (minus || f == '-', plus || f == '+', zero || f == '0');
        }
        let width = number(&mut it);
        let prec = it.next_if_eq(&'.').map(|_| number(&mut it));
        let Some(verb) = it.next() else {
            o.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            o.push('%');
            continue;
        }
        let Some(a) = args.get(ai) else {
            let _ = write!(o, "%!{verb}(MISSING)");
            continue;
        };
        ai += 1;
        let mut s = String::new();
        fmt_v(&mut s, a, verb, prec, plus, 0);
        let fill = width.saturating_sub(s.chars().count());
        if minus {
            s += &" ".repeat(fill);
        } else if zero && num(a).is_some() {
            s.insert_str(usize::from(s.starts_with(['+', '-'])), &"0".repeat(fill));
        } else {
            s.insert_str(0, &" ".repeat(fill));
        }
        o += &s;
    }
    if ai < args.len() {
        let extra: Vec<String> = args[ai..]
            .iter()
            .map(|j| {
                if j.is_null() {
                    "<nil>".into()
                } else {
                    format!("{}={}", tname(j), fmt_s(j))
                }
            })
            .collect();
        let _ = write!(o, "%!(EXTRA {})", extra.join(", "));
    }
    o
}

/// Replaces chars via `f` (None keeps the char).
fn map_chars(s: &str, f: impl Fn(char) -> Option<String>) -> String {
    s.chars().fold(String::with_capacity(s.len()), |mut o, c| {
        match f(c) {
            Some(r) => o.push_str(&r),
            None => o.push(c),
        }
        o
    })
}

/// Go's `strconv.Quote` (control characters use Rust's `\u{..}` form).
fn go_quote(s: &str) -> String {
    format!("{s:?}")
}

/// HTML escaping; `plus` selects html/template's escaper (also `+`) over text/template's `html`.
fn esc(s: &str, plus: bool) -> String {
    map_chars(s, |c| {
        let r = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&#34;",
            '\'' => "&#39;",
            '+' if plus => "&#43;",
            '\0' => "\u{FFFD}",
            _ => return None,
        };
        Some(r.into())
    })
}

/// text/template's `JSEscapeString`.
fn js_esc(s: &str) -> String {
    map_chars(s, |c| match c {
        '\\' | '\'' | '"' => Some(format!("\\{c}")),
        '<' | '>' | '&' | '=' => Some(format!("\\u{:04X}", c as u32)),
        c if (c as u32) < 0x20 || c.is_control() => Some(format!("\\u{:04X}", c as u32)),
        _ => None,
    })
}

/// Go's `url.QueryEscape`.
fn query_esc(s: &str) -> String {
    s.bytes().fold(String::with_capacity(s.len()), |mut o, b| {
        let _ = match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                write!(o, "{}", b as char)
            }
            b' ' => write!(o, "+"),
            b => write!(o, "%{b:02X}"),
        };
        o
    })
}

// ------------------------------------------------------------------------------------------ tests

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn files(srcs: &[(&str, &str)], data: Json) -> String {
        let s: Vec<(String, String)> = srcs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        Templates::parse(&s)
            .and_then(|t| t.render(&data))
            .unwrap_or_else(|e| format!("ERR {e}"))
    }
    fn one(t: &str, data: &Json) -> String {
        files(&[("t", t)], data.clone())
    }
    fn data() -> Json {
        json!({"name": "<b>Tom & 'J'\"+</b>", "u": {"n": {"x": 5}}, "f": 1.5, "big": 1234567.5, "tiny": 0.00001, "nul": null,
               "a": [1, 2, 3], "m": {"b": 2, "a": 1, "c": 3}, "e": [], "z": 0, "s": "x", "h": "héllo", "n": 7})
    }

    // Expected outputs below were produced by Go's html/template (PocketBase's registry setup).
    #[test]
    fn golden_output() {
        let d = data();
        let cases = [
            (
                "<p>{{.name}}</p>",
                "<p>&lt;b&gt;Tom &amp; &#39;J&#39;&#34;&#43;&lt;/b&gt;</p>",
            ),
            (
                "{{raw .name}}|{{.name | raw}}|{{.name | html}}|{{js \"a'<b\"}}|{{urlquery \"a b&c\"}}",
                "<b>Tom & 'J'\"+</b>|<b>Tom & 'J'\"+</b>|&lt;b&gt;Tom &amp; &#39;J&#39;&#34;+&lt;/b&gt;|a\\&#39;\\u003Cb|a&#43;b%26c",
            ),
            (
                "{{.u.n.x}} {{$.u.n}} {{.f}} {{.big}} {{.tiny}} [{{.nul}}{{.missing}}] {{.missing.deep}} {{1e6}} {{.a}} {{.m}}",
                "5 map[x:5] 1.5 1.2345675e&#43;06 1e-05 []  1e&#43;06 [1 2 3] map[a:1 b:2 c:3]",
            ),
            ("a<!-- c {{.name}} -->b<!---->c", "abc"),
            (
                "a  \n {{- 1 -}} \n  b {{/* c */}} c {{- /* x */ -}} d",
                "a1b  cd",
            ),
            (
                "{{\"q\\n\\\"\" | printf \"%q\"}} {{`r\\n`}} {{'a'}} {{0x1F}} {{-3}} {{1.5e3}} {{true}} {{print nil}}",
                "&#34;q\\n\\&#34;&#34; r\\n 97 31 -3 1500 true &lt;nil&gt;",
            ),
            (
                "{{if .z}}1{{else if .s}}2{{else}}3{{end}}{{if and .s .a}}T{{end}}{{if or .z .e}}{{else}}F{{end}}{{and 1 0 2}}{{or 0 \"\" 3}}",
                "2TF03",
            ),
            (
                "{{range $i, $v := .a}}{{$i}}={{$v}};{{end}}{{range .e}}x{{else}}empty{{end}}",
                "0=1;1=2;2=3;empty",
            ),
            (
                "{{range $k, $v := .m}}{{$k}}{{$v}}{{end}} {{range .m}}{{.}}{{end}}",
                "a1b2c3 123",
            ),
            (
                "{{range .a}}{{if eq . 2}}{{continue}}{{end}}{{if gt . 2}}{{break}}{{end}}{{.}}{{end}}",
                "1",
            ),
            (
                "{{with .s}}[{{.}}]{{end}}{{with .z}}no{{else}}e{{end}}{{with $x := .a}}{{len $x}}{{end}}",
                "[x]e3",
            ),
            (
                "{{$n := 0}}{{range .a}}{{$n = .}}{{end}}{{$n}} {{range .a}}{{$.s}}{{end}} {{(index .a 0) | print}} {{.n | printf \"%v-%v\" 1}}",
                "3 xxx 1 1-7",
            ),
            (
                "{{len .a}} {{len .h}} {{index .a 1}} {{index .m \"b\"}} {{slice .a 1 2}} {{slice .h 0 2}} {{not .n}}",
                "3 6 2 2 [2] h\u{FFFD} false",
            ),
            (
                "{{print 1 2 \"a\" 3}} {{println 1 \"x\"}}{{eq .n 7}} {{eq .n 1 7}} {{ne .s \"x\"}} {{lt .f 3.5}} {{le 2 2}} {{ge \"b\" \"a\"}}",
                "1 2a3 1 x\ntrue true false true true true",
            ),
            (
                "{{printf \"%s|%d|%v|%q|%5.2f|%-4d|%03d|%x|%+d|%.2e\" .h .n .a .h .f 5 7 255 3 1234.5}}",
                "héllo|7|[1 2 3]|&#34;héllo&#34;| 1.50|5   |007|ff|&#43;3|1.23e&#43;03",
            ),
            (
                "{{printf \"%d %s %d\" .h .n}} {{printf \"%v\" .nul}} {{printf \"%s\" .a}}",
                "%!d(string=héllo) %!s(int64=7) %!d(MISSING) &lt;nil&gt; [%!s(int64=1) %!s(int64=2) %!s(int64=3)]",
            ),
            // Go 1.22+/1.23+ features (range over int, else with): not in the Go used for the goldens above.
            (
                "{{range 3}}{{.}}{{end}}{{range $i := 2}}{{$i}}{{end}}{{range -1}}{{else}}none{{end}}",
                "01201none",
            ),
            ("{{with .z}}no{{else with .s}}w{{else}}e{{end}}", "w"),
        ];
        for (t, want) in cases {
            assert_eq!(one(t, &d), want, "template: {t}");
        }
        assert_eq!(one("{{.}} {{.x}}", &Json::Null), " ");
        assert_eq!(
            one("{{.}} {{.a}} {{eq .a 2}}", &json!({"a": 2.0})),
            "map[a:2] 2 true"
        ); // goja: integral numbers are int64
    }

    #[test]
    fn define_template_block() {
        let layout = "<html>{{block \"title\" .}}Default{{end}}|{{template \"body\" .}}</html>";
        let page = "{{define \"title\"}}Hi {{.name}}{{end}}\n{{define \"body\"}}{{template \"part\" .a}}{{end}}";
        let part = "{{define \"part\"}}{{range .}}({{.}}){{end}}{{end}}";
        let d = json!({"name": "Bo", "a": [1, 2]});
        assert_eq!(
            files(
                &[
                    ("views/layout.html", layout),
                    ("views/page.html", page),
                    ("part.html", part)
                ],
                d.clone()
            ),
            "<html>Hi Bo|(1)(2)</html>"
        );
        assert_eq!(
            files(
                &[
                    ("views/layout.html", layout),
                    ("b.html", "{{define \"body\"}}B{{end}}")
                ],
                d.clone()
            ),
            "<html>Default|B</html>"
        );
        // an empty define does not replace a block's default
        assert_eq!(
            files(
                &[
                    ("base.html", "{{block \"title\" .}}Default{{end}}"),
                    ("p.html", "{{define \"title\"}}  {{end}}")
                ],
                d.clone()
            ),
            "Default"
        );
        assert_eq!(
            files(
                &[
                    ("a.html", "{{template \"b.html\" .name}}"),
                    ("b.html", "[{{.}}]")
                ],
                d.clone()
            ),
            "[Bo]"
        );
        let t = Templates::parse(&[(
            "/x/base.html".into(),
            "{{block \"t\" .}}D{{.}}{{end}}".into(),
        )])
        .unwrap();
        assert_eq!(
            (t.entry.as_str(), t.render_named("t", &json!(1)).unwrap()),
            ("base.html", "D1".into())
        );
        let rec = "{{define \"r\"}}{{.v}}{{with .c}}({{template \"r\" .}}){{end}}{{end}}{{template \"r\" .}}";
        assert_eq!(
            one(rec, &json!({"v": 1, "c": {"v": 2, "c": {"v": 3}}})),
            "1(2(3))"
        );
    }

    #[test]
    fn errors() {
        let d = data();
        let cases = [
            (
                "a\n{{foo 1}}",
                "template: t:2: function \"foo\" not defined",
            ),
            ("line1\n{{ .x ", "template: t:2: unclosed action"),
            ("{{if 1}}x", "template: t:1: unexpected EOF"),
            ("{{end}}", "template: t:1: unexpected {{end}}"),
            ("{{$x}}", "template: t:1: undefined variable \"$x\""),
            ("{{/* x", "template: t:1: unclosed comment"),
            ("{{break}}", "template: t:1: {{break}} outside {{range}}"),
            (
                "{{\"a\" | 1}}",
                "template: t:1: non executable command in pipeline stage 2",
            ),
            (
                "{{define \"a\"}}x{{end}}{{define \"a\"}}y{{end}}",
                "template: t:1: template: multiple definition of template \"a\"",
            ),
            (
                "{{index .a 5}}",
                "template: t:1:2: executing \"t\" at <index .a 5>: error calling index: index out of range: 5",
            ),
            (
                "{{eq 1 \"a\"}}",
                "template: t:1:2: executing \"t\" at <eq 1 \"a\">: error calling eq: incompatible types for comparison",
            ),
            (
                "{{lt .f 1}}",
                "template: t:1:2: executing \"t\" at <lt .f 1>: error calling lt: incompatible types for comparison",
            ),
            (
                "{{len .n}}",
                "template: t:1:2: executing \"t\" at <len .n>: error calling len: len of type int64",
            ),
            (
                "{{if 0}}{{template \"nope\"}}{{end}}",
                "html/template:t:1:19: no such template \"nope\"",
            ),
            (
                "{{. | html | print}}",
                "html/template:t:1:2: predefined escaper \"html\" disallowed in template",
            ),
            // Go reports these at the last field's column
            (
                "x {{.s.b}}",
                "template: t:1:4: executing \"t\" at <.s.b>: can't evaluate field b in type interface {}",
            ),
            (
                "{{.nul.x}}",
                "template: t:1:2: executing \"t\" at <.nul.x>: nil pointer evaluating interface {}.x",
            ),
            (
                "{{raw .n}}",
                "template: t:1:2: executing \"t\" at <raw .n>: wrong type for value; expected string; got int64",
            ),
        ];
        for (t, want) in cases {
            assert_eq!(one(t, &d), format!("ERR {want}"), "template: {t}");
        }
        let rec = one(
            "{{define \"r\"}}{{template \"r\"}}{{end}}{{template \"r\"}}",
            &d,
        );
        assert_eq!(
            rec,
            "ERR template: t:1:25: executing \"r\" at <\"r\">: exceeded maximum template depth (300)"
        );
        assert!(
            one(&("{{".to_string() + &"(".repeat(200)), &d)
                .ends_with("max expression depth exceeded")
        );
        assert!(one(&"{{if 1}}".repeat(200), &d).ends_with("max expression depth exceeded"));
    }

    #[test]
    fn limits_and_robustness() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Templates>();
        // the deepest allowed nesting (template recursion x nested blocks) fits a 1 MiB stack even unoptimized
        let nest = "{{if 1}}".repeat(98) + &"{{end}}".repeat(98);
        let t = format!(
            "{{{{define \"r\"}}}}{nest}{{{{range .}}}}{{{{template \"r\" .}}}}{{{{end}}}}{{{{end}}}}{{{{template \"r\" .}}}}"
        );
        let run = move || one(&t, &json!([[1]]));
        let out = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(run)
            .unwrap()
            .join()
            .unwrap();
        assert!(
            out.starts_with("ERR template: t:1:") || out.is_empty(),
            "{out}"
        );
        // no template text panics: every prefix/suffix of a busy template, then random token soups
        let t = "{{- /* c */ -}}{{define \"x\"}}{{range $i, $v := .a}}{{if eq $i 1}}{{break}}{{else if $v}}{{printf \"%5.2q%\" (index $.m `k`) | html}}{{end}}{{end}}{{end}}{{block \"b\" .}}{{with $x := .m.k}}{{slice $x 0 1}}{{else}}'é'{{end}}{{end}}{{template \"x\" .}}{{len 1.5e3}}{{'\\x41'}}";
        let d = json!({"a": [0, 1, 2], "m": {"k": "vé"}});
        for (i, _) in t.char_indices() {
            one(&t[..i], &d);
            one(&t[i..], &d);
        }
        let parts = [
            "{{", "}}", "{{-", "-}}", "(", ")", "|", "$x", ":=", "=", ",", ".a", ".m.k", "$", ".",
            "\"s\"", "`r`", "'c'", "1", "-2.5", "if", "else", "end", "range", "with", "define",
            "template", "block", "break", "continue", "nil", "and", "or", "not", "len", "index",
            "slice", "print", "printf", "eq", "lt", "html", "js", "urlquery", "raw", "/*", "*/",
            " ", "\n", "é", "<!--", "-->",
        ];
        let mut seed = 42u64;
        for _ in 0..3000 {
            let mut t = String::new();
            for _ in 0..12 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                t += parts[(seed >> 33) as usize % parts.len()];
            }
            one(&t, &d);
        }
    }
}
