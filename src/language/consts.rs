//! The compiled program's constants: literal values and interned strings (object keys, state
//! names) that evaluation hands out as [`Value`]s without copying.

use std::collections::HashMap;

use bumpalo::Bump;

use crate::value::{number_from_serde, Value};

/// An arena of constants owned by a compiled program.
///
/// Values handed out are typed `'static` but live exactly as long as this arena: they must
/// only be stored in structures owned by the same program as the arena (the compiler
/// guarantees this; the constructors of such structures are crate-private). Allocation takes
/// `&mut self`, so a shared `&Constants` can never allocate: that is what makes it `Sync`.
#[derive(Default)]
pub struct Constants {
    bump: Bump,
    interned: HashMap<Box<str>, &'static str>,
}

// SAFETY: `Bump` is `!Sync` only because it allocates through `&self`. Every allocating method
// of `Constants` takes `&mut self`, and no `&Bump` is ever handed out, so shared references
// only read memory that is never mutated again.
unsafe impl Sync for Constants {}

impl std::fmt::Debug for Constants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Constants")
            .field("bytes", &self.bump.allocated_bytes())
            .finish()
    }
}

impl Constants {
    /// An empty arena.
    pub fn new() -> Constants {
        Constants::default()
    }

    /// Interns `s`: equal strings share one allocation.
    pub fn intern(&mut self, s: &str) -> &'static str {
        if let Some(interned) = self.interned.get(s) {
            return interned;
        }
        let stored: &str = self.bump.alloc_str(s);
        // SAFETY: see the type's documentation: the memory lives as long as `self`.
        let stored: &'static str = unsafe { std::mem::transmute::<&str, &'static str>(stored) };
        self.interned.insert(s.into(), stored);
        stored
    }

    /// Stores a JSON value (object keys and strings interned).
    pub fn json(&mut self, json: &serde_json::Value) -> Value<'static> {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(number_from_serde(n)),
            serde_json::Value::String(s) => Value::String(self.intern(s)),
            serde_json::Value::Array(items) => {
                let items: Vec<Value<'static>> = items.iter().map(|v| self.json(v)).collect();
                self.slice(&items)
            }
            serde_json::Value::Object(map) => {
                let members: Vec<(&'static str, Value<'static>)> =
                    map.iter().map(|(k, v)| (self.intern(k), self.json(v))).collect();
                self.object(&members)
            }
        }
    }

    /// Stores an array of values.
    pub fn slice(&mut self, items: &[Value<'static>]) -> Value<'static> {
        let stored: &[Value<'static>] = self.bump.alloc_slice_copy(items);
        // SAFETY: see the type's documentation.
        Value::array(unsafe { std::mem::transmute::<&[Value<'static>], &'static [Value<'static>]>(stored) })
    }

    /// Stores an object's members.
    pub fn object(&mut self, members: &[(&'static str, Value<'static>)]) -> Value<'static> {
        let stored: &[(&'static str, Value<'static>)] = self.bump.alloc_slice_copy(members);
        // SAFETY: see the type's documentation.
        Value::object(unsafe {
            std::mem::transmute::<&[(&'static str, Value<'static>)], &'static [(&'static str, Value<'static>)]>(stored)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_and_stores_json() {
        let mut consts = Constants::new();
        let a = consts.intern("key");
        let b = consts.intern("key");
        assert!(std::ptr::eq(a, b));
        let v = consts.json(&serde_json::json!({"key": [1, "x", null]}));
        assert_eq!(v.to_json_string(), r#"{"key":[1,"x",null]}"#);
        let (k, _) = v.as_object().unwrap()[0];
        assert!(std::ptr::eq(k, a));
    }
}
