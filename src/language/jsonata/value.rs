//! The evaluator's runtime values: JSON values plus undefined, sequences (with jsonata-js's
//! flags), functions and regexes, all `Copy` and arena-allocated. Values read from the input
//! stay borrowed ([`Val::JArr`], [`Val::JObj`]); constructed ones are [`Val::Arr`]/[`Val::Obj`].

use std::cell::RefCell;

use bumpalo::collections::Vec as BumpVec;

use super::ast::{Lambda, Node, RegexLit};
use super::error::Error;
use super::eval::Ctx;
use super::functions::Builtin;
use super::signature::ArgKind;
use crate::value::{key_eq, Arena, Member, Number, SizeBound, Value};

/// A runtime value.
#[derive(Clone, Copy, Debug)]
pub enum Val<'a> {
    /// No value (JavaScript `undefined`).
    Undef,
    /// `null`
    Null,
    /// A boolean.
    Bool(bool),
    /// A number (always a double, as in JavaScript).
    Num(f64),
    /// A string.
    Str(&'a str),
    /// An array borrowed from JSON input (with its size bound, kept for the way back).
    JArr(&'a [Value<'a>], SizeBound),
    /// An object borrowed from JSON input (with its size bound, kept for the way back).
    JObj(&'a [Member<'a>], SizeBound),
    /// A constructed array or sequence.
    Arr(&'a Arr<'a>),
    /// A constructed object (keys unique, in insertion order).
    Obj(&'a [(&'a str, Val<'a>)]),
    /// A function.
    Func(&'a Func<'a>),
}

/// A constructed array with jsonata-js's array flags.
#[derive(Debug)]
pub struct Arr<'a> {
    /// The items.
    pub items: &'a [Val<'a>],
    /// A sequence (result of navigation) rather than an array value.
    pub seq: bool,
    /// A singleton sequence stays an array (`[]` keep-array).
    pub keep: bool,
    /// Built by an array constructor (never flattened into a path result).
    pub cons: bool,
    /// The wrapper jsonata-js puts around an array input document.
    pub outer: bool,
    /// A stream of tuples (objects with `@` and variable bindings).
    pub tuples: bool,
}

/// A function value.
#[derive(Debug)]
pub enum Func<'a> {
    /// A lambda with its captured environment and input.
    Lambda {
        /// The definition.
        def: &'a Lambda,
        /// The scope it closes over.
        env: &'a Env<'a>,
        /// The context value at definition time.
        input: Val<'a>,
    },
    /// A built-in function.
    Builtin(Builtin),
    /// A partial application: `None` marks a `?` placeholder.
    Partial {
        /// The function applied.
        func: Val<'a>,
        /// The fixed arguments and placeholders.
        args: &'a [Option<Val<'a>>],
    },
    /// A regular expression (callable as a matcher).
    Regex(&'a RegexLit),
    /// A transform `|pattern|update,delete|`.
    Transform {
        /// The transform node.
        node: &'a Node,
        /// The scope it was defined in.
        env: &'a Env<'a>,
    },
    /// `f ~> g` composition: applies `first`, then `second`.
    Chain {
        /// Applied first.
        first: Val<'a>,
        /// Applied to the first's result.
        second: Val<'a>,
    },
}

/// A scope frame: variable bindings plus the enclosing frame.
#[derive(Debug)]
pub struct Env<'a> {
    vars: RefCell<BumpVec<'a, (&'a str, Val<'a>)>>,
    /// The enclosing frame.
    pub parent: Option<&'a Env<'a>>,
}

impl<'a> Env<'a> {
    /// A new frame inside `parent`.
    pub fn new(arena: &'a Arena, parent: Option<&'a Env<'a>>) -> &'a Env<'a> {
        arena.alloc(Env {
            vars: RefCell::new(BumpVec::new_in(arena)),
            parent,
        })
    }

    /// Binds `name` in this frame.
    pub fn bind(&self, name: &'a str, value: Val<'a>) {
        let mut vars = self.vars.borrow_mut();
        match vars.iter_mut().find(|(k, _)| key_eq(k, name)) {
            Some(slot) => slot.1 = value,
            None => vars.push((name, value)),
        }
    }

