//! Higher-order functions: `$map`, `$filter`, `$single`, `$reduce`, `$sift`, `$each`, `$sort`.

use bumpalo::collections::Vec as BumpVec;

use super::super::error::Error;
use super::super::eval::{js_str_cmp, merge_sort, Ctx, R};
use super::super::value::{make_arr, truthy, Env, SeqBuilder, Val};
use super::{arity, call_hof, Builtin};

/// Runs a higher-order built-in.
pub fn call<'a>(ctx: &Ctx<'a, '_>, b: Builtin, args: &[Val<'a>], env: &'a Env<'a>) -> R<'a> {
    let arena = ctx.arena;
    let a = |i: usize| args.get(i).copied().unwrap_or(Val::Undef);
    let arr = a(0);
    let f = a(1);
    match b {
        Builtin::Map | Builtin::Filter => {
            if arr.is_undef() {
                return Ok(Val::Undef);
            }
            let mut out = SeqBuilder::new(arena);
            for (i, item) in arr.iter().enumerate() {
                let r = call_hof(ctx, f, &[item, Val::Num(i as f64), arr], env)?;
                if b == Builtin::Map {
                    if !r.is_undef() {
                        out.push(r);
                    }
                } else if truthy(r) == Some(true) {
                    out.push(item);
                }
            }
            Ok(out.seq(arena))
        }
        Builtin::Single => {
            if arr.is_undef() {
                return Ok(Val::Undef);
            }
            let mut found = None;
            for (i, item) in arr.iter().enumerate() {
                let ok = if f.is_undef() {
                    true
                } else {
                    truthy(call_hof(ctx, f, &[item, Val::Num(i as f64), arr], env)?) == Some(true)
                };
                if ok {
                    if found.is_some() {
                        return Err(Error::new("D3138").index(i));
                    }
                    found = Some(item);
                }
            }
            found.ok_or_else(|| Error::new("D3139"))
        }
        Builtin::Reduce => {
            if arr.is_undef() {
                return Ok(Val::Undef);
            }
            let n = arity(f);
            if n < 2 {
                return Err(Error::new("D3050").index(1));
            }
            let init = a(2);
            let (mut acc, start) = if init.is_undef() && !arr.is_empty() {
                (arr.item(0), 1)
            } else {
                (init, 0)
            };
            for i in start..arr.len() {
                let mut list: super::super::eval::Args<'a> = smallvec::smallvec![acc, arr.item(i)];
                if n >= 3 {
                    list.push(Val::Num(i as f64));
                }
                if n >= 4 {
                    list.push(arr);
                }
                acc = ctx.apply(f, list, Val::Undef, env)?;
            }
            Ok(acc)
        }
        Builtin::Sift => {
            let obj = a(0);
            let mut members: BumpVec<'a, (&'a str, Val<'a>)> = BumpVec::new_in(arena);
            for i in 0..obj.obj_len() {
                let (k, v) = obj.member(i);
                let r = call_hof(ctx, f, &[v, Val::Str(k), obj], env)?;
                if truthy(r) == Some(true) {
                    members.push((k, v));
                }
            }
            if members.is_empty() {
                return Ok(Val::Undef);
            }
            Ok(Val::Obj(members.into_bump_slice()))
        }
        Builtin::Each => {
            let obj = a(0);
            let mut out = SeqBuilder::new(arena);
            for i in 0..obj.obj_len() {
                let (k, v) = obj.member(i);
                let r = call_hof(ctx, f, &[v, Val::Str(k), obj], env)?;
                if !r.is_undef() {
                    out.push(r);
                }
            }
            Ok(out.seq(arena))
        }
        Builtin::Sort => {
            if arr.is_undef() {
                return Ok(Val::Undef);
            }
            if arr.len() <= 1 {
                return Ok(arr);
            }
            ctx.charge_items::<Val>(arr.len().saturating_mul(2))?;
            let mut items: Vec<Val<'a>> = arr.iter().collect();
            if f.is_undef() {
                let all_num = items.iter().all(|v| matches!(v, Val::Num(_)));
                let all_str = items.iter().all(|v| matches!(v, Val::Str(_)));
                if !all_num && !all_str {
                    return Err(Error::new("D3070").index(1));
                }
                merge_sort(&mut items, &mut |x, y| {
                    Ok(match (x, y) {
                        (Val::Num(p), Val::Num(q)) => p > q,
                        (Val::Str(p), Val::Str(q)) => js_str_cmp(p, q).is_gt(),
                        _ => false,
                    })
                })?;
            } else {
                merge_sort(&mut items, &mut |x, y| {
                    let r = ctx.apply(f, smallvec::smallvec![x, y], Val::Undef, env)?;
                    Ok(truthy(r) == Some(true))
                })?;
            }
            Ok(make_arr(arena, arena.alloc_slice_copy(&items), false))
        }
        _ => Ok(Val::Undef),
    }
}
