//! Object functions: `$keys`, `$lookup`, `$spread`, `$merge`, `$type`, `$clone`.

use std::collections::HashSet;

use bumpalo::collections::Vec as BumpVec;

use super::super::error::Error;
use super::super::eval::{Ctx, R};
use super::super::value::{number, stringify, KeyIndex, SeqBuilder, Val};
use super::Builtin;
use crate::value::{find_member, Arena, Member, Number, SizeBound, Value};

/// The keys of `v`'s objects (through nested arrays), each once, in order of appearance.
fn keys_into<'a>(
    ctx: &Ctx<'a, '_>,
    v: Val<'a>,
    out: &mut Vec<&'a str>,
    seen: &mut HashSet<&'a str>,
    depth: usize,
) -> Result<(), Error> {
    if v.is_array() {
        ctx.value_step(depth)?;
        for item in v.iter() {
            keys_into(ctx, item, out, seen, depth + 1)?;
        }
    } else if v.is_object() {
        ctx.tick()?;
        for i in 0..v.obj_len() {
            let k = v.member(i).0;
            if seen.insert(k) {
                out.push(k);
            }
        }
    }
    Ok(())
}

/// `$spread`: the members of objects as one-member objects (through nested arrays).
fn spread<'a>(ctx: &Ctx<'a, '_>, v: Val<'a>, depth: usize) -> R<'a> {
    let arena = ctx.arena;
    if v.is_array() {
        ctx.value_step(depth)?;
        let mut out = SeqBuilder::new(arena);
        let mut any = false;
        for item in v.iter() {
            let s = spread(ctx, item, depth + 1)?;
            if s.is_undef() {
                continue;
            }
            any = true;
            ctx.charge_items::<Val>(out.len() + s.len().max(1))?;
            out.extend_flat(s);
        }
        // jsonata-js appends each item's result to an empty sequence: a plain array once
        // something was appended
        return Ok(if any { out.array(arena) } else { out.seq(arena) });
    }
    if v.is_object() {
        ctx.charge_items::<(&str, Val)>(v.obj_len().saturating_mul(3))?;
        let mut out = SeqBuilder::with_capacity(arena, v.obj_len());
        for i in 0..v.obj_len() {
            out.push(Val::Obj(arena.alloc_slice_copy(&[v.member(i)])));
        }
        return Ok(out.seq(arena));
    }
    Ok(v)
}

/// `$merge` of an array of objects (or one object): later keys override earlier ones in
/// place. Keys are unique within each object (a documented invariant of both JSON and
/// constructed objects), so the first object is copied as it is.
///
/// For the direct evaluator, whose objects are its expression's constructors (at most 16
/// deep, not shared): see [`merge_any`] for any value.
pub fn merge<'a>(arena: &'a Arena, v: Val<'a>) -> Val<'a> {
    merge_with::<false>(arena, v)
}

/// [`merge`] of any value, whose constructed objects may be deep or shared: at most
/// [`PLAIN_JSON_OBJECTS`] of them are copied as JSON.
pub fn merge_any<'a>(arena: &'a Arena, v: Val<'a>) -> Val<'a> {
    merge_with::<true>(arena, v)
}

fn merge_with<'a, const CHECKED: bool>(arena: &'a Arena, v: Val<'a>) -> Val<'a> {
    if v.is_undef() {
        return Val::Undef;
    }
    let total = members_total(v);
    // (few members, the common case: keys found by a scan, no index to keep)
    let json = if total <= 16 {
        merge_json::<false, CHECKED>(arena, v, total)
    } else {
        merge_json::<true, CHECKED>(arena, v, total)
    };
    if let Some((members, bound)) = json {
        return Val::JObj(members, bound);
    }
    let mut members: BumpVec<'a, (&'a str, Val<'a>)> = BumpVec::with_capacity_in(members_total(v), arena);
    let mut index = KeyIndex::default();
    for obj in v.iter() {
        if members.is_empty() {
            members.extend((0..obj.obj_len()).map(|i| obj.member(i)));
            continue;
        }
        for i in 0..obj.obj_len() {
            let (k, x) = obj.member(i);
            match index.find(&members, k) {
                Some(slot) => members[slot].1 = x,
                None => {
                    index.push(k, members.len());
                    members.push((k, x))
                }
            }
        }
    }
    Val::Obj(members.into_bump_slice())
}

fn members_total(v: Val<'_>) -> usize {
    v.iter().map(|o| o.obj_len()).sum()
}