    /// Looks `name` up through the frames.
    pub fn lookup(&self, name: &str) -> Option<Val<'a>> {
        let mut env = Some(self);
        while let Some(e) = env {
            if let Some((_, v)) = e.vars.borrow().iter().find(|(k, _)| key_eq(k, name)) {
                return Some(*v);
            }
            env = e.parent;
        }
        None
    }
}

impl<'a> Val<'a> {
    /// Converts a JSON value (numbers become doubles).
    #[inline]
    pub fn from_json(v: Value<'a>) -> Val<'a> {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(b),
            Value::Number(n) => Val::Num(n.as_f64()),
            Value::String(s) => Val::Str(s),
            Value::Array(a, bound) => Val::JArr(a, bound),
            Value::Object(o, bound) => Val::JObj(o, bound),
        }
    }

    /// Whether this is undefined.
    #[inline]
    pub fn is_undef(&self) -> bool {
        matches!(self, Val::Undef)
    }

    /// Whether this is an array (of any kind).
    #[inline]
    pub fn is_array(&self) -> bool {
        matches!(self, Val::JArr(_, _) | Val::Arr(_))
    }

    /// Whether this is an object.
    #[inline]
    pub fn is_object(&self) -> bool {
        matches!(self, Val::JObj(_, _) | Val::Obj(_))
    }

    /// Whether this is a function.
    #[inline]
    pub fn is_function(&self) -> bool {
        matches!(self, Val::Func(_))
    }

    /// The constructed array, if this is one.
    pub fn as_arr(&self) -> Option<&'a Arr<'a>> {
        match self {
            Val::Arr(a) => Some(a),
            _ => None,
        }
    }

    /// Whether this is a sequence.
    pub fn is_seq(&self) -> bool {
        matches!(self, Val::Arr(a) if a.seq)
    }

    /// Number of items if an array.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Val::JArr(a, _) => a.len(),
            Val::Arr(a) => a.items.len(),
            _ => 0,
        }
    }

    /// Whether an array is empty (non-arrays count as empty).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Item `i` of an array.
    #[inline]
    pub fn item(&self, i: usize) -> Val<'a> {
        match self {
            Val::JArr(a, _) => a.get(i).map(|v| Val::from_json(*v)).unwrap_or(Val::Undef),
            Val::Arr(a) => a.items.get(i).copied().unwrap_or(Val::Undef),
            _ => Val::Undef,
        }
    }

    /// The items of an array (or the value itself, if it is not one).
    pub fn iter(self) -> ValIter<'a> {
        ValIter { val: self, i: 0 }
    }

    /// Field `key` of an object.
    #[inline]
    pub fn field(&self, key: &str) -> Option<Val<'a>> {
        match self {
            Val::JObj(m, _) => m.iter().find(|(k, _)| key_eq(k, key)).map(|(_, v)| Val::from_json(*v)),
            Val::Obj(m) => m.iter().find(|(k, _)| key_eq(k, key)).map(|(_, v)| *v),
            _ => None,
        }
    }

    /// Number of members of an object.
    pub fn obj_len(&self) -> usize {
        match self {
            Val::JObj(m, _) => m.len(),
            Val::Obj(m) => m.len(),
            _ => 0,
        }
    }

    /// Member `i` of an object.
    pub fn member(&self, i: usize) -> (&'a str, Val<'a>) {
        match self {
            Val::JObj(m, _) => (m[i].0, Val::from_json(m[i].1)),
            Val::Obj(m) => m[i],
            _ => ("", Val::Undef),
        }
    }

    /// The signature letter class of this value.
    pub fn arg_kind(&self) -> ArgKind {
        match self {
            Val::Undef => ArgKind::Missing,
            Val::Null => ArgKind::Null,
            Val::Bool(_) => ArgKind::Bool,
            Val::Num(_) => ArgKind::Number,
            Val::Str(_) => ArgKind::String,
            Val::JArr(_, _) | Val::Arr(_) => ArgKind::Array,
            Val::JObj(_, _) | Val::Obj(_) => ArgKind::Object,
            Val::Func(_) => ArgKind::Function,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_num(&self) -> Option<f64> {
        match self {
            Val::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// Identity of an object or array (for the transform operator), if it has one.
    pub fn identity(&self) -> Option<usize> {
        match self {
            Val::JObj(m, _) => Some(m.as_ptr() as usize),
            Val::Obj(m) => Some(m.as_ptr() as usize),
            _ => None,
        }
    }
}

/// Iterates the items of an array value (a non-array yields itself once, undefined nothing).
pub struct ValIter<'a> {
    val: Val<'a>,
    i: usize,
}

impl<'a> Iterator for ValIter<'a> {
    type Item = Val<'a>;
    fn next(&mut self) -> Option<Val<'a>> {
        let i = self.i;
        self.i += 1;
        match self.val {
            Val::JArr(a, _) => a.get(i).map(|v| Val::from_json(*v)),
            Val::Arr(a) => a.items.get(i).copied(),
            Val::Undef => None,
            v if i == 0 => Some(v),
            _ => None,
        }
    }
}

/// Builds sequences and arrays in the arena.
pub struct SeqBuilder<'a> {
    /// The items so far.
    pub items: BumpVec<'a, Val<'a>>,
}

