//! A direct evaluator for the simple expressions Step Functions states are mostly made of:
//! literals, plain navigation paths (`$states.input.customer.tier`), object constructors with
//! literal keys, array constructors and `$merge(...)`. It computes exactly what the general
//! evaluator ([`super::eval`]) computes for them, without its per-node bookkeeping
//! (sequences, tuple streams, depth and time accounting: a tree of this shape does bounded
//! work), and gives up (`None`) as soon as a value leaves the cases it mirrors (an array met
//! while navigating, a shadowed or unknown function, arguments `$merge` would reject...). The
//! caller then evaluates the expression the general way; nothing observable has happened in
//! between, as these expressions only read.

use super::ast::{Kind, Node};
use super::functions::{self, Builtin};
use super::value::{construct_array, Val};
use super::Bindings;
use crate::value::{key_eq, Arena};

/// Deepest nesting the direct evaluator accepts (it recurses on the native stack).
const MAX_NESTING: usize = 16;

/// Whether `node` has none of the annotations (predicates, grouping, bindings, stages...)
/// that the direct evaluator does not handle.
fn bare(node: &Node) -> bool {
    node.predicate.is_empty()
        && node.stages.is_empty()
        && node.group.is_none()
        && node.focus.is_none()
        && node.index.is_none()
        && !node.tuple
        && !node.keep_array
        && node.ancestor.is_none()
}

/// Whether the expression is made only of the constructs [`eval`] handles (decided once,
/// when the expression is parsed).
pub fn supported(node: &Node) -> bool {
    supported_at(node, 0)
}

fn supported_at(node: &Node, depth: usize) -> bool {
    if depth > MAX_NESTING || !bare(node) {
        return false;
    }
    match &node.kind {
        Kind::Str(_) | Kind::Num(_) | Kind::Bool(_) | Kind::Null => !node.cons_array,
        Kind::Variable(_) => !node.cons_array,
        Kind::Path { steps, keep_singleton } => {
            !*keep_singleton
                && !node.cons_array
                && !steps.is_empty()
                && steps.iter().enumerate().all(|(i, s)| {
                    bare(s)
                        && !s.cons_array
                        && match s.kind {
                            Kind::Name(_) => true,
                            Kind::Variable(_) => i == 0,
                            _ => false,
                        }
                })
        }
        Kind::Object(group) => {
            !node.cons_array
                && group.literal_keys
                && group
                    .pairs
                    .iter()
                    .all(|(k, v)| matches!(k.kind, Kind::Str(_)) && supported_at(v, depth + 1))
        }
        Kind::Array(items) => items.iter().all(|i| supported_at(i, depth + 1)),
        Kind::Call {
            func,
            args,
            partial: false,
        } => {
            !node.cons_array
                && bare(func)
                && matches!(&func.kind, Kind::Variable(name) if name == "merge")
                && args.len() == 1
                && supported_at(&args[0], depth + 1)
        }
        _ => false,
    }
}

/// Evaluates a [`supported`] expression against the document `input` (already wrapped as
/// [`super::value::wrap_document`] does), or `None` to leave it to the general evaluator.
pub fn eval<'a>(node: &'a Node, input: Val<'a>, arena: &'a Arena, bindings: &dyn Bindings<'a>) -> Option<Val<'a>> {
    let v = Direct { arena, bindings, input }.eval(node)?;
    // the general evaluator normalizes constructed arrays at the top; leave those to it
    match v {
        Val::Arr(_) | Val::Func(_) => None,
        v => Some(v),
    }
}

struct Direct<'a, 'b> {
    arena: &'a Arena,
    bindings: &'b dyn Bindings<'a>,
    /// The context value (the root of the document): constructors do not change it.
    input: Val<'a>,
}

impl<'a> Direct<'a, '_> {
    fn eval(&self, node: &'a Node) -> Option<Val<'a>> {
        match &node.kind {
            Kind::Str(s) => Some(Val::Str(s)),
            Kind::Num(n) => Some(Val::Num(*n)),
            Kind::Bool(b) => Some(Val::Bool(*b)),
            Kind::Null => Some(Val::Null),
            Kind::Variable(name) => self.variable(name),
            Kind::Path { steps, .. } => self.path(steps),
            Kind::Object(group) => {
                if self.input.is_array() {
                    return None;
                }
                let members = self.arena.alloc_slice_fill_copy(group.pairs.len(), ("", Val::Undef));
                let mut len = 0;
                for (k, v) in &group.pairs {
                    let Kind::Str(key) = &k.kind else {
                        return None;
                    };
                    let value = self.eval(v)?;
                    if !value.is_undef() {
                        members[len] = (key.as_str(), value);
                        len += 1;
                    }
                }
                Some(Val::Obj(&members[..len]))
            }
            Kind::Array(items) => {
                // (bounded: the items are the expression's own constructors and the input's values)
                construct_array(
                    self.arena,
                    items,
                    node.cons_array,
                    |item| self.eval(item).ok_or(()),
                    |_| Ok(()),
                )
                .ok()
            }
            Kind::Call { func, args, .. } => {
                let Kind::Variable(name) = &func.kind else {
                    return None;
                };
                // `$merge` (the only function `supported` admits), unless a binding of the
                // same name hides the built-in
                if name != "merge" || self.bindings.lookup(name).is_some() {
                    return None;
                }
                let list = self.eval(args.first()?)?;
                // what `$merge`'s signature accepts as it is: an array of objects
                if !list.is_array() || !list.iter().all(|o| o.is_object()) {
                    return None;
                }
                Some(functions::merge(self.arena, list))
            }
            _ => None,
        }
    }

    /// `$name` at the root: the context (`$`), the document (`$$`), an external binding, or
    /// undefined; a built-in function's name is left to the general evaluator.
    fn variable(&self, name: &str) -> Option<Val<'a>> {
        if name.is_empty() {
            return Some(match self.input {
                Val::Arr(a) if a.outer => a.items.first().copied().unwrap_or(Val::Undef),
                v => v,
            });
        }
        if name == "$" {
            return Some(self.input);
        }
        if let Some(v) = self.bindings.lookup(name) {
            return Some(Val::from_json(v));
        }
        if Builtin::by_name(name).is_some() {
            return None;
        }
        Some(Val::Undef)
    }

    /// A path of plain steps over single values; an array on the way is left to the general
    /// evaluator.
    fn path(&self, steps: &'a [Node]) -> Option<Val<'a>> {
        let mut cur = self.input;
        if cur.is_array() && !matches!(steps[0].kind, Kind::Variable(_)) {
            return None;
        }
        for step in steps {
            let v = match &step.kind {
                Kind::Name(name) => match cur {
                    Val::JObj(m, _) => m
                        .iter()
                        .find(|(k, _)| key_eq(k, name))
                        .map_or(Val::Undef, |(_, v)| Val::from_json(*v)),
                    Val::Obj(m) => m.iter().find(|(k, _)| key_eq(k, name)).map_or(Val::Undef, |(_, v)| *v),
                    Val::JArr(_, _) | Val::Arr(_) => return None,
                    _ => Val::Undef,
                },
                Kind::Variable(name) => self.variable(name)?,
                _ => return None,
            };
            match v {
                Val::Undef => return Some(Val::Undef),
                Val::JArr(_, _) | Val::Arr(_) | Val::Func(_) => return None,
                v => cur = v,
            }
        }
        Some(cur)
    }
}
