//! Number formatting: `$formatNumber` (XPath `format-number`), `$formatBase`,
//! `$formatInteger` and `$parseInteger` (the latter two share the integer pictures of
//! [`super::datetime`]).

use super::datetime::{format_integer, parse_integer};
use super::error::{json_quote, Error};
use super::eval::{Ctx, R};
use super::functions::Builtin;
use super::value::{js_number_string, Val};

/// Runs a formatting built-in.
pub fn call<'a>(ctx: &Ctx<'a, '_>, b: Builtin, args: &[Val<'a>]) -> R<'a> {
    let arena = ctx.arena;
    let a = |i: usize| args.get(i).copied().unwrap_or(Val::Undef);
    let out = |s: String| Ok(Val::Str(arena.alloc_str(&s)));
    match b {
        Builtin::FormatBase => {
            let Val::Num(n) = a(0) else {
                return Ok(Val::Undef);
            };
            let n = super::functions::round_half_even(n);
            let radix = a(1).as_num().unwrap_or(10.0);
            if !(2.0..=36.0).contains(&radix) {
                return Err(Error::new("D3100").value(js_number_string(radix)));
            }
            out(to_radix(n, radix as u32))
        }
        Builtin::FormatInteger => {
            let Val::Num(n) = a(0) else {
                return Ok(Val::Undef);
            };
            out(format_integer(n, a(1).as_str().unwrap_or(""))?)
        }
        Builtin::ParseInteger => {
            let Val::Str(s) = a(0) else {
                return Ok(Val::Undef);
            };
            Ok(Val::Num(parse_integer(s, a(1).as_str().unwrap_or(""))?))
        }
        Builtin::FormatNumber => {
            let Val::Num(n) = a(0) else {
                return Ok(Val::Undef);
            };
            out(format_number(n, a(1).as_str().unwrap_or(""), a(2))?)
        }
        _ => Ok(Val::Undef),
    }
}

fn to_radix(n: f64, radix: u32) -> String {
    let neg = n < 0.0;
    let mut v = n.abs() as u128;
    if v == 0 {
        return "0".into();
    }
    let mut digits = Vec::new();
    while v > 0 {
        digits.push(std::char::from_digit((v % radix as u128) as u32, radix).unwrap_or('0'));
        v /= radix as u128;
    }
    if neg {
        digits.push('-');
    }
    digits.iter().rev().collect()
}

/// The decimal-format properties of `$formatNumber`.
struct Props {
    decimal: char,
    grouping: char,
    exponent: char,
    minus: String,
    percent: char,
    per_mille: char,
    zero: char,
    digit: char,
    pattern_sep: char,
}

/// One sub-picture split into its parts (F&O 4.7.3).
#[derive(Clone)]
struct Parts {
    prefix: Vec<char>,
    suffix: Vec<char>,
    active: Vec<char>,
    mantissa: Vec<char>,
    exponent: Option<Vec<char>>,
    integer: Vec<char>,
    fraction: Vec<char>,
    sub: Vec<char>,
}

/// The analysed sub-picture (F&O 4.7.4).
#[derive(Clone)]
struct Pic {
    int_grouping: Vec<usize>,
    regular: usize,
    min_int: usize,
    scaling: usize,
    prefix: String,
    frac_grouping: Vec<usize>,
    min_frac: usize,
    max_frac: usize,
    min_exp: usize,
    suffix: String,
    sub: Vec<char>,
}

fn index_of(v: &[char], c: char) -> Option<usize> {
    v.iter().position(|&x| x == c)
}