impl<'a> SeqBuilder<'a> {
    /// An empty builder.
    pub fn new(arena: &'a Arena) -> SeqBuilder<'a> {
        SeqBuilder {
            items: BumpVec::new_in(arena),
        }
    }
    /// With capacity.
    pub fn with_capacity(arena: &'a Arena, n: usize) -> SeqBuilder<'a> {
        SeqBuilder {
            items: BumpVec::with_capacity_in(n, arena),
        }
    }
    /// Appends one item.
    #[inline]
    pub fn push(&mut self, v: Val<'a>) {
        self.items.push(v);
    }
    /// Appends the items of `v` if it is an array, else `v` (undefined: nothing).
    pub fn extend_flat(&mut self, v: Val<'a>) {
        match v {
            Val::Undef => {}
            Val::JArr(a, _) => self.items.extend(a.iter().map(|x| Val::from_json(*x))),
            Val::Arr(a) => self.items.extend_from_slice_copy(a.items),
            v => self.items.push(v),
        }
    }
    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// Finishes as a sequence.
    pub fn seq(self, arena: &'a Arena) -> Val<'a> {
        make_arr(arena, self.items.into_bump_slice(), true)
    }
    /// Finishes as a plain array.
    pub fn array(self, arena: &'a Arena) -> Val<'a> {
        make_arr(arena, self.items.into_bump_slice(), false)
    }
}

/// An array value over `items`.
pub fn make_arr<'a>(arena: &'a Arena, items: &'a [Val<'a>], seq: bool) -> Val<'a> {
    Val::Arr(arena.alloc(Arr {
        items,
        seq,
        keep: false,
        cons: false,
        outer: false,
        tuples: false,
    }))
}

/// The array constructor `[a, b, ...]`: evaluates each item with `eval`, skips undefined
/// ones, keeps nested array constructors as elements and flattens every other array.
///
/// `reserve(n)` is asked before `n` items are copied in from an array (so that the caller
/// can refuse an allocation past its memory budget).
pub fn construct_array<'a, E>(
    arena: &'a Arena,
    items: &'a [crate::jsonata::ast::Node],
    cons: bool,
    mut eval: impl FnMut(&'a crate::jsonata::ast::Node) -> Result<Val<'a>, E>,
    mut reserve: impl FnMut(usize) -> Result<(), E>,
) -> Result<Val<'a>, E> {
    let mut out = SeqBuilder::with_capacity(arena, items.len());
    for item in items {
        let v = eval(item)?;
        if v.is_undef() {
            continue;
        }
        if matches!(item.kind, crate::jsonata::ast::Kind::Array(_)) {
            out.push(v);
        } else {
            if v.is_array() {
                reserve(out.len() + v.len())?;
            }
            out.extend_flat(v);
        }
    }
    Ok(make_arr_flags(
        arena,
        Arr {
            items: out.items.into_bump_slice(),
            seq: false,
            keep: false,
            cons,
            outer: false,
            tuples: false,
        },
    ))
}

/// An array value with explicit flags.
pub fn make_arr_flags<'a>(arena: &'a Arena, proto: Arr<'a>) -> Val<'a> {
    Val::Arr(arena.alloc(proto))
}

/// jsonata-js's treatment of an array input document: wrapped in a singleton sequence
/// marked `outer`, so that paths see the array as one value (other values are returned as
/// they are).
pub fn wrap_document<'a>(arena: &'a Arena, v: Val<'a>) -> Val<'a> {
    if !v.is_array() || v.is_seq() {
        return v;
    }
    make_arr_flags(
        arena,
        Arr {
            items: arena.alloc_slice_copy(&[v]),
            seq: true,
            keep: false,
            cons: false,
            outer: true,
            tuples: false,
        },
    )
}

