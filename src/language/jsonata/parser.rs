//! The parser: a Pratt (top-down operator precedence) parser producing a raw tree, then the
//! jsonata-js `processAST` rewrites that turn it into the evaluated [`Node`] tree: paths as
//! step lists, predicates as stages, groupings, focus/index bindings and parent slots.

use std::sync::Arc;

use super::ast::{BinOp, Group, Kind, Lambda, Node, RegexLit, SortTerm, Stage};
use super::error::{json_quote, Error};
use super::lexer::{Lexer, TokKind, Token};
use super::signature::Signature;

/// Maximum nesting of the raw tree (guards the parser's recursion).
const MAX_NESTING: usize = 150;

/// Maximum number of operators chained at one level (`a & b & c ...`), each one a level
/// deeper in the tree.
const MAX_CHAIN: usize = 500;

/// The raw (unprocessed) tree.
#[derive(Debug)]
struct Raw {
    kind: RawKind,
    pos: usize,
    keep_array: bool,
}

#[derive(Debug)]
enum RawKind {
    Name(String),
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Regex(Arc<RegexLit>),
    Var(String),
    Wildcard,
    Descendant,
    Parent,
    Dot(Box<Raw>, Box<Raw>),
    Pred(Box<Raw>, Box<Raw>),
    GroupBy(Box<Raw>, Vec<(Raw, Raw)>),
    Focus(Box<Raw>, String),
    IndexBind(Box<Raw>, String),
    Sort(Box<Raw>, Vec<(bool, Raw)>),
    Bin(BinOp, Box<Raw>, Box<Raw>),
    Apply(Box<Raw>, Box<Raw>),
    Bind(String, Box<Raw>),
    Neg(Box<Raw>),
    Array(Vec<Raw>),
    Object(Vec<(Raw, Raw)>),
    Block(Vec<Raw>),
    Cond(Box<Raw>, Box<Raw>, Option<Box<Raw>>),
    Call(Box<Raw>, Vec<Raw>, bool),
    Placeholder,
    Lambda(Vec<String>, Option<Signature>, Box<Raw>),
    Transform(Box<Raw>, Box<Raw>, Option<Box<Raw>>),
}

struct Parser<'t> {
    text: &'t str,
    lex_error: Option<Error>,
    toks: Vec<(Token, usize)>,
    i: usize,
    nesting: usize,
}

fn tok_text(k: &TokKind) -> String {
    match k {
        TokKind::Op(o) => (*o).to_string(),
        TokKind::Str(s) => s.clone(),
        TokKind::Num(n) => super::value::js_number_string(*n),
        TokKind::Bool(b) => b.to_string(),
        TokKind::Null => "null".into(),
        TokKind::Name(n) => n.clone(),
        TokKind::Var(v) => format!("${v}"),
        TokKind::Regex { pattern, .. } => pattern.clone(),
        TokKind::End => "(end)".into(),
    }
}

fn lbp(k: &TokKind) -> u32 {
    match k {
        TokKind::Op(op) => match *op {
            "." => 75,
            "[" | "(" | "@" | "#" => 80,
            "{" => 70,
            "?" => 20,
            "+" | "-" | "&" => 50,
            "*" | "/" | "%" => 60,
            "=" | "<" | ">" | "^" | "!=" | "<=" | ">=" | "~>" | "in" | "?:" | "??" => 40,
            ".." => 20,
            ":=" => 10,
            "and" => 30,
            "or" => 25,
            _ => 0,
        },
        _ => 0,
    }
}

impl<'t> Parser<'t> {
    fn cur(&self) -> &TokKind {
        &self.toks[self.i].0.kind
    }
    fn cur_pos(&self) -> usize {
        self.toks[self.i].0.pos
    }
    fn is_op(&self, op: &str) -> bool {
        matches!(self.cur(), TokKind::Op(o) if *o == op)
    }
    /// Consumes the current token; fails if lexing the next one failed (the lexer runs one
    /// token ahead, as in jsonata-js).
    fn bump(&mut self) -> Result<Token, Error> {
        let t = self.toks[self.i].0.clone();
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
        if self.i + 1 == self.toks.len() {
            if let Some(e) = self.lex_error.take() {
                return Err(e);
            }
        }
        Ok(t)
    }
    fn expect(&mut self, op: &'static str) -> Result<(), Error> {
        if self.is_op(op) {
            self.bump()?;
            return Ok(());
        }
        let pos = self.cur_pos();
        if matches!(self.cur(), TokKind::End) {
            return Err(Error::new("S0203").pos(pos).value(json_quote(op)));
        }
        Err(Error::new("S0202")
            .pos(pos)
            .value(json_quote(op))
            .token(tok_text(self.cur())))
    }

