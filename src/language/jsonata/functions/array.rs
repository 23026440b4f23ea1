//! Array functions (and the Step Functions `$partition`/`$range`).

use super::super::error::Error;
use super::super::eval::{append, Ctx, R};
use std::hash::{Hash, Hasher};

use super::super::value::{deep_equal, json_text, make_arr, SeqBuilder, Val};
use super::numeric::random_f64;
use super::Builtin;

/// Runs an array built-in.
pub fn call<'a>(ctx: &Ctx<'a, '_>, b: Builtin, args: &[Val<'a>]) -> R<'a> {
    let arena = ctx.arena;
    let a = |i: usize| args.get(i).copied().unwrap_or(Val::Undef);
    match b {
        Builtin::Append => append(ctx, a(0), a(1)),
        Builtin::Reverse | Builtin::Shuffle => {
            let v = a(0);
            if v.is_undef() || v.len() <= 1 {
                return Ok(v);
            }
            ctx.charge_items::<Val>(v.len())?;
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
            Ok(if v.is_seq() {
                distinct(ctx, v)?.seq(arena)
            } else {
                distinct(ctx, v)?.array(arena)
            })
        }
        Builtin::Zip => {
            let len = args
                .iter()
                .map(|v| if v.is_array() { v.len() } else { 0 })
                .min()
                .unwrap_or(0);
            ctx.charge_items::<Val>(len.saturating_mul(args.len() + 2))?;
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
            ctx.charge_items::<Val>(v.len().max(1).saturating_mul(3))?;
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
            ctx.charge_items::<Val>(count.max(0.0) as usize)?;
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

/// `$distinct`: the items of `v` without those deeply equal to an earlier one, in the order
/// of their first occurrence. Items are grouped by a hash that deeply equal values share, so
/// that each is compared only with the few kept items of the same hash.
fn distinct<'a>(ctx: &Ctx<'a, '_>, v: Val<'a>) -> Result<SeqBuilder<'a>, Error> {
    ctx.charge_items::<Val>(v.len().saturating_mul(3))?;
    let mut out = SeqBuilder::with_capacity(ctx.arena, v.len());
    // hash -> indices in `out` of the kept items with that hash
    let mut kept: std::collections::HashMap<u64, smallvec::SmallVec<[usize; 1]>> =
        std::collections::HashMap::with_capacity(v.len());
    for item in v.iter() {
        ctx.tick()?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        hash_value(item, 0, &mut hasher);
        let slot = kept.entry(hasher.finish()).or_default();
        let mut seen = false;
        for &i in slot.iter() {
            if deep_equal(ctx, out.items[i], item)? {
                seen = true;
                break;
            }
        }
        if !seen {
            slot.push(out.len());
            out.push(item);
        }
    }
    Ok(out)
}

/// How deep [`hash_value`] looks into arrays and objects: below, only their kind and size
/// count (enough to spread realistic values, and bounded work for deep or shared ones).
const HASH_DEPTH: usize = 3;

/// How many items or members of a nested array or object [`hash_value`] looks at (all of
/// those of the value itself): an object with more counts by its size only.
const HASH_WIDTH: usize = 8;

/// A hash consistent with [`deep_equal`]: deeply equal values hash alike (objects whatever
/// the order of their members, `0` and `-0` alike).
fn hash_value<H: Hasher>(v: Val<'_>, depth: usize, h: &mut H) {
    match v {
        Val::Undef => 0u8.hash(h),
        Val::Null => 1u8.hash(h),
        Val::Bool(b) => (2u8, b).hash(h),
        Val::Num(n) => (3u8, if n == 0.0 { 0 } else { n.to_bits() }).hash(h),
        Val::Str(s) => (4u8, s).hash(h),
        Val::Func(f) => (5u8, f as *const _ as usize).hash(h),
        _ if v.is_array() => {
            (6u8, v.len()).hash(h);
            if depth < HASH_DEPTH {
                let width = if depth == 0 { usize::MAX } else { HASH_WIDTH };
                for x in v.iter().take(width) {
                    hash_value(x, depth + 1, h);
                }
            }
        }
        _ => {
            (7u8, v.obj_len()).hash(h);
            if depth < HASH_DEPTH && (depth == 0 || v.obj_len() <= HASH_WIDTH) {
                // members in any order: a commutative sum of their hashes
                let mut sum = 0u64;
                for i in 0..v.obj_len() {
                    let (k, x) = v.member(i);
                    let mut mh = std::collections::hash_map::DefaultHasher::new();
                    k.hash(&mut mh);
                    hash_value(x, depth + 1, &mut mh);
                    sum = sum.wrapping_add(mh.finish());
                }
                sum.hash(h);
            }
        }
    }
}