/// An empty sequence.
pub fn empty_seq<'a>(arena: &'a Arena) -> Val<'a> {
    make_arr(arena, &[], true)
}

/// A sequence of one item.
pub fn singleton_seq<'a>(arena: &'a Arena, v: Val<'a>) -> Val<'a> {
    make_arr(arena, arena.alloc_slice_copy(&[v]), true)
}

/// jsonata-js `fn.boolean` (undefined stays undefined: `None`).
pub fn truthy(v: Val<'_>) -> Option<bool> {
    Some(match v {
        Val::Undef => return None,
        Val::Null => false,
        Val::Bool(b) => b,
        Val::Num(n) => n != 0.0 && !n.is_nan(),
        Val::Str(s) => !s.is_empty(),
        Val::JArr(_, _) | Val::Arr(_) => array_truthy(v),
        Val::JObj(_, _) | Val::Obj(_) => v.obj_len() > 0,
        Val::Func(_) => false,
    })
}

/// An array is truthy when one of its items is, looking through nested arrays
/// (jsonata-js `fn.boolean`). Iterative, and each nested array is looked at once: values
/// built at run time can nest arrays deep and share them.
fn array_truthy(v: Val<'_>) -> bool {
    let mut nested = false;
    for x in v.iter() {
        if x.is_array() {
            nested = true;
        } else if truthy(x) == Some(true) {
            return true;
        }
    }
    if !nested {
        return false;
    }
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![v];
    seen.insert(items_id(v));
    while let Some(a) = stack.pop() {
        for x in a.iter() {
            if x.is_array() {
                if seen.insert(items_id(x)) {
                    stack.push(x);
                }
            } else if truthy(x) == Some(true) {
                return true;
            }
        }
    }
    false
}

/// The identity of an array's or object's items (address and length): two values with the
/// same identity hold the very same items.
pub fn items_id(v: Val<'_>) -> (usize, usize) {
    match v {
        Val::JArr(a, _) => (a.as_ptr() as usize, a.len()),
        Val::Arr(a) => (a.items.as_ptr() as usize, a.items.len()),
        Val::JObj(m, _) => (m.as_ptr() as usize, m.len()),
        Val::Obj(m) => (m.as_ptr() as usize, m.len()),
        _ => (0, 0),
    }
}

/// jsonata-js `isDeepEqual`: a value is equal to itself (JavaScript's `===` first), and
/// arrays and objects compare member by member, at most `ctx.max_value_depth` deep (an
/// error past it), with the evaluation's deadline checked on the way.
pub fn deep_equal<'a>(ctx: &Ctx<'a, '_>, a: Val<'a>, b: Val<'a>) -> Result<bool, Error> {
    deep_equal_at(ctx, a, b, 0)
}

fn deep_equal_at<'a>(ctx: &Ctx<'a, '_>, a: Val<'a>, b: Val<'a>, depth: usize) -> Result<bool, Error> {
    Ok(match (a, b) {
        (Val::Undef, Val::Undef) | (Val::Null, Val::Null) => true,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Num(x), Val::Num(y)) => x == y,
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::Func(x), Val::Func(y)) => std::ptr::eq(x, y),
        _ if a.is_array() && b.is_array() => {
            if a.len() != b.len() {
                return Ok(false);
            }
            if same_items(a, b) {
                return Ok(true);
            }
            ctx.value_step(depth)?;
            for i in 0..a.len() {
                if !deep_equal_at(ctx, a.item(i), b.item(i), depth + 1)? {
                    return Ok(false);
                }
            }
            true
        }
        _ if a.is_object() && b.is_object() => {
            if a.obj_len() != b.obj_len() {
                return Ok(false);
            }
            if same_items(a, b) {
                return Ok(true);
            }
            ctx.value_step(depth)?;
            // `b`'s members by key, once a search is needed in a large object
            let mut index: Option<std::collections::HashMap<&str, usize>> = None;
            for i in 0..a.obj_len() {
                let (k, v) = a.member(i);
                // members in the same order (the common case) are found without a search
                let w = match b.member(i) {
                    (bk, w) if key_eq(bk, k) => Some(w),
                    _ if b.obj_len() > 16 => {
                        let index = index.get_or_insert_with(|| (0..b.obj_len()).map(|j| (b.member(j).0, j)).collect());
                        index.get(k).map(|&j| b.member(j).1)
                    }
                    _ => b.field(k),
                };
                match w {
                    Some(w) if deep_equal_at(ctx, v, w, depth + 1)? => {}
                    _ => return Ok(false),
                }
            }
            true
        }
        _ => false,
    })
}