    fn expression(&mut self, rbp: u32) -> Result<Raw, Error> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(Error::new("S0201")
                .pos(self.cur_pos())
                .token(tok_text(self.cur()))
                .message("Syntax error: expression nested too deeply"));
        }
        let t = self.bump()?;
        let mut left = self.nud(t)?;
        // each operator applied wraps the tree so far: a chain (`a & b & c ...`) makes a tree
        // as deep as it is long, which every later pass walks recursively
        let mut chain = 0usize;
        loop {
            if let TokKind::Op(op @ ("!" | "~")) = self.cur() {
                return Err(Error::new("S0204").pos(self.cur_pos()).token(*op));
            }
            if rbp >= lbp(self.cur()) {
                break;
            }
            chain += 1;
            if chain > MAX_CHAIN {
                return Err(Error::new("S0201")
                    .pos(self.cur_pos())
                    .token(tok_text(self.cur()))
                    .message("Syntax error: expression nested too deeply"));
            }
            let t = self.bump()?;
            left = self.led(t, left)?;
        }
        self.nesting -= 1;
        Ok(left)
    }

    fn raw(kind: RawKind, pos: usize) -> Raw {
        Raw {
            kind,
            pos,
            keep_array: false,
        }
    }

    fn nud(&mut self, t: Token) -> Result<Raw, Error> {
        let pos = t.pos;
        let kind = match t.kind {
            TokKind::Name(n) => RawKind::Name(n),
            TokKind::Var(v) => RawKind::Var(v),
            TokKind::Str(s) => RawKind::Str(s),
            TokKind::Num(n) => RawKind::Num(n),
            TokKind::Bool(b) => RawKind::Bool(b),
            TokKind::Null => RawKind::Null,
            TokKind::Regex { pattern, flags } => RawKind::Regex(Arc::new(compile_regex(&pattern, &flags, pos)?)),
            TokKind::End => return Err(Error::new("S0207").pos(pos)),
            TokKind::Op(op) => match op {
                "and" | "or" | "in" => RawKind::Name(op.to_string()),
                "-" => RawKind::Neg(Box::new(self.expression(70)?)),
                "*" => RawKind::Wildcard,
                "**" => RawKind::Descendant,
                "%" => RawKind::Parent,
                "(" => {
                    let mut items = Vec::new();
                    while !self.is_op(")") {
                        items.push(self.expression(0)?);
                        if !self.is_op(";") {
                            break;
                        }
                        self.bump()?;
                    }
                    self.expect(")")?;
                    RawKind::Block(items)
                }
                "[" => {
                    let mut items = Vec::new();
                    if !self.is_op("]") {
                        loop {
                            let mut item = self.expression(0)?;
                            if self.is_op("..") {
                                let p = self.bump()?.pos;
                                let rhs = self.expression(0)?;
                                item = Self::raw(RawKind::Bin(BinOp::Range, Box::new(item), Box::new(rhs)), p);
                            }
                            items.push(item);
                            if !self.is_op(",") {
                                break;
                            }
                            self.bump()?;
                        }
                    }
                    self.expect("]")?;
                    RawKind::Array(items)
                }
                "{" => RawKind::Object(self.pairs()?),
                "|" => {
                    let pattern = self.expression(0)?;
                    self.expect("|")?;
                    let update = self.expression(0)?;
                    let delete = if self.is_op(",") {
                        self.bump()?;
                        Some(Box::new(self.expression(0)?))
                    } else {
                        None
                    };
                    self.expect("|")?;
                    RawKind::Transform(Box::new(pattern), Box::new(update), delete)
                }
                _ => return Err(Error::new("S0211").pos(pos).token(op)),
            },
        };
        Ok(Self::raw(kind, pos))
    }

    /// `key: value, ...}` after a `{`.
    fn pairs(&mut self) -> Result<Vec<(Raw, Raw)>, Error> {
        let mut pairs = Vec::new();
        if !self.is_op("}") {
            loop {
                let k = self.expression(0)?;
                self.expect(":")?;
                let v = self.expression(0)?;
                pairs.push((k, v));
                if !self.is_op(",") {
                    break;
                }
                self.bump()?;
            }
        }
        self.expect("}")?;
        Ok(pairs)
    }

    fn var_name(&mut self, op: &'static str, pos: usize) -> Result<String, Error> {
        let rhs = self.expression(lbp(&TokKind::Op(op)))?;
        match rhs.kind {
            RawKind::Var(v) => Ok(v),
            _ => Err(Error::new("S0214").pos(pos).token(op)),
        }
    }

    fn led(&mut self, t: Token, left: Raw) -> Result<Raw, Error> {
        let pos = t.pos;
        let TokKind::Op(op) = t.kind else {
            return Err(Error::new("S0201").pos(pos).token(tok_text(&t.kind)));
        };
        let kind = match op {
            "." => RawKind::Dot(Box::new(left), Box::new(self.expression(75)?)),
            "[" => {
                if self.is_op("]") {
                    self.bump()?;
                    let mut left = left;
                    let mut step = &mut left;
                    while let RawKind::Pred(lhs, _) = &mut step.kind {
                        step = lhs;
                    }
                    step.keep_array = true;
                    return Ok(left);
                }
                let rhs = self.expression(0)?;
                self.expect("]")?;
                RawKind::Pred(Box::new(left), Box::new(rhs))
            }
            "{" => RawKind::GroupBy(Box::new(left), self.pairs()?),
            "(" => return self.call(left, pos),
            "?" => {
                let then = self.expression(0)?;
                let els = if self.is_op(":") {
                    self.bump()?;
                    Some(Box::new(self.expression(0)?))
                } else {
                    None
                };
                RawKind::Cond(Box::new(left), Box::new(then), els)
            }
            ":=" => {
                let RawKind::Var(name) = left.kind else {
                    return Err(Error::new("S0212").pos(pos).token(op));
                };
                RawKind::Bind(name, Box::new(self.expression(9)?))
            }
            "@" => RawKind::Focus(Box::new(left), self.var_name("@", pos)?),
            "#" => RawKind::IndexBind(Box::new(left), self.var_name("#", pos)?),
            "^" => {
                self.expect("(")?;
                let mut terms = Vec::new();
                loop {
                    let mut descending = false;
                    if self.is_op("<") {
                        self.bump()?;
                    } else if self.is_op(">") {
                        self.bump()?;
                        descending = true;
                    }
                    terms.push((descending, self.expression(0)?));
                    if !self.is_op(",") {
                        break;
                    }
                    self.bump()?;
                }
                self.expect(")")?;
                RawKind::Sort(Box::new(left), terms)
            }
            "~>" => RawKind::Apply(Box::new(left), Box::new(self.expression(40)?)),
            _ => {
                let bin = match op {
                    "+" => BinOp::Add,
                    "-" => BinOp::Sub,
                    "*" => BinOp::Mul,
                    "/" => BinOp::Div,
                    "%" => BinOp::Mod,
                    "=" => BinOp::Eq,
                    "!=" => BinOp::Ne,
                    "<" => BinOp::Lt,
                    "<=" => BinOp::Le,
                    ">" => BinOp::Gt,
                    ">=" => BinOp::Ge,
                    "&" => BinOp::Concat,
                    "and" => BinOp::And,
                    "or" => BinOp::Or,
                    "in" => BinOp::In,
                    ".." => BinOp::Range,
                    "??" => BinOp::Coalesce,
                    "?:" => BinOp::Default,
                    _ => return Err(Error::new("S0204").pos(pos).token(op)),
                };
                let rhs = self.expression(lbp(&TokKind::Op(op)))?;
                RawKind::Bin(bin, Box::new(left), Box::new(rhs))
            }
        };
        Ok(Self::raw(kind, pos))
    }

    fn call(&mut self, left: Raw, pos: usize) -> Result<Raw, Error> {
        let mut args = Vec::new();
        let mut partial = false;
        if !self.is_op(")") {
            loop {
                if self.is_op("?") {
                    let p = self.bump()?.pos;
                    partial = true;
                    args.push(Self::raw(RawKind::Placeholder, p));
                } else {
                    args.push(self.expression(0)?);
                }
                if !self.is_op(",") {
                    break;
                }
                self.bump()?;
            }
        }
        self.expect(")")?;
        let is_lambda = matches!(&left.kind, RawKind::Name(n) if n == "function" || n == "λ");
        if !is_lambda {
            return Ok(Self::raw(RawKind::Call(Box::new(left), args, partial), pos));
        }
        let mut params = Vec::new();
        for a in args {
            match a.kind {
                RawKind::Var(v) => params.push(v),
                RawKind::Name(n) => return Err(Error::new("S0208").pos(a.pos).value(json_quote(&n))),
                _ => return Err(Error::new("S0208").pos(a.pos).value("undefined")),
            }
        }
        let mut signature = None;
        if self.is_op("<") {
            // the signature's text runs from this `<` to its matching `>`
            let start_char = self.token_start(self.i);
            let mut depth = 0usize;
            let mut end_char;
            loop {
                match self.cur() {
                    TokKind::Op("<") => depth += 1,
                    TokKind::Op(">") => depth -= 1,
                    TokKind::End | TokKind::Op("{") => {
                        return Err(Error::new("S0401").pos(self.cur_pos()).value("\"\""));
                    }
                    _ => {}
                }
                end_char = self.cur_pos();
                self.bump()?;
                if depth == 0 {
                    break;
                }
            }
            let text: String = self
                .text
                .chars()
                .skip(start_char)
                .take(end_char - start_char)
                .filter(|c| !c.is_whitespace())
                .collect();
            signature = Some(Signature::parse(&text, start_char)?);
        }
        self.expect("{")?;
        let body = self.expression(0)?;
        self.expect("}")?;
        Ok(Self::raw(RawKind::Lambda(params, signature, Box::new(body)), pos))
    }

    fn token_start(&self, i: usize) -> usize {
        self.toks[i].1
    }
}

