//! What an expression can see while it runs: the state's input, the context object and the
//! variables in scope.

use crate::value::{Member, Value};

/// The variables visible to a state: its own scope's, then the enclosing scopes' (a Map
/// iteration or Parallel branch reads the variables of the states around it).
///
/// Persistent and `Copy`: an `Assign` builds a new `local` slice in the arena and shares the
/// rest.
#[derive(Clone, Copy, Debug, Default)]
pub struct Variables<'a> {
    /// This scope's variables, most recently assigned last.
    pub local: &'a [Member<'a>],
    /// The enclosing scope, if any.
    pub outer: Option<&'a Variables<'a>>,
}

impl<'a> Variables<'a> {
    /// The value of variable `name` (without the `$`), searching outwards.
    pub fn get(&self, name: &str) -> Option<Value<'a>> {
        let mut scope = Some(self);
        while let Some(s) = scope {
            if let Some((_, v)) = s.local.iter().rev().find(|(k, _)| *k == name) {
                return Some(*v);
            }
            scope = s.outer;
        }
        None
    }
}

/// The data an expression is evaluated against.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    /// The input (`$` in a JSONPath path).
    pub input: Value<'a>,
    /// The context object (`$$`).
    pub context: Value<'a>,
    /// Variables (`$name`).
    pub variables: Variables<'a>,
}

impl<'a> Scope<'a> {
    /// A scope with only an input: no context, no variables.
    pub fn of_input(input: Value<'a>) -> Scope<'a> {
        Scope {
            input,
            context: Value::EMPTY_OBJECT,
            variables: Variables::default(),
        }
    }
}