fn format_number(value: f64, picture: &str, options: Val<'_>) -> Result<String, Error> {
    let mut p = Props {
        decimal: '.',
        grouping: ',',
        exponent: 'e',
        minus: "-".into(),
        percent: '%',
        per_mille: '\u{2030}',
        zero: '0',
        digit: '#',
        pattern_sep: ';',
    };
    for i in 0..options.obj_len() {
        let (k, v) = options.member(i);
        let Some(s) = v.as_str() else { continue };
        let c = s.chars().next().unwrap_or(' ');
        match k {
            "decimal-separator" => p.decimal = c,
            "grouping-separator" => p.grouping = c,
            "exponent-separator" => p.exponent = c,
            "minus-sign" => p.minus = s.to_string(),
            "percent" => p.percent = c,
            "per-mille" => p.per_mille = c,
            "zero-digit" => p.zero = c,
            "digit" => p.digit = c,
            "pattern-separator" => p.pattern_sep = c,
            _ => {}
        }
    }
    let family: Vec<char> = (0..10).filter_map(|i| char::from_u32(p.zero as u32 + i)).collect();
    let mut active: Vec<char> = family.clone();
    active.extend([p.decimal, p.exponent, p.grouping, p.digit, p.pattern_sep]);
    let is_digit = |c: char| family.contains(&c);
    let subs: Vec<Vec<char>> = picture.split(p.pattern_sep).map(|s| s.chars().collect()).collect();
    if subs.len() > 2 {
        return Err(Error::new("D3080"));
    }
    let split = |sub: &Vec<char>| -> Parts {
        let is_active = |c: char| active.contains(&c) && c != p.exponent;
        let prefix_len = sub.iter().position(|&c| is_active(c)).unwrap_or(sub.len());
        let suffix_start = sub.iter().rposition(|&c| is_active(c)).map(|i| i + 1).unwrap_or(0);
        let prefix = sub[..prefix_len].to_vec();
        let suffix = sub[suffix_start.max(prefix_len)..].to_vec();
        let active_part = sub[prefix_len..sub.len() - suffix.len()].to_vec();
        let exp_pos = sub[prefix_len..]
            .iter()
            .position(|&c| c == p.exponent)
            .map(|i| i + prefix_len);
        let (mantissa, exponent) = match exp_pos {
            Some(e) if e <= sub.len() - suffix.len() => {
                let rel = e - prefix_len;
                (
                    active_part[..rel.min(active_part.len())].to_vec(),
                    Some(active_part[(rel + 1).min(active_part.len())..].to_vec()),
                )
            }
            _ => (active_part.clone(), None),
        };
        let (integer, fraction) = match index_of(&mantissa, p.decimal) {
            None => (mantissa.clone(), suffix.clone()),
            Some(d) => (mantissa[..d].to_vec(), mantissa[d + 1..].to_vec()),
        };
        Parts {
            prefix,
            suffix,
            active: active_part,
            mantissa,
            exponent,
            integer,
            fraction,
            sub: sub.clone(),
        }
    };
    let parts: Vec<Parts> = subs.iter().map(split).collect();
    for part in &parts {
        let sub = &part.sub;
        if !sub.iter().any(|&c| active.contains(&c) && c != p.exponent) {
            return Err(Error::new("D3086"));
        }
        let count = |c: char| sub.iter().filter(|&&x| x == c).count();
        let mut error = None;
        if count(p.decimal) > 1 {
            error = Some("D3081");
        }
        if count(p.percent) > 1 {
            error = Some("D3082");
        }
        if count(p.per_mille) > 1 {
            error = Some("D3083");
        }
        if count(p.percent) > 0 && count(p.per_mille) > 0 {
            error = Some("D3084");
        }
        if !part.mantissa.iter().any(|&c| is_digit(c) || c == p.digit) {
            error = Some("D3085");
        }
        if part.active.iter().any(|c| !active.contains(c)) {
            error = Some("D3086");
        }
        match index_of(sub, p.decimal) {
            Some(d) => {
                if (d > 0 && sub[d - 1] == p.grouping) || sub.get(d + 1) == Some(&p.grouping) {
                    error = Some("D3087");
                }
            }
            None => {
                if part.integer.last() == Some(&p.grouping) {
                    error = Some("D3088");
                }
            }
        }
        if sub.windows(2).any(|w| w[0] == p.grouping && w[1] == p.grouping) {
            error = Some("D3089");
        }
        if let Some(opt) = index_of(&part.integer, p.digit) {
            if part.integer[..opt].iter().any(|&c| is_digit(c)) {
                error = Some("D3090");
            }
        }
        if let Some(opt) = part.fraction.iter().rposition(|&c| c == p.digit) {
            if part.fraction[opt..].iter().any(|&c| is_digit(c)) {
                error = Some("D3091");
            }
        }
        if let Some(exp) = &part.exponent {
            if !exp.is_empty() && (count(p.percent) > 0 || count(p.per_mille) > 0) {
                error = Some("D3092");
            }
            if exp.is_empty() || exp.iter().any(|&c| !is_digit(c)) {
                error = Some("D3093");
            }
        }
        if let Some(code) = error {
            return Err(Error::new(code));
        }
    }
    let analyse = |part: &Parts| -> Pic {
        let grouping_positions = |text: &[char], to_left: bool| -> Vec<usize> {
            let mut out = Vec::new();
            // digits before each position (a picture may hold many separators)
            let mut before = Vec::with_capacity(text.len() + 1);
            before.push(0usize);
            for &c in text {
                let n = before[before.len() - 1] + usize::from(is_digit(c) || c == p.digit);
                before.push(n);
            }
            let total = before[text.len()];
            let mut pos = index_of(text, p.grouping);
            while let Some(g) = pos {
                // (a position found in the integer part may lie past the fraction's end: the
                // region is then all of it, or nothing)
                let at = before[g.min(text.len())];
                out.push(if to_left { at } else { total - at });
                // jsonata-js searches the integer part for the next separator
                pos = part
                    .integer
                    .iter()
                    .skip(g + 1)
                    .position(|&c| c == p.grouping)
                    .map(|i| i + g + 1);
            }
            out
        };
        let int_grouping = grouping_positions(&part.integer, false);
        let regular = {
            if int_grouping.is_empty() {
                0
            } else {
                let factor = int_grouping.iter().copied().reduce(gcd).unwrap_or(0);
                let positions: std::collections::HashSet<usize> = int_grouping.iter().copied().collect();
                if factor > 0 && (1..=int_grouping.len()).all(|i| positions.contains(&(i * factor))) {
                    factor
                } else {
                    0
                }
            }
        };
        let frac_grouping = grouping_positions(&part.fraction, true);
        let mut min_int = part.integer.iter().filter(|&&c| is_digit(c)).count();
        let scaling = min_int;
        let mut min_frac = part.fraction.iter().filter(|&&c| is_digit(c)).count();
        let mut max_frac = part.fraction.iter().filter(|&&c| is_digit(c) || c == p.digit).count();
        let exp_present = part.exponent.is_some();
        if min_int == 0 && max_frac == 0 {
            if exp_present {
                min_frac = 1;
                max_frac = 1;
            } else {
                min_int = 1;
            }
        }
        if exp_present && min_int == 0 && part.integer.contains(&p.digit) {
            min_int = 1;
        }
        if min_int == 0 && min_frac == 0 {
            min_frac = 1;
        }
        let min_exp = part
            .exponent
            .as_ref()
            .map(|e| e.iter().filter(|&&c| is_digit(c)).count())
            .unwrap_or(0);
        Pic {
            int_grouping,
            regular,
            min_int,
            scaling,
            prefix: part.prefix.iter().collect(),
            frac_grouping,
            min_frac,
            max_frac,
            min_exp,
            suffix: part.suffix.iter().collect(),
            sub: part.sub.clone(),
        }
    };
    let mut pics: Vec<Pic> = parts.iter().map(analyse).collect();
    if pics.len() == 1 {
        let mut neg = pics[0].clone();
        neg.prefix = format!("{}{}", p.minus, neg.prefix);
        pics.push(neg);
    }
    let pic = if value >= 0.0 { &pics[0] } else { &pics[1] };
    let adjusted = if pic.sub.contains(&p.percent) {
        value * 100.0
    } else if pic.sub.contains(&p.per_mille) {
        value * 1000.0
    } else {
        value
    };
    let (mantissa, exponent) = if pic.min_exp == 0 {
        (adjusted, None)
    } else {
        let max_m = 10f64.powi(pic.scaling as i32);
        let min_m = 10f64.powi(pic.scaling as i32 - 1);
        let mut m = adjusted;
        let mut e = 0i32;
        if m != 0.0 && m.is_finite() {
            while m.abs() < min_m {
                m *= 10.0;
                e -= 1;
            }
            while m.abs() > max_m {
                m /= 10.0;
                e += 1;
            }
        }
        (m, Some(e))
    };
    let rounded = super::functions::numeric_round(mantissa, Some(pic.max_frac as f64));
    let make_string = |v: f64, dp: usize| -> String {
        let s = format!("{:.*}", dp, v.abs());
        if p.zero != '0' {
            s.chars()
                .map(|c| {
                    if c.is_ascii_digit() {
                        family[(c as u8 - b'0') as usize]
                    } else {
                        c
                    }
                })
                .collect()
        } else {
            s
        }
    };
    let mut s: Vec<char> = make_string(rounded, pic.max_frac).chars().collect();
    match index_of(&s, '.') {
        None => s.push(p.decimal),
        Some(i) => s[i] = p.decimal,
    }
    while s.first() == Some(&p.zero) {
        s.remove(0);
    }
    while s.last() == Some(&p.zero) {
        s.pop();
    }
    let dpos = index_of(&s, p.decimal).unwrap_or(0);
    let pad_left = pic.min_int as isize - dpos as isize;
    let pad_right = pic.min_frac as isize - (s.len() as isize - dpos as isize - 1);
    if pad_left > 0 {
        s.splice(0..0, std::iter::repeat_n(p.zero, pad_left as usize));
    }
    if pad_right > 0 {
        for _ in 0..pad_right {
            s.push(p.zero);
        }
    }
    let mut dpos = index_of(&s, p.decimal).unwrap_or(0);
    if let Some(groups) = dpos.saturating_sub(1).checked_div(pic.regular) {
        // a separator before every `regular` digits left of the decimal point (built in one
        // pass: a picture may ask for many digits)
        let first = dpos - groups * pic.regular;
        let mut grouped = Vec::with_capacity(s.len() + groups);
        for (i, &c) in s.iter().enumerate() {
            if i >= first && i < dpos && i > 0 && (i - first) % pic.regular == 0 {
                grouped.push(p.grouping);
            }
            grouped.push(c);
        }
        s = grouped;
    } else {
        for &pos in &pic.int_grouping {
            if pos <= dpos {
                s.insert(dpos - pos, p.grouping);
                dpos += 1;
            }
        }
    }
    let dpos = index_of(&s, p.decimal).unwrap_or(0);
    for &pos in &pic.frac_grouping {
        let at = pos + dpos + 1;
        if at <= s.len() {
            s.insert(at, p.grouping);
        }
    }
    let dpos = index_of(&s, p.decimal).unwrap_or(0);
    if pic.min_frac == 0 && dpos + 1 == s.len() {
        s.pop();
    }
    let mut text: String = s.into_iter().collect();
    if let Some(e) = exponent {
        let mut es = make_string(e as f64, 0);
        let pad = pic.min_exp as isize - es.chars().count() as isize;
        if pad > 0 {
            es = p.zero.to_string().repeat(pad as usize) + &es;
        }
        text.push(p.exponent);
        if e < 0 {
            text.push_str(&p.minus);
        }
        text.push_str(&es);
    }
    let _ = json_quote;
    Ok(format!("{}{}{}", pic.prefix, text, pic.suffix))
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}
