//! Numeric functions and aggregates.

use super::super::error::Error;
use super::super::eval::R;
use super::super::value::{js_number_string, json_text, Val};
use super::Builtin;

/// `$sum`, `$max`, `$min`, `$average` over a (validated) array of numbers.
pub fn aggregate<'a>(b: Builtin, arr: Val<'a>) -> R<'a> {
    if arr.is_undef() {
        return Ok(Val::Undef);
    }
    let nums = || arr.iter().filter_map(|v| v.as_num());
    let count = nums().count();
    Ok(match b {
        Builtin::Sum => Val::Num(nums().sum()),
        _ if count == 0 => Val::Undef,
        Builtin::Max => Val::Num(nums().fold(f64::NEG_INFINITY, f64::max)),
        Builtin::Min => Val::Num(nums().fold(f64::INFINITY, f64::min)),
        _ => Val::Num(nums().sum::<f64>() / count as f64),
    })
}

/// JavaScript `Math.round` (halves towards +∞).
fn js_round(x: f64) -> f64 {
    (x + 0.5).floor()
}

/// `$round(n, precision)`: round half to even at the given decimal precision.
pub fn round(arg: f64, precision: Option<f64>) -> f64 {
    let precision = precision.map(|p| p.trunc() as i32).filter(|p| *p != 0);
    let shift = |x: f64, by: i32| -> f64 {
        let text = js_number_string(x);
        let (mantissa, exp) = match text.split_once('e') {
            Some((m, e)) => (m.to_string(), e.parse::<i32>().unwrap_or(0)),
            None => (text, 0),
        };
        format!("{mantissa}e{}", exp.saturating_add(by))
            .parse()
            .unwrap_or(f64::NAN)
    };
    let mut arg = arg;
    if let Some(p) = precision {
        arg = shift(arg, p);
    }
    let mut result = js_round(arg);
    let diff = result - arg;
    if diff.abs() == 0.5 && (result % 2.0).abs() == 1.0 {
        result -= 1.0;
    }
    if let Some(p) = precision {
        result = shift(result, p.saturating_neg());
    }
    if result == 0.0 {
        result = 0.0;
    }
    result
}

/// jsonata-js `$number` conversion.
pub fn to_number<'a>(v: Val<'a>) -> R<'a> {
    match v {
        Val::Undef => Ok(Val::Undef),
        Val::Num(_) => Ok(v),
        Val::Bool(b) => Ok(Val::Num(if b { 1.0 } else { 0.0 })),
        Val::Str(s) => {
            if is_decimal(s) {
                if let Ok(n) = s.parse::<f64>() {
                    if n.is_finite() {
                        return Ok(Val::Num(n));
                    }
                }
            }
            let radix = |p: &str, r: u32| {
                s.get(2..)
                    .filter(|d| !d.is_empty() && s[..2].eq_ignore_ascii_case(p))
                    .and_then(|d| u64::from_str_radix(d, r).ok())
            };
            if let Some(n) = radix("0x", 16).or_else(|| radix("0o", 8)).or_else(|| radix("0b", 2)) {
                return Ok(Val::Num(n as f64));
            }
            Err(Error::new("D3030").value(json_text(v)).index(1))
        }
        _ => Err(Error::new("D3030").value(json_text(v)).index(1)),
    }
}

/// `^-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?$`
fn is_decimal(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > s
    };
    if !digits(&mut i) {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

pub use crate::language::entropy::random_f64;

/// A deterministic double in [0, 1) from a seed (splitmix64).
pub fn seeded_f64(seed: f64) -> f64 {
    let mut z = seed.to_bits().wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Runs a numeric built-in.
pub fn call<'a>(b: Builtin, args: &[Val<'a>]) -> R<'a> {
    let a0 = args.first().copied().unwrap_or(Val::Undef);
    if b == Builtin::Random {
        return Ok(Val::Num(match a0 {
            Val::Num(seed) => seeded_f64(seed),
            _ => random_f64(),
        }));
    }
    if b == Builtin::Number {
        return to_number(a0);
    }
    let Val::Num(x) = a0 else {
        return Ok(Val::Undef);
    };
    let n1 = args.get(1).and_then(|v| v.as_num());
    Ok(Val::Num(match b {
        Builtin::Floor => x.floor(),
        Builtin::Ceil => x.ceil(),
        Builtin::Abs => x.abs(),
        Builtin::Round => round(x, n1),
        Builtin::Sqrt => {
            if x < 0.0 {
                return Err(Error::new("D3060").value(json_text(a0)).index(1));
            }
            x.sqrt()
        }
        Builtin::Power => {
            let e = n1.unwrap_or(f64::NAN);
            let r = x.powf(e);
            if !r.is_finite() {
                return Err(Error::new("D3061").value(json_text(a0)).extra(js_number_string(e)));
            }
            r
        }
        _ => return Ok(Val::Undef),
    }))
}