/// Whether two arrays (or two objects) of the same kind are the very same items.
fn same_items(a: Val<'_>, b: Val<'_>) -> bool {
    let same_kind = matches!(
        (a, b),
        (Val::JArr(..), Val::JArr(..))
            | (Val::Arr(_), Val::Arr(_))
            | (Val::JObj(..), Val::JObj(..))
            | (Val::Obj(_), Val::Obj(_))
    );
    same_kind && items_id(a) == items_id(b)
}

impl<'a> Val<'a> {
    /// The JSON of a scalar or of a value borrowed from JSON (`None` for constructed arrays
    /// and objects, undefined and functions).
    #[inline]
    pub fn json_leaf(self) -> Option<Value<'a>> {
        Some(match self {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(b),
            Val::Num(n) => Value::Number(number(n)),
            Val::Str(s) => Value::String(s),
            Val::JArr(a, bound) => Value::Array(a, bound),
            Val::JObj(o, bound) => Value::Object(o, bound),
            Val::Arr(_) | Val::Obj(_) | Val::Undef | Val::Func(_) => return None,
        })
    }
}

/// What a walk over a value may do: how deep it may go and how much it may allocate.
pub trait Walk {
    /// Counts one step at nesting `depth` (see [`Ctx::value_step`]).
    fn step(&self, depth: usize) -> Result<(), Error>;
    /// Asks for `n` values of type `T` (see [`Ctx::charge_items`]).
    fn reserve<T>(&self, n: usize) -> Result<(), Error>;
}

impl Walk for Ctx<'_, '_> {
    #[inline]
    fn step(&self, depth: usize) -> Result<(), Error> {
        self.value_step(depth)
    }
    #[inline]
    fn reserve<T>(&self, n: usize) -> Result<(), Error> {
        self.charge_items::<T>(n)
    }
}

/// A walk with no checks, for values whose size the expression bounds (the direct
/// evaluator's results: literals, input values and constructors at most 16 deep).
pub struct Bounded;

impl Walk for Bounded {
    #[inline(always)]
    fn step(&self, _depth: usize) -> Result<(), Error> {
        Ok(())
    }
    #[inline(always)]
    fn reserve<T>(&self, _n: usize) -> Result<(), Error> {
        Ok(())
    }
}

/// Converts a runtime value to JSON (`None` for undefined and functions), failing past the
/// evaluation's value depth or memory budget (a value built at run time can nest without
/// bound, and share parts that its JSON form copies).
#[inline]
pub fn to_json<'a>(arena: &'a Arena, walk: &impl Walk, v: Val<'a>) -> Result<Option<Value<'a>>, Error> {
    to_json_at(arena, walk, v, 0)
}

fn to_json_at<'a>(arena: &'a Arena, walk: &impl Walk, v: Val<'a>, depth: usize) -> Result<Option<Value<'a>>, Error> {
    Ok(Some(match v {
        Val::Undef | Val::Func(_) => return Ok(None),
        Val::Arr(a) => {
            if a.outer && a.items.len() == 1 {
                return to_json_at(arena, walk, a.items[0], depth);
            }
            walk.step(depth)?;
            walk.reserve::<Value>(a.items.len())?;
            let out = arena.alloc_slice_fill_copy(a.items.len(), Value::Null);
            for (slot, x) in out.iter_mut().zip(a.items) {
                if let Some(j) = x.json_leaf() {
                    *slot = j;
                } else if let Some(j) = to_json_at(arena, walk, *x, depth + 1)? {
                    *slot = j;
                }
            }
            Value::array(out)
        }
        Val::Obj(m) => {
            walk.step(depth)?;
            walk.reserve::<Member>(m.len())?;
            let mut out = BumpVec::with_capacity_in(m.len(), arena);
            for &(k, x) in m.iter() {
                // scalars and JSON values inline: no recursive call per member
                let j = match x.json_leaf() {
                    Some(j) => Some(j),
                    None => to_json_at(arena, walk, x, depth + 1)?,
                };
                if let Some(j) = j {
                    out.push((k, j));
                }
            }
            Value::object(out.into_bump_slice())
        }
        leaf => return Ok(leaf.json_leaf()),
    }))
}

