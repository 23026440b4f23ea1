//! Object functions: `$keys`, `$lookup`, `$spread`, `$merge`, `$type`, `$clone`.

use bumpalo::collections::Vec as BumpVec;

use super::super::eval::{append, lookup, Ctx, R};
use super::super::value::{stringify, SeqBuilder, Val};
use super::Builtin;

fn keys_into<'a>(v: Val<'a>, out: &mut Vec<&'a str>) {
    if v.is_array() {
        for item in v.iter() {
            keys_into(item, out);
        }
    } else if v.is_object() {
        for i in 0..v.obj_len() {
            let k = v.member(i).0;
            if !out.contains(&k) {
                out.push(k);
            }
        }
    }
}

fn spread<'a>(ctx: &Ctx<'a, '_>, v: Val<'a>) -> Val<'a> {
    let arena = ctx.arena;
    if v.is_array() {
        let mut result = SeqBuilder::new(arena).seq(arena);
        for item in v.iter() {
            result = append(arena, result, spread(ctx, item));
        }
        return result;
    }
    if v.is_object() {
        let mut out = SeqBuilder::with_capacity(arena, v.obj_len());
        for i in 0..v.obj_len() {
            out.push(Val::Obj(arena.alloc_slice_copy(&[v.member(i)])));
        }
        return out.seq(arena);
    }
    v
}

/// Runs an object built-in.
pub fn call<'a>(ctx: &Ctx<'a, '_>, b: Builtin, args: &[Val<'a>]) -> R<'a> {
    let arena = ctx.arena;
    let a = |i: usize| args.get(i).copied().unwrap_or(Val::Undef);
    match b {
        Builtin::Keys => {
            let mut keys = Vec::new();
            keys_into(a(0), &mut keys);
            let mut out = SeqBuilder::with_capacity(arena, keys.len());
            for k in keys {
                out.push(Val::Str(k));
            }
            Ok(out.seq(arena))
        }
        Builtin::Lookup => Ok(lookup(arena, a(0), a(1).as_str().unwrap_or(""))),
        Builtin::Spread => Ok(spread(ctx, a(0))),
        Builtin::Merge => {
            let v = a(0);
            if v.is_undef() {
                return Ok(Val::Undef);
            }
            let mut members: BumpVec<'a, (&'a str, Val<'a>)> = BumpVec::new_in(arena);
            for obj in v.iter() {
                for i in 0..obj.obj_len() {
                    let (k, x) = obj.member(i);
                    match members.iter_mut().find(|(key, _)| *key == k) {
                        Some(slot) => slot.1 = x,
                        None => members.push((k, x)),
                    }
                }
            }
            Ok(Val::Obj(members.into_bump_slice()))
        }
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
            stringify(v, false, &mut text)?;
            let text = arena.alloc_str(&text);
            Ok(crate::value::parse(arena, text)
                .map(Val::from_json)
                .unwrap_or(Val::Undef))
        }
        _ => Ok(Val::Undef),
    }
}