/// `$merge` built straight as JSON when every member value is JSON (so that converting the
/// result is free): the members of JSON objects are taken as they are (top-level numbers
/// normalized as [`to_json`](super::super::value::to_json) would), those of constructed
/// objects converted. `None` if some value is not plain JSON (undefined, a function, a
/// flagged array), which keeps the general representation.
/// `INDEXED`: find keys through a [`KeyIndex`] (for many members).
fn merge_json<'a, const INDEXED: bool, const CHECKED: bool>(
    arena: &'a Arena,
    v: Val<'a>,
    total: usize,
) -> Option<(&'a [Member<'a>], SizeBound)> {
    // room for every member up front: pushes never reallocate, and the first object is
    // copied in one block
    let mut out: BumpVec<'a, Member<'a>> = BumpVec::with_capacity_in(total, arena);
    // the result's size bound, kept up to date member by member (normalizing a number keeps
    // its bound)
    let mut bound = SizeBound::EMPTY;
    let mut index = KeyIndex::default();
    // constructed objects copied as JSON, at most this many (deep or shared ones keep the
    // general representation)
    let mut budget = PLAIN_JSON_OBJECTS;
    for obj in v.iter() {
        match obj {
            Val::JObj(m, first) if out.is_empty() => {
                out.extend_from_slice_copy(m);
                bound = first;
                for (_, x) in out.iter_mut() {
                    if let Value::Number(_) = x {
                        *x = normalize_number(*x);
                    }
                }
            }
            Val::JObj(m, _) => {
                for &(k, x) in m {
                    bound = upsert::<INDEXED>(&mut out, &mut index, bound, k, normalize_number(x));
                }
            }
            Val::Obj(m) => {
                for &(k, x) in m {
                    bound = upsert::<INDEXED>(
                        &mut out,
                        &mut index,
                        bound,
                        k,
                        plain_json::<CHECKED>(arena, x, &mut budget)?,
                    );
                }
            }
            _ => return None,
        }
    }
    Some((out.into_bump_slice(), bound))
}

/// Sets `k` to `x` in `out`, whose size bound is `bound`; returns the new bound.
#[inline]
fn upsert<'a, const INDEXED: bool>(
    out: &mut BumpVec<'a, Member<'a>>,
    index: &mut KeyIndex<'a>,
    bound: SizeBound,
    k: &'a str,
    x: Value<'a>,
) -> SizeBound {
    let found = if INDEXED {
        index.find(out, k)
    } else {
        find_member(out, k)
    };
    match found {
        Some(i) => bound.replaced(std::mem::replace(&mut out[i].1, x), x),
        None => {
            if INDEXED {
                index.push(k, out.len());
            }
            out.push((k, x));
            bound.appended(k, x)
        }
    }
}

/// A JSON number as it comes out of a round trip through a runtime value (a double).
#[inline]
fn normalize_number(v: Value<'_>) -> Value<'_> {
    match v {
        // integers within ±2^53 are exact as doubles
        Value::Number(Number::Int(i)) if i.unsigned_abs() <= 1 << 53 => v,
        Value::Number(n) => Value::Number(number(n.as_f64())),
        v => v,
    }
}

/// How many constructed objects [`merge_json`] converts to JSON before it gives up (which
/// bounds its recursion and its copies of shared objects).
const PLAIN_JSON_OBJECTS: usize = 64;

/// The JSON form of a runtime value that converts back to the same runtime value: scalars,
/// JSON values and constructed objects of those (`None` otherwise).
///
/// `CHECKED`: counts the objects converted in `budget` (`None` once it is spent).
fn plain_json<'a, const CHECKED: bool>(arena: &'a Arena, v: Val<'a>, budget: &mut usize) -> Option<Value<'a>> {
    Some(match v {
        Val::Obj(m) => {
            if CHECKED {
                *budget = budget.checked_sub(1)?;
            }
            let out = arena.alloc_slice_fill_copy(m.len(), ("", Value::Null));
            for (slot, &(k, x)) in out.iter_mut().zip(m.iter()) {
                *slot = (k, plain_json::<CHECKED>(arena, x, budget)?);
            }
            Value::object(out)
        }
        leaf => return leaf.json_leaf(),
    })
}

/// Runs an object built-in.
pub fn call<'a>(ctx: &Ctx<'a, '_>, b: Builtin, args: &[Val<'a>]) -> R<'a> {
    let arena = ctx.arena;
    let a = |i: usize| args.get(i).copied().unwrap_or(Val::Undef);
    match b {
        Builtin::Keys => {
            let mut keys = Vec::new();
            keys_into(ctx, a(0), &mut keys, &mut HashSet::new(), 0)?;
            ctx.charge_items::<Val>(keys.len())?;
            let mut out = SeqBuilder::with_capacity(arena, keys.len());
            for k in keys {
                out.push(Val::Str(k));
            }
            Ok(out.seq(arena))
        }
        Builtin::Lookup => ctx.lookup(a(0), a(1).as_str().unwrap_or("")),
        Builtin::Spread => spread(ctx, a(0), 0),
        Builtin::Merge => Ok(merge_any(arena, a(0))),
        Builtin::Type => Ok(match a(0) {
            Val::Undef => Val::Undef,
            Val::Null => Val::Str("null"),
            Val::Bool(_) => Val::Str("boolean"),
            Val::Num(_) => Val::Str("number"),
            Val::Str(_) => Val::Str("string"),
            Val::Func(_) => Val::Str("function"),
            v if v.is_array() => Val::Str("array"),
            _ => Val::Str("object"),
        }),
        Builtin::Clone => {
            let v = a(0);
            if v.is_undef() {
                return Ok(Val::Undef);
            }
            let mut text = String::new();
            stringify(ctx, v, false, &mut text)?;
            // the parsed copy takes about as much again
            ctx.charge(text.len().saturating_mul(2))?;
            let text = arena.alloc_str(&text);
            Ok(crate::value::parse(arena, text)
                .map(Val::from_json)
                .unwrap_or(Val::Undef))
        }
        _ => Ok(Val::Undef),
    }
}