/// A double as a JSON number: integral values within ±2^53 become integers.
pub fn number(n: f64) -> Number {
    if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0 {
        Number::Int(n as i64)
    } else {
        Number::Float(n)
    }
}

/// The shortest round-trip decimal digits of a finite non-zero double and the exponent `n`
/// such that the value is `0.d1d2... × 10^n`.
fn digits_exponent(f: f64) -> (String, i32) {
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(f.abs());
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    let all = format!("{int_part}{frac_part}");
    let trimmed_start = all.trim_start_matches('0');
    let leading = all.len() - trimmed_start.len();
    let digits = trimmed_start.trim_end_matches('0').to_string();
    let n = int_part.len() as i32 + exp - leading as i32;
    (digits, n)
}

/// JavaScript's `Number.prototype.toString()` for a double.
pub fn js_number_string(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if f == 0.0 {
        return "0".into();
    }
    if f.fract() == 0.0 && f.abs() < 1e18 {
        return itoa::Buffer::new().format(f as i64).to_string();
    }
    let (digits, n) = digits_exponent(f);
    let k = digits.len() as i32;
    let mut out = String::new();
    if f < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        let e = n - 1;
        out.push(if e >= 0 { '+' } else { '-' });
        out.push_str(&e.abs().to_string());
    }
    out
}

/// `Number(x.toPrecision(15))`: the double rounded to 15 significant digits.
pub fn round15(f: f64) -> f64 {
    if !f.is_finite() || f == 0.0 {
        return f;
    }
    format!("{f:.14e}").parse().unwrap_or(f)
}

/// JSON text of a value the way jsonata-js's `$string` renders it (`JSON.stringify` with
/// non-integers at 15 significant digits and functions as `""`), optionally indented by 2.
/// Fails (D1001) on a non-finite number, and (U1001) past the evaluation's value depth or
/// when the text would not fit in its memory budget.
pub fn stringify<'a>(ctx: &Ctx<'a, '_>, v: Val<'a>, pretty: bool, out: &mut String) -> Result<(), Error> {
    let mut w = Stringify {
        out,
        pretty,
        precision: true,
        bad: None,
        max_depth: ctx.max_value_depth,
        max_len: ctx.memory_left(),
    };
    match w.write(v, 0) {
        Err(Stop::Depth) => return Err(ctx.value_depth_error()),
        Err(Stop::Length) => return Err(ctx.memory_error()),
        Ok(()) => {}
    }
    match w.bad {
        Some(n) => Err(super::error::Error::new("D1001").value(js_number_string(n))),
        None => Ok(()),
    }
}

/// The longest text [`json_text`] renders (error messages quote values).
const JSON_TEXT_MAX: usize = 32 << 10;

/// JSON text of a value as `JSON.stringify` renders it (for error messages): cut with `...`
/// past 32 KiB or past the default value depth.
pub fn json_text(v: Val<'_>) -> String {
    let mut s = String::new();
    if v.is_undef() {
        return "undefined".into();
    }
    let mut w = Stringify {
        out: &mut s,
        pretty: false,
        precision: false,
        bad: None,
        max_depth: super::Limits::DEFAULT.max_value_depth,
        max_len: JSON_TEXT_MAX,
    };
    if w.write(v, 0).is_err() {
        s.push_str("...");
    }
    s
}

/// Why a [`Stringify`] stopped.
enum Stop {
    /// The value nests deeper than allowed.
    Depth,
    /// The text grew past its maximum length.
    Length,
}

/// A `JSON.stringify` writer with bounds on depth and length.
struct Stringify<'o> {
    out: &'o mut String,
    pretty: bool,
    /// Round non-integers to 15 digits and record a non-finite number seen (in `bad`).
    precision: bool,
    bad: Option<f64>,
    max_depth: usize,
    max_len: usize,
}

