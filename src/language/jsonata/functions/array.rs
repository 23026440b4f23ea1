//! Array functions (and the Step Functions `$partition`/`$range`).

use super::super::error::Error;
use super::super::eval::{append, Ctx, R};
use super::super::value::{deep_equal, json_text, make_arr, SeqBuilder, Val};
use super::numeric::random_f64;
use super::Builtin;

/// Runs an array built-in.
pub fn call<'a>(ctx: &Ctx<'a, '_>, b: Builtin, args: &[Val<'a>]) -> R<'a> {
    let arena = ctx.arena;
    let a = |i: usize| args.get(i).copied().unwrap_or(Val::Undef);
    match b {
        Builtin::Append => Ok(append(arena, a(0), a(1))),
        Builtin::Reverse | Builtin::Shuffle => {
            let v = a(0);
            if v.is_undef() || v.len() <= 1 {
                return Ok(v);
            }
            let mut items: Vec<Val<'a>> = v.iter().collect();
            if b == Builtin::Reverse {
                items.reverse();
            } else {
                for i in (1..items.len()).rev() {
                    let j = (random_f64() * (i + 1) as f64) as usize;
                    items.swap(i, j.min(i));
                }
            }
            Ok(make_arr(arena, arena.alloc_slice_copy(&items), false))
        }
        Builtin::Distinct => {
            let v = a(0);
            if !v.is_array() || v.len() <= 1 {
                return Ok(v);
            }
            let mut out = SeqBuilder::new(arena);
            for item in v.iter() {
                if !out.items.iter().any(|x| deep_equal(*x, item)) {
                    out.push(item);
                }
            }
            Ok(if v.is_seq() { out.seq(arena) } else { out.array(arena) })
        }
        Builtin::Zip => {
            let len = args
                .iter()
                .map(|v| if v.is_array() { v.len() } else { 0 })
                .min()
                .unwrap_or(0);
            let mut out = SeqBuilder::with_capacity(arena, len);
            for i in 0..len {
                let tuple: Vec<Val<'a>> = args.iter().map(|v| v.item(i)).collect();
                out.push(make_arr(arena, arena.alloc_slice_copy(&tuple), false));
            }
            Ok(out.array(arena))
        }
        Builtin::Partition => {
            let v = a(0);
            let size = a(1).as_num().unwrap_or(0.0);
            if v.is_undef() {
                return Ok(Val::Undef);
            }
            if size < 1.0 || size.fract() != 0.0 {
                return Err(Error::new("D3141").message(format!("Invalid partition size: {}", json_text(a(1)))));
            }
            let items: Vec<Val<'a>> = v.iter().collect();
            let mut out = SeqBuilder::new(arena);
            for chunk in items.chunks(size as usize) {
                out.push(make_arr(arena, arena.alloc_slice_copy(chunk), false));
            }
            Ok(out.array(arena))
        }
        Builtin::Range => {
            let (Some(start), Some(end)) = (a(0).as_num(), a(1).as_num()) else {
                return Ok(Val::Undef);
            };
            let step = a(2).as_num().unwrap_or(1.0);
            if step == 0.0 || !step.is_finite() {
                return Err(Error::new("D3141").message("Invalid range step: 0".to_string()));
            }
            let count = ((end - start) / step).floor() + 1.0;
            if count > 1e7 {
                return Err(Error::new("D2014").value(super::super::value::js_number_string(count)));
            }
            let mut out = SeqBuilder::new(arena);
            let mut i = 0.0;
            while i < count {
                out.push(Val::Num(start + i * step));
                i += 1.0;
            }
            Ok(out.seq(arena))
        }
        _ => Ok(Val::Undef),
    }
}
