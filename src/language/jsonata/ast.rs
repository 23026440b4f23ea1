//! The syntax tree an expression is compiled to, once, by the parser (after the jsonata-js
//! `processAST` rewrites: paths as step lists, predicates as stages, groupings attached).

use std::sync::Arc;

use super::signature::Signature;

/// A node of the compiled expression, with the annotations a path step can carry.
#[derive(Debug, Clone)]
pub struct Node {
    /// What the node computes.
    pub kind: Kind,
    /// Character offset (end of the token that produced the node) for error reports.
    pub pos: usize,
    /// `expr[]`: keep singleton results as arrays.
    pub keep_array: bool,
    /// Predicates applied to this node's own result (when not a path step): `expr[pred]`.
    pub predicate: Vec<Node>,
    /// Stages applied per input item when the node is a path step: filters and `#$i` binds.
    pub stages: Vec<Stage>,
    /// `expr{key: value}` grouping applied to the result.
    pub group: Option<Box<Group>>,
    /// `@$v` context-variable binding of a step.
    pub focus: Option<String>,
    /// `#$i` positional-variable binding of a step.
    pub index: Option<String>,
    /// The step takes part in a tuple stream (has a focus or index binding).
    pub tuple: bool,
    /// The node is an array constructor used as the first or last step of a path.
    pub cons_array: bool,
    /// Parent-operator slot this step must record (the label of a `%` reference).
    pub ancestor: Option<Slot>,
    /// Parser bookkeeping: parent slots this node still seeks (jsonata-js `seekingParent`).
    pub seeking: Vec<usize>,
}

/// A stage of a path step.
#[derive(Debug, Clone)]
pub enum Stage {
    /// `step[expr]`: keep items for which `expr` is truthy (or whose index it names).
    Filter(Node),
    /// `step#$i` after a predicate: binds each item's position.
    Index(String),
}

/// An object constructor's key/value pairs (`{k: v, ...}`, also grouping `expr{k: v}`).
#[derive(Debug, Clone)]
pub struct Group {
    /// The pairs.
    pub pairs: Vec<(Node, Node)>,
    /// Position for errors.
    pub pos: usize,
    /// Every key is a distinct plain string literal (enables a direct construction path).
    pub literal_keys: bool,
}

impl Group {
    /// A group of pairs.
    pub fn new(pairs: Vec<(Node, Node)>, pos: usize) -> Group {
        fn literal(n: &Node) -> Option<&str> {
            match &n.kind {
                Kind::Str(s) if n.predicate.is_empty() && n.group.is_none() && !n.keep_array => Some(s.as_str()),
                _ => None,
            }
        }
        let keys: Vec<Option<&str>> = pairs.iter().map(|(k, _)| literal(k)).collect();
        let literal_keys =
            keys.iter().all(|k| k.is_some()) && keys.iter().enumerate().all(|(i, k)| !keys[..i].contains(k));
        Group {
            pairs,
            pos,
            literal_keys,
        }
    }
}

/// A slot through which the parent operator `%` reads an ancestor.
#[derive(Debug, Clone)]
pub struct Slot {
    /// The binding label (`!0`, `!1`, ...).
    pub label: String,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `&` string concatenation
    Concat,
    /// `and`
    And,
    /// `or`
    Or,
    /// `in` membership
    In,
    /// `..` range (inside array constructors)
    Range,
    /// `??` coalescing: the left side unless it is undefined
    Coalesce,
    /// `?:` default: the left side if truthy, else the right side
    Default,
}

impl BinOp {
    /// The operator's source text.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Eq => "=",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Concat => "&",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::In => "in",
            BinOp::Range => "..",
            BinOp::Coalesce => "??",
            BinOp::Default => "?:",
        }
    }
}

/// A function definition `function($a, $b)<sig>{ body }`.
#[derive(Debug)]
pub struct Lambda {
    /// Parameter names (without `$`).
    pub params: Vec<String>,
    /// Optional signature.
    pub signature: Option<Signature>,
    /// The body.
    pub body: Node,
}

/// A sort term of `^(...)`.
#[derive(Debug, Clone)]
pub struct SortTerm {
    /// `>` descending.
    pub descending: bool,
    /// The key expression.
    pub expr: Node,
}

/// A compiled regular expression literal `/pattern/flags`.
#[derive(Debug)]
pub struct RegexLit {
    /// The compiled regex.
    pub regex: regex::Regex,
    /// The source pattern.
    pub pattern: String,
}

/// What a node computes.
#[derive(Debug, Clone)]
pub enum Kind {
    /// `a.b.c`: steps applied in turn, each to every item of the previous result.
    Path {
        /// The steps.
        steps: Vec<Node>,
        /// A step had `[]`: singleton results stay arrays.
        keep_singleton: bool,
    },
    /// `name`: the field of the context object.
    Name(String),
    /// `"text"`
    Str(String),
    /// `1.5`
    Num(f64),
    /// `true` / `false`
    Bool(bool),
    /// `null`
    Null,
    /// `/re/flags`
    Regex(Arc<RegexLit>),
    /// `*`: all field values of the context.
    Wildcard,
    /// `**`: all descendants of the context.
    Descendant,
    /// `%`: the parent of the context item.
    Parent(Slot),
    /// `$name` (empty for `$`, the context; `$` for `$$`, the root).
    Variable(String),
    /// `lhs op rhs`
    Binary(BinOp, Box<Node>, Box<Node>),
    /// `-expr`
    Negate(Box<Node>),
    /// `[a, b, ...]` array constructor.
    Array(Vec<Node>),
    /// `{k: v, ...}` object constructor.
    Object(Box<Group>),
    /// `(a; b; ...)` block with its own scope.
    Block(Vec<Node>),
    /// `c ? a : b`
    Condition(Box<Node>, Box<Node>, Option<Box<Node>>),
    /// `$name := value`
    Bind(String, Box<Node>),
    /// `f(args)`; with any `?` argument a partial application.
    Call {
        /// The function expression.
        func: Box<Node>,
        /// The arguments.
        args: Vec<Node>,
        /// Has `?` placeholders.
        partial: bool,
    },
    /// `?` in a partial application's argument list.
    Placeholder,
    /// `function($x){...}`
    Lambda(Arc<Lambda>),
    /// `lhs ~> rhs` function application / chaining.
    Apply(Box<Node>, Box<Node>),
    /// `^(terms)` order-by step.
    Sort(Vec<SortTerm>),
    /// `| pattern | update, delete |` transform (a function).
    Transform(Box<Node>, Box<Node>, Option<Box<Node>>),
}

impl Node {
    /// A bare node of the given kind.
    pub fn new(kind: Kind, pos: usize) -> Node {
        Node {
            kind,
            pos,
            keep_array: false,
            predicate: Vec::new(),
            stages: Vec::new(),
            group: None,
            focus: None,
            index: None,
            tuple: false,
            cons_array: false,
            ancestor: None,
            seeking: Vec::new(),
        }
    }
}