impl Stringify<'_> {
    fn indent(&mut self, level: usize) {
        if self.pretty {
            self.out.push('\n');
            for _ in 0..level {
                self.out.push_str("  ");
            }
        }
    }

    fn room(&self, more: usize) -> Result<(), Stop> {
        if self.out.len().saturating_add(more) > self.max_len {
            return Err(Stop::Length);
        }
        Ok(())
    }

    fn string(&mut self, s: &str) -> Result<(), Stop> {
        self.room(s.len() + 2)?;
        self.out.push_str(&super::error::json_quote(s));
        Ok(())
    }

    fn write(&mut self, v: Val<'_>, level: usize) -> Result<(), Stop> {
        self.room(if self.pretty { 2 * level + 8 } else { 8 })?;
        match v {
            Val::Undef | Val::Null => self.out.push_str("null"),
            Val::Bool(b) => self.out.push_str(if b { "true" } else { "false" }),
            Val::Num(n) => {
                if n.is_finite() {
                    let n = if self.precision && n.fract() != 0.0 {
                        round15(n)
                    } else {
                        n
                    };
                    self.out.push_str(&js_number_string(n))
                } else {
                    if self.precision {
                        self.bad.get_or_insert(n);
                    }
                    self.out.push_str("null")
                }
            }
            Val::Str(s) => self.string(s)?,
            Val::Func(_) => self.out.push_str("\"\""),
            Val::JArr(_, _) | Val::Arr(_) => {
                if let Val::Arr(a) = v {
                    if a.outer && a.items.len() == 1 {
                        return self.write(a.items[0], level);
                    }
                }
                if v.is_empty() {
                    self.out.push_str("[]");
                    return Ok(());
                }
                if level >= self.max_depth {
                    return Err(Stop::Depth);
                }
                self.out.push('[');
                for (i, item) in v.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.indent(level + 1);
                    self.write(item, level + 1)?;
                }
                self.indent(level);
                self.out.push(']');
            }
            Val::JObj(_, _) | Val::Obj(_) => {
                if level >= self.max_depth && v.obj_len() > 0 {
                    return Err(Stop::Depth);
                }
                let mut first = true;
                self.out.push('{');
                for i in 0..v.obj_len() {
                    let (k, x) = v.member(i);
                    if x.is_undef() {
                        continue;
                    }
                    if !first {
                        self.out.push(',');
                    }
                    first = false;
                    self.indent(level + 1);
                    self.string(k)?;
                    self.out.push(':');
                    if self.pretty {
                        self.out.push(' ');
                    }
                    self.write(x, level + 1)?;
                }
                if !first {
                    self.indent(level);
                }
                self.out.push('}');
            }
        }
        Ok(())
    }
}

/// Finds members of an object being built by key: by scanning while that is cheap, then
/// (once the scans have cost more than [`KeyIndex::SCAN_BUDGET`] comparisons) through a hash
/// index, so that building an object of many keys stays linear.
#[derive(Default)]
pub struct KeyIndex<'a> {
    map: Option<std::collections::HashMap<&'a str, usize>>,
    scanned: usize,
}

impl<'a> KeyIndex<'a> {
    /// Comparisons spent scanning before the index is built.
    const SCAN_BUDGET: usize = 1024;
    /// Objects this small are always scanned (their scans are not counted).
    const SMALL: usize = 16;

    /// The position of `key` in `members` (which only grow by [`KeyIndex::push`]).
    #[inline]
    pub fn find<T>(&mut self, members: &[(&'a str, T)], key: &str) -> Option<usize> {
        // (the index is only ever built for more members than this, and members only grow)
        if members.len() <= Self::SMALL {
            return members.iter().position(|(k, _)| key_eq(k, key));
        }
        self.find_slow(members, key)
    }

    #[inline(never)]
    fn find_slow<T>(&mut self, members: &[(&'a str, T)], key: &str) -> Option<usize> {
        if let Some(map) = &self.map {
            return map.get(key).copied();
        }
        self.scanned += members.len();
        if self.scanned > Self::SCAN_BUDGET {
            let map: std::collections::HashMap<&'a str, usize> =
                members.iter().enumerate().map(|(i, m)| (m.0, i)).collect();
            let found = map.get(key).copied();
            self.map = Some(map);
            return found;
        }
        members.iter().position(|(k, _)| key_eq(k, key))
    }

    /// Records that `key` was appended at position `at`.
    #[inline]
    pub fn push(&mut self, key: &'a str, at: usize) {
        if at > Self::SMALL {
            if let Some(map) = &mut self.map {
                map.insert(key, at);
            }
        }
    }
}