/// Compiles a regex literal, translating JavaScript flags.
pub fn compile_regex(pattern: &str, flags: &str, pos: usize) -> Result<RegexLit, Error> {
    let mut prefix = String::new();
    if flags.contains('i') {
        prefix.push('i');
    }
    if flags.contains('m') {
        prefix.push('m');
    }
    if flags.contains('s') {
        prefix.push('s');
    }
    let translated = translate_js_regex(pattern);
    let source = if prefix.is_empty() {
        translated
    } else {
        format!("(?{prefix}){translated}")
    };
    let regex = regex::Regex::new(&source).map_err(|_| {
        Error::new("S0302")
            .pos(pos)
            .message(format!("Invalid regular expression: /{pattern}/"))
    })?;
    Ok(RegexLit {
        regex,
        pattern: pattern.to_string(),
    })
}

/// Rewrites JavaScript regex classes whose meaning differs in the `regex` crate: `\d` and
/// `\w` are ASCII-only in JavaScript.
fn translate_js_regex(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push(c);
                    break;
                };
                match (n, in_class) {
                    ('d', false) => out.push_str("[0-9]"),
                    ('d', true) => out.push_str("0-9"),
                    ('D', false) => out.push_str("[^0-9]"),
                    ('w', false) => out.push_str("[0-9A-Za-z_]"),
                    ('w', true) => out.push_str("0-9A-Za-z_"),
                    ('W', false) => out.push_str("[^0-9A-Za-z_]"),
                    _ => {
                        out.push(c);
                        out.push(n);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Tokenizes `text` completely (a `/` starts a regex where an operand is expected), recording
/// each token's start offset.
fn tokenize(text: &str) -> (Vec<(Token, usize)>, Option<Error>) {
    let mut lexer = Lexer::new(text);
    let mut toks: Vec<(Token, usize)> = Vec::new();
    loop {
        let prefix = match toks.last() {
            None => true,
            Some((t, _)) => match &t.kind {
                TokKind::Op(op) => !matches!(*op, ")" | "]" | "}"),
                _ => false,
            },
        };
        let start = lexer.position_after_space();
        let t = match lexer.next(prefix) {
            Ok(t) => t,
            Err(e) => {
                let pos = e.position.unwrap_or(start);
                toks.push((
                    Token {
                        kind: TokKind::End,
                        pos,
                    },
                    start,
                ));
                return (toks, Some(e));
            }
        };
        let end = matches!(t.kind, TokKind::End);
        toks.push((t, start));
        if end {
            return (toks, None);
        }
    }
}

/// Parses and processes an expression.
pub fn parse(text: &str) -> Result<Node, Error> {
    let (toks, lex_error) = tokenize(text);
    if toks.len() == 1 {
        if let Some(e) = lex_error {
            return Err(e);
        }
    }
    let mut p = Parser {
        text,
        lex_error,
        toks,
        i: 0,
        nesting: 0,
    };
    let raw = p.expression(0)?;
    if !matches!(p.cur(), TokKind::End) {
        return Err(Error::new("S0201").pos(p.cur_pos()).token(tok_text(p.cur())));
    }
    let mut pr = Processor {
        slots: Vec::new(),
        stack_floor: stack_pointer().saturating_sub(PARSER_STACK_BYTES),
    };
    let mut node = pr.process(raw)?;
    if !node.seeking.is_empty() || matches!(node.kind, Kind::Parent(_)) {
        return Err(Error::new("S0217").pos(node.pos).token("parent"));
    }
    pr.finish(&mut node);
    Ok(node)
}

/// Mutable slot data shared while processing (labels are merged when slots meet).
struct SlotData {
    label: usize,
    level: usize,
}

struct Processor {
    slots: Vec<SlotData>,
    /// Lowest stack address processing may reach: a chain of operators (`a & b & c ...`)
    /// makes a tree as deep as it is long, which [`MAX_NESTING`] does not count.
    stack_floor: usize,
}

/// Native stack the parser may use below where it starts, in bytes.
const PARSER_STACK_BYTES: usize = 1 << 20;

/// The address of a local: an approximation of the current stack pointer.
#[inline(always)]
fn stack_pointer() -> usize {
    let probe = 0u8;
    std::hint::black_box(&probe) as *const u8 as usize
}

/// The error of an expression too deep to process.
fn too_deep(pos: usize) -> Error {
    Error::new("S0201")
        .pos(pos)
        .message("Syntax error: expression nested too deeply")
}

/// Slot references inside the tree during processing (rewritten by `finish`).
const SLOT_PREFIX: &str = "\u{0}slot";

fn slot_ref(i: usize) -> String {
    format!("{SLOT_PREFIX}{i}")
}

fn parent_slot(node: &Node) -> Option<usize> {
    match &node.kind {
        Kind::Parent(s) => slot_index(&s.label),
        _ => None,
    }
}

impl Processor {
    /// jsonata-js `pushAncestry`.
    fn push_ancestry(result: &mut Vec<usize>, value: &Node) {
        result.extend_from_slice(&value.seeking);
        if let Some(i) = parent_slot(value) {
            result.push(i);
        }
    }

    fn into_steps(node: Node) -> (Vec<Node>, bool, Vec<usize>) {
        if node.group.is_none() {
            if let Kind::Path { steps, keep_singleton } = node.kind {
                return (steps, keep_singleton, node.seeking);
            }
            unreachable!()
        }
        (vec![node], false, Vec::new())
    }

    fn is_path(node: &Node) -> bool {
        matches!(node.kind, Kind::Path { .. }) && node.group.is_none()
    }

    fn process(&mut self, raw: Raw) -> Result<Node, Error> {
        if stack_pointer() < self.stack_floor {
            return Err(too_deep(raw.pos));
        }
        // operators, which chain, through a small frame
        match raw.kind {
            RawKind::Bin(..) => self.process_binary(raw),
            _ => self.process_node(raw),
        }
    }

    #[inline(never)]
    fn process_binary(&mut self, raw: Raw) -> Result<Node, Error> {
        let RawKind::Bin(op, l, r) = raw.kind else {
            return self.process_node(raw);
        };
        let l = self.process(*l)?;
        let r = self.process(*r)?;
        let mut seeking = Vec::new();
        Self::push_ancestry(&mut seeking, &l);
        Self::push_ancestry(&mut seeking, &r);
        let mut node = Node::new(Kind::Binary(op, Box::new(l), Box::new(r)), raw.pos);
        if raw.keep_array {
            node.keep_array = true;
        }
        node.seeking = seeking;
        Ok(node)
    }

    #[inline(never)]
    fn process_node(&mut self, raw: Raw) -> Result<Node, Error> {
        let keep = raw.keep_array;
        let pos = raw.pos;
        let mut seeking = Vec::new();
        let mut node = match raw.kind {
            RawKind::Dot(lhs, rhs) => {
                let lstep = self.process(*lhs)?;
                let lparent = parent_slot(&lstep);
                let carried_keep = Self::is_path(&lstep) && lstep.keep_array;
                let (mut steps, mut keep_singleton, path_seek) = if Self::is_path(&lstep) {
                    Self::into_steps(lstep)
                } else {
                    (vec![lstep], false, Vec::new())
                };
                seeking = path_seek;
                if let Some(i) = lparent {
                    seeking = vec![i];
                }
                let rest = self.process(*rhs)?;
                if Self::is_path(&rest) {
                    let (more, _, _) = Self::into_steps(rest);
                    steps.extend(more);
                } else {
                    let mut r = rest;
                    if !r.predicate.is_empty() {
                        r.stages = r.predicate.drain(..).map(Stage::Filter).collect();
                    }
                    steps.push(r);
                }
                for step in steps.iter_mut() {
                    match &step.kind {
                        Kind::Num(n) => {
                            return Err(Error::new("S0213")
                                .pos(step.pos)
                                .value(super::value::js_number_string(*n)))
                        }
                        Kind::Bool(v) => return Err(Error::new("S0213").pos(step.pos).value(v.to_string())),
                        Kind::Null => return Err(Error::new("S0213").pos(step.pos).value("null")),
                        Kind::Str(s) => step.kind = Kind::Name(s.clone()),
                        _ => {}
                    }
                }
                if steps.iter().any(|s| s.keep_array) {
                    keep_singleton = true;
                }
                if let Some(first) = steps.first_mut() {
                    if matches!(first.kind, Kind::Array(_)) {
                        first.cons_array = true;
                    }
                }
                if let Some(last) = steps.last_mut() {
                    if matches!(last.kind, Kind::Array(_)) {
                        last.cons_array = true;
                    }
                }
                let last = steps.len() - 1;
                let mut slots = steps[last].seeking.clone();
                if let Some(i) = parent_slot(&steps[last]) {
                    slots.push(i);
                }
                self.resolve_slots(&mut steps, slots, &mut seeking)?;
                let mut path = Node::new(Kind::Path { steps, keep_singleton }, pos);
                path.keep_array = carried_keep;
                path
            }
            RawKind::Pred(lhs, rhs) => {
                let mut node = self.process(*lhs)?;
                let predicate = self.process(*rhs)?;
                let is_path = Self::is_path(&node);
                {
                    let step = last_step_mut(&mut node);
                    if step.group.is_some() {
                        return Err(Error::new("S0209").pos(pos));
                    }
                    if !predicate.seeking.is_empty() {
                        for &slot in &predicate.seeking {
                            if self.slots[slot].level == 1 {
                                self.seek_parent(step, slot)?;
                            } else {
                                self.slots[slot].level -= 1;
                            }
                        }
                        Self::push_ancestry(&mut step.seeking, &predicate);
                    }
                    if is_path {
                        step.stages.push(Stage::Filter(predicate));
                    } else {
                        step.predicate.push(predicate);
                    }
                }
                seeking = std::mem::take(&mut node.seeking);
                node
            }
            RawKind::GroupBy(lhs, pairs) => {
                let mut node = self.process(*lhs)?;
                if node.group.is_some() {
                    return Err(Error::new("S0210").pos(pos));
                }
                let mut out = Vec::new();
                for (k, v) in pairs {
                    out.push((self.process(k)?, self.process(v)?));
                }
                node.group = Some(Box::new(Group::new(out, pos)));
                seeking = std::mem::take(&mut node.seeking);
                node
            }
            RawKind::Sort(lhs, terms) => {
                let result = self.process(*lhs)?;
                let carried_keep = Self::is_path(&result) && result.keep_array;
                let (mut steps, _, path_seek) = if Self::is_path(&result) {
                    Self::into_steps(result)
                } else {
                    (vec![result], false, Vec::new())
                };
                seeking = path_seek;
                let mut sort = Node::new(Kind::Sort(Vec::new()), pos);
                let mut out = Vec::new();
                for (descending, t) in terms {
                    let e = self.process(t)?;
                    Self::push_ancestry(&mut sort.seeking, &e);
                    out.push(SortTerm { descending, expr: e });
                }
                sort.kind = Kind::Sort(out);
                let slots = sort.seeking.clone();
                steps.push(sort);
                self.resolve_slots(&mut steps, slots, &mut seeking)?;
                let keep_singleton = steps.iter().any(|s| s.keep_array);
                let mut path = Node::new(Kind::Path { steps, keep_singleton }, pos);
                path.keep_array = carried_keep;
                path
            }
            RawKind::Focus(lhs, var) => {
                let mut node = self.process(*lhs)?;
                let step = last_step_mut(&mut node);
                if !step.stages.is_empty() || !step.predicate.is_empty() {
                    return Err(Error::new("S0215").pos(pos));
                }
                if matches!(step.kind, Kind::Sort(_)) {
                    return Err(Error::new("S0216").pos(pos));
                }
                if keep {
                    step.keep_array = true;
                }
                step.focus = Some(var);
                step.tuple = true;
                seeking = std::mem::take(&mut node.seeking);
                node
            }
            RawKind::IndexBind(lhs, var) => {
                let mut node = self.process(*lhs)?;
                if !Self::is_path(&node) {
                    let mut step = node;
                    step.stages = step.predicate.drain(..).map(Stage::Filter).collect();
                    node = Node::new(
                        Kind::Path {
                            steps: vec![step],
                            keep_singleton: false,
                        },
                        pos,
                    );
                }
                let step = last_step_mut(&mut node);
                if step.stages.is_empty() {
                    step.index = Some(var);
                } else {
                    step.stages.push(Stage::Index(var));
                }
                step.tuple = true;
                seeking = std::mem::take(&mut node.seeking);
                node
            }
            RawKind::Apply(l, r) => {
                let l = self.process(*l)?;
                let r = self.process(*r)?;
                let keep_both = l.keep_array || r.keep_array;
                Self::push_ancestry(&mut seeking, &l);
                Self::push_ancestry(&mut seeking, &r);
                let mut n = Node::new(Kind::Apply(Box::new(l), Box::new(r)), pos);
                n.keep_array = keep_both;
                n
            }
            RawKind::Bind(name, value) => {
                let v = self.process(*value)?;
                Self::push_ancestry(&mut seeking, &v);
                Node::new(Kind::Bind(name, Box::new(v)), pos)
            }
            RawKind::Bin(op, l, r) => {
                let l = self.process(*l)?;
                let r = self.process(*r)?;
                Self::push_ancestry(&mut seeking, &l);
                Self::push_ancestry(&mut seeking, &r);
                Node::new(Kind::Binary(op, Box::new(l), Box::new(r)), pos)
            }
            RawKind::Neg(e) => {
                let e = self.process(*e)?;
                if let Kind::Num(n) = e.kind {
                    let mut n2 = e;
                    n2.kind = Kind::Num(-n);
                    n2
                } else {
                    Self::push_ancestry(&mut seeking, &e);
                    Node::new(Kind::Negate(Box::new(e)), pos)
                }
            }
            RawKind::Array(items) => {
                let mut out = Vec::new();
                for i in items {
                    let v = self.process(i)?;
                    Self::push_ancestry(&mut seeking, &v);
                    out.push(v);
                }
                Node::new(Kind::Array(out), pos)
            }
            RawKind::Object(pairs) => {
                let mut out = Vec::new();
                for (k, v) in pairs {
                    let k = self.process(k)?;
                    Self::push_ancestry(&mut seeking, &k);
                    let v = self.process(v)?;
                    Self::push_ancestry(&mut seeking, &v);
                    out.push((k, v));
                }
                Node::new(Kind::Object(Box::new(Group::new(out, pos))), pos)
            }
            RawKind::Block(items) => {
                let mut out = Vec::new();
                let mut cons = false;
                for i in items {
                    let v = self.process(i)?;
                    Self::push_ancestry(&mut seeking, &v);
                    if v.cons_array
                        || matches!(&v.kind, Kind::Path{steps, ..} if steps.first().is_some_and(|s| s.cons_array))
                    {
                        cons = true;
                    }
                    out.push(v);
                }
                let mut n = Node::new(Kind::Block(out), pos);
                n.cons_array = cons;
                n
            }
            RawKind::Cond(c, t, e) => {
                let c = self.process(*c)?;
                Self::push_ancestry(&mut seeking, &c);
                let t = self.process(*t)?;
                Self::push_ancestry(&mut seeking, &t);
                let e = match e {
                    Some(e) => {
                        let e = self.process(*e)?;
                        Self::push_ancestry(&mut seeking, &e);
                        Some(Box::new(e))
                    }
                    None => None,
                };
                Node::new(Kind::Condition(Box::new(c), Box::new(t), e), pos)
            }
            RawKind::Call(f, args, partial) => {
                let mut out = Vec::new();
                for a in args {
                    let v = self.process(a)?;
                    Self::push_ancestry(&mut seeking, &v);
                    out.push(v);
                }
                let f = self.process(*f)?;
                Node::new(
                    Kind::Call {
                        func: Box::new(f),
                        args: out,
                        partial,
                    },
                    pos,
                )
            }
            RawKind::Placeholder => Node::new(Kind::Placeholder, pos),
            RawKind::Lambda(params, signature, body) => {
                let body = self.process(*body)?;
                Node::new(
                    Kind::Lambda(Arc::new(Lambda {
                        params,
                        signature,
                        body,
                    })),
                    pos,
                )
            }
            RawKind::Transform(p, u, d) => {
                let p = self.process(*p)?;
                let u = self.process(*u)?;
                let d = match d {
                    Some(d) => Some(Box::new(self.process(*d)?)),
                    None => None,
                };
                Node::new(Kind::Transform(Box::new(p), Box::new(u), d), pos)
            }
            RawKind::Name(n) => {
                let mut step = Node::new(Kind::Name(n), pos);
                step.keep_array = keep;
                Node::new(
                    Kind::Path {
                        steps: vec![step],
                        keep_singleton: keep,
                    },
                    pos,
                )
            }
            RawKind::Parent => {
                let i = self.slots.len();
                self.slots.push(SlotData { label: i, level: 1 });
                Node::new(Kind::Parent(super::ast::Slot { label: slot_ref(i) }), pos)
            }
            RawKind::Str(s) => Node::new(Kind::Str(s), pos),
            RawKind::Num(n) => Node::new(Kind::Num(n), pos),
            RawKind::Bool(v) => Node::new(Kind::Bool(v), pos),
            RawKind::Null => Node::new(Kind::Null, pos),
            RawKind::Regex(r) => Node::new(Kind::Regex(r), pos),
            RawKind::Var(v) => Node::new(Kind::Variable(v), pos),
            RawKind::Wildcard => Node::new(Kind::Wildcard, pos),
            RawKind::Descendant => Node::new(Kind::Descendant, pos),
        };
        if keep {
            node.keep_array = true;
        }
        node.seeking = seeking;
        Ok(node)
    }

    /// jsonata-js `seekParent`: finds the step that provides the ancestor for `slot`.
    fn seek_parent(&mut self, node: &mut Node, slot: usize) -> Result<(), Error> {
        match &mut node.kind {
            Kind::Name(_) | Kind::Wildcard => {
                self.slots[slot].level -= 1;
                if self.slots[slot].level == 0 {
                    if let Some(existing) = node.ancestor.as_ref().and_then(|a| slot_index(&a.label)) {
                        self.slots[slot].label = self.slots[existing].label;
                    }
                    node.ancestor = Some(super::ast::Slot { label: slot_ref(slot) });
                    node.tuple = true;
                }
            }
            Kind::Parent(_) => self.slots[slot].level += 1,
            Kind::Block(items) => {
                if let Some(last) = items.last_mut() {
                    self.seek_parent(last, slot)?;
                    node.tuple = true;
                }
            }
            Kind::Path { steps, .. } => {
                node.tuple = true;
                let mut index = steps.len();
                while index > 0 {
                    index -= 1;
                    self.seek_parent(&mut steps[index], slot)?;
                    if self.slots[slot].level == 0 {
                        break;
                    }
                }
            }
            _ => {
                return Err(Error::new("S0217").pos(node.pos).token(kind_name(&node.kind)));
            }
        }
        Ok(())
    }

    /// jsonata-js `resolveAncestry`: resolves the slots sought by a path's last step against
    /// the previous steps; unresolved ones are sought by the whole path.
    fn resolve_slots(&mut self, steps: &mut [Node], slots: Vec<usize>, seeking: &mut Vec<usize>) -> Result<(), Error> {
        let n = steps.len() as isize;
        for slot in slots {
            let mut index = n - 2;
            while self.slots[slot].level > 0 {
                if index < 0 {
                    seeking.push(slot);
                    break;
                }
                let mut i = index as usize;
                index -= 1;
                while index >= 0 && steps[i].focus.is_some() && steps[index as usize].focus.is_some() {
                    i = index as usize;
                    index -= 1;
                }
                self.seek_parent(&mut steps[i], slot)?;
            }
        }
        Ok(())
    }

    /// Rewrites slot references into their final labels.
    fn finish(&self, node: &mut Node) {
        let fix = |label: &mut String| {
            if let Some(i) = slot_index(label) {
                *label = format!("!{}", self.slots[i].label);
            }
        };
        node.seeking = Vec::new();
        if let Some(a) = node.ancestor.as_mut() {
            fix(&mut a.label);
        }
        for p in node.predicate.iter_mut() {
            self.finish(p);
        }
        for s in node.stages.iter_mut() {
            if let Stage::Filter(f) = s {
                self.finish(f);
            }
        }
        if let Some(g) = node.group.as_mut() {
            for (k, v) in g.pairs.iter_mut() {
                self.finish(k);
                self.finish(v);
            }
        }
        match &mut node.kind {
            Kind::Parent(s) => fix(&mut s.label),
            Kind::Path { steps, .. } | Kind::Array(steps) | Kind::Block(steps) => {
                for s in steps {
                    self.finish(s);
                }
            }
            Kind::Binary(_, l, r) | Kind::Apply(l, r) => {
                self.finish(l);
                self.finish(r);
            }
            Kind::Negate(e) | Kind::Bind(_, e) => self.finish(e),
            Kind::Object(g) => {
                for (k, v) in g.pairs.iter_mut() {
                    self.finish(k);
                    self.finish(v);
                }
            }
            Kind::Condition(c, t, e) => {
                self.finish(c);
                self.finish(t);
                if let Some(e) = e {
                    self.finish(e);
                }
            }
            Kind::Call { func, args, .. } => {
                self.finish(func);
                for a in args {
                    self.finish(a);
                }
            }
            Kind::Lambda(l) => {
                if let Some(l) = Arc::get_mut(l) {
                    self.finish(&mut l.body);
                }
            }
            Kind::Sort(terms) => {
                for t in terms {
                    self.finish(&mut t.expr);
                }
            }
            Kind::Transform(p, u, d) => {
                self.finish(p);
                self.finish(u);
                if let Some(d) = d {
                    self.finish(d);
                }
            }
            _ => {}
        }
    }
}

fn slot_index(label: &str) -> Option<usize> {
    label.strip_prefix(SLOT_PREFIX)?.parse().ok()
}

fn last_step_mut(node: &mut Node) -> &mut Node {
    let is_path = node.group.is_none() && matches!(&node.kind, Kind::Path { steps, .. } if !steps.is_empty());
    if !is_path {
        return node;
    }
    match &mut node.kind {
        Kind::Path { steps, .. } => {
            let n = steps.len();
            &mut steps[n - 1]
        }
        _ => unreachable!("checked above"),
    }
}

fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Path { .. } => "path",
        Kind::Name(_) => "name",
        Kind::Str(_) => "string",
        Kind::Num(_) => "number",
        Kind::Bool(_) | Kind::Null => "value",
        Kind::Regex(_) => "regex",
        Kind::Wildcard => "wildcard",
        Kind::Descendant => "descendant",
        Kind::Parent(_) => "parent",
        Kind::Variable(_) => "variable",
        Kind::Binary(..) => "binary",
        Kind::Negate(_) | Kind::Array(_) | Kind::Object(_) => "unary",
        Kind::Block(_) => "block",
        Kind::Condition(..) => "condition",
        Kind::Bind(..) => "bind",
        Kind::Call { .. } => "function",
        Kind::Placeholder => "operator",
        Kind::Lambda(_) => "lambda",
        Kind::Apply(..) => "apply",
        Kind::Sort(_) => "sort",
        Kind::Transform(..) => "transform",
    }
}
